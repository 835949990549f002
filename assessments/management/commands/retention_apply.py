"""Delete the individual answers of the closed periods past retention (RETENTION_YEARS after they
closed; retention.py says what goes and what stays). Run it with --dry-run first; a real run
asks for confirmation (or --yes in a script). Every run is logged and recorded for admins."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from assessments import retention


class Command(BaseCommand):
    help = "Delete the individual answers of closed periods older than RETENTION_YEARS (--dry-run lists them)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would be deleted and change nothing")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, dry_run=False, yes=False, **options):
        today = timezone.localdate()
        years = settings.RETENTION_YEARS
        self.stdout.write(
            f"Retention: {years} years; periods closed before {retention.retention_cutoff(today)} lose their individual answers."
        )
        if not dry_run and not yes:
            plan = retention.retention_plan(today=today)
            if plan:
                self._list("Would delete:", plan)
                answer = input(f"Delete the individual answers of {len(plan)} period(s)? This cannot be undone. Type 'ya': ")
                if answer.strip().lower() != "ya":
                    raise CommandError("Nothing deleted.")
        run = retention.retention_apply(today=today, dry_run=dry_run)
        removals = [retention.PeriodRemoval(**entry) for entry in run.periods]
        if not removals:
            self.stdout.write("No period is past retention: nothing to delete.")
        elif dry_run:
            self._list("Would delete (dry run, nothing changed):", removals)
        else:
            self._list("Deleted:", removals)

    def _list(self, title: str, removals) -> None:
        self.stdout.write(title)
        for removal in removals:
            self.stdout.write(f"  {removal}")

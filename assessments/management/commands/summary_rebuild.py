"""Recompute the summary rows of the open period(s) from the assessments (a repair). A closed
period's rows are final: they are rebuilt only with --closed, after a confirmation (or --yes).
A period whose individual answers were deleted under the retention rule is refused: its summary
rows are all that is left of its figures."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from assessments import summaries
from assessments.models import AssessmentPeriod


class Command(BaseCommand):
    help = "Rebuild the summary rows of open periods (and closed ones with --closed, confirmed)."

    def add_arguments(self, parser):
        parser.add_argument("--period", help="only this period, e.g. 2026-Q4")
        parser.add_argument("--closed", action="store_true", help="also rebuild closed periods (their figures are final)")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation of --closed")

    def handle(self, *args, period=None, closed=False, yes=False, **options):
        statuses = [AssessmentPeriod.Status.OPEN] + ([AssessmentPeriod.Status.CLOSED] if closed else [])
        chosen = AssessmentPeriod.objects.filter(status__in=statuses).order_by("year", "quarter")
        if period:
            fields = AssessmentPeriod.code_fields(period)
            if fields is None:
                raise CommandError(f"{period!r} is not a period code such as 2026-Q4.")
            chosen = chosen.filter(**fields)
        chosen = list(chosen)
        if not chosen:
            raise CommandError("No period to rebuild (closed periods need --closed).")
        for p in chosen:
            if p.answers_deleted:
                self.stderr.write(
                    f"{p.code}: refused, its individual answers were deleted under the retention rule on "
                    f"{timezone.localtime(p.personal_data_removed_at):%Y-%m-%d}; its summary rows cannot be recomputed and stay as they are."
                )
        chosen = [p for p in chosen if not p.answers_deleted]
        if not chosen:
            raise CommandError("Nothing rebuilt.")
        finals = [p.code for p in chosen if p.is_final]
        if finals and not yes:
            answer = input(f"Closed periods {', '.join(finals)} have final figures. Rebuild them anyway? Type 'ya': ")
            if answer.strip().lower() != "ya":
                raise CommandError("Nothing rebuilt.")
        for p in chosen:
            summaries.summary_rebuild(period=p, closed=p.is_final)
            self.stdout.write(f"{p.code}: rebuilt")

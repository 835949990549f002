"""Recompute every summary row from the assessments over each period's own unit tree and report
any difference (exit status 1, one line per difference). Run it daily (README). A period whose
individual answers were deleted under the retention rule is skipped, and says so: its summary
rows are all that is left of its figures."""

import sys

from django.core.management.base import BaseCommand

from assessments import summaries
from assessments.models import AssessmentPeriod


class Command(BaseCommand):
    help = "Check every summary row against the assessments; exit 1 and list the rows that differ."

    def handle(self, *args, **options):
        problems = []
        checked = skipped = 0
        for period in AssessmentPeriod.objects.exclude(status=AssessmentPeriod.Status.PLANNED).order_by("year", "quarter"):
            try:
                problems += summaries.summary_differences(period=period)
            except summaries.AnswersDeleted:
                self.stdout.write(f"{period.code}: skipped, its individual answers were deleted under the retention rule (not recomputable)")
                skipped += 1
                continue
            checked += 1
        if problems:
            for line in problems:
                self.stderr.write(line)
            self.stderr.write(f"summaries_check: {len(problems)} difference(s) in {checked} period(s)")
            sys.exit(1)
        self.stdout.write(
            f"summaries_check: every summary row of {checked} period(s) is exact"
            + (f"; {skipped} period(s) skipped (answers deleted under retention)" if skipped else "")
        )

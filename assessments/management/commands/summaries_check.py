"""Recompute every summary row from the assessments over each period's own unit tree and report
any difference (exit status 1, one line per difference). Run it daily (README)."""

import sys

from django.core.management.base import BaseCommand

from assessments import summaries
from assessments.models import AssessmentPeriod


class Command(BaseCommand):
    help = "Check every summary row against the assessments; exit 1 and list the rows that differ."

    def handle(self, *args, **options):
        problems = []
        checked = 0
        for period in AssessmentPeriod.objects.exclude(status=AssessmentPeriod.Status.PLANNED).order_by("year", "quarter"):
            problems += summaries.summary_differences(period=period)
            checked += 1
        if problems:
            for line in problems:
                self.stderr.write(line)
            self.stderr.write(f"summaries_check: {len(problems)} difference(s) in {checked} period(s)")
            sys.exit(1)
        self.stdout.write(f"summaries_check: every summary row of {checked} period(s) is exact")

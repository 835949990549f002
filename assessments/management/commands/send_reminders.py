"""Remind staff who have not submitted yet that the open period closes soon. Run daily from cron:

    15 7 * * *  cd /app && python manage.py send_reminders
"""

from django.conf import settings
from django.core.mail import get_connection, send_mass_mail
from django.core.management.base import BaseCommand
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from assessments.models import COUNTED_STATES, AssessmentPeriod, Employee, ReminderLog, SelfAssessment

THRESHOLDS = (7, 3, 1)  # days before closing
CHUNK = 500


class Command(BaseCommand):
    help = "E-mail staff who have not submitted when the open period closes in 7, 3 or 1 days (once per threshold)."

    def handle(self, *args, **options):
        today = timezone.localdate()
        period = AssessmentPeriod.objects.filter(status=AssessmentPeriod.Status.OPEN).first()
        if period is None or not period.accepts_entries(today):
            self.stdout.write("No period is taking entries: nothing to send.")
            return
        days = period.days_left(today)
        due = [threshold for threshold in THRESHOLDS if days <= threshold]
        if not due:
            self.stdout.write(f"{period.code} closes in {days} days: no reminder due.")
            return
        # The tightest threshold that applies: a missed cron day still sends it, once.
        threshold = min(due)
        handed_in = SelfAssessment.objects.filter(employee=OuterRef("pk"), period=period, state__in=COUNTED_STATES)
        reminded = ReminderLog.objects.filter(employee=OuterRef("pk"), period=period, days_before=threshold)
        pending = (
            Employee.objects.filter(is_active=True, user__is_active=True)
            .exclude(user__email="")
            .exclude(Exists(handed_in))
            .exclude(Exists(reminded))
            .select_related("user")
            .order_by("pk")
        )
        link = settings.SITE_URL.rstrip("/") + reverse("assessments:form", args=[period.code])
        sent = 0
        connection = get_connection()
        with translation.override(settings.LANGUAGE_CODE):
            batch = []
            for employee in pending.iterator(chunk_size=CHUNK):
                context = {"employee": employee, "period": period, "days": max(days, 1), "link": link}
                subject = render_to_string("assessments/email/reminder_subject.txt", context).strip()
                body = render_to_string("assessments/email/reminder.txt", context)
                batch.append((employee, (subject, body, None, [employee.user.email])))
                if len(batch) >= CHUNK:
                    sent += self._send(batch, period, threshold, connection)
                    batch = []
            sent += self._send(batch, period, threshold, connection)
        self.stdout.write(f"{period.code} closes in {days} days: {sent} reminder(s) sent (H-{threshold}).")

    def _send(self, batch, period, threshold, connection) -> int:
        if not batch:
            return 0
        send_mass_mail([message for _employee, message in batch], connection=connection)
        ReminderLog.objects.bulk_create(
            [ReminderLog(employee=employee, period=period, days_before=threshold) for employee, _message in batch],
            ignore_conflicts=True,
        )
        return len(batch)

"""Remind staff who have not submitted yet that the open period closes soon: by e-mail, or in the
app (models.Notice, shown under the deadline banner) for those without an e-mail address. Run
daily from cron:

    15 7 * * *  cd /app && python manage.py send_reminders
"""

from django.conf import settings
from django.core.mail import get_connection, send_mass_mail
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from assessments.models import COUNTED_STATES, AssessmentPeriod, Employee, Notice, ReminderLog, SelfAssessment

THRESHOLDS = (7, 3, 1)  # days before closing
CHUNK = 500


class Command(BaseCommand):
    help = (
        "Remind staff who have not submitted when the open period closes in 7, 3 or 1 days (once per threshold): "
        "by e-mail, or in the app for those without an e-mail address."
    )

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
            .exclude(Exists(handed_in))
            .exclude(Exists(reminded))
            .select_related("user")
            .order_by("pk")
        )
        link = settings.SITE_URL.rstrip("/") + reverse("assessments:form", args=[period.code])
        connection = get_connection()
        counts = []  # (e-mails, notices) of each batch
        with translation.override(settings.LANGUAGE_CODE):
            batch = []
            for employee in pending.iterator(chunk_size=CHUNK):
                batch.append(employee)
                if len(batch) >= CHUNK:
                    counts.append(self._remind(batch, period, threshold, days, link, connection))
                    batch = []
            counts.append(self._remind(batch, period, threshold, days, link, connection))
        mailed = sum(mails for mails, _notices in counts)
        noticed = sum(notices for _mails, notices in counts)
        self.stdout.write(
            f"{period.code} closes in {days} days: {mailed + noticed} reminder(s) sent (H-{threshold}): "
            f"{mailed} by e-mail, {noticed} in the app."
        )

    def _remind(self, batch, period, threshold, days, link, connection) -> tuple[int, int]:
        """E-mail those with an address and leave a notice in the app for the others; log both,
        so that each is reminded once per threshold. Return (e-mails, notices)."""
        if not batch:
            return 0, 0
        messages = []
        for employee in batch:
            if employee.user.email:
                context = {"employee": employee, "period": period, "days": max(days, 1), "link": link}
                subject = render_to_string("assessments/email/reminder_subject.txt", context).strip()
                body = render_to_string("assessments/email/reminder.txt", context)
                messages.append((subject, body, None, [employee.user.email]))
        if messages:
            send_mass_mail(messages, connection=connection)
        in_app = [Notice(user=employee.user, period=period, days_before=threshold) for employee in batch if not employee.user.email]
        with transaction.atomic():
            Notice.objects.bulk_create(in_app)
            ReminderLog.objects.bulk_create(
                [ReminderLog(employee=employee, period=period, days_before=threshold) for employee in batch],
                ignore_conflicts=True,
            )
        return len(messages), len(in_app)

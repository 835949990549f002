"""In-app notices: the deadline banner on every page in the last days of the open period for
staff who have not submitted, with the reminders send_reminders left in the app for staff
without an e-mail address (models.Notice)."""

import datetime

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from . import permissions
from .models import COUNTED_STATES, AssessmentPeriod, Notice, SelfAssessment

# The same week as the first e-mail reminder (send_reminders.THRESHOLDS).
BANNER_DAYS = 7

# The banner is on every page: its state is kept in the session for the day (like the header's
# roles), so that it costs no query after the first page. Submitting and dismissing a notice
# forget it at once (deadline_forget); a return by the head shows from the next day or login.
SESSION_KEY = "deadline"


def deadline_banner(request) -> dict | None:
    """Return the banner of the request's user, {period, days_left, link, notices}, or None:
    shown to staff while the open period takes entries, closes within BANNER_DAYS and they have
    not submitted (a returned assessment is not submitted). `notices` are their unread in-app
    reminders of that period."""
    user = request.user
    if not user.is_authenticated:
        return None
    today = timezone.localdate()
    state = request.session.get(SESSION_KEY)
    if not state or state.get("user") != user.pk or state.get("day") != today.isoformat():
        state = {"user": user.pk, "day": today.isoformat(), "banner": _banner_state(user, today)}
        request.session[SESSION_KEY] = state
    banner = state["banner"]
    if banner is None:
        return None
    # Rebuilt on each page (no query) so that the period's name follows the page's language.
    period = AssessmentPeriod(pk=banner["period"], year=banner["year"], quarter=banner["quarter"])
    return {
        "period": period,
        "days_left": banner["days_left"],
        "link": reverse("assessments:form", args=[period.code]),
        "notices": [
            {"pk": pk, "days_before": days_before, "created_on": datetime.date.fromisoformat(created_on)}
            for pk, days_before, created_on in banner["notices"]
        ],
    }


def _banner_state(user, today: datetime.date) -> dict | None:
    """What deadline_banner shows, as the session keeps it (JSON), or None."""
    employee = permissions.employee_of(user)
    if employee is None:
        return None
    period = AssessmentPeriod.objects.filter(status=AssessmentPeriod.Status.OPEN).first()
    if period is None or not period.accepts_entries(today) or period.days_left(today) > BANNER_DAYS:
        return None
    if SelfAssessment.objects.filter(employee=employee, period=period, state__in=COUNTED_STATES).exists():
        return None
    unread = Notice.objects.filter(user=user, period=period, read_at__isnull=True)
    return {
        "period": period.pk,
        "year": period.year,
        "quarter": period.quarter,
        "days_left": period.days_left(today),
        "notices": [
            [pk, days_before, timezone.localdate(created_at).isoformat()]
            for pk, days_before, created_at in unread.values_list("pk", "days_before", "created_at")
        ],
    }


def deadline_forget(request) -> None:
    """Drop the banner kept in the session: the next page decides it afresh."""
    request.session.pop(SESSION_KEY, None)


def notice_dismiss(*, user, pk: int) -> Notice:
    """Mark one of the user's own notices read and return it; Http404 for anyone else's."""
    notice = get_object_or_404(Notice, pk=pk, user=user)
    if notice.read_at is None:
        notice.read_at = timezone.now()
        notice.save(update_fields=["read_at"])
    return notice

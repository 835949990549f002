"""A head of unit reminds the staff of the unit who have not started the open period: at most
once a day per unit, each time logged (models.UnitReminder)."""

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from . import notifications
from .models import AssessmentPeriod, Employee, SelfAssessment, UnitReminder, WorkUnit
from .services import ServiceError


def not_started(*, unit: WorkUnit, period: AssessmentPeriod) -> QuerySet[Employee]:
    """The active staff of the unit itself (not the units below it, which have their own heads)
    who have no assessment of the period yet, not even a draft."""
    started = SelfAssessment.objects.filter(employee=OuterRef("pk"), period=period)
    return Employee.objects.filter(unit=unit, is_active=True, user__is_active=True).exclude(Exists(started)).select_related("user")


def sent_today(*, unit: WorkUnit) -> UnitReminder | None:
    """Today's reminder of the unit, if one was sent."""
    return UnitReminder.objects.filter(unit=unit, sent_on=timezone.localdate()).select_related("sent_by").first()


def reminder_box(*, unit: WorkUnit, period: AssessmentPeriod) -> dict | None:
    """What the staff table offers: how many of the unit have not started and today's reminder
    if one was sent; None while the period takes no entries."""
    if not period.accepts_entries():
        return None
    return {"pending": not_started(unit=unit, period=period).count(), "sent": sent_today(unit=unit)}


def unit_remind(*, unit: WorkUnit, period: AssessmentPeriod, sender) -> int:
    """E-mail the unit's staff who have not started `period` (after the commit) and log it;
    return how many were reminded. Raises ServiceError while the period takes no entries, or
    when the unit was reminded today already (the constraint decides, under any concurrency)."""
    if not period.accepts_entries():
        raise ServiceError(_("%(period)s is not taking answers now: there is nothing to remind of.") % {"period": period}, code="not_taking_entries")
    people = list(not_started(unit=unit, period=period))
    try:
        with transaction.atomic():
            UnitReminder.objects.create(unit=unit, period=period, sent_by=sender, sent_on=timezone.localdate(), recipients=len(people))
            transaction.on_commit(lambda: notifications.staff_reminded(period=period, employees=people))
    except IntegrityError:
        raise ServiceError(_("The staff of this unit were already reminded today; try again tomorrow."), code="reminded_today") from None
    return len(people)

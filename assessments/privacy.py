"""Privacy rules that are not "who may open what" (that is permissions.py): the access log, and
what an aggregate may show to someone who may not see the people behind it (docs/RULES.md)."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from . import disclosure, permissions
from .models import AccessLog, AssessmentPeriod, Employee, SelfAssessment, UnitPeriodSummary, WorkUnit


def access_record(
    *,
    viewer,
    action: str,
    assessment: SelfAssessment | None = None,
    unit: WorkUnit | None = None,
    period: AssessmentPeriod | None = None,
    people: Iterable[int] = (),
) -> AccessLog | None:
    """Record that `viewer` saw someone else's figures: one assessment (its owner's own views
    are not recorded), or a list of `people` (employee ids) of `unit` in `period`. Returns the
    entry, or None when it covered nobody but the viewer. One entry per request."""
    if assessment is not None:
        if assessment.employee.user_id == viewer.pk:
            return None
        return AccessLog.objects.create(
            viewer=viewer, action=action, employee=assessment.employee, assessment=assessment, unit=unit, period=period
        )
    own = permissions.employee_of(viewer)
    people = sorted({pk for pk in people if own is None or pk != own.pk})
    if not people:
        return None
    entry = AccessLog.objects.create(viewer=viewer, action=action, unit=unit, period=period)
    Through = AccessLog.people.through
    Through.objects.bulk_create([Through(accesslog_id=entry.pk, employee_id=pk) for pk in people], batch_size=5000)
    return entry


def accesses_of(employee: Employee):
    """Return the access-log entries that covered `employee`, newest first: views of one of
    their assessments and the lists and exports that showed their figures."""
    covered = AccessLog.people.through.objects.filter(employee=employee).values("accesslog_id")
    return AccessLog.objects.filter(Q(employee=employee) | Q(pk__in=covered)).order_by("-at", "-id")


@dataclass
class UnitMean:
    mean: float
    counted: int


def unit_mean_for_staff(*, unit: WorkUnit, period: AssessmentPeriod) -> UnitMean | None:
    """Return the mean index of `unit` (with everything below it) that a staff member may be
    shown, or None: under disclosure control (disclosure.py: a closed period only, from
    PRIVACY_MIN_GROUP assessments, and not hidden to protect a smaller group nearby)."""
    if not disclosure.shows_unit(None, period, unit):
        return None
    # A closed period's rows never change again (summaries.period_figures_writable).
    row = UnitPeriodSummary.objects.filter(unit=unit, period=period).values_list("counted", "index_sum").first()
    if row is None or not row[0]:
        return None
    return UnitMean(mean=row[1] / row[0], counted=row[0])

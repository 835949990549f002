"""Privacy rules that are not "who may open what" (that is permissions.py): the access log, what
an aggregate may show to someone who may not see the people behind it, and who must read the
privacy notice of a period before answering (docs/RULES.md)."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Case, Q, Value, When

from . import disclosure, permissions
from .models import AccessLog, AssessmentPeriod, Employee, PrivacyAcknowledgement, SelfAssessment, UnitPeriodSummary, WorkUnit


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


def notice_needed(user, period: AssessmentPeriod) -> bool:
    """Return True when `user` must read the privacy notice of `period` before answering it:
    they have an Employee record (an admin without one never answers), have not acknowledged
    this period's notice, and the notice they acknowledged last (if any) was of the other
    visibility. Who sees the answers is what changes between notices, so the same visibility
    again is not asked again (PRODUCT.md: staff are told which applies before they answer)."""
    if permissions.employee_of(user) is None:
        return False
    # One query: this period's acknowledgement if there is one, else the latest.
    this_period_first = Case(When(period_id=period.pk, then=Value(0)), default=Value(1))
    last = (
        PrivacyAcknowledgement.objects.filter(user=user)
        .order_by(this_period_first, "-at", "-id")
        .values_list("period_id", "visibility")
        .first()
    )
    if last is None:
        return True
    return last[0] != period.pk and last[1] != period.visibility


def notice_acknowledge(*, user, period: AssessmentPeriod) -> PrivacyAcknowledgement:
    """Record that `user` read the notice of `period`, with the visibility it described; a
    second click (or a replayed POST) finds the first record and changes nothing."""
    acknowledgement, _created = PrivacyAcknowledgement.objects.get_or_create(
        user=user, period=period, defaults={"visibility": period.visibility}
    )
    return acknowledgement

"""Multi-step writes: each runs inside one transaction and leaves the database consistent.

Views call these with validated input; they raise `ServiceError` (with a message in the user's
language) when a business rule refuses the change, and change nothing in that case.
"""

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import PurePath

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from . import notifications, summaries
from .errors import ServiceError, StaleDraft  # noqa: F401 - raised here, caught as services.* by the views
from .models import (
    COUNTED_STATES,
    AssessmentEvent,
    AssessmentPeriod,
    AssessmentState,
    Employee,
    PeriodIndicator,
    PillarScore,
    Rating,
    SelfAssessment,
)
from .scoring import score_sheet
from .validators import evidence_extension

# A supervisor may return an assessment after its period has closed; the owner then has this
# many days to correct and resubmit it (docs/RULES.md, workflow).
RETURN_GRACE_DAYS = 7


# --- Staff ------------------------------------------------------------------------------------


@transaction.atomic
def employee_save(*, employee: Employee, email: str = "") -> Employee:
    """Create or update a person and their login: a new person logs in with their NIP and sets
    a password through "forgot password". Expected counts of the open period follow a move,
    a deactivation or a new person."""
    User = get_user_model()
    before = Employee.objects.filter(pk=employee.pk).values("unit_id", "is_active").first() if employee.pk else None
    if employee.user_id is None:
        user = User(username=employee.nip, email=email, first_name=employee.full_name[:150], is_active=employee.is_active)
        user.set_unusable_password()
        user.save()
        employee.user = user
    else:
        User.objects.filter(pk=employee.user_id).update(email=email, first_name=employee.full_name[:150], is_active=employee.is_active)
    employee.save()
    if before is None or before != {"unit_id": employee.unit_id, "is_active": employee.is_active}:
        summaries.expected_refresh_open_periods()
    return employee


@transaction.atomic
def employees_set_active(*, employees, active: bool, actor) -> int:
    """Activate or deactivate people (and their logins), keeping all their history; returns
    how many changed."""
    changed = list(employees.exclude(is_active=active))
    for employee in changed:
        employee.is_active = active
    if changed:
        bulk_update_with_history(changed, Employee, ["is_active"], default_user=actor)
        get_user_model().objects.filter(pk__in=[e.user_id for e in changed]).update(is_active=active)
        summaries.expected_refresh_open_periods()
    return len(changed)


# --- Self-assessment: drafts and submission ----------------------------------------------------


@dataclass
class Answer:
    """What the form holds for one indicator."""

    score: int | None = None
    note: str = ""
    evidence: UploadedFile | None = None
    clear_evidence: bool = False

    @property
    def is_empty(self) -> bool:
        return self.score is None and not self.note and self.evidence is None


def _log(assessment: SelfAssessment, actor, from_state: str, to_state: str, note: str = "") -> None:
    AssessmentEvent.objects.create(assessment=assessment, actor=actor, from_state=from_state, to_state=to_state, note=note)


def _lock_or_create(*, employee: Employee, period: AssessmentPeriod, actor) -> tuple[SelfAssessment, bool]:
    """Return the person's assessment of `period`, row-locked, creating the draft if needed."""
    # of=self: lock the assessment row only, not the period row the join reads (that would
    # queue every save of the period behind each other).
    locked = SelfAssessment.objects.select_for_update(of=("self",)).select_related("period")
    try:
        return locked.get(employee=employee, period=period), False
    except SelfAssessment.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            SelfAssessment.objects.create(employee=employee, period=period, unit_id=employee.unit_id, version=0)
        created = True
    except IntegrityError:  # another request created it first: use theirs
        created = False
    return locked.get(employee=employee, period=period), created


def assessment_save_draft(
    *, employee: Employee, period: AssessmentPeriod, answers: Mapping[int, Answer], version: int, actor
) -> SelfAssessment:
    """Save the answers (PeriodIndicator id -> Answer) of the person's assessment of `period`.

    `version` is the assessment version the form was rendered from (0: none existed). A save
    based on an older version is refused with StaleDraft, so two tabs never silently overwrite
    each other. Returns the saved assessment with its new version.
    """
    with transaction.atomic():
        assessment, created = _lock_or_create(employee=employee, period=period, actor=actor)
        _check_draft_save(assessment, created=created, version=version, period=period, answers=answers)
        stale_files = _ratings_save(assessment, answers)
        from_state = "" if created else assessment.state
        assessment.version += 1
        if assessment.state == AssessmentState.DRAFT:
            assessment.unit_id = employee.unit_id
        assessment.save(update_fields=["version", "unit", "updated_at"])
        if created:
            _log(assessment, actor, from_state, AssessmentState.DRAFT)
        transaction.on_commit(lambda: evidence_files_delete(stale_files))
    return assessment


def _check_draft_save(
    assessment: SelfAssessment, *, created: bool, version: int, period: AssessmentPeriod, answers: Mapping[int, Answer]
) -> None:
    """Raise StaleDraft or ServiceError when these answers may not be saved onto `assessment`."""
    if not created and assessment.version != version:
        raise StaleDraft(
            _(
                "This draft was changed in another tab or device at %(time)s. Your answers on this page "
                "have not been saved yet: check them and save again to keep them."
            )
            % {"time": timezone.localtime(assessment.updated_at).strftime("%H:%M:%S")},
            code="stale",
        )
    if not assessment.is_editable():
        raise ServiceError(editability_message(assessment), code="not_editable")
    valid_ids = {indicator.pk for pillar in period.questionnaire() for indicator in pillar.indicators.all()}
    unknown = set(answers) - valid_ids
    if unknown:
        raise ServiceError(code="unknown_indicator")


def _ratings_save(assessment: SelfAssessment, answers: Mapping[int, Answer]) -> list[str]:
    """Write the answers onto the assessment's ratings: an empty answer deletes its rating (unless
    the rating keeps a file). Returns the names of the evidence files no rating holds any more."""
    existing = {rating.indicator_id: rating for rating in assessment.ratings.all()}
    to_create, to_update, to_delete, stale_files = [], [], [], []
    for indicator_id, answer in answers.items():
        rating = existing.get(indicator_id)
        keeps_file = rating is not None and rating.evidence and not answer.clear_evidence and answer.evidence is None
        if answer.is_empty and not keeps_file:
            if rating is not None:
                to_delete.append(rating.pk)
                if rating.evidence:
                    stale_files.append(rating.evidence.name)
            continue
        if rating is None:
            rating = Rating(assessment=assessment, indicator_id=indicator_id)
            to_create.append(rating)
        elif (rating.score, rating.note) != (answer.score, answer.note) or answer.evidence or answer.clear_evidence:
            to_update.append(rating)  # an autosave usually changes one or two answers
        stale_files.extend(_rating_fill(rating, answer))
    Rating.objects.filter(pk__in=to_delete).delete()
    Rating.objects.bulk_create(to_create)
    # One UPDATE per changed answer: Django's bulk_update builds a CASE per column and row,
    # which cost more than the whole rest of an autosave (bench: draft save).
    for rating in to_update:
        Rating.objects.filter(pk=rating.pk).update(
            score=rating.score, note=rating.note, evidence=rating.evidence.name or "", evidence_name=rating.evidence_name
        )
    return stale_files


def _rating_fill(rating: Rating, answer: Answer) -> list[str]:
    """Copy an answer onto its rating (unsaved); return the name of the file it replaces or
    clears, if any."""
    replaced = []
    rating.score, rating.note = answer.score, answer.note
    if (answer.clear_evidence or answer.evidence is not None) and rating.evidence:
        replaced.append(rating.evidence.name)
        rating.evidence, rating.evidence_name = "", ""
    if answer.evidence is not None:
        # Stored under a random name with the extension of what the content is.
        rating.evidence.save("evidence" + (evidence_extension(answer.evidence) or ""), answer.evidence, save=False)
        rating.evidence_name = PurePath(answer.evidence.name).name[-255:]
    return replaced


def evidence_files_delete(names: Iterable[str]) -> None:
    """Delete evidence files from the private storage; a file already gone is no error. Call
    it through transaction.on_commit: a rolled-back change keeps its files."""
    storage = Rating._meta.get_field("evidence").storage
    for name in names:
        storage.delete(name)


def editability_message(assessment: SelfAssessment | None, period: AssessmentPeriod | None = None) -> str:
    """Why the person cannot change this assessment (or, with none yet, this period) now."""
    if assessment is not None and assessment.state in COUNTED_STATES:
        return _("This assessment has been submitted and can no longer be changed.")
    period = assessment.period if assessment else period
    if period.starts_later():
        return _("%(period)s opens on %(date)s: answers can be saved from then on.") % {"period": period, "date": date_format(period.opens_on, "j F Y")}
    return _("%(period)s is closed: answers can no longer be saved or submitted.") % {"period": period}


@dataclass
class Incomplete:
    unanswered: list[PeriodIndicator]
    notes_missing: list[PeriodIndicator]


def assessment_check_complete(*, assessment: SelfAssessment) -> Incomplete | None:
    """Return what still blocks submission (unanswered indicators, missing notes), or None."""
    ratings = {r.indicator_id: r for r in assessment.ratings.all()}
    unanswered, notes_missing = [], []
    for pillar in assessment.period.questionnaire():
        for indicator in pillar.indicators.all():
            rating = ratings.get(indicator.pk)
            if rating is None or rating.score is None:
                unanswered.append(indicator)
            elif indicator.note_required_for(rating.score) and not rating.note.strip():
                notes_missing.append(indicator)
    return Incomplete(unanswered, notes_missing) if unanswered or notes_missing else None


def assessment_preview(*, assessment: SelfAssessment):
    """Return the ScoreSheet that submitting would store (pillar keys are PeriodPillar ids)."""
    ratings = {r.indicator_id: r.score for r in assessment.ratings.all()}
    return score_sheet(
        {
            pillar.pk: (pillar.weight, [(i.weight, ratings[i.pk]) for i in pillar.indicators.all()])
            for pillar in assessment.period.questionnaire()
        }
    )


def assessment_submit(*, assessment: SelfAssessment, version: int, actor) -> bool:
    """Submit a complete draft or returned assessment: ratings, pillar scores, index, grade,
    state, log and summaries are written together or not at all.

    Returns False (and changes nothing) when it was already submitted: a replayed POST or a
    double click yields one submission. Raises StaleDraft when `version` is not the current
    version, ServiceError when the period is closed or an answer is missing.
    """
    with transaction.atomic():
        assessment = SelfAssessment.objects.select_for_update(of=("self",)).select_related("period", "employee").get(pk=assessment.pk)
        if assessment.state in COUNTED_STATES:
            return False
        if assessment.version != version:
            raise StaleDraft(_("This draft was changed in another tab or device. Check the summary again before submitting."), code="stale")
        if not assessment.is_editable():
            raise ServiceError(editability_message(assessment), code="not_editable")
        if assessment_check_complete(assessment=assessment):
            raise ServiceError(code="incomplete")

        sheet = assessment_preview(assessment=assessment)
        from_state = assessment.state
        assessment.state = AssessmentState.SUBMITTED
        assessment.unit_id = assessment.employee.unit_id
        assessment.index_score = float(sheet.index)
        assessment.grade = sheet.grade
        assessment.submitted_at = timezone.now()
        assessment.reviewed_at = None
        assessment.reviewed_by = None
        assessment.version += 1
        assessment.save()
        PillarScore.objects.filter(assessment=assessment).delete()
        PillarScore.objects.bulk_create(
            PillarScore(assessment=assessment, pillar_id=pillar_id, score=float(score))
            for pillar_id, score in sheet.pillar_scores.items()
        )
        _log(assessment, actor, from_state, AssessmentState.SUBMITTED)
        summaries.summary_apply(assessment=assessment, sign=1, pillar_scores=sheet.pillar_scores)
        notifications.send_after_commit("submitted", assessment)
    return True


# --- Review ------------------------------------------------------------------------------------


def _lock_submitted(assessment: SelfAssessment) -> SelfAssessment:
    locked = SelfAssessment.objects.select_for_update(of=("self",)).select_related("period", "employee__user").get(pk=assessment.pk)
    if locked.state != AssessmentState.SUBMITTED:
        raise ServiceError(
            _("Only a submitted assessment can be reviewed; this one is %(state)s.")
            % {"state": AssessmentState(locked.state).label.lower()},
            code="not_submitted",
        )
    if locked.period.personal_data_removed_at is not None:
        raise ServiceError(
            _("The answers of this assessment were deleted under the retention rule: there is nothing left to review."),
            code="answers_deleted",
        )
    return locked


def assessment_approve(*, assessment: SelfAssessment, reviewer) -> SelfAssessment:
    """Approve a submitted assessment (final). Its figures stay counted as they were."""
    with transaction.atomic():
        assessment = _lock_submitted(assessment)
        assessment.state = AssessmentState.APPROVED
        assessment.reviewed_at = timezone.now()
        assessment.reviewed_by = reviewer
        assessment.version += 1
        assessment.save(update_fields=["state", "reviewed_at", "reviewed_by", "version", "updated_at"])
        _log(assessment, reviewer, AssessmentState.SUBMITTED, AssessmentState.APPROVED)
        summaries.rollups_touch(assessment.period_id)
        notifications.send_after_commit("approved", assessment)
    return assessment


def assessments_approve_many(*, assessments: Iterable[SelfAssessment], reviewer) -> int:
    """Approve several submitted assessments at once, all or none; returns how many."""
    with transaction.atomic():
        count = 0
        for assessment in assessments:
            assessment_approve(assessment=assessment, reviewer=reviewer)
            count += 1
    return count


def assessment_return(*, assessment: SelfAssessment, reviewer, note: str) -> SelfAssessment:
    """Return a submitted assessment to its owner with a note; it leaves the roll-ups until it
    is submitted again."""
    note = note.strip()
    if not note:
        raise ServiceError(code="note_required")
    if assessment.period.is_final:
        raise ServiceError(
            _("%(period)s is closed: its figures are final and its assessments can no longer be returned.")
            % {"period": assessment.period},
            code="period_closed",
        )
    with transaction.atomic():
        assessment = _lock_submitted(assessment)
        scores = {ps.pillar_id: Fraction(ps.score) for ps in assessment.pillar_scores.all()}
        summaries.summary_apply(assessment=assessment, sign=-1, pillar_scores=scores)
        assessment.state = AssessmentState.RETURNED
        assessment.return_note = note
        assessment.reviewed_at = timezone.now()
        assessment.reviewed_by = reviewer
        assessment.return_deadline = (
            None if assessment.period.accepts_entries() else timezone.localdate() + datetime.timedelta(days=RETURN_GRACE_DAYS)
        )
        assessment.version += 1
        assessment.save(
            update_fields=["state", "return_note", "reviewed_at", "reviewed_by", "return_deadline", "version", "updated_at"]
        )
        _log(assessment, reviewer, AssessmentState.SUBMITTED, AssessmentState.RETURNED, note)
        notifications.send_after_commit("returned", assessment)
    return assessment

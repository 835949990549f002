"""Retention (UU PDP 27/2022: personal data is kept no longer than it is needed): the individual
answers of a closed period are deleted once it closed more than RETENTION_YEARS years ago.

What goes, per period: every Rating (score, note, evidence) with its evidence file, every
PillarScore, each person's index and grade, the return notes (SelfAssessment.return_note,
AssessmentEvent.note). None of these models keeps a django-simple-history history, so there
are no historical copies to delete. What stays: the SelfAssessment rows (state, unit,
submitted_at: who took part), their state changes without notes, every summary row (the
period's figures, which dashboards, exports and trends read), the period's tree and its
questionnaire. After that the summary rows can no longer be recomputed
(`summaries.summary_compute` refuses).
"""

import datetime
import logging
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import ngettext

from . import services
from .models import AssessmentEvent, AssessmentPeriod, PillarScore, Rating, RetentionRun, SelfAssessment

logger = logging.getLogger("assessments.retention")


def retention_cutoff(today: datetime.date) -> datetime.date:
    """Return `today` RETENTION_YEARS years ago (a 29 February becomes the 28th): a period that
    closed before this date is past retention."""
    year = today.year - settings.RETENTION_YEARS
    try:
        return today.replace(year=year)
    except ValueError:
        return today.replace(year=year, day=28)


def periods_past_retention(*, today: datetime.date | None = None) -> QuerySet:
    """Return the periods whose individual answers are due for deletion, oldest first: closed,
    closing date more than RETENTION_YEARS years before `today` (Jakarta's date by default;
    exactly that many years is not yet more), answers not deleted yet. The one rule
    (docs/RULES.md, retention)."""
    cutoff = retention_cutoff(today or timezone.localdate())
    return AssessmentPeriod.objects.filter(
        status=AssessmentPeriod.Status.CLOSED, personal_data_removed_at__isnull=True, closes_on__lt=cutoff
    ).order_by("year", "quarter")


@dataclass
class PeriodRemoval:
    """What retention deletes of one period (in a dry run: would delete). `notes` counts the
    return notes, on assessments and in their state changes."""

    period: str
    closes_on: str
    assessments: int
    ratings: int
    evidence_files: int
    pillar_scores: int
    notes: int

    def __str__(self):
        return (
            f"{self.period} (closed {self.closes_on}): {self.assessments} assessments, {self.ratings} ratings, "
            f"{self.evidence_files} evidence files, {self.pillar_scores} pillar scores, {self.notes} return notes"
        )


def _answers(period: AssessmentPeriod) -> tuple[QuerySet, QuerySet, QuerySet, QuerySet]:
    """(assessments, ratings, pillar scores, state changes with a note) of `period`."""
    return (
        SelfAssessment.objects.filter(period=period),
        Rating.objects.filter(assessment__period=period),
        PillarScore.objects.filter(assessment__period=period),
        AssessmentEvent.objects.filter(assessment__period=period).exclude(note=""),
    )


def removal_count(*, period: AssessmentPeriod) -> PeriodRemoval:
    """Return what deleting `period`'s individual answers removes. Reads only."""
    assessments, ratings, pillar_scores, noted_events = _answers(period)
    return PeriodRemoval(
        period=period.code,
        closes_on=period.closes_on.isoformat(),
        assessments=assessments.count(),
        ratings=ratings.count(),
        evidence_files=ratings.exclude(evidence="").count(),
        pillar_scores=pillar_scores.count(),
        notes=assessments.exclude(return_note="").count() + noted_events.count(),
    )


def period_answers_delete(*, period: AssessmentPeriod, today: datetime.date | None = None) -> PeriodRemoval | None:
    """Delete the individual answers of `period` in one transaction and mark the period; the
    evidence files go once it has committed. Returns what was deleted, or None (and changes
    nothing) when the period is not past retention, for instance because another run has just
    done it."""
    with transaction.atomic():
        # The period row, locked and asked again: two runs at once delete each period once.
        locked = periods_past_retention(today=today).select_for_update().filter(pk=period.pk).first()
        if locked is None:
            return None
        removal = removal_count(period=locked)
        assessments, ratings, pillar_scores, noted_events = _answers(locked)
        files = list(ratings.exclude(evidence="").values_list("evidence", flat=True))
        ratings.delete()
        pillar_scores.delete()
        assessments.update(index_score=None, grade="", return_note="")
        noted_events.update(note="")
        locked.personal_data_removed_at = timezone.now()
        locked.save(update_fields=["personal_data_removed_at"])  # with a row in the period's history
        transaction.on_commit(lambda: services.evidence_files_delete(files))
    return removal


def retention_plan(*, today: datetime.date | None = None) -> list[PeriodRemoval]:
    """Return what applying retention today would delete, per period. Reads only."""
    return [removal_count(period=period) for period in periods_past_retention(today=today)]


def retention_apply(*, today: datetime.date | None = None, dry_run: bool = False) -> RetentionRun:
    """Delete the individual answers of every period past retention, one transaction per period
    (with `dry_run`, only count them); record the run in the log and in a RetentionRun row,
    which is returned. A run that fails part-way is recorded with the periods it completed."""
    removals: list[PeriodRemoval] = []
    try:
        if dry_run:
            removals += retention_plan(today=today)
        else:
            for period in periods_past_retention(today=today):
                removal = period_answers_delete(period=period, today=today)
                if removal is not None:
                    removals.append(removal)
    finally:
        run = _run_record(removals, dry_run=dry_run)
    return run


def _run_record(removals: list[PeriodRemoval], *, dry_run: bool) -> RetentionRun:
    """Write the run's line in the log (period codes and counts only: no personal data) and its
    RetentionRun row; return the row."""
    totals = {
        field: sum(getattr(removal, field) for removal in removals)
        for field in ("assessments", "ratings", "evidence_files", "pillar_scores", "notes")
    }
    run = RetentionRun.objects.create(
        dry_run=dry_run, retention_years=settings.RETENTION_YEARS, periods=[asdict(removal) for removal in removals], **totals
    )
    logger.info(
        "retention_apply %s: retention %s years, periods [%s], %s",
        "dry run" if dry_run else "deleted",
        run.retention_years,
        ", ".join(removal.period for removal in removals),
        ", ".join(f"{field} {count}" for field, count in totals.items()),
    )
    return run


def answers_deleted_notice(*, period: AssessmentPeriod) -> str:
    """What a person reads where an assessment of `period` had its answers: they were deleted
    under the retention rule, when, and after how many years."""
    years = settings.RETENTION_YEARS
    return ngettext(
        "The individual answers of %(period)s (ratings, notes, evidence and scores) were deleted on %(date)s "
        "under the retention rule: answers are kept for %(years)s year after a period closes (UU PDP 27/2022). "
        "The period's group figures remain.",
        "The individual answers of %(period)s (ratings, notes, evidence and scores) were deleted on %(date)s "
        "under the retention rule: answers are kept for %(years)s years after a period closes (UU PDP 27/2022). "
        "The period's group figures remain.",
        years,
    ) % {"period": period, "date": date_format(timezone.localtime(period.personal_data_removed_at), "j F Y"), "years": years}

"""Credibility signals (docs/RULES.md): reasons for the internal assessment team to look at an
assessment or a unit, never a verdict. Each is one function of plain values, so that it can be
tested on hand-made examples; `assessment_signals` and `unit_signals` read the database once
and apply them. Flagged assessments are more likely to be drawn for verification
(verification.sample_draw)."""

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from .models import COUNTED_STATES, RATING_MAX, RATING_MIN, AssessmentPeriod, Rating, SelfAssessment

TOP_SHARE = 0.9  # uniform top scores: at least this share of fives
SECONDS_PER_INDICATOR = 5  # too fast: less than this per indicator from opening to submitting
UNIT_SPREAD = 2  # a unit's mean more than this many standard deviations above the mean of units
UNIT_JUMP = 15  # a unit's mean up by more than this many points from the previous period


@dataclass(frozen=True)
class Signal:
    code: str
    label: str
    explanation: str


SIGNALS = {
    "straight": Signal(
        "straight", _("Every answer the same"),
        _("All indicators have the same rating. People rarely do equally well on everything: worth a look at the evidence."),
    ),
    "top": Signal(
        "top", _("Almost all fives"),
        _("At least 90% of the ratings are 5 (always). Possible, but the evidence should show it."),
    ),
    "fast": Signal(
        "fast", _("Submitted very quickly"),
        _("Submitted less than 5 seconds per indicator after the form was first opened: the statements may not have been read."),
    ),
    "unjustified": Signal(
        "unjustified", _("Extreme rating without a note or evidence"),
        _("An indicator that asks for a note at 1 or 5 was rated so without a note or evidence."),
    ),
    "unit_high": Signal(
        "unit_high", _("Unit far above the others"),
        _("The unit's mean index is more than 2 standard deviations above the mean of all units."),
    ),
    "unit_jump": Signal(
        "unit_jump", _("Large jump from the previous period"),
        _("The unit's mean index rose by more than 15 points from the previous period."),
    ),
}


def straight_lining(scores: Sequence[int]) -> bool:
    """Every answer the same (two answers at least)."""
    return len(scores) > 1 and len(set(scores)) == 1


def uniform_top(scores: Sequence[int]) -> bool:
    """At least TOP_SHARE of the answers are fives."""
    return _top_share(sum(score == RATING_MAX for score in scores), len(scores))


def _top_share(fives: int, answers: int) -> bool:
    return answers > 0 and fives >= TOP_SHARE * answers


def too_fast(opened_at: datetime | None, submitted_at: datetime | None, indicators: int) -> bool:
    """Submitted less than SECONDS_PER_INDICATOR per indicator after the form was first opened
    (unknown when either moment is missing)."""
    if opened_at is None or submitted_at is None:
        return False
    return (submitted_at - opened_at).total_seconds() < SECONDS_PER_INDICATOR * indicators


def unjustified_extremes(answers: Iterable[tuple[int | None, bool, bool]]) -> bool:
    """Any answer (score, note or evidence given, note required at 1 or 5) at 1 or 5 on an
    indicator that requires a note there, without note or evidence."""
    return any(required and score in (RATING_MIN, RATING_MAX) and not justified for score, justified, required in answers)


def unit_far_above(unit_mean: float, unit_means: Sequence[float]) -> bool:
    """More than UNIT_SPREAD standard deviations above the mean of the units' means."""
    if len(unit_means) < 2:
        return False
    spread = statistics.pstdev(unit_means)
    return spread > 0 and unit_mean > statistics.fmean(unit_means) + UNIT_SPREAD * spread


def unit_jump(mean: float | None, previous_mean: float | None) -> bool:
    """Up by more than UNIT_JUMP points from the previous period."""
    return mean is not None and previous_mean is not None and mean - previous_mean > UNIT_JUMP


def assessment_signals(assessment: SelfAssessment, ratings: Iterable[Rating] | None = None) -> list[Signal]:
    """The signals of one assessment (its ratings with their indicators: one query if not given)."""
    if ratings is None:
        ratings = assessment.ratings.select_related("indicator")
    ratings = list(ratings)
    scores = [r.score for r in ratings if r.score is not None]
    found = []
    if straight_lining(scores):
        found.append("straight")
    if uniform_top(scores):
        found.append("top")
    if too_fast(assessment.form_opened_at, assessment.submitted_at, len(ratings)):
        found.append("fast")
    if unjustified_extremes((r.score, bool(r.note.strip() or r.evidence), r.indicator.note_required_at_extremes) for r in ratings):
        found.append("unjustified")
    return [SIGNALS[code] for code in found]


def flagged_assessments(period: AssessmentPeriod) -> set[int]:
    """The ids of the period's counted assessments with at least one signal, counted in the
    database (one aggregate over the ratings, one over the assessments: a province's 100,000
    assessments never come into memory as rows of answers)."""
    counted = SelfAssessment.objects.filter(period=period, state__in=COUNTED_STATES)
    per_assessment = Rating.objects.filter(assessment__in=counted, score__isnull=False).values("assessment_id").annotate(
        n=Count("pk"),
        distinct=Count("score", distinct=True),
        fives=Count("pk", filter=Q(score=RATING_MAX)),
        unjustified=Count(
            "pk", filter=Q(indicator__note_required_at_extremes=True, score__in=[RATING_MIN, RATING_MAX], note="", evidence="")
        ),
    )
    flagged = set()
    answered = {}
    for row in per_assessment.values_list("assessment_id", "n", "distinct", "fives", "unjustified").order_by():
        pk, n, distinct, fives, unjustified = row
        answered[pk] = n
        if (n > 1 and distinct == 1) or _top_share(fives, n) or unjustified:
            flagged.add(pk)
    for pk, opened, submitted in counted.values_list("pk", "form_opened_at", "submitted_at").order_by():
        if too_fast(opened, submitted, answered.get(pk, 0)):
            flagged.add(pk)
    return flagged


def unit_signals(means: dict[int, float], previous: dict[int, float]) -> dict[int, list[Signal]]:
    """{unit id: signals} from the units' mean index ({unit id: mean}) in a period and in the
    one before it."""
    values = list(means.values())
    found: dict[int, list[Signal]] = {}
    for unit_id, mean in means.items():
        signals = []
        if unit_far_above(mean, values):
            signals.append(SIGNALS["unit_high"])
        if unit_jump(mean, previous.get(unit_id)):
            signals.append(SIGNALS["unit_jump"])
        if signals:
            found[unit_id] = signals
    return found


def rows_signals(rows) -> dict[int, list[Signal]]:
    """The unit-level signals of roll-up rows (rollups.Rollup with `.previous`), each unit
    compared with the units of its own level among the rows."""
    found: dict[int, list[Signal]] = {}
    by_depth: dict[int, list] = {}
    for row in rows:
        if row.index_mean is not None:
            by_depth.setdefault(row.unit.depth, []).append(row)
    for level in by_depth.values():
        means = {row.unit.pk: row.index_mean for row in level}
        previous = {row.unit.pk: row.previous.index_mean for row in level if row.previous is not None and row.previous.index_mean is not None}
        found |= unit_signals(means, previous)
    return found

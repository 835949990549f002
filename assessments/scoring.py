"""The scoring rules (docs/RULES.md) as pure functions: ratings in, scores out, no database.

Arithmetic is exact (fractions) so that a grade band edge such as 75 is never missed by a
floating-point rounding; callers store the result as a float (unrounded) and show one decimal.
"""

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db import models
from django.utils.translation import gettext_lazy as _

Number = int | Decimal | Fraction

RATING_MIN = 1
RATING_MAX = 5


class Grade(models.TextChoices):
    SANGAT_BAIK = "sangat_baik", _("Very good")
    BAIK = "baik", _("Good")
    BUTUH_PERBAIKAN = "butuh_perbaikan", _("Needs improvement")
    KURANG = "kurang", _("Poor")
    SANGAT_KURANG = "sangat_kurang", _("Very poor")


# Lower bound of each band on the integrity index, best first (docs/RULES.md).
GRADE_BANDS: tuple[tuple[int, Grade], ...] = (
    (90, Grade.SANGAT_BAIK),
    (75, Grade.BAIK),
    (60, Grade.BUTUH_PERBAIKAN),
    (40, Grade.KURANG),
)


def pillar_score(ratings: Iterable[tuple[Number, int]]) -> Fraction:
    """Return S = 25 * (sum(w*r) / sum(w) - 1) for (indicator weight, rating) pairs: 0 to 100."""
    total_weight = Fraction(0)
    weighted = Fraction(0)
    for weight, rating in ratings:
        if not RATING_MIN <= rating <= RATING_MAX:
            raise ValueError(f"rating {rating} is outside {RATING_MIN}..{RATING_MAX}")
        weight = Fraction(weight)
        if weight <= 0:
            raise ValueError("indicator weights must be positive")
        total_weight += weight
        weighted += weight * rating
    if total_weight == 0:
        raise ValueError("a pillar needs at least one rating")
    return 25 * (weighted / total_weight - 1)


def integrity_index(pillar_scores: Iterable[tuple[Number, Number]]) -> Fraction:
    """Return I = sum(W*S) / sum(W) for (pillar weight, pillar score) pairs: 0 to 100."""
    total_weight = Fraction(0)
    weighted = Fraction(0)
    for weight, score in pillar_scores:
        weight = Fraction(weight)
        if weight <= 0:
            raise ValueError("pillar weights must be positive")
        total_weight += weight
        weighted += weight * Fraction(score)
    if total_weight == 0:
        raise ValueError("the index needs at least one pillar")
    return weighted / total_weight


def grade_for(index: Number | float) -> Grade:
    """Return the grade band of an integrity index."""
    for lower_bound, grade in GRADE_BANDS:
        if index >= lower_bound:
            return grade
    return Grade.SANGAT_KURANG


@dataclass(frozen=True)
class ScoreSheet:
    pillar_scores: dict[Hashable, Fraction]
    index: Fraction
    grade: Grade


def score_sheet(pillars: Mapping[Hashable, tuple[Number, Iterable[tuple[Number, int]]]]) -> ScoreSheet:
    """Score a whole assessment.

    `pillars` maps a pillar key to (pillar weight, [(indicator weight, rating), ...]).
    Returns every pillar score, the index and its grade.
    """
    scores = {key: pillar_score(ratings) for key, (_weight, ratings) in pillars.items()}
    index = integrity_index((pillars[key][0], score) for key, score in scores.items())
    return ScoreSheet(pillar_scores=scores, index=index, grade=grade_for(index))


def one_decimal(value: Number | float) -> Decimal:
    """Return a score rounded half up to one decimal, for display (docs/RULES.md: stored
    unrounded, shown with one decimal). It starts from the shortest decimal form of a float, so
    a stored 68.95 shows as 69.0 on every page and in every export."""
    if not isinstance(value, Decimal):
        value = Decimal(repr(float(value)))
    return value.quantize(Decimal("0.1"), ROUND_HALF_UP)


def rounded(value: Number | float | None) -> float | None:
    """Return `one_decimal(value)` as a float (a chart point, a spreadsheet cell), or None."""
    return float(one_decimal(value)) if value is not None else None

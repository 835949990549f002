"""The scoring formulas (docs/RULES.md) on hand-computed examples."""

from decimal import Decimal
from fractions import Fraction

import pytest

from assessments.scoring import Grade, grade_for, integrity_index, pillar_score, score_sheet


def test_all_ones_score_zero_and_all_fives_score_a_hundred():
    assert pillar_score([(1, 1), (1, 1), (1, 1)]) == 0
    assert pillar_score([(1, 5), (2, 5), (Decimal("0.5"), 5)]) == 100


def test_unequal_indicator_weights():
    # weights 1, 2, 1 and ratings 5, 3, 4: (5 + 6 + 4) / 4 = 3.75 -> 25 * 2.75 = 68.75
    assert pillar_score([(1, 5), (2, 3), (1, 4)]) == Fraction(275, 4)


def test_decimal_weights_are_exact():
    # weights 1.5 and 0.5, ratings 4 and 2: (6 + 1) / 2 = 3.5 -> 62.5
    assert pillar_score([(Decimal("1.50"), 4), (Decimal("0.50"), 2)]) == Fraction(125, 2)


def test_index_weighs_pillars():
    # pillar weights 2 and 1, scores 90 and 60: (180 + 60) / 3 = 80
    assert integrity_index([(2, 90), (1, 60)]) == 80


def test_score_sheet_of_a_whole_assessment():
    sheet = score_sheet({
        "AK": (1, [(1, 5), (1, 5)]),           # 100
        "NT": (1, [(1, 1), (3, 3)]),           # (1 + 9) / 4 = 2.5 -> 37.5
        "DK": (2, [(1, 4), (1, 4), (2, 2)]),   # (4 + 4 + 4) / 4 = 3 -> 50
    })
    assert sheet.pillar_scores == {"AK": 100, "NT": Fraction(75, 2), "DK": 50}
    # (100 + 37.5 + 2 * 50) / 4 = 59.375
    assert sheet.index == Fraction(475, 8)
    assert sheet.grade == Grade.KURANG


@pytest.mark.parametrize(
    ("index", "grade"),
    [
        (100, Grade.SANGAT_BAIK), (90, Grade.SANGAT_BAIK), (Fraction(1799, 20), Grade.BAIK),
        (75, Grade.BAIK), (Fraction(7499, 100), Grade.BUTUH_PERBAIKAN),
        (60, Grade.BUTUH_PERBAIKAN), (59.99, Grade.KURANG),
        (40, Grade.KURANG), (39.999, Grade.SANGAT_KURANG), (0, Grade.SANGAT_KURANG),
    ],
)
def test_grade_band_edges(index, grade):
    assert grade_for(index) == grade


def test_a_band_edge_reached_through_weights_is_not_lost_to_rounding():
    # weights 1/3 each in effect: ratings 4, 4, 4 with weights 0.1 -> exactly 75, "Baik"
    sheet = score_sheet({"X": (Decimal("0.1"), [(Decimal("0.1"), 4)] * 3), "Y": (Decimal("0.2"), [(Decimal("0.3"), 4)])})
    assert sheet.index == 75
    assert sheet.grade == Grade.BAIK


@pytest.mark.parametrize("ratings", [[(1, 0)], [(1, 6)], [(0, 3)], [(-1, 3)], []])
def test_it_refuses_out_of_range_ratings_and_weights(ratings):
    with pytest.raises(ValueError):
        pillar_score(ratings)


@pytest.mark.parametrize(("value", "shown"), [(68.95, "69.0"), (68.94999, "68.9"), (75.0, "75.0"), (0.05, "0.1"), (99.95, "100.0"), (Fraction(275, 4), "68.8")])
def test_scores_are_shown_with_one_decimal_rounded_half_up(value, shown):
    from assessments.scoring import one_decimal

    assert str(one_decimal(value)) == shown

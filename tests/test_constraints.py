"""The database itself refuses what the rules forbid (docs/RULES.md), whatever the code above it does."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from assessments.models import AssessmentPeriod, Indicator, Pillar, Rating, SelfAssessment


@pytest.fixture
def draft(cast, period):
    return SelfAssessment.objects.create(employee=cast.staff, period=period, unit=cast.staff.unit)


def first_indicator(period):
    return period.questionnaire()[0].indicators.all()[0]


def test_one_assessment_per_person_per_period(draft, cast, period):
    with pytest.raises(IntegrityError), transaction.atomic():
        SelfAssessment.objects.create(employee=cast.staff, period=period, unit=cast.staff.unit)
    assert SelfAssessment.objects.filter(employee=cast.staff, period=period).count() == 1


@pytest.mark.parametrize("score", [0, 6, 100])
def test_a_rating_outside_1_to_5_is_refused_by_the_database(draft, period, score):
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(assessment=draft, indicator=first_indicator(period), score=score)
    assert not Rating.objects.filter(assessment=draft).exists()


@pytest.mark.parametrize("score", [1, 5, None])
def test_ratings_1_to_5_and_unanswered_are_stored(draft, period, score):
    Rating.objects.create(assessment=draft, indicator=first_indicator(period), score=score)
    assert Rating.objects.get(assessment=draft).score == score


def test_one_rating_per_indicator(draft, period):
    Rating.objects.create(assessment=draft, indicator=first_indicator(period), score=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.create(assessment=draft, indicator=first_indicator(period), score=4)


@pytest.mark.parametrize("weight", [0, -1])
def test_weights_must_be_positive(db, weight):
    with pytest.raises(IntegrityError), transaction.atomic():
        Pillar.objects.filter(code="AK").update(weight=weight)
    with pytest.raises(IntegrityError), transaction.atomic():
        Indicator.objects.filter(code="AK-1").update(weight=weight)


def test_an_indicator_needs_a_statement(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        Indicator.objects.filter(code="AK-1").update(statement="")


def test_one_period_per_quarter_and_closing_after_opening(db):
    AssessmentPeriod.objects.create(year=2030, quarter=1, opens_on=datetime.date(2030, 1, 1), closes_on=datetime.date(2030, 3, 31))
    with pytest.raises(IntegrityError), transaction.atomic():
        AssessmentPeriod.objects.create(year=2030, quarter=1, opens_on=datetime.date(2030, 1, 1), closes_on=datetime.date(2030, 3, 31))
    with pytest.raises(IntegrityError), transaction.atomic():
        AssessmentPeriod.objects.create(year=2030, quarter=2, opens_on=datetime.date(2030, 6, 1), closes_on=datetime.date(2030, 5, 31))
    with pytest.raises(IntegrityError), transaction.atomic():
        AssessmentPeriod.objects.create(year=2030, quarter=5, opens_on=datetime.date(2030, 1, 1), closes_on=datetime.date(2030, 3, 31))


def test_only_one_period_is_open_at_a_time(period):
    with pytest.raises(IntegrityError), transaction.atomic():
        AssessmentPeriod.objects.create(
            year=2031, quarter=1, opens_on=datetime.date(2031, 1, 1), closes_on=datetime.date(2031, 3, 31), status="open"
        )


def test_index_is_between_0_and_100(draft):
    with pytest.raises(IntegrityError), transaction.atomic():
        SelfAssessment.objects.filter(pk=draft.pk).update(index_score=100.5)

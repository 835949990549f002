from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from assessments import models, privacy
from assessments.models import (
    AssessmentPeriod,
    Employee,
    Indicator,
    PeriodIndicator,
    PeriodPillar,
    Pillar,
    SelfAssessment,
    UnitPeriodSummary,
    WorkUnit,
)
from assessments.scoring import score_sheet

COUNTED = [
    models.WorkUnit, models.Employee, models.SupervisorAssignment, models.AssessmentPeriod, models.PeriodPillar,
    models.PeriodIndicator, models.SelfAssessment, models.Rating, models.PillarScore, models.AssessmentEvent,
    models.UnitPeriodSummary, models.UnitPeriodPillarSummary, models.UnitPeriodIndicatorSummary,
]


def counts():
    return {model.__name__: model.objects.count() for model in COUNTED}


@pytest.fixture
def seeded(db, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    return counts()


def test_it_builds_the_demo_organisation(seeded):
    assert 28 <= seeded["WorkUnit"] <= 35
    assert 280 <= seeded["Employee"] <= 350
    assert max(WorkUnit.objects.values_list("depth", flat=True)) == 4
    assert WorkUnit.objects.filter(depth=2).count() == 5
    statuses = dict(AssessmentPeriod.objects.values_list("quarter", "status").filter(year=2026))
    assert AssessmentPeriod.objects.filter(status="open").count() == 1
    assert AssessmentPeriod.objects.filter(status="closed").count() >= 1
    assert statuses


def test_demo_logins_exist_with_the_documented_roles(seeded, client):
    from django.contrib.auth import authenticate

    for username in ("admin", "atasan", "pegawai", "penilai"):
        assert authenticate(RequestFactory().post("/akun/login/"), username=username, password="asn-demo-2026") is not None, username
    atasan = Employee.objects.get(user__username="atasan")
    pegawai = Employee.objects.get(user__username="pegawai")
    headed = atasan.headed.get().unit
    assert headed.depth == 2 and headed.numchild > 0  # an echelon-I unit with sub-units
    assert pegawai.unit.is_within(headed) and pegawai.unit != headed
    open_period = AssessmentPeriod.objects.get(status="open")
    assert not SelfAssessment.objects.filter(employee=pegawai, period=open_period).exists()


def test_the_demo_pegawai_meets_the_privacy_notice(seeded):
    """pegawai has read no notice, so the demo shows it before their first answer."""
    pegawai = Employee.objects.get(user__username="pegawai")
    assert not models.PrivacyAcknowledgement.objects.filter(user=pegawai.user).exists()
    assert privacy.notice_needed(pegawai.user, AssessmentPeriod.objects.get(status="open"))


def test_scores_vary_and_summaries_match_the_assessments(seeded):
    closed = AssessmentPeriod.objects.filter(status="closed").first()
    indexes = list(SelfAssessment.objects.filter(period=closed, state__in=["submitted", "approved"]).values_list("index_score", flat=True))
    assert len(set(round(i) for i in indexes)) > 20
    assert len(indexes) < Employee.objects.count()  # some staff did not take part
    root = WorkUnit.objects.get(depth=1)
    assert UnitPeriodSummary.objects.get(period=closed, unit=root).counted == len(indexes)  # the whole tree


def weighted_and_unweighted_index(assessment):
    """Return the index scoring.py gives the assessment's ratings with its period's frozen
    weights, and with every weight 1."""
    ratings = {r.indicator_id: r.score for r in assessment.ratings.all()}
    questionnaire = assessment.period.questionnaire()

    def index(weighted):
        return score_sheet({
            pillar.pk: (pillar.weight if weighted else 1, [(i.weight if weighted else 1, ratings[i.pk]) for i in pillar.indicators.all()])
            for pillar in questionnaire
        }).index

    return index(True), index(False)


def test_the_first_closed_quarter_is_scored_with_the_weights_frozen_when_it_opened(seeded):
    weighted, *later = AssessmentPeriod.objects.order_by("year", "quarter")
    assert weighted.status == "closed"
    assert dict(PeriodPillar.objects.filter(period=weighted).exclude(weight=1).values_list("pillar__code", "weight")) == {"AK": Decimal("1.5")}
    assert dict(PeriodIndicator.objects.filter(pillar__period=weighted).exclude(weight=1).values_list("indicator__code", "weight")) == {
        "AK-3": Decimal("3"),
    }
    # The framework has its default weights again, and so has every quarter opened after it.
    assert not Pillar.objects.exclude(weight=1).exists() and not Indicator.objects.exclude(weight=1).exists()
    assert not PeriodPillar.objects.filter(period__in=later).exclude(weight=1).exists()
    assert not PeriodIndicator.objects.filter(pillar__period__in=later).exclude(weight=1).exists()

    # Every stored index is scoring.py's, with those weights; for most it differs from the unweighted one.
    counted = SelfAssessment.objects.filter(period=weighted, state__in=["submitted", "approved"]).prefetch_related("ratings")
    differs = 0
    for assessment in counted:
        assessment.period = weighted  # the questionnaire is fetched once
        with_weights, without = weighted_and_unweighted_index(assessment)
        assert assessment.index_score == float(with_weights)
        differs += with_weights != without
    assert differs > len(counted) / 2


def test_running_it_twice_changes_nothing(seeded, settings):
    call_command("seed_demo")
    assert counts() == seeded


def test_it_refuses_to_run_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not WorkUnit.objects.exists()


def test_penilai_lands_on_the_queue_and_the_closed_quarters_show_verified_figures(seeded, client):
    from django.contrib.auth import get_user_model

    from assessments import verification

    client.force_login(get_user_model().objects.get(username="penilai"))
    assert client.get("/").url == "/tim-penilai/"
    closed = AssessmentPeriod.objects.filter(status="closed").order_by("year", "quarter")
    for period in closed:
        done = models.Verification.objects.filter(period=period, state="done")
        assert done.exists() and models.VerificationDraw.objects.filter(period=period).count() == 1
        assert models.VerifiedRating.objects.filter(verification__in=done, decision="adjust").exclude(reason="").exists()
    root = WorkUnit.objects.get(depth=1)
    figures = verification.verified_rollups(units=[root], period=closed.last())[root.pk]
    assert figures.shown and figures.verified_mean < figures.self_mean  # the team marked some answers down
    client.force_login(get_user_model().objects.get(username="admin"))
    page = client.get(f"/unit/{root.code}/", {"periode": closed.last().code}).content.decode()
    assert 'data-testid="verified-mean"' in page and 'data-testid="verified-self"' in page


def test_the_demo_honours_assessment_visibility(db, settings):
    settings.DEBUG = True
    settings.ASSESSMENT_VISIBILITY = "confidential"
    call_command("seed_demo")
    opened = AssessmentPeriod.objects.exclude(status="planned")
    assert set(opened.values_list("visibility", flat=True)) == {"confidential"}
    # No review step in a confidential period: nothing approved or returned, no reviewer.
    assert not SelfAssessment.objects.filter(state__in=["approved", "returned"]).exists()
    assert not SelfAssessment.objects.filter(reviewed_by__isnull=False).exists()
    assert SelfAssessment.objects.filter(state="submitted").count() > 200

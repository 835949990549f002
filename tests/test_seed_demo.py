import pytest
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from assessments import models
from assessments.models import AssessmentPeriod, Employee, SelfAssessment, UnitPeriodSummary, WorkUnit

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

    for username in ("admin", "atasan", "pegawai"):
        assert authenticate(RequestFactory().post("/akun/login/"), username=username, password="asn-demo-2026") is not None, username
    atasan = Employee.objects.get(user__username="atasan")
    pegawai = Employee.objects.get(user__username="pegawai")
    headed = atasan.headed.get().unit
    assert headed.depth == 2 and headed.numchild > 0  # an echelon-I unit with sub-units
    assert pegawai.unit.is_within(headed) and pegawai.unit != headed
    open_period = AssessmentPeriod.objects.get(status="open")
    assert not SelfAssessment.objects.filter(employee=pegawai, period=open_period).exists()


def test_scores_vary_and_summaries_match_the_assessments(seeded):
    closed = AssessmentPeriod.objects.filter(status="closed").first()
    indexes = list(SelfAssessment.objects.filter(period=closed, state__in=["submitted", "approved"]).values_list("index_score", flat=True))
    assert len(set(round(i) for i in indexes)) > 20
    assert len(indexes) < Employee.objects.count()  # some staff did not take part
    root = WorkUnit.objects.get(depth=1)
    assert UnitPeriodSummary.objects.get(period=closed, unit=root).counted == len(indexes)  # the whole tree


def test_running_it_twice_changes_nothing(seeded, settings):
    call_command("seed_demo")
    assert counts() == seeded


def test_it_refuses_to_run_with_debug_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not WorkUnit.objects.exists()

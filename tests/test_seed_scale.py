"""seed_scale at a small size: the same code path as a province (COPY on PostgreSQL, bulk
INSERTs on SQLite), checked for shape, validity and consistency with what services compute."""

import io
from collections import Counter

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db.models import F
from django.test import RequestFactory
from django.utils import timezone

from assessments import models, periods, services, summaries
from assessments.management.commands.seed_scale import BENCH_PASSWORD, build_tree, level_sizes
from assessments.models import (
    AssessmentEvent,
    AssessmentPeriod,
    Employee,
    PeriodIndicator,
    PillarScore,
    Rating,
    SelfAssessment,
    SupervisorAssignment,
    UnitPeriodIndicatorSummary,
    UnitPeriodPillarSummary,
    UnitPeriodSummary,
    WorkUnit,
)
from assessments.validators import validate_nip

SIZE = ["--staff", "300", "--units", "25", "--depth", "4", "--periods", "2"]
HANDED_IN = ("submitted", "returned", "approved")
COUNTED = [
    WorkUnit, Employee, SupervisorAssignment, AssessmentPeriod, models.PeriodPillar, PeriodIndicator, SelfAssessment,
    Rating, PillarScore, AssessmentEvent, UnitPeriodSummary, UnitPeriodPillarSummary, UnitPeriodIndicatorSummary,
]


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_scale", *args, stdout=out)
    return out.getvalue()


def counts() -> dict:
    return {model.__name__: model.objects.count() for model in [*COUNTED, get_user_model()]}


@pytest.fixture
def seeded(db):
    return seed(*SIZE)


def open_period() -> AssessmentPeriod:
    return AssessmentPeriod.objects.get(status="open")


def test_it_reports_what_it_made(seeded):
    for stage in ("units", "staff", "periods", "assessments", "ratings", "total"):
        assert stage in seeded
    assert "N=300 U=25 D=4 P=2 seed=2026" in seeded


def test_the_tree_has_exactly_the_units_and_depth_asked_for(seeded):
    units = list(WorkUnit.objects.all())
    assert len(units) == 25
    assert all(unit.code.startswith("SYN-") for unit in units)
    assert sorted({unit.depth for unit in units}) == [1, 2, 3, 4]
    assert WorkUnit.objects.filter(depth=1).count() == 1
    # treebeard's own check, then ours: parents exist, depth and numchild agree with the paths.
    assert WorkUnit.objects.find_problems() == ([], [], [], [], [])
    paths = {unit.path for unit in units}
    children = Counter(unit.path[: -WorkUnit.steplen] for unit in units if unit.depth > 1)
    for unit in units:
        assert unit.depth == len(unit.path) // WorkUnit.steplen
        assert unit.depth == 1 or unit.path[: -WorkUnit.steplen] in paths
        assert unit.numchild == children[unit.path]
    # Balanced: within a level, parents that have children have about as many as each other.
    for depth in (1, 2, 3):
        sizes = [u.numchild for u in units if u.depth == depth and u.numchild]
        assert max(sizes) - min(sizes) <= 1, depth
    root = WorkUnit.objects.get(depth=1)
    assert WorkUnit.objects.filter(path__startswith=root.path).count() == 25  # subtree queries see it all


@pytest.mark.parametrize("units,depth", [(1, 1), (4, 4), (5, 4), (25, 4), (500, 5), (2000, 5), (100, 2), (30, 7)])
def test_level_sizes_fill_every_level_and_sum_to_the_units(units, depth):
    sizes = level_sizes(units, depth)
    assert sum(sizes) == units and len(sizes) == depth
    assert sizes[0] == 1 and min(sizes) >= 1
    tree = build_tree(sizes, WorkUnit._get_path(None, 1, 1))
    assert len(tree) == units and len({unit.path for unit in tree}) == units
    assert [sum(1 for unit in tree if unit.depth == d) for d in range(1, depth + 1)] == sizes


def test_staff_have_valid_unique_nips_and_logins(seeded):
    employees = list(Employee.objects.select_related("user", "unit"))
    assert len(employees) == 300
    assert len({e.nip for e in employees}) == 300
    for employee in employees:
        try:
            validate_nip(employee.nip)
        except ValidationError as error:
            pytest.fail(f"{employee.nip}: {error}")
        assert employee.user.username == employee.nip
    assert get_user_model().objects.count() == 300
    assert set(WorkUnit.objects.values_list("pk", flat=True)) == {e.unit_id for e in employees}  # nobody's unit is empty
    someone = employees[123]
    assert authenticate(RequestFactory().post("/akun/login/"), username=someone.nip, password=BENCH_PASSWORD) == someone.user


def test_units_down_to_depth_three_are_headed_by_one_of_their_own(seeded):
    heads = list(SupervisorAssignment.objects.select_related("employee", "unit"))
    assert sorted(h.unit_id for h in heads) == sorted(WorkUnit.objects.filter(depth__lte=3).values_list("pk", flat=True))
    assert all(h.employee.unit_id == h.unit_id for h in heads)


def test_closed_quarters_end_with_the_one_before_the_current_and_count_about_nine_in_ten(seeded):
    today = timezone.localdate()
    current = (today.year, (today.month - 1) // 3 + 1)
    previous = (current[0] - 1, 4) if current[1] == 1 else (current[0], current[1] - 1)
    closed = list(AssessmentPeriod.objects.filter(status="closed").order_by("-year", "-quarter"))
    assert len(closed) == 2
    assert (closed[0].year, closed[0].quarter) == previous
    for period in closed:
        assert (period.opens_on, period.closes_on) == periods.quarter_dates(period.year, period.quarter)
        states = Counter(SelfAssessment.objects.filter(period=period).values_list("state", flat=True))
        assert set(states) <= {"submitted", "approved"}
        assert 0.82 <= (states["submitted"] + states["approved"]) / 300 <= 0.97
        assert states["approved"] > states["submitted"] > 0


def test_the_open_quarter_has_a_realistic_mix(seeded):
    period = open_period()
    today = timezone.localdate()
    assert period.opens_on <= today <= period.closes_on
    assert (period.opens_on, period.closes_on) == periods.quarter_dates(today.year, (today.month - 1) // 3 + 1)
    assessments = list(SelfAssessment.objects.filter(period=period))
    states = Counter(a.state for a in assessments)
    assert set(states) == {"draft", "submitted", "returned", "approved"}
    assert 0.3 <= 1 - len(assessments) / 300 <= 0.5  # not started
    assert states["submitted"] > states["draft"] > states["returned"]
    for assessment in assessments:
        assert assessment.submitted_at is None or assessment.submitted_at <= timezone.now()
        assert assessment.reviewed_at is None or assessment.reviewed_at <= timezone.now()
        if assessment.state == "returned":
            assert assessment.return_note and assessment.index_score is not None and assessment.grade
            assert assessment.reviewed_by_id and assessment.reviewed_at
        if assessment.state == "draft":
            assert assessment.index_score is None and not assessment.grade and assessment.submitted_at is None


def test_handed_in_assessments_have_every_rating_and_pillar_score(seeded):
    for period in AssessmentPeriod.objects.all():
        indicators = PeriodIndicator.objects.filter(pillar__period=period).count()
        pillars = period.pillars.count()
        ratings = Counter(Rating.objects.filter(assessment__period=period, score__isnull=False).values_list("assessment_id", flat=True))
        scores = Counter(PillarScore.objects.filter(assessment__period=period).values_list("assessment_id", flat=True))
        for pk, state in SelfAssessment.objects.filter(period=period).values_list("pk", "state"):
            if state in HANDED_IN:
                assert (ratings[pk], scores[pk]) == (indicators, pillars)
            else:
                assert 0 < ratings[pk] < indicators and scores[pk] == 0


def test_stored_scores_are_what_submitting_would_store(seeded):
    sample = SelfAssessment.objects.filter(state__in=HANDED_IN).select_related("period").order_by("pk")[::7]
    assert len(sample) > 50
    for assessment in sample:
        sheet = services.assessment_preview(assessment=assessment)
        assert assessment.index_score == float(sheet.index)
        assert assessment.grade == sheet.grade
        stored = dict(assessment.pillar_scores.values_list("pillar_id", "score"))
        assert stored == {pk: float(score) for pk, score in sheet.pillar_scores.items()}


def test_units_answer_differently(seeded):
    period = AssessmentPeriod.objects.filter(status="closed").first()
    means = [row.index_sum / row.counted for row in UnitPeriodSummary.objects.filter(period=period, counted__gte=5)]
    assert max(means) - min(means) > 10


def test_state_log_and_references_are_consistent(seeded):
    # The PostgreSQL path loads with foreign keys suspended: nothing may point nowhere.
    assert not Rating.objects.exclude(assessment__in=SelfAssessment.objects.all()).exists()
    assert not PillarScore.objects.exclude(assessment__in=SelfAssessment.objects.all()).exists()
    assert not AssessmentEvent.objects.exclude(assessment__in=SelfAssessment.objects.all()).exists()
    assert not Employee.objects.exclude(user__in=get_user_model().objects.all()).exists()
    assert not SelfAssessment.objects.exclude(employee__in=Employee.objects.all()).exists()
    assessment = SelfAssessment.objects.filter(state="approved").first()
    assert list(assessment.events.values_list("from_state", "to_state")) == [("", "draft"), ("draft", "submitted"), ("submitted", "approved")]
    assert assessment.events.last().actor_id == assessment.reviewed_by_id
    assert SelfAssessment.objects.filter(employee__unit_id=F("unit_id")).count() == SelfAssessment.objects.count()


def summary_rows() -> dict:
    return {
        model.__name__: sorted(tuple(row.values()) for row in model.objects.values(*[f.attname for f in model._meta.concrete_fields if f.name != "id"]))
        for model in (UnitPeriodSummary, UnitPeriodPillarSummary, UnitPeriodIndicatorSummary)
    }


def test_summaries_equal_a_fresh_rebuild(seeded):
    before = summary_rows()
    for period in AssessmentPeriod.objects.all():
        assert summaries.summary_differences(period=period) == []
        summaries.summary_rebuild(period=period, closed=period.status == "closed")
        if period.status == "open":  # a closed period's expected counts are final
            summaries.period_expected_refresh(period=period)
    assert summary_rows() == before
    # Each row covers its unit's whole subtree: the root's rows hold the whole province.
    counted = SelfAssessment.objects.filter(state__in=["submitted", "approved"]).count()
    assert sum(UnitPeriodSummary.objects.filter(unit__depth=1).values_list("counted", flat=True)) == counted
    assert UnitPeriodSummary.objects.get(period=open_period(), unit__depth=1).expected == 300


def test_a_second_run_with_the_same_parameters_changes_nothing(seeded):
    before = counts()
    assert "already exists" in seed(*SIZE)
    assert counts() == before


def test_other_parameters_need_reset(seeded):
    with pytest.raises(CommandError, match="--reset"):
        seed("--staff", "200", "--units", "25", "--depth", "4", "--periods", "2")
    with pytest.raises(CommandError, match="--reset"):
        seed(*SIZE, "--seed", "7")


def test_reset_replaces_the_synthetic_data(seeded):
    admin = get_user_model().objects.create_superuser("admin", "admin@example.go.id", "x")  # not synthetic: kept
    output = seed("--staff", "120", "--units", "12", "--depth", "3", "--periods", "1", "--reset")
    assert "reset" in output and "N=120 U=12 D=3 P=1" in output
    assert (WorkUnit.objects.count(), Employee.objects.count(), AssessmentPeriod.objects.count()) == (12, 120, 2)
    assert get_user_model().objects.count() == 121 and get_user_model().objects.filter(pk=admin.pk).exists()
    assert WorkUnit.objects.find_problems() == ([], [], [], [], [])


def test_it_refuses_a_database_with_non_synthetic_units(db):
    WorkUnit.objects.add_root({"code": "KEMENDAGRI", "name": "Kementerian Dalam Negeri"})
    with pytest.raises(CommandError, match="non-synthetic"):
        seed(*SIZE)
    with pytest.raises(CommandError, match="non-synthetic"):
        seed(*SIZE, "--reset")
    assert WorkUnit.objects.count() == 1 and not Employee.objects.exists() and not AssessmentPeriod.objects.exists()


def test_force_builds_next_to_other_units(db):
    real = WorkUnit.objects.add_root({"code": "KEMENDAGRI", "name": "Kementerian Dalam Negeri"})
    seed("--staff", "40", "--units", "6", "--depth", "3", "--periods", "1", "--force")
    assert WorkUnit.objects.filter(code__startswith="SYN-").count() == 6
    assert WorkUnit.objects.get(pk=real.pk).path == real.path
    assert WorkUnit.objects.find_problems() == ([], [], [], [], [])


def test_sizes_are_checked(db):
    with pytest.raises(CommandError, match="--staff"):
        seed("--staff", "10", "--units", "25", "--depth", "4", "--periods", "1")
    with pytest.raises(CommandError, match="--depth"):
        seed("--staff", "10", "--units", "3", "--depth", "4", "--periods", "1")
    assert not WorkUnit.objects.exists()

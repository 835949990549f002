"""Bad input and concurrency on the staff pages: a clear message or 404, never a 500, and
nothing changed."""

from urllib.parse import urlencode

import pytest
from django.db import IntegrityError
from django.test import Client

from assessments import periods, services, summaries
from assessments.models import AssessmentEvent, PillarScore, Rating, SelfAssessment, UnitPeriodSummary

from .conftest import all_answers, form_data, submitted_assessment


def url(period, step="isi"):
    return f"/penilaian/{period.code}/{step}/"


def first(period):
    return period.questionnaire()[0].indicators.all()[0]


@pytest.fixture
def staff_client(client, cast):
    client.force_login(cast.staff.user)
    return client


def snapshot(employee):
    return (
        list(SelfAssessment.objects.filter(employee=employee).values_list("state", "version")),
        sorted(Rating.objects.filter(assessment__employee=employee).values_list("indicator_id", "score", "note")),
    )


@pytest.fixture
def draft(cast, period):
    return services.assessment_save_draft(employee=cast.staff, period=period, answers=all_answers(period, 3), version=0, actor=cast.staff.user)


@pytest.mark.parametrize("value", ["0", "6", "-1", "abc", "3.5", "", "९", "5" * 500])
def test_out_of_range_or_non_numeric_ratings_are_a_form_error(staff_client, cast, period, draft, value):
    before = snapshot(cast.staff)
    data = form_data(period, score=4, version=draft.version)
    data[f"rating_{first(period).pk}"] = value
    response = staff_client.post(url(period), data)
    if value == "":
        assert response.status_code == 302  # an empty answer is simply unanswered in a draft
        return
    assert response.status_code == 400
    assert "Pilih pilihan yang valid" in response.content.decode() or "valid" in response.content.decode()
    assert snapshot(cast.staff) == before


def test_an_indicator_outside_the_questionnaire_is_refused(staff_client, cast, period, draft, previous_period):
    before = snapshot(cast.staff)
    foreign = previous_period.questionnaire()[0].indicators.all()[0]
    data = form_data(period, score=4, version=draft.version)
    data[f"rating_{foreign.pk}"] = "5"
    response = staff_client.post(url(period), data)
    assert response.status_code == 400
    assert "bukan bagian dari periode ini" in response.content.decode()
    assert snapshot(cast.staff) == before
    data[f"rating_{foreign.pk}"] = "5"
    response = staff_client.post(f"/penilaian/{period.code}/simpan-otomatis/", data)
    assert response.status_code == 400 and response.json()["ok"] is False
    assert snapshot(cast.staff) == before


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("name", ["rating_" + "7" * 4301, "note_{arabic}", "rating_0{pk}", "evidence_" + "9" * 30])
def test_a_field_named_for_no_indicator_is_refused_whatever_its_digits(staff_client, cast, period, draft, name):
    """Names are compared as text: 4,301 digits were a 500 (int() refuses them), and indicator
    27 written in Arabic-Indic digits was taken for indicator 27 (tests/test_fuzz.py)."""
    pk = first(period).pk
    before = snapshot(cast.staff)
    data = form_data(period, score=4, version=draft.version)
    data[name.format(pk=pk, arabic=str(pk).translate(ARABIC_INDIC))] = "5"
    response = staff_client.post(url(period), urlencode(data), content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert "bukan bagian dari periode ini" in response.content.decode()
    assert snapshot(cast.staff) == before


def test_the_service_refuses_an_unknown_indicator_too(cast, period, draft, previous_period):
    foreign = previous_period.questionnaire()[0].indicators.all()[0]
    with pytest.raises(services.ServiceError):
        services.assessment_save_draft(
            employee=cast.staff, period=period, answers={foreign.pk: services.Answer(score=5)}, version=draft.version, actor=cast.staff.user
        )
    assert Rating.objects.filter(indicator=foreign).count() == 0


@pytest.mark.parametrize("version", ["", "x", "-3", "99999999999999999999999"])
def test_a_tampered_version_is_a_form_error(staff_client, cast, period, draft, version):
    before = snapshot(cast.staff)
    response = staff_client.post(url(period), {**form_data(period, score=5), "version": version})
    assert response.status_code in (400, 409)
    assert snapshot(cast.staff) == before


def test_someone_elses_assessment_is_404(client, cast, period):
    theirs = submitted_assessment(cast.colleague, period)
    client.force_login(cast.staff.user)
    assert client.get(f"/hasil/{theirs.pk}/").status_code == 404
    rating = theirs.ratings.first()
    assert client.get(f"/bukti/{rating.pk}/").status_code == 404
    assert client.get("/hasil/999999/").status_code == 404


def test_a_period_that_does_not_exist_or_is_not_open_is_404(staff_client, period):
    assert staff_client.get("/penilaian/2099-Q1/isi/").status_code == 404
    assert staff_client.get("/penilaian/bogus/isi/").status_code == 404
    assert staff_client.get("/penilaian/2026-Q9/isi/").status_code == 404
    periods.period_create_next()  # planned, not opened
    from assessments.models import AssessmentPeriod

    planned = AssessmentPeriod.objects.get(status="planned")
    assert staff_client.get(url(planned)).status_code == 404


def test_a_replayed_or_double_submit_yields_one_submission(staff_client, cast, period):
    staff_client.post(url(period), form_data(period, score=4, action="submit"))
    assessment = SelfAssessment.objects.get(employee=cast.staff, period=period)
    confirm = {"version": str(assessment.version)}
    first_response = staff_client.post(url(period, "kirim"), confirm)
    second_response = staff_client.post(url(period, "kirim"), confirm)
    assert first_response.status_code == second_response.status_code == 302
    assert SelfAssessment.objects.filter(employee=cast.staff).count() == 1
    assert AssessmentEvent.objects.filter(assessment=assessment, to_state="submitted").count() == 1
    assert UnitPeriodSummary.objects.get(unit=cast.staff.unit, period=period).counted == 1
    page = staff_client.get(second_response["Location"]).content.decode()
    assert "sudah dikirim" in page


def test_the_service_itself_is_idempotent(cast, period):
    assessment = submitted_assessment(cast.staff, period)
    assert services.assessment_submit(assessment=assessment, version=assessment.version - 1, actor=cast.staff.user) is False
    assert PillarScore.objects.filter(assessment=assessment).count() == len(period.questionnaire())
    assert AssessmentEvent.objects.filter(assessment=assessment, to_state="submitted").count() == 1


def test_a_stale_tab_cannot_overwrite_a_newer_draft(cast, period):
    """Two tabs open the form at version 1; the first saves; the second is refused, told why,
    and keeps its own answers on screen so that nothing is lost."""
    tab1, tab2 = Client(), Client()
    tab1.force_login(cast.staff.user)
    tab2.force_login(cast.staff.user)
    draft = services.assessment_save_draft(employee=cast.staff, period=period, answers=all_answers(period, 3), version=0, actor=cast.staff.user)
    assert tab1.post(url(period), form_data(period, score=5, version=draft.version)).status_code == 302
    response = tab2.post(url(period), form_data(period, score=1, version=draft.version, note="dari tab dua"))
    assert response.status_code == 409
    page = response.content.decode()
    assert "diubah di tab atau perangkat lain" in page
    assert "dari tab dua" in page  # tab 2's input is still on its screen
    assert f'value="1" class="btn-check" id="id_rating_{first(period).pk}_0" checked' in page
    assert set(Rating.objects.filter(assessment=draft).values_list("score", flat=True)) == {5}  # tab 1's save stands
    # Saving again from tab 2, now knowingly, replaces tab 1's answers.
    current = SelfAssessment.objects.get(pk=draft.pk).version
    assert f'name="version" value="{current}"' in page
    assert tab2.post(url(period), form_data(period, score=1, version=current)).status_code == 302
    assert set(Rating.objects.filter(assessment=draft).values_list("score", flat=True)) == {1}


def test_a_stale_autosave_is_refused_with_409(staff_client, cast, period, draft):
    response = staff_client.post(f"/penilaian/{period.code}/simpan-otomatis/", form_data(period, score=2, version=draft.version - 1))
    assert response.status_code == 409
    assert "diubah di tab atau perangkat lain" in response.json()["message"]
    assert set(Rating.objects.filter(assessment=draft).values_list("score", flat=True)) == {3}


def test_submitting_a_stale_summary_is_refused(staff_client, cast, period, draft):
    staff_client.post(url(period), form_data(period, score=4, version=draft.version, action="submit"))
    response = staff_client.post(url(period, "kirim"), {"version": str(draft.version)})  # the old version
    assert response.status_code == 302 and response["Location"] == url(period)
    assert SelfAssessment.objects.get(pk=draft.pk).state == "draft"


def test_submit_is_atomic(cast, period, draft, monkeypatch):
    """If writing fails halfway (here: the summary update), no rating, score, state or log is
    left behind."""
    before = snapshot(cast.staff)

    def broken(**kwargs):
        raise IntegrityError("disk full")

    monkeypatch.setattr(summaries, "summary_apply", broken)
    draft.refresh_from_db()
    with pytest.raises(IntegrityError):
        services.assessment_submit(assessment=draft, version=draft.version, actor=cast.staff.user)
    assert snapshot(cast.staff) == before
    assert not PillarScore.objects.filter(assessment=draft).exists()
    assert not AssessmentEvent.objects.filter(assessment=draft, to_state="submitted").exists()
    assert SelfAssessment.objects.get(pk=draft.pk).index_score is None


def test_a_failed_draft_save_writes_nothing(cast, period, monkeypatch):
    from assessments.models import Rating as RatingModel

    def broken(*args, **kwargs):
        raise IntegrityError("disk full")

    monkeypatch.setattr(RatingModel.objects, "bulk_create", broken)
    with pytest.raises(IntegrityError):
        services.assessment_save_draft(employee=cast.staff, period=period, answers=all_answers(period, 3), version=0, actor=cast.staff.user)
    assert not SelfAssessment.objects.filter(employee=cast.staff).exists()


def test_csrf_is_enforced_on_every_staff_post(cast, period, draft):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.staff.user)
    before = snapshot(cast.staff)
    for path, data in [
        (url(period), form_data(period, score=5, version=draft.version)),
        (url(period, "kirim"), {"version": str(draft.version)}),
        ("/i18n/setlang/", {"language": "en"}),
        ("/akun/logout/", {}),
    ]:
        assert client.post(path, data).status_code == 403, path
    assert snapshot(cast.staff) == before


@pytest.mark.skipif(__import__("django.db").db.connection.vendor != "postgresql", reason="row locks are PostgreSQL's; CI runs this on PostgreSQL")
def test_saving_locks_the_assessment_row_and_not_the_period(cast, period, draft):
    """A save must not hold the period row: every other save and submit of the period would queue."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        services.assessment_save_draft(employee=cast.staff, period=period, answers=all_answers(period, 4), version=draft.version, actor=cast.staff.user)
    locking = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert locking and all('FOR UPDATE OF "assessments_selfassessment"' in sql for sql in locking), locking


@pytest.mark.parametrize("url", [
    "/admin/autocomplete/?app_label=assessments&model_name=employee&field_name=unit&term=%00",
    "/admin/assessments/employee/?q=%00",
    "/admin/assessments/workunit/?q=A%00",
])
def test_a_nul_character_in_an_admin_address_is_a_clear_400(client, cast, url):
    client.force_login(cast.admin)
    response = client.get(url)
    assert response.status_code == 400
    assert "tidak diizinkan" in response.content.decode()

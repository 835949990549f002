"""PRODUCT rule: editing the framework (an indicator's wording, rubric or weight, retiring it,
reweighting a pillar) never changes an assessment already made, nor the questionnaire of an
open or past period; it applies to periods opened later. Every edit here goes through the
admin's change forms, as an admin makes it.

The numbers: the staff member rates AK-1 5, the other AK indicators 1 and every other
indicator 4. With all weights 1: AK = 25 * (9/5 - 1) = 20, the other five pillars 75, so the
index is (20 + 5 * 75) / 6 = 65.83. The admin then weighs AK-1 3, retires AK-2 and weighs the AK
pillar 2: the same ratings in a period opened afterwards give AK = 25 * ((3*5 + 3*1)/6 - 1) = 50
and an index of (2 * 50 + 5 * 75) / 7 = 67.86.
"""

import csv
import datetime
import io

import pytest
from django.utils import timezone
from django.utils.html import escape

from assessments import services
from assessments.models import AssessmentPeriod, Indicator, PeriodIndicator, PeriodPillar, Pillar, SelfAssessment

from .adminforms import change, errors
from .conftest import create_period, past_assessment

NEW_STATEMENT = "Saya menolak setiap gratifikasi dan melaporkannya dalam 30 hari kerja."
NEW_RUBRIC_LOW = "Menerima gratifikasi tanpa melapor (rubrik baru)."
NEW_RUBRIC_HIGH = "Menolak dan melapor tepat waktu, selalu (rubrik baru)."


def answers(period) -> dict:
    """AK-1 5, the other AK indicators 1, every other indicator 4 (notes for the extremes)."""
    result = {}
    for pillar in period.questionnaire():
        for indicator in pillar.indicators.all():
            code = indicator.indicator.code
            score = 5 if code == "AK-1" else 1 if code.startswith("AK-") else 4
            result[indicator.pk] = services.Answer(score=score, note="catatan")
    return result


def submit(employee, period) -> SelfAssessment:
    draft = services.assessment_save_draft(employee=employee, period=period, answers=answers(period), version=0, actor=employee.user)
    services.assessment_submit(assessment=draft, version=draft.version, actor=employee.user)
    return SelfAssessment.objects.get(pk=draft.pk)


def stored(assessment) -> tuple:
    assessment = SelfAssessment.objects.get(pk=assessment.pk)
    pillars = tuple(assessment.pillar_scores.order_by("pillar__order").values_list("pillar__pillar__code", "score"))
    return assessment.index_score, assessment.grade, pillars


def questionnaire_rows(period) -> list:
    return list(
        PeriodIndicator.objects.filter(pillar__period=period)
        .order_by("pk")
        .values_list("indicator__code", "statement", "rubric_low", "rubric_high", "weight", "order", "pillar__weight")
    )


def staff_export(client, cast, period) -> list:
    client.force_login(cast.supervisor.user)
    response = client.get(f"/unit/A1/ekspor/pegawai.csv?periode={period.code}")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def admin_edits_the_framework(client, cast) -> None:
    """As an admin would: reword AK-1 (statement and rubric) and weigh it 3, retire AK-2, weigh
    the AK pillar 2, each through its change form."""
    client.force_login(cast.admin)
    ak1, ak2 = Indicator.objects.get(code="AK-1"), Indicator.objects.get(code="AK-2")
    response = change(
        client, f"/admin/assessments/indicator/{ak1.pk}/change/",
        statement=NEW_STATEMENT, rubric_low=NEW_RUBRIC_LOW, rubric_high=NEW_RUBRIC_HIGH, weight="3",
    )
    assert response.status_code == 302, errors(response)
    response = change(client, f"/admin/assessments/indicator/{ak2.pk}/change/", is_active=None)
    assert response.status_code == 302, errors(response)
    response = change(client, f"/admin/assessments/pillar/{Pillar.objects.get(code='AK').pk}/change/", weight="2")
    assert response.status_code == 302, errors(response)
    ak1.refresh_from_db()
    assert (ak1.statement, ak1.weight, Indicator.objects.get(code="AK-2").is_active) == (NEW_STATEMENT, 3, False)
    assert Pillar.objects.get(code="AK").weight == 2


@pytest.fixture
def before(client, cast, period, previous_period):
    """The staff member's submitted assessment of the open period and approved one of the
    closed period, with everything that must not change recorded before the admin edits."""
    current = submit(cast.staff, period)
    past = past_assessment(cast.staff, previous_period, score=3)
    original = Indicator.objects.get(code="AK-1")
    recorded = {
        "current": stored(current),
        "past": stored(past),
        "questionnaires": (questionnaire_rows(period), questionnaire_rows(previous_period)),
        "export": staff_export(client, cast, period),
        "statement": original.statement,
        "rubric_low": original.rubric_low,
        "ak2": Indicator.objects.get(code="AK-2").statement,
    }
    admin_edits_the_framework(client, cast)
    client.logout()
    return current, past, recorded


def test_stored_scores_of_assessments_already_made_do_not_change(before):
    current, past, recorded = before
    index, grade, pillars = recorded["current"]
    assert index == pytest.approx((20 + 5 * 75) / 6) and grade == "butuh_perbaikan"
    assert dict(pillars)["AK"] == pytest.approx(20.0)
    assert stored(current) == recorded["current"]
    assert stored(past) == recorded["past"]
    assert recorded["past"][0] == pytest.approx(50.0)


def test_the_result_page_keeps_the_wording_and_the_index_that_were_answered(client, cast, before):
    current, past, recorded = before
    client.force_login(cast.staff.user)
    for assessment, index in ((current, "65,8"), (past, "50,0")):
        page = client.get(f"/hasil/{assessment.pk}/").content.decode()
        assert escape(recorded["statement"]) in page
        assert escape(recorded["ak2"]) in page  # retired since, but it was answered
        assert NEW_STATEMENT not in page
        assert f'data-testid="index">{index}<' in page


def test_the_staff_export_keeps_its_figures(client, cast, period, before):
    _current, _past, recorded = before
    rows = staff_export(client, cast, period)
    assert rows == recorded["export"]
    siti = next(row for row in rows if row[0] == "Siti Staf")
    assert (siti[4], siti[5], siti[6]) == ("Terkirim", "65,8", "Butuh Perbaikan")


def test_the_open_and_past_questionnaires_do_not_change(client, cast, period, previous_period, before):
    _current, _past, recorded = before
    assert (questionnaire_rows(period), questionnaire_rows(previous_period)) == recorded["questionnaires"]
    assert PeriodPillar.objects.get(period=period, pillar__code="AK").weight == 1
    # The colleague has not answered yet: the open period's form still asks the old wording,
    # with the old rubric and the retired indicator; so does the closed period's (read only).
    client.force_login(cast.colleague.user)
    for shown in (period, previous_period):
        page = client.get(f"/penilaian/{shown.code}/isi/").content.decode()
        assert escape(recorded["statement"]) in page and escape(recorded["rubric_low"]) in page
        assert escape(recorded["ak2"]) in page
        assert NEW_STATEMENT not in page and NEW_RUBRIC_LOW not in page


def open_the_next_quarter_as_an_admin(client, cast, period) -> AssessmentPeriod:
    """Close the open period, create the next quarter, bring its dates to today, open it."""
    client.force_login(cast.admin)
    assert client.post(f"/admin/assessments/assessmentperiod/{period.pk}/close/").status_code == 302
    assert client.post("/admin/assessments/assessmentperiod/next/").status_code == 302
    following = AssessmentPeriod.objects.get(status="planned")
    today = timezone.localdate()
    response = change(
        client, f"/admin/assessments/assessmentperiod/{following.pk}/change/",
        opens_on=str(today), closes_on=str(today + datetime.timedelta(days=30)),
    )
    assert response.status_code == 302, errors(response)
    assert client.post(f"/admin/assessments/assessmentperiod/{following.pk}/open/").status_code == 302
    following.refresh_from_db()
    assert following.status == "open"
    return following


def test_a_period_opened_later_asks_the_new_wording_and_scores_with_the_new_weights(client, cast, period, before):
    _current, _past, recorded = before
    following = open_the_next_quarter_as_an_admin(client, cast, period)
    frozen = {row[0]: row for row in questionnaire_rows(following)}
    assert "AK-2" not in frozen
    assert frozen["AK-1"][1:5] == (NEW_STATEMENT, NEW_RUBRIC_LOW, NEW_RUBRIC_HIGH, 3)
    assert frozen["AK-1"][6] == 2 and frozen["NT-1"][6] == 1

    client.force_login(cast.colleague.user)
    page = client.get(f"/penilaian/{following.code}/isi/").content.decode()
    assert escape(NEW_STATEMENT) in page and escape(NEW_RUBRIC_LOW) in page and escape(NEW_RUBRIC_HIGH) in page
    assert escape(recorded["statement"]) not in page and escape(recorded["ak2"]) not in page

    later = submit(cast.colleague, following)
    index, grade, pillars = stored(later)
    assert dict(pillars)["AK"] == pytest.approx(50.0)
    assert index == pytest.approx((2 * 50 + 5 * 75) / 7)
    assert grade == "butuh_perbaikan"
    # ... while the assessment made before the edits keeps its 65.83.
    assert stored(_current) == recorded["current"]


def test_indicator_and_pillar_pages_list_which_periods_use_which_version(client, cast, period, previous_period, before):
    _current, _past, recorded = before
    following = open_the_next_quarter_as_an_admin(client, cast, period)
    client.force_login(cast.admin)

    page = client.get(f"/admin/assessments/indicator/{Indicator.objects.get(code='AK-1').pk}/change/").content.decode()
    versions = page[page.lower().index("versi yang dipakai periode") :]
    rows = [row.split("</tr>")[0] for row in versions.split("<tr")[2:]]  # after the header row: one per period
    by_period = {str(p): next(row for row in rows if str(p) in row) for p in (previous_period, period, following)}
    assert escape(recorded["statement"]) in by_period[str(previous_period)] and "1,00" in by_period[str(previous_period)]
    assert escape(recorded["statement"]) in by_period[str(period)] and "1,00" in by_period[str(period)]
    assert escape(NEW_STATEMENT) in by_period[str(following)] and "3,00" in by_period[str(following)]

    page = client.get(f"/admin/assessments/pillar/{Pillar.objects.get(code='AK').pk}/change/").content.decode()
    versions = page[page.lower().index("versi yang dipakai periode") :]
    rows = [row.split("</tr>")[0] for row in versions.split("<tr")[2:]]
    weights = {str(p): next(row for row in rows if str(p) in row) for p in (previous_period, period, following)}
    assert "1,00" in weights[str(previous_period)] and "1,00" in weights[str(period)]
    assert "2,00" in weights[str(following)]


def test_every_level_has_a_rubric_and_the_help_text_shows_under_the_statement(client, cast):
    indicator = Indicator.objects.get(code="AK-1")
    Indicator.objects.filter(pk=indicator.pk).update(
        rubric_3="Kadang menolak, kadang tidak melapor.", guidance="Contoh bukti dukung: tanda terima laporan gratifikasi ke UPG."
    )
    today = timezone.localdate()
    period = create_period(2031, 1, opens_on=today, closes_on=today + datetime.timedelta(days=9))
    frozen = PeriodIndicator.objects.get(pillar__period=period, indicator=indicator)
    assert (frozen.rubric_3, frozen.guidance) == ("Kadang menolak, kadang tidak melapor.", "Contoh bukti dukung: tanda terima laporan gratifikasi ke UPG.")
    assert [level for level, _text in frozen.rubric()] == [1, 2, 3, 4, 5]
    assert frozen.rubric()[1] == (2, "jarang") and frozen.rubric()[2] == (3, "Kadang menolak, kadang tidak melapor.")
    client.force_login(cast.staff.user)
    page = client.get(f"/penilaian/{period.code}/isi/").content.decode()
    box = page[page.index(f'id="indikator-{frozen.pk}"') :].split("</fieldset>")[0]
    assert '<p class="guidance small mb-2">Contoh bukti dukung: tanda terima laporan gratifikasi ke UPG.</p>' in box
    assert box.count("<dt>") == 5 and "<dt>3</dt><dd class=\"mb-1\">Kadang menolak, kadang tidak melapor.</dd>" in box
    # Edited later, the open period keeps its words.
    Indicator.objects.filter(pk=indicator.pk).update(guidance="Baru")
    assert "Baru</p>" not in client.get(f"/penilaian/{period.code}/isi/").content.decode()


def test_saving_an_indicator_says_when_the_change_applies(client, cast):
    client.force_login(cast.admin)
    indicator = Indicator.objects.get(code="AK-2")
    response = change(client, f"/admin/assessments/indicator/{indicator.pk}/change/", rubric_4="Hampir selalu dengan bukti lengkap.")
    assert response.status_code == 302, errors(response)
    shown = client.get(response["Location"]).content.decode()
    assert "Perubahan ini berlaku mulai periode berikutnya yang dibuka" in shown
    assert Indicator.objects.get(pk=indicator.pk).rubric_4 == "Hampir selalu dengan bukti lengkap."

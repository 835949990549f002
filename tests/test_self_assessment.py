"""Staff: my assessments, the questionnaire, drafts, submission and its confirmation."""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone

from assessments import periods, services
from assessments.models import (
    AssessmentEvent,
    Indicator,
    Pillar,
    PillarScore,
    Rating,
    SelfAssessment,
    UnitPeriodSummary,
)

from .conftest import all_answers, create_period, form_data, past_assessment, submitted_assessment


def indicators(period):
    return [i for p in period.questionnaire() for i in p.indicators.all()]


@pytest.fixture
def staff_client(client, cast):
    client.force_login(cast.staff.user)
    return client


def url(period, step="isi"):
    return f"/penilaian/{period.code}/{step}/"


# --- My assessments -------------------------------------------------------------------------


def test_my_assessments_shows_the_open_period_and_a_call_to_action(staff_client, period):
    page = staff_client.get("/penilaian/").content.decode()
    assert str(period) in page
    assert "Belum mulai" in page
    assert f'href="{url(period)}"' in page
    assert f"{period.days_left()} hari" in page


def test_my_assessments_shows_draft_progress(staff_client, cast, period):
    answers = dict(list(all_answers(period).items())[:5])
    services.assessment_save_draft(employee=cast.staff, period=period, answers=answers, version=0, actor=cast.staff.user)
    page = staff_client.get("/penilaian/").content.decode()
    assert f"5 dari {len(indicators(period))} terjawab" in page
    assert "Lanjutkan" in page


def test_my_assessments_shows_a_returned_note(staff_client, cast, period):
    submitted_assessment(cast.staff, period, score=3)
    assessment = SelfAssessment.objects.get(employee=cast.staff, period=period)
    services.assessment_return(assessment=assessment, reviewer=cast.supervisor.user, note="Lengkapi bukti AK-1")
    page = staff_client.get("/penilaian/").content.decode()
    assert "Dikembalikan" in page
    assert "Lengkapi bukti AK-1" in page
    assert "Perbaiki dan kirim kembali" in page


def test_my_assessments_lists_history_with_index_and_grade(staff_client, cast, period):
    assessment = submitted_assessment(cast.staff, period, score=4)
    services.assessment_approve(assessment=assessment, reviewer=cast.supervisor.user)
    page = staff_client.get("/penilaian/").content.decode()
    assert "Disetujui" in page
    assert "Lihat hasil saya" in page


def test_my_assessments_shows_my_index_over_the_periods_as_a_chart_and_as_text(staff_client, cast, previous_period):
    older = create_period(previous_period.year, 3, status="closed")
    today = timezone.localdate()
    period = create_period(today.year + 1, 1, opens_on=today, closes_on=today + datetime.timedelta(days=9))
    past_assessment(cast.staff, older, score=3)
    past_assessment(cast.staff, previous_period, score=5, state="returned")
    submitted_assessment(cast.staff, period, score=4)
    page = staff_client.get("/penilaian/").content.decode()
    assert f'<span data-testid="my-trend">{older} <strong>50,0</strong> · {period} <strong>75,0</strong></span>' in page
    assert '"scores": [50.0, 75.0]' in page and 'src="/static/js/charts.js"' in page
    # The returned one reads as returned in the history, with no score.
    row = page[page.index(f"<td class=\"stack-title\">{previous_period}") :].split("</tr>")[0]
    assert "Dikembalikan" in row and "tidak dihitung: dikembalikan" in row and "100,0" not in row


def test_my_assessments_has_no_chart_with_fewer_than_two_counted_periods(staff_client, cast, period):
    submitted_assessment(cast.staff, period, score=4)
    page = staff_client.get("/penilaian/").content.decode()
    assert "my-trend" not in page and "chart.umd.min.js" not in page


def test_my_assessments_is_for_staff_only(client, cast, period):
    client.force_login(cast.admin)
    assert client.get("/penilaian/").status_code == 404


# --- The form -------------------------------------------------------------------------------


def test_the_form_shows_every_indicator_with_its_rubric(staff_client, period):
    response = staff_client.get(url(period))
    page = response.content.decode()
    assert response.status_code == 200
    for pillar in period.questionnaire():
        assert pillar.name in page
        for indicator in pillar.indicators.all():
            assert indicator.statement in page
            assert indicator.rubric_low in page
            for score in range(1, 6):
                assert f'name="rating_{indicator.pk}" value="{score}"' in page
    assert f"0</span>/{len(indicators(period))}" in page
    assert 'enctype="multipart/form-data"' in page


def form_queries(client, employee, period, django_assert_max_num_queries):
    services.assessment_save_draft(employee=employee, period=period, answers=all_answers(period, 3), version=0, actor=employee.user)
    client.get(url(period))  # warm the session
    with django_assert_max_num_queries(50) as captured:
        page = client.get(url(period)).content.decode()
    assert page.count('value="5" class="btn-check"') == len(indicators(period))
    return len(captured)


def test_the_form_page_uses_a_constant_number_of_queries(client, cast, django_assert_max_num_queries):
    client.force_login(cast.staff.user)
    today = timezone.localdate()
    around_today = {"opens_on": today - datetime.timedelta(days=1), "closes_on": today + datetime.timedelta(days=9)}
    small = create_period(2030, 1, **around_today)
    queries = form_queries(client, cast.staff, small, django_assert_max_num_queries)
    periods.period_close(period=small)
    pillar = Pillar.objects.get(code="AK")
    Indicator.objects.bulk_create(
        Indicator(pillar=pillar, code=f"AK-X{n}", statement=f"Pernyataan tambahan {n}", order=10 + n) for n in range(30)
    )
    large = create_period(2030, 2, **around_today)
    assert len(indicators(large)) == len(indicators(small)) + 30
    assert form_queries(client, cast.staff, large, django_assert_max_num_queries) == queries
    # session, user, employee, period, assessment, the privacy notice read, ratings; the period's
    # frozen questionnaire is the process's after the first page (models.QUESTIONNAIRES)
    assert queries == 7


def test_saving_a_draft_keeps_any_subset_of_answers(staff_client, cast, period):
    items = indicators(period)
    data = {"version": "0", "action": "save", f"rating_{items[0].pk}": "2", f"note_{items[1].pk}": "belum yakin"}
    response = staff_client.post(url(period), data)
    assert response.status_code == 302 and response["Location"] == url(period)
    assessment = SelfAssessment.objects.get(employee=cast.staff, period=period)
    assert assessment.state == "draft" and assessment.version == 1
    stored = {r.indicator_id: (r.score, r.note) for r in assessment.ratings.all()}
    assert stored == {items[0].pk: (2, ""), items[1].pk: (None, "belum yakin")}
    page = staff_client.get(url(period)).content.decode()
    assert "Draf tersimpan" in page
    assert f'value="2" class="btn-check" id="id_rating_{items[0].pk}_1" checked' in page
    assert "belum yakin" in page


def test_a_draft_answer_can_be_changed_and_cleared(staff_client, cast, period):
    items = indicators(period)
    staff_client.post(url(period), {"version": "0", "action": "save", f"rating_{items[0].pk}": "2"})
    staff_client.post(url(period), {"version": "1", "action": "save", f"rating_{items[1].pk}": "5"})
    assessment = SelfAssessment.objects.get(employee=cast.staff, period=period)
    assert dict(assessment.ratings.values_list("indicator_id", "score")) == {items[1].pk: 5}
    assert assessment.version == 2


def test_autosave_answers_json_with_the_new_version(staff_client, cast, period):
    items = indicators(period)
    response = staff_client.post(f"/penilaian/{period.code}/simpan-otomatis/", {"version": "0", f"rating_{items[0].pk}": "4"})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["version"] == 1 and body["answered"] == 1 and body["total"] == len(items)
    assert Rating.objects.get(assessment__employee=cast.staff).score == 4


# --- Submitting -------------------------------------------------------------------------------


def test_submit_goes_through_a_confirmation_with_the_summary(staff_client, cast, period):
    response = staff_client.post(url(period), form_data(period, score=4, action="submit"))
    assert response.status_code == 302 and response["Location"] == url(period, "kirim")
    assessment = SelfAssessment.objects.get(employee=cast.staff, period=period)
    assert assessment.state == "draft"  # not yet: the person confirms first
    page = staff_client.get(url(period, "kirim")).content.decode()
    assert "75,0" in page  # all fours
    assert "Baik" in page
    response = staff_client.post(url(period, "kirim"), {"version": str(assessment.version)})
    assert response.status_code == 302 and response["Location"] == f"/hasil/{assessment.pk}/"
    assessment.refresh_from_db()
    assert assessment.state == "submitted"
    assert assessment.index_score == 75.0 and assessment.grade == "baik"
    assert assessment.submitted_at is not None
    assert PillarScore.objects.filter(assessment=assessment).count() == len(period.questionnaire())
    assert list(AssessmentEvent.objects.filter(assessment=assessment).values_list("from_state", "to_state")) == [
        ("", "draft"),
        ("draft", "submitted"),
    ]
    summary = UnitPeriodSummary.objects.get(unit=cast.staff.unit, period=period)
    assert (summary.counted, summary.index_sum, summary.count_baik) == (1, 75.0, 1)


def test_submitting_notifies_the_nearest_supervisor(staff_client, cast, period, django_capture_on_commit_callbacks):
    staff_client.post(url(period), form_data(period, score=4, action="submit"))
    assessment = SelfAssessment.objects.get(employee=cast.staff, period=period)
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url(period, "kirim"), {"version": str(assessment.version)})
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [cast.supervisor.user.email]
    assert cast.staff.full_name in mail.outbox[0].subject
    assert f"/tinjau/{assessment.pk}/" in mail.outbox[0].body


def test_after_submit_the_assessment_is_read_only(staff_client, cast, period):
    assessment = submitted_assessment(cast.staff, period)
    response = staff_client.get(url(period))
    assert response.status_code == 302 and response["Location"] == f"/hasil/{assessment.pk}/"
    response = staff_client.post(url(period), form_data(period, score=1, version=assessment.version))
    assert response.status_code == 302
    assert set(Rating.objects.filter(assessment=assessment).values_list("score", flat=True)) == {4}


def test_a_complete_submit_saves_and_goes_to_the_confirmation_in_a_constant_number_of_queries(
    staff_client, cast, period, django_assert_num_queries
):
    staff_client.get(url(period))  # warm the session
    # session, user, employee, period, assessment; the save that makes the draft (11, with the
    # test's savepoints: the draft made and locked, its ratings read and written, the version,
    # the log); the moment the form was opened; the completeness check (the ratings, once);
    # the session written (3). The form is built once: the second one, which marks what is
    # missing, only when something is.
    with django_assert_num_queries(21):
        response = staff_client.post(url(period), form_data(period, score=4, action="submit"))
    assert response.status_code == 302 and response["Location"] == url(period, "kirim")


def test_submit_needs_every_answer_and_keeps_the_draft(staff_client, cast, period):
    data = form_data(period, score=4, action="submit")
    missing = indicators(period)[3]
    del data[f"rating_{missing.pk}"]
    response = staff_client.post(url(period), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Pilih nilai 1 sampai 5." in page
    assert "Draf Anda tersimpan" in page
    assessment = SelfAssessment.objects.get(employee=cast.staff, period=period)
    assert assessment.state == "draft"
    assert assessment.ratings.exclude(score=None).count() == len(indicators(period)) - 1
    # The confirmation page refuses too.
    response = staff_client.get(url(period, "kirim"))
    assert response.status_code == 302 and response["Location"] == url(period)


def test_a_refused_submit_says_how_many_and_which_with_links_and_progress_per_pillar(staff_client, cast, period):
    data = form_data(period, score=4, action="submit")
    questionnaire = period.questionnaire()
    first, second = questionnaire[0], questionnaire[1]
    gone = [*first.indicators.all()[1:3], *second.indicators.all()[:1]]
    for indicator in gone:
        del data[f"rating_{indicator.pk}"]
    page = staff_client.post(url(period), data).content.decode()
    summary = page[page.index('id="belum-lengkap"') : page.index("</section>", page.index('id="belum-lengkap"'))]
    assert "3 belum dijawab" in summary
    links = [f'href="#indikator-{i.pk}"' for i in gone]
    assert all(link in summary for link in links) and summary.index(links[0]) < summary.index(links[2])
    assert f'<a href="#indikator-{gone[0].pk}" autofocus>{first.name} 2</a>: belum diberi nilai' in summary
    assert f"{second.name} 1</a>" in summary
    for indicator in gone:  # each link jumps to its question
        assert f'id="indikator-{indicator.pk}"' in page
    total = len(first.indicators.all())
    assert f"<span data-pillar-answered>{total - 2}</span>/{total} terjawab" in page


def test_a_note_is_required_for_a_1_or_a_5_where_the_indicator_says_so(staff_client, cast, period):
    strict = next(i for i in indicators(period) if i.note_required_at_extremes)
    data = form_data(period, score=4, action="submit", note="")
    data[f"rating_{strict.pk}"] = "5"
    response = staff_client.post(url(period), data)
    assert response.status_code == 400
    assert "Jelaskan nilai 5 dalam catatan." in response.content.decode()
    assert "1 catatan belum diisi" in response.content.decode() and "belum dijawab" not in response.content.decode()
    data[f"note_{strict.pk}"] = "Laporan UPG terlampir"
    response = staff_client.post(url(period), _with(data, version="1"))
    assert response.status_code == 302 and response["Location"] == url(period, "kirim")


def _with(data, **changes):
    return {**data, **changes}


def test_a_returned_assessment_is_editable_again_with_the_note_on_top(staff_client, cast, period):
    assessment = submitted_assessment(cast.staff, period, score=2)
    services.assessment_return(assessment=assessment, reviewer=cast.supervisor.user, note="Mohon tinjau ulang disiplin")
    assessment.refresh_from_db()
    page = staff_client.get(url(period)).content.decode()
    assert "Dikembalikan oleh atasan Anda" in page
    assert "Mohon tinjau ulang disiplin" in page
    staff_client.post(url(period), form_data(period, score=3, version=assessment.version, action="submit"))
    assessment.refresh_from_db()
    staff_client.post(url(period, "kirim"), {"version": str(assessment.version)})
    assessment.refresh_from_db()
    assert assessment.state == "submitted" and assessment.index_score == 50.0
    summary = UnitPeriodSummary.objects.get(unit=cast.staff.unit, period=period)
    assert (summary.counted, summary.index_sum) == (1, 50.0)  # the returned score left the roll-up
    assert [e.to_state for e in assessment.events.all()] == ["draft", "submitted", "returned", "submitted"]


# --- Closed periods ---------------------------------------------------------------------------


def test_after_the_closing_date_the_form_explains_instead_of_failing(staff_client, cast, period):
    services.assessment_save_draft(employee=cast.staff, period=period, answers=all_answers(period, 3), version=0, actor=cast.staff.user)
    period.closes_on = timezone.localdate() - datetime.timedelta(days=1)
    period.save()
    response = staff_client.get(url(period))
    page = response.content.decode()
    assert response.status_code == 200
    assert "sudah ditutup" in page
    assert "Simpan draf" not in page
    assert "disabled" in page
    response = staff_client.post(url(period), form_data(period, score=5, version=1))
    assert response.status_code == 409
    assert set(Rating.objects.filter(assessment__employee=cast.staff).values_list("score", flat=True)) == {3}
    assessment = SelfAssessment.objects.get(employee=cast.staff)
    with pytest.raises(services.ServiceError):
        services.assessment_submit(assessment=assessment, version=assessment.version, actor=cast.staff.user)
    assert SelfAssessment.objects.get(employee=cast.staff).state == "draft"


def test_a_period_closed_by_the_admin_takes_no_entries(staff_client, cast, period):
    periods.period_close(period=period)
    response = staff_client.post(url(period), form_data(period, score=5))
    assert response.status_code == 409
    assert not SelfAssessment.objects.filter(employee=cast.staff).exists()


def test_a_returned_assessment_after_the_closing_date_can_be_fixed_until_its_deadline(staff_client, cast, period):
    assessment = submitted_assessment(cast.staff, period, score=2)
    period.closes_on = timezone.localdate() - datetime.timedelta(days=1)  # past its dates, not yet closed
    period.save()
    services.assessment_return(assessment=assessment, reviewer=cast.supervisor.user, note="Perbaiki")
    assessment.refresh_from_db()
    assert assessment.return_deadline == timezone.localdate() + datetime.timedelta(days=services.RETURN_GRACE_DAYS)
    response = staff_client.post(url(period), form_data(period, score=4, version=assessment.version, action="submit"))
    assert response.status_code == 302
    assessment.refresh_from_db()
    staff_client.post(url(period, "kirim"), {"version": str(assessment.version)})
    assert SelfAssessment.objects.get(pk=assessment.pk).state == "submitted"


def test_once_the_admin_closes_the_period_its_assessments_are_final(staff_client, cast, period):
    assessment = submitted_assessment(cast.staff, period, score=2)
    periods.period_close(period=period)
    with pytest.raises(services.ServiceError) as refused:
        services.assessment_return(assessment=assessment, reviewer=cast.supervisor.user, note="Perbaiki")
    assert refused.value.code == "period_closed"
    assert SelfAssessment.objects.get(pk=assessment.pk).state == "submitted"


def test_each_language_gets_the_indicators_in_its_own_words_one_after_the_other(staff_client, period):
    """The statement, guidance and rubric of an indicator are rendered once per language and kept
    (forms.IndicatorBlock.head): a page in English after one in Indonesian, in the same process,
    shows the English words, and the Indonesian page again its own."""
    first = indicators(period)[0]
    assert first.statement_en and first.statement_en != first.statement
    pages = {}
    for language in ("id", "en", "id"):
        staff_client.cookies["django_language"] = language
        pages.setdefault(language, []).append(staff_client.get(url(period)).content.decode())
    assert all(first.statement in page and first.statement_en not in page for page in pages["id"])
    assert first.statement_en in pages["en"][0] and first.statement not in pages["en"][0]
    without_token = [re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", page) for page in pages["id"]]
    assert without_token[0] == without_token[1]

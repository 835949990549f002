"""Periods in the admin: create the next quarter, open it (freezing the questionnaire), close
it, extend it; and bad input in the period and framework forms changes nothing."""

import datetime
import re

import pytest
from django.utils import timezone

from assessments import services
from assessments.models import AssessmentPeriod, Indicator, PeriodIndicator, PeriodPillar, Pillar

from .adminforms import change, errors, form_data
from .conftest import all_answers, create_period, submitted_assessment

PERIODS = "/admin/assessments/assessmentperiod/"


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast.admin)
    return client


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


def frozen(period) -> tuple[int, int]:
    return PeriodPillar.objects.filter(period=period).count(), PeriodIndicator.objects.filter(pillar__period=period).count()


# --- Create the next quarter --------------------------------------------------------------------


def test_the_changelist_offers_the_next_quarter_button(admin_client, period):
    page = admin_client.get(PERIODS).content.decode()
    assert f'action="{PERIODS}next/"' in page and "Buat triwulan berikutnya" in page


def test_the_next_quarter_follows_the_latest_with_its_calendar_dates(admin_client, period):
    year = period.year
    expected = [
        (year, 2, datetime.date(year, 4, 1), datetime.date(year, 6, 30)),
        (year, 3, datetime.date(year, 7, 1), datetime.date(year, 9, 30)),
        (year, 4, datetime.date(year, 10, 1), datetime.date(year, 12, 31)),
        (year + 1, 1, datetime.date(year + 1, 1, 1), datetime.date(year + 1, 3, 31)),
    ]
    for quarter in expected:
        response = admin_client.post(f"{PERIODS}next/", follow=True)
        created = AssessmentPeriod.objects.order_by("-year", "-quarter").first()
        assert (created.year, created.quarter, created.opens_on, created.closes_on) == quarter
        assert created.status == "planned" and frozen(created) == (0, 0)
        assert response.redirect_chain[-1][0] == f"{PERIODS}{created.pk}/change/"
        assert f"{created} dibuat" in messages_of(response) and "Periksa tanggalnya, lalu buka periode." in messages_of(response)
    assert AssessmentPeriod.objects.count() == 6


def test_without_any_period_the_next_quarter_is_the_current_one(admin_client, cast, monkeypatch):
    monkeypatch.setattr(timezone, "localdate", lambda *args: datetime.date(2031, 8, 15))
    admin_client.post(f"{PERIODS}next/")
    created = AssessmentPeriod.objects.get()
    assert (created.year, created.quarter, created.opens_on, created.closes_on) == (
        2031, 3, datetime.date(2031, 7, 1), datetime.date(2031, 9, 30)
    )


def test_a_get_of_the_next_quarter_button_creates_nothing(admin_client, period):
    count = AssessmentPeriod.objects.count()
    response = admin_client.get(f"{PERIODS}next/")
    assert response.status_code == 302 and response["Location"] == PERIODS
    assert AssessmentPeriod.objects.count() == count


# --- Opening ----------------------------------------------------------------------------------


@pytest.fixture
def planned(cast, previous_period):
    """A planned quarter after the closed one, with no other period open."""
    today = timezone.localdate()
    return create_period(today.year + 1, 1, status="planned", opens_on=today, closes_on=today + datetime.timedelta(days=30))


def test_opening_asks_for_confirmation_then_freezes_the_questionnaire(admin_client, planned):
    page = admin_client.get(f"{PERIODS}{planned.pk}/change/").content.decode()
    assert f'href="{PERIODS}{planned.pk}/open/"' in page and "Buka periode ini…" in page
    response = admin_client.get(f"{PERIODS}{planned.pk}/open/")
    page = response.content.decode()
    assert f"Buka {planned}" in page
    assert "Anti-Korupsi: 5 indikator" in page and "Pegawai mengisi dari" in page
    assert 'value="Ya, buka periode"' in page
    planned.refresh_from_db()
    assert planned.status == "planned" and frozen(planned) == (0, 0)

    response = admin_client.post(f"{PERIODS}{planned.pk}/open/", follow=True)
    assert response.redirect_chain[-1][0] == f"{PERIODS}{planned.pk}/change/"
    assert f"{planned} dibuka; kuesionernya kini tetap." in messages_of(response)
    planned.refresh_from_db()
    assert planned.status == "open" and planned.opened_at is not None
    active = Indicator.objects.filter(is_active=True, pillar__is_active=True)
    assert frozen(planned) == (Pillar.objects.filter(is_active=True).count(), active.count())
    snapshot = PeriodIndicator.objects.get(pillar__period=planned, indicator__code="AK-1")
    source = Indicator.objects.get(code="AK-1")
    assert (snapshot.statement, snapshot.rubric_low, snapshot.weight) == (source.statement, source.rubric_low, source.weight)
    # The change page shows the frozen questionnaire and offers closing, no longer opening.
    page = response.content.decode()
    assert "Tutup periode ini…" in page and "Buka periode ini…" not in page
    assert "Anti-Korupsi" in page


def test_opening_is_refused_while_another_period_is_open(admin_client, period):
    planned = create_period(period.year, 2, status="planned")
    page = admin_client.get(f"{PERIODS}{planned.pk}/open/").content.decode()
    assert f"{period} masih dibuka. Tutup dulu sebelum membuka periode lain." in page
    assert "Ya, buka periode" not in page
    response = admin_client.post(f"{PERIODS}{planned.pk}/open/", follow=True)
    assert f"{period} masih dibuka. Tutup dulu sebelum membuka periode lain." in messages_of(response)
    planned.refresh_from_db()
    assert planned.status == "planned" and frozen(planned) == (0, 0)
    assert AssessmentPeriod.objects.get(status="open") == period


def test_opening_is_refused_when_an_active_pillar_has_no_active_indicator(admin_client, planned):
    Indicator.objects.filter(pillar__code="AK").update(is_active=False)
    page = admin_client.get("/admin/assessments/pillar/").content.decode()
    assert "tidak ada: periode tidak dapat dibuka" in page
    page = admin_client.get(f"{PERIODS}{planned.pk}/open/").content.decode()
    assert "Pilar aktif berikut tidak memiliki indikator aktif; tambahkan atau aktifkan indikator, atau nonaktifkan pilarnya: Anti-Korupsi" in page
    assert "Ya, buka periode" not in page
    response = admin_client.post(f"{PERIODS}{planned.pk}/open/", follow=True)
    assert "Pilar aktif berikut tidak memiliki indikator aktif: Anti-Korupsi." in messages_of(response)
    planned.refresh_from_db()
    assert planned.status == "planned" and frozen(planned) == (0, 0)
    # Retiring the empty pillar lets the period open, without it.
    Pillar.objects.filter(code="AK").update(is_active=False)
    admin_client.post(f"{PERIODS}{planned.pk}/open/")
    planned.refresh_from_db()
    assert planned.status == "open"
    assert not PeriodPillar.objects.filter(period=planned, pillar__code="AK").exists()


def test_an_open_or_closed_period_is_not_opened_again(admin_client, period, previous_period):
    for already in (period, previous_period):
        before = frozen(already)
        response = admin_client.post(f"{PERIODS}{already.pk}/open/", follow=True)
        assert "Hanya periode berstatus direncanakan yang dapat dibuka." in messages_of(response)
        assert AssessmentPeriod.objects.get(pk=already.pk).status == already.status
        assert frozen(already) == before


# --- Closing ----------------------------------------------------------------------------------


def test_closing_asks_for_confirmation_with_the_drafts_and_returned_left(admin_client, cast, period):
    submitted_assessment(cast.other, period, 4)
    returned = submitted_assessment(cast.staff, period, 4)
    services.assessment_return(assessment=returned, reviewer=cast.supervisor.user, note="perbaiki")
    services.assessment_save_draft(employee=cast.colleague, period=period, answers=all_answers(period), version=0, actor=cast.colleague.user)

    page = admin_client.get(f"{PERIODS}{period.pk}/change/").content.decode()
    assert f'href="{PERIODS}{period.pk}/close/"' in page and "Tutup periode ini…" in page
    page = admin_client.get(f"{PERIODS}{period.pk}/close/").content.decode()
    assert f"Tutup {period}" in page
    assert "2 penilaian masih berupa draf atau dikembalikan dan tidak akan dihitung setelah periode ditutup." in page
    assert 'value="Ya, tutup periode"' in page
    assert AssessmentPeriod.objects.get(pk=period.pk).status == "open"

    response = admin_client.post(f"{PERIODS}{period.pk}/close/", follow=True)
    assert f"{period} ditutup." in messages_of(response)
    period.refresh_from_db()
    assert period.status == "closed" and period.closed_at is not None
    assert not period.accepts_entries()
    with pytest.raises(services.ServiceError):
        services.assessment_save_draft(employee=cast.colleague, period=period, answers=all_answers(period), version=1, actor=cast.colleague.user)


def test_closing_with_nothing_left_says_nothing_about_drafts(admin_client, cast, period):
    submitted_assessment(cast.staff, period, 4)
    page = admin_client.get(f"{PERIODS}{period.pk}/close/").content.decode()
    assert "masih berupa draf" not in page and 'value="Ya, tutup periode"' in page


def test_a_planned_or_closed_period_is_not_closed(admin_client, period, previous_period):
    planned = create_period(period.year, 2, status="planned")
    for other in (planned, previous_period):
        response = admin_client.post(f"{PERIODS}{other.pk}/close/", follow=True)
        assert "Hanya periode yang sedang dibuka yang dapat ditutup." in messages_of(response)
        assert AssessmentPeriod.objects.get(pk=other.pk).status == other.status


# --- Extending and editing dates -----------------------------------------------------------------


def test_the_closing_date_of_an_open_period_can_be_extended_and_nothing_else(admin_client, period):
    url = f"{PERIODS}{period.pk}/change/"
    response = admin_client.get(url)
    form = response.context["adminform"].form
    assert list(form.fields) == ["closes_on"]
    page = response.content.decode()
    assert str(period.year) in page and 'name="year"' not in page and 'name="opens_on"' not in page

    later = period.closes_on + datetime.timedelta(days=14)
    data = form_data(response) | {"closes_on": str(later), "year": "2099", "quarter": "4", "opens_on": "2099-10-01"}
    response = admin_client.post(url, data)
    assert response.status_code == 302, errors(response)
    after = AssessmentPeriod.objects.get(pk=period.pk)
    assert after.closes_on == later
    assert (after.year, after.quarter, after.opens_on, after.status) == (period.year, period.quarter, period.opens_on, "open")


def test_a_closed_period_has_no_editable_date_and_cannot_be_deleted(admin_client, previous_period):
    response = admin_client.get(f"{PERIODS}{previous_period.pk}/change/")
    assert list(response.context["adminform"].form.fields) == []
    assert f"{PERIODS}{previous_period.pk}/delete/" not in response.content.decode()
    assert admin_client.post(f"{PERIODS}{previous_period.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AssessmentPeriod.objects.filter(pk=previous_period.pk).exists()


def test_a_planned_period_can_have_its_dates_changed(admin_client, period):
    planned = create_period(period.year, 2, status="planned")
    response = change(admin_client, f"{PERIODS}{planned.pk}/change/", opens_on=f"{period.year}-04-07", closes_on=f"{period.year}-05-07")
    assert response.status_code == 302, errors(response)
    planned.refresh_from_db()
    assert (planned.opens_on, planned.closes_on) == (datetime.date(period.year, 4, 7), datetime.date(period.year, 5, 7))


def test_an_old_version_of_a_period_is_shown_but_never_restored(admin_client, period):
    planned_version = period.history.order_by("history_id").first()
    assert planned_version.status == "planned"
    url = f"{PERIODS}{period.pk}/history/{planned_version.history_id}/"
    assert admin_client.get(url).status_code == 200
    data = {"year": period.year, "quarter": period.quarter, "opens_on": str(period.opens_on), "closes_on": str(period.closes_on)}
    assert admin_client.post(url, data).status_code == 403
    after = AssessmentPeriod.objects.get(pk=period.pk)
    assert (after.status, after.opened_at) == ("open", period.opened_at)


# --- Bad input changes nothing ------------------------------------------------------------------


def framework_rows():
    return (
        list(Pillar.objects.order_by("pk").values_list()),
        list(Indicator.objects.order_by("pk").values_list()),
        Pillar.history.count(),
        Indicator.history.count(),
    )


def test_a_closing_date_before_the_opening_date_is_refused(admin_client, period):
    planned = create_period(period.year, 2, status="planned")
    message = "Tanggal tutup tidak boleh sebelum tanggal buka."
    cases = [
        (f"{PERIODS}{planned.pk}/change/", {"opens_on": f"{period.year}-04-10", "closes_on": f"{period.year}-04-09"}),
        (f"{PERIODS}{period.pk}/change/", {"closes_on": str(period.opens_on - datetime.timedelta(days=1))}),
        (f"{PERIODS}add/", {"year": str(period.year + 1), "quarter": "3", "opens_on": "2030-07-10", "closes_on": "2030-07-01"}),
    ]
    before = list(AssessmentPeriod.objects.order_by("pk").values_list())
    for url, changes in cases:
        response = change(admin_client, url, **changes)
        assert response.status_code == 200 and message in response.content.decode(), url
        assert message in [str(e) for error in errors(response) for e in error]
    assert list(AssessmentPeriod.objects.order_by("pk").values_list()) == before


@pytest.mark.parametrize("weight", ["0", "-1", "0.00"])
def test_a_zero_or_negative_weight_is_refused_on_a_pillar_and_on_an_indicator(admin_client, db, weight):
    pillar = Pillar.objects.get(code="AK")
    indicator = Indicator.objects.get(code="AK-1")
    before = framework_rows()
    data = form_data(admin_client.get(f"/admin/assessments/pillar/{pillar.pk}/change/"))
    position = next(k.split("-")[1] for k, v in data.items() if k.startswith("indicators-") and k.endswith("-id") and v == str(indicator.pk))
    cases = [
        (f"/admin/assessments/pillar/{pillar.pk}/change/", {"weight": weight}),
        (f"/admin/assessments/indicator/{indicator.pk}/change/", {"weight": weight}),
        (f"/admin/assessments/pillar/{pillar.pk}/change/", {f"indicators-{position}-weight": weight}),  # the inline
        ("/admin/assessments/pillar/add/", {"theme": str(pillar.theme_id), "code": "BARU", "name": "Baru", "weight": weight,
                                            "order": "9", "is_active": "on"}),
    ]
    for url, changes in cases:
        response = change(admin_client, url, **changes)
        assert response.status_code == 200, url
        assert "Bobot harus lebih besar dari 0." in response.content.decode(), url
        assert errors(response), url
    assert framework_rows() == before


def test_an_indicator_without_a_statement_is_refused(admin_client, db):
    pillar = Pillar.objects.get(code="AK")
    indicator = Indicator.objects.get(code="AK-1")
    before = framework_rows()
    data = form_data(admin_client.get(f"/admin/assessments/pillar/{pillar.pk}/change/"))
    position = next(k.split("-")[1] for k, v in data.items() if k.startswith("indicators-") and k.endswith("-id") and v == str(indicator.pk))
    cases = [
        (f"/admin/assessments/indicator/{indicator.pk}/change/", {"statement": ""}),
        (f"/admin/assessments/indicator/{indicator.pk}/change/", {"statement": "   "}),
        (f"/admin/assessments/pillar/{pillar.pk}/change/", {f"indicators-{position}-statement": ""}),
        ("/admin/assessments/indicator/add/", {"pillar": str(pillar.pk), "code": "AK-9", "statement": "", "weight": "1", "order": "9"}),
    ]
    for url, changes in cases:
        response = change(admin_client, url, **changes)
        assert response.status_code == 200, url
        assert "Bidang ini tidak boleh kosong." in response.content.decode(), url
    assert framework_rows() == before
    assert not Indicator.objects.filter(code="AK-9").exists()


def test_the_periods_list_shows_which_framework_version_each_period_froze(admin_client, cast):
    first = create_period(2030, 1, status="closed")
    same = create_period(2030, 2, status="closed")
    Indicator.objects.filter(code="AK-1").update(statement="Kata-kata baru untuk AK-1.")
    reworded = create_period(2030, 3, status="closed")
    planned = create_period(2030, 4, status="planned")
    page = admin_client.get(PERIODS).content.decode()
    column = dict(re.findall(r'<a href="/admin/assessments/assessmentperiod/(\d+)/change/">.*?</a>.*?<td class="field-framework_version">([^<]*)</td>', page, re.S))
    assert column == {str(first.pk): "versi 1", str(same.pk): "versi 1", str(reworded.pk): "versi 2", str(planned.pk): "belum dibuka"}

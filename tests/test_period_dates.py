"""A period's state (planned, open, closed) against today's date (before its opening date,
within its dates, after its closing date): what the admin may do and what staff are told.

The rule (docs/RULES.md): a planned period opens only while its closing date is still to come;
before its opening date only when the admin confirms it; staff of an open period that has not
started yet read "Dibuka mulai <date>" and cannot save before that day."""

import datetime

import pytest
from django.utils import timezone

from assessments import periods, services
from assessments.models import AssessmentPeriod, SelfAssessment

from .conftest import all_answers, create_period
from .test_periods_admin import PERIODS, messages_of

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)
DATES = {
    "before": {"opens_on": TODAY + 10 * DAY, "closes_on": TODAY + 40 * DAY},
    "within": {"opens_on": TODAY - 10 * DAY, "closes_on": TODAY + 20 * DAY},
    "after": {"opens_on": TODAY - 40 * DAY, "closes_on": TODAY - DAY},
}


def long_date(day: datetime.date) -> str:
    months = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November", "Desember"]
    return f"{day.day} {months[day.month - 1]} {day.year}"


def logged_in_admin(client, cast):
    client.force_login(cast.admin)
    return client


# --- The admin opens a planned period ------------------------------------------------------------


def test_opening_before_the_start_warns_and_opens_only_when_confirmed(client, cast):
    admin_client = logged_in_admin(client, cast)
    planned = create_period(2031, 1, status="planned", **DATES["before"])
    page = admin_client.get(f"{PERIODS}{planned.pk}/open/").content.decode()
    assert f"{planned} dimulai pada {long_date(planned.opens_on)}. Bila dibuka hari ini" in page
    assert 'name="opens_early" value="1"' in page and "Ya, buka sekarang, sebelum tanggal mulainya" in page
    assert page.count(f"<h1>Buka {planned}</h1>") == 1

    response = admin_client.post(f"{PERIODS}{planned.pk}/open/", follow=True)  # not confirmed
    assert f"{planned} dimulai pada {long_date(planned.opens_on)}. Konfirmasikan" in messages_of(response)
    assert AssessmentPeriod.objects.get(pk=planned.pk).status == "planned"

    admin_client.post(f"{PERIODS}{planned.pk}/open/", {"opens_early": "1"})
    assert AssessmentPeriod.objects.get(pk=planned.pk).status == "open"


def test_opening_within_its_dates_asks_nothing_more(client, cast):
    admin_client = logged_in_admin(client, cast)
    planned = create_period(2031, 1, status="planned", **DATES["within"])
    page = admin_client.get(f"{PERIODS}{planned.pk}/open/").content.decode()
    assert 'data-testid="opens-early"' not in page and 'value="Ya, buka periode"' in page
    admin_client.post(f"{PERIODS}{planned.pk}/open/")
    assert AssessmentPeriod.objects.get(pk=planned.pk).status == "open"


def test_a_period_whose_closing_date_has_passed_is_not_opened(client, cast):
    admin_client = logged_in_admin(client, cast)
    planned = create_period(2031, 1, status="planned", **DATES["after"])
    refusal = f"{planned} berakhir pada {long_date(planned.closes_on)}: majukan tanggal penutupannya"
    page = admin_client.get(f"{PERIODS}{planned.pk}/open/").content.decode()
    assert refusal in page and "Ya, buka" not in page
    response = admin_client.post(f"{PERIODS}{planned.pk}/open/", {"opens_early": "1"}, follow=True)
    assert refusal in messages_of(response)
    assert AssessmentPeriod.objects.get(pk=planned.pk).status == "planned"


def test_the_service_itself_refuses_an_early_opening_without_confirmation(cast):
    planned = create_period(2031, 1, status="planned", **DATES["before"])
    with pytest.raises(services.ServiceError) as refused:
        periods.period_open(period=planned)
    assert refused.value.code == "before_start"
    assert periods.period_open(period=planned, opens_early=True).status == "open"


# --- What staff see, for every state and date ---------------------------------------------------


@pytest.mark.parametrize("status", ["planned", "open", "closed"])
@pytest.mark.parametrize("when", ["before", "within", "after"])
def test_staff_are_told_the_truth_for_every_state_and_date(client, cast, status, when):
    period = create_period(2031, 1, status=status, **DATES[when])
    client.force_login(cast.staff.user)
    page = client.get("/penilaian/").content.decode()
    opens = f"Dibuka mulai {long_date(period.opens_on)}."
    closed = f"Periode ini ditutup pada {long_date(period.closes_on)}"
    start = "Mulai penilaian mandiri saya"
    if status != "open":  # a planned or closed period is not the current one
        assert "Saat ini tidak ada periode penilaian yang dibuka." in page
        assert opens not in page and closed not in page and start not in page
        return
    assert (opens in page) == (when == "before")
    assert (closed in page) == (when == "after")
    assert (start in page) == (when == "within")
    assert (f"Dibuka sampai {long_date(period.closes_on)}" in page) == (when == "within")


@pytest.mark.parametrize("when", ["before", "after"])
def test_staff_cannot_save_an_open_period_outside_its_dates_and_are_told_why(client, cast, when):
    period = create_period(2031, 1, **DATES[when])
    client.force_login(cast.staff.user)
    answers = {f"rating_{pk}": str(answer.score) for pk, answer in all_answers(period, 4).items()}
    page = client.get(f"/penilaian/{period.code}/isi/").content.decode()
    response = client.post(f"/penilaian/{period.code}/isi/", {"version": "0", "action": "save", **answers})
    reply = client.post(f"/penilaian/{period.code}/simpan-otomatis/", {"version": "0", **answers})
    why = (
        f"{period} dibuka mulai {long_date(period.opens_on)}: jawaban dapat disimpan mulai tanggal itu."
        if when == "before"
        else f"{period} sudah ditutup: jawaban tidak dapat disimpan atau dikirim lagi."
    )
    assert why in page and why in response.content.decode()
    assert reply.status_code == 409 and reply.json()["message"] == why
    assert not SelfAssessment.objects.filter(employee=cast.staff, period=period).exists()

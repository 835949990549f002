"""A head of unit sends "kirim pengingat" to the staff of the unit who have not started: one
e-mail each, at most once a day per unit, logged."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from assessments import reminders, services
from assessments.models import UnitReminder, WorkUnit

from .conftest import create_period, make_employee, submitted_assessment


@pytest.fixture
def supervisor(client, cast):
    client.force_login(cast.supervisor.user)
    return client


def test_it_reminds_the_unit_staff_who_have_not_started_once_each_and_logs_it(supervisor, cast, period, django_capture_on_commit_callbacks):
    submitted_assessment(cast.staff, period, 4)  # started (and submitted): not reminded
    later = make_employee("later", cast.tree.a1, name="Lia Terlambat")
    make_employee("same", cast.tree.a1, name="Sama Unit")
    section = WorkUnit.objects.add_child(cast.tree.a1, {"code": "A1-X", "name": "Seksi X"})
    make_employee("below", section, name="Di Bawah")  # a unit below has its own head: not reminded
    page = supervisor.get(f"/unit/A1/pegawai/?periode={period.code}").content.decode()
    assert "Kirim pengingat kepada 3 pegawai unit ini yang belum mulai" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = supervisor.post("/unit/A1/pengingat/", follow=True)
    assert "Pengingat dikirim kepada 3 pegawai Subdirektorat A1 yang belum mulai." in response.content.decode()
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [cast.colleague.user.email, later.user.email, "same@example.go.id"]
    )
    assert all(len(message.to) == 1 for message in mail.outbox)  # nobody sees the others' addresses
    log = UnitReminder.objects.get()
    assert (log.unit, log.period, log.sent_by, log.recipients, log.sent_on) == (cast.tree.a1, period, cast.supervisor.user, 3, timezone.localdate())
    page = supervisor.get(f"/unit/A1/pegawai/?periode={period.code}").content.decode()
    assert "Pengingat sudah dikirim hari ini pukul" in page and "oleh supervisor kepada 3 pegawai" in page
    assert "Kirim pengingat kepada" not in page


def test_a_second_reminder_the_same_day_is_refused_and_sends_nothing(supervisor, cast, period, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        supervisor.post("/unit/A1/pengingat/")
    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        response = supervisor.post("/unit/A1/pengingat/", follow=True)
    assert "Pegawai unit ini sudah diingatkan hari ini; coba lagi besok." in response.content.decode()
    assert len(mail.outbox) == sent and UnitReminder.objects.count() == 1
    # Another unit may still be reminded today.
    with django_capture_on_commit_callbacks(execute=True):
        supervisor.post("/unit/A/pengingat/")
    assert UnitReminder.objects.count() == 2


def test_the_next_day_it_may_be_sent_again(cast, period):
    UnitReminder.objects.create(unit=cast.tree.a1, period=period, sent_by=cast.supervisor.user, sent_on=timezone.localdate() - datetime.timedelta(days=1))
    assert reminders.unit_remind(unit=cast.tree.a1, period=period, sender=cast.supervisor.user) == 2
    assert UnitReminder.objects.count() == 2


def test_no_reminder_while_the_period_takes_no_entries(cast, previous_period):
    today = timezone.localdate()
    early = create_period(today.year + 3, 1, opens_on=today + datetime.timedelta(days=5), closes_on=today + datetime.timedelta(days=40))
    for period in (early, previous_period):
        with pytest.raises(services.ServiceError) as refused:
            reminders.unit_remind(unit=cast.tree.a1, period=period, sender=cast.supervisor.user)
        assert refused.value.code == "not_taking_entries"
    assert not UnitReminder.objects.exists()


def test_a_unit_outside_the_supervisors_scope_is_404(supervisor, cast, period):
    assert supervisor.post("/unit/B/pengingat/").status_code == 404
    assert supervisor.get("/unit/A1/pengingat/").status_code == 405
    assert not UnitReminder.objects.exists()

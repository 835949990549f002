"""E-mails: to the supervisors on submit, to the person on return and approval, and the
reminders that `send_reminders` sends before a period closes."""

import datetime

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from assessments import services
from assessments.models import ReminderLog

from .conftest import all_answers, make_employee, submitted_assessment


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (where mails are sent) as a real request would."""
    def run():
        return django_capture_on_commit_callbacks(execute=True)
    return run


def test_return_mails_the_person_with_the_note(cast, period, committed):
    assessment = submitted_assessment(cast.staff, period)
    mail.outbox.clear()
    with committed():
        services.assessment_return(assessment=assessment, reviewer=cast.supervisor.user, note="Bukti AK-1 belum ada")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [cast.staff.user.email]
    assert "dikembalikan" in message.subject
    assert "Bukti AK-1 belum ada" in message.body
    assert f"/penilaian/{period.code}/isi/" in message.body


def test_approval_mails_the_person(cast, period, committed):
    assessment = submitted_assessment(cast.staff, period)
    mail.outbox.clear()
    with committed():
        services.assessment_approve(assessment=assessment, reviewer=cast.supervisor.user)
    assert [m.to for m in mail.outbox] == [[cast.staff.user.email]]
    assert "disetujui" in mail.outbox[0].subject


def test_a_supervisors_own_submission_goes_to_the_level_above(cast, period, committed):
    director = make_employee("direktur", cast.tree.root, heads=cast.tree.root)
    with committed():
        submitted_assessment(cast.supervisor, period)
    assert [m.to for m in mail.outbox] == [[director.user.email]]


def test_a_submission_with_no_supervisor_above_sends_nothing(cast, period, committed):
    with committed():
        submitted_assessment(cast.sibling_supervisor, period)  # heads B, nobody heads ROOT
    assert mail.outbox == []


def test_a_mail_outage_does_not_undo_the_submission(cast, period, committed, settings):
    settings.EMAIL_BACKEND = "tests.test_notifications.BrokenBackend"
    with committed():
        assessment = submitted_assessment(cast.staff, period)
    assert assessment.state == "submitted"


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp down")


# --- Reminders -------------------------------------------------------------------------------


def closing_in(period, days):
    period.closes_on = timezone.localdate() + datetime.timedelta(days=days)
    period.save()


def remind():
    mail.outbox.clear()
    call_command("send_reminders", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return sorted(address for m in mail.outbox for address in m.to)


def test_reminders_go_to_staff_who_have_not_submitted(cast, period):
    submitted_assessment(cast.other, period)
    services.assessment_save_draft(employee=cast.colleague, period=period, answers=all_answers(period), version=0, actor=cast.colleague.user)
    closing_in(period, 7)
    expected = sorted(e.user.email for e in (cast.staff, cast.colleague, cast.supervisor, cast.sibling_supervisor))
    assert remind() == expected
    assert "7 hari" in mail.outbox[0].subject
    assert f"/penilaian/{period.code}/isi/" in mail.outbox[0].body


def test_at_most_one_reminder_per_person_and_threshold(cast, period):
    closing_in(period, 7)
    first = remind()
    assert len(first) == 5
    assert remind() == []  # the same day again
    closing_in(period, 6)
    assert remind() == []  # still the 7-day threshold
    closing_in(period, 3)
    assert remind() == first
    closing_in(period, 1)
    assert remind() == first
    assert ReminderLog.objects.count() == 15


def test_no_reminder_before_seven_days_or_after_closing(cast, period):
    closing_in(period, 8)
    assert remind() == []
    closing_in(period, -1)
    assert remind() == []
    assert not ReminderLog.objects.exists()


def test_a_missed_cron_day_still_sends_the_threshold_once(cast, period):
    closing_in(period, 5)  # the 7-day run did not happen
    assert len(remind()) == 5
    closing_in(period, 4)
    assert remind() == []

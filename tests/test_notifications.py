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


@pytest.fixture
def queue(settings, monkeypatch):
    """A deployment with a worker (CELERY_BROKER_URL): what the request hands to the task queue."""
    from assessments import tasks

    settings.CELERY_TASK_ALWAYS_EAGER = False
    handed = []
    monkeypatch.setattr(tasks.assessment_mail, "delay", lambda *args: handed.append(args))
    return handed


def test_with_a_worker_the_request_hands_the_mail_to_the_queue_and_the_worker_sends_it(cast, period, committed, queue):
    from assessments import tasks

    with committed():
        assessment = submitted_assessment(cast.staff, period)
    assert mail.outbox == []  # nothing sent by the request
    assert queue == [("submitted", assessment.pk)]
    tasks.assessment_mail(*queue[0])  # the worker
    assert [m.to for m in mail.outbox] == [[cast.supervisor.user.email]]
    assert f"/tinjau/{assessment.pk}/" in mail.outbox[0].body
    queue.clear()
    with committed():
        services.assessment_return(assessment=assessment, reviewer=cast.supervisor.user, note="Bukti AK-1 belum ada")
    assert queue == [("returned", assessment.pk)]
    tasks.assessment_mail(*queue[0])
    assert "Bukti AK-1 belum ada" in mail.outbox[-1].body and mail.outbox[-1].to == [cast.staff.user.email]


def test_an_assessment_gone_before_the_worker_came_is_mailed_about_by_nobody(cast, period, committed, queue):
    from assessments import tasks

    with committed():
        assessment = submitted_assessment(cast.staff, period)
    assessment.delete()
    tasks.assessment_mail(*queue[0])
    assert mail.outbox == []


def test_a_queue_that_does_not_answer_costs_the_request_nothing_the_mail_goes_from_the_request(
    cast, period, committed, settings, monkeypatch, caplog
):
    from kombu.exceptions import OperationalError

    from assessments import tasks

    settings.CELERY_TASK_ALWAYS_EAGER = False

    def broker_down(*args):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(tasks.assessment_mail, "delay", broker_down)
    with committed():
        assessment = submitted_assessment(cast.staff, period)
    assert assessment.state == "submitted"
    assert [m.to for m in mail.outbox] == [[cast.supervisor.user.email]]
    assert "did not take the submitted e-mail" in caplog.text


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

"""In-app notices: the deadline banner on every page in the last 7 days of the open period for
staff who have not submitted, and the reminders send_reminders leaves in the app for staff
without an e-mail address (notices.py)."""

import datetime
import io

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assessments import periods, services
from assessments.models import Notice, ReminderLog, SelfAssessment

from .conftest import all_answers, submitted_assessment


def closing_in(period, days: int) -> None:
    period.closes_on = timezone.localdate() + datetime.timedelta(days=days)
    period.save()


def banner(period, days: int) -> str:
    return f"Periode Triwulan I {period.year} ditutup dalam {days} hari. Anda belum mengirim penilaian."


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def remind() -> str:
    out = io.StringIO()
    call_command("send_reminders", stdout=out)
    return out.getvalue()


def without_email(employee):
    employee.user.email = ""
    employee.user.save(update_fields=["email"])
    return employee


# --- The banner ------------------------------------------------------------------------------------


def test_it_shows_on_every_page_seven_days_before_closing(client, cast, period):
    closing_in(period, 7)
    client.force_login(cast.supervisor.user)  # heads A and is staff too
    for url in ("/penilaian/", "/data-saya/", f"/unit/A/?periode={period.code}"):
        html = page(client, url)
        assert banner(period, 7) in html, url
        assert f'href="/penilaian/{period.code}/isi/">Isi sekarang</a>' in html, url
    # On the form itself, no button to the form.
    html = page(client, f"/penilaian/{period.code}/isi/")
    assert banner(period, 7) in html and "Isi sekarang" not in html


def test_it_does_not_show_eight_days_before(client, cast, period):
    closing_in(period, 8)
    client.force_login(cast.staff.user)
    html = page(client, "/penilaian/")
    assert "Anda belum mengirim penilaian" not in html and "Isi sekarang" not in html


def test_it_says_today_on_the_last_day(client, cast, period):
    closing_in(period, 0)
    client.force_login(cast.staff.user)
    html = page(client, "/data-saya/")
    assert f"Periode Triwulan I {period.year} ditutup hari ini. Anda belum mengirim penilaian." in html


def test_it_speaks_english_when_asked(client, cast, period):
    closing_in(period, 1)
    client.force_login(cast.staff.user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = page(client, "/data-saya/")
    assert f"Quarter I {period.year} closes in 1 day. You have not submitted your assessment." in html
    assert "Fill it in now" in html


def test_it_goes_at_once_when_the_person_submits(client, cast, period):
    closing_in(period, 3)
    draft = services.assessment_save_draft(employee=cast.staff, period=period, answers=all_answers(period), version=0, actor=cast.staff.user)
    client.force_login(cast.staff.user)
    assert banner(period, 3) in page(client, "/penilaian/")
    response = client.post(f"/penilaian/{period.code}/kirim/", {"version": draft.version}, follow=True)
    html = response.content.decode()
    assert "Terima kasih" in html and "Anda belum mengirim penilaian" not in html
    assert "Anda belum mengirim penilaian" not in page(client, "/penilaian/")
    assert SelfAssessment.objects.get(pk=draft.pk).state == "submitted"


def test_it_comes_back_after_a_return(client, cast, period):
    closing_in(period, 3)
    assessment = submitted_assessment(cast.staff, period)
    client.force_login(cast.staff.user)
    assert "Anda belum mengirim penilaian" not in page(client, "/penilaian/")
    services.assessment_return(assessment=assessment, reviewer=cast.supervisor.user, note="Lengkapi buktinya")
    # The banner is decided once a day per session: the next login (or day) shows it again.
    client.logout()
    client.force_login(cast.staff.user)
    assert banner(period, 3) in page(client, "/penilaian/")
    assert SelfAssessment.objects.get(pk=assessment.pk).state == "returned"


def test_never_for_an_admin_without_an_employee_record(client, cast, period):
    closing_in(period, 3)
    client.force_login(cast.admin)
    for url in ("/rekap/", "/akun/password_change/"):
        assert "Anda belum mengirim penilaian" not in page(client, url)
    # Nothing is looked up for the banner of someone who is not staff, on their first page either.
    client.logout()
    client.force_login(cast.admin)
    with CaptureQueriesContext(connection) as first:
        page(client, "/akun/password_change/")
    sql = " ".join(query["sql"] for query in first.captured_queries)
    assert 'FROM "assessments_employee"' in sql  # the header's roles
    assert 'FROM "assessments_assessmentperiod"' not in sql and 'FROM "assessments_notice"' not in sql


def test_never_for_a_closed_period(client, cast, period):
    closing_in(period, 3)
    periods.period_close(period=period)
    client.force_login(cast.staff.user)
    assert "Anda belum mengirim penilaian" not in page(client, "/penilaian/")


def test_the_banner_costs_no_query_after_the_first_page(client, cast, period):
    closing_in(period, 3)
    client.force_login(cast.staff.user)
    page(client, "/data-saya/")
    with CaptureQueriesContext(connection) as second:
        assert banner(period, 3) in page(client, "/data-saya/")
    sql = " ".join(query["sql"] for query in second.captured_queries)
    # Neither the open period, nor the submission, nor the notices are looked up again.
    assert 'FROM "assessments_assessmentperiod"' not in sql and 'FROM "assessments_notice"' not in sql


# --- Reminders in the app ----------------------------------------------------------------------------


def test_staff_without_an_email_get_a_notice_once_per_threshold(cast, period, mailoutbox):
    without_email(cast.colleague)
    closing_in(period, 7)
    assert "5 reminder(s) sent (H-7): 4 by e-mail, 1 in the app." in remind()
    assert sorted(m.to[0] for m in mailoutbox) == sorted(e.user.email for e in (cast.staff, cast.supervisor, cast.other, cast.sibling_supervisor))
    notice = Notice.objects.get()
    assert (notice.user, notice.period, notice.days_before, notice.read_at) == (cast.colleague.user, period, 7, None)
    assert "0 reminder(s) sent" in remind()  # the same day again
    assert Notice.objects.count() == 1 and len(mailoutbox) == 4
    closing_in(period, 3)
    remind()
    assert sorted(Notice.objects.values_list("days_before", flat=True)) == [3, 7]
    assert ReminderLog.objects.filter(employee=cast.colleague).count() == 2 and len(mailoutbox) == 8


def test_the_notice_shows_and_dismissing_it_hides_it(client, cast, period):
    without_email(cast.colleague)
    closing_in(period, 7)
    remind()
    notice = Notice.objects.get()
    client.force_login(cast.colleague.user)
    html = page(client, "/penilaian/")
    assert f"Pengingat {timezone.localdate():%-d} " in html and "7 hari sebelum periode ditutup." in html
    assert f'action="/pemberitahuan/{notice.pk}/tutup/"' in html
    response = client.post(f"/pemberitahuan/{notice.pk}/tutup/", {"next": "/data-saya/"})
    assert response.status_code == 302 and response["Location"] == "/data-saya/"
    html = page(client, "/data-saya/")
    assert "sebelum periode ditutup" not in html
    assert banner(period, 7) in html  # the banner stays until they submit
    notice.refresh_from_db()
    assert notice.read_at is not None


def test_someone_else_cannot_dismiss_it(client, cast, period):
    notice = Notice.objects.create(user=cast.colleague.user, period=period, days_before=7)
    client.force_login(cast.staff.user)
    assert client.post(f"/pemberitahuan/{notice.pk}/tutup/").status_code == 404
    assert client.get(f"/pemberitahuan/{notice.pk}/tutup/").status_code == 405
    notice.refresh_from_db()
    assert notice.read_at is None


def test_dismissing_goes_back_only_to_a_page_of_this_site(client, cast, period):
    notice = Notice.objects.create(user=cast.staff.user, period=period, days_before=3)
    client.force_login(cast.staff.user)
    response = client.post(f"/pemberitahuan/{notice.pk}/tutup/", {"next": "https://evil.example/"})
    assert response["Location"] == "/"

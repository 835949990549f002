"""Background jobs (assessments/jobs.py): started from a page, run (in-process here, as in the
demo; .ci/run also runs one through a real Celery worker: scripts/smoke_worker.py), watched, and
downloaded by the person who started them or an admin, for 7 days; a failure says why and writes
nothing. And the daily schedule that beat runs."""

import datetime
import io
import os

import pytest
from django.conf import settings as django_settings
from django.test import Client, TestCase
from django.utils import timezone
from openpyxl import load_workbook

from assessments import jobs, tasks
from assessments.models import Employee, Job, ReminderLog

from .conftest import make_employee
from .test_import import NEWCOMERS, STAFF_CONFIRM, STAFF_URL, csv_bytes, kept_files, nip, snapshot, upload


def started(client, url: str, data: dict) -> Job:
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(url, data)
    assert response.status_code == 302, response.status_code
    assert response["Location"].startswith("/tugas/")
    return Job.objects.get(pk=int(response["Location"].strip("/").split("/")[-1]))


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast.admin)
    return client


def test_the_recap_export_runs_as_a_job_and_its_page_offers_the_file(admin_client, cast, period):
    job = started(admin_client, "/rekap/ekspor.xlsx", {"query": f"periode={period.code}&tingkat=2"})
    assert (job.kind, job.state, job.started_by) == ("rekap_xlsx", "done", cast.admin)
    assert job.done == job.total and job.result_name == f"rekap-instansi_{period.code}.xlsx"
    assert job.expires_at == job.finished_at + datetime.timedelta(days=7)
    page = admin_client.get(f"/tugas/{job.pk}/").content.decode()
    assert 'id="job-state">Selesai<' in page and 'max="100" value="100"' in page
    assert f'href="/tugas/{job.pk}/unduh/"' in page and "Tersedia sampai" in page
    assert "http-equiv=\"refresh\"" not in page  # finished: nothing more to wait for
    download = admin_client.get(f"/tugas/{job.pk}/unduh/")
    assert download["Content-Disposition"] == f'attachment; filename="rekap-instansi_{period.code}.xlsx"'
    rows = list(load_workbook(io.BytesIO(download.getvalue())).active.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == ["ROOT", "A", "B"]  # down to level 2, as asked
    assert admin_client.get("/tugas/").content.decode().count(f'href="/tugas/{job.pk}/"') == 1


def test_a_job_that_is_still_running_refreshes_without_javascript_and_reports_progress(admin_client, cast):
    job = Job.objects.create(kind=Job.Kind.REKAP_XLSX, started_by=cast.admin, state=Job.State.RUNNING, done=150, total=600)
    page = admin_client.get(f"/tugas/{job.pk}/").content.decode()
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert "150 dari 600" in page and 'value="25"' in page and "Anda boleh meninggalkan halaman ini" in page
    assert admin_client.get(f"/tugas/{job.pk}/status/").json() == {
        "state": "running", "state_label": "Berjalan", "done": 150, "total": 600, "percent": 25,
        "finished": False, "summary": "", "error": "", "download": "",
    }  # fmt: skip
    assert admin_client.get(f"/tugas/{job.pk}/unduh/").status_code == 404


def test_only_the_starter_and_admins_see_a_job(client, cast, period):
    starter = make_employee("starter", cast.tree.a1)
    job = Job.objects.create(kind=Job.Kind.IMPORT_STAFF, started_by=starter.user, state=Job.State.DONE, summary="ok")
    job.result.save("hasil.xlsx", io.BytesIO(b"data"), save=False)
    job.expires_at = timezone.now() + datetime.timedelta(days=7)
    job.save()
    for user, status in [(starter.user, 200), (cast.admin, 200), (cast.supervisor.user, 404), (cast.staff.user, 404)]:
        client.force_login(user)
        for url in (f"/tugas/{job.pk}/", f"/tugas/{job.pk}/status/", f"/tugas/{job.pk}/unduh/"):
            assert client.get(url).status_code == status, (user, url)
        assert (f'href="/tugas/{job.pk}/"' in client.get("/tugas/").content.decode()) is (user == starter.user)
    assert Client().get(f"/tugas/{job.pk}/unduh/").status_code == 302  # to the login page


def test_a_staff_member_cannot_start_the_recap_export(client, cast, period):
    client.force_login(cast.supervisor.user)
    assert client.post("/rekap/ekspor.xlsx", {"query": ""}).status_code == 403
    client.force_login(cast.admin)
    assert client.get("/rekap/ekspor.xlsx").status_code == 405
    assert not Job.objects.exists()


def test_files_expire_after_seven_days_and_the_page_says_so(admin_client, cast, period):
    job = started(admin_client, "/rekap/ekspor.xlsx", {"query": ""})
    stored = job.result.path
    assert jobs.files_expire(now=job.expires_at - datetime.timedelta(minutes=1)) == 0
    assert tasks.job_files_expire.delay().get() == 0  # beat's task, today: nothing is due
    assert jobs.files_expire(now=job.expires_at) == 1
    job.refresh_from_db()
    assert not job.result and not os.path.exists(stored)
    assert admin_client.get(f"/tugas/{job.pk}/unduh/").status_code == 404
    assert "File ini sudah kedaluwarsa dan dihapus" in admin_client.get(f"/tugas/{job.pk}/").content.decode()


def test_a_job_that_fails_says_why_in_the_starters_language_and_keeps_no_file(admin_client, cast, period, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("assessments.views.exports.xlsx_bytes", broken)
    job = started(admin_client, "/rekap/ekspor.xlsx", {"query": ""})
    assert job.state == "failed" and not job.result and job.finished_at
    assert job.error == (
        f"Tugas berhenti karena kesalahan tak terduga, dan tidak ada yang disimpan. Coba lagi; jika gagal lagi, beri tahu administrator (tugas {job.pk})."
    )
    page = admin_client.get(f"/tugas/{job.pk}/").content.decode()
    assert 'data-testid="job-error"' in page and "Gagal" in page
    admin_client.post("/i18n/setlang/", {"language": "en"})
    job = started(admin_client, "/rekap/ekspor.xlsx", {"query": ""})
    assert job.error.startswith("The job stopped on an unexpected error, and nothing was saved.")


def test_a_job_delivered_twice_runs_once(admin_client, cast, period):
    job = started(admin_client, "/rekap/ekspor.xlsx", {"query": ""})
    finished = job.finished_at
    jobs.job_run(job.pk)
    job.refresh_from_db()
    assert job.finished_at == finished and job.state == "done"


# --- Imports above JOB_IMPORT_ROWS run in the background ----------------------------------------


def test_a_large_staff_import_runs_as_a_job_with_its_rows_as_progress(admin_client, cast, period, settings):
    settings.JOB_IMPORT_ROWS = 2
    preview = upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS))
    assert preview.status_code == 200 and len(kept_files(settings)) == 1
    job = started(admin_client, STAFF_CONFIRM, {"token": preview.context["token"]})
    assert (job.kind, job.state, job.total, job.done) == ("import_staff", "done", 3, 3), job.error
    assert job.summary == "Impor selesai: 3 baru, 0 berubah, 0 tidak berubah."
    assert set(Employee.objects.filter(nip__in=[row[0] for row in NEWCOMERS]).values_list("full_name", flat=True)) == {
        "Ani Baru", "Bayu Baru", "Citra Baru",
    }  # fmt: skip
    assert kept_files(settings) == []  # the job took the file over and removed it
    assert "Impor selesai: 3 baru" in admin_client.get(f"/tugas/{job.pk}/").content.decode()


def test_a_large_import_that_no_longer_fits_fails_and_writes_nothing(admin_client, cast, period, settings):
    settings.JOB_IMPORT_ROWS = 2
    preview = upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes([*NEWCOMERS, (nip(9), "Dewi Baru", "", "B", "")]))
    with TestCase.captureOnCommitCallbacks() as queued:
        response = admin_client.post(STAFF_CONFIRM, {"token": preview.context["token"]})
    assert response.status_code == 302 and len(queued) == 1
    cast.tree.b.is_active = False  # the unit of two rows is closed before the worker takes the job
    cast.tree.b.save()
    before = snapshot()
    queued[0]()
    job = Job.objects.get()
    assert job.state == "failed"
    assert job.error.startswith("Berkas tidak lagi lolos pemeriksaan (data berubah sejak pratinjau): 2 masalah.")
    assert snapshot() == before and kept_files(settings) == []


def test_a_small_import_is_still_written_at_once(admin_client, cast, period):
    preview = upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS))
    response = admin_client.post(STAFF_CONFIRM, {"token": preview.context["token"]})
    assert response.status_code == 302 and response["Location"] == "/admin/assessments/employee/"
    assert not Job.objects.exists() and Employee.objects.filter(full_name="Ani Baru").exists()


# --- The daily schedule (beat) -----------------------------------------------------------------


def test_beat_runs_the_reminders_the_summary_check_the_file_expiry_and_the_pending_sweep():
    schedule = django_settings.CELERY_BEAT_SCHEDULE
    assert {entry["task"] for entry in schedule.values()} == {
        "assessments.tasks.reminders_send", "assessments.tasks.summaries_check", "assessments.tasks.job_files_expire",
        "assessments.tasks.summaries_pending_apply",
    }  # fmt: skip
    assert all(entry["task"] in tasks.job_run.app.tasks for entry in schedule.values())


def test_the_reminder_task_sends_the_due_reminders_once(cast, mailoutbox):
    from .conftest import create_period

    today = timezone.localdate()
    period = create_period(today.year + 1, 2, opens_on=today - datetime.timedelta(days=20), closes_on=today + datetime.timedelta(days=3))
    assert "reminder(s) sent (H-3)" in tasks.reminders_send.delay().get()
    reminded = set(ReminderLog.objects.filter(period=period).values_list("employee__user__username", flat=True))
    assert reminded == {"staff", "colleague", "supervisor", "other", "sibling"} and len(mailoutbox) == 5
    tasks.reminders_send.delay().get()
    assert len(mailoutbox) == 5  # once per threshold


def test_the_summary_check_task_reports_a_difference(cast, period, caplog):
    from assessments.models import UnitPeriodSummary

    from .conftest import submitted_assessment

    submitted_assessment(cast.staff, period, 4)
    assert "is exact" in tasks.summaries_check.delay().get()
    UnitPeriodSummary.objects.filter(period=period, unit=cast.tree.a1).update(counted=7)
    assert "difference(s)" in tasks.summaries_check.delay().get()
    assert "summaries_check found differences" in caplog.text


def test_a_superuser_recomputes_an_open_periods_summaries_in_the_background(admin_client, cast, period, previous_period):
    from assessments.models import UnitPeriodSummary

    from .conftest import submitted_assessment

    submitted_assessment(cast.staff, period, 4)
    UnitPeriodSummary.objects.filter(period=period, unit=cast.tree.a1).update(counted=7)  # damaged
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = admin_client.post(
            "/admin/assessments/assessmentperiod/",
            {"action": "rebuild_summaries", "_selected_action": [period.pk, previous_period.pk]},
            follow=True,
        )
    job = Job.objects.get()
    assert (job.kind, job.state, job.params["period"]) == ("summary_rebuild", "done", period.pk), job.error
    assert f'<a href="/tugas/{job.pk}/">{period}</a>' in response.content.decode()
    assert UnitPeriodSummary.objects.get(period=period, unit=cast.tree.a1).counted == 1
    assert job.summary == f"Ringkasan {period} dihitung ulang dari penilaian."


def test_only_a_superuser_is_offered_the_recompute(client, cast, period):
    from django.contrib.auth.models import Group

    helper = make_employee("kepegawaian", cast.tree.root)
    helper.user.is_staff = True
    helper.user.save()
    helper.user.groups.add(Group.objects.get(name="Admin Kepegawaian"))
    client.force_login(helper.user)
    page = client.get("/admin/assessments/assessmentperiod/").content.decode()
    assert "rebuild_summaries" not in page
    client.force_login(cast.admin)
    assert "rebuild_summaries" in client.get("/admin/assessments/assessmentperiod/").content.decode()

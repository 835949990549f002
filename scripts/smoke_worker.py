"""A background job through a real Celery worker, as docker-compose runs it (no Docker engine
needed): gunicorn with production settings and a `celery worker` on the benchmark's XS
database, the local Redis as the broker. An admin starts the Rekap Instansi export from the
page's button, the job page's status is watched until the worker has finished it, and the file
is downloaded and read. Then a staff member submits, and the e-mail to their head of unit is
sent by the worker (written by the file e-mail backend), not by the request. Checks that the
worker, not the web process, ran both.

    python scripts/smoke_worker.py        (needs Redis on 127.0.0.1:6379 and PostgreSQL)
"""

import io
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BROKER, celery_worker, django_setup, gunicorn, prepare_database, production_env, session_for  # noqa: E402


def main():
    private = tempfile.mkdtemp(prefix="asn-worker-")
    mailbox = Path(private) / "mail"
    env = production_env(
        "XS", CELERY_BROKER_URL=BROKER, PRIVATE_STORAGE_ROOT=private,
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend", EMAIL_FILE_PATH=str(mailbox),
    )
    prepare_database("XS", env)
    django_setup(env)
    from django.contrib.auth import get_user_model

    admin, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_superuser": True, "is_staff": True})
    log_path = Path(private) / "worker.log"
    with celery_worker(env, log_path):
        with gunicorn(env, workers=1, log_name="smoke-worker-gunicorn.log") as base:
            import requests

            http = requests.Session()
            http.cookies.set("sessionid", session_for(admin), domain="127.0.0.1")
            page = http.get(f"{base}/rekap/?tingkat=2")
            assert page.status_code == 200, page.status_code
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            query = re.search(r'name="query" value="([^"]*)"', page.text).group(1).replace("&amp;", "&")
            started = time.monotonic()
            response = http.post(f"{base}/rekap/ekspor.xlsx", data={"csrfmiddlewaretoken": token, "query": query},
                                 headers={"Referer": f"{base}/rekap/"}, allow_redirects=False)
            assert response.status_code == 302, response.status_code
            job_url = base + response.headers["Location"]
            seen = []
            while time.monotonic() - started < 120:
                status = http.get(job_url + "status/").json()
                seen.append(f"{status['state']} {status['done']}/{status['total']}")
                if status["finished"]:
                    break
                time.sleep(0.3)
            assert status["state"] == "done", (status, seen)
            page = http.get(job_url).text
            assert 'id="job-state">Selesai<' in page, "the job page does not say it finished"
            download = http.get(base + status["download"])
            assert download.status_code == 200
            from openpyxl import load_workbook

            rows = list(load_workbook(io.BytesIO(download.content)).active.iter_rows(values_only=True))
            assert rows[0][0] == "Kode unit" and len(rows) > 2, rows[:2]
            elapsed = time.monotonic() - started
            mailed = submit_and_wait_for_the_mail(base, mailbox)
    ran = log_path.read_text()
    assert re.search(r"Task assessments\.tasks\.job_run\[[^\]]+\] succeeded", ran), "the worker's log does not show the job:\n" + ran[-3000:]
    assert re.search(r"Task assessments\.tasks\.assessment_mail\[[^\]]+\] succeeded", ran), "the worker did not send the e-mail:\n" + ran[-3000:]
    states = " → ".join(dict.fromkeys(seen))
    print(f"worker: the Rekap export ran in the Celery worker (states seen: {states}); "
          f"{len(rows) - 1} units in the workbook, downloaded {elapsed:.1f} s after the click")
    print(f"worker: a submit's e-mail to the head of unit was sent by the Celery worker {mailed:.1f} s after the submit")


def submit_and_wait_for_the_mail(base: str, mailbox: Path) -> float:
    """A fresh person submits a complete draft on the confirmation page; returns the seconds
    until the e-mail asking their head of unit to review is in the mailbox."""
    from assessments.models import AssessmentPeriod, SelfAssessment
    from bench.submit import prepare, ready

    period = AssessmentPeriod.objects.get(status="open")
    (person,) = prepare(period, 1)
    http, token, version = ready(base, person, period.code)
    started = time.monotonic()
    response = http.post(f"{base}/penilaian/{period.code}/kirim/", data={"version": version}, headers={"X-CSRFToken": token},
                         allow_redirects=False)
    assert response.status_code == 302 and "/hasil/" in response.headers["Location"], response.status_code
    assessment = SelfAssessment.objects.get(employee__user=person, period=period)
    assert assessment.state == "submitted", assessment.state
    while time.monotonic() - started < 60:
        mails = [path.read_text() for path in mailbox.glob("*.log")] if mailbox.exists() else []
        if any(f"/tinjau/{assessment.pk}/" in text for text in mails):
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"no e-mail about assessment {assessment.pk} in {mailbox} after 60 s")


if __name__ == "__main__":
    main()

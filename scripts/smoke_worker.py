"""A background job through a real Celery worker, as docker-compose runs it (no Docker engine
needed): gunicorn with production settings and a `celery worker` on the benchmark's XS
database, the local Redis as the broker. An admin starts the Rekap Instansi export from the
page's button, the job page's status is watched until the worker has finished it, and the file
is downloaded and read. Also checks that the worker, not the web process, ran it.

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
    env = production_env("XS", CELERY_BROKER_URL=BROKER, PRIVATE_STORAGE_ROOT=private)
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
    ran = log_path.read_text()
    assert re.search(r"Task assessments\.tasks\.job_run\[[^\]]+\] succeeded", ran), "the worker's log does not show the job:\n" + ran[-3000:]
    states = " → ".join(dict.fromkeys(seen))
    print(f"worker: the Rekap export ran in the Celery worker (states seen: {states}); "
          f"{len(rows) - 1} units in the workbook, downloaded {elapsed:.1f} s after the click")


if __name__ == "__main__":
    main()

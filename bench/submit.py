"""`make bench-submit [SIZE=S]`: submits per second at 1, 4 and 16 concurrent submitters.

gunicorn (16 sync workers, production settings) on the benchmark's database of that size. Each
submit is a fresh person's complete draft (made beforehand, not timed) sent to the confirmation
page, as the browser does. For each level: submits/s, p50 and p95 in milliseconds, and the
share of the database's active backends that wait on a lock (sampled from pg_stat_activity every
20 ms), and the CPU per submit of gunicorn and PostgreSQL with how busy the machine's cores
were; the head of unit's e-mail goes through a Celery worker, as deployed. Afterwards every summary row of the open period is recomputed and compared
(summaries.summary_differences): the increments must equal a rebuild.

It uses up fresh people of the size's database (about 500 per run); `make bench` and
`make loadtest` pick theirs among those left.
"""

import argparse
import re
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BROKER, CpuMeter, celery_worker, django_setup, gunicorn, prepare_database, production_env, session_for  # noqa: E402

LEVELS = (1, 4, 16)
WORKERS = 16
WARM_UP = 4 * WORKERS  # submits before the measured levels


def prepare(period, count: int) -> list:
    """`count` fresh people with a complete draft each; returns their users."""
    from django.db.models import Exists, OuterRef

    from assessments import services
    from assessments.models import Employee, PrivacyAcknowledgement, SelfAssessment

    started = SelfAssessment.objects.filter(employee=OuterRef("pk"), period=period)
    fresh = list(
        Employee.objects.filter(is_active=True, user__is_active=True).exclude(Exists(started)).exclude(headed__isnull=False)
        .select_related("user").order_by("?")[:count]
    )
    if len(fresh) < count:
        raise SystemExit(f"only {len(fresh)} people without an assessment are left in this database; rebuild it (drop asn_bench_*)")
    answers = {i.pk: services.Answer(score=4, note="catatan") for p in period.questionnaire() for i in p.indicators.all()}
    for employee in fresh:
        services.assessment_save_draft(employee=employee, period=period, answers=answers, version=0, actor=employee.user)
        PrivacyAcknowledgement.objects.get_or_create(user=employee.user, period=period, defaults={"visibility": period.visibility})
    return [e.user for e in fresh]


def ready(base: str, user, code: str):
    """A session on the confirmation page: (requests session, CSRF token, draft version)."""
    import requests

    http = requests.Session()
    http.cookies.set("sessionid", session_for(user), domain="127.0.0.1")
    page = http.get(f"{base}/penilaian/{code}/kirim/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    return http, token, version


class LockSampler(threading.Thread):
    """Every 20 ms: how many of the database's active backends (not this one) wait on a lock."""

    def __init__(self, dsn: str):
        super().__init__(daemon=True)
        self.dsn, self.stop, self.active, self.waiting = dsn, threading.Event(), 0, 0

    def run(self):
        import psycopg2

        connection = psycopg2.connect(self.dsn)
        connection.autocommit = True
        with connection.cursor() as cursor:
            while not self.stop.is_set():
                cursor.execute(
                    "SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock') FROM pg_stat_activity "
                    "WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()"
                )
                active, waiting = cursor.fetchone()
                self.active += active
                self.waiting += waiting
                time.sleep(0.02)
        connection.close()


def run_level(base: str, code: str, people: list, concurrency: int, dsn: str) -> dict:
    sessions = [ready(base, user, code) for user in people]
    times, failures = [], []
    lanes = [sessions[i::concurrency] for i in range(concurrency)]

    def lane(items):
        for http, token, version in items:
            started = time.perf_counter()
            response = http.post(f"{base}/penilaian/{code}/kirim/", data={"version": version}, headers={"X-CSRFToken": token}, allow_redirects=False)
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 302:
                failures.append(response.status_code)

    sampler = LockSampler(dsn)
    sampler.start()
    meter = CpuMeter(base.rsplit(":", 1)[1])
    meter.start()
    began = time.perf_counter()
    threads = [threading.Thread(target=lane, args=(items,)) for items in lanes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    cpu = meter.stop()
    sampler.stop.set()
    sampler.join()
    ordered = sorted(times)
    return {
        "concurrency": concurrency,
        "submits": len(times),
        "per_second": len(times) / wall,
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "lock_share": sampler.waiting / sampler.active if sampler.active else 0.0,
        "failures": len(failures),
        "server_ms": 1000 * (cpu["gunicorn"] + cpu["postgres"]) / max(len(times), 1),
        "machine_ms": 1000 * cpu["busy"] / max(len(times), 1),
        "busy": cpu["busy"] / (cpu["wall"] * cpu["cores"]),
        "cores": cpu["cores"],
        "by_process": {name: 1000 * cpu[name] / max(len(times), 1) for name in ("gunicorn", "postgres", "client", "worker")}
        | {"rest": 1000 * (cpu["busy"] - sum(cpu[n] for n in ("gunicorn", "postgres", "client", "worker"))) / max(len(times), 1)},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="S")
    parser.add_argument("--per-submitter", type=int, default=20, help="submits each concurrent submitter sends")
    args = parser.parse_args()
    env = production_env(args.size, ROLLUP_CACHE_SECONDS=0, CELERY_BROKER_URL=BROKER)  # e-mails through the worker, as deployed
    print(f"Preparing {args.size} on {env['DATABASE_URL']}...", flush=True)
    prepare_database(args.size, env)
    django_setup(env)
    from assessments import summaries
    from assessments.models import AssessmentPeriod

    period = AssessmentPeriod.objects.get(status="open")
    counts = {level: max(level * args.per_submitter, 30) for level in LEVELS}
    people = prepare(period, sum(counts.values()) + WARM_UP)
    results = []
    worker_log = Path(__file__).resolve().parent / "results" / "bench-submit-worker.log"
    with celery_worker(env, worker_log), gunicorn(env, WORKERS, log_name="bench-submit-gunicorn.log") as base:
        # Warm-up: every worker has connected and served a submit (a cold worker's first request
        # loads code and templates: it made the single submitter's p95 ten times its p50).
        run_level(base, period.code, people[:WARM_UP], WORKERS, env["DATABASE_URL"])
        offset = WARM_UP
        for level in LEVELS:
            results.append(run_level(base, period.code, people[offset : offset + counts[level]], level, env["DATABASE_URL"]))
            offset += counts[level]
    print(f"\nmake bench-submit SIZE={args.size}: gunicorn {WORKERS} sync workers, each submit a fresh person's complete draft")
    print(f"{'submitters':>10}{'submits':>9}{'submits/s':>11}{'p50 ms':>9}{'p95 ms':>9}{'waiting on a lock':>19}{'failures':>10}"
          f"{'CPU/submit ms':>15}{'cores busy':>12}")
    for r in results:
        print(f"{r['concurrency']:>10}{r['submits']:>9}{r['per_second']:>11.1f}{r['p50']:>9.0f}{r['p95']:>9.0f}{r['lock_share']:>18.0%}{r['failures']:>10}"
              f"{r['server_ms']:>15.1f}{r['busy']:>12.0%}")
    for r in results:
        print(f"machine CPU per submit at {r['concurrency']:>2}: {r['machine_ms']:.1f} ms = "
              + ", ".join(f"{name} {ms:.1f}" for name, ms in r["by_process"].items()))
    single = results[0]
    print(f"16 submitters against 1: {results[-1]['per_second'] / single['per_second']:.2f} x the single-submitter rate")
    # CPU/submit: gunicorn and PostgreSQL. When every core is busy, submits/s cannot exceed the
    # cores divided by the machine's CPU per submit (the client's share included).
    ceiling = single["cores"] * 1000 / single["machine_ms"]
    print(f"one submitter kept {single['busy']:.0%} of the {single['cores']} cores busy ({single['machine_ms']:.1f} ms of machine CPU a submit): "
          f"with every core busy at that cost, at most {ceiling:.0f} submits/s, {ceiling / single['per_second']:.2f} x the single rate")
    period.refresh_from_db()
    differences = summaries.summary_differences(period=period)
    print("summary rows: " + ("equal to a full recomputation" if not differences else f"{len(differences)} differ, e.g. {differences[:3]}"))
    if differences or any(r["failures"] for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()

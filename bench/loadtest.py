"""`make loadtest [LOAD_SIZE=M]`: Locust (FastHttpUser), headless, 50 users for 60 s, against
gunicorn with production settings on PostgreSQL (the benchmark's data of that size), as
docker-compose deploys it: Redis for the cache and the sessions, a Celery worker for the tasks
(the e-mails to heads of unit after a submit).

Prints requests/s, p50, p95, p99 and failures, then checks in the database that every submit
Locust saw succeed is stored exactly once, with every rating, pillar score and its log entry.

Then the floor: the same gunicorn and Locust settings against /healthz only, with no think time;
the mix's requests/s as a share of it; and the CPU milliseconds per mixed request spent by
gunicorn (master and workers) and by PostgreSQL (every backend of the server), read from /proc
before and after the mix. Logins are left out of the per-request CPU: their password hash
(PBKDF2, by design about a third of a second) is measured in this process and subtracted.
Last, how busy the machine's cores were, by whom (gunicorn, PostgreSQL, Locust, the worker),
and the machine's CPU per request against what a quarter of the floor would allow.
"""

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    BROKER,
    PYTHON,
    ROOT,
    SIZES,
    CpuMeter,
    celery_worker,
    django_setup,
    gunicorn,
    prepare_database,
    production_env,
    session_for,
)

PASSWORD = "asn-bench-2026"  # seed_scale's
LOADTEST_REDIS = "redis://127.0.0.1:6379/2"


def make_pool(users: int, pool_size: int) -> dict:
    """People for Locust: staff who have not started (some log in with their password, the rest
    get sessions), and supervisors with the units they head."""
    from django.db.models import Exists, OuterRef

    from assessments.models import AssessmentPeriod, Employee, SelfAssessment, SupervisorAssignment

    period = AssessmentPeriod.objects.get(status="open")
    started = SelfAssessment.objects.filter(employee=OuterRef("pk"), period=period)
    fresh = list(
        Employee.objects.filter(is_active=True).exclude(Exists(started)).exclude(headed__isnull=False)
        .select_related("user").order_by("?")[: pool_size + users]
    )
    logins, rest = fresh[:users], fresh[users:]
    supervisors = []
    for assignment in SupervisorAssignment.objects.select_related("employee__user", "unit").order_by("unit__depth", "unit__path")[:12]:
        supervisors.append({"session": session_for(assignment.employee.user), "units": [assignment.unit.code]})
    return {
        "period": period.code,
        "password": PASSWORD,
        "logins": [e.user.username for e in logins],
        "staff": [{"nip": e.user.username, "session": session_for(e.user)} for e in rest],
        "supervisors": supervisors,
    }


def check_submissions(nips: list[str]) -> list[str]:
    """Return the problems found: every recorded submit stored once and complete."""
    from django.db.models import Count, Q

    from assessments.models import AssessmentPeriod, PeriodIndicator, SelfAssessment

    period = AssessmentPeriod.objects.get(status="open")
    indicators = PeriodIndicator.objects.filter(pillar__period=period).count()
    pillars = period.pillars.count()
    problems = []
    if len(nips) != len(set(nips)):
        problems.append(f"{len(nips) - len(set(nips))} people were recorded as submitting twice")
    rows = (
        SelfAssessment.objects.filter(period=period, employee__user__username__in=nips)
        .annotate(
            ratings_n=Count("ratings", filter=Q(ratings__score__isnull=False), distinct=True),
            pillars_n=Count("pillar_scores", distinct=True),
            submits=Count("events", filter=Q(events__to_state="submitted"), distinct=True),
        )
        .values_list("employee__user__username", "state", "ratings_n", "pillars_n", "submits")
    )
    stored = {}
    for nip, state, ratings_n, pillars_n, submits in rows:
        stored[nip] = stored.get(nip, 0) + 1
        if state not in ("submitted", "approved"):
            problems.append(f"{nip}: state {state}")
        if ratings_n != indicators or pillars_n != pillars or submits != 1:
            problems.append(f"{nip}: {ratings_n}/{indicators} ratings, {pillars_n}/{pillars} pillar scores, {submits} submit events")
    missing = set(nips) - set(stored)
    if missing:
        problems.append(f"{len(missing)} successful submits are not stored")
    duplicated = [nip for nip, n in stored.items() if n != 1]
    if duplicated:
        problems.append(f"{len(duplicated)} people have more than one assessment")
    return problems


def login_cpu_seconds() -> float:
    from django.contrib.auth.hashers import check_password, make_password

    encoded = make_password("asn-bench-2026")
    started = time.process_time()
    for _ in range(3):
        check_password("asn-bench-2026", encoded)
    return (time.process_time() - started) / 3


def locust(base: str, locustfile: str, users: int, seconds: int, prefix: Path, env: dict) -> list[dict]:
    """Run Locust headless; return the rows of its statistics (the last one "Aggregated")."""
    subprocess.run(
        [PYTHON, "-m", "locust", "-f", str(ROOT / "bench" / locustfile), "--headless", "--host", base,
         "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--csv", str(prefix),
         "--only-summary", "--loglevel", "WARNING"],
        cwd=ROOT, env=env, check=False,
    )
    with open(f"{prefix}_stats.csv") as stats:
        return list(csv.DictReader(stats))


def print_cpu_share(cpu: dict, requests: int, rate: float, floor_rate: float) -> None:
    """How busy the machine was during the mix and what the target would take: when every core
    is busy the mix is CPU-bound, and it goes only as fast as its CPU per request allows."""
    wall, cores, busy = cpu["wall"], cpu["cores"], cpu["busy"]
    other = busy - cpu["gunicorn"] - cpu["postgres"] - cpu["client"] - cpu["worker"]
    print(f"the machine's {cores} cores were {busy / (wall * cores):.0%} busy during the mix: gunicorn "
          f"{cpu['gunicorn'] / wall:.2f} cores, PostgreSQL {cpu['postgres'] / wall:.2f}, Locust {cpu['client'] / wall:.2f}, "
          f"Celery worker {cpu['worker'] / wall:.2f}, the rest {other / wall:.2f}")
    target = floor_rate / 4
    print(f"machine CPU per mixed request (everything, logins and Locust included): {1000 * busy / max(requests, 1):.1f} ms; "
          f"a quarter of the floor ({target:.0f} requests/s) on {cores} cores needs at most {1000 * cores / target:.1f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="M")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)

    # As docker-compose deploys it: the roll-up cache on, sessions and cache in Redis, a worker.
    env = production_env(args.size, REDIS_URL=LOADTEST_REDIS, CELERY_BROKER_URL=BROKER)
    subprocess.run(["redis-cli", "-n", LOADTEST_REDIS.rsplit("/", 1)[1], "FLUSHDB"], check=True, stdout=subprocess.DEVNULL)
    print(f"Preparing {args.size} on {env['DATABASE_URL']}...", flush=True)
    prepare_database(args.size, env)
    django_setup(env)
    pool = make_pool(args.users, pool_size=4000)
    with tempfile.TemporaryDirectory() as scratch:
        pool_file, submitted = Path(scratch) / "pool.json", Path(scratch) / "submitted.txt"
        pool_file.write_text(json.dumps(pool))
        submitted.touch()
        prefix = results / f"loadtest-{args.size}"
        with celery_worker(env, results / "loadtest-worker.log"), gunicorn(env, args.workers) as base:
            meter = CpuMeter(base.rsplit(":", 1)[1])
            meter.start()
            mix = locust(base, "locustfile.py", args.users, args.seconds, prefix,
                         {**env, "LOADTEST_POOL": str(pool_file), "LOADTEST_SUBMITTED": str(submitted)})
            cpu = meter.stop()
            floor = locust(base, "locustfile_floor.py", args.users, args.seconds, results / f"loadtest-{args.size}-floor", env)
        nips = [line for line in submitted.read_text().splitlines() if line]

    rows = mix
    total = next(row for row in rows if row["Name"] == "Aggregated")
    floor_total = next(row for row in floor if row["Name"] == "Aggregated")
    print(f"\nmake loadtest SIZE={args.size}: {args.users} users for {args.seconds} s, gunicorn {args.workers} workers")
    print(f"requests/s {float(total['Requests/s']):.1f} · p50 {total['50%']} ms · p95 {total['95%']} ms · "
          f"p99 {total['99%']} ms · failures {total['Failure Count']}")
    print(f"{'request':<28}{'count':>8}{'fail':>6}{'p50':>7}{'p95':>7}{'p99':>7}  ms")
    for row in rows:
        print(f"{row['Name'][:27]:<28}{row['Request Count']:>8}{row['Failure Count']:>6}{row['50%']:>7}{row['95%']:>7}{row['99%']:>7}")
    floor_rate = float(floor_total["Requests/s"])
    print(f"floor (/healthz only, no think time, same gunicorn and Locust): requests/s {floor_rate:.1f} · "
          f"p50 {floor_total['50%']} ms · p95 {floor_total['95%']} ms · failures {floor_total['Failure Count']}")
    print(f"the mix serves {float(total['Requests/s']) / floor_rate:.3f} of the floor's requests/s")
    requests = int(total["Request Count"])
    logins = sum(int(row["Request Count"]) for row in rows if row["Name"] == "log in")
    web_cpu, db_cpu = cpu["gunicorn"], cpu["postgres"]
    login_cost = login_cpu_seconds()
    per_request = lambda seconds: 1000 * seconds / max(requests - logins, 1)  # noqa: E731
    print(f"CPU per mixed request (logins left out: {logins} × {login_cost * 1000:.0f} ms of password hashing): "
          f"gunicorn {per_request(web_cpu - logins * login_cost):.1f} ms + PostgreSQL {per_request(db_cpu):.1f} ms "
          f"= {per_request(web_cpu - logins * login_cost + db_cpu):.1f} ms")
    print_cpu_share(cpu, requests, float(total["Requests/s"]), floor_rate)
    problems = check_submissions(nips)
    print(f"database check: {len(nips)} successful submits; "
          + ("every one stored exactly once with all ratings, pillar scores and one submit event" if not problems else "PROBLEMS:"))
    for problem in problems[:20]:
        print("  -", problem)
    if problems or int(total["Failure Count"]):
        sys.exit(1)


if __name__ == "__main__":
    main()

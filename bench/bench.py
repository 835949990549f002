"""`make bench SIZE=XS|S|M`: the app under gunicorn with production settings on PostgreSQL,
measured over HTTP.

For each page: a warm-up, then N timed requests; prints median and p95 in milliseconds, the
number of SQL queries, and the ratio of the median to /healthz's. Dashboards are measured with
the roll-up cache off (the database work of every request, as right after a state change) and
again with it on. Last, the hand-written SQL that computes the root roll-up straight from the
ratings table is timed as the physical reference. The unit PDF report is a page like the others;
the whole organisation's Rekap workbook is made as a background job by a real Celery worker
(Redis on 127.0.0.1:6379), timed from the click to the file, with the root dashboard measured
while the worker runs it.

Results go to bench/results/<size>.json (for `make bench-growth`).
"""

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    BROKER,
    ROOT,
    SIZES,
    celery_worker,
    django_setup,
    gunicorn,
    prepare_database,
    production_env,
    session_for,
)

DASHBOARDS = ["dashboard root", "dashboard mid", "dashboard leaf", "drill-down tree", "staff table", "organisation"]


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Page:
    def __init__(self, name, send, status=200):
        self.name, self.send, self.status = name, send, status
        self.times, self.queries = [], []

    def measure(self, count, warmup):
        for _ in range(warmup):
            self.send()
        for _ in range(count):
            started = time.perf_counter()
            response = self.send()
            self.times.append((time.perf_counter() - started) * 1000)
            self.queries.append(int(response.headers.get("X-Query-Count", -1)))
            if response.status_code != self.status:
                raise RuntimeError(f"{self.name}: HTTP {response.status_code}, expected {self.status}")

    def row(self):
        return {
            "median": statistics.median(self.times),
            "p95": percentile(self.times, 0.95),
            "queries": max(set(self.queries), key=self.queries.count),
            "n": len(self.times),
        }


def client(base, session_key):
    import requests

    http = requests.Session()
    http.cookies.set("sessionid", session_key, domain="127.0.0.1")
    http.base = base
    return http


def csrf(http, path):
    page = http.get(http.base + path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    if "/privasi/pemberitahuan/" in page.url:  # a person's first form of the period: the privacy notice, read once
        http.post(page.url, data={"csrfmiddlewaretoken": token}, headers={"X-CSRFToken": token})
        return csrf(http, path)
    return token, page


def cast(size):
    """Pick the people and units the pages are measured with; make their sessions."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count, Exists, OuterRef

    from assessments.models import AssessmentPeriod, Employee, SelfAssessment, SupervisorAssignment, WorkUnit

    period = AssessmentPeriod.objects.get(status="open")
    root = WorkUnit.objects.get(code="SYN-PROV")
    deepest = WorkUnit.objects.order_by("-depth").values_list("depth", flat=True).first()
    mid = WorkUnit.objects.filter(depth=3).annotate(n=Count("employees")).order_by("path").first()
    leaf = WorkUnit.objects.filter(depth=deepest).order_by("path").first()
    head = SupervisorAssignment.objects.select_related("employee__user").get(unit=root).employee
    admin, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_superuser": True, "is_staff": True})
    started = SelfAssessment.objects.filter(employee=OuterRef("pk"), period=period)
    fresh = list(
        Employee.objects.filter(is_active=True).exclude(Exists(started)).exclude(headed__isnull=False)
        .select_related("user").order_by("?")[:60]
    )
    return {
        "period": period, "root": root, "mid": mid, "leaf": leaf,
        "head": session_for(head.user), "admin": session_for(admin),
        "staff": [session_for(e.user) for e in fresh],
    }


def form_data(page_html, version, score="4"):
    data = {"version": str(version)}
    for indicator in sorted(set(re.findall(r'name="rating_(\d+)"', page_html))):
        data[f"rating_{indicator}"] = score
        data[f"note_{indicator}"] = "catatan"
    return data


def measure(base, people, count, warmup, dashboards_only=False):
    period, staff = people["period"], list(people["staff"])
    head = client(base, people["head"])
    admin = client(base, people["admin"])
    root, mid, leaf = people["root"].code, people["mid"].code, people["leaf"].code
    get = lambda http, path: lambda: http.get(http.base + path)  # noqa: E731
    pages = [
        Page("dashboard root", get(head, f"/unit/{root}/")),
        Page("dashboard mid", get(head, f"/unit/{mid}/")),
        Page("dashboard leaf", get(head, f"/unit/{leaf}/")),
        Page("drill-down tree", get(head, f"/unit/{root}/sub-unit/?tampilan=pohon")),
        Page("staff table", get(head, f"/unit/{root}/pegawai/?semua=1")),
        Page("organisation", get(admin, "/rekap/")),
    ]
    if not dashboards_only:
        pages.insert(0, Page("healthz", get(head, "/healthz")))
        pages += [
            Page("unit PDF root", get(head, f"/unit/{root}/laporan.pdf")),
            Page("unit PDF mid", get(head, f"/unit/{mid}/laporan.pdf")),
            Page("admin: staff list", get(admin, "/admin/assessments/employee/")),
            Page("admin: assessments list", get(admin, "/admin/assessments/selfassessment/")),
        ]
        form_url = f"/penilaian/{period.code}/isi/"
        autosave_url = f"/penilaian/{period.code}/simpan-otomatis/"  # the page's JavaScript posts here
        writer = client(base, staff.pop())
        token, page = csrf(writer, form_url)
        state = {"version": 0, "data": form_data(page.text, 0)}

        def save():
            state["data"]["version"] = str(state["version"])
            response = writer.post(writer.base + autosave_url, data=state["data"], headers={"X-CSRFToken": token})
            state["version"] = response.json()["version"]
            return response

        pages.insert(1, Page("staff form", get(writer, form_url)))
        pages.insert(2, Page("draft save", save))

        # Each submit needs its own person with a complete draft (prepared, not timed).
        ready = []
        for key in staff[: count + warmup]:
            http = client(base, key)
            token_i, page_i = csrf(http, form_url)
            data = form_data(page_i.text, 0)
            data["action"] = "submit"
            response = http.post(http.base + form_url, data=data, headers={"X-CSRFToken": token_i}, allow_redirects=False)
            assert response.status_code == 302, response.status_code
            confirm = http.get(http.base + f"/penilaian/{period.code}/kirim/")
            version = re.search(r'name="version" value="(\d+)"', confirm.text).group(1)
            ready.append((http, token_i, version))

        def submit():
            http, token_i, version = ready.pop()
            return http.post(http.base + f"/penilaian/{period.code}/kirim/", data={"version": version},
                             headers={"X-CSRFToken": token_i}, allow_redirects=False)

        pages.insert(3, Page("submit", submit, status=302))
    for page in pages:
        page.measure(count, warmup)
    return {page.name: page.row() for page in pages}


def measure_job(base, people, count):
    """The whole organisation's Rekap workbook as a background job through a real worker: the
    seconds from the click to the finished file, and the root dashboard's median while the
    worker runs it (against its median just before)."""
    head, admin = client(base, people["head"]), client(base, people["admin"])
    dashboard = f"{head.base}/unit/{people['root'].code}/"

    def median_ms(n):
        times = []
        for _ in range(n):
            started = time.perf_counter()
            assert head.get(dashboard).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    before = median_ms(count)
    token, page = csrf(admin, "/rekap/")
    query = re.search(r'name="query" value="([^"]*)"', page.text).group(1).replace("&amp;", "&")
    started = time.perf_counter()
    response = admin.post(admin.base + "/rekap/ekspor.xlsx", data={"query": query}, headers={"X-CSRFToken": token}, allow_redirects=False)
    job_url = admin.base + response.headers["Location"]
    during = []
    while True:
        status = admin.get(job_url + "status/").json()
        if status["finished"]:
            break
        during.append(median_ms(3))
    seconds = time.perf_counter() - started
    assert status["state"] == "done", status
    size = len(admin.get(admin.base + status["download"]).content)
    return {"seconds": seconds, "units": status["total"], "bytes": size, "before_ms": before,
            "during_ms": statistics.median(during) if during else None}


def physical_reference(period, runs=5):
    """Time the one hand-written query computing the root roll-up (n, mean index, pillar means)
    straight from the ratings table; return (median ms, {pillar id or -1: mean}, n)."""
    from django.db import connection

    sql = """
        WITH per_pillar AS (
            SELECT r.assessment_id, pp.pillar_id, pp.weight AS pillar_weight,
                   25 * (SUM(pi.weight * r.score) / SUM(pi.weight) - 1) AS score
            FROM assessments_rating r
            JOIN assessments_selfassessment a ON a.id = r.assessment_id
            JOIN assessments_periodindicator pi ON pi.id = r.indicator_id
            JOIN assessments_periodpillar pp ON pp.id = pi.pillar_id
            WHERE a.period_id = %s AND a.state IN ('submitted', 'approved')
            GROUP BY r.assessment_id, pp.pillar_id, pp.weight
        ), per_assessment AS (
            SELECT assessment_id, SUM(pillar_weight * score) / SUM(pillar_weight) AS idx
            FROM per_pillar GROUP BY assessment_id
        )
        SELECT pillar_id, AVG(score), COUNT(*) FROM per_pillar GROUP BY pillar_id
        UNION ALL SELECT -1, AVG(idx), COUNT(*) FROM per_assessment
    """
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, [period.pk])
            rows = cursor.fetchall()
        times.append((time.perf_counter() - started) * 1000)
    means = {pillar: float(mean) for pillar, mean, _n in rows}
    counted = next(n for pillar, _mean, n in rows if pillar == -1)
    return statistics.median(times), means, counted


def report(size, results, cached, reference, job):
    floor = results["healthz"]["median"]
    print(f"\nmake bench SIZE={size}: {SIZES[size]['staff']:,} staff, {SIZES[size]['units']:,} units, "
          f"depth {SIZES[size]['depth']}, {SIZES[size]['periods']} closed periods + 1 open")
    print(f"{'page':<24}{'median ms':>10}{'p95 ms':>9}{'queries':>9}{'x healthz':>11}   n")
    for name, row in results.items():
        print(f"{name:<24}{row['median']:>10.1f}{row['p95']:>9.1f}{row['queries']:>9}{row['median'] / floor:>11.1f}   {row['n']}")
    print("with the roll-up cache on (warm):")
    for name, row in cached.items():
        print(f"{name + ' (cached)':<24}{row['median']:>10.1f}{row['p95']:>9.1f}{row['queries']:>9}{row['median'] / floor:>11.1f}   {row['n']}")
    during = f"{job['during_ms']:.1f} ms" if job["during_ms"] is not None else "not measured (it finished first)"
    print(f"Rekap workbook of the whole organisation as a job (Celery worker): {job['seconds']:.1f} s for {job['units']:,} units "
          f"({job['bytes'] / 1024:,.0f} KB); root dashboard median while it ran {during}, just before {job['before_ms']:.1f} ms")
    ms, _means, counted = reference
    root = results["dashboard root"]["median"]
    print(f"physical reference: root roll-up straight from the ratings table ({counted:,} assessments): "
          f"median {ms:.1f} ms; the root dashboard's median {root:.1f} ms is {root / ms:.2f} of it")


def check_reference(people, reference):
    """The dashboard's figures must equal the ones computed from the ratings themselves."""
    from assessments import rollups

    _ms, means, counted = reference
    rollup = rollups.unit_rollup(unit=people["root"], period=people["period"])
    assert rollup.counted == counted, (rollup.counted, counted)
    assert abs(rollup.index_mean - means[-1]) < 1e-6, (rollup.index_mean, means[-1])
    for pillar_id, mean in means.items():
        if pillar_id != -1:
            assert abs(rollup.pillar_mean(pillar_id) - mean) < 1e-6
    print(f"check: the root roll-up (n={counted:,}, mean index {rollup.index_mean:.4f}) equals the reference query's figures")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="S")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    (ROOT / "bench" / "results").mkdir(exist_ok=True)

    env = production_env(args.size, ROLLUP_CACHE_SECONDS=0)
    print(f"Preparing {args.size} on {env['DATABASE_URL']} (built once, then reused)...", flush=True)
    prepare_database(args.size, env)
    django_setup(env)
    people = cast(args.size)
    with gunicorn(env, args.workers) as base:
        results = measure(base, people, args.requests, args.warmup)
    with gunicorn(production_env(args.size, ROLLUP_CACHE_SECONDS=600), args.workers) as base:
        cached = measure(base, people, args.requests, args.warmup, dashboards_only=True)
    jobs_env = production_env(args.size, ROLLUP_CACHE_SECONDS=0, CELERY_BROKER_URL=BROKER, PRIVATE_STORAGE_ROOT=tempfile.mkdtemp(prefix="asn-bench-"))
    with celery_worker(jobs_env, ROOT / "bench" / "results" / "worker.log"), gunicorn(jobs_env, args.workers) as base:
        job = measure_job(base, people, args.requests)
    reference = physical_reference(people["period"])
    report(args.size, results, cached, reference, job)
    check_reference(people, reference)
    output = ROOT / "bench" / "results" / f"{args.size}.json"
    output.write_text(json.dumps({"size": args.size, "pages": results, "cached": cached, "reference_ms": reference[0], "rekap_job": job}, indent=2))
    print(f"saved {output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

"""`make faulttest`: stop the local PostgreSQL under a running gunicorn and start it again.

On its own database (asn_faulttest, rebuilt each run: migrate + seed_demo --force), with the app
under gunicorn with production settings on loopback (bench/common.py):

(a) pages and /healthz answer normally; two staff submit (the "whole" reference);
(d) four staff submit while this script holds a summary row: the first has written its state,
    pillar scores and log entry and waits, inside its transaction, for that row (summary_apply);
    the other three commit with their change to the summary rows left in the outbox and wait to
    add it; two more submit while PostgreSQL is being stopped;
(b) PostgreSQL is stopped (fast shutdown, which ends every transaction): the pages (login, a
    staff page, a dashboard, the admin) answer the friendly 503 page and /healthz 503 JSON, each
    within a bounded time, and the interrupted submits 503 too, never a 500;
(c) PostgreSQL is started again: the recovery time is how long until /healthz and every page
    answer 200, with the same gunicorn master and workers (no restart);
(d) each assessment is then either fully submitted (state, index, every pillar score, one
    "submitted" log entry, counted in the summary rows) or untouched (draft, nothing else),
    never in between; the interrupted ones submit fine afterwards; the summary rows of the
    period equal a full recomputation.

Prints a PASS/FAIL line per check and a summary with the recovery time; exits 1 on any failure.
PostgreSQL is started again whatever happens (finally, signals; scripts/faulttest.sh also traps
EXIT). Other people use the same server: the script first waits up to FAULTTEST_QUIET_SECONDS
(60) for their connections to close, the outage lasts about a second, and the script returns
only when PostgreSQL answers queries again. Needs root (or the cluster's owner) for
pg_ctlcluster. The database is dropped after a pass and kept after a failure (--keep: always).
"""

import argparse
import http.client
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    PG_SERVER,
    PYTHON,
    ROOT,
    create_database,
    django_setup,
    drop_database,
    gunicorn,
    prepare_static,
    production_env,
    run,
    session_for,
)

DATABASE = "asn_faulttest"
DATABASE_URL = f"{PG_SERVER}/{DATABASE}"
WORKERS = 8  # sync workers: the held submits occupy six while the outage begins
PAGE_SECONDS = 5.0  # longest acceptable answer while the database is down (DB_CONNECT_TIMEOUT is 5)
RECOVERY_SECONDS = 30.0  # longest acceptable recovery after PostgreSQL is back
# Before stopping PostgreSQL, wait this long at most for other people's connections to close.
QUIET_SECONDS = float(os.environ.get("FAULTTEST_QUIET_SECONDS", "60"))
FRIENDLY = "Layanan sedang tidak tersedia"
LOG_NAME = "faulttest-gunicorn.log"
# Where gunicorn writes its pid: scripts/faulttest.sh stops it should this script be killed.
PIDFILE = ROOT / "bench" / "results" / "faulttest-gunicorn.pid"


# --- PostgreSQL --------------------------------------------------------------------------------


def cluster() -> tuple[str, str]:
    """(version, name) of the local cluster listening on PG_SERVER's port (pg_lsclusters)."""
    port = str(urllib.parse.urlsplit(PG_SERVER).port or 5432)
    lines = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    for line in lines.splitlines():
        columns = line.split()
        if len(columns) >= 3 and columns[2] == port:
            return columns[0], columns[1]
    raise SystemExit(f"faulttest: no local PostgreSQL cluster on port {port} (pg_lsclusters)")


def pg_ctl(action: str, *options: str, wait: bool = True):
    version, name = cluster()
    args = ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, action, *options]
    if wait:
        return subprocess.run(args, capture_output=True, text=True, timeout=120)
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def accepting(timeout: int = 1) -> bool:
    """Whether PostgreSQL answers a query (not only listens)."""
    import psycopg2

    try:
        with closing(psycopg2.connect(f"{PG_SERVER}/postgres", connect_timeout=timeout)) as connection:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                return cursor.fetchone() == (1,)
    except psycopg2.Error:
        return False


def ensure_postgres_up(deadline_seconds: float = 90) -> bool:
    """Start PostgreSQL if it does not answer, and wait until it does. Safe to call any time."""
    if accepting():
        return True
    started = time.monotonic()
    attempt = 0
    while time.monotonic() - started < deadline_seconds:
        if attempt % 20 == 0:  # every ~5 s: (re)issue the start; "already running" is harmless
            result = pg_ctl("start")
            if result.returncode not in (0, 2):
                print(f"pg_ctlcluster start: {result.stdout.strip()} {result.stderr.strip()}", file=sys.stderr)
        attempt += 1
        if accepting():
            return True
        time.sleep(0.25)
    return False


def wait_for_quiet_server(seconds: float) -> int:
    """Wait up to `seconds` until no other database of the server has a client connected (other
    people's test runs: the outage would cut their connections); return how many remain."""
    import psycopg2

    deadline = time.monotonic() + seconds
    announced = False
    while True:
        with closing(psycopg2.connect(f"{PG_SERVER}/postgres")) as connection, connection.cursor() as cursor:
            cursor.execute(
                """SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'
                   AND pid <> pg_backend_pid() AND datname IS DISTINCT FROM %s""",
                [DATABASE],
            )
            others = cursor.fetchone()[0]
        if others == 0 or time.monotonic() >= deadline:
            return others
        if not announced:
            print(f"      waiting up to {seconds:.0f} s for {others} connection(s) of other people to the server to close", flush=True)
            announced = True
        time.sleep(1)


# --- HTTP (standard library: this runs from the test virtualenv) -------------------------------


@dataclass
class Reply:
    status: int
    body: str = ""
    headers: dict = field(default_factory=dict)
    cookies: dict = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""

    def describe(self) -> str:
        return f"HTTP {self.status} in {self.seconds:.3f} s" if self.status else f"no answer after {self.seconds:.3f} s ({self.error})"


class Http:
    def __init__(self, base: str):
        self.port = urllib.parse.urlsplit(base).port

    def fetch(self, path: str, *, session: str | None = None, form: dict | None = None, cookies: dict | None = None, timeout: float = 30) -> Reply:
        jar = dict(cookies or {})
        if session:
            jar["sessionid"] = session
        headers = {"Host": "127.0.0.1"}
        if jar:
            headers["Cookie"] = "; ".join(f"{key}={value}" for key, value in jar.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        started = time.perf_counter()
        try:
            connection.request("POST" if form is not None else "GET", path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
            set_cookies = {}
            for line in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = line.partition("=")
                set_cookies[name.strip()] = rest.split(";")[0]
            return Reply(response.status, text, dict(response.headers), set_cookies, time.perf_counter() - started)
        except (OSError, http.client.HTTPException) as error:
            return Reply(0, seconds=time.perf_counter() - started, error=f"{type(error).__name__}: {error}")
        finally:
            connection.close()


# --- Checks ------------------------------------------------------------------------------------


class Report:
    def __init__(self):
        self.results: list[tuple[bool, str]] = []

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        self.results.append((bool(ok), what))
        print(f"{'PASS' if ok else 'FAIL'}  {what}{f' - {detail}' if detail else ''}", flush=True)
        return bool(ok)

    @property
    def failed(self) -> list[str]:
        return [what for ok, what in self.results if not ok]


@dataclass
class Person:
    username: str
    session: str
    employee_id: int = 0
    assessment_id: int = 0
    draft_version: int = 0
    group: str = ""
    reply: Reply | None = None


@dataclass
class Page:
    name: str
    path: str
    who: str | None  # a Person's username, or None: anonymous
    marker: str  # text of the normal page


def worker_pids(master: int) -> set[int]:
    try:
        return {int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()}
    except OSError:
        return set()


# --- Data --------------------------------------------------------------------------------------


def build_database(env: dict) -> None:
    drop_database(DATABASE)
    create_database(DATABASE)
    run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env)
    run([PYTHON, "manage.py", "seed_demo", "--force"], env, quiet=True)
    prepare_static(env)


def cast_people(count: int) -> tuple[dict[str, Person], list[Person]]:
    """Sessions for the demo logins, and `count` staff of different units with a complete draft
    of the open period (none had started it)."""
    from django.contrib.auth import get_user_model

    from assessments import services
    from assessments.models import AssessmentPeriod, Employee, SelfAssessment

    User = get_user_model()
    logins = {name: Person(name, session_for(User.objects.get(username=name))) for name in ("pegawai", "atasan", "admin")}
    period = AssessmentPeriod.objects.get(status="open")
    questionnaire = [i for pillar in period.questionnaire() for i in pillar.indicators.all()]
    candidates = (
        Employee.objects.filter(is_active=True, headed__isnull=True)
        .exclude(pk__in=SelfAssessment.objects.filter(period=period).values("employee_id"))
        .exclude(user__username="pegawai")
        .select_related("user")
        .order_by("unit_id", "pk")
    )
    rng = random.Random(2026)
    chosen, units = [], set()
    for employee in candidates:  # different units first: different summary chains
        if employee.unit_id not in units:
            chosen.append(employee)
            units.add(employee.unit_id)
        if len(chosen) == count:
            break
    for employee in candidates:
        if len(chosen) == count:
            break
        if employee not in chosen:
            chosen.append(employee)
    staff = []
    for employee in chosen:
        answers = {i.pk: services.Answer(score=rng.randint(2, 5), note="catatan uji gangguan") for i in questionnaire}
        draft = services.assessment_save_draft(employee=employee, period=period, answers=answers, version=0, actor=employee.user)
        staff.append(Person(employee.user.username, session_for(employee.user), employee.pk, draft.pk, draft.version))
    return logins, staff


def classify(person: Person) -> tuple[str, str]:
    """('whole' | 'untouched' | 'PARTIAL', detail) for a person's assessment, from the database."""
    from assessments.models import AssessmentEvent, PeriodIndicator, PeriodPillar, PillarScore, SelfAssessment

    assessment = SelfAssessment.objects.get(pk=person.assessment_id)
    pillars = PeriodPillar.objects.filter(period_id=assessment.period_id).count()
    indicators = PeriodIndicator.objects.filter(pillar__period_id=assessment.period_id).count()
    scores = PillarScore.objects.filter(assessment=assessment).count()
    events = AssessmentEvent.objects.filter(assessment=assessment, to_state="submitted").count()
    ratings = assessment.ratings.exclude(score__isnull=True).count()
    facts = (
        f"state={assessment.state} version={assessment.version} index={assessment.index_score} grade={assessment.grade!r} "
        f"pillar_scores={scores}/{pillars} submitted_events={events} ratings={ratings}/{indicators}"
    )
    whole = (
        assessment.state == "submitted" and assessment.index_score is not None and assessment.grade != ""
        and assessment.submitted_at is not None and scores == pillars and events == 1 and ratings == indicators
        and assessment.version == person.draft_version + 1
    )
    untouched = (
        assessment.state == "draft" and assessment.index_score is None and assessment.grade == ""
        and assessment.submitted_at is None and scores == 0 and events == 0 and ratings == indicators
        and assessment.version == person.draft_version
    )
    return ("whole" if whole else "untouched" if untouched else "PARTIAL"), facts


def summaries_match_recomputation() -> tuple[bool, str]:
    """Compare the open period's summary rows (kept up to date submit by submit) with a full
    recomputation (summaries.summary_rebuild, rolled back): every counted assessment counted once,
    nothing else."""
    from django.db import transaction

    from assessments import summaries
    from assessments.models import AssessmentPeriod, UnitPeriodIndicatorSummary, UnitPeriodPillarSummary, UnitPeriodSummary
    from assessments.rollups import GRADE_FIELDS

    period = AssessmentPeriod.objects.get(status="open")

    def snapshot():
        rows = {}
        for row in UnitPeriodSummary.objects.filter(period=period).values("unit_id", "counted", "index_sum", *GRADE_FIELDS.values()):
            if row["counted"]:
                rows[("unit", row.pop("unit_id"))] = row
        for model, key in ((UnitPeriodPillarSummary, "pillar_id"), (UnitPeriodIndicatorSummary, "indicator_id")):
            for unit_id, item, counted, total in model.objects.filter(period=period).values_list("unit_id", key, "counted", "score_sum"):
                if counted:
                    rows[(key, unit_id, item)] = {"counted": counted, "score_sum": total}
        return rows

    class Rollback(Exception):
        pass

    kept = snapshot()
    try:
        with transaction.atomic():
            summaries.summary_rebuild(period=period)
            rebuilt = snapshot()
            raise Rollback
    except Rollback:
        pass
    differences = []
    for key in sorted(set(kept) | set(rebuilt), key=str):
        a, b = kept.get(key, {}), rebuilt.get(key, {})
        for name in sorted(set(a) | set(b)):
            if abs(float(a.get(name, 0)) - float(b.get(name, 0))) > 1e-6:
                differences.append(f"{key} {name}: kept {a.get(name)} rebuilt {b.get(name)}")
    root = max((row for key, row in kept.items() if key[0] == "unit"), key=lambda row: row["counted"], default={"counted": 0})
    detail = f"{len(kept)} non-empty summary rows, {root['counted']} counted at the root"
    return not differences, detail if not differences else "; ".join(differences[:5])


# --- The test ----------------------------------------------------------------------------------


def confirmation(http: Http, person: Person, period_code: str) -> tuple[dict, dict] | Reply:
    """Open the confirmation page as the person does: (cookies, form) to confirm with, or the
    Reply when it did not open."""
    page = http.fetch(f"/penilaian/{period_code}/kirim/", session=person.session)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    version = re.search(r'name="version" value="(\d+)"', page.body)
    if page.status != 200 or not token or not version or "csrftoken" not in page.cookies:
        return Reply(page.status, page.body, error="the confirmation page did not open", seconds=page.seconds)
    return {"csrftoken": page.cookies["csrftoken"]}, {"csrfmiddlewaretoken": token.group(1), "version": version.group(1)}


def confirm(http: Http, person: Person, period_code: str, prepared: tuple[dict, dict] | Reply, timeout: float = 60) -> Reply:
    if isinstance(prepared, Reply):
        return prepared
    cookies, form = prepared
    return http.fetch(f"/penilaian/{period_code}/kirim/", session=person.session, cookies=cookies, form=form, timeout=timeout)


def submit(http: Http, person: Person, period_code: str) -> Reply:
    return confirm(http, person, period_code, confirmation(http, person, period_code))


def submit_in_thread(http: Http, person: Person, period_code: str, prepared, delay: float = 0) -> threading.Thread:
    def go():
        time.sleep(delay)
        person.reply = confirm(http, person, period_code, prepared)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread


def waiting_backends(monitor, count: int, seconds: float = 20) -> list[tuple[int, str, set[str]]]:
    """Wait until `count` backends of our database wait for a lock; return (pid, the statement
    it waits in, the tables its open transaction has written to) for each."""
    deadline = time.monotonic() + seconds
    rows = []
    while time.monotonic() < deadline:
        with monitor.cursor() as cursor:
            cursor.execute(
                """
                SELECT a.pid, left(a.query, 60), array_agg(DISTINCT c.relname ORDER BY c.relname)
                       FILTER (WHERE l.mode = 'RowExclusiveLock' AND l.granted AND c.relkind = 'r')
                FROM pg_stat_activity a
                JOIN pg_locks l ON l.pid = a.pid
                LEFT JOIN pg_class c ON c.oid = l.relation
                WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'
                GROUP BY a.pid, a.query
                """
            )
            rows = cursor.fetchall()
        if len(rows) >= count:
            break
        time.sleep(0.05)
    return [(pid, query, set(tables or [])) for pid, query, tables in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ensure-up", action="store_true", help="only start PostgreSQL if it is down, and wait for it")
    parser.add_argument("--keep", action="store_true", help=f"keep the {DATABASE} database after a pass")
    args = parser.parse_args()
    if args.ensure_up:
        return 0 if ensure_postgres_up() else 1
    if os.geteuid() != 0 and subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip() != "postgres":
        print("faulttest: stopping and starting PostgreSQL (pg_ctlcluster) needs root or the postgres user", file=sys.stderr)
        return 2
    if not ensure_postgres_up():
        print("faulttest: PostgreSQL is not running and does not start", file=sys.stderr)
        return 2

    def terminate(signum, frame):
        raise SystemExit(128 + signum)  # unwinds through the finally below: PostgreSQL is started

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, terminate)

    report = Report()
    recovery = {}
    try:
        run_test(report, recovery)
    except Exception as error:  # noqa: BLE001 - reported as a failure; PostgreSQL is started below
        import traceback

        traceback.print_exc()
        report.check(False, f"the fault test ran to its end ({type(error).__name__}: {error})")
    finally:
        back = ensure_postgres_up()
        report.check(back, "PostgreSQL accepts connections again at the end")

    print("\n=== Fault test summary")
    if recovery:
        print(
            f"outage: {recovery['outage']:.2f} s (stop {recovery['stop']:.2f} s, PostgreSQL accepting again "
            f"{recovery['pg']:.2f} s after the start command)"
        )
        print(
            f"recovery time (PostgreSQL accepting -> app answering): /healthz 200 after {recovery['healthz']:.3f} s, "
            f"every page 200 after {recovery['pages']:.3f} s; "
            + ("same gunicorn master and workers throughout" if recovery.get("same_workers") else "GUNICORN WORKERS CHANGED")
        )
        print(f"slowest answer while PostgreSQL was down: {recovery['slowest']:.3f} s")
    print(f"gunicorn log: bench/results/{LOG_NAME}")
    if report.failed:
        print(f"FAULT TEST FAILED: {len(report.failed)} of {len(report.results)} checks failed:")
        for what in report.failed:
            print(f"  - {what}")
        print(f"(database {DATABASE} kept for inspection)")
        return 1
    if not args.keep:
        drop_database(DATABASE)
    print(f"FAULT TEST PASSED: {len(report.results)} checks")
    return 0


def run_test(report: Report, recovery: dict) -> None:
    env = production_env(None, DATABASE_URL=DATABASE_URL, QUERY_COUNT_HEADER="0", LOG_LEVEL="WARNING")
    print(f"Preparing {DATABASE} (migrate, seed_demo --force, collectstatic)...", flush=True)
    build_database(env)
    django_setup(env)
    import psycopg2
    from django.db import connections

    from assessments.models import AssessmentPeriod

    period = AssessmentPeriod.objects.get(status="open")
    logins, staff = cast_people(8)
    whole_group, held_group, racing_group = staff[:2], staff[2:6], staff[6:]
    for person, group in [(p, "submitted before the outage") for p in whole_group] + [
        (p, "inside its transaction when PostgreSQL stopped") for p in held_group
    ] + [(p, "sent while PostgreSQL was stopping") for p in racing_group]:
        person.group = group
    unit = "DUKCAPIL"
    pages = [
        Page("login page", "/akun/login/", None, 'name="username"'),
        Page("staff page (my assessments)", "/penilaian/", "pegawai", str(period)),
        Page("unit dashboard", f"/unit/{unit}/", "atasan", "Direktorat Jenderal Kependudukan dan Pencatatan Sipil"),
        Page("organisation roll-up", "/rekap/", "admin", "Kementerian Dalam Negeri"),
        Page("admin", "/admin/", "admin", "Administrasi"),
    ]
    connections.close_all()  # this process's connection would be cut by the outage anyway

    pidfile = PIDFILE
    log = ROOT / "bench" / "results" / LOG_NAME
    log.parent.mkdir(exist_ok=True)
    log.write_text("")
    with gunicorn(env, WORKERS, log_name=LOG_NAME, extra_args=("--pid", str(pidfile))) as base:
        http = Http(base)
        master = int(pidfile.read_text())
        time.sleep(0.5)
        workers_before = worker_pids(master)

        def page(p: Page, timeout: float = 30) -> Reply:
            return http.fetch(p.path, session=logins[p.who].session if p.who else None, timeout=timeout)

        print("\n(a) normal operation", flush=True)
        reply = http.fetch("/healthz")
        report.check(reply.status == 200 and '"ok"' in reply.body, "/healthz answers 200 ok", reply.describe())
        for p in pages:
            reply = page(p)
            report.check(reply.status == 200 and p.marker in reply.body, f"{p.name} {p.path} answers 200", reply.describe())
        for person in whole_group:
            person.reply = submit(http, person, period.code)
            report.check(person.reply.status == 302, f"{person.username} submits normally", person.reply.describe())

        print("\n(d) submits cut off inside their transaction by (b) PostgreSQL stopping", flush=True)
        others = wait_for_quiet_server(QUIET_SECONDS)
        print(f"INFO  other client connections to the server when stopping it: {others}", flush=True)
        # A transaction of ours holds the root unit's summary row of the period. The first submit
        # takes the period's summary lock, writes the assessment, its pillar scores and its log
        # entry, then waits for that row inside its transaction (summary_apply). The others find
        # the summary lock taken: they commit at once with their change left in the outbox
        # (SummaryDelta) and wait, outside any transaction, to add it.
        holder = psycopg2.connect(DATABASE_URL)
        monitor = psycopg2.connect(DATABASE_URL)
        monitor.autocommit = True
        threads = []
        try:
            with holder.cursor() as cursor:
                cursor.execute(
                    """SELECT s.id FROM assessments_unitperiodsummary s JOIN assessments_workunit u ON u.id = s.unit_id
                       WHERE s.period_id = %s AND u.depth = 1 FOR UPDATE OF s""",
                    [period.pk],
                )
            prepared = {person.username: confirmation(http, person, period.code) for person in held_group + racing_group}
            threads += [submit_in_thread(http, person, period.code, prepared[person.username]) for person in held_group]
            waiting = waiting_backends(monitor, 1)
            writes = {"assessments_selfassessment", "assessments_pillarscore", "assessments_assessmentevent"}
            halfway = [pid for pid, query, tables in waiting if writes <= tables]
            time.sleep(0.5)
            with monitor.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM assessments_summarydelta")
                pending = cursor.fetchone()[0]
            print(f"INFO  {pending} of the other submits committed with their summary change pending in the outbox", flush=True)
            report.check(
                len(halfway) == 1,
                "a submit waits inside its transaction for the held row, having written the assessment, its pillar scores "
                "and its log entry",
                "; ".join(f"pid {pid} waits in {query!r}... having written {', '.join(sorted(tables)) or 'nothing'}" for pid, query, tables in waiting),
            )
            monitor.close()
            outage_started = time.monotonic()
            stopping = pg_ctl("stop", "-m", "fast", wait=False)
            threads += [
                submit_in_thread(http, person, period.code, prepared[person.username], delay=0.03 * i)
                for i, person in enumerate(racing_group)
            ]
            output, _ = stopping.communicate(timeout=120)
            stop_seconds = time.monotonic() - outage_started
            report.check(stopping.returncode == 0 and not accepting(), "PostgreSQL stopped (fast shutdown)", f"{stop_seconds:.2f} s {output.strip()}")
        finally:
            for connection in (holder, monitor):
                try:
                    connection.close()
                except psycopg2.Error:
                    pass
        for thread in threads:
            thread.join(timeout=60)
        for person in held_group + racing_group:
            reply = person.reply or Reply(0, error="no answer within 60 s")
            report.check(
                reply.status in (302, 503) and "Traceback" not in reply.body and (reply.status == 302 or FRIENDLY in reply.body),
                f"interrupted submit of {person.username} ({person.group}) answers 503 or 302, never 500",
                reply.describe(),
            )

        slowest = 0.0
        print("\n(b) PostgreSQL down", flush=True)
        reply = http.fetch("/healthz", timeout=PAGE_SECONDS * 3)
        slowest = max(slowest, reply.seconds)
        report.check(
            reply.status == 503 and '"unavailable"' in reply.body and reply.seconds < PAGE_SECONDS,
            "/healthz answers 503 JSON in bounded time", f"{reply.describe()} {reply.body.strip()}",
        )
        for p in pages:
            reply = page(p, timeout=PAGE_SECONDS * 3)
            slowest = max(slowest, reply.seconds)
            report.check(
                reply.status == 503 and FRIENDLY in reply.body and 'lang="en"' in reply.body and "Traceback" not in reply.body
                and reply.headers.get("Retry-After") and reply.seconds < PAGE_SECONDS,
                f"{p.name} answers the friendly 503 page in bounded time", f"{reply.describe()}, Retry-After {reply.headers.get('Retry-After')}",
            )
        reply = http.fetch(f"/penilaian/{period.code}/kirim/", session=staff[2].session, timeout=PAGE_SECONDS * 3)
        slowest = max(slowest, reply.seconds)
        report.check(reply.status == 503 and FRIENDLY in reply.body, "the confirmation page answers 503 too", reply.describe())

        print("\n(c) PostgreSQL started again", flush=True)
        starting = pg_ctl("start", wait=False)
        start_at = time.monotonic()
        pg_at = healthz_at = pages_at = None
        while time.monotonic() - start_at < RECOVERY_SECONDS + 30:
            if pg_at is None and accepting(timeout=1):
                pg_at = time.monotonic()
            if healthz_at is None and http.fetch("/healthz", timeout=5).status == 200:
                healthz_at = time.monotonic()
                pg_at = pg_at or healthz_at
            if healthz_at is not None and all(page(p, timeout=10).status == 200 for p in pages):
                pages_at = time.monotonic()
                break
            time.sleep(0.05)
        starting.communicate(timeout=120)
        outage_seconds = (pg_at or time.monotonic()) - outage_started
        report.check(pg_at is not None, "PostgreSQL accepts connections again", f"{(pg_at or time.monotonic()) - start_at:.2f} s after the start command")
        if pg_at and healthz_at and pages_at:
            recovery.update(
                outage=outage_seconds, stop=stop_seconds, pg=pg_at - start_at, healthz=max(0.0, healthz_at - pg_at),
                pages=max(0.0, pages_at - pg_at), slowest=slowest,
            )
        report.check(
            pages_at is not None and pages_at - pg_at < RECOVERY_SECONDS,
            "/healthz and every page answer 200 again without restarting gunicorn",
            f"/healthz after {healthz_at - pg_at:.3f} s, every page after {pages_at - pg_at:.3f} s" if pages_at else "not within the limit",
        )
        statuses = []
        for _ in range(2 * WORKERS):  # every worker, each with a connection the outage had cut
            statuses += [http.fetch("/healthz").status] + [page(p).status for p in pages]
        report.check(set(statuses) == {200}, f"{len(statuses)} more requests answer 200", f"statuses {sorted(set(statuses))}")
        workers_after = worker_pids(master)
        recovery["same_workers"] = report.check(
            os.path.exists(f"/proc/{master}") and workers_after == workers_before and len(workers_before) == WORKERS,
            "same gunicorn master and workers as before the outage (no restart)",
            f"master {master}, workers {sorted(workers_before)} -> {sorted(workers_after)}",
        )

        print("\n(d) whole or nothing", flush=True)
        connections.close_all()
        outcomes = {}
        for person in staff:
            outcome, facts = classify(person)
            outcomes[person.username] = outcome
            expected = "whole" if person in whole_group else ("whole", "untouched")
            report.check(
                outcome in expected if isinstance(expected, tuple) else outcome == expected,
                f"{person.username} ({person.group}): {outcome}", facts,
            )
        for person in held_group + racing_group:
            told = person.reply.status if person.reply else 0
            report.check(
                told != 302 or outcomes[person.username] == "whole",
                f"{person.username} was told 'submitted' (302) only if it was", f"HTTP {told}, {outcomes[person.username]}",
            )
        held = sum(outcomes[p.username] == "untouched" for p in held_group)
        print(f"INFO  submits cut off inside their transaction and rolled back: {held} of {len(held_group)}", flush=True)
        for person in held_group + racing_group:
            if outcomes[person.username] == "untouched":
                reply = submit(http, person, period.code)
                outcome, facts = classify(person)
                report.check(reply.status == 302 and outcome == "whole", f"{person.username} submits after the recovery: {outcome}", f"{reply.describe()}; {facts}")
        ok, detail = summaries_match_recomputation()
        report.check(ok, "summary rows of the period equal a full recomputation (each submitted assessment counted once)", detail)
        text = log.read_text()
        report.check(
            "Internal Server Error" not in text and "Error handling request" not in text and "WORKER TIMEOUT" not in text,
            "no 500, unhandled error or worker timeout in the gunicorn log",
            f"{text.count('database unavailable')} 'database unavailable' warnings, {text.count('Traceback')} tracebacks",
        )


if __name__ == "__main__":
    sys.exit(main())

"""What the benchmark, the load test and the fault test share: the data sizes, the database of
each size, the production-settings environment, gunicorn on a free loopback port, and pre-made
sessions. Only the standard library and the app's own requirements: `make faulttest` runs from
the test virtualenv, without the benchmark tools."""

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SIZES = {
    "XS": {"staff": 1_000, "units": 50, "depth": 4, "periods": 2},
    "S": {"staff": 10_000, "units": 500, "depth": 5, "periods": 4},
    "M": {"staff": 100_000, "units": 2_000, "depth": 5, "periods": 4},
}
PG_SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")


def database_url(size: str) -> str:
    return f"{PG_SERVER}/asn_bench_{size.lower()}"


SECRET_KEY = "bench-" + secrets.token_urlsafe(40)  # one per run: sessions made here stay valid


def production_env(size: str | None, **extra) -> dict:
    """Production settings (DEBUG off, hashed static files, SMTP off) for loopback HTTP: no TLS
    here, so no HTTPS redirect or secure-only cookies. The database is the size's, or (size
    None) the DATABASE_URL given in `extra`."""
    env = dict(os.environ)
    if size is not None:
        env["DATABASE_URL"] = database_url(size)
    env.update(
        DEBUG="0",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        QUERY_COUNT_HEADER="1",
        LOG_LEVEL="WARNING",
    )
    env.update({key: str(value) for key, value in extra.items()})
    return env


def run(args: list[str], env: dict, quiet: bool = False) -> None:
    subprocess.run(args, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL if quiet else None)


def _server_sql(sql: str, params=()):
    """Run one statement on the server's `postgres` database, outside a transaction (CREATE and
    DROP DATABASE cannot run in one); return the first row."""
    import psycopg2

    connection = psycopg2.connect(f"{PG_SERVER}/postgres")
    connection.autocommit = True
    with closing(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() if cursor.description else None


def create_database(name: str) -> None:
    """Create database `name` on PG_SERVER unless it exists."""
    if _server_sql("SELECT 1 FROM pg_database WHERE datname = %s", [name]) is None:
        _server_sql(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    """Drop database `name` on PG_SERVER if it exists, closing its connections."""
    _server_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare_database(size: str, env: dict) -> None:
    """Create the size's database if needed, migrate it, and build the synthetic data once
    (seed_scale is a no-op when the same data is already there)."""
    create_database(f"asn_bench_{size.lower()}")
    run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env)
    parameters = SIZES[size]
    run([PYTHON, "manage.py", "seed_scale", *[f"--{key}={value}" for key, value in parameters.items()]], env)
    prepare_static(env)


def prepare_static(env: dict) -> None:
    """What gunicorn with DEBUG off needs besides the database: hashed static files, catalogues."""
    run([PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"], env)
    run([PYTHON, "manage.py", "compile_translations"], env, quiet=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback server
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def gunicorn(env: dict, workers: int, log_name: str = "gunicorn.log", extra_args: tuple[str, ...] = ()):
    """Serve the app under gunicorn (as in production) on a free loopback port; its output goes
    to bench/results/<log_name>."""
    port = free_port()
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    log = open(ROOT / "bench" / "results" / log_name, "a")  # noqa: SIM115
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "asn_integrity.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--worker-class", "sync", "--timeout", "120", "--log-level", "warning", *extra_args],
        cwd=ROOT, env=env, stdout=log, stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if _healthy(base + "/healthz"):
                break
            if server.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see bench/results/{log_name}")
            time.sleep(0.25)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


BROKER = "redis://127.0.0.1:6379/7"  # the local Redis, a database of its own


@contextmanager
def celery_worker(env: dict, log_path: Path):
    """A Celery worker (as docker-compose's `worker` runs it) on the broker in env's
    CELERY_BROKER_URL, its output in `log_path`; stopped on leaving."""
    subprocess.run(["redis-cli", "-n", env["CELERY_BROKER_URL"].rsplit("/", 1)[-1], "FLUSHDB"], check=True, stdout=subprocess.DEVNULL)
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [PYTHON, "-m", "celery", "-A", "asn_integrity", "worker", "--pool", "solo", "--loglevel", "INFO",
             "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def django_setup(env: dict) -> None:
    """Use the app's models from this process, on the benchmark database."""
    os.environ.update({key: env[key] for key in ("DATABASE_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asn_integrity.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def session_for(user) -> str:
    """Return the key of a logged-in session for `user`, made directly in the session store.

    Logging in checks a PBKDF2 password hash (about half a second of CPU by design); doing that
    for every simulated person would measure the hash instead of the application. Whoever needs
    a second factor (admins: enforced with DEBUG off) gets the session the code page leaves: it
    names an authenticator app of theirs (made once), so every request loads it, as in production."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from assessments import permissions

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "assessments.sso.LocalPasswordBackend"  # as a password login (settings)
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if permissions.needs_second_factor(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.create()
    return session.session_key


TICK = os.sysconf("SC_CLK_TCK")


def processes(match) -> dict[int, float]:
    """{pid: CPU seconds used so far} of the processes whose command line satisfies `match`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if match(command):
            found[int(entry.name)] = (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
    return found


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between the two readings (a process that started since counts from 0)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, over all cores (/proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICK, sum(fields[:8]) / TICK


class CpuMeter:
    """CPU seconds used between start() and stop() by gunicorn (on `port`), PostgreSQL, the load
    generator (Locust, or bench/submit.py's threads), the Celery worker and the whole machine:
    whether a load is CPU-bound here, and what it would take to go faster."""

    GROUPS = {
        "gunicorn": lambda port: lambda command: "gunicorn" in command and f"127.0.0.1:{port}" in command,
        "postgres": lambda port: lambda command: command.startswith("postgres"),
        "worker": lambda port: lambda command: "celery" in command and " worker" in command,
    }

    def __init__(self, port: str):
        self.matchers = {name: make(port) for name, make in self.GROUPS.items()}

    def read(self) -> dict:
        # The client is this process (bench/submit.py's threads) and the children it has waited
        # for (Locust, which has ended by stop()): os.times counts both.
        return {name: processes(match) for name, match in self.matchers.items()} | {
            "client": sum(os.times()[:4]),
            "machine": machine_cpu(),
            "at": time.monotonic(),
        }

    def start(self) -> None:
        self.before = self.read()

    def stop(self) -> dict:
        """{group: CPU seconds} and "wall" (seconds), "busy" (the machine's busy CPU seconds),
        "cores" (how many the machine has)."""
        after = self.read()
        used = {name: cpu_used(self.before[name], after[name]) for name in self.matchers}
        used["client"] = after["client"] - self.before["client"]
        busy = after["machine"][0] - self.before["machine"][0]
        return used | {"wall": after["at"] - self.before["at"], "busy": busy, "cores": os.cpu_count() or 1}

"""Several web replicas behind nginx, as `docker compose up --scale web=3` runs them, but with
local processes (no Docker engine needed): two gunicorns with production settings on the
benchmark's XS database, Redis as the shared cache, and nginx with deploy/nginx.conf pointing
at both. Checks that a person logged in through nginx stays logged in whichever replica
answers, that both replicas answer, and that the roll-up cache lands in Redis.

    python scripts/smoke_replicas.py        (needs nginx, Redis on 127.0.0.1:6379, PostgreSQL)
"""

import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import django_setup, free_port, gunicorn, prepare_database, production_env  # noqa: E402

NGINX_MAIN = """
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$status $upstream_addr $request_uri';
    access_log {prefix}/access.log upstreams;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    {server}
}}
"""


def main():
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    env = production_env("XS", REDIS_URL="redis://127.0.0.1:6379/0", BEHIND_PROXY="1", ROLLUP_CACHE_SECONDS="600")
    prepare_database("XS", env)
    django_setup(env)
    from assessments.models import Employee, SupervisorAssignment

    staff = Employee.objects.filter(is_active=True, headed__isnull=True).order_by("pk").first()
    head = SupervisorAssignment.objects.select_related("employee__user", "unit").order_by("unit__depth").first()
    subprocess.run(["redis-cli", "-n", "0", "FLUSHDB"], check=True, stdout=subprocess.DEVNULL)

    with ExitStack() as stack, tempfile.TemporaryDirectory() as prefix:
        replicas = [stack.enter_context(gunicorn(env, workers=1)) for _ in range(2)]
        port = free_port()
        site = (ROOT / "deploy" / "nginx.conf").read_text()
        site = site.replace("server web:8000 max_fails=3 fail_timeout=10s;",
                            "\n".join(f"server {r.removeprefix('http://')};" for r in replicas))
        site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
        conf = Path(prefix) / "nginx.conf"
        conf.write_text(NGINX_MAIN.format(prefix=prefix, server=site))
        subprocess.run([nginx, "-t", "-q", "-c", str(conf), "-p", prefix], check=True)
        server = subprocess.Popen([nginx, "-c", str(conf), "-p", prefix, "-g", "daemon off;"])
        stack.callback(server.terminate)
        time.sleep(0.5)

        import requests

        base = f"http://127.0.0.1:{port}"
        http = requests.Session()
        assert http.get(base + "/healthz").json() == {"status": "ok"}
        page = http.get(base + "/akun/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        login = http.post(base + "/akun/login/", data={"username": staff.user.username, "password": "asn-bench-2026",
                                                        "csrfmiddlewaretoken": token}, allow_redirects=False)
        assert login.status_code == 302, login.status_code
        statuses = [http.get(base + "/penilaian/", allow_redirects=False).status_code for _ in range(8)]
        assert statuses == [200] * 8, statuses

        from bench.common import session_for

        chief = requests.Session()
        chief.cookies.set("sessionid", session_for(head.employee.user), domain="127.0.0.1")
        for _ in range(4):
            assert chief.get(f"{base}/unit/{head.unit.code}/", allow_redirects=False).status_code == 200
        keys = subprocess.run(["redis-cli", "-n", "0", "--scan", "--pattern", "*rollup*"], capture_output=True, text=True,
                              check=True).stdout.split()
        server.terminate()
        server.wait(timeout=10)
        upstreams = {}
        for line in (Path(prefix) / "access.log").read_text().splitlines():
            status, upstream, uri = line.split(" ", 2)
            if uri.startswith("/penilaian/") and status == "200":
                upstreams[upstream] = upstreams.get(upstream, 0) + 1
        assert len(upstreams) == 2, upstreams
        assert keys, "no roll-up in Redis"
        print(f"nginx on {base} with 2 replicas: the logged-in staff member's 8 pages were served by "
              f"{', '.join(f'{u} ({n})' for u, n in sorted(upstreams.items()))}, all 200; "
              f"{len(keys)} roll-up entries in Redis shared by both")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# `make faulttest`: stop and start the local PostgreSQL under a running gunicorn and check the
# 503 pages, the recovery time and that an interrupted submit is whole or absent (see
# scripts/faulttest.py). Needs root (pg_ctlcluster). Whatever happens to the Python script, even
# kill -9, this trap starts PostgreSQL again and waits for it (other people share the server),
# and stops the gunicorn the script had started.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PIDFILE=bench/results/faulttest-gunicorn.pid

cleanup() {
  $PY scripts/faulttest.py --ensure-up || echo "faulttest: PostgreSQL could not be started again!" >&2
  if [ -f "$PIDFILE" ]; then
    pid=$(cat "$PIDFILE")
    # Only our own gunicorn: the pid must still be a gunicorn started with this pid file.
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "gunicorn.*$PIDFILE"; then
      echo "faulttest: stopping the gunicorn left running (pid $pid)" >&2
      kill -TERM "$pid" || true
    fi
    rm -f "$PIDFILE"
  fi
}
trap cleanup EXIT
rm -f "$PIDFILE"
$PY scripts/faulttest.py "$@"

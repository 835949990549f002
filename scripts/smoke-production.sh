#!/usr/bin/env bash
# The production command path, as the `web` container runs it (scripts/start-web.sh): migrate,
# collectstatic, gunicorn with DEBUG off, against the PostgreSQL in DATABASE_URL. Then fetch
# /healthz and the login page (as the TLS proxy would forward them) and stop.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL to a PostgreSQL database}"

export PATH="$PWD/.venv/bin:$PATH"
export DEBUG=0
export SECRET_KEY="smoke-$(python -c 'import secrets; print(secrets.token_urlsafe(50))')"
export ALLOWED_HOSTS=127.0.0.1,localhost
export PRIVATE_STORAGE_ROOT="$(mktemp -d)"
export WEB_CONCURRENCY=2
PORT=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORT

log=$(mktemp)
scripts/start-web.sh >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$PRIVATE_STORAGE_ROOT"' EXIT

for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 $server 2>/dev/null; then cat "$log"; echo "gunicorn exited" >&2; exit 1; fi
  sleep 0.5
done

health=$(curl -fsS "http://127.0.0.1:$PORT/healthz")
echo "healthz: $health"
[ "$health" = '{"status": "ok"}' ] || { cat "$log"; exit 1; }

login=$(curl -fsS -H "X-Forwarded-Proto: https" "http://127.0.0.1:$PORT/akun/login/")
echo "$login" | grep -q 'name="username"' || { echo "login page has no NIP field" >&2; exit 1; }
echo "$login" | grep -q 'Masuk' || { echo "login page is not in Indonesian" >&2; exit 1; }
css=$(echo "$login" | grep -o '/static/vendor/bootstrap/bootstrap\.min\.[0-9a-f]*\.css' | head -1)
[ -n "$css" ] || { echo "no hashed static file link" >&2; exit 1; }
curl -fsS -o /dev/null -H "X-Forwarded-Proto: https" "http://127.0.0.1:$PORT$css"
echo "login page and static files served by gunicorn on port $PORT"

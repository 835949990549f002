#!/bin/sh
# What the `web` container runs: migrate (unless MIGRATE_ON_START=0, as docker-compose.yml sets
# for its replicas, which its `migrate` service serves), collect static files, then gunicorn.
# The access log leaves out query strings: a search by NIP must not end up in a log file.
# The same commands run in CI against the local PostgreSQL (scripts/smoke-production.sh).
set -eu
if [ "${MIGRATE_ON_START:-1}" = "1" ]; then
  python manage.py migrate --noinput
fi
python manage.py collectstatic --noinput --verbosity 0
exec gunicorn asn_integrity.wsgi \
  --bind "0.0.0.0:${PORT:-8000}" \
  --workers "${WEB_CONCURRENCY:-3}" \
  --timeout "${GUNICORN_TIMEOUT:-30}" \
  --access-logfile - \
  --access-logformat '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms' \
  --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}"

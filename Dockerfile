# Production image: gunicorn serving the app; docker-compose.yml runs it next to PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Pango and HarfBuzz for WeasyPrint (the PDF reports; their fonts ship in static/fonts).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 app && mkdir -p /data/private /app/staticfiles && chown -R app /data /app

COPY requirements.txt requirements-ldap.txt ./
RUN pip install -r requirements.txt
# LDAP / Active Directory sign-in: python-ldap compiles against libldap (requirements-ldap.txt).
# The compiler goes once it is built; the small -dev packages stay for the libraries they pull in
# (libldap, libsasl2), whose package names change from one Debian release to the next.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev libldap-dev libsasl2-dev \
    && pip install -r requirements-ldap.txt \
    && apt-get purge -y --auto-remove gcc \
    && rm -rf /var/lib/apt/lists/*

COPY --chown=app . .
RUN DEBUG=1 python manage.py compile_translations

USER app
EXPOSE 8000
CMD ["scripts/start-web.sh"]

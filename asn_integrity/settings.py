"""Settings for asn-integrity, read from the environment.

One module for every environment: development runs with no variables set (SQLite next to this
project, DEBUG on); production sets DEBUG=0, SECRET_KEY, DATABASE_URL and ALLOWED_HOSTS.
See `.env.example` for every variable.
"""

import datetime
import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def origin(url: str) -> str:
    """The origin of `url`: https://sso.example.go.id for https://sso.example.go.id/realms/asn."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "assessments.apps.IntegrityAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",
    "treebeard",
    "simple_history",
    "axes",
    "django_otp",
    "assessments.apps.TOTPConfig",
    "assessments.apps.RecoveryCodesConfig",
    "assessments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "assessments.middleware.LanguageMiddleware",
    "assessments.middleware.NullCharacterMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # 503 page while the database is down: must come right after the session and the user.
    "assessments.middleware.DatabaseUnavailableMiddleware",
    # request.user.otp_device: the second factor this session was verified with, if any.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "assessments.middleware.SessionTimeoutMiddleware",
    # After the timeout (an ended session is logged out first, not asked for a code).
    "assessments.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "assessments.db_router.RecentWriteMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Benchmarks (bench/bench.py) read the number of SQL queries of each response from a header.
if env_bool("QUERY_COUNT_HEADER"):
    MIDDLEWARE.insert(0, "assessments.middleware.QueryCountMiddleware")

ROOT_URLCONF = "asn_integrity.urls"
WSGI_APPLICATION = "asn_integrity.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "assessments.context_processors.roles",
            ],
        },
    },
]

# Development and a quick trial run on SQLite with no setup; production points DATABASE_URL at
# PostgreSQL. Persistent connections save a round of authentication per request.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# Optional streaming read replica of the primary, read by the dashboards only
# (assessments/db_router.py).
if env("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        env("DATABASE_REPLICA_URL"), conn_max_age=env_int("CONN_MAX_AGE", 60), conn_health_checks=True
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# A database host that does not answer at all (no "connection refused") fails after this many
# seconds instead of holding a gunicorn worker until its timeout: the page is then the 503 page.
for _database in DATABASES.values():
    if _database["ENGINE"] == "django.db.backends.postgresql":
        _database.setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5))
DATABASE_ROUTERS = ["assessments.db_router.ReplicaRouter"]
# Seconds during which a person who just wrote something reads from the primary only.
REPLICA_STICKY_SECONDS = env_int("REPLICA_STICKY_SECONDS", 10)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out NIP + address first
    # Django's own password check, for everyone or superusers only (LOCAL_LOGIN below). Another
    # password backend (LDAP) goes after it and is not restricted.
    "assessments.sso.LocalPasswordBackend",
    # OpenID Connect: answers only the SSO callback, and only while SSO is configured.
    "assessments.sso.NipOIDCBackend",
]


def ldap_settings(environ) -> dict:
    """Return the django-auth-ldap settings (AUTH_LDAP_*) for the LDAP_* variables of `environ`
    (README, "Signing in: LDAP / Active Directory"; the backend is assessments/sso_ldap.py).
    A person types their directory login or their NIP: the search finds the entry by either."""
    try:
        import ldap
        from django_auth_ldap.config import LDAPSearch
    except ImportError as error:
        raise ImproperlyConfigured(
            "LDAP_SERVER_URI is set but python-ldap and django-auth-ldap are not installed: "
            "pip install -r requirements-ldap.txt (it needs libldap2-dev and libsasl2-dev to build)."
        ) from error
    base = environ.get("LDAP_USER_SEARCH_BASE", "")
    login_filter = environ.get("LDAP_USER_FILTER") or "(uid=%(user)s)"
    nip_attribute = environ.get("LDAP_NIP_ATTRIBUTE") or "employeeNumber"
    if not base:
        raise ImproperlyConfigured("LDAP_SERVER_URI is set: LDAP_USER_SEARCH_BASE must name where the people are.")
    if "%(user)s" not in login_filter:
        raise ImproperlyConfigured("LDAP_USER_FILTER must contain %(user)s, where the login typed goes.")
    if not login_filter.startswith("("):
        login_filter = f"({login_filter})"
    timeout = int(environ.get("LDAP_TIMEOUT") or 5)
    # Referrals off: Active Directory answers a search of the domain root with referrals that
    # libldap would follow anonymously. The timeouts keep a dead directory from holding a worker.
    options = {ldap.OPT_REFERRALS: 0, ldap.OPT_NETWORK_TIMEOUT: timeout, ldap.OPT_TIMEOUT: timeout}
    if environ.get("LDAP_CA_CERT_FILE"):
        # The agency's own certificate authority; NEWCTX (last) makes libldap read it.
        options |= {ldap.OPT_X_TLS_CACERTFILE: environ["LDAP_CA_CERT_FILE"], ldap.OPT_X_TLS_NEWCTX: 0}
    return {
        "AUTH_LDAP_SERVER_URI": environ["LDAP_SERVER_URI"],
        "AUTH_LDAP_BIND_DN": environ.get("LDAP_BIND_DN", ""),
        "AUTH_LDAP_BIND_PASSWORD": environ.get("LDAP_BIND_PASSWORD", ""),
        "AUTH_LDAP_START_TLS": (environ.get("LDAP_START_TLS") or "").strip().lower() in ("1", "true", "yes", "on"),
        "AUTH_LDAP_CONNECTION_OPTIONS": options,
        # Only the NIP attribute is read: nothing else about the person leaves the directory.
        "AUTH_LDAP_USER_SEARCH": LDAPSearch(
            base, ldap.SCOPE_SUBTREE, f"(|{login_filter}({nip_attribute}=%(user)s))", attrlist=[nip_attribute]
        ),
        "AUTH_LDAP_NIP_ATTRIBUTE": nip_attribute,
    }


# LDAP / Active Directory sign-in is on when LDAP_SERVER_URI is set: after axes (which refuses a
# locked-out login before the directory is asked), before the local passwords (which keep working
# for those the directory does not know: superusers, accounts outside it).
LDAP_BACKEND = "assessments.sso_ldap.EmployeeLDAPBackend"
if env("LDAP_SERVER_URI"):
    globals().update(ldap_settings(os.environ))
    AUTHENTICATION_BACKENDS.insert(1, LDAP_BACKEND)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "assessments:home"
LOGOUT_REDIRECT_URL = "login"

# Single sign-on with OpenID Connect (mozilla-django-oidc; README "Signing in: SSO"). On only
# when the issuer and the client id are set. The provider's endpoints come from
# <issuer>/.well-known/openid-configuration, fetched at the first sign-in and cached
# (assessments/sso.py): nothing is fetched here.
OIDC_ISSUER = env("OIDC_ISSUER").rstrip("/")
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", "openid profile email")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", "RS256")
# The claim (of the userinfo answer or the ID token) that carries the person's NIP.
OIDC_NIP_CLAIM = env("OIDC_NIP_CLAIM", "nip")
# Off: only people with an active employee record get in. On: a NIP without one gets an account
# with no role at all (the staff import links it later), never access.
OIDC_CREATE_USERS = env_bool("OIDC_CREATE_USERS", False)
OIDC_TIMEOUT = env_int("OIDC_TIMEOUT", 10)
OIDC_DISCOVERY_SECONDS = env_int("OIDC_DISCOVERY_SECONDS", 3600)
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True  # the id_token_hint that ends the provider's session at logout

# "all": everyone may log in with a password kept by this app. "superusers": only superusers
# (the break-glass accounts); everyone else signs in by SSO (or another password backend, LDAP).
LOCAL_LOGIN = env("LOCAL_LOGIN", "all")
if LOCAL_LOGIN not in ("all", "superusers"):
    raise ImproperlyConfigured("LOCAL_LOGIN must be 'all' or 'superusers'.")

LANGUAGE_CODE = "id"
LANGUAGES = [("id", _("Indonesian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Redis when REDIS_URL is set (shared by every web server), else this process's memory.
# Roll-ups are cached under the period's roll-up version, so either is safe.
REDIS_URL = env("REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL, "KEY_PREFIX": "asn"}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 2000}}
    )
}
ROLLUP_CACHE_SECONDS = env_int("ROLLUP_CACHE_SECONDS", 600)

# Background jobs and the daily schedule (asn_integrity/celery.py, assessments/tasks.py). Without
# CELERY_BROKER_URL tasks run in-process at once (the demo and the tests need no worker);
# docker-compose points it at its Redis and runs a worker and beat.
CELERY_TASK_ALWAYS_EAGER = not env("CELERY_BROKER_URL")
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "Asia/Jakarta"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE = {
    # The 7/3/1-day reminders, once per person and threshold (send_reminders).
    "reminders": {"task": "assessments.tasks.reminders_send", "schedule": crontab(hour=7, minute=15)},
    # Every summary row of every period recomputed from the assessments; differences are logged.
    "summaries-check": {"task": "assessments.tasks.summaries_check", "schedule": crontab(hour=2, minute=30)},
    # Summary changes a submit could not add within seconds (a safety net: normally none).
    "summaries-pending": {"task": "assessments.tasks.summaries_pending_apply", "schedule": 60.0},
    # Job results are kept JOB_FILE_DAYS days.
    "job-files-expire": {"task": "assessments.tasks.job_files_expire", "schedule": crontab(minute=5)},
}
JOB_FILE_DAYS = env_int("JOB_FILE_DAYS", 7)
# The place printed above the signature of a PDF report ("Jakarta, 7 Desember 2026").
REPORT_PLACE = env("REPORT_PLACE", "Jakarta")
# An import of more rows than this, and every Recap workbook and organisation PDF, runs as a job.
JOB_IMPORT_ROWS = env_int("JOB_IMPORT_ROWS", 2000)

# Evidence files (bukti dukung) live outside STATIC_ROOT and MEDIA_ROOT and are served only
# through a permission-checked view, never from a public URL.
PRIVATE_STORAGE_ROOT = Path(env("PRIVATE_STORAGE_ROOT", str(BASE_DIR / "private")))
EVIDENCE_MAX_BYTES = env_int("EVIDENCE_MAX_BYTES", 5 * 1024 * 1024)
# Largest staff or unit file the admin import accepts (CSV or XLSX); 5 MB holds ~50,000 staff.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 5 * 1024 * 1024)

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# docs/RULES.md (privacy threshold): an aggregate shown to someone who may not see the answers behind it is hidden
# below this many assessments.
PRIVACY_MIN_GROUP = env_int("PRIVACY_MIN_GROUP", 5)

# docs/RULES.md (visibility): "reviewed" (heads of unit see and review each assessment in their
# scope) or "confidential" (they see group figures only). The default of the organisation
# setting; admins change it in the admin, and each period keeps the value it opened with.
ASSESSMENT_VISIBILITY = env("ASSESSMENT_VISIBILITY", "reviewed")
if ASSESSMENT_VISIBILITY not in ("reviewed", "confidential"):
    raise ImproperlyConfigured("ASSESSMENT_VISIBILITY must be 'reviewed' or 'confidential'.")

# Verification by the internal assessment team (assessments/verification.py): the share of each
# unit's counted assessments drawn, the least drawn per unit (all when fewer), and how much
# likelier an assessment with a credibility signal is to be drawn.
VERIFICATION_SAMPLE_FRACTION = float(env("VERIFICATION_SAMPLE_FRACTION", "0.2"))
VERIFICATION_SAMPLE_MIN = env_int("VERIFICATION_SAMPLE_MIN", 3)
VERIFICATION_FLAGGED_WEIGHT = env_int("VERIFICATION_FLAGGED_WEIGHT", 3)
# A unit is flagged when its mean self index exceeds its mean verified index by more than this.
VERIFICATION_GAP_FLAG = 10

# retention_apply deletes the individual answers of closed periods that ended more than this
# many years ago; the periods' figures stay.
RETENTION_YEARS = env_int("RETENTION_YEARS", 5)

EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "asn-integrity@localhost")
if env("EMAIL_FILE_PATH"):  # the folder of the file backend (scripts/smoke_worker.py reads the e-mails there)
    EMAIL_FILE_PATH = env("EMAIL_FILE_PATH")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

# Login protection (django-axes): 5 failed logins lock that NIP from that address for 15
# minutes; admins unlock under Axes > Access attempts.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "assessments.middleware.client_ip"
# django-axes stores the POST of a failed attempt: never a password, nor the SSO callback's one-time
# code and state, nor an activation code (/aktivasi/ counts its wrong codes as failed logins).
AXES_SENSITIVE_PARAMETERS = ["password", "code", "state", "new_password1", "new_password2"]
# The lockout page says which way of logging in is locked (a NIP and its password, or SSO).
AXES_LOCKOUT_CALLABLE = "assessments.sso.lockout_response"
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # failed logins stay visible to admins after an unlock
AXES_VERBOSE = False  # its log lines name the NIP: personal data stays out of the logs
# Two-factor sign-in (django-otp, assessments/two_factor.py) for everyone with administrative
# access (permissions.needs_second_factor): enforced in production; the demo (DEBUG) offers
# enrolment without forcing it. Off, nobody is asked for a code.
TWO_FACTOR_REQUIRED = env_bool("TWO_FACTOR_REQUIRED", not DEBUG)
# The name authenticator apps show above the code.
OTP_TOTP_ISSUER = "ASN Integrity"
# The admin never shows a secret key, a QR code or recovery codes: it only resets (deletes) them.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Behind the compose file's nginx (or another proxy that overwrites X-Real-IP): trust it.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)

# Sessions: logged out after 30 idle minutes and 12 hours after logging in, whatever happens.
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 3600)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
# With Redis shared by every web server, a session is read from the cache (written through to
# PostgreSQL); without it, from PostgreSQL: a per-process memory cache could hand one worker a
# session another has already ended.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db" if REDIS_URL else "django.contrib.sessions.backends.db"

# Content-Security-Policy: no inline script or style anywhere; chart data travels as JSON.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        # Logging out of SSO continues at the provider (a redirect after the logout form, which
        # browsers check against form-action).
        "form-action": ["'self'", *([origin(OIDC_ISSUER)] if OIDC_ISSUER else [])],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Production hardening; `manage.py check --deploy --fail-level WARNING` passes with DEBUG off.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"redacted": {"()": "assessments.logs.RedactingFormatter", "format": "%(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "redacted"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-axes writes the NIP and address of every login attempt: not into our logs.
        "axes": {"level": "ERROR"},
        # django-auth-ldap names the login typed and the directory entry in its debug and info
        # lines; what is left are its errors talking to the directory, which name nobody.
        "django_auth_ldap": {"level": "WARNING"},
        # WeasyPrint reports every step of every document at INFO; fontTools each font subset.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

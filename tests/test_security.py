"""Login protection, sessions and security headers."""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from assessments import middleware

from .conftest import PASSWORD, log_in


def fail(client, username, times):
    for _ in range(times):
        client.post("/akun/login/", {"username": username, "password": "salah"})


# --- Lockout (django-axes) -------------------------------------------------------------------


def test_five_failed_logins_lock_the_nip_from_that_address(cast):
    client = Client(REMOTE_ADDR="10.0.0.1")
    fail(client, "staff", 5)
    response = client.post("/akun/login/", {"username": "staff", "password": PASSWORD})
    assert response.status_code == 429
    page = response.content.decode()
    assert "Terlalu banyak percobaan masuk yang gagal" in page and "15 menit" in page
    assert AccessAttempt.objects.get(username="staff").failures_since_start >= 5


def test_the_lockout_message_is_in_english_too(cast):
    client = Client(REMOTE_ADDR="10.0.0.2")
    client.post("/i18n/setlang/", {"language": "en"})
    fail(client, "staff", 5)
    page = client.post("/akun/login/", {"username": "staff", "password": PASSWORD}).content.decode()
    assert "Too many failed logins for this NIP from this device. Try again in 15 minutes." in page


def test_four_failures_do_not_lock_and_a_success_resets_the_count(cast):
    client = Client(REMOTE_ADDR="10.0.0.3")
    fail(client, "staff", 4)
    assert log_in(client, "staff")
    assert not AccessAttempt.objects.filter(username="staff").exists()


def test_the_lock_is_for_that_nip_and_address_only(cast):
    fail(Client(REMOTE_ADDR="10.0.0.4"), "staff", 5)
    assert log_in(Client(REMOTE_ADDR="10.0.0.5"), "staff")  # another address
    assert log_in(Client(REMOTE_ADDR="10.0.0.4"), "colleague")  # another NIP


def test_the_lock_ends_after_15_minutes(cast):
    client = Client(REMOTE_ADDR="10.0.0.6")
    fail(client, "staff", 5)
    assert not log_in(client, "staff")
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    assert log_in(client, "staff")


def test_an_admin_unlocks_in_the_admin(client, cast):
    locked = Client(REMOTE_ADDR="10.0.0.7")
    fail(locked, "staff", 5)
    attempt = AccessAttempt.objects.get(username="staff")
    client.force_login(cast.admin)
    assert "staff" in client.get("/admin/axes/accessattempt/").content.decode()
    response = client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert log_in(locked, "staff")


def test_a_spoofed_forwarded_for_header_does_not_dodge_the_lock(cast):
    for n in range(6):
        Client(REMOTE_ADDR="10.0.0.8", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").post(
            "/akun/login/", {"username": "staff", "password": "salah"}
        )
    assert not log_in(Client(REMOTE_ADDR="10.0.0.8", HTTP_X_FORWARDED_FOR="203.0.113.99"), "staff")


# --- Sessions --------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(middleware.time, "time", lambda: now[0])
    return now


def test_thirty_idle_minutes_log_out(cast, clock):
    client = Client()
    assert log_in(client, "staff")
    clock[0] += 29 * 60
    assert client.get("/penilaian/").status_code == 200
    clock[0] += 29 * 60  # 29 idle minutes again: still in, the last request counted
    assert client.get("/penilaian/").status_code == 200
    clock[0] += 31 * 60
    response = client.get("/penilaian/")
    assert response.status_code == 302 and response["Location"].startswith("/akun/login/")
    assert client.get("/penilaian/").status_code == 302  # really logged out


def test_twelve_hours_after_login_the_session_ends_however_active(cast, clock):
    client = Client()
    assert log_in(client, "staff")
    for _ in range(25):  # a request every 29 minutes: never idle
        clock[0] += 29 * 60
        response = client.get("/penilaian/")
        if response.status_code == 302:
            break
    assert response.status_code == 302
    assert clock[0] - 1_800_000_000.0 > 12 * 3600


def test_a_password_change_logs_out_the_other_sessions(cast):
    phone, office = Client(), Client()
    assert log_in(phone, "staff") and log_in(office, "staff")
    response = office.post("/akun/password_change/", {
        "old_password": PASSWORD, "new_password1": "Sandi-Baru-2026!", "new_password2": "Sandi-Baru-2026!",
    })
    assert response.status_code == 302
    assert office.get("/penilaian/").status_code == 200  # the session that changed it stays
    assert phone.get("/penilaian/").status_code == 302  # the other one is logged out


# --- Headers -------------------------------------------------------------------------------


def test_every_page_carries_a_strict_content_security_policy(client, cast):
    policy = client.get("/akun/login/")["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_the_other_security_headers(client, cast):
    response = client.get("/akun/login/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_production_settings_harden_cookies_and_transport():
    """The values the production environment gets (DEBUG off): read in a fresh interpreter."""
    code = (
        "from django.conf import settings as s; import django; django.setup();"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE,"
        " s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS)"
    )
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "example.go.id",
           "DJANGO_SETTINGS_MODULE": "asn_integrity.settings"}
    for name in ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"):
        env.pop(name, None)
    output = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parent.parent).stdout.split()
    assert output == ["True", "True", "True", "Lax", "True", "31536000", "True"]


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "", "DJANGO_SETTINGS_MODULE": "asn_integrity.settings"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


# --- Logs ------------------------------------------------------------------------------------


def test_log_lines_mask_nips_and_e_mail_addresses():
    import io
    import logging

    from assessments.logs import RedactingFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(message)s"))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        raise ValueError('duplicate key value violates unique constraint: Key (nip)=(198502142010011001) already exists')
    except ValueError:
        logger.exception("import of budi.santoso@kemendagri.go.id (NIP %s) failed", "199912312024122999")
    logger.removeHandler(handler)
    output = stream.getvalue()
    assert "198502142010011001" not in output and "199912312024122999" not in output
    assert "budi.santoso@kemendagri.go.id" not in output
    assert "(NIP [NIP])" in output and "Key (nip)=([NIP])" in output and "[e-mail]" in output and "Traceback" in output


def test_the_app_log_handler_masks_personal_data(settings):
    from django.conf import settings as live

    assert live.LOGGING["handlers"]["console"]["formatter"] == "redacted"
    assert live.LOGGING["loggers"]["axes"]["level"] == "ERROR"


def test_masking_a_huge_log_line_takes_one_pass():
    """A request for a path of a million letters is logged ("Not Found: /aaaa..."). The e-mail
    pattern used to try every starting letter and scan to the end of the run each time, so one
    such line took hours of CPU (the fuzz tests stalled on it); each run of letters is now read
    once, and the line comes out whole with the addresses in it still masked."""
    from assessments.logs import redact

    run = "a" * 1_000_000
    assert redact(f"Not Found: /{run}") == f"Not Found: /{run}"
    assert redact(f"{run} {run}@mail.go.id 198502142010011001") == f"{run} [e-mail] [NIP]"
    assert redact("x" * 400_000 + ".go.id") == "x" * 400_000 + ".go.id"

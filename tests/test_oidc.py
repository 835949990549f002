"""Signing in by SSO (OpenID Connect) against a real provider, and LOCAL_LOGIN.

The provider is tests/oidc/provider.mjs (the npm package oidc-provider, tests/package.json),
started once on a free loopback port and killed at the end. A person's browser is two clients
sharing the trip: Django's test client for the application (the code exchange, the userinfo
and the keys go from Django to the real provider over HTTP) and a requests session, with its
own cookies, for the provider's pages. Without node or the package the provider tests skip
with the reason; under CI=true they fail instead (.ci/run installs both).
"""

import os
import re
import select
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client

from assessments import sso
from assessments.models import Employee

from .conftest import PASSWORD, log_in

TESTS = Path(__file__).parent
PROVIDER_SCRIPT = TESTS / "oidc" / "provider.mjs"
PROVIDER_PACKAGE = TESTS / "node_modules" / "oidc-provider" / "package.json"
CLIENT_ID, CLIENT_SECRET = "asn-integrity", "rahasia-klien-uji"
# What Django's test client calls itself: the redirect URIs registered at the provider.
CALLBACK = "http://testserver/oidc/callback/"
AFTER_LOGOUT = "http://testserver/akun/login/"
# The provider's accounts (tests/oidc/provider.mjs).
SITI_NIP, RATNA_NIP, TAMU_NIP = "198503152010012001", "197804202005022003", "199001012015011002"


def _missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the SSO tests (.ci/run installs node and the npm packages).")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def oidc_provider():
    """The issuer URL of a running tests/oidc/provider.mjs."""
    node = shutil.which("node")
    if node is None:
        _missing("no node to run the OpenID provider (apt-get install nodejs npm)")
    if not PROVIDER_PACKAGE.exists():
        npm = shutil.which("npm")
        if npm is None:
            _missing("the npm package oidc-provider is not installed and there is no npm (cd tests && npm ci)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=TESTS, check=True, capture_output=True)
    process = subprocess.Popen(
        [node, str(PROVIDER_SCRIPT), CLIENT_ID, CLIENT_SECRET, CALLBACK, AFTER_LOGOUT],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # its warnings about the in-memory store and the Node version
        text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], 30)
        issuer = process.stdout.readline().strip() if ready else ""
        if not issuer.startswith("http://127.0.0.1:"):
            pytest.fail(f"the OpenID provider did not start (exit status {process.poll()}, said {issuer!r})")
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def sso_on(settings):
    """SSO configured, without a provider (nothing here reaches one)."""
    settings.OIDC_ISSUER = "http://127.0.0.1:9"
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    return settings


@pytest.fixture
def provider(settings, oidc_provider):
    """SSO configured against the running provider, its discovery document not yet fetched."""
    settings.OIDC_ISSUER = oidc_provider
    settings.OIDC_RP_CLIENT_ID, settings.OIDC_RP_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
    cache.clear()
    return oidc_provider


@pytest.fixture
def siti(cast):
    """The cast's staff member, with the NIP of the provider's account "siti"."""
    Employee.objects.filter(pk=cast.staff.pk).update(nip=SITI_NIP)
    return cast.staff


class Browser:
    """One person's browser: `app` is Django's test client, `portal` the provider's cookies."""

    def __init__(self, issuer: str, address: str = "127.0.0.1"):
        self.issuer = issuer
        self.app = Client(REMOTE_ADDR=address)
        self.portal = requests.Session()

    def at_provider(self, url: str, data: dict | None = None) -> tuple[str, requests.Response | None]:
        """Request `url` of the provider and follow its redirects while they stay there.
        Returns where it ended: ("page", the provider's page) or ("app", the address in the
        application it sends the browser to)."""
        response = self.portal.post(url, data=data, allow_redirects=False) if data else self.portal.get(url, allow_redirects=False)
        for _hop in range(10):
            if not response.is_redirect:
                return "page", response
            url = urljoin(url, response.headers["Location"])
            if not url.startswith(self.issuer):
                return "app", url
            response = self.portal.get(url, allow_redirects=False)
        raise AssertionError("too many redirects at the provider")

    def start(self, next_url: str = "") -> tuple[str, object]:
        """Click "Masuk dengan SSO": the provider's sign-in page, or (a session there already)
        straight back to the application's callback."""
        response = self.app.get("/oidc/authenticate/" + (f"?next={next_url}" if next_url else ""))
        assert response.status_code == 302 and response["Location"].startswith(f"{self.issuer}/auth?"), response
        return self.at_provider(response["Location"])

    def sign_in(self, login: str, password: str, next_url: str = ""):
        """The whole trip: sign in at the provider, come back; the application's answer to the
        callback, followed to the page the person lands on."""
        where, page = self.start(next_url)
        assert where == "page" and 'name="password"' in page.text, "the provider should ask who this is"
        action = urljoin(page.url, re.search(r'action="([^"]+)"', page.text).group(1))
        where, callback = self.at_provider(action, {"login": login, "password": password})
        assert where == "app" and callback.startswith(CALLBACK), (where, callback)
        return self.back_in_app(callback)

    def back_in_app(self, url: str):
        parts = urlsplit(url)
        return self.app.get(f"{parts.path}?{parts.query}", follow=True)

    def user_id(self):
        return self.app.session.get("_auth_user_id")


def shown(response) -> str:
    return response.content.decode()


# --- Off unless configured -------------------------------------------------------------------


@pytest.mark.django_db
def test_without_an_issuer_the_sso_urls_are_404_and_the_login_page_has_no_sso_button(client, settings):
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID  # a client id alone does not turn it on
    assert "Masuk dengan SSO" not in shown(client.get("/akun/login/"))
    for url in ("/oidc/authenticate/", "/oidc/callback/?code=a&state=b"):
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    assert not AccessAttempt.objects.exists()


@pytest.mark.django_db
def test_the_login_page_offers_sso_and_keeps_where_the_person_was_going(client, sso_on):
    page = shown(client.get("/akun/login/?next=/data-saya/"))
    assert 'href="/oidc/authenticate/?next=/data-saya/"' in page
    assert "Masuk dengan SSO" in page
    assert "Atau dengan NIP dan kata sandi" in page  # LOCAL_LOGIN=all: the password form for everyone
    assert "autofocus" not in page  # the button first, not the keyboard for the NIP


@pytest.mark.django_db
def test_without_sso_the_nip_field_has_the_focus(client):
    assert "autofocus" in shown(client.get("/akun/login/"))


def test_settings_fetch_nothing_and_let_logout_continue_at_the_provider():
    """Discovery is never done at import, nor when Django makes the backend (at every login):
    the app starts with an issuer nobody answers at. The CSP lets the logout form continue to
    the provider's origin."""
    environment = {**os.environ, "DEBUG": "1", "OIDC_ISSUER": "http://127.0.0.1:9/realms/asn", "OIDC_RP_CLIENT_ID": CLIENT_ID}
    code = (
        "import asn_integrity.urls; from assessments.sso import NipOIDCBackend; NipOIDCBackend(); "
        "from django.conf import settings; print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action'])"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code], cwd=TESTS.parent, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[\"'self'\", 'http://127.0.0.1:9']"


# --- The whole trip against the real provider ------------------------------------------------


def test_an_employee_signs_in_by_sso_and_lands_on_their_home_page(provider, siti):
    assert cache.get(sso.discovery_key(provider)) is None  # nothing fetched before the first sign-in
    browser = Browser(provider)
    response = browser.sign_in("siti", "sandi-siti")
    assert response.redirect_chain[-1][0] == "/penilaian/" and response.status_code == 200
    assert "Siti Staf" in shown(response)
    assert browser.user_id() == str(siti.user_id)
    assert browser.app.session["_auth_user_backend"] == "assessments.sso.NipOIDCBackend"
    assert browser.app.session["oidc_id_token"]  # kept for the logout at the provider
    assert cache.get(sso.discovery_key(provider))["issuer"] == provider  # the discovery document, cached


def test_an_account_deactivated_after_signing_in_by_sso_is_logged_out(provider, siti):
    browser = Browser(provider)
    browser.sign_in("siti", "sandi-siti")
    get_user_model().objects.filter(pk=siti.user_id).update(is_active=False)
    response = browser.app.get("/penilaian/")
    assert response.status_code == 302 and response["Location"].startswith("/akun/login/")


def test_the_supervisor_lands_on_their_dashboard_and_next_is_kept(provider, cast):
    Employee.objects.filter(pk=cast.supervisor.pk).update(nip=RATNA_NIP)
    browser = Browser(provider)
    response = browser.sign_in("ratna", "sandi-ratna", next_url="/data-saya/")
    assert response.redirect_chain[-1][0] == "/data-saya/"
    assert browser.user_id() == str(cast.supervisor.user_id)


def test_an_unknown_nip_is_refused_with_a_clear_message_and_nothing_is_created(provider, siti):
    users, employees = get_user_model().objects.count(), Employee.objects.count()
    browser = Browser(provider)
    response = browser.sign_in("tamu", "sandi-tamu")
    assert response.redirect_chain[-1][0] == "/akun/login/"
    assert "Akun SSO Anda tidak terhubung dengan pegawai aktif di aplikasi ini" in shown(response)
    assert browser.user_id() is None
    assert (get_user_model().objects.count(), Employee.objects.count()) == (users, employees)
    assert not get_user_model().objects.filter(username=TAMU_NIP).exists()
    # A failed login for django-axes, from this address, under the SSO name.
    assert AccessAttempt.objects.get(username=sso.SSO_ATTEMPT, ip_address="127.0.0.1").failures_since_start == 1


def test_an_inactive_employee_is_refused(provider, siti):
    Employee.objects.filter(pk=siti.pk).update(is_active=False)
    browser = Browser(provider)
    response = browser.sign_in("siti", "sandi-siti")
    assert "Akun SSO Anda tidak terhubung dengan pegawai aktif" in shown(response)
    assert browser.user_id() is None


def test_an_account_without_the_nip_claim_is_refused(provider, cast):
    browser = Browser(provider)
    response = browser.sign_in("tanpa-nip", "sandi-tanpa")
    assert "Portal masuk Anda tidak mengirimkan NIP" in shown(response)
    assert browser.user_id() is None


def test_the_nip_claim_is_configurable(provider, siti, settings):
    settings.OIDC_NIP_CLAIM = "employee_number"  # the provider sends "nip" only
    response = Browser(provider).sign_in("siti", "sandi-siti")
    assert "Portal masuk Anda tidak mengirimkan NIP" in shown(response)


def test_with_create_users_an_unknown_nip_gets_an_account_without_any_role(provider, cast, settings):
    settings.OIDC_CREATE_USERS = True
    browser = Browser(provider)
    response = browser.sign_in("tamu", "sandi-tamu")
    assert "Belum ada akses" in shown(response)  # the no-role page
    account = get_user_model().objects.get(username=TAMU_NIP)
    assert browser.user_id() == str(account.pk)
    assert (account.first_name, account.email) == ("Tamu Baru", "tamu@example.go.id")
    assert not (account.is_staff or account.is_superuser or account.has_usable_password() or account.groups.exists())
    assert not Employee.objects.filter(user=account).exists()
    assert browser.app.get("/penilaian/").status_code == 404  # no employee record: no assessments
    # Next time the same account, not a second one.
    Browser(provider).sign_in("tamu", "sandi-tamu")
    assert get_user_model().objects.filter(username=TAMU_NIP).count() == 1


def test_create_users_never_enters_a_local_account_of_that_name(provider, cast, settings):
    settings.OIDC_CREATE_USERS = True
    get_user_model().objects.create_user(TAMU_NIP, password=PASSWORD)  # someone's own password account
    browser = Browser(provider)
    response = browser.sign_in("tamu", "sandi-tamu")
    assert "Akun SSO Anda tidak terhubung" in shown(response)
    assert browser.user_id() is None


def test_logout_ends_the_providers_session_too(provider, siti):
    browser = Browser(provider)
    browser.sign_in("siti", "sandi-siti")
    # While the provider's session lasts, signing in again asks nothing.
    where, callback = browser.start()
    assert where == "app" and callback.startswith(CALLBACK)
    browser.back_in_app(callback)

    response = browser.app.post("/akun/logout/")
    assert response.status_code == 302
    end_session = urlsplit(response["Location"])
    assert f"{end_session.scheme}://{end_session.netloc}{end_session.path}" == f"{provider}/session/end"
    query = parse_qs(end_session.query)
    assert query["post_logout_redirect_uri"] == [AFTER_LOGOUT] and query["client_id"] == [CLIENT_ID]
    assert query["id_token_hint"][0].count(".") == 2  # the ID token (a JWT)
    assert browser.user_id() is None  # logged out here at once

    where, page = browser.at_provider(response["Location"])
    assert where == "page"  # the provider asks to confirm; the form's script would submit it
    action = urljoin(page.url, re.search(r'action="([^"]+)"', page.text).group(1))
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text).group(1)
    where, back = browser.at_provider(action, {"xsrf": xsrf, "logout": "yes"})
    assert (where, back) == ("app", AFTER_LOGOUT)

    where, page = browser.start()
    assert where == "page" and 'name="password"' in page.text  # the provider's session is gone


def test_a_password_login_logs_out_locally_only(cast, sso_on):
    client = Client()
    assert log_in(client, "staff")
    response = client.post("/akun/logout/")
    assert response["Location"] == "/akun/login/"


# --- django-axes at the callback -------------------------------------------------------------


@pytest.mark.django_db
def test_a_forged_or_reused_state_is_a_failed_login(sso_on):
    client = Client(REMOTE_ADDR="10.9.0.1")
    response = client.get("/oidc/callback/?code=dicuri&state=palsu", follow=True)
    assert response.redirect_chain == [("/akun/login/", 302)]
    assert "tautannya sudah kedaluwarsa atau sudah dipakai" in shown(response)
    attempt = AccessAttempt.objects.get(username=sso.SSO_ATTEMPT, ip_address="10.9.0.1")
    assert attempt.failures_since_start == 1
    assert "dicuri" not in attempt.get_data and "palsu" not in attempt.get_data  # the code is masked


@pytest.mark.django_db
def test_a_sign_in_cancelled_at_the_provider_is_not_a_failed_login(sso_on):
    response = Client().get("/oidc/callback/?error=access_denied&state=x", follow=True)
    assert "Portal masuk tidak memasukkan Anda" in shown(response)
    assert not AccessAttempt.objects.exists()


def test_a_locked_out_address_gets_the_lockout_page_at_the_callback(provider, siti):
    office = Browser(provider, address="10.9.0.2")
    for _ in range(4):
        office.app.get("/oidc/callback/?code=x&state=palsu")
    fifth = office.sign_in("tamu", "sandi-tamu")  # an unknown NIP: the fifth failure locks
    assert fifth.status_code == 429
    assert AccessAttempt.objects.get(username=sso.SSO_ATTEMPT, ip_address="10.9.0.2").failures_since_start == 5

    # Siti, at the next desk (the same address), signs in at the provider and comes back.
    colleague = Browser(provider, address="10.9.0.2")
    where, page = colleague.start()
    action = urljoin(page.url, re.search(r'action="([^"]+)"', page.text).group(1))
    where, callback = colleague.at_provider(action, {"login": "siti", "password": "sandi-siti"})
    assert where == "app"
    response = colleague.back_in_app(callback)
    assert response.status_code == 429
    assert "Terlalu banyak percobaan masuk dengan SSO yang gagal dari perangkat ini" in shown(response)
    assert "15 menit" in shown(response) and "Lupa kata sandi" not in shown(response)
    assert colleague.user_id() is None
    assert colleague.app.get("/oidc/callback/?code=x&state=palsu").status_code == 429  # whatever comes back
    # The lock is this address's: Siti signs in from another one.
    elsewhere = Browser(provider, address="10.9.0.3")
    elsewhere.sign_in("siti", "sandi-siti")
    assert elsewhere.user_id() == str(siti.user_id)


def test_a_person_locked_out_of_password_login_still_signs_in_by_sso_which_clears_the_lock(provider, siti):
    locked = Client(REMOTE_ADDR="10.9.0.5")
    for _ in range(5):
        locked.post("/akun/login/", {"username": "staff", "password": "salah"})
    assert not log_in(locked, "staff")
    browser = Browser(provider, address="10.9.0.5")
    browser.sign_in("siti", "sandi-siti")
    assert browser.user_id() == str(siti.user_id)
    assert not AccessAttempt.objects.filter(username="staff").exists()
    assert log_in(Client(REMOTE_ADDR="10.9.0.5"), "staff")


# --- LOCAL_LOGIN ------------------------------------------------------------------------------


def test_local_login_superusers_refuses_a_staff_password_and_says_to_use_sso(cast, sso_on):
    sso_on.LOCAL_LOGIN = "superusers"
    client = Client()
    page = shown(client.get("/akun/login/"))
    assert "Masuk dengan kata sandi di sini hanya untuk superuser" in page
    response = client.post("/akun/login/", {"username": "staff", "password": PASSWORD})
    assert response.status_code == 200
    assert "masuk dengan kata sandi hanya untuk superuser" in shown(response) and "gunakan “Masuk dengan SSO”" in shown(response)
    assert client.session.get("_auth_user_id") is None
    # A wrong password reads the same: the form tells nobody whether a password fits.
    wrong = shown(Client().post("/akun/login/", {"username": "staff", "password": "salah"}))
    assert "gunakan “Masuk dengan SSO”" in wrong
    # The superuser still logs in with a password.
    assert log_in(client, "admin")
    assert client.session["_auth_user_id"] == str(cast.admin.pk)


def test_local_login_superusers_still_counts_failed_passwords(cast, sso_on):
    sso_on.LOCAL_LOGIN = "superusers"
    for _ in range(2):
        Client(REMOTE_ADDR="10.9.0.4").post("/akun/login/", {"username": "staff", "password": PASSWORD})
    assert AccessAttempt.objects.get(username="staff", ip_address="10.9.0.4").failures_since_start == 2


def test_local_login_superusers_lets_staff_in_by_sso_and_hides_the_password_link(provider, siti, settings):
    settings.LOCAL_LOGIN = "superusers"
    browser = Browser(provider)
    response = browser.sign_in("siti", "sandi-siti")
    assert browser.user_id() == str(siti.user_id)
    assert 'href="/akun/password_change/"' not in shown(response)


def test_with_local_login_all_the_header_offers_the_password_change(cast):
    client = Client()
    assert log_in(client, "staff")
    assert 'href="/akun/password_change/"' in shown(client.get("/penilaian/"))


def test_local_login_superusers_sends_reset_links_to_superusers_only(cast, settings):
    settings.LOCAL_LOGIN = "superusers"
    client = Client()
    assert "Hanya superuser yang menyimpan kata sandi di aplikasi ini" in shown(client.get("/akun/password_reset/"))
    assert client.post("/akun/password_reset/", {"email": cast.staff.user.email}).status_code == 302
    assert mail.outbox == []
    client.post("/akun/password_reset/", {"email": cast.admin.email})
    assert [message.to for message in mail.outbox] == [[cast.admin.email]]


def test_with_local_login_all_staff_get_reset_links(cast):
    Client().post("/akun/password_reset/", {"email": cast.staff.user.email})
    assert [message.to for message in mail.outbox] == [[cast.staff.user.email]]


# --- When the provider cannot be reached ------------------------------------------------------


@pytest.mark.django_db
def test_a_provider_that_cannot_be_reached_gets_a_clear_message_not_a_lockout(sso_on):
    with socket.socket() as probe:  # a loopback port nobody listens at
        probe.bind(("127.0.0.1", 0))
        sso_on.OIDC_ISSUER = f"http://127.0.0.1:{probe.getsockname()[1]}"
    cache.clear()
    response = Client().get("/oidc/authenticate/", follow=True)
    assert response.redirect_chain == [("/akun/login/", 302)]
    assert "Portal masuk tidak dapat dihubungi saat ini" in shown(response)
    assert not AccessAttempt.objects.exists()


@pytest.mark.django_db
def test_a_discovery_document_naming_another_issuer_is_not_used(provider, settings):
    """OpenID Connect Discovery: the document must name the issuer it was fetched for. The
    provider answers at localhost too, but calls itself 127.0.0.1."""
    settings.OIDC_ISSUER = provider.replace("127.0.0.1", "localhost")
    response = Client().get("/oidc/authenticate/", follow=True)
    assert "Portal masuk tidak dapat dihubungi saat ini" in shown(response)
    assert cache.get(sso.discovery_key(settings.OIDC_ISSUER)) is None


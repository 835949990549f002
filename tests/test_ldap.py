"""Signing in against LDAP / Active Directory (assessments/sso_ldap.py), end to end against
Debian's OpenLDAP server: each module run starts `slapd` on a free loopback port with a throwaway
configuration and database in a temporary folder (mdb backend, loaded with `slapadd`), and stops
it afterwards. The directory holds a service account the app binds as and three people, two of
them staff of the cast (by NIP) and one whose NIP no employee has.

Without slapd or python-ldap (requirements-ldap.txt) these tests skip with the reason; under CI
(CI=true) they fail instead, so CI can never pass without having run them (.ci/run installs both).

Decision on local passwords: with LDAP on, both ways of signing in work (the directory's password
through the LDAP backend, the account's own password through Django's ModelBackend (LOCAL_LOGIN) after it), so
that superusers and accounts outside the directory keep working; LOCAL_LOGIN=superusers limits the
local way to superusers."""

import base64
import hashlib
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client

from assessments import services
from assessments.models import Employee

from .conftest import PASSWORD, log_in

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
SCHEMAS = Path("/etc/ldap/schema")
MODULES = Path("/usr/lib/ldap")  # Debian builds the mdb backend as a module

BASE = "dc=instansi,dc=go,dc=id"
PEOPLE_BASE = f"ou=pegawai,{BASE}"
SERVICE_DN = f"cn=integritas,ou=layanan,{BASE}"
SERVICE_PASSWORD = "Layanan-Integritas-2026"
LDAP_BACKEND = "assessments.sso_ldap.EmployeeLDAPBackend"
SESSION_BACKEND = "_auth_user_backend"
LOCAL_BACKEND = "assessments.sso.LocalPasswordBackend"  # Django's ModelBackend, under LOCAL_LOGIN
OIDC_BACKEND = "assessments.sso.NipOIDCBackend"

NO_MATCH = "NIP (atau nama pengguna) dan kata sandi tidak cocok"
NO_ANSWER = "Direktori kantor (LDAP) tidak menjawab"


@dataclass(frozen=True)
class Person:
    uid: str
    password: str
    nip: str


SITI = Person("siti.staf", "Direktori-Siti-2026", "198001012005012001")  # cast.staff
RUDI = Person("rudi.rekan", "Direktori-Rudi-2026", "198102022006021002")  # cast.colleague
TAMU = Person("tamu.luar", "Direktori-Tamu-2026", "199003032015031003")  # no employee has this NIP


def _missing(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: CI must run the LDAP tests (.ci/run installs slapd and requirements-ldap.txt).")
    pytest.skip(reason)


def _ssha(password: str) -> str:
    """The {SSHA} hash slapd stores, as slappasswd makes it."""
    salt = os.urandom(8)
    return "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()


def _entries() -> str:
    """The directory's contents, in LDIF."""
    people = "".join(
        f"\ndn: uid={p.uid},{PEOPLE_BASE}\nobjectClass: inetOrgPerson\nuid: {p.uid}\ncn: {p.uid}\nsn: {p.uid}\n"
        f"employeeNumber: {p.nip}\nuserPassword: {_ssha(p.password)}\n"
        for p in (SITI, RUDI, TAMU)
    )
    return (
        f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: instansi\no: Instansi Uji\n\n"
        f"dn: {PEOPLE_BASE}\nobjectClass: organizationalUnit\nou: pegawai\n\n"
        f"dn: ou=layanan,{BASE}\nobjectClass: organizationalUnit\nou: layanan\n\n"
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: integritas\n"
        f"userPassword: {_ssha(SERVICE_PASSWORD)}\n" + people
    )


def _configuration(folder: Path, tls: bool) -> str:
    """slapd.conf: one mdb database; people may only bind, the service account reads. With
    `tls`, a certificate and no simple bind (the app's included) without encryption."""
    lines = [f"include {SCHEMAS / name}.schema" for name in ("core", "cosine", "inetorgperson")]
    lines += [f"modulepath {MODULES}", "moduleload back_mdb", f"pidfile {folder / 'slapd.pid'}", f"argsfile {folder / 'slapd.args'}"]
    if tls:
        lines += [f"TLSCertificateFile {folder / 'server.pem'}", f"TLSCertificateKeyFile {folder / 'server.key'}", "security simple_bind=128"]
    lines += [
        "database mdb", "maxsize 10485760", f'suffix "{BASE}"', f"directory {folder / 'db'}",
        "access to attrs=userPassword by anonymous auth by * none",
        f'access to * by dn.exact="{SERVICE_DN}" read by * none',
    ]
    return "\n".join(lines) + "\n"


def _certificates(folder: Path) -> None:
    """A throwaway certificate authority (ca.pem) and a certificate for 127.0.0.1 it signed."""
    if shutil.which("openssl") is None:
        _missing("no openssl to make the test certificates (apt-get install openssl)")

    def openssl(*arguments):
        subprocess.run(["openssl", *arguments], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
            "-subj", "/CN=CA Uji", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=keyCertSign,cRLSign")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "1", "-extfile", "server.ext")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(folder: Path, tls: bool = False):
    """Start slapd on a free loopback port; return (process, its ldap:// address)."""
    if not (SLAPD.exists() and SLAPADD.exists()):
        _missing(f"no OpenLDAP server at {SLAPD} (apt-get install slapd)")
    (folder / "db").mkdir()
    if tls:
        _certificates(folder)
    (folder / "slapd.conf").write_text(_configuration(folder, tls))
    (folder / "entries.ldif").write_text(_entries())
    subprocess.run([SLAPADD, "-f", folder / "slapd.conf", "-l", folder / "entries.ldif"], check=True, capture_output=True)
    port = _free_port()
    log = (folder / "slapd.log").open("w")
    # -d 0: in the foreground (the fixture owns the process), logging nothing.
    process = subprocess.Popen([SLAPD, "-f", folder / "slapd.conf", "-h", f"ldap://127.0.0.1:{port}/", "-d", "0"],
                               stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"slapd stopped at once: {(folder / 'slapd.log').read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"ldap://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("slapd did not listen within 15 s")


def _stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def directory(tmp_path_factory):
    """The plain directory's address, for the whole module."""
    if importlib.util.find_spec("ldap") is None or importlib.util.find_spec("django_auth_ldap") is None:
        _missing("python-ldap and django-auth-ldap are not installed (pip install -r requirements-ldap.txt)")
    process, uri = _start(tmp_path_factory.mktemp("slapd"))
    yield uri
    _stop(process)


def environment(uri: str, **extra) -> dict:
    """The LDAP_* variables an OpenLDAP deployment sets (README), pointing at `uri`."""
    return {
        "LDAP_SERVER_URI": uri,
        "LDAP_BIND_DN": SERVICE_DN,
        "LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
        "LDAP_USER_SEARCH_BASE": PEOPLE_BASE,
        "LDAP_USER_FILTER": "(uid=%(user)s)",
        "LDAP_NIP_ATTRIBUTE": "employeeNumber",
        **extra,
    }


def ldap_switch_on(settings, variables: dict) -> None:
    """What settings.py does when LDAP_SERVER_URI is set: the AUTH_LDAP_* settings from the
    variables, and the LDAP backend right after axes' backend."""
    from asn_integrity.settings import ldap_settings

    for name, value in ldap_settings(variables).items():
        setattr(settings, name, value)
    axes, *others = [name for name in settings.AUTHENTICATION_BACKENDS if name != LDAP_BACKEND]
    assert axes == "axes.backends.AxesStandaloneBackend"
    settings.AUTHENTICATION_BACKENDS = [axes, LDAP_BACKEND, *others]


@pytest.fixture
def ldap_on(settings, directory, cast):
    """LDAP on, against the test directory; cast.staff is Siti and cast.colleague Rudi there."""
    ldap_switch_on(settings, environment(directory))
    Employee.objects.filter(pk=cast.staff.pk).update(nip=SITI.nip)
    Employee.objects.filter(pk=cast.colleague.pk).update(nip=RUDI.nip)
    return cast


def sign_in(client, username: str, password: str):
    """Post the login form as a person does, following the redirects to the page they land on."""
    return client.post("/akun/login/", {"username": username, "password": password}, follow=True)


def signed_in_user(client):
    return get_user_model().objects.filter(pk=client.session.get("_auth_user_id")).first()


# --- Signing in ------------------------------------------------------------------------------


@pytest.mark.parametrize("login", [SITI.uid, SITI.nip], ids=["directory login", "NIP"])
def test_a_staff_member_signs_in_with_the_directory_password_and_lands_on_their_page(ldap_on, login):
    client = Client()
    response = sign_in(client, login, SITI.password)
    assert response.redirect_chain[-1][0] == "/penilaian/"
    assert signed_in_user(client) == ldap_on.staff.user
    assert client.session[SESSION_BACKEND] == LDAP_BACKEND
    assert "Siti Staf" in response.content.decode()


def test_the_login_page_says_which_password_to_use(client, ldap_on, settings):
    assert "nama pengguna jaringan kantor" in client.get("/akun/login/").content.decode()
    settings.AUTHENTICATION_BACKENDS = [name for name in settings.AUTHENTICATION_BACKENDS if name != LDAP_BACKEND]
    assert "nama pengguna jaringan kantor" not in client.get("/akun/login/").content.decode()


def test_a_wrong_directory_password_is_refused(ldap_on):
    client = Client()
    response = sign_in(client, SITI.uid, RUDI.password)
    assert response.redirect_chain == [] and NO_MATCH in response.content.decode()
    assert signed_in_user(client) is None


@pytest.mark.parametrize("login", ["siti.st*", "*)(uid=siti.staf", "19800101*"])
def test_a_filter_written_into_the_login_matches_nobody(ldap_on, login):
    """The login typed is escaped into the search filter: "siti.st*" is not Siti."""
    client = Client()
    assert NO_MATCH in sign_in(client, login, SITI.password).content.decode()
    assert signed_in_user(client) is None


def test_a_directory_account_whose_nip_no_employee_has_is_refused_and_nothing_is_created(ldap_on):
    users, employees = get_user_model().objects.count(), Employee.objects.count()
    client = Client()
    response = sign_in(client, TAMU.uid, TAMU.password)
    assert NO_MATCH in response.content.decode() and signed_in_user(client) is None
    assert (get_user_model().objects.count(), Employee.objects.count()) == (users, employees)
    assert not get_user_model().objects.filter(username__in=[TAMU.uid, TAMU.nip]).exists()


def test_an_inactive_employee_is_refused(ldap_on):
    """Deactivated in the staff admin (the person and their login): the directory's yes is not enough."""
    services.employees_set_active(employees=Employee.objects.filter(pk=ldap_on.staff.pk), active=False, actor=ldap_on.admin)
    client = Client()
    response = sign_in(client, SITI.uid, SITI.password)
    # Not Django's "this account is inactive": the backend itself refuses, saying nothing of the account.
    assert NO_MATCH in response.content.decode() and signed_in_user(client) is None


def test_an_inactive_person_is_refused_even_with_an_active_login(ldap_on):
    Employee.objects.filter(pk=ldap_on.staff.pk).update(is_active=False)
    client = Client()
    assert NO_MATCH in sign_in(client, SITI.uid, SITI.password).content.decode()
    assert signed_in_user(client) is None


def test_the_local_password_keeps_working_beside_the_directory(ldap_on):
    """The decision (module docstring): both ways work until LOCAL_LOGIN=superusers."""
    client = Client()
    assert log_in(client, "staff", PASSWORD)
    assert signed_in_user(client) == ldap_on.staff.user
    assert client.session[SESSION_BACKEND] == LOCAL_BACKEND
    assert log_in(Client(), "admin", PASSWORD)  # a superuser outside the directory


def test_with_local_login_for_superusers_only_staff_sign_in_through_the_directory_alone(ldap_on, settings):
    """LOCAL_LOGIN=superusers restricts the app's own password check, not the directory's: the
    same form still signs staff in with their directory password, never with a local one."""
    settings.LOCAL_LOGIN = "superusers"
    client = Client()
    response = sign_in(client, "staff", PASSWORD)
    assert signed_in_user(client) is None and NO_MATCH in response.content.decode()
    assert sign_in(client, SITI.uid, SITI.password).redirect_chain[-1][0] == "/penilaian/"
    assert signed_in_user(client) == ldap_on.staff.user and client.session[SESSION_BACKEND] == LDAP_BACKEND
    assert log_in(Client(), "admin", PASSWORD)  # the superuser keeps the local password


# --- Protection ------------------------------------------------------------------------------


def test_five_wrong_directory_passwords_lock_that_login_out(ldap_on):
    client = Client(REMOTE_ADDR="10.0.1.1")
    for _ in range(4):
        assert NO_MATCH in sign_in(client, SITI.uid, "salah").content.decode()
    assert sign_in(client, SITI.uid, "salah").status_code == 429  # the fifth failure locks
    response = client.post("/akun/login/", {"username": SITI.uid, "password": SITI.password})
    assert response.status_code == 429 and "Terlalu banyak percobaan masuk yang gagal" in response.content.decode()
    assert signed_in_user(client) is None
    assert AccessAttempt.objects.get(username=SITI.uid).failures_since_start >= 5
    assert log_in(Client(REMOTE_ADDR="10.0.1.2"), SITI.uid, SITI.password)  # from another address


def test_an_unreachable_directory_says_so_keeps_the_input_and_logs_no_login(settings, ldap_on, caplog):
    ldap_switch_on(settings, environment(f"ldap://127.0.0.1:{_free_port()}", LDAP_TIMEOUT="2"))
    client = Client()
    response = sign_in(client, SITI.uid, SITI.password)
    page = response.content.decode()
    assert NO_ANSWER in page and f'value="{SITI.uid}"' in page and signed_in_user(client) is None
    assert "Can't contact LDAP server" in caplog.text  # the warning an operator needs
    assert SITI.uid not in caplog.text and SITI.nip not in caplog.text


def test_start_tls_encrypts_the_connection_with_the_agency_certificate(settings, ldap_on, tmp_path):
    """A directory that refuses any password sent in the clear: with LDAP_START_TLS and the
    agency's certificate authority the login works; without StartTLS the directory refuses the
    app's own bind, and the form says the password could not be checked."""
    process, uri = _start(tmp_path, tls=True)
    try:
        ldap_switch_on(settings, environment(uri, LDAP_START_TLS="1", LDAP_CA_CERT_FILE=str(tmp_path / "ca.pem")))
        assert sign_in(Client(), SITI.uid, SITI.password).redirect_chain[-1][0] == "/penilaian/"
        ldap_switch_on(settings, environment(uri, LDAP_START_TLS="0"))
        assert NO_ANSWER in sign_in(Client(), SITI.uid, SITI.password).content.decode()
    finally:
        _stop(process)


# --- Settings ------------------------------------------------------------------------------


def _settings_in_a_fresh_interpreter(**variables) -> subprocess.CompletedProcess:
    code = "import django; django.setup(); from django.conf import settings as s; print(' '.join(s.AUTHENTICATION_BACKENDS))"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LDAP_")}, "DEBUG": "1",
           "DJANGO_SETTINGS_MODULE": "asn_integrity.settings", **variables}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)


def test_ldap_is_on_only_when_its_server_is_set_and_comes_right_after_axes(directory):
    assert _settings_in_a_fresh_interpreter().stdout.split() == [
        "axes.backends.AxesStandaloneBackend", LOCAL_BACKEND, OIDC_BACKEND]
    assert _settings_in_a_fresh_interpreter(**environment(directory)).stdout.split() == [
        "axes.backends.AxesStandaloneBackend", LDAP_BACKEND, LOCAL_BACKEND, OIDC_BACKEND]
    unfinished = _settings_in_a_fresh_interpreter(LDAP_SERVER_URI=directory)
    assert unfinished.returncode != 0 and "LDAP_USER_SEARCH_BASE must name where the people are" in unfinished.stderr

"""Two-factor sign-in for people with administrative access, through the pages as a person uses
them: the codes are real TOTP codes computed from the secret the enrolment page shows
(django_otp.oath.TOTP, what an authenticator app computes), the recovery codes are read from
the page that shows them."""

import base64
import datetime
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from assessments import permissions
from assessments.models import VerifierAssignment

from .browser import assert_accessible
from .browser import log_in as browser_log_in
from .conftest import PASSWORD, log_in, make_employee

ENROL = "/akun/dua-langkah/daftar/"
CODE_PAGE = "/akun/dua-langkah/kode/"
STATUS = "/akun/dua-langkah/"
NEW_CODES = "/akun/dua-langkah/kode-pemulihan/"


@pytest.fixture
def required(settings):
    settings.TWO_FACTOR_REQUIRED = True


def app_code(secret: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows for `secret` (as the page writes it), now or
    `steps_ahead` 30-second steps later (a phone whose clock runs ahead: accepted, within one
    step, which lets a test sign in twice in the same half minute without reusing a code)."""
    totp = TOTP(base64.b32decode(secret.replace(" ", "")))
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


def page_secret(page: str) -> str:
    return re.search(r'data-testid="secret">([A-Z2-7 ]+)<', page).group(1)


def page_codes(page: str) -> list[str]:
    listed = re.search(r'data-testid="recovery-codes">(.*?)</ul>', page, re.S).group(1)
    return re.findall(r"<code>([a-z2-7]{4}-[a-z2-7]{4})</code>", listed)


def enrol(client) -> tuple[str, list[str]]:
    """Set up the authenticator app through the enrolment page; return the secret and the
    recovery codes the page shows."""
    page = client.get(ENROL).content.decode()
    secret = page_secret(page)
    response = client.post(ENROL, {"code": app_code(secret), "next": "/"})
    assert response.status_code == 200
    codes = page_codes(response.content.decode())
    assert len(codes) == 10
    return secret, codes


def sent_to(response) -> tuple[str, str | None]:
    """(path, next) of a redirect."""
    assert response.status_code == 302, response.status_code
    location = urlsplit(response["Location"])
    return location.path, parse_qs(location.query).get("next", [None])[0]


def log_out(client) -> None:
    assert client.post("/akun/logout/").status_code == 302


def test_an_admin_enrols_and_then_signs_in_with_password_and_a_real_code(client, cast, period, required):
    assert log_in(client, "admin")
    assert sent_to(client.get("/admin/")) == (ENROL, "/admin/")
    page = client.get(ENROL + "?next=/admin/").content.decode()
    assert "pindai kode QR ini" in page
    qr = re.search(r'<img class="qr-code[^"]*" src="data:image/svg\+xml;base64,([^"]+)"', page)
    svg = base64.b64decode(qr.group(1)).decode()
    assert svg.startswith("<svg") and "style" not in svg
    assert 'style="' not in page  # the CSP forbids inline styles
    secret = page_secret(page)
    assert len(secret.replace(" ", "")) == 32 and all(len(group) == 4 for group in secret.split())
    assert not TOTPDevice.objects.filter(user=cast.admin, confirmed=True).exists()  # shown, not confirmed yet

    before = client.cookies["sessionid"].value
    response = client.post(ENROL, {"code": app_code(secret), "next": "/admin/"})
    page = response.content.decode()
    assert response.status_code == 200 and "Kode pemulihan Anda" in page
    assert len(set(page_codes(page))) == 10
    assert 'href="/admin/"' in page
    assert client.cookies["sessionid"].value != before  # verifying rotates the session key
    assert TOTPDevice.objects.get(user=cast.admin).confirmed
    assert client.get("/admin/").status_code == 200

    log_out(client)
    assert log_in(client, "admin")
    assert sent_to(client.get("/rekap/")) == (CODE_PAGE, "/rekap/")
    assert sent_to(client.get("/admin/")) == (CODE_PAGE, "/admin/")
    before = client.cookies["sessionid"].value
    response = client.post(CODE_PAGE, {"code": app_code(secret, steps_ahead=1), "next": "/admin/"})
    assert sent_to(response) == ("/admin/", None)
    assert client.cookies["sessionid"].value != before
    assert client.get("/admin/").status_code == 200
    response = client.get("/rekap/")
    assert response.status_code == 200 and 'data-unit="ROOT"' in response.content.decode()
    assert 'href="/akun/dua-langkah/"' in response.content.decode()  # the menu's link to the status page


def test_a_wrong_code_is_refused_and_repeated_wrong_codes_are_throttled(client, cast, period, required):
    assert log_in(client, "admin")
    secret, _codes = enrol(client)
    log_out(client)
    assert log_in(client, "admin")
    right = app_code(secret, steps_ahead=1)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    page = client.post(CODE_PAGE, {"code": wrong, "next": "/rekap/"}).content.decode()
    assert "Kode ini tidak benar" in page
    assert f'value="{wrong}"' in page  # what was typed stays in the field
    # Straight after a wrong code even the right one is not checked: the page says how long to wait.
    page = client.post(CODE_PAGE, {"code": right, "next": "/rekap/"}).content.decode()
    assert "Terlalu banyak kode salah" in page and "Tunggu 1 detik" in page
    assert sent_to(client.get("/rekap/"))[0] == CODE_PAGE
    device = TOTPDevice.objects.get(user=cast.admin)
    assert device.throttling_failure_count == 1

    # Wrong again once the wait is over: the wait doubles.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=timezone.now() - datetime.timedelta(seconds=5))
    assert "Kode ini tidak benar" in client.post(CODE_PAGE, {"code": wrong}).content.decode()
    assert "Tunggu 2 detik" in client.post(CODE_PAGE, {"code": right}).content.decode()

    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=timezone.now() - datetime.timedelta(seconds=5))
    assert sent_to(client.post(CODE_PAGE, {"code": right, "next": "/rekap/"})) == ("/rekap/", None)
    assert TOTPDevice.objects.get(pk=device.pk).throttling_failure_count == 0
    assert client.get("/rekap/").status_code == 200


def test_a_recovery_code_works_once_only(client, cast, required):
    assert log_in(client, "admin")
    _secret, codes = enrol(client)
    log_out(client)

    assert log_in(client, "admin")
    response = client.post(CODE_PAGE, {"code": codes[3].upper(), "next": "/admin/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/admin/" and response.status_code == 200
    assert "Sisa kode pemulihan: 9" in response.content.decode()
    assert StaticToken.objects.filter(device__user=cast.admin).count() == 9
    log_out(client)

    assert log_in(client, "admin")
    page = client.post(CODE_PAGE, {"code": codes[3], "next": "/admin/"}).content.decode()
    assert "Kode ini tidak benar" in page
    assert sent_to(client.get("/admin/"))[0] == CODE_PAGE
    StaticDevice.objects.filter(user=cast.admin).update(throttling_failure_timestamp=None, throttling_failure_count=0)
    assert sent_to(client.post(CODE_PAGE, {"code": codes[4], "next": "/admin/"})) == ("/admin/", None)


def test_new_recovery_codes_void_the_old_ones(client, cast, period, required):
    assert log_in(client, "admin")
    _secret, old = enrol(client)
    page = client.get(STATUS).content.decode()
    assert '<span class="badge bg-success">Aktif</span>' in page and "Sisa kode pemulihan yang belum dipakai: 10 dari 10." in page

    page = client.get(NEW_CODES).content.decode()  # asks first
    assert "Buat kode pemulihan baru?" in page and "berhenti berlaku" in page
    assert StaticToken.objects.filter(device__user=cast.admin).count() == 10
    new = page_codes(client.post(NEW_CODES).content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert sorted(StaticToken.objects.filter(device__user=cast.admin).values_list("token", flat=True)) == sorted(c.replace("-", "") for c in new)
    log_out(client)

    assert log_in(client, "admin")
    assert "Kode ini tidak benar" in client.post(CODE_PAGE, {"code": old[0]}).content.decode()
    StaticDevice.objects.filter(user=cast.admin).update(throttling_failure_timestamp=None, throttling_failure_count=0)
    assert sent_to(client.post(CODE_PAGE, {"code": new[0], "next": "/rekap/"})) == ("/rekap/", None)


def test_recovery_codes_are_made_again_only_in_a_verified_session(client, cast, settings):
    # Not enforced: the admin goes everywhere, but the codes still need the second factor.
    settings.TWO_FACTOR_REQUIRED = False
    assert log_in(client, "admin")
    _secret, old = enrol(client)
    log_out(client)
    assert log_in(client, "admin")
    assert client.get("/admin/").status_code == 200
    assert sent_to(client.post(NEW_CODES)) == (CODE_PAGE, NEW_CODES)
    assert sorted(StaticToken.objects.filter(device__user=cast.admin).values_list("token", flat=True)) == sorted(c.replace("-", "") for c in old)


@pytest.mark.parametrize("who", ["staff", "supervisor"])
def test_staff_and_supervisors_are_never_asked(client, cast, period, required, who):
    user = getattr(cast, who).user
    assert not permissions.needs_second_factor(user)
    assert log_in(client, user.username)
    response = client.get("/", follow=True)
    assert response.status_code == 200 and CODE_PAGE not in response.redirect_chain[-1][0] and ENROL not in response.redirect_chain[-1][0]
    assert "/akun/dua-langkah/" not in response.content.decode()
    assert client.get("/penilaian/").status_code == 200
    assert client.get(reverse("password_change")).status_code == 200
    for url in (STATUS, ENROL, CODE_PAGE, NEW_CODES):
        assert client.get(url).status_code == 404
    assert not TOTPDevice.objects.exists()


def test_staff_pay_no_query_for_the_check(client, cast, period, settings):
    assert log_in(client, "staff")
    client.get("/penilaian/")  # the first page of a session stores the roles in it
    settings.TWO_FACTOR_REQUIRED = False
    with CaptureQueriesContext(connection) as off:
        assert client.get("/penilaian/").status_code == 200
    settings.TWO_FACTOR_REQUIRED = True
    with CaptureQueriesContext(connection) as on:
        assert client.get("/penilaian/").status_code == 200
    assert len(on) == len(off)


def test_the_internal_assessment_team_needs_it_too(client, cast, required):
    member = make_employee("penilai", cast.tree.b)
    member.user.groups.add(Group.objects.get(name=permissions.VERIFIER_GROUP))
    VerifierAssignment.objects.create(user=member.user, unit=cast.tree.root)
    assert permissions.needs_second_factor(member.user)
    assert log_in(client, "penilai")
    assert sent_to(client.get("/tim-penilai/")) == (ENROL, "/tim-penilai/")
    # Their own assessment pages too: the session as a whole is not verified.
    assert sent_to(client.get("/penilaian/")) == (ENROL, "/penilaian/")
    enrol(client)
    assert client.get("/tim-penilai/").status_code == 200


def test_office_admins_need_it_too(client, cast, period, required):
    """An office admin (Admin OPD) manages people's accounts in their units: the administration
    and their Rekap wait for the second factor."""
    from .test_admin_access import office_admin

    user = office_admin(cast)
    assert permissions.needs_second_factor(user)
    assert log_in(client, user.username)
    assert sent_to(client.get("/admin/")) == (ENROL, "/admin/")
    assert sent_to(client.get("/rekap/")) == (ENROL, "/rekap/")
    enrol(client)
    assert client.get("/admin/").status_code == 200 and client.get("/rekap/").status_code == 200


def test_when_not_required_the_admin_is_not_forced_but_can_enrol(client, cast, period, settings):
    settings.TWO_FACTOR_REQUIRED = False
    assert log_in(client, "admin")
    assert client.get("/admin/").status_code == 200
    page = client.get("/rekap/").content.decode()
    assert 'href="/akun/dua-langkah/"' in page
    page = client.get(STATUS).content.decode()
    assert '<span class="badge bg-secondary">Nonaktif</span>' in page and "belum diwajibkan" in page
    secret, _codes = enrol(client)
    assert '<span class="badge bg-success">Aktif</span>' in client.get(STATUS).content.decode()
    log_out(client)
    assert log_in(client, "admin")
    assert client.get("/admin/").status_code == 200  # not asked for the code
    assert sent_to(client.post(CODE_PAGE, {"code": app_code(secret, 1), "next": STATUS})) == (STATUS, None)


def test_a_person_with_an_app_cannot_enrol_another_before_the_code(client, cast, required):
    assert log_in(client, "admin")
    enrol(client)
    log_out(client)
    assert log_in(client, "admin")
    assert sent_to(client.get(ENROL + "?next=/admin/")) == (CODE_PAGE, "/admin/")
    assert sent_to(client.post(ENROL, {"code": "123456"})) == (CODE_PAGE, "/")
    assert TOTPDevice.objects.filter(user=cast.admin).count() == 1
    assert sent_to(client.get(STATUS)) == (CODE_PAGE, STATUS)
    # Not the password change either: a password alone must not lock the owner out.
    assert sent_to(client.get(reverse("password_change"))) == (CODE_PAGE, reverse("password_change"))


def test_the_code_page_sends_on_to_this_site_only(client, cast, required):
    assert log_in(client, "admin")
    secret, _codes = enrol(client)
    log_out(client)
    assert log_in(client, "admin")
    response = client.post(CODE_PAGE, {"code": app_code(secret, 1), "next": "https://contoh.example/curi"})
    assert sent_to(response) == ("/", None)


def test_pages_that_need_no_second_factor_stay_open(client, cast, required):
    assert log_in(client, "admin")
    assert client.get("/privasi/").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.post("/i18n/setlang/", {"language": "en", "next": ENROL}).status_code == 302
    assert "Set up two-factor sign-in" in client.get(ENROL).content.decode()
    assert client.post("/akun/logout/").status_code == 302


def group_admin():
    user = get_user_model().objects.create_user("hr", "hr@example.go.id", PASSWORD)
    user.groups.add(Group.objects.get(name=permissions.ADMIN_GROUP))
    return user


def test_an_admin_resets_a_persons_second_factor_in_the_admin(client, cast, settings):
    settings.TWO_FACTOR_REQUIRED = False
    hr = group_admin()
    assert log_in(client, "hr")
    secret, _codes = enrol(client)
    log_out(client)

    assert log_in(client, "admin")
    device = TOTPDevice.objects.get(user=hr)
    page = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/change/").content.decode()
    assert "hr" in page and device.key not in page and secret.replace(" ", "") not in page
    for page_of_django_otp in ("config", "qrcode"):  # django-otp's QR code pages are left out
        response = client.get(f"/admin/otp_totp/totpdevice/{device.pk}/{page_of_django_otp}/", follow=True)
        assert response.redirect_chain[-1][0] == "/admin/" and response["Content-Type"].startswith("text/html")
        assert device.key not in response.content.decode()
    assert client.get("/admin/otp_totp/totpdevice/add/").status_code == 403
    response = client.post(f"/admin/otp_totp/totpdevice/{device.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not TOTPDevice.objects.filter(user=hr).exists()
    log_out(client)

    # Reset: at the next sign-in hr sets up an app again (the old recovery codes lead nowhere).
    settings.TWO_FACTOR_REQUIRED = True
    assert log_in(client, "hr")
    assert sent_to(client.get("/admin/")) == (ENROL, "/admin/")
    assert sent_to(client.get(CODE_PAGE)) == (ENROL, "/")


def test_admin_kepegawaian_resets_others_but_not_a_superusers(client, cast, settings):
    settings.TWO_FACTOR_REQUIRED = False
    assert log_in(client, "admin")
    enrol(client)
    log_out(client)
    supervisor_device = TOTPDevice.objects.create(user=cast.supervisor.user, name="x", confirmed=True)
    admin_device = TOTPDevice.objects.get(user=cast.admin)

    assert log_in(client, group_admin().username)
    page = client.get("/admin/otp_totp/totpdevice/").content.decode()
    assert "supervisor" in page and "admin" in page
    assert client.post(f"/admin/otp_totp/totpdevice/{admin_device.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/otp_static/staticdevice/{StaticDevice.objects.get(user=cast.admin).pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/otp_totp/totpdevice/{supervisor_device.pk}/delete/", {"post": "yes"}).status_code == 302
    assert list(TOTPDevice.objects.values_list("pk", flat=True)) == [admin_device.pk]


def test_the_group_may_see_and_reset_second_factors(db):
    group = Group.objects.get(name=permissions.ADMIN_GROUP)
    codenames = set(group.permissions.filter(content_type__app_label__in=["otp_totp", "otp_static"]).values_list("codename", flat=True))
    assert codenames == {"view_totpdevice", "delete_totpdevice", "view_staticdevice", "delete_staticdevice"}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [360, 1280])
def test_enrolment_in_a_browser(live_server, demo, page_factory, settings, width):
    """The admin of the demo signs in, is sent to the enrolment page, types the code of the
    secret it shows and lands where they were going; at 360 px, accessible, no CSP error."""
    settings.TWO_FACTOR_REQUIRED = True
    page = page_factory(width=width)
    browser_log_in(page, live_server.url, "admin")
    assert urlsplit(page.url).path == ENROL
    assert page.locator("img.qr-code").evaluate("img => img.naturalWidth > 0")
    assert_accessible(page)
    page.fill("input[name=code]", app_code(page.locator("[data-testid=secret]").inner_text()))
    page.click("button[type=submit]:has-text('Konfirmasi')")
    page.wait_for_selector("[data-testid=recovery-codes]")
    assert page.locator("[data-testid=recovery-codes] code").count() == 10
    assert_accessible(page)
    page.click("text=Saya sudah menyimpannya")
    page.wait_for_load_state()
    assert urlsplit(page.url).path == "/rekap/"
    assert page.console_errors == []

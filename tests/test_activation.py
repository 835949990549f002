"""Activation letters: an admin generates them per person (the staff list's action) or per unit
(the unit list's action: the subtree's staff without an e-mail address who never logged in),
confirms, and prints one letter per A4 page with a one-time code; the person sets their first
password with it on /aktivasi/, once, within 14 days; wrong codes count towards the login's
lockout; the database keeps only a keyed hash of the code."""

import datetime
import logging
import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.utils import timezone

from assessments import activation
from assessments.models import ActivationCode, Employee

from .conftest import PASSWORD, log_in, make_employee

NEW_PASSWORD = "Pelangi-Senja-2027"
CODE = re.compile(r'<p class="code">([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})</p>')
STAFF_LIST = "/admin/assessments/employee/"
UNIT_LIST = "/admin/assessments/workunit/"
STAFF_LETTERS = "/admin/assessments/employee/surat-aktivasi/"
UNIT_LETTERS = "/admin/assessments/workunit/surat-aktivasi/"


def without_email(*employees: Employee) -> None:
    get_user_model().objects.filter(pk__in=[e.user_id for e in employees]).update(email="")


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast.admin)
    return client


@pytest.fixture
def paperless(cast):
    """staff and colleague (A1) and other (B) have no e-mail address and never logged in."""
    without_email(cast.staff, cast.colleague, cast.other)
    return cast


def choose(client, changelist: str, objects) -> str:
    """Tick `objects` in the list and choose the action, as an admin does; return the
    confirmation page's address it leads to."""
    response = client.post(changelist, {"action": "activation_letters", "_selected_action": [o.pk for o in objects]})
    assert response.status_code == 302, response.status_code
    return response["Location"]


def generate(client, changelist: str, objects) -> tuple[object, dict[str, str]]:
    """Choose, confirm; return the letters page and {NIP: code} as printed."""
    address = choose(client, changelist, objects)
    confirmation = client.get(address)
    response = client.post(address, {"token": confirmation.context["token"]})
    assert response.status_code == 200
    page = response.content.decode()
    letters = re.findall(r'<td class="nip">(\d{18})</td>.*?<p class="code">([A-Z0-9-]{14})</p>', page, re.S)
    return response, dict(letters)


def activate(client, nip: str, code: str, password: str = NEW_PASSWORD, again: str | None = None):
    return client.post("/aktivasi/", {"nip": nip, "code": code, "new_password1": password, "new_password2": again or password})


def password_works(employee: Employee, password: str) -> bool:
    return get_user_model().objects.get(pk=employee.user_id).check_password(password)


# --- Generating --------------------------------------------------------------------------------


def test_per_person_the_admin_confirms_first_and_then_gets_the_letters(admin_client, paperless):
    cast = paperless
    address = choose(admin_client, STAFF_LIST, [cast.staff, cast.supervisor])
    assert address.startswith(STAFF_LETTERS + "?pegawai=")
    confirmation = admin_client.get(address)
    page = confirmation.content.decode()
    assert "1 orang mendapat surat" in page and cast.staff.full_name in page and cast.staff.nip in page
    # Ratna has an e-mail address: she is named with the reason, and gets no letter.
    assert "1 orang tidak mendapat surat" in page and "Ratna Atasan" in page and "memiliki alamat surel" in page
    assert "membatalkan kode" in page and "Ya, buat dan tampilkan surat" in page
    assert not ActivationCode.objects.exists()  # nothing before the confirmation

    response = admin_client.post(address, {"token": confirmation.context["token"]})
    assert response.status_code == 200
    code = ActivationCode.objects.get()
    assert code.employee == cast.staff and code.created_by == cast.admin
    assert code.expires_at - code.created_at == datetime.timedelta(days=14)


def test_the_letter_names_the_person_and_carries_the_code_the_address_and_the_expiry(admin_client, paperless, settings):
    settings.SITE_URL = "https://integritas.example.go.id/"
    response, letters = generate(admin_client, STAFF_LIST, [paperless.staff])
    page = response.content.decode()
    staff = paperless.staff
    assert list(letters) == [staff.nip]
    assert "Surat Aktivasi Akun" in page and "<strong class=\"name\">Siti Staf</strong>" in page
    assert "Subdirektorat A1 (A1)" in page and "Analis" in page
    assert "https://integritas.example.go.id/aktivasi/" in page and "https://integritas.example.go.id/akun/login/" in page
    expires = timezone.localtime(ActivationCode.objects.get().expires_at)
    months = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober", "November", "Desember"]
    assert f"Berlaku sampai {expires.day} {months[expires.month - 1]} {expires.year}, {expires:%H:%M} WIB" in page
    assert "Cara mengaktifkan akun" in page and "hanya dapat dipakai sekali" in page


def test_the_letters_are_in_indonesian_whatever_the_admins_language(admin_client, paperless):
    admin_client.post("/i18n/setlang/", {"language": "en"})
    response, _letters = generate(admin_client, STAFF_LIST, [paperless.staff])
    page = response.content.decode()
    assert "Print them now" in page  # the admin's toolbar
    assert "Surat Aktivasi Akun" in page and "Kode aktivasi Anda" in page


def test_the_letters_page_is_print_ready_under_the_csp(admin_client, paperless):
    response, letters = generate(admin_client, STAFF_LIST, [paperless.staff, paperless.colleague, paperless.other])
    page = response.content.decode()
    assert len(letters) == 3 and page.count('<article class="letter"') == 3
    assert 'href="/static/css/letters.css"' in page and '<script src="/static/js/print.js" defer></script>' in page
    assert "style=" not in page and "<style" not in page
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)  # no inline script
    assert "no-store" in response["Cache-Control"]
    css = (settings.BASE_DIR / "static" / "css" / "letters.css").read_text()
    assert "size: A4" in css and "break-after: page" in css and ".toolbar { display: none; }" in css


def test_per_unit_letters_go_to_the_subtrees_staff_without_email_who_never_logged_in(admin_client, paperless):
    cast = paperless
    logged_in = make_employee("sudah", cast.tree.a1, name="Sudah Masuk")
    without_email(logged_in, cast.supervisor)
    assert log_in(Client(), "sudah")
    address = choose(admin_client, UNIT_LIST, [cast.tree.a])
    assert address.startswith(UNIT_LETTERS + "?unit=")
    page = admin_client.get(address).content.decode()
    assert "Direktorat A</strong> (A)" in page and "3 orang mendapat surat" in page
    _response, letters = generate(admin_client, UNIT_LIST, [cast.tree.a])
    # A (Ratna, no e-mail now) and A1 (staff, colleague); not B's Oki, not Sudah, who has logged in.
    assert set(letters) == {cast.supervisor.nip, cast.staff.nip, cast.colleague.nip}


def test_generating_again_voids_the_earlier_code(admin_client, paperless):
    staff = paperless.staff
    _response, first = generate(admin_client, STAFF_LIST, [staff])
    _response, second = generate(admin_client, STAFF_LIST, [staff])
    assert first[staff.nip] != second[staff.nip]
    assert ActivationCode.objects.filter(employee=staff, voided_at__isnull=False).count() == 1
    page = activate(Client(), staff.nip, first[staff.nip]).content.decode()
    assert "Kode aktivasi ini tidak dapat dipakai" in page
    assert activate(Client(), staff.nip, second[staff.nip]).status_code == 302


def test_a_reload_of_the_confirmed_page_generates_nothing_again(admin_client, paperless):
    address = choose(admin_client, STAFF_LIST, [paperless.staff])
    token = admin_client.get(address).context["token"]
    assert admin_client.post(address, {"token": token}).status_code == 200
    before = list(ActivationCode.objects.values_list())
    again = admin_client.post(address, {"token": token}, follow=True)
    assert again.request["PATH_INFO"] == STAFF_LIST
    assert "sudah dibuat" in again.content.decode()
    assert list(ActivationCode.objects.values_list()) == before  # the printed code still works


def test_administrators_and_people_who_logged_in_get_no_letter(admin_client, paperless):
    cast = paperless
    officer = make_employee("petugas", cast.tree.b, name="Petugas Admin")
    without_email(officer)
    get_user_model().objects.filter(pk=officer.user_id).update(is_staff=True)
    assert log_in(Client(), "other")
    page = admin_client.get(choose(admin_client, STAFF_LIST, [officer, cast.other])).content.decode()
    assert "akun administrasi" in page and "sudah pernah masuk" in page
    assert "Tidak ada satu pun yang dipilih yang mendapat surat aktivasi." in page and 'name="token"' not in page


def test_the_page_says_how_to_choose_when_reached_without_a_selection(admin_client, cast):
    page = admin_client.get(STAFF_LETTERS).content.decode()
    assert "Pilih dulu pegawai atau unitnya." in page


# --- Only admins --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["supervisor", "staff"])
@pytest.mark.parametrize("url", [STAFF_LETTERS, UNIT_LETTERS])
def test_only_admins_generate(client, paperless, who, url):
    client.force_login(getattr(paperless, who).user)
    ids = f"?pegawai={paperless.staff.pk}&unit={paperless.tree.a1.pk}"
    assert client.get(url + ids).status_code == 403
    assert client.post(url + ids, {"token": "x"}).status_code == 403
    assert not ActivationCode.objects.exists()


def test_the_anonymous_are_sent_to_log_in(client, paperless):
    response = client.post(STAFF_LETTERS + f"?pegawai={paperless.staff.pk}", {"token": "x"}, follow=True)
    assert response.redirect_chain[-1][0].startswith("/akun/login/")
    assert not ActivationCode.objects.exists()


def test_an_admin_kepegawaian_generates_and_an_admin_without_the_permission_does_not(client, paperless):
    hr = get_user_model().objects.create_user("hr", "hr@example.go.id", PASSWORD)
    hr.groups.add(Group.objects.get(name="Admin Kepegawaian"))
    client.force_login(hr)
    _response, letters = generate(client, STAFF_LIST, [paperless.staff])
    assert list(letters) == [paperless.staff.nip]
    # Someone who may see the organisation but not generate letters: no action, no page.
    reader = get_user_model().objects.create_user("pembaca", "pembaca@example.go.id", PASSWORD)
    from django.contrib.auth.models import Permission

    reader.user_permissions.add(*Permission.objects.filter(codename__in=["view_organisation", "view_employee", "change_employee"]))
    client.force_login(reader)
    assert "activation_letters" not in client.get(STAFF_LIST).content.decode()
    assert client.get(STAFF_LETTERS + f"?pegawai={paperless.staff.pk}").status_code == 403


# --- Activating ---------------------------------------------------------------------------------


def test_the_code_sets_the_password_once_and_the_person_logs_in(admin_client, paperless):
    staff = paperless.staff
    _response, letters = generate(admin_client, STAFF_LIST, [staff])
    code = letters[staff.nip]
    visitor = Client()
    assert visitor.get("/aktivasi/").status_code == 200
    typed = code.lower().replace("-", " ")  # small letters and spaces, as people type
    spaced_nip = f"{staff.nip[:8]} {staff.nip[8:14]} {staff.nip[14]} {staff.nip[15:]}"
    response = activate(visitor, spaced_nip, typed)
    assert response.status_code == 302 and response["Location"] == "/akun/login/"
    assert "Kata sandi Anda sudah disimpan" in visitor.get("/akun/login/").content.decode()
    assert password_works(staff, NEW_PASSWORD)
    assert ActivationCode.objects.get().used_at is not None
    assert log_in(Client(), staff.user.username, NEW_PASSWORD)

    # The second use is refused, and the password stays the one chosen.
    again = activate(Client(), staff.nip, code, password="Lain-Lagi-2028")
    assert again.status_code == 200 and "Kode aktivasi ini tidak dapat dipakai" in again.content.decode()
    assert password_works(staff, NEW_PASSWORD)


def test_the_code_expires_after_14_days(admin_client, paperless):
    staff, colleague = paperless.staff, paperless.colleague
    _response, letters = generate(admin_client, STAFF_LIST, [staff, colleague])
    # Fourteen days less a minute have passed for the colleague, fourteen days and a minute for staff.
    for employee, age in ((colleague, datetime.timedelta(days=14, minutes=-1)), (staff, datetime.timedelta(days=14, minutes=1))):
        ActivationCode.objects.filter(employee=employee).update(
            created_at=timezone.now() - age, expires_at=timezone.now() - age + datetime.timedelta(days=14)
        )
    assert activate(Client(), colleague.nip, letters[colleague.nip]).status_code == 302
    refused = activate(Client(), staff.nip, letters[staff.nip])
    assert refused.status_code == 200 and "Kode aktivasi ini tidak dapat dipakai" in refused.content.decode()
    assert password_works(staff, PASSWORD)  # unchanged


def test_wrong_used_expired_and_voided_codes_get_one_message(admin_client, paperless):
    cast = paperless
    _response, letters = generate(admin_client, STAFF_LIST, [cast.staff, cast.colleague, cast.other])
    assert activate(Client(), cast.staff.nip, letters[cast.staff.nip]).status_code == 302  # used now
    ActivationCode.objects.filter(employee=cast.colleague).update(expires_at=timezone.now())  # expired
    ActivationCode.objects.filter(employee=cast.other).update(voided_at=timezone.now())  # replaced
    attempts = [
        (cast.staff.nip, letters[cast.staff.nip]),
        (cast.colleague.nip, letters[cast.colleague.nip]),
        (cast.other.nip, letters[cast.other.nip]),
        (cast.supervisor.nip, letters[cast.other.nip]),  # someone else's code
        ("199001012015031999", "ABCD-EFGH-JKMN"),  # nobody's NIP
    ]
    messages = set()
    for number, (nip, code) in enumerate(attempts):
        page = activate(Client(REMOTE_ADDR=f"10.9.0.{number}"), nip, code).content.decode()
        messages.add(re.search(r"Kode aktivasi ini tidak dapat dipakai[^<]*", page).group(0))
    assert len(messages) == 1


def test_the_password_validators_apply_and_the_code_stays_unused(admin_client, paperless):
    staff = paperless.staff
    _response, letters = generate(admin_client, STAFF_LIST, [staff])
    response = activate(Client(), staff.nip, letters[staff.nip], password="12345678")
    page = response.content.decode()
    assert response.status_code == 200 and "terlalu umum" in page and "seluruhnya terdiri dari angka" in page
    assert f'value="{staff.nip}"' in page  # what was typed is kept
    mismatch = activate(Client(), staff.nip, letters[staff.nip], again="Pelangi-Senja-2028").content.decode()
    assert "Kedua kata sandi berbeda" in mismatch
    assert ActivationCode.objects.get().used_at is None
    assert activate(Client(), staff.nip, letters[staff.nip]).status_code == 302


def test_a_person_who_has_logged_in_since_cannot_use_their_letter(admin_client, paperless):
    staff = paperless.staff
    _response, letters = generate(admin_client, STAFF_LIST, [staff])
    assert log_in(Client(), staff.user.username, PASSWORD)  # set up another way meanwhile
    assert activate(Client(), staff.nip, letters[staff.nip]).status_code == 200
    assert password_works(staff, PASSWORD)


def test_the_database_keeps_a_hash_never_the_code(admin_client, paperless, caplog):
    staff = paperless.staff
    with caplog.at_level(logging.DEBUG):
        _response, letters = generate(admin_client, STAFF_LIST, [staff])
        activate(Client(), staff.nip, letters[staff.nip])
    code = letters[staff.nip]
    stored = ActivationCode.objects.get()
    assert re.fullmatch(r"[0-9a-f]{64}", stored.code_hash)
    assert stored.code_hash == activation.code_hash(staff.pk, code) != activation.code_hash(paperless.colleague.pk, code)
    plain = activation.normalise_code(code)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM assessments_activationcode")
        row = repr(cursor.fetchall())
    assert plain not in row and code not in row
    assert "activation letters generated: 1" in caplog.text and "account activated" in caplog.text
    assert plain not in caplog.text and code not in caplog.text and staff.nip not in caplog.text


def test_five_wrong_codes_lock_the_nip_from_that_address_like_the_login(admin_client, paperless):
    staff = paperless.staff
    _response, letters = generate(admin_client, STAFF_LIST, [staff])
    guesser = Client(REMOTE_ADDR="10.0.0.21")
    for attempt in range(4):
        assert activate(guesser, staff.nip, f"AAAA-BBBB-CCC{attempt + 2}").status_code == 200
    locked = activate(guesser, staff.nip, "AAAA-BBBB-CCC9")
    assert locked.status_code == 429 and "Terlalu banyak percobaan" in locked.content.decode()
    # Now even the right code is refused from that address, and nothing changes.
    assert activate(guesser, staff.nip, letters[staff.nip]).status_code == 429
    assert ActivationCode.objects.get().used_at is None
    attempt = AccessAttempt.objects.get(username=staff.nip)
    assert attempt.failures_since_start >= 5 and "AAAA" not in attempt.post_data and NEW_PASSWORD not in attempt.post_data
    # The lock is per NIP and address: the person at their own desk activates.
    assert activate(Client(REMOTE_ADDR="10.0.0.22"), staff.nip, letters[staff.nip]).status_code == 302


def test_the_login_page_links_to_the_activation_page(client, db):
    page = client.get("/akun/login/").content.decode()
    assert 'href="/aktivasi/"' in page and "surat aktivasi" in page


# --- Office admins (Admin OPD) -----------------------------------------------------------------


def test_an_office_admin_prints_letters_for_the_staff_of_their_units_only(client, paperless):
    """The office admin of A prints letters for A's staff, by person or by unit; a forged address
    naming B's staff member or unit B generates nothing for them."""
    from .test_admin_access import office_admin

    cast = paperless
    client.force_login(office_admin(cast))
    response, letters = generate(client, STAFF_LIST, [cast.staff])
    assert set(letters) == {cast.staff.nip}
    assert ActivationCode.objects.get(used_at=None, voided_at=None).created_by.groups.filter(name="Admin OPD").exists()

    forged = client.get(f"{STAFF_LETTERS}?pegawai={cast.other.pk},{cast.colleague.pk}")
    assert forged.status_code == 200 and cast.other.full_name not in forged.content.decode()
    client.post(f"{STAFF_LETTERS}?pegawai={cast.other.pk},{cast.colleague.pk}", {"token": forged.context["token"]})
    assert set(ActivationCode.objects.filter(used_at=None, voided_at=None).values_list("employee__nip", flat=True)) == {
        cast.staff.nip, cast.colleague.nip}

    forged = client.get(f"{UNIT_LETTERS}?unit={cast.tree.b.pk}")
    assert forged.status_code == 200 and forged.context["token"] == "" and cast.other.full_name not in forged.content.decode()
    assert not ActivationCode.objects.filter(employee=cast.other).exists()

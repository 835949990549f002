"""Activation letters in a real browser: an admin picks two people without an e-mail address in
the staff list, confirms and prints the letters (one per A4 page, the toolbar hidden in print);
one of them opens the activation page from the login page on a 360 px phone, sets a password
with the code and logs in. axe-core, the sideways-scroll check and the CSP on every page."""

import pytest
from django.contrib.auth import get_user_model

from assessments.models import Employee

from .browser import assert_accessible, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Pelangi-Senja-2027"


@pytest.mark.parametrize("width", [1366, 360])
def test_an_admin_prints_a_letter_and_the_person_activates_their_account(live_server, demo, page_factory, width):
    people = list(
        Employee.objects.filter(is_active=True, user__last_login__isnull=True, user__is_staff=False, user__is_superuser=False)
        .select_related("user", "unit")
        .order_by("pk")[:2]
    )
    get_user_model().objects.filter(pk__in=[p.user_id for p in people]).update(email="")
    for number, chosen in enumerate(people, start=1):  # names the list's search finds together
        Employee.objects.filter(pk=chosen.pk).update(full_name=f"Penerima Surat {number}")
    person = Employee.objects.select_related("unit").get(pk=people[0].pk)

    page = page_factory(width=width)
    log_in(page, live_server.url, "admin")
    page.goto(f"{live_server.url}/admin/assessments/employee/?q=Penerima+Surat")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "activation_letters")
    page.click("button[name=index]")
    page.wait_for_selector("#letters-eligible")
    assert "Penerima Surat 1" in page.locator("#letters-eligible").inner_text()
    assert_accessible(page)
    page.click("input[type=submit][value='Ya, buat dan tampilkan surat']")
    page.wait_for_selector("article.letter")
    assert_accessible(page)
    letters = page.locator("article.letter")
    assert letters.count() == 2
    first = letters.filter(has_text=person.nip)
    assert "Surat Aktivasi Akun" in first.inner_text() and person.unit.name in first.inner_text()
    code = first.locator(".code").inner_text()

    page.evaluate("window.print = () => { window.printed = true; }")
    page.click("button[data-print]")
    assert page.evaluate("window.printed === true")
    page.emulate_media(media="print")
    assert page.locator(".toolbar").is_hidden()
    # One letter per sheet: a page break after each but the last.
    breaks = page.evaluate("[...document.querySelectorAll('article.letter')].map(e => getComputedStyle(e).breakAfter)")
    assert breaks == ["page", "auto"]
    page.emulate_media(media="screen")
    assert page.console_errors == []

    phone = page_factory(width=360)
    phone.goto(f"{live_server.url}/akun/login/")
    phone.click("text=Aktifkan akun Anda")
    phone.wait_for_selector("input[name=code]")
    assert_accessible(phone)
    phone.fill("input[name=nip]", person.nip)
    phone.fill("input[name=code]", code.lower())
    phone.fill("input[name=new_password1]", NEW_PASSWORD)
    phone.fill("input[name=new_password2]", NEW_PASSWORD)
    phone.click("button[type=submit]:has-text('Simpan kata sandi')")
    phone.wait_for_selector(".alert-success")
    assert phone.url.endswith("/akun/login/") and "Kata sandi Anda sudah disimpan" in phone.locator(".alert-success").inner_text()
    assert_accessible(phone)
    log_in(phone, live_server.url, person.nip, NEW_PASSWORD)
    assert not phone.url.endswith("/akun/login/")
    assert phone.console_errors == []


@pytest.mark.parametrize("width", [1366, 360])
def test_an_admin_imports_a_siasn_export_with_its_supervisors(live_server, demo, page_factory, width):
    from assessments.models import SupervisorAssignment, WorkUnit

    from .test_import_siasn import DEWI, FIXTURE, HENDRA

    # The test tree of the fixture, beside the demo organisation (tests/conftest.py's `tree`).
    root = WorkUnit.objects.add_root({"code": "ROOT", "name": "Kementerian Uji"})
    a = WorkUnit.objects.add_child(WorkUnit.objects.get(pk=root.pk), {"code": "A", "name": "Direktorat A"})
    WorkUnit.objects.add_child(WorkUnit.objects.get(pk=a.pk), {"code": "A1", "name": "Subdirektorat A1"})
    WorkUnit.objects.add_child(WorkUnit.objects.get(pk=root.pk), {"code": "B", "name": "Direktorat B"})

    page = page_factory(width=width)
    log_in(page, live_server.url, "admin")
    page.goto(f"{live_server.url}/admin/assessments/employee/import/")
    assert "NIP Atasan Langsung" in page.locator("#import-columns").inner_text()
    assert_accessible(page)
    page.set_input_files("input[type=file]", str(FIXTURE))
    page.click("input[type=submit][value='Pratinjau']")
    page.wait_for_selector("#import-heads")
    assert "NIP LAMA" in page.locator("#import-ignored").inner_text()
    assert page.locator("#import-heads tr.head-added").count() == 4  # Ratna's A is new here too
    assert_accessible(page)
    page.click("input[type=submit][value='Konfirmasi impor']")
    page.wait_for_selector(".messagelist .success")
    assert "Kepala unit: 4 ditambah, 0 dihapus." in page.locator(".messagelist").inner_text()
    heads = set(SupervisorAssignment.objects.filter(unit__code__in=["ROOT", "A", "A1", "B"]).values_list("employee__nip", "unit__code"))
    assert {(HENDRA, "ROOT"), (DEWI, "A1")} <= heads and len(heads) == 4
    assert page.console_errors == []

"""The supervisor journey in a real browser: dashboard, drill down two levels, both exports,
return one submission and approve another; the person sees the returned note. On a 1366 px
desktop and a 360 px phone, with axe-core and the sideways-scroll check on every page."""

import re

import pytest

from assessments import services
from assessments.models import AssessmentPeriod, Employee, SelfAssessment, UnitReminder

from .browser import assert_accessible, log_in
from .conftest import all_answers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1366, 360])
def test_atasan_drills_down_exports_returns_and_approves(live_server, demo, page_factory, tmp_path, width):
    period = AssessmentPeriod.objects.get(status="open")
    pegawai = Employee.objects.get(user__username="pegawai")
    draft = services.assessment_save_draft(employee=pegawai, period=period, answers=all_answers(period, 4, note="catatan"), version=0, actor=pegawai.user)
    services.assessment_submit(assessment=draft, version=draft.version, actor=pegawai.user)

    page = page_factory(width=width)
    log_in(page, live_server.url, "atasan")
    assert page.url.endswith("/unit/DUKCAPIL/")
    page.wait_for_selector("canvas#pillar-chart[data-rendered=true]")
    page.wait_for_selector("canvas#trend-chart[data-rendered=true]")
    assert_accessible(page)

    page.click("a.nav-link:has-text('Sub-unit')")
    assert_accessible(page)
    page.click("[data-unit='DUKCAPIL-PDP'] a")
    assert "/unit/DUKCAPIL-PDP/" in page.url
    assert_accessible(page)
    page.click("a.nav-link:has-text('Sub-unit')")
    page.click("[data-unit='DUKCAPIL-PDP-IDN'] a")
    assert "/unit/DUKCAPIL-PDP-IDN/" in page.url
    crumbs = page.locator("ol.breadcrumb").inner_text()
    assert "Direktorat Jenderal Kependudukan" in crumbs and "Kementerian Dalam Negeri" not in crumbs

    page.click("a.nav-link:has-text('Sub-unit')")
    assert_accessible(page)
    with page.expect_download() as sub_unit:
        page.click("text=XLSX")
    assert re.fullmatch(r"sub-unit_DUKCAPIL-PDP-IDN_\d{4}-Q\d\.xlsx", sub_unit.value.suggested_filename)
    page.click("a.nav-link:has-text('Pegawai')")
    assert_accessible(page)
    # "Kirim pengingat" to those who have not started, once today; the page then says so.
    page.click("[data-testid=reminder] button:has-text('Kirim pengingat')")
    page.wait_for_selector("text=yang belum mulai.")
    assert "Pengingat sudah dikirim hari ini" in page.locator("[data-testid=reminder]").inner_text()
    assert UnitReminder.objects.filter(unit__code="DUKCAPIL-PDP-IDN").count() == 1
    assert_accessible(page)
    with page.expect_download() as staff:
        page.click("text=CSV")
    assert staff.value.suggested_filename.startswith("pegawai_DUKCAPIL-PDP-IDN_")
    staff.value.save_as(tmp_path / "pegawai.csv")
    assert "Budi Santoso" in (tmp_path / "pegawai.csv").read_text(encoding="utf-8-sig")

    # Return pegawai's submission with a note.
    page.click(f"tr:has-text('{pegawai.nip}') >> text=Tinjau")
    assert_accessible(page)
    page.fill("textarea[name=note]", "Mohon lengkapi bukti untuk indikator gratifikasi.")
    page.click("text=Kembalikan dengan catatan ini")
    page.wait_for_selector("text=Dikembalikan kepada Budi Santoso")
    assert_accessible(page)
    assert SelfAssessment.objects.get(employee=pegawai, period=period).state == "returned"

    # Approve another submitted assessment from the whole subtree.
    listing = f"{live_server.url}/unit/DUKCAPIL/pegawai/?semua=1&status=submitted"
    page.goto(listing)
    assert_accessible(page)
    boxes = page.locator("input[name=pilih]")
    page.check("#pilih-semua")  # "pilih semua" ticks every row shown, and clears them again
    assert boxes.count() > 1 and all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    page.uncheck("#pilih-semua")
    assert not any(boxes.nth(i).is_checked() for i in range(boxes.count()))
    other = page.locator("[data-testid=staff-table] tbody tr").first
    name = other.locator("td.stack-title").inner_text()
    other.locator("text=Tinjau").click()
    page.click("button:has-text('Setujui')")
    page.wait_for_selector(f"text=Disetujui: {name}")
    assert page.url == listing  # back in the list, with its filters
    assert_accessible(page)
    assert SelfAssessment.objects.filter(period=period, state="approved", employee__full_name=name).exists()
    assert page.console_errors == []

    # pegawai sees the note.
    staff_page = page_factory(width=width)
    log_in(staff_page, live_server.url, "pegawai")
    assert "Mohon lengkapi bukti untuk indikator gratifikasi." in staff_page.content()
    assert_accessible(staff_page)
    staff_page.click("text=Perbaiki dan kirim kembali")
    # pegawai has not read this period's privacy notice yet (the demo): it comes first.
    staff_page.click("text=Saya mengerti, lanjutkan")
    staff_page.wait_for_url(re.compile(r"/penilaian/\d{4}-Q\d/isi/$"))
    assert "Mohon lengkapi bukti untuk indikator gratifikasi." in staff_page.content()
    assert_accessible(staff_page)
    assert staff_page.console_errors == []

"""The PDF documents (assessments/reports.py): a unit's report with the dashboard's figures, the
whole organisation's as a job, a person's receipt and its public check by code. The text is
read back with pdftotext (poppler-utils) and compared with what the pages show."""

import re
import subprocess

import pytest
from django.test import Client, TestCase

from assessments import reports, services
from assessments.models import AssessmentReceipt, Job, SupervisorAssignment

from .conftest import make_employee, submitted_assessment

pytestmark = pytest.mark.usefixtures("pdf_tools")


def pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


def pdf_pages(content: bytes) -> int:
    info = subprocess.run(["pdfinfo", "-"], input=content, capture_output=True, check=True).stdout.decode()
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@pytest.fixture
def scores(cast, period):
    """Five assessments in A1 (staff 4, colleague 3, three more 5, 4, 2) and one in B."""
    people = [cast.staff, cast.colleague] + [make_employee(f"a1-{n}", cast.tree.a1) for n in range(3)]
    for person, score in zip(people, (4, 3, 5, 4, 2), strict=True):
        submitted_assessment(person, period, score)
    submitted_assessment(cast.other, period, 4)
    return people


def test_the_unit_report_shows_the_dashboards_figures_and_a_signature(client, cast, period, scores, settings):
    settings.REPORT_PLACE = "Bandung"
    client.force_login(cast.supervisor.user)
    page = client.get(f"/unit/A/?periode={period.code}").content.decode()
    index = re.search(r'data-testid="index-mean">([^<]+)<', page).group(1)
    assert index == "65,0"  # (4, 3, 5, 4, 2): 75, 50, 100, 75, 25
    pillar = re.search(r'data-testid="pillar-\d+">([^<]+)<', page).group(1)
    assert f'href="/unit/A/laporan.pdf?periode={period.code}"' in page
    response = client.get(f"/unit/A/laporan.pdf?periode={period.code}")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="laporan_A_{period.code}.pdf"'
    text = squeeze(pdf_text(response.content))
    assert "Laporan Hasil Penilaian Mandiri Integritas" in text and "Direktorat A" in text
    counted = re.search(r'data-testid="counted">(\d+)<', page).group(1)
    expected = re.search(r'data-testid="expected">(\d+)<', page).group(1)
    assert re.search(rf"Partisipasi Rata-rata indeks integritas {counted} ?/ ?{expected} {index} ", text)
    assert f"Anti-Korupsi {pillar}" in text
    assert "Subdirektorat A1" in text and "Pegawai langsung di unit ini" in text
    assert "Bandung," in text and "Kepala Direktorat A" in text and "Ratna Atasan" in text and cast.supervisor.nip in text
    assert re.search(r"Halaman 1 dari \d", text)
    assert pdf_pages(response.content) == 2


def test_the_unit_report_is_in_english_when_chosen(client, cast, period, scores):
    client.force_login(cast.supervisor.user)
    client.post("/i18n/setlang/", {"language": "en"})
    text = squeeze(pdf_text(client.get(f"/unit/A/laporan.pdf?periode={period.code}").content))
    assert "Integrity Self-Assessment Report" in text and "Mean integrity index" in text and "Page 1 of" in text


def test_the_unit_report_follows_the_disclosure_rules_of_the_page(client, cast, period, scores):
    """A closed confidential period: A's own staff (one person, index 0,0) stay hidden, and so
    does A's total, from which they would follow by subtraction; A1's five are shown. The PDF
    hides exactly what the pages hide."""
    from assessments import periods
    from assessments.models import AssessmentPeriod

    AssessmentPeriod.objects.filter(pk=period.pk).update(visibility="confidential")
    submitted_assessment(cast.supervisor, period, 1)
    periods.period_close(period=period)
    client.force_login(cast.supervisor.user)
    summary = client.get(f"/unit/A/?periode={period.code}").content.decode()
    subunits = client.get(f"/unit/A/sub-unit/?periode={period.code}").content.decode()
    assert 'data-testid="index-withheld"' in summary and 'data-testid="index-mean"' not in summary
    assert "65,0" in subunits
    text = squeeze(pdf_text(client.get(f"/unit/A/laporan.pdf?periode={period.code}").content))
    assert "Periode rahasia" in text
    assert re.search(r"Rata-rata indeks integritas 6 ?/ ?\d+ Disembunyikan", text)
    assert re.search(r"Subdirektorat A1 5 \d+ [\d,]+ 65,0 Butuh Perbaikan", text)
    assert re.search(r"Pegawai langsung di unit ini 1 \d+ [\d,]+ disembunyikan", text)
    assert not re.search(r"(?<![\d,±+−])(0,0|54,2)(?![\d])", text)  # neither the person's nor A's index


def test_staff_and_strangers_get_no_unit_report(client, cast, period, scores):
    client.force_login(cast.staff.user)
    assert client.get("/unit/A/laporan.pdf").status_code == 404
    client.force_login(cast.sibling_supervisor.user)
    assert client.get("/unit/A/laporan.pdf").status_code == 404
    assert Client().get("/unit/A/laporan.pdf").status_code == 302


def test_the_organisation_report_is_a_job_with_a_section_per_echelon_one_unit(client, cast, period, scores):
    client.force_login(cast.admin)
    page = client.get("/rekap/").content.decode()
    assert 'action="/rekap/laporan.pdf"' in page
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post("/rekap/laporan.pdf", {"periode": period.code})
    job = Job.objects.get()
    assert response["Location"] == f"/tugas/{job.pk}/"
    assert (job.kind, job.state, job.done, job.total) == ("reports_pdf", "done", 3, 3), job.error
    assert job.summary == "Laporan 3 unit siap diunduh."
    download = client.get(f"/tugas/{job.pk}/unduh/")
    content = b"".join(download.streaming_content)
    text = squeeze(pdf_text(content))
    for name in ("Kementerian Uji", "Direktorat A", "Direktorat B"):
        assert f"Laporan Hasil Penilaian Mandiri Integritas {name}" in text
    assert pdf_pages(content) >= 3  # each unit starts on its own page
    assert client.get("/rekap/laporan.pdf").status_code == 405
    client.force_login(cast.supervisor.user)
    assert client.post("/rekap/laporan.pdf", {"periode": period.code}).status_code == 403


# --- Bukti Penilaian Mandiri and /verifikasi/<code>/ -------------------------------------------------


def test_the_receipt_holds_the_answers_and_a_code_that_the_public_page_confirms(client, cast, period):
    assessment = submitted_assessment(cast.staff, period, 4)
    client.force_login(cast.staff.user)
    assert f'href="/hasil/{assessment.pk}/bukti.pdf"' in client.get(f"/hasil/{assessment.pk}/").content.decode()
    response = client.get(f"/hasil/{assessment.pk}/bukti.pdf")
    receipt = AssessmentReceipt.objects.get()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", receipt.code)
    assert response["Content-Disposition"] == f'attachment; filename="bukti-penilaian_{period.code}_{receipt.code}.pdf"'
    text = squeeze(pdf_text(response.content))
    assert "Bukti Penilaian Mandiri" in text and "Siti Staf" in text and cast.staff.nip in text
    assert f"Kode verifikasi: {receipt.code}" in text and f"/verifikasi/{receipt.code}/" in text
    assert "75,0" in text and "catatan" in text  # the index of all fours, and the notes
    first = period.questionnaire()[0].indicators.all()[0]
    assert squeeze(first.statement)[:40] in text
    assert client.get(f"/hasil/{assessment.pk}/bukti.pdf").status_code == 200 and AssessmentReceipt.objects.count() == 1
    public = Client().get(f"/verifikasi/{receipt.code}/")
    body = public.content.decode()
    assert public.status_code == 200 and public["X-Robots-Tag"] == "noindex"
    assert "Bukti ini asli" in body and "Siti Staf" in body and str(period) in body and "75,0" in body
    assert cast.staff.nip not in body and "catatan" not in body and first.statement not in body
    assert Client().get(f"/verifikasi/{receipt.code.lower()}/").status_code == 200  # typed in lower case


def test_a_receipt_says_when_the_assessment_changed_afterwards(client, cast, period):
    assessment = submitted_assessment(cast.staff, period, 4)
    receipt = reports.receipt_issue(assessment)
    services.assessment_return(assessment=assessment, reviewer=cast.supervisor.user, note="Lengkapi bukti")
    body = Client().get(f"/verifikasi/{receipt.code}/").content.decode()
    assert "tetapi penilaiannya berubah sesudahnya" in body


def test_an_unknown_code_is_a_clear_404(db):
    response = Client().get("/verifikasi/ABCD-EFGH-JKLM/")
    assert response.status_code == 404 and "Tidak ada bukti dengan kode ABCD-EFGH-JKLM" in response.content.decode()


def test_only_the_owner_gets_their_receipt(client, cast, period):
    assessment = submitted_assessment(cast.staff, period, 4)
    for user in (cast.supervisor.user, cast.colleague.user, cast.admin):
        client.force_login(user)
        assert client.get(f"/hasil/{assessment.pk}/bukti.pdf").status_code == 404
    assert not AssessmentReceipt.objects.exists()


def test_a_draft_has_no_receipt(client, cast, period):
    from .conftest import all_answers

    draft = services.assessment_save_draft(employee=cast.staff, period=period, answers=all_answers(period, 3), version=0, actor=cast.staff.user)
    client.force_login(cast.staff.user)
    assert client.get(f"/hasil/{draft.pk}/bukti.pdf").status_code == 404


def test_a_report_fetches_nothing_but_the_apps_static_files():
    fetcher = reports._static_only()
    with pytest.raises(ValueError):
        fetcher.fetch("https://example.com/font.ttf")
    with pytest.raises(ValueError):
        fetcher.fetch("file:///etc/passwd")
    with pytest.raises(ValueError):
        fetcher.fetch(f"file://{reports.STATIC_DIR}/../manage.py")
    assert b"@font-face" in fetcher.fetch(f"file://{reports.STATIC_DIR}/css/report.css").read()


def test_the_head_of_the_unit_signs_and_an_empty_line_stands_in_when_there_is_none(cast, period):
    signature = reports.signatory(cast.tree.a1)
    assert signature["name"] == "" and signature["title"] == "Kepala Subdirektorat A1"
    SupervisorAssignment.objects.create(employee=cast.colleague, unit=cast.tree.a1)
    assert reports.signatory(cast.tree.a1)["name"] == "Rudi Rekan"


def test_without_pango_the_pages_say_so_instead_of_failing(client, cast, period, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pango(name, *args, **kwargs):
        if name == "weasyprint":
            raise OSError("cannot load library 'pango-1.0-0'")
        return real_import(name, *args, **kwargs)

    assessment = submitted_assessment(cast.staff, period, 4)
    monkeypatch.setattr(builtins, "__import__", no_pango)
    client.force_login(cast.staff.user)
    response = client.get(f"/hasil/{assessment.pk}/bukti.pdf", follow=True)
    assert response.redirect_chain[-1][0] == f"/hasil/{assessment.pk}/"
    assert "Server ini belum dapat membuat berkas PDF" in response.content.decode()
    client.force_login(cast.supervisor.user)
    response = client.get(f"/unit/A/laporan.pdf?periode={period.code}", follow=True)
    assert response.redirect_chain[-1][0] == f"/unit/A/?periode={period.code}"
    assert "libpango-1.0-0" in response.content.decode()

"""Evidence (bukti dukung): checked by content, stored under a random name outside any public
folder, downloadable only by the owner, the supervisors whose scope covers them, and admins."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assessments import services
from assessments.models import AccessLog, Rating, SelfAssessment

from .conftest import all_answers, form_data

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def url(period):
    return f"/penilaian/{period.code}/isi/"


def first(period):
    return period.questionnaire()[0].indicators.all()[0]


def stored_files(settings):
    root = Path(settings.PRIVATE_STORAGE_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def staff_client(client, cast):
    client.force_login(cast.staff.user)
    return client


def upload(client, period, name, content, version=0, content_type="application/octet-stream"):
    data = form_data(period, score=4, version=version)
    data[f"evidence_{first(period).pk}"] = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post(url(period), data)


@pytest.mark.parametrize(("name", "content", "extension"), [("laporan.pdf", PDF, ".pdf"), ("foto.PNG", PNG, ".png"), ("scan.jpeg", JPEG, ".jpg")])
def test_pdf_png_and_jpeg_are_stored_under_a_random_name(staff_client, cast, period, settings, name, content, extension):
    response = upload(staff_client, period, name, content)
    assert response.status_code == 302
    rating = Rating.objects.get(assessment__employee=cast.staff, indicator=first(period))
    assert rating.evidence_name == name
    files = stored_files(settings)
    assert len(files) == 1
    assert files[0].suffix == extension
    assert name.split(".")[0] not in files[0].name
    assert files[0].read_bytes() == content
    assert not str(files[0]).startswith(str(settings.STATIC_ROOT))


def test_the_stored_extension_follows_the_content_not_the_name(staff_client, cast, period, settings):
    upload(staff_client, period, "gambar.png", PDF)
    assert stored_files(settings)[0].suffix == ".pdf"


@pytest.mark.parametrize(
    ("name", "content"),
    [("virus.pdf", EXE), ("program.exe", EXE), ("gambar.svg", SVG), ("catatan.txt", b"hanya teks"), ("kosong.pdf", b"")],
)
def test_wrong_types_and_renamed_executables_are_refused(staff_client, cast, period, settings, name, content):
    response = upload(staff_client, period, name, content)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Hanya berkas PDF, JPEG, atau PNG yang diterima." in page or "kosong" in page.lower() or "empty" in page.lower()
    assert not SelfAssessment.objects.filter(employee=cast.staff).exists()
    assert stored_files(settings) == []


def test_an_oversized_file_is_refused(staff_client, cast, period, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    response = upload(staff_client, period, "besar.pdf", PDF + b"0" * 2048)
    assert response.status_code == 400
    assert "batasnya 0.0 MB" in response.content.decode() or "batasnya" in response.content.decode()
    assert stored_files(settings) == []
    assert not Rating.objects.filter(assessment__employee=cast.staff).exists()


def test_autosave_never_touches_a_stored_file(staff_client, cast, period, settings):
    upload(staff_client, period, "laporan.pdf", PDF)
    assessment = SelfAssessment.objects.get(employee=cast.staff)
    response = staff_client.post(f"/penilaian/{period.code}/simpan-otomatis/", form_data(period, score=3, version=assessment.version))
    assert response.status_code == 200
    rating = Rating.objects.get(assessment=assessment, indicator=first(period))
    assert rating.evidence and rating.score == 3
    assert len(stored_files(settings)) == 1


def test_replacing_and_removing_a_file_deletes_the_old_one(staff_client, cast, period, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        upload(staff_client, period, "satu.pdf", PDF)
        version = SelfAssessment.objects.get(employee=cast.staff).version
        upload(staff_client, period, "dua.png", PNG, version=version)
    files = stored_files(settings)
    assert [f.suffix for f in files] == [".png"]
    version = SelfAssessment.objects.get(employee=cast.staff).version
    data = form_data(period, score=4, version=version)
    data[f"clear_evidence_{first(period).pk}"] = "on"
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(url(period), data)
    assert stored_files(settings) == []
    assert not Rating.objects.get(assessment__employee=cast.staff, indicator=first(period)).evidence


@pytest.fixture
def evidence(cast, period):
    """A submitted assessment of `staff` with a PDF on its first rating."""
    answers = all_answers(period, 4, note="catatan")
    answers[first(period).pk].evidence = SimpleUploadedFile("bukti.pdf", PDF)
    draft = services.assessment_save_draft(employee=cast.staff, period=period, answers=answers, version=0, actor=cast.staff.user)
    services.assessment_submit(assessment=draft, version=draft.version, actor=cast.staff.user)
    return Rating.objects.get(assessment=draft, indicator=first(period))


def test_the_owner_downloads_their_evidence(client, cast, evidence):
    client.force_login(cast.staff.user)
    response = client.get(f"/bukti/{evidence.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'attachment; filename="bukti.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PDF
    assert not AccessLog.objects.exists()  # the owner's own access is not someone else's


@pytest.mark.parametrize("who", ["supervisor", "admin"])
def test_supervisors_in_scope_and_admins_download_it_and_are_logged(client, cast, evidence, who):
    user = cast.admin if who == "admin" else cast.supervisor.user
    client.force_login(user)
    response = client.get(f"/bukti/{evidence.pk}/")
    assert response.status_code == 200
    log = AccessLog.objects.get()
    assert (log.viewer, log.employee, log.action) == (user, cast.staff, "evidence")


@pytest.mark.parametrize("who", ["colleague", "other", "sibling_supervisor"])
def test_anyone_else_gets_404(client, cast, evidence, who):
    client.force_login(getattr(cast, who).user)
    assert client.get(f"/bukti/{evidence.pk}/").status_code == 404
    assert not AccessLog.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(client, evidence):
    response = client.get(f"/bukti/{evidence.pk}/")
    assert response.status_code == 302 and "/akun/login/" in response["Location"]


def test_a_draft_evidence_is_private_even_from_the_supervisor(client, cast, period):
    answers = {first(period).pk: services.Answer(score=4, evidence=SimpleUploadedFile("x.pdf", PDF))}
    draft = services.assessment_save_draft(employee=cast.staff, period=period, answers=answers, version=0, actor=cast.staff.user)
    rating = draft.ratings.get()
    client.force_login(cast.supervisor.user)
    assert client.get(f"/bukti/{rating.pk}/").status_code == 404


def test_evidence_has_no_public_url(evidence):
    with pytest.raises(ValueError):
        evidence.evidence.url  # noqa: B018

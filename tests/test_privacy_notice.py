"""The public Privasi page, in both languages, and the footer that links to it."""

from django.conf import settings as django_settings

from assessments import periods
from assessments.models import OrganisationSetting

# What each mode says of the heads of unit (templates/assessments/_who_sees.html).
REVIEWED_TEXT = "Kepala unit Anda dan kepala unit di atasnya membaca setiap penilaian yang Anda kirim"
CONFIDENTIAL_TEXT = "Kepala unit tidak melihat jawaban, catatan, atau skor Anda"


# --- The Privasi page ---------------------------------------------------------------------------


def test_the_privacy_page_is_public_and_in_indonesian(client, cast, period, settings):
    settings.RETENTION_YEARS = 4
    response = client.get("/privasi/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'lang="id"' in page and "<h1 class=\"h4\">Privasi</h1>" in page
    assert "Ditinjau" in page and "Rahasia" in page  # both modes
    assert REVIEWED_TEXT in page and CONFIDENTIAL_TEXT in page  # who sees what in each
    assert "kurang dari 5 penilaian" in page  # the minimum group
    assert "Log akses" in page
    assert "disimpan selama 4 tahun setelah periode berakhir" in page
    assert 'href="/data-saya/"' in page
    assert f"Periode yang sedang dibuka, {period}:" in page


def test_the_privacy_page_says_what_applies_now(client, cast, period):
    OrganisationSetting.objects.create(pk=1, visibility="confidential")  # for periods opened from now on
    page = client.get("/privasi/").content.decode()
    assert "untuk periode yang dibuka mulai sekarang: <strong>Rahasia</strong>" in page
    assert '<strong data-testid="period-mode">Ditinjau</strong>' in page  # the open period keeps its own
    periods.period_close(period=period)
    page = client.get("/privasi/").content.decode()
    assert "Saat ini tidak ada periode penilaian yang dibuka." in page


def test_the_privacy_page_in_english(client, db, settings):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    settings.PRIVACY_MIN_GROUP = 6
    page = client.get("/privasi/").content.decode()
    assert 'lang="en"' in page and "<h1 class=\"h4\">Privacy</h1>" in page
    assert "Reviewed" in page and "Confidential" in page
    assert "The heads of your unit and of the units above it read each assessment you submit" in page
    assert "fewer than 6 assessments make it up" in page
    assert "are kept for 5 years after the period ends, then deleted" in page
    assert "No assessment period is open at the moment." in page


def test_the_privacy_page_takes_no_post(client, db):
    assert client.post("/privasi/").status_code == 405


def test_the_footer_links_to_the_privacy_page_and_claims_no_more(client, db):
    page = client.get("/akun/login/").content.decode()
    assert '<a href="/privasi/">Privasi: siapa yang melihat jawaban Anda</a>' in page
    assert "atasan Anda" not in page  # it no longer says supervisors see every answer

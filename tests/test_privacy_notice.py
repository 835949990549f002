"""The privacy notice before a person's first assessment in a period (who sees the answers, why,
how long), the line on the form and the result page that says which visibility applies, and the
public Privasi page, in both languages."""

import datetime
import re

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from assessments import periods, privacy
from assessments.models import OrganisationSetting, PrivacyAcknowledgement, Rating, SelfAssessment

from .conftest import create_period, form_data, make_employee, submitted_assessment

# What each mode's notice says of the heads of unit (templates/assessments/_who_sees.html).
REVIEWED_TEXT = "Kepala unit Anda dan kepala unit di atasnya membaca setiap penilaian yang Anda kirim"
CONFIDENTIAL_TEXT = "Kepala unit tidak melihat jawaban, catatan, atau skor Anda"
CONFIDENTIAL_LINE = "Jawaban Anda rahasia: atasan hanya melihat rata-rata kelompok minimal 5 orang."
REVIEWED_LINE = "Kepala unit Anda dan kepala unit di atasnya membaca dan meninjau jawaban Anda setelah Anda mengirimnya."


def form_url(period):
    return f"/penilaian/{period.code}/isi/"


def notice_url(period):
    return f"/privasi/pemberitahuan/{period.code}/"


@pytest.fixture
def newcomer(cast, period):
    """A person of A1 who has read no privacy notice yet (made after the periods)."""
    return make_employee("baru", cast.tree.a1, name="Bayu Baru", acknowledged=False)


@pytest.fixture
def newcomer_client(client, newcomer):
    client.force_login(newcomer.user)
    return client


def open_next(period, visibility: str):
    """Close `period` and open the quarter after it with `visibility` (the organisation's
    setting when it opens), taking entries today; nobody has read its notice."""
    periods.period_close(period=period)
    OrganisationSetting.objects.update_or_create(pk=1, defaults={"visibility": visibility})
    today = timezone.localdate()
    return create_period(
        period.year, period.quarter + 1, opens_on=today - datetime.timedelta(days=1), closes_on=today + datetime.timedelta(days=20),
        acknowledged=False,
    )


# --- The notice before the first assessment -------------------------------------------------------


def test_the_form_sends_a_person_who_never_read_a_notice_to_it(newcomer_client, period):
    response = newcomer_client.get(form_url(period))
    assert response.status_code == 302
    assert response["Location"] == notice_url(period)
    page = newcomer_client.get(notice_url(period)).content.decode()
    assert "Sebelum Anda mulai: siapa yang melihat jawaban Anda" in page
    assert REVIEWED_TEXT in page
    assert "UU PDP 27/2022" in page  # why
    assert "disimpan selama 5 tahun setelah periode berakhir, lalu dihapus" in page  # how long
    assert "Saya mengerti, lanjutkan" in page
    assert not SelfAssessment.objects.filter(employee__user__username="baru").exists()


def test_the_notice_says_how_long_answers_are_kept(newcomer_client, period, settings):
    settings.RETENTION_YEARS = 3
    page = newcomer_client.get(notice_url(period)).content.decode()
    assert "disimpan selama 3 tahun setelah periode berakhir, lalu dihapus. Angka kelompok" in page


def test_acknowledging_is_recorded_once_and_opens_the_form(newcomer_client, newcomer, period):
    first = newcomer_client.post(notice_url(period))
    second = newcomer_client.post(notice_url(period))  # a double click
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == form_url(period)
    acknowledgement = PrivacyAcknowledgement.objects.get(user=newcomer.user)
    assert (acknowledgement.period, acknowledgement.visibility) == (period, "reviewed")
    response = newcomer_client.get(form_url(period))
    assert response.status_code == 200
    assert REVIEWED_LINE in response.content.decode()


def test_it_is_not_shown_again_for_a_period_of_the_same_visibility(newcomer_client, newcomer, period):
    newcomer_client.post(notice_url(period))
    following = open_next(period, "reviewed")
    assert not privacy.notice_needed(newcomer.user, following)
    assert newcomer_client.get(form_url(following)).status_code == 200
    assert PrivacyAcknowledgement.objects.filter(user=newcomer.user).count() == 1


def test_it_is_shown_again_when_the_next_period_has_the_other_visibility(newcomer_client, newcomer, period):
    newcomer_client.post(notice_url(period))
    confidential = open_next(period, "confidential")
    assert newcomer_client.get(form_url(confidential))["Location"] == notice_url(confidential)
    assert CONFIDENTIAL_TEXT in newcomer_client.get(notice_url(confidential)).content.decode()
    newcomer_client.post(notice_url(confidential))
    assert newcomer_client.get(form_url(confidential)).status_code == 200
    # And back to reviewed: different from the last one read, so asked again.
    reviewed = open_next(confidential, "reviewed")
    assert newcomer_client.get(form_url(reviewed))["Location"] == notice_url(reviewed)


def test_the_two_modes_say_different_things(newcomer_client, period):
    reviewed = newcomer_client.get(notice_url(period)).content.decode()
    confidential = newcomer_client.get(notice_url(open_next(period, "confidential"))).content.decode()
    assert REVIEWED_TEXT in reviewed and CONFIDENTIAL_TEXT not in reviewed
    assert CONFIDENTIAL_TEXT in confidential and REVIEWED_TEXT not in confidential
    assert "minimal 5 penilaian" in confidential
    assert "Ditinjau" in reviewed and "Rahasia" in confidential


def test_a_period_already_read_is_not_asked_again_whatever_was_read_since(cast, newcomer, period):
    """A returned assessment of an earlier period reopens without the notice it already had."""
    privacy.notice_acknowledge(user=newcomer.user, period=period)
    confidential = open_next(period, "confidential")
    privacy.notice_acknowledge(user=newcomer.user, period=confidential)
    assert not privacy.notice_needed(newcomer.user, period)
    assert not privacy.notice_needed(newcomer.user, confidential)


def test_admins_without_an_employee_record_never_see_it(client, cast, period):
    assert not privacy.notice_needed(cast.admin, period)
    client.force_login(cast.admin)
    assert client.get(notice_url(period)).status_code == 404
    assert client.post(notice_url(period)).status_code == 404
    assert not PrivacyAcknowledgement.objects.filter(user=cast.admin).exists()


def test_the_notice_asks_for_a_login_and_knows_no_planned_period(client, newcomer, period):
    response = client.get(notice_url(period))
    assert response.status_code == 302 and response["Location"].startswith("/akun/login/")
    client.force_login(newcomer.user)
    planned = create_period(period.year, period.quarter + 1, status="planned")
    assert client.get(notice_url(planned)).status_code == 404
    assert client.get("/privasi/pemberitahuan/bogus/").status_code == 404


def test_answers_posted_before_the_notice_are_kept(newcomer_client, newcomer, period):
    """Saving is not sent away (a form opened before the notice existed): nothing typed is lost,
    and the notice comes with the next page."""
    response = newcomer_client.post(form_url(period), form_data(period, score=2, note="ok"))
    assert response.status_code == 302
    assessment = SelfAssessment.objects.get(employee=newcomer)
    assert set(Rating.objects.filter(assessment=assessment).values_list("score", flat=True)) == {2}
    reply = newcomer_client.post(f"/penilaian/{period.code}/simpan-otomatis/", form_data(period, score=3, version=assessment.version))
    assert reply.status_code == 200 and reply.json()["ok"]
    assert newcomer_client.get(response["Location"])["Location"] == notice_url(period)
    newcomer_client.post(notice_url(period))
    page = newcomer_client.get(form_url(period)).content.decode()
    checked = re.findall(r'value="(\d)" class="btn-check" id="[^"]+" checked', page)
    assert checked == ["3"] * Rating.objects.filter(assessment=assessment).count()


# --- The line on the form and the result page ---------------------------------------------------


def test_the_form_and_the_result_say_a_reviewed_period_is_reviewed(client, cast, period):
    client.force_login(cast.staff.user)
    assert REVIEWED_LINE in client.get(form_url(period)).content.decode()
    assessment = submitted_assessment(cast.staff, period)
    page = client.get(f"/hasil/{assessment.pk}/").content.decode()
    assert REVIEWED_LINE in page and 'href="/privasi/">Privasi</a>' in page
    # The supervisor reading it is not told about their own answers.
    client.force_login(cast.supervisor.user)
    assert 'data-testid="visibility-line"' not in client.get(f"/hasil/{assessment.pk}/").content.decode()


def test_the_form_and_the_result_say_a_confidential_period_is_confidential(client, cast, period, settings):
    confidential = open_next(period, "confidential")
    client.force_login(cast.staff.user)
    client.post(notice_url(confidential))
    page = client.get(form_url(confidential)).content.decode()
    assert CONFIDENTIAL_LINE in page and REVIEWED_LINE not in page
    assessment = submitted_assessment(cast.staff, confidential)
    assert CONFIDENTIAL_LINE in client.get(f"/hasil/{assessment.pk}/").content.decode()
    settings.PRIVACY_MIN_GROUP = 7
    assert "rata-rata kelompok minimal 7 orang." in client.get(f"/hasil/{assessment.pk}/").content.decode()


def test_my_data_lists_the_notices_read(newcomer_client, period):
    assert "Pemberitahuan privasi yang sudah saya baca" in newcomer_client.get("/data-saya/").content.decode()
    newcomer_client.post(notice_url(period))
    page = newcomer_client.get("/data-saya/").content.decode()
    assert f"· {period}</li>" in page


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


def test_the_notice_in_english(newcomer_client, period):
    newcomer_client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = newcomer_client.get(notice_url(period)).content.decode()
    assert "Before you start: who sees your answers" in page and "I understand, continue" in page


def test_the_privacy_page_takes_no_post(client, db):
    assert client.post("/privasi/").status_code == 405


def test_the_footer_links_to_the_privacy_page_and_claims_no_more(client, db):
    page = client.get("/akun/login/").content.decode()
    assert '<a href="/privasi/">Privasi: siapa yang melihat jawaban Anda</a>' in page
    assert "atasan Anda" not in page  # it no longer says supervisors see every answer


# --- The administration -------------------------------------------------------------------------


def test_the_admin_lists_the_notices_read_and_changes_none(client, cast, newcomer, period):
    privacy.notice_acknowledge(user=newcomer.user, period=period)
    client.force_login(cast.admin)
    page = client.get("/admin/assessments/privacyacknowledgement/").content.decode()
    assert "baru" in page
    assert client.get("/admin/assessments/privacyacknowledgement/add/").status_code == 403

"""Supervisors review submitted assessments in their scope: approve, return with a note, bulk
approve; never their own; everything else is a 404."""

import pytest
from django.core import mail

from assessments import services
from assessments.models import AccessLog, AssessmentEvent, SelfAssessment, UnitPeriodSummary

from .conftest import all_answers, make_employee, submitted_assessment


@pytest.fixture
def submitted(cast, period):
    return submitted_assessment(cast.staff, period, 4)


@pytest.fixture
def supervisor(client, cast):
    client.force_login(cast.supervisor.user)
    return client


def test_the_review_page_shows_the_answers_read_only_and_logs_the_view(supervisor, cast, submitted, period):
    response = supervisor.get(f"/tinjau/{submitted.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert cast.staff.full_name in page
    assert period.questionnaire()[0].indicators.all()[0].statement in page
    assert "catatan" in page  # the notes
    assert f'action="/tinjau/{submitted.pk}/setujui/"' in page and f'action="/tinjau/{submitted.pk}/kembalikan/"' in page
    assert 'name="rating_' not in page  # nothing to edit
    log = AccessLog.objects.get()
    assert (log.viewer, log.employee, log.action) == (cast.supervisor.user, cast.staff, "review")


def test_approve_is_one_post_logged_and_notified(supervisor, cast, submitted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = supervisor.post(f"/tinjau/{submitted.pk}/setujui/")
    assert response.status_code == 302 and response["Location"] == "/unit/A1/pegawai/"
    submitted.refresh_from_db()
    assert submitted.state == "approved" and submitted.reviewed_by == cast.supervisor.user
    event = AssessmentEvent.objects.filter(assessment=submitted).last()
    assert (event.from_state, event.to_state, event.actor) == ("submitted", "approved", cast.supervisor.user)
    assert [m.to for m in mail.outbox] == [[cast.staff.user.email]]
    assert UnitPeriodSummary.objects.get(unit=cast.staff.unit, period=submitted.period).counted == 1


def test_after_approving_or_returning_the_reviewer_is_back_in_the_list_they_came_from(supervisor, cast, period):
    approving = submitted_assessment(cast.staff, period, 4)
    returning = submitted_assessment(cast.colleague, period, 3)
    listing = f"/unit/A/pegawai/?periode={period.code}&semua=1&status=submitted&page=1"
    page = supervisor.get(listing).content.decode()
    link = f'/tinjau/{approving.pk}/?kembali=/unit/A/pegawai/%3Fperiode%3D{period.code}%26semua%3D1%26status%3Dsubmitted%26page%3D1'
    assert link in page
    review = supervisor.get(f"/tinjau/{approving.pk}/", {"kembali": listing}).content.decode()
    assert review.count(f'<input type="hidden" name="kembali" value="/unit/A/pegawai/?periode={period.code}&amp;semua=1&amp;status=submitted&amp;page=1">') == 2
    assert "Kembali ke daftar" in review
    response = supervisor.post(f"/tinjau/{approving.pk}/setujui/", {"kembali": listing})
    assert response.status_code == 302 and response["Location"] == listing
    response = supervisor.post(f"/tinjau/{returning.pk}/kembalikan/", {"kembali": listing, "note": "Lengkapi bukti."})
    assert response.status_code == 302 and response["Location"] == listing
    assert SelfAssessment.objects.get(pk=returning.pk).state == "returned"


@pytest.mark.parametrize("elsewhere", ["https://example.com/unit/", "//example.com/unit/A/", "/admin/", "/unit\\x"])
def test_a_return_address_off_the_unit_pages_is_not_followed(supervisor, cast, submitted, elsewhere):
    response = supervisor.post(f"/tinjau/{submitted.pk}/setujui/", {"kembali": elsewhere})
    assert response["Location"] == "/unit/A1/pegawai/"


def test_return_needs_a_note(supervisor, cast, submitted):
    response = supervisor.post(f"/tinjau/{submitted.pk}/kembalikan/", {"note": "   "})
    assert response.status_code == 400
    assert "Tulis catatan tentang apa yang perlu diperbaiki." in response.content.decode()
    assert SelfAssessment.objects.get(pk=submitted.pk).state == "submitted"


def test_return_with_a_note_reaches_the_person(supervisor, client, cast, submitted, period, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = supervisor.post(f"/tinjau/{submitted.pk}/kembalikan/", {"note": "Lengkapi bukti untuk AK-1"})
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert (submitted.state, submitted.return_note) == ("returned", "Lengkapi bukti untuk AK-1")
    event = AssessmentEvent.objects.filter(assessment=submitted).last()
    assert (event.to_state, event.note) == ("returned", "Lengkapi bukti untuk AK-1")
    assert "Lengkapi bukti untuk AK-1" in mail.outbox[0].body
    assert UnitPeriodSummary.objects.get(unit=cast.staff.unit, period=period).counted == 0
    client.force_login(cast.staff.user)
    assert "Lengkapi bukti untuk AK-1" in client.get(f"/penilaian/{period.code}/isi/").content.decode()


@pytest.mark.parametrize("state", ["approved", "returned", "draft"])
def test_only_a_submitted_assessment_can_be_reviewed(supervisor, cast, period, state):
    assessment = submitted_assessment(cast.staff, period, 4)
    if state == "approved":
        services.assessment_approve(assessment=assessment, reviewer=cast.admin)
    elif state == "returned":
        services.assessment_return(assessment=assessment, reviewer=cast.admin, note="x")
    else:
        SelfAssessment.objects.filter(pk=assessment.pk).update(state="draft")
    events = AssessmentEvent.objects.count()
    for decision, body in (("setujui", {}), ("kembalikan", {"note": "lagi"})):
        response = supervisor.post(f"/tinjau/{assessment.pk}/{decision}/", body, follow=True)
        if state == "draft":
            assert response.status_code == 404
            continue
        assert "Hanya penilaian berstatus terkirim yang dapat ditinjau" in response.content.decode()
    assert SelfAssessment.objects.get(pk=assessment.pk).state == state
    assert AssessmentEvent.objects.count() == events


def test_a_supervisor_never_reviews_their_own_assessment(client, cast, period):
    own = submitted_assessment(cast.supervisor, period, 4)
    client.force_login(cast.supervisor.user)
    assert client.get(f"/tinjau/{own.pk}/").status_code == 404
    assert client.post(f"/tinjau/{own.pk}/setujui/").status_code == 404
    assert SelfAssessment.objects.get(pk=own.pk).state == "submitted"
    # It goes to the level above: here the admin, or a head of the root.
    head = make_employee("direktur", cast.tree.root, heads=cast.tree.root)
    client.force_login(head.user)
    assert client.post(f"/tinjau/{own.pk}/setujui/").status_code == 302
    assert SelfAssessment.objects.get(pk=own.pk).state == "approved"


def test_an_admin_reviews_anyone(client, cast, submitted):
    client.force_login(cast.admin)
    assert client.post(f"/tinjau/{submitted.pk}/setujui/").status_code == 302
    assert SelfAssessment.objects.get(pk=submitted.pk).state == "approved"


# --- Bulk approve ---------------------------------------------------------------------------


def test_bulk_approve_asks_for_confirmation_then_approves_all(supervisor, cast, period):
    a = submitted_assessment(cast.staff, period, 4)
    b = submitted_assessment(cast.colleague, period, 3)
    response = supervisor.post("/unit/A1/setujui/", {"pilih": [a.pk, b.pk]})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Setujui 2 penilaian?" in page and cast.staff.full_name in page
    assert SelfAssessment.objects.filter(state="approved").count() == 0
    response = supervisor.post("/unit/A1/setujui/", {"pilih": [a.pk, b.pk], "konfirmasi": "1"})
    assert response.status_code == 302
    assert SelfAssessment.objects.filter(pk__in=[a.pk, b.pk], state="approved").count() == 2
    assert AssessmentEvent.objects.filter(to_state="approved").count() == 2


@pytest.mark.parametrize("bad", ["outside", "own", "not-submitted", "garbage", "none", "huge", "negative"])
def test_bulk_approve_with_anything_wrong_approves_nothing(supervisor, cast, period, bad):
    mine = submitted_assessment(cast.staff, period, 4)
    ids = [mine.pk]
    if bad == "outside":
        ids.append(submitted_assessment(cast.other, period, 4).pk)
    elif bad == "own":
        ids.append(submitted_assessment(cast.supervisor, period, 4).pk)
    elif bad == "not-submitted":
        draft = services.assessment_save_draft(employee=cast.colleague, period=period, answers=all_answers(period), version=0, actor=cast.colleague.user)
        ids.append(draft.pk)
    elif bad == "garbage":
        ids.append("drop table")
    elif bad == "huge":  # past the 64-bit range: was a 500 on SQLite (tests/test_fuzz.py)
        ids.append(str(2**63))
    elif bad == "negative":
        ids.append("-1")
    elif bad == "none":
        ids = []
    response = supervisor.post("/unit/A1/setujui/", {"pilih": ids, "konfirmasi": "1"}, follow=True)
    assert response.status_code == 200
    assert "Tidak ada yang disetujui" in response.content.decode() or "Pilih sedikitnya satu" in response.content.decode()
    assert not SelfAssessment.objects.filter(state="approved").exists()


# --- Scope: a sibling supervisor and an outsider see nothing ------------------------------------


def scoped_urls(assessment, rating):
    return [
        ("get", "/unit/A1/"), ("get", "/unit/A1/sub-unit/"), ("get", "/unit/A1/sub-unit/?tampilan=pohon"),
        ("get", "/unit/A1/pegawai/"), ("get", "/unit/A1/ekspor/sub-unit.csv"), ("get", "/unit/A1/ekspor/sub-unit.xlsx"),
        ("get", "/unit/A1/ekspor/pegawai.csv"), ("get", "/unit/A1/ekspor/pegawai.xlsx"),
        ("get", "/unit/A/"), ("get", "/unit/ROOT/"), ("get", "/unit/ROOT/pegawai/?semua=1"),
        ("get", f"/tinjau/{assessment.pk}/"), ("post", f"/tinjau/{assessment.pk}/setujui/"),
        ("post", f"/tinjau/{assessment.pk}/kembalikan/"),
        ("get", f"/hasil/{assessment.pk}/"), ("get", f"/bukti/{rating.pk}/"),
        ("post", "/unit/A1/setujui/"),
    ]


@pytest.mark.parametrize("who", ["sibling_supervisor", "other", "colleague"])
def test_everything_of_this_issue_is_404_outside_scope(client, cast, submitted, who):
    rating = submitted.ratings.first()
    client.force_login(getattr(cast, who).user)
    for method, url in scoped_urls(submitted, rating):
        data = {"action": "approve", "pilih": [submitted.pk], "konfirmasi": "1"} if method == "post" else None
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
        assert response.status_code == 404, (who, method, url, response.status_code)
    assert SelfAssessment.objects.get(pk=submitted.pk).state == "submitted"
    assert not AccessLog.objects.exists()


def test_a_supervisor_cannot_see_above_their_unit(client, cast, submitted):
    head_a1 = make_employee("kasubdit", cast.tree.a1, heads=cast.tree.a1)
    client.force_login(head_a1.user)
    assert client.get("/unit/A1/").status_code == 200
    assert client.get("/unit/A/").status_code == 404
    assert client.get("/unit/ROOT/").status_code == 404
    assert client.get("/unit/B/").status_code == 404
    assert client.get("/unit/TIDAK-ADA/").status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, submitted):
    for url in ("/unit/", "/unit/A1/", f"/tinjau/{submitted.pk}/", "/unit/A1/ekspor/pegawai.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/akun/login/" in response["Location"]

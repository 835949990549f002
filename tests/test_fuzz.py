"""Generated input for every form of the project, and for the import parser (Hypothesis).

Each test posts what Hypothesis generates (extra fields with any names, huge strings, any
unicode: right-to-left marks, emoji, NUL; negative and huge numbers; missing fields; the same
field repeated) as a person who may use the form, and checks two properties:

  * never a 500 (the test client re-raises what a view raises, and every status is < 500);
  * never a partial write: the intended change happens completely or not at all, judged against
    a snapshot taken before the request (a draft's ratings are all as posted or all as they
    were; a failed submission leaves no pillar scores; an import writes every row or none).

Every example runs inside a savepoint that is rolled back afterwards, with the client's cookies
restored, so examples are independent while the expensive set-up (people, periods, logged-in
clients) is made once per test. The number of examples comes from the Hypothesis profile
(tests/conftest.py): 300 per test when CI=true, 40 otherwise.
"""

import csv
import datetime
import io
import operator
import re
from contextlib import contextmanager
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.utils.datastructures import MultiValueDict
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from hypothesis import event, given, note
from hypothesis import strategies as st
from hypothesis.extra.django import from_form

from assessments import activation, services
from assessments.forms import LoginForm, ReturnForm
from assessments.imports.files import ImportResult
from assessments.imports.staff import read_staff
from assessments.imports.units import read_units
from assessments.models import (
    ActivationCode,
    AssessmentEvent,
    Employee,
    PillarScore,
    Rating,
    SelfAssessment,
    SupervisorAssignment,
    UnitPeriodSummary,
    WorkUnit,
)
from assessments.views.exports import organisation_workbook

from .conftest import PASSWORD, all_answers, past_assessment, submitted_assessment

User = get_user_model()

# --- Strategies: what an attacker or a broken client sends ------------------------------------------

SPECIAL = [
    "", " ", "\x00", "a\x00b", "\u202e", "\u200f\u05e9\u05dc\u05d5\u05dd", "مرحبا بالعالم", "😀", "👨‍👩‍👧‍👦", "\ufeff",
    "\u200b", "\r\n", "\t", "<script>alert(1)</script>", "' OR '1'='1", "%00", "../../etc/passwd", "None", "null",
    "true", "NaN", "-inf", "1e309", "0x10", "٣", "²", "１２", "-1", "0", "1", "5", "3.5", "1_000", " 4 ",
    "9" * 30, "-" + "9" * 30, "//evil.example/", "https://evil.example/", "javascript:alert(1)", "\\\\evil.example",
]
NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
).map(str)
# Huge strings cost nothing to draw: a short piece times a large count; the lengths around the
# fields' limits (150, 254, 255, 2000); and one past Django's 2.5 MB limit on a request body.
HUGE = st.one_of(
    st.builds(
        operator.mul,
        st.sampled_from(["x", "9", "é", "😀", "\x00", "ab ", "\u202e"]),
        st.one_of(st.integers(min_value=1000, max_value=30_000), st.sampled_from([150, 151, 254, 255, 256, 2000, 2001])),
    ),
    st.just("x" * 2_700_000),
)
TEXT = st.one_of(st.text(max_size=40), st.sampled_from(SPECIAL), NUMBERS, HUGE)
# A field is one value, or the same name repeated (a list), or absent (an empty list).
VALUE = st.one_of(TEXT, st.lists(TEXT, max_size=4))
ANSWER_PREFIXES = st.sampled_from(["rating", "note", "evidence", "clear_evidence"])
FIELD_NAME = st.one_of(
    st.text(min_size=1, max_size=20),
    st.sampled_from([
        "version", "action", "note", "pilih", "konfirmasi", "kembali", "csrfmiddlewaretoken", "next", "language",
        "username", "password", "email", "token", "file", "old_password", "new_password1", "new_password2",
        "nip", "code",
    ]),
    # Names of answers to indicators that do not exist, in any digits, of any length.
    st.builds(
        "{}_{}".format,
        ANSWER_PREFIXES,
        st.one_of(
            st.integers(min_value=-5, max_value=10**12).map(str),
            st.integers(min_value=4000, max_value=6000).map(lambda n: "7" * n),
            st.sampled_from(["٣", "１２", "²", "", "1.0", "0x1"]),
        ),
    ),
)
EXTRA = st.dictionaries(FIELD_NAME, VALUE, max_size=4)
# Sometimes more fields than Django accepts (DATA_UPLOAD_MAX_NUMBER_FIELDS is 1000).
MANY = st.integers(min_value=990, max_value=1100).map(lambda n: {"pilih": ["1"] * n})
EXTRA_OR_MANY = st.integers(min_value=0, max_value=3).flatmap(lambda dice: MANY if dice == 0 else EXTRA)


def maybe(valid, nasty=VALUE):
    """Three times in four something plausible, else anything."""
    return st.integers(min_value=0, max_value=3).flatmap(lambda dice: nasty if dice == 0 else valid)


def sometimes(extra):
    """One time in three some extra fields, else none."""
    return st.integers(min_value=0, max_value=2).flatmap(lambda dice: extra if dice == 0 else st.just({}))


def encode(data: dict) -> str:
    return urlencode(data, doseq=True)


def post(client, url: str, data: dict):
    """POST `data` urlencoded (any field name and value can be sent that way)."""
    return client.post(url, encode(data), content_type="application/x-www-form-urlencoded")


def received(data: dict) -> MultiValueDict:
    """The POST as the server reads it (but for Django's limit on the number of fields, past
    which the server refuses the request as a whole)."""
    posted = MultiValueDict()
    for key, value in parse_qsl(encode(data), keep_blank_values=True):
        posted.appendlist(key, value)
    return posted


# --- Isolation: each example in a savepoint that is rolled back -------------------------------------


@contextmanager
def example(*clients):
    """Run one example in a savepoint that is rolled back, then restore the clients' cookies
    (a rolled-back login or password change would otherwise leave a dead session behind)."""
    saved = [{name: morsel.value for name, morsel in client.cookies.items()} for client in clients]
    mail.outbox = []
    try:
        with transaction.atomic():
            yield
            transaction.set_rollback(True)
    finally:
        for client, cookies in zip(clients, saved, strict=True):
            client.cookies = SimpleCookie()
            for name, value in cookies.items():
                client.cookies[name] = value


class WriteRecorder:
    """Records the tables that INSERT, UPDATE or DELETE statements touch (sessions aside)."""

    def __init__(self):
        self.tables = set()

    def __call__(self, execute, sql, params, many, context):
        words = sql.split(None, 3)
        if words and words[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            target = words[2] if words[0].upper() in ("INSERT", "DELETE") and len(words) > 2 else words[1]
            table = target.strip('"`').split("(")[0].strip('"`')
            if table != Session._meta.db_table:
                self.tables.add(table)
        return execute(sql, params, many, context)


@contextmanager
def recording():
    recorder = WriteRecorder()
    with connection.execute_wrapper(recorder):
        yield recorder


def local_redirect(response) -> bool:
    """A redirect stays on this site: a path, never another host or scheme (browsers read a
    backslash as a slash)."""
    parts = urlsplit(response["Location"].replace("\\", "/"))
    return not parts.scheme and not parts.netloc


def rows_of(queryset, *fields):
    return sorted(queryset.values_list(*fields), key=repr)


# --- The assessment form: save, autosave, submit ------------------------------------------------------


@pytest.fixture
def staff_client(cast):
    client = Client()
    client.force_login(cast.staff.user)
    return client


@pytest.fixture
def draft(cast, period):
    """staff's draft: the first half of the indicators rated 3 with a note; version 1."""
    answers = all_answers(period, 3, note="awal")
    half = dict(list(answers.items())[: len(answers) // 2])
    return services.assessment_save_draft(employee=cast.staff, period=period, answers=half, version=0, actor=cast.staff.user)


def indicator_ids(period) -> list[int]:
    return [indicator.pk for pillar in period.questionnaire() for indicator in pillar.indicators.all()]


RATING = st.sampled_from(["", "1", "2", "3", "4", "5"])
NOTE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)


@st.composite
def assessment_posts(draw, ids: list[int], version: int):
    """The questionnaire as the page posts it, some fields missing; half the time a few fields
    (the version, the action, some answers) hold anything at all, and extra fields come along."""
    valid = draw(st.booleans())
    data = {"version": str(version), "action": draw(st.sampled_from(["save", "autosave", "submit"]))}
    for pk in ids:
        if draw(st.integers(0, 9)) == 0:
            continue  # a missing field
        data[f"rating_{pk}"] = draw(RATING)
        data[f"note_{pk}"] = draw(NOTE)
    if not valid:
        fields = ["version", "action", *(f"{prefix}_{pk}" for pk in ids for prefix in ("rating", "note"))]
        for field in draw(st.lists(st.sampled_from(fields), min_size=1, max_size=4, unique=True)):
            data[field] = draw(VALUE)
        data.update(draw(sometimes(EXTRA_OR_MANY)))
    return data


def draft_state(employee, period):
    assessment = SelfAssessment.objects.filter(employee=employee, period=period).first()
    if assessment is None:
        return None, {}
    ratings = {r.indicator_id: (r.score, r.note, bool(r.evidence)) for r in assessment.ratings.all()}
    return assessment, ratings


def intended_ratings(posted: MultiValueDict, ids: list[int]) -> dict:
    """What a successful save stores: each indicator as posted (the last value of a repeated
    field, as Django reads it); an indicator with neither a rating nor a note has no rating."""
    ratings = {}
    for pk in ids:
        score = posted.get(f"rating_{pk}")
        note_text = (posted.get(f"note_{pk}") or "").strip()
        score = int(score) if score not in (None, "") else None
        if score is not None or note_text:
            ratings[pk] = (score, note_text, False)
    return ratings


@given(data=st.data())
def test_the_assessment_form_saves_all_answers_or_none(staff_client, cast, period, draft, data):
    ids = indicator_ids(period)
    url = f"/penilaian/{period.code}/isi/"
    with example(staff_client):
        if data.draw(st.booleans(), label="no draft yet"):
            SelfAssessment.objects.filter(pk=draft.pk).delete()
        before, before_ratings = draft_state(cast.staff, period)
        body = data.draw(assessment_posts(ids, before.version if before else 0), label="POST")
        posted = received(body)
        # The page's JavaScript posts "autosave" to its own address; the buttons post to the form.
        target = f"/penilaian/{period.code}/simpan-otomatis/" if posted.get("action") == "autosave" else url
        response = post(staff_client, target, body)
        assert response.status_code < 500
        after, after_ratings = draft_state(cast.staff, period)
        written = after is not None and (before is None or after.version != before.version)
        note(f"status {response.status_code}, written {written}")
        event(f"{posted.get('action', 'save')[:10]!r}: {'saved' if written else 'nothing written'}")
        if written:
            assert after_ratings == intended_ratings(posted, ids)  # every answer as posted, none left over
            assert after.version == (before.version + 1 if before else 1)
            assert after.state == "draft"
        else:
            assert after_ratings == before_ratings
            assert (after.version if after else None) == (before.version if before else None)
        action = posted.get("action", "save")
        if response.status_code == 302 or (action == "autosave" and response.status_code == 200):
            assert written
        if response.status_code in (400, 409) and action != "submit":
            assert not written
        # The form never submits, whatever the action says: no pillar scores, no index.
        assert not PillarScore.objects.filter(assessment__employee=cast.staff).exists()


# --- The confirmation: submit ----------------------------------------------------------------------------


def submission_state(employee, period):
    assessment = SelfAssessment.objects.filter(employee=employee, period=period)
    return (
        list(assessment.values_list("state", "version", "index_score", "grade", "submitted_at")),
        rows_of(Rating.objects.filter(assessment__in=assessment), "indicator_id", "score", "note"),
        rows_of(PillarScore.objects.filter(assessment__in=assessment), "pillar_id", "score"),
        rows_of(AssessmentEvent.objects.filter(assessment__in=assessment), "from_state", "to_state"),
        rows_of(UnitPeriodSummary.objects.filter(period=period), "unit_id", "counted", "index_sum"),
    )


@pytest.fixture
def complete(cast, period):
    """staff's draft with every indicator answered."""
    return services.assessment_save_draft(
        employee=cast.staff, period=period, answers=all_answers(period, 4, note="catatan"), version=0, actor=cast.staff.user
    )


@given(data=st.data())
def test_the_confirmation_submits_everything_or_nothing(staff_client, cast, period, complete, data):
    pillars = len(period.questionnaire())
    url = f"/penilaian/{period.code}/kirim/"
    with example(staff_client):
        incomplete = data.draw(st.integers(0, 3), label="incomplete draft") == 0
        if incomplete:
            Rating.objects.filter(pk=complete.ratings.order_by("pk").last().pk).delete()
        before = submission_state(cast.staff, period)
        body = {"version": data.draw(maybe(st.just(str(complete.version))), label="version")}
        body.update(data.draw(sometimes(EXTRA_OR_MANY), label="extra"))
        response = post(staff_client, url, body)
        assert response.status_code < 500
        after = submission_state(cast.staff, period)
        assessment = SelfAssessment.objects.get(pk=complete.pk)
        event(f"{'incomplete' if incomplete else 'complete'} draft: {assessment.state} after")
        if assessment.state == "submitted":
            assert not incomplete
            assert assessment.version == complete.version + 1
            assert assessment.index_score is not None and assessment.grade
            assert PillarScore.objects.filter(assessment=assessment).count() == pillars
            assert after[3] == sorted([*before[3], ("draft", "submitted")], key=repr)
            assert UnitPeriodSummary.objects.get(unit=cast.tree.a1, period=period).counted == 1
        else:
            assert after == before  # nothing at all, and no pillar scores
            assert not PillarScore.objects.filter(assessment=assessment).exists()


# --- Review: approve or return; bulk approve --------------------------------------------------------------


@pytest.fixture
def supervisor_client(cast):
    client = Client()
    client.force_login(cast.supervisor.user)
    return client


# Valid-looking notes, as hypothesis.extra.django makes them for the form's own field.
RETURN_FORMS = from_form(ReturnForm).map(lambda form: dict(form.data))


@pytest.fixture
def submitted(cast, period):
    return submitted_assessment(cast.staff, period, 4)


@given(data=st.data())
def test_a_review_approves_returns_or_changes_nothing(supervisor_client, cast, period, submitted, data):
    url = f"/tinjau/{submitted.pk}/"
    with example(supervisor_client):
        before = submission_state(cast.staff, period)
        body = {"action": data.draw(maybe(st.sampled_from(["approve", "return"])), label="action")}
        body.update(data.draw(st.one_of(RETURN_FORMS, st.fixed_dictionaries({"note": VALUE})), label="note"))
        body.update(data.draw(sometimes(EXTRA_OR_MANY), label="extra"))
        posted = received(body)
        # Each decision has its own address; the review page itself takes no POST.
        decision = {"approve": "setujui/", "return": "kembalikan/"}.get(posted.get("action"), "")
        response = post(supervisor_client, url + decision, body)
        assert response.status_code < 500
        assessment = SelfAssessment.objects.get(pk=submitted.pk)
        events = list(AssessmentEvent.objects.filter(assessment=assessment).order_by("pk").values_list("to_state", "note", "actor"))
        event(f"state after: {assessment.state}")
        if assessment.state == "approved":
            assert posted.get("action") == "approve" and response.status_code == 302
            assert assessment.reviewed_by == cast.supervisor.user
            assert events[-1] == ("approved", "", cast.supervisor.user.pk) and len(events) == len(before[3]) + 1
        elif assessment.state == "returned":
            assert posted.get("action") == "return" and response.status_code == 302
            assert assessment.return_note == posted.get("note").strip()
            assert events[-1] == ("returned", assessment.return_note, cast.supervisor.user.pk) and len(events) == len(before[3]) + 1
            assert UnitPeriodSummary.objects.get(unit=cast.tree.a1, period=period).counted == 0
        else:
            assert assessment.state == "submitted"
            assert submission_state(cast.staff, period) == before


@pytest.fixture
def review_queue(cast, period):
    """Submitted: staff and colleague (A1, the supervisor's to review), other (B, not theirs),
    the supervisor's own; a draft of the sibling supervisor."""
    ids = {
        "staff": submitted_assessment(cast.staff, period, 4).pk,
        "colleague": submitted_assessment(cast.colleague, period, 3).pk,
        "other": submitted_assessment(cast.other, period, 4).pk,
        "own": submitted_assessment(cast.supervisor, period, 5).pk,
        "draft": services.assessment_save_draft(
            employee=cast.sibling_supervisor, period=period, answers=all_answers(period), version=0, actor=cast.sibling_supervisor.user
        ).pk,
    }
    return ids


@given(data=st.data())
def test_bulk_approve_approves_all_chosen_or_none(supervisor_client, cast, review_queue, data):
    reviewable = {review_queue["staff"], review_queue["colleague"]}
    known = st.sampled_from(sorted(review_queue.values())).map(str)
    choices = st.one_of(
        st.sets(st.sampled_from(sorted(reviewable)), min_size=1).map(lambda ids: [str(pk) for pk in ids]),
        st.lists(maybe(known, TEXT), max_size=5),
    )
    with example(supervisor_client):
        code = data.draw(maybe(st.sampled_from(["A1", "A", "A1", "A", "B", "ROOT"]), TEXT), label="unit code")
        body = {
            "pilih": data.draw(choices, label="pilih"),
            "konfirmasi": data.draw(maybe(st.just("1")), label="konfirmasi"),
            "kembali": data.draw(maybe(st.sampled_from(["", f"/unit/{code}/pegawai/?page=2"]), TEXT), label="kembali"),
        }
        body.update(data.draw(sometimes(EXTRA_OR_MANY), label="extra"))
        posted = received(body)
        before = set(SelfAssessment.objects.filter(state="approved").values_list("pk", flat=True))
        events = AssessmentEvent.objects.count()
        response = post(supervisor_client, f"/unit/{quote(code, safe='')}/setujui/", body)
        assert response.status_code < 500
        approved = set(SelfAssessment.objects.filter(state="approved").values_list("pk", flat=True)) - before
        event(f"status {response.status_code}, {len(approved)} approved")
        if approved:
            chosen = {int(value) for value in posted.getlist("pilih")}
            assert approved == chosen and chosen <= reviewable
            assert code in ("A1", "A") and posted.get("konfirmasi") == "1"
            assert AssessmentEvent.objects.count() == events + len(approved)
        else:
            assert AssessmentEvent.objects.count() == events
        if response.status_code == 302:
            assert local_redirect(response), response["Location"]


# --- Accounts: login, password change, password reset, language ---------------------------------------


LOGIN_FORMS = from_form(LoginForm).map(lambda form: dict(form.data))


@given(data=st.data())
def test_login_never_fails_badly_and_never_leaves_the_site(cast, data):
    client = Client()
    with example(client):
        body = data.draw(
            st.one_of(
                LOGIN_FORMS,
                st.fixed_dictionaries({"username": maybe(st.sampled_from(["staff", "STAFF", "admin"])), "password": maybe(st.just(PASSWORD))}),
            ),
            label="credentials",
        )
        body["next"] = data.draw(maybe(st.sampled_from(["/penilaian/", "//evil.example/", "https://evil.example/", "/\\evil.example"])), label="next")
        body.update(data.draw(sometimes(EXTRA), label="extra"))
        posted = received(body)
        with recording() as writes:
            response = post(client, "/akun/login/", body)
        assert response.status_code < 500
        logged_in = "_auth_user_id" in client.session
        event(f"status {response.status_code}, logged in: {logged_in}")
        if logged_in:
            assert posted.get("password") == PASSWORD and posted.get("username") in ("staff", "admin")
            assert response.status_code == 302 and local_redirect(response), response["Location"]
        # Only the login records and the account's last login change.
        assert writes.tables <= {"axes_accessattempt", "axes_accessattemptexpiration", "axes_accessfailurelog", "axes_accesslog", "auth_user"}
        assert ("auth_user" in writes.tables) == logged_in  # last_login (and proof that writes are seen)


@given(data=st.data())
def test_a_password_changes_completely_or_not_at_all(staff_client, cast, data):
    new = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=8, max_size=40)
    with example(staff_client):
        new_password = data.draw(maybe(new), label="new_password1")
        body = {
            "old_password": data.draw(maybe(st.just(PASSWORD)), label="old_password"),
            "new_password1": new_password,
            "new_password2": data.draw(st.one_of(st.just(new_password), VALUE), label="new_password2"),
        }
        body.update(data.draw(sometimes(EXTRA), label="extra"))
        posted = received(body)
        response = post(staff_client, "/akun/password_change/", body)
        assert response.status_code < 500
        user = User.objects.get(pk=cast.staff.user_id)
        if user.check_password(PASSWORD):
            assert response.status_code != 302
        else:
            assert response.status_code == 302
            assert posted.get("old_password") == PASSWORD
            assert posted.get("new_password1") == posted.get("new_password2")
            assert user.check_password(posted.get("new_password1"))


@given(data=st.data())
def test_a_password_reset_request_writes_nothing_and_mails_only_the_owner(cast, data):
    client = Client()
    with example(client):
        body = {"email": data.draw(maybe(st.sampled_from(["staff@example.go.id", "STAFF@EXAMPLE.GO.ID", "nobody@example.go.id"])), label="email")}
        body.update(data.draw(sometimes(EXTRA), label="extra"))
        posted = received(body)
        with recording() as writes:
            response = post(client, "/akun/password_reset/", body)
        assert response.status_code < 500
        assert not writes.tables
        for message in mail.outbox:
            assert message.to == [User.objects.get(email__iexact=posted.get("email")).email]
        assert len(mail.outbox) <= 1


@given(data=st.data())
def test_setting_a_new_password_from_the_link_is_all_or_nothing(cast, data):
    new = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=8, max_size=40)
    client = Client()
    with example(client):
        user = User.objects.get(pk=cast.staff.user_id)
        link = f"/akun/reset/{urlsafe_base64_encode(force_bytes(user.pk))}/{default_token_generator.make_token(user)}/"
        form_url = client.get(link)["Location"]  # the link puts the token in the session
        new_password = data.draw(maybe(new), label="new_password1")
        body = {"new_password1": new_password, "new_password2": data.draw(st.one_of(st.just(new_password), VALUE), label="new_password2")}
        body.update(data.draw(sometimes(EXTRA), label="extra"))
        posted = received(body)
        response = post(client, form_url, body)
        assert response.status_code < 500
        user.refresh_from_db()
        if user.check_password(PASSWORD):
            assert response.status_code != 302
        else:
            assert response.status_code == 302 and posted.get("new_password1") == posted.get("new_password2")
            assert user.check_password(posted.get("new_password1"))


@given(data=st.data())
def test_an_activation_letter_sets_the_password_with_the_right_code_only(cast, data):
    # Plausible passwords: some the validators accept, others any text without control
    # characters (a NUL is a 400 before any view: the nasty values try that).
    strong = st.from_regex(r"[A-Za-z]{4,10}-[0-9]{2,4}-[A-Za-z]{3,8}", fullmatch=True)
    new = st.one_of(strong, st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=8, max_size=40))
    client = Client(REMOTE_ADDR="10.8.0.1")
    with example(client):
        staff = cast.staff
        User.objects.filter(pk=staff.user_id).update(email="")
        (letter,) = activation.activation_letters_issue(employees=[staff], actor=cast.admin)
        nips = [staff.nip, f" {staff.nip[:8]} {staff.nip[8:]} ", cast.colleague.nip, "199001012015031999"]
        codes = [letter.code, activation.code_display(letter.code).lower(), "ABCD-EFGH-JKMN", letter.code[:-1]]
        if data.draw(st.booleans(), label="the person with their letter"):
            password = data.draw(strong, label="new_password")
            body = {
                "nip": data.draw(st.sampled_from(nips[:2]), label="nip"),
                "code": data.draw(st.sampled_from(codes[:2]), label="code"),
                "new_password1": password,
                "new_password2": password,
            }
        else:
            new_password = data.draw(maybe(new), label="new_password1")
            body = {
                "nip": data.draw(maybe(st.sampled_from(nips)), label="nip"),
                "code": data.draw(maybe(st.sampled_from(codes)), label="code"),
                "new_password1": new_password,
                "new_password2": data.draw(st.one_of(st.just(new_password), VALUE), label="new_password2"),
            }
        body.update(data.draw(sometimes(EXTRA), label="extra"))
        posted = received(body)
        with recording() as writes:
            response = post(client, "/aktivasi/", body)
        assert response.status_code < 500
        user = User.objects.get(pk=staff.user_id)
        used = ActivationCode.objects.filter(employee=staff, used_at__isnull=False).exists()
        event(f"status {response.status_code}, used: {used}")
        if user.check_password(PASSWORD):
            assert response.status_code != 302 and not used
        else:
            assert response.status_code == 302 and response["Location"] == "/akun/login/" and used
            assert "".join(posted.get("nip", "").split()) == staff.nip
            assert activation.normalise_code(posted.get("code", "")) == letter.code
            assert posted.get("new_password1") == posted.get("new_password2") and user.check_password(posted.get("new_password1"))
        # Only the login records, the password and the code's use.
        axes = {"axes_accessattempt", "axes_accessattemptexpiration", "axes_accessfailurelog", "axes_accesslog"}
        assert writes.tables <= axes | {"auth_user", "assessments_activationcode"}
        assert ("auth_user" in writes.tables) == used


@given(data=st.data())
def test_set_language_stays_on_the_site_and_writes_nothing(staff_client, data):
    with example(staff_client):
        body = {
            "language": data.draw(maybe(st.sampled_from(["id", "en"])), label="language"),
            "next": data.draw(maybe(st.sampled_from(["/", "/penilaian/", "//evil.example/", "https://evil.example/"])), label="next"),
        }
        body.update(data.draw(sometimes(EXTRA), label="extra"))
        with recording() as writes:
            if data.draw(st.booleans(), label="GET"):
                response = staff_client.get("/i18n/setlang/?" + encode(body))
            else:
                response = post(staff_client, "/i18n/setlang/", body)
        assert response.status_code < 500
        assert not writes.tables
        if response.status_code == 302:
            assert local_redirect(response), response["Location"]
        cookie = response.cookies.get("django_language")
        assert cookie is None or cookie.value in ("id", "en")


# --- The unit pages' filters and the organisation roll-up ------------------------------------------


@pytest.fixture
def unit_data(cast, period, previous_period):
    submitted_assessment(cast.staff, period, 4)
    submitted_assessment(cast.colleague, period, 2)
    past_assessment(cast.colleague, previous_period, 3)
    services.assessment_save_draft(employee=cast.supervisor, period=period, answers=all_answers(period), version=0, actor=cast.supervisor.user)


def filters(period, previous_period):
    """The pages' own query parameters, each present or not, each plausible or anything; plus
    a couple of unknown parameters."""
    pillars = [f"pilar-{p.pillar_id}" for p in period.pillars.all()]
    codes = [period.code, previous_period.code, "2020-Q5", "2027-Q1 ", "9999-Q4"]
    meaningful = {
        "q": st.sampled_from(["Siti", "siti staf", "1971", "19", "%", "_", "\x00", "Siti\x00", " "]),
        "status": st.sampled_from(["not_started", "draft", "submitted", "returned", "approved", "DRAFT"]),
        "predikat": st.sampled_from(["sangat_baik", "baik", "butuh_perbaikan", "kurang", "sangat_kurang", "A"]),
        "urut": st.sampled_from(["nama", "n", "target", "partisipasi", "indeks", *pillars, "pilar-99", "pilar-", "pilar-²",
                                 "pilar-٣", "pilar--1", "pilar-" + "9" * 5000, "pilar-" + "9" * 30]),
        "arah": st.sampled_from(["turun", "naik"]),
        "tampilan": st.sampled_from(["pohon", "anak"]),
        "periode": st.sampled_from(codes),
        "banding": st.sampled_from(codes),
        "tingkat": st.sampled_from(["1", "2", "3", "0", "-1", "99", "٣", "9" * 5000]),
        "page": st.sampled_from(["1", "2", "0", "-1", "last", "9" * 30, "9" * 5000]),
        "semua": st.sampled_from(["1", "0"]),
        "format": st.sampled_from(["xlsx", "csv"]),
    }
    return st.fixed_dictionaries({}, optional={key: maybe(value) for key, value in meaningful.items()})


@st.composite
def queries(draw, period, previous_period):
    query = draw(filters(period, previous_period))
    query.update(draw(sometimes(st.dictionaries(st.text(max_size=10), VALUE, max_size=2))))
    return encode(query)


UNIT_PAGES = [
    "/unit/A/", "/unit/A/sub-unit/", "/unit/A/pegawai/", "/unit/A1/pegawai/",
    "/unit/A/ekspor/sub-unit.csv", "/unit/A/ekspor/sub-unit.xlsx", "/unit/A/ekspor/pegawai.csv", "/unit/A/ekspor/pegawai.xlsx",
]


def assert_read_only_page(client, url: str):
    """The page answers 200 with a body (a file for an export), or a clear 400 when the query
    holds a NUL character (NullCharacterMiddleware), and writes nothing but the access log (a
    staff table or export that shows people's figures records who saw them)."""
    holds_nul = any("\x00" in key + value for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True))
    with recording() as writes:
        response = client.get(url)
        body = response.getvalue()
    assert response.status_code == (400 if holds_nul else 200), response.status_code
    assert body
    assert writes.tables <= {"assessments_accesslog", "assessments_accesslog_people"}


@given(data=st.data())
def test_the_unit_pages_take_any_filter(supervisor_client, period, previous_period, unit_data, data):
    with example(supervisor_client):
        page = data.draw(st.sampled_from(UNIT_PAGES), label="page")
        event(page)
        query = data.draw(queries(period, previous_period), label="query")
        assert_read_only_page(supervisor_client, f"{page}?{query}")


@given(data=st.data())
def test_the_organisation_roll_up_takes_any_filter(cast, period, previous_period, unit_data, data):
    client = Client()
    client.force_login(cast.admin)
    with example(client):
        query = data.draw(queries(period, previous_period), label="query")
        assert_read_only_page(client, f"/rekap/?{query}")
        if "\x00" not in query:  # the export job takes the page's query string (NUL: the page answers 400)
            with recording() as writes:
                name, content = organisation_workbook(cast.admin, query)
            assert name.endswith(".xlsx") and content.startswith(b"PK") and not writes.tables


# --- Import files: generated CSV and XLSX ------------------------------------------------------------


@st.composite
def nips(draw, damaged: bool = True):
    birth = draw(st.dates(min_value=datetime.date(1960, 1, 1), max_value=datetime.date(1999, 12, 31)))
    appointed = draw(st.integers(min_value=birth.year + 18, max_value=2025))
    nip = f"{birth:%Y%m%d}{appointed}{draw(st.integers(1, 12)):02d}{draw(st.sampled_from('12'))}{draw(st.integers(0, 999)):03d}"
    if damaged and draw(st.integers(0, 4)) == 0:  # a damaged one: a character replaced, or printed with spaces
        position = draw(st.integers(0, 17))
        character = draw(st.sampled_from(["²", "٣", "１", " ", "a", "\x00", "-", "0", "9"]))
        nip = nip[:position] + character + nip[position + 1 :]
    return nip


EMAILS = st.one_of(st.emails().filter(lambda e: len(e) < 200), st.sampled_from(["", "admin@example.go.id", "STAFF@example.go.id", "x@", "@@"]))
UNIT_CODES = st.sampled_from(["A1", "A", "B", "ROOT", "BARU", "BARU-2", "", "a b", "../x", "A" * 25])
NAMES = st.one_of(st.text(min_size=1, max_size=30), st.sampled_from(["Ani Baru", "Budi", "  ", "x" * 300]))


UNIT_NAMES = st.sampled_from(["Direktorat A", "subdirektorat  a1", "Direktorat B", "Kementerian Uji", "Tidak Ada", ""])
HEAD_FLAGS = st.sampled_from(["", "ya", "tidak", "Y", "T", "YA", "mungkin"])


def staff_cells():
    return {
        "NIP": st.one_of(nips(), nips(), TEXT, st.integers(min_value=-(10**20), max_value=10**20), st.floats()),
        "Nama": st.one_of(NAMES, TEXT),
        "Gelar Depan": st.one_of(st.sampled_from(["", "Dr.", "Ir."]), TEXT),
        "Jabatan": st.one_of(st.just(""), NAMES, TEXT),
        "Kode Unit": st.one_of(UNIT_CODES, UNIT_CODES, TEXT),
        "Unor": st.one_of(UNIT_NAMES, TEXT),
        "Email": st.one_of(EMAILS, EMAILS, TEXT),
        "NIP Atasan": st.one_of(st.just(""), nips(), TEXT, st.integers(min_value=-(10**20), max_value=10**20)),
        "Kepala Unit": st.one_of(HEAD_FLAGS, TEXT),
    }


def unit_cells():
    codes = st.one_of(UNIT_CODES, st.from_regex(r"[A-Z][A-Z0-9]{0,4}", fullmatch=True), TEXT)
    return {"Kode": codes, "Nama": st.one_of(NAMES, TEXT), "Kode Induk": st.one_of(st.just(""), codes)}


HEADER_ALIASES = {
    "NIP": ["NIP", "nip", "NIP Baru", "nip_baru", "NIP BARU"],
    "Nama": ["Nama", "Nama Lengkap", "NAMA"],
    "Gelar Depan": ["Gelar Depan", "GELAR DEPAN"],
    "Jabatan": ["Jabatan", "Nama Jabatan", "JABATAN NAMA"],
    "Kode Unit": ["Kode Unit", "kode_unit", "Kode Unit Kerja", "Unor ID", "ID Unor", "Kode Unor"],
    "Unor": ["Unor", "UNOR NAMA", "Unit Organisasi"],
    "Email": ["Email", "E-mail", "Surel", "Email Kantor"],
    "NIP Atasan": ["NIP Atasan", "NIP ATASAN LANGSUNG"],
    "Kepala Unit": ["Kepala Unit", "kepala_unit"],
    "Kode": ["Kode", "kode"],
    "Kode Induk": ["Kode Induk", "Induk", "kode induk"],
}


PROPER_NAMES = st.from_regex(r"[A-Z][a-z]{1,10}( [A-Z][a-z]{1,10}){0,2}", fullmatch=True)


@st.composite
def clean_tables(draw, kind: str):
    """A file as HR would make it: the expected header, rows that pass every check (but that a
    NIP or a code may repeat, or a parent may be missing, now and then); one time in three, one
    cell holds anything at all."""
    if kind == "staff":
        header = ["NIP", "Nama", "Jabatan", "Kode Unit", "Email"]
        row = st.tuples(
            nips(damaged=False), PROPER_NAMES, st.one_of(st.just(""), PROPER_NAMES),
            st.sampled_from(["A1", "A", "B", "ROOT"]), st.one_of(st.just(""), st.emails().filter(lambda e: len(e) < 100)),
        ).map(list)
        rows = draw(st.lists(row, min_size=1, max_size=6))
        if draw(st.booleans()):
            # Supervisor relations, as a SIASN export has them: either one supervisor for
            # everyone (someone of the file or of the database), which usually passes, or each
            # person's own pick, with loops and clashes now and then; Kepala Unit ya, tidak or empty.
            header += ["NIP Atasan", "Kepala Unit"]
            others = [row[0] for row in rows] + [Employee.objects.order_by("pk").values_list("nip", flat=True).first(), ""]
            if draw(st.booleans()):
                boss = draw(st.sampled_from(others))
                rows = [[*row, draw(st.sampled_from([boss, ""])) if row[0] != boss else "", ""] for row in rows]
            else:
                rows = [[*row, draw(st.sampled_from(others)), draw(st.sampled_from(["", "", "ya", "tidak"]))] for row in rows]
    else:
        header, rows, codes = ["Kode", "Nama", "Kode Induk"], [], ["", "ROOT", "A", "B"]
        for _ in range(draw(st.integers(1, 5))):
            code = draw(st.from_regex(r"[A-Z]{1,3}[0-9]{0,2}", fullmatch=True))
            rows.append([code, draw(PROPER_NAMES), draw(st.sampled_from(codes))])
            codes.append(code)
    if draw(st.integers(0, 2)) == 0:
        rows[draw(st.integers(0, len(rows) - 1))][draw(st.integers(0, len(header) - 1))] = draw(TEXT)
    return [header, *rows]


@st.composite
def tables(draw, kind: str):
    """A header (the expected columns in any order and spelling, some missing, some doubled,
    others added) and rows of plausible or nasty cells."""
    cells = staff_cells() if kind == "staff" else unit_cells()
    columns = draw(st.permutations(list(cells)))
    columns = [c for c in columns if draw(st.integers(0, 9)) > 0]  # sometimes a column is missing
    if draw(st.integers(0, 9)) == 0 and columns:
        columns.append(draw(st.sampled_from(columns)))  # a doubled column
    header = [draw(st.sampled_from(HEADER_ALIASES.get(c, [c]))) for c in columns]
    if draw(st.integers(0, 4)) == 0:
        header.insert(draw(st.integers(0, len(header))), draw(TEXT))
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        row = [draw(cells[c]) for c in columns]
        if draw(st.integers(0, 9)) == 0:
            row = row[: draw(st.integers(0, len(row)))]  # a short row
        rows.append(row)
    if draw(st.integers(0, 9)) == 0:
        rows.insert(0, [])  # blank lines before the header
    return [header, *rows]


def csv_text(value) -> str:
    return "" if value is None else str(value)


@st.composite
def csv_files(draw, kind: str):
    """(file name, bytes): half the time a clean file written as Excel does, else anything."""
    if draw(st.booleans()):
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=draw(st.sampled_from([",", ";"]))).writerows(draw(clean_tables(kind)))
        return "pegawai.csv", buffer.getvalue().encode(draw(st.sampled_from(["utf-8", "utf-8-sig"])))
    table = draw(tables(kind))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    buffer = io.StringIO()
    if draw(st.booleans()):
        csv.writer(buffer, delimiter=delimiter).writerows([[csv_text(c) for c in row] for row in table])
    else:  # naive joining: quotes and delimiters inside cells break the columns
        buffer.write("\r\n".join(delimiter.join(csv_text(c) for c in row) for row in table))
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    name = draw(st.sampled_from(["pegawai.csv", "unit.CSV", "data.txt", "tanpa-ekstensi", "x.xls", "x.pdf"]))
    return name, draw(corrupted(data))


ILLEGAL_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx_cell(value):
    if isinstance(value, str):
        return ILLEGAL_IN_XLSX.sub("?", value)[:32000]  # what openpyxl can write at all
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, int) and abs(value) > 2**53:
        return str(value)
    return value


@st.composite
def xlsx_files(draw, kind: str):
    """(file name, bytes): half the time a clean workbook, else anything."""
    clean = draw(st.booleans())
    table = draw(clean_tables(kind) if clean else tables(kind))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if not clean and draw(st.integers(0, 9)) == 0:
        workbook.create_sheet("Lain", 0).append(["NIP"])  # the data is not on the first sheet
    for row in table:
        sheet.append([xlsx_cell(cell) for cell in row])
    if not clean and draw(st.integers(0, 9)) == 0:
        sheet.cell(row=draw(st.integers(1, 50)), column=draw(st.integers(1, 16384)), value=draw(st.sampled_from([1, "x", datetime.date(2024, 1, 1)])))
    buffer = io.BytesIO()
    workbook.save(buffer)
    if clean:
        return "pegawai.xlsx", buffer.getvalue()
    name = draw(st.sampled_from(["pegawai.xlsx", "unit.XLSX", "data.csv", "tanpa-ekstensi"]))
    return name, draw(corrupted(buffer.getvalue()))


@st.composite
def corrupted(draw, data: bytes):
    """Mostly the bytes as they are; sometimes cut short, with bytes flipped, or nothing.

    Positions are drawn from a fixed range, then taken modulo the length: the bytes of a
    workbook change with the second it is saved in (openpyxl stamps it), and Hypothesis
    refuses a strategy whose bounds change between the runs of one example."""
    how = draw(st.sampled_from(["as is", "as is", "as is", "cut", "flip", "empty"]))
    position = st.integers(0, 2**24)
    if how == "cut" and data:
        return data[: draw(position) % len(data)]
    if how == "flip" and data:
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            data[draw(position) % len(data)] = draw(st.integers(0, 255))
        return bytes(data)
    if how == "empty":
        return b""
    return data


def any_file(kind: str):
    binary = st.tuples(st.sampled_from(["x.csv", "x.xlsx", "x"]), st.binary(max_size=300))
    return st.integers(0, 4).flatmap(lambda dice: binary if dice == 0 else csv_files(kind) if dice % 2 else xlsx_files(kind))


def check_result(result: ImportResult):
    """What an ImportResult promises whatever the file was."""
    assert isinstance(result, ImportResult)
    if result.file_errors:
        assert not result.rows and not result.errors and not result.ok
        return
    assert result.plan is not None
    assert all(error.row >= 2 for error in result.errors)  # row 1 at the earliest is the header
    numbers = [row.row for row in result.rows]
    assert numbers == sorted(set(numbers))
    if result.ok:
        assert result.created + result.updated + result.unchanged == len(result.rows) > 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@given(data=st.data())
def test_the_parser_reads_any_file_without_failing_or_writing(cast, fmt, data):
    kind = data.draw(st.sampled_from(["staff", "units"]), label="kind")
    files = csv_files(kind) if fmt == "csv" else xlsx_files(kind)
    name, content = data.draw(st.one_of(files, files, files, any_file(kind)), label="file")
    read = read_staff if kind == "staff" else read_units
    scope = [cast.tree.a] if data.draw(st.booleans(), label="an office admin's (A's) import") else None
    with recording() as writes:
        result = read(content, name, scope=scope)
    assert not writes.tables
    event(f"{kind}: " + ("ok" if result.ok else "file errors" if result.file_errors else "row errors"))
    check_result(result)


def people_and_units():
    return (
        rows_of(Employee.objects.all(), "nip", "full_name", "position", "unit__code", "is_active", "user__email", "user__username"),
        User.objects.count(),
        rows_of(WorkUnit.objects.all(), "code", "name", "path", "is_active"),
        rows_of(SupervisorAssignment.objects.all(), "employee__nip", "unit__code"),
    )


def parent_code(unit: WorkUnit) -> str:
    return WorkUnit.objects.get(path=unit.path[: -unit.steplen]).code if unit.depth > 1 else ""


def assert_written(kind: str, result: ImportResult, before):
    """Every row of the file is in the database as the file says."""
    if kind == "staff":
        for row in result.rows:
            employee = Employee.objects.select_related("unit", "user").get(nip=row.nip)
            assert (employee.full_name, employee.unit.code, employee.is_active) == (row.full_name, row.unit_code, True)
            assert row.position is None or employee.position == row.position
            assert not row.email or employee.user.email.lower() == row.email.lower()
        assert Employee.objects.count() == len(before[0]) + result.created
        heads = set(SupervisorAssignment.objects.values_list("employee__nip", "unit__code"))
        assert {(head.nip, head.unit.code) for head in result.heads_added} <= heads
        assert not {(head.nip, head.unit.code) for head in result.heads_removed} & heads
    else:
        for row in result.rows:
            unit = WorkUnit.objects.get(code=row.code)
            assert (unit.name, parent_code(unit)) == (row.name, row.parent_code)
        assert WorkUnit.objects.count() == len(before[2]) + result.created


@pytest.mark.parametrize("kind", ["staff", "units"])
@given(data=st.data())
def test_an_import_previews_without_writing_and_confirms_every_row_or_none(cast, kind, data):
    client = Client()
    client.force_login(cast.admin)
    model = "employee" if kind == "staff" else "workunit"
    upload_url, confirm_url = f"/admin/assessments/{model}/import/", f"/admin/assessments/{model}/import/confirm/"
    with example(client):
        name, content = data.draw(any_file(kind), label="file")
        body = {"file": SimpleUploadedFile(name, content)} if data.draw(st.integers(0, 9)) else {}
        for key, value in data.draw(sometimes(EXTRA), label="extra").items():
            if key != "file":
                body[key] = value
        before = people_and_units()
        with recording() as writes:
            preview = client.post(upload_url, body)
        assert preview.status_code < 500
        assert not writes.tables  # the dry run writes nothing
        assert people_and_units() == before
        result = preview.context["result"] if preview.status_code == 200 and "result" in preview.context else None
        if result is not None:
            check_result(result)
        token = preview.context.get("token", "") if result is not None else ""
        sent = data.draw(maybe(st.just(token), TEXT), label="token") if token else data.draw(TEXT, label="token")
        response = post(client, confirm_url, {"token": sent})
        assert response.status_code < 500
        confirmed = response.status_code == 302 and response["Location"] == f"/admin/assessments/{model}/"
        event("preview: " + ("none" if result is None else "ok" if result.ok else "file errors" if result.file_errors else "row errors"))
        event(f"confirmed: {confirmed}")
        if confirmed:
            assert result is not None and result.ok and sent == token
            event(f"confirmed with heads of unit: {bool(result.heads_added or result.heads_removed)}")
            assert_written(kind, result, before)
        else:
            assert people_and_units() == before

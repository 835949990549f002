"""Database outages: every page answers the friendly 503 page (and /healthz 503 JSON), never a
traceback or a 500; nobody is logged out by one; a submit cut off halfway leaves nothing behind.

The outage is simulated in-process: every new use of the connection raises OperationalError, as
psycopg2 does when PostgreSQL is stopped. `make faulttest` (scripts/faulttest.py) stops the real
PostgreSQL under gunicorn.
"""

from contextlib import contextmanager

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError, connection, connections
from django.test import Client, RequestFactory

from assessments import middleware, services
from assessments.models import AssessmentEvent, PillarScore, SelfAssessment, UnitPeriodSummary
from assessments.views import common

from .conftest import all_answers

REFUSED = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'


class Outage:
    """stop(): from then on, opening a cursor or a transaction fails; start(): it works again."""

    def __init__(self):
        self.patch = pytest.MonkeyPatch()

    def stop(self):
        def refuse(*args, **kwargs):
            raise OperationalError(REFUSED)

        self.patch.setattr(connections["default"], "ensure_connection", refuse)

    def start(self):
        self.patch.undo()


@pytest.fixture
def database_down(db):
    """Call it to stop the database. Its own patch (not `monkeypatch`, which may be torn down
    after `db`): the database is back before the test's transaction is rolled back."""
    outage = Outage()
    yield outage.stop
    outage.start()


@contextmanager
def failing(predicate, error=OperationalError):
    """Make each SQL statement for which predicate(sql) holds fail as if the server went away."""

    def wrapper(execute, sql, params, many, context):
        if predicate(sql):
            raise error("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def assert_friendly_503(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(middleware.RETRY_AFTER_SECONDS)
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "Layanan sedang tidak tersedia" in page
    assert '<p lang="en">Sorry, the service is temporarily unavailable' in page
    assert "Traceback" not in page and "OperationalError" not in page
    # Standalone: no static file, no script or inline style for the Content-Security-Policy.
    assert "/static/" not in page and "<script" not in page and "style=" not in page
    # The session cookie is kept: the outage logs nobody out.
    assert "sessionid" not in response.cookies


# --- Pages while the database is down --------------------------------------------------------


def test_login_page_answers_503_rather_than_a_form_that_cannot_work(client, db, database_down):
    database_down()
    response = client.get("/akun/login/")
    assert_friendly_503(response)
    assert 'name="username"' not in response.content.decode()


def test_a_login_attempt_answers_503(client, db, database_down):
    database_down()
    assert_friendly_503(client.post("/akun/login/", {"username": "staff", "password": "salah"}))


@pytest.mark.parametrize(
    "who, path",
    [
        ("staff", "/penilaian/"),
        ("staff", "/"),
        ("supervisor", "/unit/"),
        ("admin", "/rekap/"),
        ("admin", "/admin/"),
        ("admin", "/admin/assessments/employee/"),
    ],
)
def test_pages_of_a_logged_in_person_answer_503(client, cast, period, database_down, who, path):
    person = getattr(cast, who)
    client.force_login(getattr(person, "user", person))
    database_down()
    # The session and the user are read before any view: the outage is met there.
    assert_friendly_503(client.get(path))


def test_the_503_page_is_the_same_in_english(client, cast, database_down):
    client.force_login(cast.staff.user)
    client.cookies["django_language"] = "en"
    database_down()
    assert_friendly_503(client.get("/penilaian/"))


@pytest.mark.parametrize("logged_in", [False, True])
def test_healthz_answers_503_json(client, cast, database_down, logged_in):
    if logged_in:  # a browser with a session cookie: the middleware meets the outage first
        client.force_login(cast.staff.user)
    database_down()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert response["Retry-After"] == str(middleware.RETRY_AFTER_SECONDS)


def test_an_outage_in_the_view_answers_503(client, cast, period):
    """Session and user read fine, then the server goes away during the view's own queries."""
    client.force_login(cast.supervisor.user)
    client.get("/unit/")  # the session's last-seen time is written once; not part of this test
    with failing(lambda sql: "django_session" not in sql and "auth_user" not in sql):
        response = client.get("/unit/")
    assert_friendly_503(response)


def test_a_lost_connection_answers_503_too(client, cast, period):
    """psycopg2 raises InterfaceError on a connection it has already seen closed."""
    client.force_login(cast.staff.user)
    client.get("/penilaian/")
    with failing(lambda sql: "assessments_" in sql, error=InterfaceError):
        assert_friendly_503(client.get("/penilaian/"))


def test_an_outage_while_saving_the_session_answers_503(cast, period):
    """After the view: SessionMiddleware saving the session fails. That is outside any view, and
    Django reports it as SessionInterrupted (400, "the session was deleted"); handler400 sees
    the OperationalError behind it and answers the 503 page."""
    client = Client(raise_request_exception=False)
    client.force_login(cast.staff.user)  # no last-seen time yet: this request writes one
    with failing(lambda sql: sql.startswith("UPDATE") and "django_session" in sql):
        response = client.get("/penilaian/")
    assert_friendly_503(response)


def test_pages_answer_again_as_soon_as_the_database_is_back(client, cast, period):
    client.force_login(cast.staff.user)
    outage = Outage()
    outage.stop()
    try:
        assert client.get("/penilaian/").status_code == 503
        assert client.get("/healthz").status_code == 503
    finally:
        outage.start()
    assert client.get("/healthz").json() == {"status": "ok"}
    response = client.get("/penilaian/")  # still logged in
    assert response.status_code == 200
    assert str(period) in response.content.decode()


# --- A submit cut off halfway ------------------------------------------------------------------


def test_a_submit_interrupted_halfway_leaves_the_draft_untouched(client, cast, period):
    """The server goes away after the state, pillar scores and log entry are written, while the
    summary rows are updated: the transaction is rolled back and the person sees the 503 page.
    Submitting again once the database is back counts the assessment once."""
    draft = services.assessment_save_draft(
        employee=cast.staff, period=period, answers=all_answers(period, 4, note="catatan"), version=0, actor=cast.staff.user
    )
    client.force_login(cast.staff.user)
    url = f"/penilaian/{period.code}/kirim/"
    client.get(url)
    seen = []

    def summary_write(sql):
        seen.append(sql.split()[0])
        return "assessments_unitperiodsummary" in sql and not sql.startswith("SELECT")

    with failing(summary_write):
        response = client.post(url, {"version": str(draft.version)})
    assert_friendly_503(response)
    assert {"UPDATE", "INSERT"} <= set(seen)  # the outage came after the submit had written

    assessment = SelfAssessment.objects.get(pk=draft.pk)
    assert assessment.state == "draft"
    assert assessment.version == draft.version
    assert assessment.index_score is None and assessment.grade == "" and assessment.submitted_at is None
    assert not PillarScore.objects.filter(assessment=assessment).exists()
    assert not AssessmentEvent.objects.filter(assessment=assessment, to_state="submitted").exists()
    assert assessment.ratings.count() == len(all_answers(period))
    assert not UnitPeriodSummary.objects.filter(period=period, counted__gt=0).exists()

    response = client.post(url, {"version": str(draft.version)})
    assert response.status_code == 302
    assessment.refresh_from_db()
    assert assessment.state == "submitted"
    assert PillarScore.objects.filter(assessment=assessment).count() == len(period.questionnaire())
    assert AssessmentEvent.objects.filter(assessment=assessment, to_state="submitted").count() == 1
    assert UnitPeriodSummary.objects.get(period=period, unit=cast.tree.a1).counted == 1
    assert UnitPeriodSummary.objects.get(period=period, unit=cast.tree.root).counted == 1


# --- What is and is not an outage -------------------------------------------------------------


def test_other_database_errors_stay_500():
    request = RequestFactory().get("/penilaian/")
    mw = middleware.DatabaseUnavailableMiddleware(lambda request: None)
    assert mw.process_exception(request, IntegrityError("duplicate key")) is None
    assert mw.process_exception(request, ValueError("bug")) is None
    assert mw.process_exception(request, OperationalError("terminating connection due to administrator command")).status_code == 503


def test_handler400_keeps_the_400_page_for_a_real_bad_request():
    from django.contrib.sessions.exceptions import SessionInterrupted

    request = RequestFactory().get("/penilaian/")
    assert common.bad_request(request, SessionInterrupted("logged out meanwhile")).status_code == 400


def test_handler500_keeps_the_500_page_for_other_errors():
    request = RequestFactory().get("/penilaian/")
    try:
        raise ValueError("bug")
    except ValueError:
        response = common.server_error(request)
    assert response.status_code == 500
    try:
        raise RuntimeError("wrapped") from OperationalError(REFUSED)
    except RuntimeError:
        response = common.server_error(request)
    assert response.status_code == 503


def test_a_database_host_that_does_not_answer_fails_in_bounded_time(settings):
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("PostgreSQL only")
    assert settings.DATABASES["default"]["OPTIONS"]["connect_timeout"] == 5

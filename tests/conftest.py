"""The same cast in every test (STYLE.md): a staff member and a colleague in unit A1, their
supervisor heading A (A1's parent), a staff member of the sibling unit B and B's supervisor,
and an admin. The default framework comes from the data migration.

Everyone the factories make has read the privacy notice of every period they make
(`acknowledge`), so that the form opens at once in the tests that are not about the notice;
tests/test_privacy_notice.py makes people and periods with `acknowledged=False`."""

import datetime
import itertools
import os
from types import SimpleNamespace

import hypothesis
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from assessments import periods, services, summaries
from assessments.models import AssessmentPeriod, Employee, PrivacyAcknowledgement, SupervisorAssignment, WorkUnit

from .browser import axe_file, chromium, demo, page_factory  # noqa: F401 - the browser fixtures, shared by every module

PASSWORD = "uji-sandi-2026"
_serial = itertools.count(1)


def acknowledge(user_ids, periods) -> None:
    """Record that each user read the privacy notice of each period, as its button does."""
    PrivacyAcknowledgement.objects.bulk_create(
        [PrivacyAcknowledgement(user_id=user_id, period=period, visibility=period.visibility) for user_id in user_ids for period in periods],
        ignore_conflicts=True,
    )


def make_employee(
    username: str, unit: WorkUnit, *, heads: WorkUnit | None = None, name: str | None = None, acknowledged: bool = True
) -> Employee:
    """Make a person with an account; `acknowledged`: they have read the notice of every period opened so far."""
    user = get_user_model().objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.go.id")
    serial = next(_serial)
    # The counter runs across the whole session: past 999, {serial:03d} would make a 19-digit
    # NIP, which PostgreSQL refuses (SQLite does not check the length). Consecutive serials
    # still differ within any test.
    nip = f"{1970 + serial % 25}0{1 + serial % 9}1{serial % 9}{1995 + serial % 20}0{1 + serial % 9}{1 + serial % 2}{serial % 1000:03d}"
    employee = Employee.objects.create(user=user, nip=nip, full_name=name or username.title(), position="Analis", unit=unit)
    if heads is not None:
        SupervisorAssignment.objects.create(employee=employee, unit=heads)
    if acknowledged:
        acknowledge([user.pk], AssessmentPeriod.objects.exclude(status=AssessmentPeriod.Status.PLANNED))
    return employee


@pytest.fixture(autouse=True)
def test_settings(settings, tmp_path):
    from assessments.models import QUESTIONNAIRES

    QUESTIONNAIRES.clear()  # ids are reused from one test to the next
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    # Real hashing costs a third of a second per user; the tests make many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Query-count tests measure the database work; tests/test_rollup_cache.py turns it back on.
    settings.ROLLUP_CACHE_SECONDS = 0
    # Most tests log admins in with force_login and no second factor; tests/test_totp.py and
    # tests/test_access_matrix.py turn two-factor sign-in on and go through it.
    settings.TWO_FACTOR_REQUIRED = False


@pytest.fixture
def tree(db):
    root = WorkUnit.objects.add_root({"code": "ROOT", "name": "Kementerian Uji"})
    a = WorkUnit.objects.add_child(root, {"code": "A", "name": "Direktorat A"})
    a1 = WorkUnit.objects.add_child(a, {"code": "A1", "name": "Subdirektorat A1"})
    b = WorkUnit.objects.add_child(root, {"code": "B", "name": "Direktorat B"})
    return SimpleNamespace(root=WorkUnit.objects.get(pk=root.pk), a=WorkUnit.objects.get(pk=a.pk), a1=a1, b=b)


@pytest.fixture
def cast(tree):
    """staff, colleague (A1), supervisor (heads A), other (B), sibling_supervisor (heads B), admin."""
    admin = get_user_model().objects.create_superuser("admin", "admin@example.go.id", PASSWORD)
    return SimpleNamespace(
        staff=make_employee("staff", tree.a1, name="Siti Staf"),
        colleague=make_employee("colleague", tree.a1, name="Rudi Rekan"),
        supervisor=make_employee("supervisor", tree.a, heads=tree.a, name="Ratna Atasan"),
        other=make_employee("other", tree.b, name="Oki Lain"),
        sibling_supervisor=make_employee("sibling", tree.b, heads=tree.b, name="Bima Saudara"),
        admin=admin,
        tree=tree,
    )


def create_period(
    year: int, quarter: int, *, status: str = "open", opens_on=None, closes_on=None, acknowledged: bool = True
) -> AssessmentPeriod:
    """Create a period and open it (freezing the current framework); close it if asked.
    `acknowledged`: everyone with an employee record has read its privacy notice."""
    start, end = periods.quarter_dates(year, quarter)
    period = AssessmentPeriod.objects.create(year=year, quarter=quarter, opens_on=opens_on or start, closes_on=closes_on or end)
    if status in ("open", "closed"):
        periods.period_open(period=period, loads_history=True)
    if status == "closed":
        periods.period_close(period=period)
    period.refresh_from_db()
    if acknowledged and status in ("open", "closed"):
        acknowledge(Employee.objects.values_list("user_id", flat=True), [period])
    return period


@pytest.fixture
def period(cast, previous_period):
    """The open period: today lies between its opening and closing dates; `previous_period`
    (closed) comes just before it."""
    today = timezone.localdate()
    return create_period(today.year + 1, 1, opens_on=today - datetime.timedelta(days=10), closes_on=today + datetime.timedelta(days=20))


@pytest.fixture
def previous_period(cast):
    """A closed period, just before `period`."""
    return create_period(timezone.localdate().year, 4, status="closed")


def all_answers(period: AssessmentPeriod, score: int = 4, note: str = "") -> dict:
    """Return {PeriodIndicator id: Answer} rating every indicator `score`."""
    return {
        indicator.pk: services.Answer(score=score, note=note)
        for pillar in period.questionnaire()
        for indicator in pillar.indicators.all()
    }


def form_data(period: AssessmentPeriod, score: int | None = 4, version: int = 0, action: str = "save", note: str = "ok") -> dict:
    """Return POST data for the assessment form rating every indicator `score`."""
    data = {"version": str(version), "action": action}
    for pillar in period.questionnaire():
        for indicator in pillar.indicators.all():
            if score is not None:
                data[f"rating_{indicator.pk}"] = str(score)
            data[f"note_{indicator.pk}"] = note
    return data


def submitted_assessment(employee: Employee, period: AssessmentPeriod, score: int = 4):
    """Save every answer as `score` and submit; return the assessment."""
    assessment = services.assessment_save_draft(
        employee=employee, period=period, answers=all_answers(period, score, note="catatan"), version=0, actor=employee.user
    )
    services.assessment_submit(assessment=assessment, version=assessment.version, actor=employee.user)
    assessment.refresh_from_db()
    return assessment



def past_assessment(employee: Employee, period: AssessmentPeriod, score: int = 4, state: str = "approved"):
    """Write an assessment of a closed period as the bulk loader does; return it."""
    from assessments.synthetic import AssessmentSpec, bulk_create_assessments

    answers = {i.pk: (score, "catatan") for p in period.questionnaire() for i in p.indicators.all()}
    moment = timezone.make_aware(datetime.datetime.combine(period.closes_on, datetime.time(10)))
    bulk_create_assessments(
        period=period,
        specs=[AssessmentSpec(employee_id=employee.pk, user_id=employee.user_id, unit_id=employee.unit_id, state=state, answers=answers, at=moment)],
    )
    summaries.summary_rebuild(period=period, closed=True)  # a closed period loaded after the fact
    from assessments.models import SelfAssessment

    return SelfAssessment.objects.get(employee=employee, period=period)



def log_in(client, username: str, password: str = PASSWORD) -> bool:
    """Log in through the login page, as a person does (django-axes watches that page; the test
    client's login() would bypass it). Returns whether it worked."""
    return client.post("/akun/login/", {"username": username, "password": password}).status_code == 302


# Hypothesis (tests/test_fuzz.py): 300 examples per test in CI (which sets CI=true), 40 locally;
# HYPOTHESIS_PROFILE names one (.ci/run's second pass, on PostgreSQL, runs "dev": the 300 ran
# on SQLite just before).
# Examples share their test's function-scoped fixtures and roll their own changes back.
hypothesis.settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    print_blob=True,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture, hypothesis.HealthCheck.too_slow],
)
hypothesis.settings.register_profile("dev", hypothesis.settings.get_profile("ci"), max_examples=40)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev"))


def rekap_workbook(client, query: str = ""):
    """Start the Rekap Instansi export as the page's button does, let the job run (in-process,
    as in the demo) and download its file: the download response."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        started = client.post("/rekap/ekspor.xlsx", {"query": query})
    assert started.status_code == 302, started.status_code
    return client.get(started["Location"] + "unduh/")


@pytest.fixture(scope="session")
def pdf_tools():
    """WeasyPrint's system libraries (Pango) and poppler's pdftotext, which the PDF tests read
    the reports with. Without them those tests skip with the reason; under CI (CI=true) they
    fail instead, so CI can never pass without having run them (.ci/run installs both)."""
    import shutil

    missing = []
    try:
        import weasyprint  # noqa: F401 - loads Pango through cffi
    except OSError as error:
        missing.append(f"WeasyPrint cannot load Pango ({error})")
    if shutil.which("pdftotext") is None:
        missing.append("pdftotext (poppler-utils) is not installed")
    if missing:
        reason = "; ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the PDF tests (.ci/run installs them).")
        pytest.skip(reason)

"""DATABASE_REPLICA_URL: dashboards read from the replica, writes always go to the primary, and
a person who just wrote something reads from the primary so that they see their own write."""

import pytest
from django.db import connections

from assessments import db_router
from assessments.db_router import ReplicaRouter, replica_reads
from assessments.models import SelfAssessment, WorkUnit

from .conftest import submitted_assessment

# The fixture adds an alias to DATABASES on purpose; Django warns about that in general.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


@pytest.fixture
def replica(settings):
    """A "replica" alias. Here it is the primary's own connection (a test database has no
    streaming replica); what is tested is which alias each query is routed to."""
    settings.DATABASES = {**settings.DATABASES, "replica": settings.DATABASES["default"]}
    connections["replica"] = connections["default"]
    yield
    del connections["replica"]


@pytest.fixture
def routed(monkeypatch):
    """Record the alias the router picks for every read and every write."""
    decisions = {"read": [], "write": []}
    read, write = ReplicaRouter.db_for_read, ReplicaRouter.db_for_write

    def spy_read(self, model, **hints):
        decisions["read"].append(alias := read(self, model, **hints))
        return alias

    def spy_write(self, model, **hints):
        decisions["write"].append(alias := write(self, model, **hints))
        return alias

    monkeypatch.setattr(ReplicaRouter, "db_for_read", spy_read)
    monkeypatch.setattr(ReplicaRouter, "db_for_write", spy_write)
    return decisions


def test_without_a_replica_everything_reads_the_primary(db, routed):
    with replica_reads():
        list(WorkUnit.objects.all())
    assert set(routed["read"]) == {"default"}


def test_dashboard_reads_go_to_the_replica(client, cast, period, replica, routed):
    submitted_assessment(cast.staff, period)
    client.force_login(cast.supervisor.user)
    routed["read"].clear()
    assert client.get(f"/unit/A/?periode={period.code}").status_code == 200
    assert "replica" in routed["read"]


def test_other_pages_and_every_write_use_the_primary(client, cast, period, replica, routed):
    client.force_login(cast.staff.user)
    routed["read"].clear()
    client.get("/penilaian/")
    assert set(routed["read"]) == {"default"}
    with replica_reads():
        SelfAssessment.objects.create(employee=cast.staff, period=period, unit=cast.staff.unit)
    assert set(routed["write"]) == {"default"}


def test_after_a_write_the_person_reads_the_primary_and_sees_it(client, cast, period, replica, routed):
    assessment = submitted_assessment(cast.staff, period)
    client.force_login(cast.supervisor.user)
    response = client.post(f"/tinjau/{assessment.pk}/setujui/")
    assert response.status_code == 302
    assert response.cookies[db_router.WROTE_COOKIE]["max-age"] == 10
    routed["read"].clear()
    page = client.get(f"/unit/A1/pegawai/?periode={period.code}").content.decode()
    assert set(routed["read"]) == {"default"}
    assert "Disetujui" in page  # the approval just made
    # Once the cookie has expired, dashboards read the replica again.
    client.cookies.pop(db_router.WROTE_COOKIE)
    routed["read"].clear()
    client.get(f"/unit/A1/pegawai/?periode={period.code}")
    assert "replica" in routed["read"]


def test_no_write_cookie_without_a_replica(client, cast, period):
    assessment = submitted_assessment(cast.staff, period)
    client.force_login(cast.supervisor.user)
    response = client.post(f"/tinjau/{assessment.pk}/setujui/")
    assert db_router.WROTE_COOKIE not in response.cookies


def test_migrations_only_run_on_the_primary():
    router = ReplicaRouter()
    assert router.allow_migrate("default", "assessments") is True
    assert router.allow_migrate("replica", "assessments") is False

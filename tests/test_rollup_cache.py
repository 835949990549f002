"""Dashboard roll-ups are cached, and a state change is never followed by a stale figure."""

import pytest
from django.core.cache import cache

from assessments import services, summaries
from assessments.models import SelfAssessment

from .conftest import make_employee, submitted_assessment


@pytest.fixture
def caching(settings):
    settings.ROLLUP_CACHE_SECONDS = 600
    cache.clear()
    yield
    cache.clear()


def figures(client, period, unit="A"):
    page = client.get(f"/unit/{unit}/?periode={period.code}").content.decode()

    def after(marker):
        start = page.index(marker) + len(marker)
        return page[start : page.index("<", start)]

    index = after('data-testid="index-mean">') if 'data-testid="index-mean">' in page else None
    return int(after('data-testid="counted">')), int(after('data-testid="expected">')), index


def test_a_second_view_is_served_from_the_cache(client, cast, period, caching, django_assert_max_num_queries):
    submitted_assessment(cast.staff, period, 4)
    client.force_login(cast.supervisor.user)
    with django_assert_max_num_queries(50) as first:
        client.get(f"/unit/A/?periode={period.code}")
    with django_assert_max_num_queries(50) as second:
        client.get(f"/unit/A/?periode={period.code}")
    assert len(second) < len(first)
    assert not any("assessments_unitperiodsummary" in q["sql"] for q in second.captured_queries)


def test_submit_return_approve_and_new_staff_are_never_followed_by_a_stale_figure(client, cast, period, caching):
    client.force_login(cast.supervisor.user)
    first = submitted_assessment(cast.staff, period, 4)
    assert figures(client, period)[:2] == (1, 3)  # A and A1: staff, colleague, supervisor
    figures(client, period)  # now cached

    second = submitted_assessment(cast.colleague, period, 2)
    assert figures(client, period) == (2, 3, "50,0")

    services.assessment_return(assessment=second, reviewer=cast.supervisor.user, note="perbaiki")
    assert figures(client, period) == (1, 3, "75,0")

    services.assessment_approve(assessment=first, reviewer=cast.supervisor.user)
    assert figures(client, period) == (1, 3, "75,0")
    assert SelfAssessment.objects.get(pk=first.pk).state == "approved"

    make_employee("baru", cast.tree.a1)
    summaries.period_expected_refresh(period=period)
    assert figures(client, period) == (1, 4, "75,0")


def test_a_change_made_by_another_server_is_seen_too(client, cast, period, caching):
    """Other web servers share nothing with this process but the database: the roll-up version
    read from it is what makes this process's cached figure obsolete."""
    client.force_login(cast.supervisor.user)
    submitted_assessment(cast.staff, period, 4)
    assert figures(client, period)[0] == 1
    from assessments.models import AssessmentPeriod

    version = AssessmentPeriod.objects.get(pk=period.pk).rollup_version
    submitted_assessment(cast.colleague, period, 4)  # as if on another server: only the DB changes
    assert AssessmentPeriod.objects.get(pk=period.pk).rollup_version > version
    assert figures(client, period)[0] == 2

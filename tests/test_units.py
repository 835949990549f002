"""The unit tree: "this unit and everything below it" in one indexed query."""

import pytest
from django.db import connection

from assessments.models import WorkUnit


@pytest.fixture
def four_levels(db):
    add = WorkUnit.objects.add_child
    root = WorkUnit.objects.add_root({"code": "R", "name": "Root"})
    e1 = add(root, {"code": "E1", "name": "Eselon I satu"})
    e2 = add(root, {"code": "E2", "name": "Eselon I dua"})
    d1 = add(e1, {"code": "D1", "name": "Direktorat satu"})
    s1 = add(d1, {"code": "S1", "name": "Seksi satu"})
    s2 = add(d1, {"code": "S2", "name": "Seksi dua"})
    d2 = add(e2, {"code": "D2", "name": "Direktorat dua"})
    return {u.code: WorkUnit.objects.get(pk=u.pk) for u in (root, e1, e2, d1, s1, s2, d2)}


def codes(queryset):
    return sorted(queryset.values_list("code", flat=True))


def test_subtree_holds_the_unit_and_everything_below(four_levels):
    assert codes(four_levels["R"].subtree()) == ["D1", "D2", "E1", "E2", "R", "S1", "S2"]
    assert codes(four_levels["E1"].subtree()) == ["D1", "E1", "S1", "S2"]
    assert codes(four_levels["D1"].subtree()) == ["D1", "S1", "S2"]
    assert codes(four_levels["S2"].subtree()) == ["S2"]
    assert [u.depth for u in (four_levels["R"], four_levels["E1"], four_levels["D1"], four_levels["S1"])] == [1, 2, 3, 4]


def test_subtree_is_one_query(four_levels, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert len(list(four_levels["E1"].subtree())) == 4


def test_is_within(four_levels):
    assert four_levels["S1"].is_within(four_levels["E1"])
    assert four_levels["S1"].is_within(four_levels["S1"])
    assert not four_levels["E1"].is_within(four_levels["S1"])
    assert not four_levels["D2"].is_within(four_levels["E1"])


def test_moving_a_unit_moves_its_subtree(four_levels):
    WorkUnit.objects.move(four_levels["D1"], four_levels["E2"], "last-child")
    assert codes(WorkUnit.objects.get(code="E2").subtree()) == ["D1", "D2", "E2", "S1", "S2"]
    assert codes(WorkUnit.objects.get(code="E1").subtree()) == ["E1"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans are PostgreSQL's; CI runs this on PostgreSQL")
def test_subtree_filter_uses_the_path_index_on_postgresql(four_levels):
    sql, params = four_levels["E1"].subtree().values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index" in plan and "path" in plan, plan

"""Unit roll-ups on a hand-built 3-level tree, checked against hand-computed values, and the
dashboard, drill-down and staff pages that show them."""

import pytest

from assessments import rollups, services, summaries
from assessments.models import (
    Employee,
    SelfAssessment,
    UnitPeriodIndicatorSummary,
    UnitPeriodPillarSummary,
    UnitPeriodSummary,
    WorkUnit,
)

from .conftest import all_answers, make_employee, past_assessment, submitted_assessment


def answers_with(period, default: int, **by_pillar: int):
    """All indicators rated `default`, except the pillars named (by code) rated otherwise."""
    answers = all_answers(period, default, note="catatan")
    for pillar in period.questionnaire():
        if pillar.pillar.code in by_pillar:
            for indicator in pillar.indicators.all():
                answers[indicator.pk] = services.Answer(score=by_pillar[pillar.pillar.code], note="catatan")
    return answers


def submit(employee, period, answers):
    draft = services.assessment_save_draft(employee=employee, period=period, answers=answers, version=0, actor=employee.user)
    services.assessment_submit(assessment=draft, version=draft.version, actor=employee.user)
    draft.refresh_from_db()
    return draft


@pytest.fixture
def scene(cast, period, previous_period):
    """ROOT > A > A1, ROOT > B, plus C with nobody submitting.

    A1: staff 75, colleague 25, x1 83.33 (AK pillar 0, others 100), mover 75 (then moved to B),
        a returned one and a draft (not counted).
    A: supervisor 50.   B: other 0, sibling supervisor not started.   C: one person not started.
    Previous period: staff 50 (approved).
    """
    tree = cast.tree
    c = WorkUnit.objects.add_child(WorkUnit.objects.get(pk=tree.root.pk), {"code": "C", "name": "Direktorat C"})
    make_employee("c1", c)
    x1 = make_employee("x1", tree.a1)
    mover = make_employee("mover", tree.a1)
    returned = make_employee("returned", tree.a1)
    drafter = make_employee("drafter", tree.a1)

    past_assessment(cast.staff, previous_period, score=3)
    submitted_assessment(cast.staff, period, 4)
    submitted_assessment(cast.colleague, period, 2)
    approved = submit(x1, period, answers_with(period, 5, AK=1))
    services.assessment_approve(assessment=approved, reviewer=cast.supervisor.user)
    submitted_assessment(mover, period, 4)
    Employee.objects.filter(pk=mover.pk).update(unit=tree.b)
    back = submitted_assessment(returned, period, 5)
    services.assessment_return(assessment=back, reviewer=cast.supervisor.user, note="perbaiki")
    services.assessment_save_draft(employee=drafter, period=period, answers=all_answers(period, 5), version=0, actor=drafter.user)
    submitted_assessment(cast.supervisor, period, 3)
    submitted_assessment(cast.other, period, 1)
    summaries.period_expected_refresh(period=period)
    for unit in ("root", "a", "a1", "b"):
        setattr(tree, unit, WorkUnit.objects.get(pk=getattr(tree, unit).pk))
    tree.c = c
    return tree


def pillar_id(code):
    from assessments.models import Pillar

    return Pillar.objects.get(code=code).pk


@pytest.mark.parametrize(
    ("unit", "counted", "expected", "mean", "ak", "nt", "bands"),
    [
        # A1 alone: 75, 25, 83.33, 75 (the mover stays here); 6 expected (4 + returned + draft)
        ("a1", 4, 6, (75 + 25 + 500 / 6 + 75) / 4, (75 + 25 + 0 + 75) / 4, (75 + 25 + 100 + 75) / 4, (0, 3, 0, 0, 1)),
        # A and below: + the supervisor's 50
        ("a", 5, 7, (225 + 500 / 6) / 5, 45.0, 65.0, (0, 3, 0, 1, 1)),
        # B: the other's 0; the sibling supervisor has not started; the mover is counted in A1
        ("b", 1, 2, 0.0, 0.0, 0.0, (0, 0, 0, 0, 1)),
        # the whole tree: C expects one person
        ("root", 6, 10, (225 + 500 / 6) / 6, 37.5, 325 / 6, (0, 3, 0, 1, 2)),
    ],
)
def test_roll_up_matches_hand_computed_values(scene, period, unit, counted, expected, mean, ak, nt, bands):
    rollup = rollups.unit_rollup(unit=getattr(scene, unit), period=period)
    assert (rollup.counted, rollup.expected) == (counted, expected)
    assert rollup.participation == pytest.approx(100 * counted / expected)
    assert rollup.index_mean == pytest.approx(mean)
    assert rollup.pillar_mean(pillar_id("AK")) == pytest.approx(ak)
    assert rollup.pillar_mean(pillar_id("NT")) == pytest.approx(nt)
    order = ["sangat_baik", "baik", "butuh_perbaikan", "kurang", "sangat_kurang"]
    assert tuple(rollup.bands[g] for g in order) == bands


def test_a_unit_with_no_submissions_has_no_data_not_zero(scene, period, client, cast):
    rollup = rollups.unit_rollup(unit=scene.c, period=period)
    assert rollup.counted == 0 and rollup.expected == 1
    assert rollup.index_mean is None and rollup.has_data is False
    client.force_login(cast.admin)
    page = client.get(f"/unit/C/?periode={period.code}").content.decode()
    assert 'data-testid="no-data"' in page
    assert 'data-testid="index-mean"' not in page
    rows = client.get(f"/unit/ROOT/sub-unit/?periode={period.code}").content.decode()
    c_row = rows[rows.index('data-unit="C"') :]
    c_row = c_row[: c_row.index("</tr>")]
    assert "belum ada data" in c_row


def test_change_against_the_previous_period(scene, period, previous_period):
    rollup = rollups.unit_rollup(unit=scene.root, period=period, previous=previous_period)
    assert rollup.previous.counted == 1 and rollup.previous.index_mean == 50.0
    assert rollup.index_change == pytest.approx((225 + 500 / 6) / 6 - 50)
    assert rollup.band_change("sangat_kurang") == 2


def test_children_and_tree_add_up(scene, period):
    children = {r.unit.code: r for r in rollups.child_rollups(unit=scene.root, period=period)}
    assert set(children) == {"A", "B", "C"}
    assert (children["A"].counted, children["B"].counted, children["C"].counted) == (5, 1, 0)
    tree = {r.unit.code: r for r in rollups.rollups_of(units=list(rollups.tree_units(unit=scene.root, period=period)), period=period)}
    assert [code for code in tree] == ["ROOT", "A", "A1", "B", "C"]
    assert tree["A1"].counted == 4 and tree["A"].counted == 5 and tree["ROOT"].counted == 6
    assert tree["ROOT"].index_mean == pytest.approx(rollups.unit_rollup(unit=scene.root, period=period).index_mean)
    own = {r.unit.code: r for r in rollups.child_rollups(unit=scene.a, period=period)}
    # A's direct child A1, then a row for the staff directly in A (the supervisor)
    assert [r.key for r in rollups.child_rollups(unit=scene.a, period=period)] == [scene.a1.path, scene.a.path]
    assert own["A"].counted == 1


def test_incremental_summaries_equal_a_rebuild(scene, period):
    def rows():
        return (
            sorted(UnitPeriodSummary.objects.filter(period=period).exclude(counted=0).values_list(
                "unit_id", "counted", "index_sum", "count_sangat_baik", "count_baik", "count_butuh_perbaikan", "count_kurang", "count_sangat_kurang")),
            sorted(UnitPeriodPillarSummary.objects.filter(period=period).exclude(counted=0).values_list("unit_id", "pillar_id", "counted", "score_sum")),
            sorted(UnitPeriodIndicatorSummary.objects.filter(period=period).exclude(counted=0).values_list("unit_id", "indicator_id", "counted", "score_sum")),
        )

    def rounded(snapshot):
        return [[tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in table] for table in snapshot]

    incremental = rounded(rows())
    summaries.summary_rebuild(period=period)
    assert rounded(rows()) == incremental


def test_weak_spots(scene, period):
    weakest = rollups.weakest_indicators(unit=scene.a1, period=period, limit=3)
    # AK indicators: (4 + 2 + 1 + 4) / 4 = 2.75, the lowest in A1
    assert [w.indicator.pillar.pillar.code for w in weakest] == ["AK", "AK", "AK"]
    assert weakest[0].mean == pytest.approx(2.75)
    rollup = rollups.unit_rollup(unit=scene.a1, period=period)
    gaps = rollups.pillar_gaps(rollup=rollup, organisation=rollups.unit_rollup(unit=None, period=period), pillars=list(period.pillars.all()))
    assert gaps[0].pillar.pillar.code == "AK"
    assert gaps[0].gap == pytest.approx(43.75 - 37.5)


# --- Pages -------------------------------------------------------------------------------


def test_the_dashboard_shows_the_figures(client, cast, scene, period):
    client.force_login(cast.supervisor.user)
    page = client.get(f"/unit/A/?periode={period.code}").content.decode()
    assert '<span class="fs-3 fw-bold" data-testid="counted">5</span>' in page
    assert 'data-testid="expected">7<' in page
    assert 'data-testid="participation">71,4<' in page
    assert 'data-testid="index-mean">61,7<' in page
    assert f'data-testid="pillar-{pillar_id("AK")}">45,0<' in page
    assert 'data-testid="band-baik">3<' in page
    assert 'id="trend-chart-data"' in page and 'id="pillar-chart-data"' in page
    assert "Direktorat A" in page


def test_the_dashboard_defaults_to_the_open_period(client, cast, scene, period):
    client.force_login(cast.supervisor.user)
    page = client.get("/unit/A/").content.decode()
    assert f'<option value="{period.code}" selected>' in page


def test_the_supervisor_lands_on_the_unit_they_head(client, cast, scene):
    client.force_login(cast.supervisor.user)
    assert client.get("/unit/")["Location"] == "/unit/A/"


def test_breadcrumb_stops_at_the_highest_unit_in_scope(client, cast, scene, period):
    client.force_login(cast.supervisor.user)
    page = client.get(f"/unit/A1/?periode={period.code}").content.decode()
    crumbs = page[page.index('class="breadcrumb') : page.index("</ol>")]
    assert "Direktorat A" in crumbs and "Subdirektorat A1" in crumbs
    assert "Kementerian Uji" not in crumbs


def test_drilldown_sorts_and_links(client, cast, scene, period):
    client.force_login(cast.admin)
    page = client.get(f"/unit/ROOT/sub-unit/?periode={period.code}&urut=indeks&arah=turun").content.decode()
    order = [page.index(f'data-unit="{code}"') for code in ("A", "B", "C")]
    assert order == sorted(order)  # A 61.7, B 0.0, then C without data
    page = client.get(f"/unit/ROOT/sub-unit/?periode={period.code}&urut=indeks").content.decode()
    assert page.index('data-unit="B"') < page.index('data-unit="A"') < page.index('data-unit="C"')
    assert f'href="/unit/A/?periode={period.code}"' in page


@pytest.mark.parametrize("path", ["/unit/%00/", "/unit/A%00/pegawai/", "/unit/ROOT%00/ekspor/sub-unit.csv"])
def test_a_unit_code_with_a_nul_character_is_a_clear_400(client, cast, scene, path):
    """PostgreSQL refuses NUL in a query parameter: that was a 500 there (tests/test_fuzz.py)."""
    client.force_login(cast.admin)
    assert client.get(path).status_code == 400
    assert client.post(path.replace("pegawai/", "setujui/"), {"pilih": ["1"]}).status_code == 400


@pytest.mark.parametrize("path", ["/unit/ROOT/pegawai/", "/unit/ROOT/ekspor/pegawai.csv"])
def test_a_search_with_a_nul_character_is_a_clear_400(client, cast, scene, period, path):
    """PostgreSQL refuses NUL in a query parameter: that was a 500 there (tests/test_fuzz.py)."""
    client.force_login(cast.admin)
    response = client.get(path, {"q": "Siti\x00", "semua": "1", "periode": period.code})
    assert response.status_code == 400
    assert "tidak diizinkan" in response.content.decode()


@pytest.mark.parametrize("key", ["pilar-²", "pilar-٣", "pilar-" + "9" * 4301, "pilar-" + "9" * 30, "pilar--1", "pilar-"])
def test_drilldown_ignores_a_sort_key_that_names_no_pillar(client, cast, scene, period, key):
    """Keys that str.isdigit() accepted but int() refused were a 500 (tests/test_fuzz.py)."""
    client.force_login(cast.admin)
    response = client.get(f"/unit/ROOT/sub-unit/?periode={period.code}", {"urut": key})
    assert response.status_code == 200
    assert client.get(f"/unit/ROOT/ekspor/sub-unit.csv?periode={period.code}", {"urut": key}).status_code == 200


def test_drilldown_tree_shows_every_unit_below_indented(client, cast, scene, period):
    client.force_login(cast.admin)
    page = client.get(f"/unit/ROOT/sub-unit/?periode={period.code}&tampilan=pohon").content.decode()
    assert [page.index(f'data-unit="{code}"') for code in ("A", "A1", "B", "C")] == sorted(
        page.index(f'data-unit="{code}"') for code in ("A", "A1", "B", "C")
    )
    assert 'class="unit-col tree-indent-2"' in page  # A1, two levels below ROOT


def test_staff_table_filters_searches_and_paginates(client, cast, scene, period):
    client.force_login(cast.supervisor.user)
    page = client.get(f"/unit/A1/pegawai/?periode={period.code}").content.decode()
    for name in ("Siti Staf", "Rudi Rekan", "X1", "Returned", "Drafter"):
        assert name in page
    assert "Mover" not in page  # now in B
    page = client.get(f"/unit/A1/pegawai/?periode={period.code}&status=returned").content.decode()
    assert "Returned" in page and "Siti Staf" not in page
    page = client.get(f"/unit/A1/pegawai/?periode={period.code}&predikat=sangat_kurang").content.decode()
    assert "Rudi Rekan" in page and "Siti Staf" not in page
    page = client.get(f"/unit/A1/pegawai/?periode={period.code}&q={cast.staff.nip[:10]}").content.decode()
    assert "Siti Staf" in page
    page = client.get(f"/unit/A/pegawai/?periode={period.code}&status=not_started&semua=1").content.decode()
    assert "Belum mulai" in page and "Siti Staf" not in page
    page = client.get(f"/unit/A/pegawai/?periode={period.code}").content.decode()
    assert "Siti Staf" not in page  # A alone, not its subtree
    for n in range(55):
        make_employee(f"banyak{n}", scene.a1)
    page = client.get(f"/unit/A1/pegawai/?periode={period.code}").content.decode()
    assert "halaman 1 dari 2" in page


def test_a_staff_table_past_the_count_limit_lists_the_first_by_name_and_asks_to_narrow_down(client, cast, scene, period, monkeypatch):
    """A province's 100,000 people are not counted on every page: past the limit the table
    says so, pages through the first ones by name, and a filter brings the rest in reach."""
    from assessments.views import dashboards

    monkeypatch.setattr(dashboards, "STAFF_COUNT_LIMIT", 3)
    monkeypatch.setattr(dashboards, "STAFF_PAGE_SIZE", 2)
    client.force_login(cast.supervisor.user)
    everyone = sorted(rollups.staff_table(unit=scene.a1, period=period, viewer=cast.supervisor.user).values_list("full_name", flat=True))
    assert len(everyone) > 3
    first = client.get(f"/unit/A1/pegawai/?periode={period.code}").content.decode()
    assert "Lebih dari 3 orang; yang ditampilkan 3 orang pertama menurut nama." in first
    assert "halaman 1 dari 2" in first
    table = first[first.index('data-testid="staff-table"') :].split("</table>")[0]
    assert all(name in table for name in everyone[:2]) and not any(name in table for name in everyone[2:])
    # The table only: a name as short as "X1" can turn up in the page's random CSRF token.
    second = client.get(f"/unit/A1/pegawai/?periode={period.code}&page=2").content.decode()
    second = second[second.index('data-testid="staff-table"') :].split("</table>")[0]
    assert everyone[2] in second and not any(name in second for name in everyone[3:])
    narrowed = client.get(f"/unit/A1/pegawai/?periode={period.code}&q={everyone[-1]}").content.decode()
    assert everyone[-1] in narrowed and "Lebih dari" not in narrowed and "1 orang" in narrowed


# --- Query counts: constant whatever the size of the tree ------------------------------------


def grow(tree, units: int):
    """Add `units` units (each with two staff, one submitting) under A1 and B."""
    period = __import__("assessments.models", fromlist=["AssessmentPeriod"]).AssessmentPeriod.objects.get(status="open")
    parents = [tree.a1, tree.b]
    for n in range(units):
        parent = WorkUnit.objects.get(pk=parents[n % 2].pk)
        unit = WorkUnit.objects.add_child(parent, {"code": f"G{n}", "name": f"Seksi {n}"})
        submitted_assessment(make_employee(f"g{n}a", unit), period, 3 + n % 3)
        make_employee(f"g{n}b", unit)
    summaries.period_expected_refresh(period=period)


PAGES = [
    "/unit/ROOT/?periode={p}",
    "/unit/ROOT/sub-unit/?periode={p}",
    "/unit/ROOT/sub-unit/?periode={p}&tampilan=pohon",
    "/unit/ROOT/pegawai/?periode={p}&semua=1",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_use_the_same_number_of_queries_for_3_and_30_units(client, cast, period, path, django_assert_max_num_queries):
    submitted_assessment(cast.staff, period, 4)
    summaries.period_expected_refresh(period=period)
    client.force_login(cast.admin)
    url = path.format(p=period.code)
    client.get(url)

    def count():
        with django_assert_max_num_queries(40) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    small = count()
    grow(cast.tree, 27)
    assert WorkUnit.objects.count() == 31
    assert count() == small


def test_moving_a_unit_moves_its_figures_and_keeps_past_assessments(scene, period, previous_period, client, cast):
    """A1 moves from under A to under B: its assessments stay attributed to A1; in the open
    period A loses A1's figures and B gains them, while the closed period keeps the
    organisation it was assessed in; a rebuild from scratch agrees with both."""
    a1_before = rollups.unit_rollup(unit=scene.a1, period=period, previous=previous_period)
    summaries.unit_move(unit=scene.a1, target=WorkUnit.objects.get(pk=scene.b.pk), position="last-child")
    a1 = WorkUnit.objects.get(pk=scene.a1.pk)
    assert a1.path.startswith(WorkUnit.objects.get(pk=scene.b.pk).path)
    after = rollups.unit_rollup(unit=a1, period=period, previous=previous_period)
    assert (after.counted, after.index_mean, after.previous.counted) == (a1_before.counted, a1_before.index_mean, 1)
    a = rollups.unit_rollup(unit=WorkUnit.objects.get(pk=scene.a.pk), period=period, previous=previous_period)
    b = rollups.unit_rollup(unit=WorkUnit.objects.get(pk=scene.b.pk), period=period, previous=previous_period)
    assert (a.counted, a.expected, a.previous.counted) == (1, 1, 1)  # the supervisor only; A1 was A's then
    assert (b.counted, b.expected, b.previous.counted) == (5, 8, 0)
    assert rollups.unit_rollup(unit=None, period=period).counted == 6  # the whole tree is unchanged
    assert set(SelfAssessment.objects.filter(period=period, employee__unit=a1).values_list("unit", flat=True)) == {a1.pk}

    def rows():
        return sorted(UnitPeriodSummary.objects.exclude(counted=0, expected=0).values_list("unit_id", "period_id", "counted", "expected"))

    moved = rows()
    summaries.summary_rebuild(period=period)
    summaries.summary_rebuild(period=previous_period, closed=True)  # over its own recorded tree
    summaries.period_expected_refresh(period=period)  # a closed period's expected stays frozen
    assert rows() == moved


def test_moving_a_unit_in_the_admin_moves_its_figures(scene, period, client, cast):
    client.force_login(cast.admin)
    a1 = WorkUnit.objects.get(pk=scene.a1.pk)
    response = client.post(f"/admin/assessments/workunit/{a1.pk}/change/", {
        "code": "A1", "name": "Subdirektorat A1", "is_active": "on",
        "treebeard_position": "first-child", "treebeard_ref_node": str(scene.b.pk),
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert rollups.unit_rollup(unit=WorkUnit.objects.get(pk=scene.b.pk), period=period).counted == 5
    assert rollups.unit_rollup(unit=WorkUnit.objects.get(pk=scene.a.pk), period=period).counted == 1


def test_the_tree_shows_a_hundred_units_a_page_in_a_constant_number_of_queries(client, cast, period, django_assert_max_num_queries):
    parent = WorkUnit.objects.get(pk=cast.tree.b.pk)
    WorkUnit.objects.bulk_create(
        WorkUnit(code=f"T{n:03d}", name=f"Seksi {n:03d}", depth=3, path=parent.path + f"{n + 1:04d}", numchild=0) for n in range(150)
    )
    WorkUnit.objects.filter(pk=parent.pk).update(numchild=150)
    client.force_login(cast.admin)
    first = client.get(f"/unit/ROOT/sub-unit/?periode={period.code}&tampilan=pohon").content.decode()
    assert first.count('<tr data-unit="') == 100
    assert "halaman 1 dari 2" in first
    with django_assert_max_num_queries(30) as one:
        last = client.get(f"/unit/ROOT/sub-unit/?periode={period.code}&tampilan=pohon&page=2").content.decode()
    assert last.count('<tr data-unit="') == 153 - 100  # A, A1, B and the 150 below B, minus page 1
    assert 'data-unit="T149"' in last and 'data-unit="A"' not in last
    WorkUnit.objects.bulk_create(
        WorkUnit(code=f"U{n:03d}", name=f"Seksi U{n:03d}", depth=3, path=parent.path + f"{n + 200:04d}", numchild=0) for n in range(300)
    )
    with django_assert_max_num_queries(30) as two:
        client.get(f"/unit/ROOT/sub-unit/?periode={period.code}&tampilan=pohon&page=2")
    assert len(two) == len(one)


def test_the_dashboard_says_what_its_changes_compare_and_that_an_open_period_still_runs(scene, period, previous_period, client, cast):
    client.force_login(cast.supervisor.user)
    page = client.get(f"/unit/A1/?periode={period.code}").content.decode()
    assert f"{period} masih berjalan: angka-angka ini masih berubah" in page
    change = page[page.index('data-testid="participation-change"') :].split("</small>")[0]
    assert f"poin persentase dibanding {previous_period}" in change
    assert f"Perubahan dibanding {previous_period}</th>" in page  # the pillar table
    # Band changes are counts with the one minus sign of every change (U+2212): Kurang 1 -> 0.
    assert '<td class="num small change-down">−1</td>' in page and "-1</td>" not in page
    # Four assessments: a small sample. The trend chart has its table.
    assert 'data-testid="small-sample"' in page and "kurang dari 10 penilaian" in page
    trend = page[page.index('data-testid="trend-table"') :].split("</table>")[0]
    assert f"<td>{previous_period}</td>" in trend and f"<td>{period}</td>" in trend


def test_a_closed_period_does_not_say_it_is_still_running(scene, previous_period, client, cast):
    client.force_login(cast.supervisor.user)
    page = client.get(f"/unit/A1/?periode={previous_period.code}").content.decode()
    assert 'data-testid="still-running"' not in page
    assert 'data-testid="small-sample"' in page  # one assessment in A1 then: still small


def test_the_staff_table_offers_select_all_shown_to_scripts_only(scene, period, client, cast):
    client.force_login(cast.supervisor.user)
    page = client.get(f"/unit/A1/pegawai/?periode={period.code}").content.decode()
    assert '<div class="form-check mb-0" hidden><input class="form-check-input" type="checkbox" id="pilih-semua">' in page
    assert "Pilih semua yang tampil" in page and 'src="/static/js/staff-table.js"' in page


@pytest.mark.parametrize("tab", ["", "sub-unit/", "pegawai/"])
def test_every_unit_tab_of_an_open_period_says_it_is_still_running(scene, period, client, cast, tab):
    client.force_login(cast.supervisor.user)
    page = client.get(f"/unit/A/{tab}?periode={period.code}").content.decode()
    assert 'data-testid="still-running"' in page and "masih berjalan" in page

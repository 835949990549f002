"""History that survives reorganisations: a closed period keeps the organisation it was assessed
in (its tree, names, expected counts and figures), the open period follows today's tree, and
trends follow a unit through merges and splits."""

import csv
import io
import re

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from assessments import periods, reorganise, rollups, services, summaries
from assessments.models import AssessmentPeriod, Employee, SelfAssessment, UnitLineage, WorkUnit

from .conftest import make_employee, past_assessment, rekap_workbook, submitted_assessment


@pytest.fixture
def history(cast, period, previous_period):
    """Closed period: staff 50 and colleague 25 (A1), supervisor 75 (A), other 100 (B).
    Open period: staff 75 (A1), other 0 (B)."""
    past_assessment(cast.staff, previous_period, score=3)
    past_assessment(cast.colleague, previous_period, score=2)
    past_assessment(cast.supervisor, previous_period, score=4)
    past_assessment(cast.other, previous_period, score=5)
    submitted_assessment(cast.staff, period, 4)
    submitted_assessment(cast.other, period, 1)
    return cast


def unit(code):
    return WorkUnit.objects.get(code=code)


def normalised(html: str) -> str:
    """A page without what legitimately differs between two renderings: the CSRF token, a
    message left by the admin's last action, and the line saying that a closed period's
    organisation differs from today's."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    html = re.sub(r'<div class="alert[^"]*" role="status">.*?</div>', "", html, flags=re.S)
    html = re.sub(r'<p[^>]*data-testid="structure-note".*?</p>', "", html, flags=re.S)
    return re.sub(r"\s+", " ", html)


def closed_views(client, period) -> dict:
    """Everything an inspectorate reads of a closed period: dashboards, drill-downs (children and
    tree), the trend, the Rekap and the exports, as rendered."""
    q = f"periode={period.code}"
    pages = {
        url: normalised(client.get(url).content.decode())
        for url in (
            f"/unit/ROOT/?{q}", f"/unit/A/?{q}", f"/unit/A1/?{q}", f"/unit/B/?{q}",
            f"/unit/ROOT/sub-unit/?{q}", f"/unit/ROOT/sub-unit/?{q}&tampilan=pohon", f"/unit/A/sub-unit/?{q}",
            f"/rekap/?{q}",
        )
    }
    pages["sub-unit.csv"] = client.get(f"/unit/ROOT/ekspor/sub-unit.csv?{q}&tampilan=pohon").content.decode("utf-8-sig")
    rekap = load_workbook(io.BytesIO(rekap_workbook(client, q).getvalue())).active
    pages["rekap.xlsx"] = [list(row) for row in rekap.iter_rows(values_only=True)]
    return pages


def assert_summaries_exact():
    for period in AssessmentPeriod.objects.exclude(status="planned"):
        assert summaries.summary_differences(period=period) == []


def test_the_period_tree_is_recorded_when_a_period_opens_and_closes(history, period, previous_period):
    assert previous_period.units.count() == WorkUnit.objects.count()
    assert set(period.units.values_list("code", flat=True)) == {"ROOT", "A", "A1", "B"}


REORGANISATIONS = {
    "move": lambda admin: reorganise.unit_move(unit=unit("A1"), parent=unit("B"), actor=admin),
    "rename": lambda admin: reorganise.unit_rename(unit=unit("A"), name="Direktorat Anyar", actor=admin),
    "merge": lambda admin: reorganise.units_merge(units=[unit("A"), unit("B")], code="AB", name="Direktorat AB", parent=None, actor=admin),
    "split": lambda admin: reorganise.unit_split(
        unit=unit("A1"), parts=[("A1X", "Seksi X"), ("A1Y", "Seksi Y")],
        staff={Employee.objects.get(user__username="staff").pk: 0, Employee.objects.get(user__username="colleague").pk: 1},
        actor=admin,
    ),
}


@pytest.mark.parametrize("change", REORGANISATIONS)
def test_a_closed_period_reads_the_same_before_and_after_a_reorganisation(client, history, previous_period, change):
    client.force_login(history.admin)
    before = closed_views(client, previous_period)
    REORGANISATIONS[change](history.admin)
    after = closed_views(client, previous_period)
    for key in before:
        assert after[key] == before[key], key
    assert_summaries_exact()
    page = client.get(f"/unit/ROOT/?periode={previous_period.code}").content.decode()
    assert f"Struktur organisasi per {previous_period}" in page


def test_the_open_period_follows_a_move(history, period, previous_period):
    reorganise.unit_move(unit=unit("A1"), parent=unit("B"), actor=history.admin)
    assert rollups.unit_rollup(unit=unit("B"), period=period).counted == 2  # other + staff (A1)
    assert rollups.unit_rollup(unit=unit("A"), period=period).counted == 0
    assert rollups.unit_rollup(unit=unit("A"), period=previous_period).counted == 3  # A1 was A's then
    assert_summaries_exact()


def test_a_rename_shows_in_the_open_period_and_not_in_the_closed_one(client, history, period, previous_period):
    reorganise.unit_rename(unit=unit("A"), name="Direktorat Anyar", actor=history.admin)
    client.force_login(history.admin)
    assert "Direktorat Anyar" in client.get(f"/unit/A/?periode={period.code}").content.decode()
    closed = client.get(f"/unit/A/?periode={previous_period.code}").content.decode()
    assert "Direktorat Anyar" not in closed and "Direktorat A" in closed


def test_a_merge_moves_staff_assessments_and_sub_units_and_records_lineage(client, history, period, previous_period):
    merged = reorganise.units_merge(units=[unit("A"), unit("B")], code="AB", name="Direktorat AB", parent=None, actor=history.admin)
    assert merged.depth == 2 and not unit("A").is_active and not unit("B").is_active
    assert unit("A1").path.startswith(merged.path)
    assert set(Employee.objects.filter(unit=merged).values_list("user__username", flat=True)) == {"supervisor", "other", "sibling"}
    assert SelfAssessment.objects.get(period=period, employee=history.other).unit == merged
    assert set(UnitLineage.objects.values_list("predecessor__code", "successor__code", "kind")) == {("A", "AB", "merge"), ("B", "AB", "merge")}
    now = rollups.unit_rollup(unit=merged, period=period)
    assert (now.counted, now.index_mean) == (2, 37.5)  # staff 75 (A1 below) and other 0
    assert_summaries_exact()
    # The trend of AB shows, before the merge, the combined figures of A and B: (50+25+75+100)/4
    trend = dict(rollups.index_trend(unit=merged, periods=[previous_period, period]))
    assert trend[previous_period].index_mean == 62.5 and trend[previous_period].counted == 4
    assert [u.code for u in trend[previous_period].combined_from] == ["A", "B"]
    client.force_login(history.admin)
    page = client.get(f"/unit/AB/?periode={period.code}").content.decode()
    assert "gabungan A, B" in page


def test_a_split_assigns_each_person_and_links_the_history(client, history, period, previous_period):
    x, y = reorganise.unit_split(
        unit=unit("A1"), parts=[("A1X", "Seksi X"), ("A1Y", "Seksi Y")],
        staff={history.staff.pk: 1, history.colleague.pk: 0}, actor=history.admin,
    )
    assert Employee.objects.get(pk=history.staff.pk).unit == y and Employee.objects.get(pk=history.colleague.pk).unit == x
    assert rollups.unit_rollup(unit=y, period=period).counted == 1
    assert rollups.unit_rollup(unit=x, period=period).counted == 0
    assert rollups.unit_rollup(unit=unit("A1"), period=previous_period).counted == 2  # its history stays
    assert_summaries_exact()
    client.force_login(history.admin)
    page = client.get(f"/unit/A1Y/?periode={period.code}").content.decode()
    assert 'href="/unit/A1/' in page and "Dipecah dari" in page


def test_a_unit_that_ended_can_still_be_opened_for_its_past_periods(client, history, previous_period):
    reorganise.units_merge(units=[unit("A"), unit("B")], code="AB", name="Direktorat AB", parent=None, actor=history.admin)
    client.force_login(history.admin)
    page = client.get(f"/unit/B/?periode={previous_period.code}").content.decode()
    assert "Direktorat B" in page and "100,0" in page


def test_a_unit_made_after_a_period_says_it_did_not_exist_then(client, history, previous_period):
    reorganise.units_merge(units=[unit("A"), unit("B")], code="AB", name="Direktorat AB", parent=None, actor=history.admin)
    client.force_login(history.admin)
    page = client.get(f"/unit/AB/?periode={previous_period.code}").content.decode()
    assert f"belum ada pada {previous_period}" in page


@pytest.mark.parametrize(
    ("attempt", "code"),
    [
        (lambda a: reorganise.units_merge(units=[unit("A")], code="X", name="X", parent=None, actor=a), "merge_too_few"),
        (lambda a: reorganise.units_merge(units=[unit("A"), unit("A1")], code="X", name="X", parent=None, actor=a), "merge_nested"),
        (lambda a: reorganise.units_merge(units=[unit("A1"), unit("B")], code="X", name="X", parent=None, actor=a), "merge_parent"),
        (lambda a: reorganise.units_merge(units=[unit("A"), unit("B")], code="X", name="X", parent=unit("A1"), actor=a), "merge_cycle"),
        (lambda a: reorganise.units_merge(units=[unit("A"), unit("B")], code="A1", name="X", parent=None, actor=a), "code_taken"),
        (lambda a: reorganise.unit_move(unit=unit("A"), parent=unit("A1"), actor=a), "move_cycle"),
        (lambda a: reorganise.unit_move(unit=unit("ROOT"), parent=None, actor=a), "move_root"),
        (lambda a: reorganise.unit_split(unit=unit("A1"), parts=[("P", "P"), ("Q", "Q")], staff={}, actor=a), "split_unassigned"),
        (lambda a: reorganise.unit_split(unit=unit("A1"), parts=[("P", "P")], staff={}, actor=a), "split_too_few"),
        (lambda a: reorganise.unit_rename(unit=unit("A"), name="  ", actor=a), "name_required"),
    ],
)
def test_a_refused_reorganisation_says_why_and_changes_nothing(history, attempt, code):
    def state():
        return (
            sorted(WorkUnit.objects.values_list("code", "path", "name", "is_active")),
            sorted(Employee.objects.values_list("pk", "unit_id")),
            UnitLineage.objects.count(),
        )

    before = state()
    with pytest.raises(services.ServiceError) as refused:
        attempt(history.admin)
    assert refused.value.code == code
    assert refused.value.message
    assert state() == before


# --- Nothing changes a closed period's figures ------------------------------------------------------


def test_every_write_path_refuses_a_closed_period(history, previous_period):
    with pytest.raises(summaries.FiguresFrozen):
        summaries.summary_rebuild(period=previous_period)
    with pytest.raises(summaries.FiguresFrozen):
        summaries.period_expected_refresh(period=previous_period)
    closed = SelfAssessment.objects.filter(period=previous_period).first()
    with pytest.raises(summaries.FiguresFrozen):
        summaries.summary_apply(assessment=closed, sign=-1, pillar_scores={})
    with pytest.raises(services.ServiceError):
        services.assessment_return(assessment=closed, reviewer=history.admin, note="x")


def test_staff_and_unit_imports_leave_a_closed_period_alone(client, history, previous_period):
    from assessments.imports import staff, units

    client.force_login(history.admin)
    before = closed_views(client, previous_period)
    units.units_import(rows=[units.UnitRow(row=2, code="A1", name="Subdirektorat A1", parent_code="B")], actor=history.admin)
    staff.staff_import(rows=[staff.StaffRow(
        row=2, nip=history.colleague.nip, full_name=history.colleague.full_name, position="Analis", unit_code="B", email="",
    )], actor=history.admin)
    assert unit("A1").path.startswith(unit("B").path)
    assert closed_views(client, previous_period) == before
    assert_summaries_exact()


def test_an_admin_edit_of_a_unit_leaves_a_closed_period_alone(client, history, previous_period):
    client.force_login(history.admin)
    before = closed_views(client, previous_period)
    a1 = unit("A1")
    response = client.post(f"/admin/assessments/workunit/{a1.pk}/change/", {
        "code": "A1", "name": "Subdirektorat Satu", "treebeard_position": "first-child", "treebeard_ref_node": str(unit("B").pk),
    })
    assert response.status_code == 302
    assert closed_views(client, previous_period) == before
    assert_summaries_exact()


# --- summaries_check and summary_rebuild ----------------------------------------------------------


def test_summaries_check_passes_and_reports_a_damaged_row(history, previous_period):
    out = io.StringIO()
    call_command("summaries_check", stdout=out)
    assert "exact" in out.getvalue()
    from assessments.models import UnitPeriodSummary

    UnitPeriodSummary.objects.filter(period=previous_period, unit=unit("A")).update(counted=99)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_status:
        call_command("summaries_check", stdout=out, stderr=err)
    assert exit_status.value.code == 1
    assert f"{previous_period.code} unit {unit('A').pk} counted: stored 99, computed 3" in err.getvalue()


def test_summary_rebuild_repairs_open_periods_and_a_closed_one_only_when_told(history, period, previous_period):
    from assessments.models import UnitPeriodSummary

    UnitPeriodSummary.objects.filter(period=period, unit=unit("A")).update(counted=50)
    UnitPeriodSummary.objects.filter(period=previous_period, unit=unit("A")).update(counted=99)
    call_command("summary_rebuild", stdout=io.StringIO())
    assert UnitPeriodSummary.objects.get(period=period, unit=unit("A")).counted == 1
    assert UnitPeriodSummary.objects.get(period=previous_period, unit=unit("A")).counted == 99
    call_command("summary_rebuild", "--closed", "--yes", stdout=io.StringIO())
    assert UnitPeriodSummary.objects.get(period=previous_period, unit=unit("A")).counted == 3


def test_the_period_closes_with_its_tree(history, period):
    reorganise.unit_rename(unit=unit("B"), name="Direktorat Baru", actor=history.admin)
    periods.period_close(period=period)
    assert period.units.get(code="B").name == "Direktorat Baru"
    reorganise.unit_rename(unit=unit("B"), name="Direktorat Lebih Baru", actor=history.admin)
    assert period.units.get(code="B").name == "Direktorat Baru"


def test_the_staff_table_of_a_closed_period_lists_who_was_assessed_there(client, history, previous_period):
    reorganise.unit_move(unit=unit("A1"), parent=unit("B"), actor=history.admin)
    Employee.objects.filter(pk=history.colleague.pk).update(is_active=False)  # left since
    client.force_login(history.admin)
    rows = list(csv.reader(io.StringIO(client.get(f"/unit/A/ekspor/pegawai.csv?periode={previous_period.code}&semua=1").content.decode("utf-8-sig")), delimiter=";"))
    assert sorted(row[0] for row in rows[1:]) == ["Ratna Atasan", "Rudi Rekan", "Siti Staf"]
    make_employee("baru", unit("A"))  # joined later: not part of that period
    rows = list(csv.reader(io.StringIO(client.get(f"/unit/A/ekspor/pegawai.csv?periode={previous_period.code}&semua=1").content.decode("utf-8-sig")), delimiter=";"))
    assert "Baru" not in [row[0] for row in rows]


# --- In the admin: an action, a preview, a confirmation ------------------------------------------

CHANGELIST = "/admin/assessments/workunit/"


def test_the_admin_merges_two_units_after_a_preview(client, history, period, previous_period):
    client.force_login(history.admin)
    response = client.post(CHANGELIST, {"action": "reorganise_merge", "_selected_action": [unit("A").pk, unit("B").pk]})
    assert response.status_code == 302
    page_url = response["Location"]
    page = client.get(page_url).content.decode()
    assert "Gabungkan" in page and "Direktorat A, Direktorat B" in page
    preview = client.post(page_url, {"code": "AB", "name": "Direktorat AB", "parent": "", "langkah": "pratinjau"}).content.decode()
    assert 'data-testid="preview"' in preview
    assert "Periode yang sudah ditutup tidak berubah" in preview
    assert "3 pegawai pindah unit" in preview  # supervisor, other, sibling
    assert not WorkUnit.objects.filter(code="AB").exists()  # a preview changes nothing
    done = client.post(page_url, {"code": "AB", "name": "Direktorat AB", "parent": "", "langkah": "konfirmasi"})
    assert done.status_code == 302
    assert WorkUnit.objects.get(code="AB").is_active and not unit("A").is_active
    assert_summaries_exact()


def test_the_admin_split_refuses_staff_left_unassigned(client, history):
    client.force_login(history.admin)
    page_url = f"/admin/assessments/workunit/reorganisasi/pecah/?unit={unit('A1').pk}"
    body = {"parts": "A1X;Seksi X\nA1Y;Seksi Y", f"staff_{history.staff.pk}": "A1X", "langkah": "konfirmasi"}
    page = client.post(page_url, body).content.decode()
    assert "Tetapkan setiap pegawai" in page and "Rudi Rekan" in page
    assert not WorkUnit.objects.filter(code="A1X").exists()
    body[f"staff_{history.colleague.pk}"] = "A1Y"
    assert client.post(page_url, body).status_code == 302
    assert Employee.objects.get(pk=history.colleague.pk).unit.code == "A1Y"


def test_the_admin_refuses_moving_a_unit_into_itself_with_a_message(client, history):
    client.force_login(history.admin)
    page_url = f"/admin/assessments/workunit/reorganisasi/pindah/?unit={unit('A').pk}"
    page = client.post(page_url, {"parent": unit("A1").pk, "langkah": "konfirmasi"}).content.decode()
    assert "tidak dapat dipindahkan ke dalam dirinya" in page
    assert unit("A1").path.startswith(unit("A").path)


@pytest.mark.parametrize("who", ["supervisor", "staff"])
def test_only_admins_reorganise(client, history, who):
    client.force_login(getattr(history, who).user)
    response = client.get(f"/admin/assessments/workunit/reorganisasi/gabung/?unit={unit('A').pk},{unit('B').pk}")
    assert response.status_code == 403
    assert not WorkUnit.objects.filter(code="AB").exists()


def test_my_data_names_each_assessment_by_its_unit_then(client, history, previous_period, period):
    reorganise.unit_rename(unit=unit("A1"), name="Subdirektorat Satu", actor=history.admin)
    client.force_login(history.staff.user)
    page = client.get("/data-saya/").content.decode()
    assert f"{previous_period} · Subdirektorat A1" in page and f"{period} · Subdirektorat Satu" in page
    rows = list(csv.reader(io.StringIO(client.get("/data-saya/unduh.csv").content.decode("utf-8-sig")), delimiter=";"))
    assert {(row[2], row[4]) for row in rows[1:]} == {(previous_period.code, "Subdirektorat A1"), (period.code, "Subdirektorat Satu")}


# --- Found by review: places reused by treebeard, scope in a closed period, the tree after a merge --


def test_a_unit_made_later_in_a_reused_place_shows_nothing_of_a_closed_period(client, history, previous_period):
    """B moves under A; a new unit N takes B's old place in the tree. N did not exist in the
    closed period: its pages show nothing of it, not the figures recorded at that place."""
    reorganise.unit_move(unit=unit("B"), parent=unit("A"), actor=history.admin)
    n = WorkUnit.objects.add_child(unit("ROOT"), {"code": "N", "name": "Unit Baru"})
    assert n.path == previous_period.units.get(code="B").path  # the place B had then
    head = make_employee("kepala_n", n, heads=n)
    client.force_login(head.user)
    q = f"periode={previous_period.code}"
    for url in (f"/unit/N/?{q}", f"/unit/N/sub-unit/?{q}", f"/unit/N/sub-unit/?{q}&tampilan=pohon", f"/unit/N/pegawai/?{q}&semua=1"):
        page = client.get(url).content.decode()
        assert "100,0" not in page and "Oki Lain" not in page, url
    # N's head had no scope in that period: its export is not found; an admin's is empty.
    assert client.get(f"/unit/N/ekspor/sub-unit.csv?{q}&tampilan=pohon").status_code == 404
    client.force_login(history.admin)
    rows = list(csv.reader(io.StringIO(client.get(f"/unit/N/ekspor/sub-unit.csv?{q}&tampilan=pohon").content.decode("utf-8-sig")), delimiter=";"))
    assert rows[1:] == []
    assert "belum ada pada" in client.get(f"/unit/N/?{q}").content.decode()


def test_in_a_closed_period_scope_follows_that_periods_organisation(client, history, previous_period, period):
    """A1 moves from A to B. For the closed period, A's head still sees A1 (it was A's then),
    figures and individual results alike; B's head sees neither. The open period follows
    today's tree."""
    reorganise.unit_move(unit=unit("A1"), parent=unit("B"), actor=history.admin)
    past = SelfAssessment.objects.get(period=previous_period, employee=history.staff)
    now = SelfAssessment.objects.get(period=period, employee=history.staff)
    client.force_login(history.supervisor.user)  # heads A
    assert 'data-unit="A1"' in client.get(f"/unit/A/sub-unit/?periode={previous_period.code}").content.decode()
    assert client.get(f"/hasil/{past.pk}/").status_code == 200
    assert client.get(f"/unit/A1/?periode={previous_period.code}").status_code == 200
    assert client.get(f"/hasil/{now.pk}/").status_code == 404
    client.force_login(history.sibling_supervisor.user)  # heads B
    assert client.get(f"/hasil/{past.pk}/").status_code == 404
    assert client.get(f"/unit/A1/?periode={previous_period.code}").status_code == 404
    assert "Siti Staf" not in client.get(f"/unit/B/pegawai/?periode={previous_period.code}&semua=1").content.decode()
    assert client.get(f"/hasil/{now.pk}/").status_code == 200


@pytest.mark.parametrize("change", ["merge", "split"])
def test_the_tree_stays_sound_after_a_reorganisation(history, change):
    REORGANISATIONS[change](history.admin)
    assert WorkUnit.objects.find_problems() == ([], [], [], [], [])
    from assessments.imports import units

    units.units_import(rows=[units.UnitRow(row=2, code="A9", name="Seksi A9", parent_code="A")], actor=history.admin)
    assert unit("A9").path.startswith(unit("A").path)


def test_a_split_part_with_a_name_too_long_is_a_form_error(client, history):
    client.force_login(history.admin)
    page_url = f"/admin/assessments/workunit/reorganisasi/pecah/?unit={unit('A1').pk}"
    body = {"parts": "A1X;" + "x" * 300 + "\nA1Y;Seksi Y", f"staff_{history.staff.pk}": "A1X",
            f"staff_{history.colleague.pk}": "A1Y", "langkah": "konfirmasi"}
    response = client.post(page_url, body)
    assert response.status_code == 200 and "paling banyak 200 karakter" in response.content.decode()
    assert not WorkUnit.objects.filter(code="A1X").exists()


def test_a_submission_racing_the_close_is_refused_with_a_message(history, period):
    from assessments.summaries import FiguresFrozen

    from .conftest import all_answers

    draft = services.assessment_save_draft(
        employee=history.colleague, period=period, answers=all_answers(period, 4, note="x"), version=0, actor=history.colleague.user
    )
    AssessmentPeriod.objects.filter(pk=period.pk).update(status="closed")  # closed meanwhile
    with pytest.raises(services.ServiceError) as refused:
        summaries.summary_apply(assessment=draft, sign=1, pillar_scores={})
    assert isinstance(refused.value, FiguresFrozen) and "sudah ditutup" in refused.value.message

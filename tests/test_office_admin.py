"""Office admins (Admin OPD): the units and staff of their own subtrees, and nothing else.

The office admin here manages A (and so A1): every list of the administration shows, searches,
counts, filters and autocompletes A's rows only, a row of B or ROOT is a 404, a unit or a
person is added and moved within A only, the imports turn rows outside A into row errors and
write nothing outside it, and the Rekap, its workbook and its PDF reports cover A's units with
group figures only (never a person's). Their pages keep a constant number of queries."""

import io
import re

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from openpyxl import load_workbook

from assessments import permissions, summaries
from assessments.imports.staff import office_privileged_message
from assessments.models import Employee, Job, OfficeAdminAssignment, SupervisorAssignment, WorkUnit

from .adminforms import change, errors
from .conftest import create_period, log_in, make_employee, past_assessment, rekap_workbook, submitted_assessment
from .test_admin_access import office_admin
from .test_import import STAFF_CONFIRM, STAFF_URL, UNITS_CONFIRM, UNITS_URL, csv_bytes, nip, upload
from .test_organisation import rows_of
from .test_reports import pdf_text, squeeze
from .test_units_staff_admin import tree_context

UNITS = "/admin/assessments/workunit/"
STAFF = "/admin/assessments/employee/"
HEADS = "/admin/assessments/supervisorassignment/"
UNIT_HEADER = ("Kode", "Nama", "Kode Induk")


@pytest.fixture
def opd(cast):
    """The office admin of A (no employee record)."""
    return office_admin(cast)


@pytest.fixture
def opd_client(client, opd):
    client.force_login(opd)
    return client


def listed(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return sorted(str(obj) for obj in response.context["cl"].result_list)


def names(*objects) -> list[str]:
    return sorted(str(obj) for obj in objects)


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def in_indonesian(message: str) -> str:
    with translation.override("id"):
        return translation.gettext(message)


OUTSIDE = "You may only place units within the units you manage."


# --- The administration: what they see -----------------------------------------------------------


def test_the_admin_index_offers_their_three_lists_only(opd_client):
    page = opd_client.get("/admin/").content.decode()
    for name in ("workunit", "employee", "supervisorassignment"):
        assert f"/admin/assessments/{name}/" in page
    for name in ("theme", "pillar", "indicator", "assessmentperiod", "selfassessment", "accesslog", "organisationsetting",
                 "verifierassignment", "officeadminassignment"):
        assert f"/admin/assessments/{name}/" not in page
    assert "/admin/auth/" not in page and "/admin/axes/" not in page


def test_the_unit_tree_starts_at_their_units(opd_client, cast):
    tree = cast.tree
    page = opd_client.get(UNITS).content.decode()
    assert [row["node-id"] for row in tree_context(page)] == [str(tree.a.pk)]
    assert "Direktorat A" in page and "Kementerian Uji" not in page and "Direktorat B" not in page
    children = opd_client.get(f"{UNITS}children/{tree.a.pk}/").json()
    assert [row["node-id"] for row in children["tree_context"]] == [str(tree.a1.pk)]
    for outside in (tree.root, tree.b):
        assert opd_client.get(f"{UNITS}children/{outside.pk}/").status_code == 404


def test_unit_searches_and_filters_find_their_units_only(opd_client, cast):
    tree = cast.tree
    assert listed(opd_client.get(f"{UNITS}?q=Direktorat")) == names(tree.a, tree.a1)  # never Direktorat B
    assert listed(opd_client.get(f"{UNITS}?q=Kementerian")) == []
    assert listed(opd_client.get(f"{UNITS}?q=B")) == names(tree.a1)  # "SuBdirektorat", never Direktorat B
    assert listed(opd_client.get(f"{UNITS}?is_active__exact=1")) == names(tree.a, tree.a1)
    response = opd_client.get(f"{UNITS}?depth=2")
    assert listed(response) == names(tree.a)
    depth = next(spec for spec in response.context["cl"].filter_specs if getattr(spec, "field_path", "") == "depth")
    assert sorted(depth.lookup_choices) == [2, 3]  # the depths of their units, not ROOT's
    assert response.context["cl"].full_result_count == 2


def test_the_staff_list_its_search_filter_and_count_are_theirs(opd_client, cast):
    response = opd_client.get(STAFF)
    assert listed(response) == names(cast.staff, cast.colleague, cast.supervisor)
    assert response.context["cl"].result_count == 3
    unit_filter = next(spec for spec in response.context["cl"].filter_specs if getattr(spec, "parameter_name", "") == "unit")
    assert unit_filter.lookup_choices == [("A", "Direktorat A"), ("A1", "— Subdirektorat A1")]
    assert listed(opd_client.get(f"{STAFF}?q=Oki")) == []
    assert listed(opd_client.get(f"{STAFF}?q={cast.other.nip}")) == []
    assert listed(opd_client.get(f"{STAFF}?q=Siti")) == names(cast.staff)
    assert listed(opd_client.get(f"{STAFF}?unit=B")) == []
    assert listed(opd_client.get(f"{STAFF}?unit=A1")) == names(cast.staff, cast.colleague)


def test_the_heads_list_is_theirs(opd_client, cast):
    assert listed(opd_client.get(HEADS)) == names(SupervisorAssignment.objects.get(employee=cast.supervisor))
    assert listed(opd_client.get(f"{HEADS}?q=Bima")) == []


def suggestions(client, model: str, field: str, term: str = "") -> list[str]:
    response = client.get("/admin/autocomplete/", {"app_label": "assessments", "model_name": model, "field_name": field, "term": term})
    assert response.status_code == 200, response.status_code
    return sorted(result["text"] for result in response.json()["results"])


def test_autocomplete_suggests_their_units_and_staff_only(opd_client, cast):
    tree = cast.tree
    assert suggestions(opd_client, "employee", "unit") == names(tree.a, tree.a1)
    assert suggestions(opd_client, "employee", "unit", "Kementerian") == []
    assert suggestions(opd_client, "supervisorassignment", "unit") == names(tree.a, tree.a1)
    assert suggestions(opd_client, "supervisorassignment", "employee") == names(cast.staff, cast.colleague, cast.supervisor)
    assert suggestions(opd_client, "supervisorassignment", "employee", "Oki") == []


def test_rows_outside_their_units_are_404_and_stay_as_they_are(opd_client, cast):
    tree = cast.tree
    sibling_head = SupervisorAssignment.objects.get(employee=cast.sibling_supervisor)
    for obj in (tree.b, tree.root, cast.other, sibling_head):
        obj.save()  # a history row to point at
    pages = [
        f"{UNITS}{tree.b.pk}/change/", f"{UNITS}{tree.root.pk}/change/", f"{UNITS}{tree.b.pk}/history/",
        f"{STAFF}{cast.other.pk}/change/", f"{STAFF}{cast.other.pk}/history/",
        f"{STAFF}{cast.other.pk}/history/{cast.other.history.first().history_id}/",
        f"{HEADS}{sibling_head.pk}/change/", f"{HEADS}{sibling_head.pk}/delete/",
    ]
    for url in pages:
        assert opd_client.get(url).status_code == 404, url
        assert opd_client.post(url, {"name": "Diubah", "full_name": "Diubah", "post": "yes", "unit": tree.a.pk}).status_code == 404, url
    assert fresh(tree.b).name == "Direktorat B" and fresh(cast.other).full_name == "Oki Lain"
    assert SupervisorAssignment.objects.filter(pk=sibling_head.pk).exists()
    for url in (f"{UNITS}{tree.a1.pk}/change/", f"{STAFF}{cast.staff.pk}/change/", f"{STAFF}{cast.staff.pk}/history/"):
        assert opd_client.get(url).status_code == 200, url


# --- Units ----------------------------------------------------------------------------------------


def test_a_new_unit_goes_below_their_units_only(opd_client, cast, opd):
    tree = cast.tree
    form = opd_client.get(f"{UNITS}add/").context["adminform"].form
    assert [str(unit) for unit in form.fields["parent"].queryset] == [str(tree.a), str(tree.a1)]
    assert "treebeard_ref_node" not in form.fields  # the whole tree's positions are not offered
    response = opd_client.post(f"{UNITS}add/", {"code": "A2", "name": "Subdirektorat A2", "parent": tree.a.pk})
    assert response.status_code == 302, errors(response)
    added = WorkUnit.objects.get(code="A2")
    assert WorkUnit.objects.get_parent(added) == tree.a and added.depth == 3
    assert added.history.filter(history_user=opd).exists()
    for parent in (tree.b.pk, tree.root.pk, ""):
        response = opd_client.post(f"{UNITS}add/", {"code": "X", "name": "Di luar", "parent": parent})
        assert response.status_code == 200 and errors(response), parent
    assert not WorkUnit.objects.filter(code="X").exists()


def test_renaming_their_top_unit_leaves_it_where_it_is(opd_client, cast):
    a = cast.tree.a
    response = change(opd_client, f"{UNITS}{a.pk}/change/", name="Direktorat A Baru")
    assert response.status_code == 302, errors(response)
    renamed = fresh(a)
    assert (renamed.name, renamed.path) == ("Direktorat A Baru", a.path)


def test_they_retire_and_activate_their_units_only(opd_client, cast):
    tree = cast.tree
    opd_client.post(UNITS, {"action": "retire", "_selected_action": [tree.a1.pk, tree.b.pk]})
    assert not fresh(tree.a1).is_active and fresh(tree.b).is_active
    opd_client.post(UNITS, {"action": "activate", "_selected_action": [tree.a1.pk]})
    assert fresh(tree.a1).is_active


@pytest.fixture
def a2(cast):
    return WorkUnit.objects.add_child(fresh(cast.tree.a), {"code": "A2", "name": "Subdirektorat A2"})


def test_reorganising_stays_within_their_units(opd_client, cast, a2):
    tree = cast.tree
    move, merge, split = (f"{UNITS}reorganisasi/{name}/" for name in ("pindah", "gabung", "pecah"))
    form = opd_client.get(f"{move}?unit={tree.a1.pk}").context["form"]
    assert [unit.code for unit in form.fields["parent"].queryset] == ["A", "A1", "A2"]
    # Another unit in the address is a 404, whatever is posted.
    assert opd_client.get(f"{move}?unit={tree.b.pk}").status_code == 404
    assert opd_client.post(f"{move}?unit={tree.b.pk}", {"parent": tree.a.pk, "langkah": "konfirmasi"}).status_code == 404
    assert opd_client.get(f"{merge}?unit={tree.a1.pk},{tree.b.pk}").status_code == 404
    # To the top, or under B: refused, nothing moves.
    response = opd_client.post(f"{move}?unit={tree.a1.pk}", {"parent": "", "langkah": "konfirmasi"})
    assert response.status_code == 200 and response.context["form"].non_field_errors() == [in_indonesian(OUTSIDE)]
    response = opd_client.post(f"{move}?unit={tree.a1.pk}", {"parent": tree.b.pk, "langkah": "konfirmasi"})
    assert response.status_code == 200 and "parent" in response.context["form"].errors
    assert WorkUnit.objects.get_parent(fresh(tree.a1)) == tree.a
    # Splitting their top unit would put its parts beside it, outside: refused.
    response = opd_client.post(f"{split}?unit={tree.a.pk}", {"parts": "A-X;Satu\nA-Y;Dua", f"staff_{cast.supervisor.pk}": "A-X"})
    assert response.context["form"].non_field_errors() == [in_indonesian(OUTSIDE)] and fresh(tree.a).is_active
    # Merging two of theirs under their common parent A: previewed; moving A1 under A2: done.
    response = opd_client.post(f"{merge}?unit={tree.a1.pk},{a2.pk}", {"code": "A12", "name": "Gabungan", "parent": ""})
    assert response.status_code == 200 and response.context["plan"] is not None, response.context["form"].errors
    response = opd_client.post(f"{move}?unit={tree.a1.pk}", {"parent": a2.pk, "langkah": "konfirmasi"})
    assert response.status_code == 302
    assert WorkUnit.objects.get_parent(fresh(tree.a1)) == a2


def test_the_trees_drag_and_drop_stays_within_their_units(opd_client, cast, a2):
    tree = cast.tree
    url = f"{UNITS}move/"
    assert opd_client.post(url, {"node": tree.a1.pk, "target": tree.b.pk, "relation": "child"}).status_code == 404
    assert opd_client.post(url, {"node": tree.b.pk, "target": tree.a.pk, "relation": "child"}).status_code == 404
    assert opd_client.post(url, {"node": tree.a1.pk, "target": tree.a.pk, "relation": "sibling"}).status_code == 400  # beside A
    assert WorkUnit.objects.get_parent(fresh(tree.a1)) == tree.a and WorkUnit.objects.get_parent(fresh(tree.b)) == tree.root
    assert opd_client.post(url, {"node": tree.a1.pk, "target": a2.pk, "relation": "child"}).status_code == 200
    assert WorkUnit.objects.get_parent(fresh(tree.a1)) == a2


# --- Staff and heads of unit ------------------------------------------------------------------------


def test_staff_are_added_and_moved_within_their_units(opd_client, cast):
    tree = cast.tree
    new = {"nip": nip(40), "full_name": "Nina Baru", "position": "Analis", "email": "nina@example.go.id"}
    response = change(opd_client, f"{STAFF}add/", **new, unit=str(tree.b.pk))
    assert errors(response) and not Employee.objects.filter(nip=nip(40)).exists()
    response = change(opd_client, f"{STAFF}add/", **new, unit=str(tree.a1.pk))
    assert response.status_code == 302, errors(response)
    assert Employee.objects.get(nip=nip(40)).unit == tree.a1
    response = change(opd_client, f"{STAFF}{cast.staff.pk}/change/", unit=str(tree.b.pk))
    assert errors(response) and fresh(cast.staff).unit == tree.a1
    response = change(opd_client, f"{STAFF}{cast.staff.pk}/change/", unit=str(tree.a.pk))
    assert response.status_code == 302 and fresh(cast.staff).unit == tree.a


def test_accounts_with_more_rights_keep_their_email_and_stay_active(opd_client, cast):
    head = cast.supervisor  # heads A: an account that sees its staff's answers
    response = change(opd_client, f"{STAFF}{head.pk}/change/", email="ambil@example.go.id")
    assert [str(message) for error in errors(response) for message in error] == [in_indonesian(office_privileged_message())]
    response = change(opd_client, f"{STAFF}{head.pk}/change/", is_active=None)
    assert errors(response)
    opd_client.post(STAFF, {"action": "deactivate", "_selected_action": [head.pk, cast.colleague.pk]})
    assert fresh(head).is_active and fresh(head).user.email == "supervisor@example.go.id"
    assert fresh(cast.colleague).is_active  # the selection is refused as a whole
    response = change(opd_client, f"{STAFF}{cast.staff.pk}/change/", email="siti@example.go.id")
    assert response.status_code == 302 and fresh(cast.staff).user.email == "siti@example.go.id"
    opd_client.post(STAFF, {"action": "deactivate", "_selected_action": [cast.colleague.pk]})
    assert not fresh(cast.colleague).is_active and not fresh(cast.colleague).user.is_active
    # Switched off by the central office, a head stays off: neither the action nor an import
    # (which takes back whoever is in the file) switches them on.
    Employee.objects.filter(pk=head.pk).update(is_active=False)
    opd_client.post(STAFF, {"action": "reactivate", "_selected_action": [head.pk]})
    assert not fresh(head).is_active
    response = upload(opd_client, STAFF_URL, "pegawai.csv", csv_bytes([(head.nip, head.full_name, "Analis", "A", "")]))
    assert row_errors(response) == {2: ("NIP", in_indonesian(office_privileged_message()))}


def test_heads_are_assigned_within_their_units_and_never_themselves(client, cast):
    tree = cast.tree
    hr = make_employee("hr", tree.a1, name="Hana Kepegawaian")
    hr.user.groups.add(Group.objects.get(name=permissions.OFFICE_ADMIN_GROUP))
    OfficeAdminAssignment.objects.create(user=hr.user, unit=tree.a)
    client.force_login(hr.user)

    def assign(employee, unit):
        return client.post(f"{HEADS}add/", {"employee": employee.pk, "unit": unit.pk})

    response = assign(hr, tree.a1)
    assert in_indonesian("You cannot make yourself head of a unit: ask the central HR office (Admin Kepegawaian).") in response.content.decode()
    assert assign(cast.other, tree.a1).status_code == 200 and assign(cast.colleague, tree.b).status_code == 200
    assert assign(cast.colleague, tree.a1).status_code == 302
    assert set(SupervisorAssignment.objects.filter(unit__in=[tree.a1, tree.b]).values_list("employee__user__username", "unit__code")) == {
        ("colleague", "A1"), ("sibling", "B"),
    }
    made = SupervisorAssignment.objects.get(employee=cast.colleague)
    assert client.post(f"{HEADS}{made.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not SupervisorAssignment.objects.filter(pk=made.pk).exists()
    inline = client.get(f"{STAFF}{hr.pk}/change/").context["inline_admin_formsets"][0]
    assert not (inline.has_add_permission or inline.has_change_permission or inline.has_delete_permission)


# --- Imports --------------------------------------------------------------------------------------


def row_errors(response) -> dict[int, tuple[str, str]]:
    return {error.row: (error.column, error.message) for error in response.context["result"].errors}


def test_staff_rows_outside_their_units_are_row_errors_and_nothing_is_written(opd_client, cast, settings):
    rows = [
        (nip(1), "Ani Baru", "Analis", "A1", "ani@example.go.id"),  # row 2: theirs
        (nip(2), "Bayu Baru", "", "B", ""),  # 3: a unit outside
        (nip(3), "Citra Baru", "", "TIDAK-ADA", ""),  # 4: no such unit: the same answer
        (cast.other.nip, "Oki Lain", "Analis", "A1", ""),  # 5: a person of B
        (cast.colleague.nip, "Rudi Rekan Baru", "Analis", "A1", ""),  # 6: theirs
        (cast.supervisor.nip, "Ratna Atasan", "Analis", "A", "ambil@example.go.id"),  # 7: a head's e-mail
    ]
    before = list(Employee.objects.order_by("pk").values_list())
    response = upload(opd_client, STAFF_URL, "pegawai.csv", csv_bytes(rows))
    found = row_errors(response)
    assert sorted(found) == [3, 4, 5, 7]
    with translation.override("id"):
        unknown = translation.gettext("There is no work unit with the code “%(code)s” among the units you manage.")
    assert found[3] == ("Kode Unit", unknown % {"code": "B"}) and found[4] == ("Kode Unit", unknown % {"code": "TIDAK-ADA"})
    assert found[5][0] == "NIP" and found[7] == ("Email", in_indonesian(office_privileged_message()))
    assert response.context["token"] == ""  # nothing to confirm
    assert opd_client.post(STAFF_CONFIRM, {"token": ""}).status_code == 302
    assert list(Employee.objects.order_by("pk").values_list()) == before

    response = upload(opd_client, STAFF_URL, "pegawai.csv", csv_bytes([rows[0], rows[4]]))
    assert response.context["result"].ok
    assert opd_client.post(STAFF_CONFIRM, {"token": response.context["token"]}).status_code == 302
    assert Employee.objects.get(nip=nip(1)).unit == cast.tree.a1 and fresh(cast.colleague).full_name == "Rudi Rekan Baru"
    assert fresh(cast.other).unit == cast.tree.b and not Employee.objects.filter(nip__in=[nip(2), nip(3)]).exists()


def test_unit_rows_may_change_and_place_units_within_their_units_only(opd_client, cast):
    rows = [
        ("A1-X", "Seksi Baru", "A1"),  # row 2: below A1, which row 5 moves out
        ("B-X", "Seksi di B", "B"),  # 3: below B
        ("B", "Direktorat B Baru", "ROOT"),  # 4: B is not theirs
        ("A1", "Subdirektorat A1", "B"),  # 5: theirs, moved out
        ("Y", "Bagian Y", "A"),  # 6: below theirs
        ("Y-1", "Seksi Y1", "Y"),  # 7: below a new unit of theirs
        ("Z", "Unit Puncak", ""),  # 8: a new top unit
        ("A", "Direktorat A", "ROOT"),  # 9: their top unit, where it is
    ]
    before = list(WorkUnit.objects.order_by("pk").values_list())
    response = upload(opd_client, UNITS_URL, "unit.csv", csv_bytes(rows, header=UNIT_HEADER))
    found = row_errors(response)
    assert sorted(found) == [2, 3, 4, 5, 8]
    assert found[4][0] == "Kode" and {found[n][0] for n in (2, 3, 5, 8)} == {"Kode Induk"}
    assert list(WorkUnit.objects.order_by("pk").values_list()) == before

    clean = [rows[0], rows[4], rows[5], rows[7]]
    response = upload(opd_client, UNITS_URL, "unit.csv", csv_bytes(clean, header=UNIT_HEADER))
    assert response.context["result"].ok, row_errors(response)
    assert opd_client.post(UNITS_CONFIRM, {"token": response.context["token"]}).status_code == 302
    parents = {unit.code: WorkUnit.objects.get_parent(unit).code for unit in WorkUnit.objects.filter(code__in=["A1-X", "Y", "Y-1"])}
    assert parents == {"A1-X": "A1", "Y": "A", "Y-1": "Y"}
    assert fresh(cast.tree.b).name == "Direktorat B"


def test_an_import_job_checks_the_starters_units_again(opd_client, cast, settings):
    settings.JOB_IMPORT_ROWS = 0  # every confirmed import runs in the background
    response = upload(opd_client, STAFF_URL, "pegawai.csv", csv_bytes([(cast.colleague.nip, "Rudi Rekan Baru", "Analis", "A1", "")]))
    assert response.context["result"].ok
    with TestCase.captureOnCommitCallbacks() as queued:
        assert opd_client.post(STAFF_CONFIRM, {"token": response.context["token"]}).status_code == 302
    Employee.objects.filter(pk=cast.colleague.pk).update(unit=cast.tree.b)  # the central office moves them meanwhile
    queued[0]()
    job = Job.objects.get()
    assert job.state == Job.State.FAILED and fresh(cast.colleague).full_name == "Rudi Rekan"


# --- The Rekap, its workbook and its reports ----------------------------------------------------------


@pytest.fixture
def closed(cast):
    """A closed period: 5 assessments in A1, 2 of A's own staff, 5 in B (reviewed, so the admin
    sees every figure)."""
    tree = cast.tree
    people = [cast.staff, cast.colleague, *(make_employee(f"a1{n}", tree.a1) for n in range(3)),
              cast.supervisor, make_employee("a0", tree.a),
              cast.other, cast.sibling_supervisor, *(make_employee(f"b{n}", tree.b) for n in range(3))]
    closed = create_period(2025, 2, status="closed")
    for number, person in enumerate(people):
        past_assessment(person, closed, 2 + number % 4)
    return closed


def index_of(page: str, code: str) -> str:
    body = re.search(rf'<tr data-unit="{re.escape(code)}">(.*?)</tr>', page, re.S).group(1)
    return re.sub(r"<[^>]+>", "", re.search(r'<td class="[^"]*" data-col="index">(.*?)</td>', body, re.S).group(1)).strip()


def test_the_rekap_shows_their_units_with_group_figures_only(opd_client, cast, closed):
    page = opd_client.get(f"/rekap/?periode={closed.code}").content.decode()
    assert list(rows_of(page)) == ["A", "A1"]
    assert 'data-testid="office-scope"' in page and "/unit/" not in page  # no whole-organisation line, no dashboards
    admin = Client()
    admin.force_login(cast.admin)
    admin_page = admin.get(f"/rekap/?periode={closed.code}").content.decode()
    assert re.match(r"\d+,\d", index_of(admin_page, "A1"))  # the admin sees A1's mean of 5
    # A's own 2 staff are hidden from an office admin, so A1 (A minus them) is hidden too.
    assert index_of(page, "A") == index_of(admin_page, "A") and not re.search(r"\d", index_of(page, "A1"))
    response = opd_client.get(f"/rekap/?periode={closed.code}&tingkat=1")
    assert list(response.context["levels"]) == [2, 3] and list(rows_of(response.content.decode())) == ["A"]


def test_an_open_periods_rekap_shows_them_participation_only(opd_client, cast, period):
    for person in (cast.staff, cast.colleague, cast.supervisor):
        submitted_assessment(person, period, 4)
    page = opd_client.get("/rekap/").content.decode()
    assert list(rows_of(page)) == ["A", "A1"]
    assert [cells[1][1] for cells in rows_of(page).values()] == ["3", "2"]  # counted: public
    assert not re.search(r"\d", index_of(page, "A")) and not re.search(r"\d", index_of(page, "A1"))


def test_the_rekap_workbook_holds_their_units_only(opd_client, cast, closed):
    def workbook(who) -> list[tuple]:
        response = rekap_workbook(who, f"periode={closed.code}")
        return list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(values_only=True))

    header, *mine = workbook(opd_client)
    assert [row[0] for row in mine] == ["A", "A1"]
    index = header.index("Indeks integritas")
    admin = Client()
    admin.force_login(cast.admin)
    everyone = {row[0]: row for row in workbook(admin)[1:]}
    assert mine[0][index] == everyone["A"][index] and mine[1][index] is None and everyone["A1"][index] is not None


def test_the_reports_job_covers_their_units(opd_client, cast, closed, pdf_tools):
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = opd_client.post("/rekap/laporan.pdf", {"periode": closed.code})
    job = Job.objects.get()
    assert response["Location"] == f"/tugas/{job.pk}/"
    assert (job.state, job.total) == (Job.State.DONE, 2), job.error
    text = squeeze(pdf_text(b"".join(opd_client.get(f"/tugas/{job.pk}/unduh/").streaming_content)))
    for name in ("Direktorat A", "Subdirektorat A1"):
        assert f"Laporan Hasil Penilaian Mandiri Integritas {name}" in text
    assert "Direktorat B" not in text and "Integritas Kementerian Uji" not in text


def test_an_office_admin_opens_no_persons_figures(opd_client, cast, period, opd):
    assessment = submitted_assessment(cast.staff, period, 4)
    for url in (f"/hasil/{assessment.pk}/", "/unit/A/", "/unit/A1/pegawai/", "/unit/A/ekspor/pegawai.csv", "/unit/A/laporan.pdf"):
        assert opd_client.get(url).status_code == 404, url
    assert opd_client.get("/admin/assessments/selfassessment/").status_code == 403
    assert not permissions.can_view_assessment(opd, assessment)
    assert permissions.get_unit_for_figures(opd, "A1", period) == cast.tree.a1


def test_they_land_on_the_rekap_with_the_administration_in_the_menu(opd_client):
    response = opd_client.get("/")
    assert response.status_code == 302 and response["Location"] == "/rekap/"
    page = opd_client.get("/rekap/").content.decode()
    for link in ('href="/admin/"', 'href="/rekap/"', 'href="/tugas/"'):
        assert link in page


# --- Query counts -----------------------------------------------------------------------------------


def test_their_lists_and_rekap_use_a_constant_number_of_queries(opd_client, cast, period):
    tree = cast.tree
    pages = [UNITS, f"{UNITS}?q=S", f"{UNITS}children/{tree.a1.pk}/", STAFF, f"{STAFF}?unit=A1", HEADS, "/rekap/",
             "/admin/autocomplete/?app_label=assessments&model_name=employee&field_name=unit&term="]

    def counts() -> dict[str, int]:
        found = {}
        for url in pages:
            with CaptureQueriesContext(connection) as captured:
                assert opd_client.get(url).status_code == 200, url
            found[url] = len(captured)
        return found

    def units_below_a1(numbers):
        for n in numbers:
            unit = WorkUnit.objects.add_child(fresh(tree.a1), {"code": f"S{n}", "name": f"Seksi {n}"})
            make_employee(f"s{n}", unit, heads=unit)
        summaries.period_expected_refresh(period=period)

    units_below_a1(range(2))
    opd_client.get("/rekap/")  # the first page of a session also stores the header's roles in it
    few = counts()
    units_below_a1(range(2, 22))
    assert counts() == few
    assert max(few.values()) <= 25


# --- The demo -----------------------------------------------------------------------------------------


def test_the_demo_office_admin_manages_dukcapil(client, db, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    assert log_in(client, "adminopd", "asn-demo-2026")
    page = client.get(UNITS).content.decode()
    assert [row["node-id"] for row in tree_context(page)] == [str(WorkUnit.objects.get(code="DUKCAPIL").pk)]
    codes = list(rows_of(client.get("/rekap/").content.decode()))
    assert codes[0] == "DUKCAPIL" and len(codes) > 3 and all(code.startswith("DUKCAPIL") for code in codes)
    assert listed(client.get(STAFF)) and all(e.unit.code.startswith("DUKCAPIL") for e in client.get(STAFF).context["cl"].result_list)

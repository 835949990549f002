"""Units and staff in the admin: the unit tree, search, adding, renaming, moving (with its
subtree; past assessments stay with the unit they were submitted in), deactivating; staff
search and filters, adding a person (and their login), deactivating people, and supervisor
assignments edited inline."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from assessments import rollups
from assessments.models import Employee, SelfAssessment, SupervisorAssignment, UnitPeriodSummary, WorkUnit

from .adminforms import change, errors, form_data
from .conftest import log_in, make_employee, past_assessment, submitted_assessment

UNITS = "/admin/assessments/workunit/"
STAFF = "/admin/assessments/employee/"


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast.admin)
    return client


def unit(code: str) -> WorkUnit:
    return WorkUnit.objects.get(code=code)


def listed(response) -> list[str]:
    """What the changelist shows: the str() of each row, in order."""
    assert response.status_code == 200
    return [str(obj) for obj in response.context["cl"].result_list]


def tree_context(page: str) -> list[dict]:
    start = page.index('<script id="tree-context" type="application/json">') + len('<script id="tree-context" type="application/json">')
    return json.loads(page[start : page.index("</script>", start)])


# --- Units --------------------------------------------------------------------------------------


def test_the_unit_changelist_is_the_tree_level_by_level(admin_client, cast):
    tree = cast.tree
    page = admin_client.get(UNITS).content.decode()
    assert "Kementerian Uji" in page and "Direktorat A" not in page  # the roots, folded
    assert tree_context(page) == [{"node-id": str(tree.root.pk), "parent-id": "0", "level": 1, "has-children": 1, "can-change": 1}]
    children = admin_client.get(f"{UNITS}children/{tree.root.pk}/").json()
    assert [(c["node-id"], c["level"], c["has-children"]) for c in children["tree_context"]] == [
        (str(tree.a.pk), 2, 1),
        (str(tree.b.pk), 2, 0),
    ]
    assert "Direktorat A" in children["result_html"] and "Direktorat B" in children["result_html"]
    grandchildren = admin_client.get(f"{UNITS}children/{tree.a.pk}/").json()
    assert [(c["node-id"], c["level"]) for c in grandchildren["tree_context"]] == [(str(tree.a1.pk), 3)]
    assert "Subdirektorat A1" in grandchildren["result_html"]


def test_searching_units_by_code_and_by_name_lists_every_match_wherever_it_sits(admin_client, cast):
    assert listed(admin_client.get(f"{UNITS}?q=A1")) == ["Subdirektorat A1 (A1)"]
    assert listed(admin_client.get(f"{UNITS}?q=direktorat")) == ["Direktorat A (A)", "Subdirektorat A1 (A1)", "Direktorat B (B)"]
    assert listed(admin_client.get(f"{UNITS}?q=tidak-ada")) == []


def test_adding_a_unit_under_a_parent(admin_client, cast):
    response = change(admin_client, f"{UNITS}add/", code="A2", name="Subdirektorat A2",
                      treebeard_position="first-child", treebeard_ref_node=str(cast.tree.a.pk))
    assert response.status_code == 302, errors(response)
    added = unit("A2")
    assert (added.name, added.depth, added.is_active) == ("Subdirektorat A2", 3, True)
    assert WorkUnit.objects.get_parent(added) == unit("A")
    assert sorted(u.code for u in unit("A").subtree()) == ["A", "A1", "A2"]
    assert added.history.count() >= 1 and {h.history_user for h in added.history.all()} == {cast.admin}


def test_a_unit_code_must_be_unique_and_well_formed(admin_client, cast):
    count = WorkUnit.objects.count()
    for code in ("A1", "bad code", "/A"):
        response = change(admin_client, f"{UNITS}add/", code=code, name="Baru", treebeard_position="first-child",
                          treebeard_ref_node=str(cast.tree.a.pk))
        assert response.status_code == 200 and errors(response), code
    assert WorkUnit.objects.count() == count
    assert unit("A").numchild == 1


def test_renaming_a_unit(admin_client, cast, period):
    response = change(admin_client, f"{UNITS}{cast.tree.a1.pk}/change/", name="Subdirektorat Pengawasan")
    assert response.status_code == 302, errors(response)
    renamed = unit("A1")
    assert renamed.name == "Subdirektorat Pengawasan" and renamed.path == cast.tree.a1.path
    assert "Subdirektorat Pengawasan" in admin_client.get("/unit/A1/").content.decode()


@pytest.fixture
def history_in_a1(cast, period, previous_period):
    """A1 (with a child unit A1X) holds submitted assessments of the open period and an
    approved one of the closed period; A's supervisor has their own."""
    a1x = WorkUnit.objects.add_child(unit("A1"), {"code": "A1X", "name": "Seksi A1X"})
    submitted_assessment(make_employee("seksi", a1x), period, 5)
    past_assessment(cast.staff, previous_period, 3)
    submitted_assessment(cast.staff, period, 4)
    submitted_assessment(cast.colleague, period, 2)
    submitted_assessment(cast.supervisor, period, 3)
    return period


def figures(code: str, period) -> tuple:
    rollup = rollups.unit_rollup(unit=unit(code), period=period)
    return rollup.counted, rollup.expected, rollup.index_sum


def test_moving_a_unit_moves_its_subtree_and_keeps_past_assessments_where_they_were(admin_client, cast, history_in_a1, previous_period):
    period = history_in_a1
    a1_before = figures("A1", period), figures("A1", previous_period)
    assert a1_before[0][0] == 3 and figures("A", period)[0] == 4 and figures("B", period)[0] == 0
    attributed = dict(SelfAssessment.objects.values_list("pk", "unit_id"))

    response = change(admin_client, f"{UNITS}{cast.tree.a1.pk}/change/", treebeard_position="first-child",
                      treebeard_ref_node=str(cast.tree.b.pk))
    assert response.status_code == 302, errors(response)

    assert WorkUnit.objects.get_parent(unit("A1")) == unit("B") and WorkUnit.objects.get_parent(unit("A1X")) == unit("A1")
    assert (unit("A1").depth, unit("A1X").depth) == (3, 4)
    assert sorted(u.code for u in unit("B").subtree()) == ["A1", "A1X", "B"]
    assert sorted(u.code for u in unit("A").subtree()) == ["A"]
    # Assessments keep the unit they were submitted in; A1's figures move with it.
    assert dict(SelfAssessment.objects.values_list("pk", "unit_id")) == attributed
    assert (figures("A1", period), figures("A1", previous_period)) == a1_before
    assert figures("A", period) == (1, 1, 50.0)  # the supervisor only
    assert figures("B", period)[0] == 3  # A1 and A1X; B's own staff have not submitted
    assert figures("ROOT", period)[0] == 4
    # The supervisor of A no longer sees A1; B's supervisor does.
    admin_client.force_login(cast.supervisor.user)
    assert admin_client.get("/unit/A1/").status_code == 404
    admin_client.force_login(cast.sibling_supervisor.user)
    assert admin_client.get("/unit/A1/").status_code == 200


def test_a_unit_cannot_be_moved_below_itself(admin_client, cast, history_in_a1):
    paths = dict(WorkUnit.objects.values_list("code", "path"))
    response = change(admin_client, f"{UNITS}{cast.tree.a.pk}/change/", treebeard_position="first-child",
                      treebeard_ref_node=str(cast.tree.a1.pk))
    assert response.status_code == 200 and errors(response)
    assert dict(WorkUnit.objects.values_list("code", "path")) == paths


def test_deactivating_units_keeps_them_and_their_history(admin_client, cast, history_in_a1):
    period = history_in_a1
    before = figures("A1", period)
    response = admin_client.post(UNITS, {"action": "retire", "_selected_action": [cast.tree.a1.pk, cast.tree.b.pk]}, follow=True)
    assert "2 dinonaktifkan; riwayatnya tetap tersimpan." in response.content.decode()
    assert list(WorkUnit.objects.filter(is_active=False).order_by("code").values_list("code", flat=True)) == ["A1", "B"]
    assert figures("A1", period) == before
    assert SelfAssessment.objects.filter(unit__code="A1").count() == 3
    assert listed(admin_client.get(f"{UNITS}?is_active__exact=0")) == ["Subdirektorat A1 (A1)", "Direktorat B (B)"]
    admin_client.post(UNITS, {"action": "activate", "_selected_action": [cast.tree.b.pk]})
    assert list(WorkUnit.objects.filter(is_active=False).values_list("code", flat=True)) == ["A1"]


# --- Staff --------------------------------------------------------------------------------------


def test_staff_search_by_nip_and_by_name(admin_client, cast):
    assert listed(admin_client.get(f"{STAFF}?q={cast.staff.nip}")) == [str(cast.staff)]
    assert listed(admin_client.get(f"{STAFF}?q=siti")) == [str(cast.staff)]
    assert set(listed(admin_client.get(f"{STAFF}?q=rekan"))) == {str(cast.colleague)}
    assert set(listed(admin_client.get(f"{STAFF}?q=ra"))) == {str(cast.supervisor), str(cast.sibling_supervisor)}  # Ratna, Saudara
    page = admin_client.get(f"{STAFF}?q={cast.staff.nip}").content.decode()
    assert "Siti Staf" in page and "Rudi Rekan" not in page


def test_staff_filter_by_unit_covers_its_subtree(admin_client, cast):
    page = admin_client.get(STAFF).content.decode()
    assert "?unit=A" in page and "?unit=ROOT" in page  # the top two levels are offered
    in_a = {str(e) for e in (cast.staff, cast.colleague, cast.supervisor)}
    assert set(listed(admin_client.get(f"{STAFF}?unit=A"))) == in_a
    assert set(listed(admin_client.get(f"{STAFF}?unit=B"))) == {str(cast.other), str(cast.sibling_supervisor)}
    assert len(listed(admin_client.get(f"{STAFF}?unit=ROOT"))) == 5
    assert listed(admin_client.get(f"{STAFF}?unit=TIDAK-ADA")) == []


def test_staff_filter_by_active_flag(admin_client, cast):
    Employee.objects.filter(pk=cast.other.pk).update(is_active=False)
    assert listed(admin_client.get(f"{STAFF}?is_active__exact=0")) == [str(cast.other)]
    assert str(cast.other) not in listed(admin_client.get(f"{STAFF}?is_active__exact=1"))
    assert set(listed(admin_client.get(f"{STAFF}?is_active__exact=1&unit=A"))) == {str(cast.staff), str(cast.colleague), str(cast.supervisor)}


NEW_NIP = "199001152015031002"


def test_adding_a_person_creates_their_login_with_the_nip_and_email(admin_client, cast, period):
    expected_before = UnitPeriodSummary.objects.get(unit=cast.tree.a1, period=period).expected
    response = change(admin_client, f"{STAFF}add/", nip=NEW_NIP, full_name="Dewi Baru", position="Pranata Komputer",
                      unit=str(cast.tree.a1.pk), email="dewi.baru@example.go.id")
    assert response.status_code == 302, errors(response)
    person = Employee.objects.get(nip=NEW_NIP)
    user = person.user
    assert (user.username, user.email, user.first_name, user.is_active) == (NEW_NIP, "dewi.baru@example.go.id", "Dewi Baru", True)
    assert not user.has_usable_password()  # they set one through "forgot password"
    assert (person.full_name, person.unit, person.is_active) == ("Dewi Baru", cast.tree.a1, True)
    assert UnitPeriodSummary.objects.get(unit=cast.tree.a1, period=period).expected == expected_before + 1
    assert person.history.get().history_user == cast.admin


def test_a_person_with_a_bad_or_taken_nip_is_not_added(admin_client, cast):
    users = get_user_model().objects.count()
    for nip in ("12345", "199013452015031002", cast.staff.nip):
        response = change(admin_client, f"{STAFF}add/", nip=nip, full_name="Salah", unit=str(cast.tree.a1.pk))
        assert response.status_code == 200 and errors(response), nip
    assert get_user_model().objects.count() == users
    assert not Employee.objects.filter(full_name="Salah").exists()


def test_a_person_whose_nip_is_already_a_login_is_refused_with_a_form_error(admin_client, cast):
    """A person deleted earlier keeps their login; adding them again gave a 500."""
    get_user_model().objects.create_user(NEW_NIP, "lama@example.go.id")
    users = get_user_model().objects.count()
    response = change(admin_client, f"{STAFF}add/", nip=NEW_NIP, full_name="Dewi Lama", unit=str(cast.tree.a1.pk))
    assert response.status_code == 200
    assert "Sudah ada akun dengan NIP ini sebagai nama pengguna." in response.content.decode()
    assert get_user_model().objects.count() == users and not Employee.objects.filter(nip=NEW_NIP).exists()
    # Editing an existing person keeps their own login: no such error.
    response = change(admin_client, f"{STAFF}{cast.colleague.pk}/change/", position="Analis Kebijakan")
    assert response.status_code == 302, errors(response)


def test_changing_a_persons_email_updates_their_login(admin_client, cast):
    response = change(admin_client, f"{STAFF}{cast.colleague.pk}/change/", email="rudi@contoh.go.id")
    assert response.status_code == 302, errors(response)
    assert get_user_model().objects.get(pk=cast.colleague.user_id).email == "rudi@contoh.go.id"


def test_deactivating_people_keeps_their_history_and_takes_them_out_of_expected_counts(admin_client, client, cast, period, previous_period):
    past = past_assessment(cast.colleague, previous_period, 3)
    submitted = submitted_assessment(cast.staff, period, 4)
    summary = UnitPeriodSummary.objects.get(unit=cast.tree.a1, period=period)
    assert (summary.counted, summary.expected) == (1, 2)
    history = cast.colleague.history.count()

    response = admin_client.post(STAFF, {"action": "deactivate", "_selected_action": [cast.colleague.pk, cast.staff.pk]}, follow=True)
    assert "2 dinonaktifkan; riwayatnya tetap tersimpan." in response.content.decode()

    colleague = Employee.objects.get(pk=cast.colleague.pk)
    assert not colleague.is_active and not colleague.user.is_active
    assert SelfAssessment.objects.filter(pk__in=[past.pk, submitted.pk]).count() == 2
    assert colleague.history.count() == history + 1
    summary.refresh_from_db()
    # The colleague had not started: no longer expected. The staff member's submitted
    # assessment still counts, so they stay expected where it is attributed (n <= expected).
    assert (summary.counted, summary.expected) == (1, 1)
    assert log_in(Client(), "colleague") is False  # a deactivated login is refused
    assert set(listed(admin_client.get(f"{STAFF}?is_active__exact=0"))) == {str(cast.colleague), str(cast.staff)}

    admin_client.post(STAFF, {"action": "reactivate", "_selected_action": [cast.colleague.pk]})
    summary.refresh_from_db()
    assert summary.expected == 2 and Employee.objects.get(pk=cast.colleague.pk).user.is_active


def test_supervisor_assignments_are_edited_inline(admin_client, client, cast, period):
    url = f"{STAFF}{cast.supervisor.pk}/change/"
    data = form_data(admin_client.get(url))
    assert (data["headed-TOTAL_FORMS"], data["headed-0-unit"]) == ("1", str(cast.tree.a.pk))
    # Replace "heads A" by "heads A1" and add "heads B".
    data |= {
        "headed-0-DELETE": "on",
        "headed-TOTAL_FORMS": "3",
        "headed-1-unit": str(cast.tree.a1.pk), "headed-1-id": "", "headed-1-employee": str(cast.supervisor.pk),
        "headed-2-unit": str(cast.tree.b.pk), "headed-2-id": "", "headed-2-employee": str(cast.supervisor.pk),
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, errors(response)
    assert sorted(SupervisorAssignment.objects.filter(employee=cast.supervisor).values_list("unit__code", flat=True)) == ["A1", "B"]
    client.force_login(cast.supervisor.user)
    assert client.get("/unit/A1/").status_code == 200 and client.get("/unit/B/").status_code == 200
    assert client.get("/unit/A/").status_code == 404


def test_the_same_unit_cannot_be_assigned_twice(admin_client, cast):
    url = f"{STAFF}{cast.supervisor.pk}/change/"
    data = form_data(admin_client.get(url)) | {
        "headed-TOTAL_FORMS": "2", "headed-1-unit": str(cast.tree.a.pk), "headed-1-id": "", "headed-1-employee": str(cast.supervisor.pk),
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200 and errors(response)
    assert SupervisorAssignment.objects.filter(employee=cast.supervisor).count() == 1

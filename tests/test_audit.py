"""The audit trail: every change an admin makes in the back office (framework, periods, units,
staff, supervisor assignments), one by one or in bulk, is in django-simple-history with the
user who made it and shows on the admin history pages; every state change of an assessment is
in AssessmentEvent with its actor and note, and listed in the admin."""

import datetime
import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.utils.html import escape

from assessments import services
from assessments.models import (
    AssessmentEvent,
    AssessmentPeriod,
    Employee,
    Indicator,
    Pillar,
    SelfAssessment,
    SupervisorAssignment,
    Theme,
    WorkUnit,
)

from .adminforms import change, errors, form_data
from .conftest import all_answers, submitted_assessment
from .conftest import form_data as questionnaire_data


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast.admin)
    return client


@pytest.fixture(autouse=True)
def framework_history(db):
    """The default framework comes from a data migration, which writes no history row: give
    each theme, pillar and indicator its starting version (as `populate_history` would), so the
    history pages can show what an edit changed."""
    for model in (Theme, Pillar, Indicator):
        for obj in model.objects.all():
            obj.save()


def history_rows(client, url: str) -> list[str]:
    """The rows of an admin history page (newest first), as the text a reader sees."""
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    table = page[page.index('id="change-history"') : page.index("</table>", page.index('id="change-history"'))]
    rows = re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", unescape(row)).split()) for row in rows]


def assert_recorded(client, obj, admin, *, history_type: str, shown: str) -> None:
    """The latest history row of `obj` is `admin`'s, and the history page shows it."""
    latest = obj.history.order_by("-history_id").first()
    assert (latest.history_user, latest.history_type) == (admin, history_type), (obj, latest.history_user, latest.history_type)
    model = obj._meta.model_name
    rows = history_rows(client, f"/admin/assessments/{model}/{obj.pk}/history/")
    assert f" Diubah {admin.username} " in rows[0] or f" Dibuat {admin.username} " in rows[0], rows[0]
    assert shown in rows[0], (shown, rows[0])


# --- Single changes through the admin's forms ------------------------------------------------------


def test_framework_changes_are_recorded_with_the_admin(admin_client, cast):
    theme = Theme.objects.get(code="T1")
    response = change(admin_client, f"/admin/assessments/theme/{theme.pk}/change/", name="Integritas sebagai Fondasi")
    assert response.status_code == 302, errors(response)
    assert_recorded(admin_client, theme, cast.admin, history_type="~", shown="Nama: Integritas sebagai Fondasi Utama Pelayanan → Integritas sebagai Fondasi")

    pillar = Pillar.objects.get(code="NT")
    response = change(admin_client, f"/admin/assessments/pillar/{pillar.pk}/change/", weight="1.5")
    assert response.status_code == 302, errors(response)
    assert_recorded(admin_client, pillar, cast.admin, history_type="~", shown="Bobot: 1.00 → 1.50")

    indicator = Indicator.objects.get(code="NT-2")
    response = change(admin_client, f"/admin/assessments/indicator/{indicator.pk}/change/", statement="Saya bekerja jujur setiap hari.")
    assert response.status_code == 302, errors(response)
    assert_recorded(admin_client, indicator, cast.admin, history_type="~", shown="→ Saya bekerja jujur setiap hari.")


def test_an_indicator_edited_in_the_pillar_page_inline_is_recorded(admin_client, cast):
    pillar = Pillar.objects.get(code="DK")
    indicator = Indicator.objects.get(code="DK-2")
    data = form_data(admin_client.get(f"/admin/assessments/pillar/{pillar.pk}/change/"))
    position = next(k.split("-")[1] for k, v in data.items() if k.startswith("indicators-") and k.endswith("-id") and v == str(indicator.pk))
    data[f"indicators-{position}-weight"] = "2"
    response = admin_client.post(f"/admin/assessments/pillar/{pillar.pk}/change/", data)
    assert response.status_code == 302, errors(response)
    assert_recorded(admin_client, indicator, cast.admin, history_type="~", shown="Bobot: 1.00 → 2.00")


def test_the_changelist_order_column_is_recorded(admin_client, cast):
    themes = list(Theme.objects.order_by("order", "code"))
    theme_orders = {theme.pk: theme.order for theme in themes}
    data = {"form-TOTAL_FORMS": str(len(themes)), "form-INITIAL_FORMS": str(len(themes)), "_save": "Simpan"}
    for n, theme in enumerate(themes):
        data |= {f"form-{n}-id": str(theme.pk), f"form-{n}-order": str(10 - n)}
    response = admin_client.post("/admin/assessments/theme/", data)
    assert response.status_code == 302
    for n, theme in enumerate(themes):
        theme.refresh_from_db()
        assert theme.order == 10 - n
        assert_recorded(admin_client, theme, cast.admin, history_type="~", shown=f"Urutan: {theme_orders[theme.pk]} → {10 - n}")


def test_period_changes_are_recorded_with_the_admin(admin_client, cast, period):
    admin = cast.admin
    admin_client.post("/admin/assessments/assessmentperiod/next/")
    following = AssessmentPeriod.objects.get(status="planned")
    assert_recorded(admin_client, following, admin, history_type="+", shown=str(following))

    extended = period.closes_on + datetime.timedelta(days=7)
    response = change(admin_client, f"/admin/assessments/assessmentperiod/{period.pk}/change/", closes_on=str(extended))
    assert response.status_code == 302, errors(response)
    assert_recorded(admin_client, period, admin, history_type="~", shown=f"{period.closes_on} → {extended}")

    admin_client.post(f"/admin/assessments/assessmentperiod/{period.pk}/close/")
    assert_recorded(admin_client, period, admin, history_type="~", shown="Status: open → closed")
    # The next quarter starts later than today: opened early, as the admin confirms.
    admin_client.post(f"/admin/assessments/assessmentperiod/{following.pk}/open/", {"opens_early": "1"})
    assert_recorded(admin_client, following, admin, history_type="~", shown="Status: planned → open")


def test_unit_changes_are_recorded_with_the_admin(admin_client, cast):
    response = change(admin_client, f"/admin/assessments/workunit/{cast.tree.b.pk}/change/", name="Direktorat Pengawasan")
    assert response.status_code == 302, errors(response)
    assert_recorded(admin_client, WorkUnit.objects.get(code="B"), cast.admin, history_type="~", shown="Nama: Direktorat B → Direktorat Pengawasan")
    response = change(admin_client, "/admin/assessments/workunit/add/", code="B1", name="Seksi B1",
                      treebeard_position="first-child", treebeard_ref_node=str(cast.tree.b.pk))
    assert response.status_code == 302, errors(response)
    added = WorkUnit.objects.get(code="B1")
    assert {h.history_user for h in added.history.all()} == {cast.admin}
    assert added.history.earliest("history_id").history_type == "+"


def test_staff_changes_are_recorded_with_the_admin(admin_client, cast):
    response = change(admin_client, f"/admin/assessments/employee/{cast.other.pk}/change/", position="Auditor Ahli Muda")
    assert response.status_code == 302, errors(response)
    assert_recorded(admin_client, Employee.objects.get(pk=cast.other.pk), cast.admin, history_type="~", shown="Analis → Auditor Ahli Muda")
    response = change(admin_client, "/admin/assessments/employee/add/", nip="198502102010012003", full_name="Nina Baru",
                      unit=str(cast.tree.b.pk), email="nina@example.go.id")
    assert response.status_code == 302, errors(response)
    added = Employee.objects.get(nip="198502102010012003")
    assert_recorded(admin_client, added, cast.admin, history_type="+", shown="Nina Baru")


def test_supervisor_assignments_are_recorded_with_the_admin(admin_client, cast):
    # through their own admin page
    response = change(admin_client, "/admin/assessments/supervisorassignment/add/", employee=str(cast.other.pk), unit=str(cast.tree.b.pk))
    assert response.status_code == 302, errors(response)
    added = SupervisorAssignment.objects.get(employee=cast.other)
    assert_recorded(admin_client, added, cast.admin, history_type="+", shown="Oki Lain")
    # inline on the person's page: one added, one removed
    url = f"/admin/assessments/employee/{cast.supervisor.pk}/change/"
    old = SupervisorAssignment.objects.get(employee=cast.supervisor)
    data = form_data(admin_client.get(url)) | {
        "headed-0-DELETE": "on", "headed-TOTAL_FORMS": "2",
        "headed-1-unit": str(cast.tree.a1.pk), "headed-1-id": "", "headed-1-employee": str(cast.supervisor.pk),
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, errors(response)
    new = SupervisorAssignment.objects.get(employee=cast.supervisor)
    assert (new.unit, new.history.get().history_user) == (cast.tree.a1, cast.admin)
    removed = SupervisorAssignment.history.filter(id=old.pk).latest("history_id")
    assert (removed.history_type, removed.history_user) == ("-", cast.admin)


# --- Bulk actions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "codes"), [
    ("pillar", ["KA", "RK"]),
    ("indicator", ["KA-1", "KA-2", "RK-3"]),
    ("workunit", ["A1", "B"]),
])
def test_bulk_retire_and_activate_are_recorded(admin_client, cast, model, codes):
    manager = {"pillar": Pillar, "indicator": Indicator, "workunit": WorkUnit}[model].objects

    def objects():
        return manager.filter(code__in=codes)

    chosen = list(objects())
    assert len(chosen) == len(codes)
    response = admin_client.post(f"/admin/assessments/{model}/", {"action": "retire", "_selected_action": [o.pk for o in chosen]})
    assert response.status_code == 302
    for obj in objects():
        assert obj.is_active is False
        assert_recorded(admin_client, obj, cast.admin, history_type="~", shown="Aktif: True → False")
    admin_client.post(f"/admin/assessments/{model}/", {"action": "activate", "_selected_action": [o.pk for o in chosen]})
    for obj in objects():
        assert obj.is_active is True
        latest = obj.history.order_by("-history_id").first()
        assert (latest.is_active, latest.history_user) == (True, cast.admin)


def test_deactivating_staff_in_bulk_is_recorded(admin_client, cast):
    chosen = [cast.staff, cast.other]
    admin_client.post("/admin/assessments/employee/", {"action": "deactivate", "_selected_action": [e.pk for e in chosen]})
    for employee in chosen:
        employee.refresh_from_db()
        assert employee.is_active is False
        assert_recorded(admin_client, employee, cast.admin, history_type="~", shown="Aktif: True → False")
    # a person already inactive is not recorded again
    before = cast.staff.history.count()
    admin_client.post("/admin/assessments/employee/", {"action": "deactivate", "_selected_action": [cast.staff.pk]})
    assert cast.staff.history.count() == before


# --- Assessment state changes -------------------------------------------------------------------


def test_every_state_change_is_logged_with_its_actor_and_note(client, cast, period):
    staff, supervisor = cast.staff.user, cast.supervisor.user
    client.force_login(staff)
    form = f"/penilaian/{period.code}/isi/"
    assert client.post(form, questionnaire_data(period, 4)).status_code == 302  # a draft
    assessment = SelfAssessment.objects.get(employee=cast.staff)
    client.post(f"/penilaian/{period.code}/kirim/", {"version": str(assessment.version)})
    client.force_login(supervisor)
    client.post(f"/tinjau/{assessment.pk}/kembalikan/", {"note": "Lengkapi bukti untuk AK-1"})
    client.force_login(staff)
    assessment.refresh_from_db()
    client.post(form, questionnaire_data(period, 5, version=assessment.version))
    assessment.refresh_from_db()
    client.post(f"/penilaian/{period.code}/kirim/", {"version": str(assessment.version)})
    client.force_login(supervisor)
    client.post(f"/tinjau/{assessment.pk}/setujui/")

    assessment.refresh_from_db()
    assert assessment.state == "approved"
    events = list(AssessmentEvent.objects.filter(assessment=assessment).values_list("actor", "from_state", "to_state", "note"))
    assert events == [
        (staff.pk, "", "draft", ""),
        (staff.pk, "draft", "submitted", ""),
        (supervisor.pk, "submitted", "returned", "Lengkapi bukti untuk AK-1"),
        (staff.pk, "returned", "submitted", ""),
        (supervisor.pk, "submitted", "approved", ""),
    ]
    # The person sees the same history on their result page.
    client.force_login(staff)
    page = client.get(f"/hasil/{assessment.pk}/").content.decode()
    history = page[page.index("Riwayat penilaian ini") :]
    assert history.count("<li>") == 5 and "Lengkapi bukti untuk AK-1" in history
    assert "· supervisor · Terkirim → Dikembalikan: Lengkapi bukti untuk AK-1" in history


def test_a_refused_change_logs_nothing(client, cast, period):
    assessment = submitted_assessment(cast.staff, period, 4)
    events = AssessmentEvent.objects.count()
    client.force_login(cast.supervisor.user)
    client.post(f"/tinjau/{assessment.pk}/kembalikan/", {"note": "  "})  # a note is required
    client.force_login(cast.staff.user)
    client.post(f"/penilaian/{period.code}/kirim/", {"version": str(assessment.version)})  # already submitted
    assert AssessmentEvent.objects.count() == events
    assert SelfAssessment.objects.get(pk=assessment.pk).state == "submitted"


def test_the_state_change_log_is_listed_in_the_admin(admin_client, cast, period):
    returned = submitted_assessment(cast.staff, period, 4)
    services.assessment_return(assessment=returned, reviewer=cast.supervisor.user, note="Perbaiki catatan NT-1")
    approved = submitted_assessment(cast.other, period, 3)
    services.assessment_approve(assessment=approved, reviewer=cast.sibling_supervisor.user)
    services.assessment_save_draft(employee=cast.colleague, period=period, answers=all_answers(period), version=0, actor=cast.colleague.user)

    response = admin_client.get("/admin/assessments/assessmentevent/")
    page = response.content.decode()
    shown = {(e.actor.username, e.to_state, e.note) for e in response.context["cl"].result_list}
    assert shown == {
        ("staff", "draft", ""), ("staff", "submitted", ""), ("supervisor", "returned", "Perbaiki catatan NT-1"),
        ("other", "draft", ""), ("other", "submitted", ""), ("sibling", "approved", ""),
        ("colleague", "draft", ""),
    }
    assert "Perbaiki catatan NT-1" in page and escape(str(returned)) in page and ">supervisor<" in page
    returned_only = admin_client.get("/admin/assessments/assessmentevent/?to_state=returned").context["cl"].result_list
    assert [(e.assessment_id, e.actor_id) for e in returned_only] == [(returned.pk, cast.supervisor.user_id)]
    by_nip = admin_client.get(f"/admin/assessments/assessmentevent/?q={cast.other.nip}").context["cl"].result_list
    assert {e.to_state for e in by_nip} == {"draft", "submitted", "approved"}
    # the assessment's own admin page lists its events too
    page = admin_client.get(f"/admin/assessments/selfassessment/{returned.pk}/change/").content.decode()
    assert "Perbaiki catatan NT-1" in page
    # and nobody can forge or erase an entry from the admin
    event = AssessmentEvent.objects.first()
    assert admin_client.get("/admin/assessments/assessmentevent/add/").status_code == 403
    assert admin_client.post(f"/admin/assessments/assessmentevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin_client.post(f"/admin/assessments/assessmentevent/{event.pk}/change/", {"note": "dipalsukan"}).status_code == 403
    assert AssessmentEvent.objects.get(pk=event.pk).note == event.note


def test_a_state_change_whose_actor_is_gone_still_shows(client, cast, period):
    """The reviewer's login was deleted since: the log keeps the change without a name, and the
    result page shows it (it answered 500 before)."""
    assessment = submitted_assessment(cast.staff, period, 4)
    reviewer = get_user_model().objects.create_user("penilai", "penilai@example.go.id", "sandi", is_superuser=True)
    services.assessment_approve(assessment=assessment, reviewer=reviewer)
    reviewer.delete()
    event = AssessmentEvent.objects.get(assessment=assessment, to_state="approved")
    assert event.actor is None
    client.force_login(cast.staff.user)
    response = client.get(f"/hasil/{assessment.pk}/")
    assert response.status_code == 200
    history = response.content.decode()
    history = history[history.index("Riwayat penilaian ini") :]
    assert "· – · Terkirim → Disetujui" in history

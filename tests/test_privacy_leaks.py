"""The four holes an outside review found (issue 10), each proved closed here:

1. a supervisor must not see the figures of an assessment made outside their scope, even when
   its owner now works in their unit (staff table, exports, result and review pages);
2. staff must not be able to work out a colleague's index from the unit average;
3. evidence is served under a name the app builds, never the uploader's;
4. bulk views of individual scores (staff table, its exports, the admin) are logged.
"""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from assessments import periods, services
from assessments.models import AccessLog, Employee, SelfAssessment

from .conftest import make_employee, past_assessment, submitted_assessment

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def read_csv(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def read_xlsx(response):
    return [list(row) for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)]


def move(employee: Employee, unit) -> Employee:
    employee.unit = unit
    return services.employee_save(employee=employee, email=employee.user.email)


# --- 1. Figures outside the viewer's scope ------------------------------------------------------


@pytest.fixture
def moved_in(cast, period, previous_period):
    """`other` was assessed in B (outside the supervisor's scope, 91.7 there), then moved into A1."""
    past = past_assessment(cast.other, previous_period, score=5)
    SelfAssessment.objects.filter(pk=past.pk).update(index_score=91.666666, grade="sangat_baik")
    move(cast.other, cast.tree.a1)
    return past


@pytest.fixture
def moved_in_while_open(cast, period):
    """`other` submitted the open period in B (outside the supervisor's scope), then moved into A1."""
    made = submitted_assessment(cast.other, period, score=5)
    move(cast.other, cast.tree.a1)
    return made


def test_the_staff_table_of_a_closed_period_lists_only_what_was_assessed_in_the_unit(client, cast, moved_in, previous_period):
    client.force_login(cast.supervisor.user)
    page = client.get(f"/unit/A1/pegawai/?periode={previous_period.code}").content.decode()
    assert "Oki Lain" not in page  # assessed in B that period: not A1's, and not in scope
    assert "91,7" not in page and f"/hasil/{moved_in.pk}/" not in page


def test_the_staff_table_hides_figures_of_an_assessment_made_outside_the_scope(client, cast, moved_in_while_open, period):
    client.force_login(cast.supervisor.user)
    page = client.get(f"/unit/A1/pegawai/?periode={period.code}").content.decode()
    assert "Oki Lain" in page  # the person is listed: they work in A1 today
    table = page.split('data-testid="staff-table"')[1]
    assert "100,0" not in table and "Sangat Baik" not in table
    assert f"/hasil/{moved_in_while_open.pk}/" not in page and f"/tinjau/{moved_in_while_open.pk}/" not in page
    assert "Dinilai di unit lain" in page


def test_a_grade_filter_does_not_reveal_an_out_of_scope_grade(client, cast, moved_in_while_open, period):
    client.force_login(cast.supervisor.user)
    page = client.get(f"/unit/A1/pegawai/?periode={period.code}&predikat=sangat_baik").content.decode()
    assert "Oki Lain" not in page


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_staff_exports_hide_figures_of_an_assessment_made_outside_the_scope(client, cast, moved_in_while_open, period, fmt):
    client.force_login(cast.supervisor.user)
    response = client.get(f"/unit/A1/ekspor/pegawai.{fmt}?periode={period.code}")
    rows = read_csv(response) if fmt == "csv" else read_xlsx(response)
    row = next(r for r in rows if r[0] == "Oki Lain")
    assert row[4] == "Dinilai di unit lain"
    assert row[5] in ("", None) and row[6] in ("", None) and row[7] in ("", None)


def test_the_admin_still_sees_every_figure_in_the_staff_table(client, cast, moved_in, moved_in_while_open, period, previous_period):
    client.force_login(cast.admin)
    assert "100,0" in client.get(f"/unit/A1/pegawai/?periode={period.code}").content.decode()
    assert "91,7" in client.get(f"/unit/B/pegawai/?periode={previous_period.code}").content.decode()


def test_the_result_page_shows_no_change_against_an_out_of_scope_assessment(client, cast, moved_in, period):
    now = submitted_assessment(cast.other, period, score=4)
    client.force_login(cast.supervisor.user)
    for url in (f"/hasil/{now.pk}/", f"/tinjau/{now.pk}/"):
        page = client.get(url).content.decode()
        assert "75,0" in page  # their new assessment, made in A1, is in scope
        assert "Periode sebelumnya" not in page
        assert "−16,7" not in page and "-16,7" not in page
        assert 'class="num change-down"' not in page


def test_the_owner_still_sees_the_change_against_their_own_past(client, cast, moved_in, period):
    now = submitted_assessment(cast.other, period, score=4)
    client.force_login(cast.other.user)
    page = client.get(f"/hasil/{now.pk}/").content.decode()
    assert re.search(r"Periode sebelumnya: Triwulan [IV]+ \d{4}, 91,7", page)
    assert "(−16,7)" in page


def test_the_previous_supervisor_still_sees_the_change_when_both_are_in_scope(client, cast, period, previous_period):
    past_assessment(cast.staff, previous_period, score=3)
    now = submitted_assessment(cast.staff, period, score=4)
    client.force_login(cast.supervisor.user)
    page = client.get(f"/hasil/{now.pk}/").content.decode()
    assert f"Periode sebelumnya: {previous_period}, 50,0" in page


# --- 2. The unit average may not give a colleague away ------------------------------------------


def unit_mean_of(client, assessment) -> str | None:
    page = client.get(f"/hasil/{assessment.pk}/").content.decode()
    marker = 'data-testid="unit-mean">'
    if marker not in page:
        return None
    return page.split(marker, 1)[1].split("<", 1)[0]


def test_staff_see_no_live_average_so_no_submission_can_be_worked_out(client, cast, period):
    """Scripted: eight colleagues submit, then a ninth; the staff member's page never shows a
    figure that moves with a submission while the period is open."""
    mine = submitted_assessment(cast.staff, period, score=4)
    client.force_login(cast.staff.user)
    seen = set()
    for n in range(8):
        submitted_assessment(make_employee(f"rekan{n}", cast.tree.a1), period, score=2 + n % 3)
        seen.add(unit_mean_of(client, mine))
        page = client.get(f"/hasil/{mine.pk}/").content.decode()
        assert 'data-testid="unit-mean-hidden"' in page
    submitted_assessment(cast.colleague, period, score=5)
    seen.add(unit_mean_of(client, mine))
    assert seen == {None}
    page = client.get(f"/hasil/{mine.pk}/").content.decode()
    assert "setelah periode ditutup" in page


def test_staff_see_the_average_frozen_when_the_period_closes(client, cast, period, settings):
    mine = submitted_assessment(cast.staff, period, score=4)  # 75
    for n in range(4):
        submitted_assessment(make_employee(f"rekan{n}", cast.tree.a1), period, score=2)  # 25 each
    periods.period_close(period=period)
    client.force_login(cast.staff.user)
    # (75 + 4 * 25) / 5 = 35.0
    assert unit_mean_of(client, mine) == "35,0"
    # Nothing changes a closed period's figures afterwards: an assessment can no longer be
    # returned (and so resubmitted higher), and what staff are shown stays as it was.
    late = SelfAssessment.objects.filter(period=period, employee__user__username="rekan0").get()
    with pytest.raises(services.ServiceError):
        services.assessment_return(assessment=late, reviewer=cast.supervisor.user, note="Perbaiki")
    assert unit_mean_of(client, mine) == "35,0"


def test_a_closed_average_of_fewer_than_five_stays_hidden(client, cast, period):
    mine = submitted_assessment(cast.staff, period, score=4)
    for n in range(3):
        submitted_assessment(make_employee(f"rekan{n}", cast.tree.a1), period, score=2)
    periods.period_close(period=period)
    client.force_login(cast.staff.user)
    page = client.get(f"/hasil/{mine.pk}/").content.decode()
    assert 'data-testid="unit-mean"' not in page
    assert 'data-testid="unit-mean-hidden"' in page


# --- 3. Evidence names ------------------------------------------------------------------------


def test_evidence_is_served_under_a_name_the_app_builds(client, cast, period):
    indicator = period.questionnaire()[0].indicators.all()[0]
    answers = {indicator.pk: services.Answer(score=4, evidence=SimpleUploadedFile("../../../../tmp/evil.html", PDF))}
    assessment = services.assessment_save_draft(employee=cast.staff, period=period, answers=answers, version=0, actor=cast.staff.user)
    rating = assessment.ratings.get()
    client.force_login(cast.staff.user)
    response = client.get(f"/bukti/{rating.pk}/")
    assert response["Content-Disposition"] == 'attachment; filename="evil.pdf"'
    assert response["Content-Type"] == "application/pdf"
    assert rating.evidence_name == "evil.html"  # the original name, for display only


@pytest.mark.parametrize(
    ("name", "served"),
    [
        ("Surat Tugas 2026 (final).pdf", "surat-tugas-2026-final.pdf"),
        ("foto.PNG.exe", "fotopng.pdf"),
        ("....pdf", "bukti.pdf"),
        ('a"b;c\r\n.pdf', "abc.pdf"),
        ("بيان.pdf", "bukti.pdf"),
    ],
)
def test_the_served_name_is_a_safe_stem_with_the_detected_extension(client, cast, period, name, served):
    indicator = period.questionnaire()[0].indicators.all()[0]
    answers = {indicator.pk: services.Answer(score=4, evidence=SimpleUploadedFile(name, PDF))}
    assessment = services.assessment_save_draft(employee=cast.staff, period=period, answers=answers, version=0, actor=cast.staff.user)
    client.force_login(cast.staff.user)
    response = client.get(f"/bukti/{assessment.ratings.get().pk}/")
    assert response["Content-Disposition"] == f'attachment; filename="{served}"'


# --- 4. Bulk views are logged -----------------------------------------------------------------


@pytest.fixture
def scored(cast, period):
    submitted_assessment(cast.staff, period, 4)
    submitted_assessment(cast.colleague, period, 2)
    return period


def covered(log: AccessLog) -> set[str]:
    return set(log.people.values_list("user__username", flat=True))


def test_a_staff_table_view_is_logged_once_with_the_people_whose_figures_it_showed(client, cast, scored):
    client.force_login(cast.supervisor.user)
    client.get(f"/unit/A/pegawai/?periode={scored.code}&semua=1")
    log = AccessLog.objects.get()
    assert log.action == AccessLog.Action.STAFF_TABLE
    assert (log.viewer, log.unit, log.period) == (cast.supervisor.user, cast.tree.a, scored)
    assert covered(log) == {"staff", "colleague"}  # the supervisor's own row has no figures yet


def test_a_staff_table_page_without_figures_logs_nothing(client, cast, period):
    client.force_login(cast.supervisor.user)
    client.get(f"/unit/A/pegawai/?periode={period.code}&semua=1")
    assert not AccessLog.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_staff_export_is_logged_once(client, cast, scored, fmt):
    client.force_login(cast.supervisor.user)
    client.get(f"/unit/A/ekspor/pegawai.{fmt}?periode={scored.code}&semua=1").getvalue()
    log = AccessLog.objects.get()
    assert log.action == AccessLog.Action.STAFF_EXPORT
    assert (log.unit, log.period) == (cast.tree.a, scored)
    assert covered(log) == {"staff", "colleague"}


def test_the_admin_change_page_of_an_assessment_is_logged(client, cast, scored):
    assessment = SelfAssessment.objects.get(employee=cast.staff)
    client.force_login(cast.admin)
    assert client.get(f"/admin/assessments/selfassessment/{assessment.pk}/change/").status_code == 200
    log = AccessLog.objects.get()
    assert (log.action, log.employee, log.assessment) == (AccessLog.Action.ADMIN, cast.staff, assessment)


def test_the_admin_list_of_assessments_is_logged_with_the_people_on_the_page(client, cast, scored):
    client.force_login(cast.admin)
    assert client.get("/admin/assessments/selfassessment/").status_code == 200
    log = AccessLog.objects.get()
    assert log.action == AccessLog.Action.ADMIN_LIST
    assert covered(log) == {"staff", "colleague"}


def test_people_see_bulk_views_of_their_scores_on_my_data(client, cast, scored):
    client.force_login(cast.supervisor.user)
    client.get(f"/unit/A/pegawai/?periode={scored.code}&semua=1")
    client.force_login(cast.staff.user)
    page = client.get("/data-saya/").content.decode()
    assert "supervisor · melihat tabel pegawai · Direktorat A" in page
    assert "melihat tabel pegawai" in page
    client.force_login(cast.other.user)
    assert "melihat tabel pegawai" not in client.get("/data-saya/").content.decode()


def test_the_access_log_in_the_admin_lists_bulk_views(client, cast, scored):
    client.force_login(cast.supervisor.user)
    client.get(f"/unit/A/pegawai/?periode={scored.code}&semua=1")
    client.force_login(cast.admin)
    page = client.get("/admin/assessments/accesslog/").content.decode()
    assert "melihat tabel pegawai" in page
    assert "Direktorat A" in page


def test_the_bulk_approval_confirmation_is_logged(client, cast, scored):
    ids = list(SelfAssessment.objects.filter(employee__in=[cast.staff, cast.colleague]).values_list("pk", flat=True))
    client.force_login(cast.supervisor.user)
    page = client.post("/unit/A/setujui/", {"pilih": ids}).content.decode()
    assert "Siti Staf" in page
    log = AccessLog.objects.get()
    assert log.action == AccessLog.Action.REVIEW and covered(log) == {"staff", "colleague"}

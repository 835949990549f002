"""Retention (UU PDP 27/2022): `manage.py retention_apply` deletes the individual answers of the
closed periods that closed more than RETENTION_YEARS years ago (ratings, notes, evidence files,
pillar scores, each person's index and grade, return notes) and keeps who took part and every
figure: the dashboards, the Rekap and the exports of such a period show the same numbers after
it as before."""

import csv
import datetime
import io
import logging
import re
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from assessments import retention, summaries
from assessments.models import (
    AssessmentEvent,
    AssessmentPeriod,
    PeriodUnit,
    PillarScore,
    Rating,
    RetentionRun,
    SelfAssessment,
    UnitPeriodIndicatorSummary,
    UnitPeriodPillarSummary,
    UnitPeriodSummary,
)
from assessments.synthetic import AssessmentSpec, bulk_create_assessments

from .conftest import create_period, log_in, make_employee, past_assessment

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def five_years(settings):
    settings.RETENTION_YEARS = 5


def closed_on(closes_on: datetime.date) -> AssessmentPeriod:
    """A closed period of the quarter of `closes_on` that closed on that day."""
    return create_period(closes_on.year, (closes_on.month - 1) // 3 + 1, status="closed", closes_on=closes_on)


# --- Which periods are past retention ----------------------------------------------------------


def test_a_period_is_past_retention_only_more_than_n_years_after_it_closed(db):
    period = closed_on(datetime.date(2019, 3, 31))
    assert list(retention.periods_past_retention(today=datetime.date(2024, 3, 31))) == []  # exactly 5 years
    assert list(retention.periods_past_retention(today=datetime.date(2024, 4, 1))) == [period]


def test_the_number_of_years_comes_from_the_setting(db, settings):
    period = closed_on(datetime.date(2019, 3, 31))
    settings.RETENTION_YEARS = 7
    assert list(retention.periods_past_retention(today=datetime.date(2025, 6, 1))) == []
    assert list(retention.periods_past_retention(today=datetime.date(2026, 4, 1))) == [period]


def test_a_29_february_counts_back_to_the_28th():
    assert retention.retention_cutoff(datetime.date(2028, 2, 29)) == datetime.date(2023, 2, 28)


def test_open_planned_and_already_cleared_periods_are_never_selected(db):
    cleared = closed_on(datetime.date(2018, 12, 31))
    AssessmentPeriod.objects.filter(pk=cleared.pk).update(personal_data_removed_at=timezone.now())
    due = closed_on(datetime.date(2017, 9, 30))
    create_period(2019, 1, status="planned")
    create_period(2019, 2, status="open")  # an old period nobody closed: never
    assert list(retention.periods_past_retention(today=datetime.date(2030, 1, 1))) == [due]


def test_without_a_date_it_takes_today_in_jakarta(db):
    today = timezone.localdate()
    old = closed_on(datetime.date(today.year - 6, 3, 31))
    closed_on(datetime.date(today.year - 4, 3, 31))
    assert list(retention.periods_past_retention()) == [old]


# --- A world with a period past retention -----------------------------------------------------------


def store_evidence(rating: Rating, name: str, content: bytes | None) -> str:
    """Give `rating` an evidence file (none on disk when `content` is None); return its name."""
    storage = Rating._meta.get_field("evidence").storage
    stored = storage.save(name, ContentFile(content)) if content is not None else name
    Rating.objects.filter(pk=rating.pk).update(evidence=stored, evidence_name="laporan.pdf")
    return stored


@pytest.fixture
def old(cast, previous_period):
    """A period that closed seven years ago with five counted assessments (two in A1, one in A,
    two in B), a returned one with its note, two evidence files (one already gone from disk);
    and `previous_period`, closed last year, which stays."""
    today = timezone.localdate()
    period = create_period(today.year - 7, 2, status="closed")
    scores = [(cast.staff, 4), (cast.colleague, 5), (cast.supervisor, 3), (cast.other, 2), (cast.sibling_supervisor, 4)]
    for employee, score in scores:
        past_assessment(employee, period, score)
    late = make_employee("late", cast.tree.b, name="Lia Terlambat")
    answers = {i.pk: (3, "") for p in period.questionnaire() for i in p.indicators.all()}
    moment = timezone.make_aware(datetime.datetime.combine(period.closes_on, datetime.time(9)))
    bulk_create_assessments(
        period=period,
        specs=[AssessmentSpec(employee_id=late.pk, user_id=late.user_id, unit_id=late.unit_id, state="returned", answers=answers,
                              at=moment, reviewer_id=cast.sibling_supervisor.user_id, return_note="Bukti kurang lengkap")],
    )
    summaries.summary_rebuild(period=period, closed=True)
    ratings = Rating.objects.filter(assessment__employee=cast.staff, assessment__period=period).order_by("pk")
    files = [store_evidence(ratings[0], "evidence/lama/laporan.pdf", PDF), store_evidence(ratings[1], "evidence/lama/hilang.pdf", None)]
    for employee, score in scores[:3]:
        past_assessment(employee, previous_period, score)
    return period, files, late


def stored_files(settings) -> list[Path]:
    root = Path(settings.PRIVATE_STORAGE_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def figures_of(period) -> dict:
    """Every summary row of the period, as the database holds it."""
    return {
        model.__name__: sorted(model.objects.filter(period=period).values_list())
        for model in (UnitPeriodSummary, UnitPeriodPillarSummary, UnitPeriodIndicatorSummary)
    }


def run(*args) -> str:
    out = io.StringIO()
    call_command("retention_apply", *args, stdout=out)
    return out.getvalue()


# --- The dry run --------------------------------------------------------------------------------------


def test_the_dry_run_lists_what_would_go_and_changes_nothing(old, settings, previous_period):
    period, files, _late = old
    before = {model: list(model.objects.order_by("pk").values_list()) for model in (Rating, PillarScore, SelfAssessment, AssessmentEvent)}
    on_disk = stored_files(settings)
    output = run("--dry-run")
    assert f"{period.code} (closed {period.closes_on.isoformat()}): 6 assessments, " in output
    per_assessment = sum(len(p.indicators.all()) for p in period.questionnaire())
    assert f"{6 * per_assessment} ratings, 2 evidence files, {6 * len(period.questionnaire())} pillar scores, 2 return notes" in output
    assert previous_period.code not in output
    assert "dry run, nothing changed" in output
    assert {model: list(model.objects.order_by("pk").values_list()) for model in before} == before
    assert stored_files(settings) == on_disk
    period.refresh_from_db()
    assert period.personal_data_removed_at is None
    record = RetentionRun.objects.get()
    assert record.dry_run and record.ratings == 6 * per_assessment and record.evidence_files == 2
    assert record.periods[0]["period"] == period.code


# --- The real run --------------------------------------------------------------------------------------


def test_it_deletes_the_answers_and_keeps_participation_and_figures(old, settings, previous_period, django_capture_on_commit_callbacks):
    period, files, late = old
    figures = figures_of(period)
    kept = list(SelfAssessment.objects.filter(period=period).order_by("pk").values_list("employee_id", "unit_id", "state", "submitted_at"))
    recent = list(Rating.objects.filter(assessment__period=previous_period).values_list("pk", "score", "note"))
    tree = list(PeriodUnit.objects.filter(period=period).values_list())
    assert (Path(settings.PRIVATE_STORAGE_ROOT) / files[0]).exists()
    with django_capture_on_commit_callbacks(execute=True):
        output = run("--yes")
    assert f"Deleted:\n  {period.code} (closed {period.closes_on.isoformat()}): 6 assessments" in output
    assert not Rating.objects.filter(assessment__period=period).exists()
    assert not PillarScore.objects.filter(assessment__period=period).exists()
    assessments = SelfAssessment.objects.filter(period=period)
    assert set(assessments.values_list("index_score", "grade", "return_note")) == {(None, "", "")}
    assert not AssessmentEvent.objects.filter(assessment__period=period).exclude(note="").exists()
    assert AssessmentEvent.objects.filter(assessment__employee=late, to_state="returned").exists()  # the step stays, without its note
    assert list(assessments.order_by("pk").values_list("employee_id", "unit_id", "state", "submitted_at")) == kept
    assert figures_of(period) == figures
    assert list(PeriodUnit.objects.filter(period=period).values_list()) == tree
    assert period.questionnaire()
    assert stored_files(settings) == []  # the stored file is gone; the missing one was no error
    period.refresh_from_db()
    assert period.personal_data_removed_at is not None and period.answers_deleted
    assert period.history.first().personal_data_removed_at == period.personal_data_removed_at
    # The recent period is untouched.
    assert list(Rating.objects.filter(assessment__period=previous_period).values_list("pk", "score", "note")) == recent
    assert SelfAssessment.objects.filter(period=previous_period, index_score__isnull=False).count() == 3


def test_files_are_deleted_only_after_the_transaction_commits(old, settings, django_capture_on_commit_callbacks):
    period, files, _late = old
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        retention.period_answers_delete(period=period)
    assert (Path(settings.PRIVATE_STORAGE_ROOT) / files[0]).exists()
    assert len(callbacks) == 1
    callbacks[0]()
    assert not (Path(settings.PRIVATE_STORAGE_ROOT) / files[0]).exists()


def test_without_yes_it_asks_and_deletes_nothing_unless_confirmed(old, monkeypatch):
    period, _files, _late = old
    monkeypatch.setattr("builtins.input", lambda prompt: "tidak")
    with pytest.raises(CommandError, match="Nothing deleted"):
        run()
    assert Rating.objects.filter(assessment__period=period).exists()
    assert not RetentionRun.objects.exists()
    questions = []
    monkeypatch.setattr("builtins.input", lambda prompt: questions.append(prompt) or "ya")
    output = run()
    assert "Would delete:" in output and "Deleted:" in output
    assert "Type 'ya'" in questions[0]
    assert not Rating.objects.filter(assessment__period=period).exists()


def test_each_run_is_logged_and_recorded_for_admins(old, caplog, client, cast):
    period, _files, _late = old
    with caplog.at_level(logging.INFO, logger="assessments.retention"):
        run("--dry-run")
        run("--yes")
    lines = [r.getMessage() for r in caplog.records if r.name == "assessments.retention"]
    assert len(lines) == 2
    assert lines[0].startswith("retention_apply dry run: retention 5 years, periods [" + period.code + "]")
    assert lines[1].startswith("retention_apply deleted: retention 5 years, periods [" + period.code + "]")
    assert "evidence_files 2" in lines[1]
    dry, real = RetentionRun.objects.order_by("pk")
    assert dry.dry_run and not real.dry_run
    assert real.assessments == 6 and real.evidence_files == 2 and real.notes == 2
    assert real.periods[0]["period"] == period.code and real.periods[0]["closes_on"] == period.closes_on.isoformat()
    client.force_login(cast.admin)
    page = client.get("/admin/assessments/retentionrun/").content.decode()
    assert period.code in page
    assert client.get(f"/admin/assessments/retentionrun/{real.pk}/change/").status_code == 200
    assert client.get("/admin/assessments/retentionrun/add/").status_code == 403
    assert client.post(f"/admin/assessments/retentionrun/{real.pk}/delete/", {"post": "yes"}).status_code == 403


def test_a_second_run_does_nothing(old, django_capture_on_commit_callbacks):
    period, _files, _late = old
    run("--yes")
    period.refresh_from_db()
    removed_at = period.personal_data_removed_at
    output = run("--yes")
    assert "No period is past retention: nothing to delete." in output
    period.refresh_from_db()
    assert period.personal_data_removed_at == removed_at
    assert RetentionRun.objects.order_by("-pk").first().periods == []
    assert retention.period_answers_delete(period=period) is None


def test_a_run_that_fails_part_way_keeps_what_it_finished_and_records_it(old, monkeypatch):
    period, _files, _late = old
    second = create_period(period.year, 3, status="closed")
    past_assessment(make_employee("kedua", period.units.get(code="B").unit), second, 4)
    delete = retention.period_answers_delete

    def fail_on_the_second(*, period, today=None):
        if period.pk == second.pk:
            raise RuntimeError("disk full")
        return delete(period=period, today=today)

    monkeypatch.setattr(retention, "period_answers_delete", fail_on_the_second)
    with pytest.raises(RuntimeError):
        run("--yes")
    assert not Rating.objects.filter(assessment__period=period).exists()
    assert Rating.objects.filter(assessment__period=second).exists()
    assert [entry["period"] for entry in RetentionRun.objects.get().periods] == [period.code]


def test_nothing_to_do_is_said_and_recorded(cast, previous_period):
    assert "No period is past retention" in run("--dry-run")
    assert RetentionRun.objects.get().periods == []


# --- The figures stay -------------------------------------------------------------------------------------


def figures_shown(page: str) -> list[str]:
    """The numbers a page shows: every table's text and every data-testid cell, as text."""
    tables = [re.sub(r"<[^>]+>", " ", table) for table in re.findall(r"<table.*?</table>", page, re.S)]
    cells = re.findall(r'data-testid="([^"]+)"[^>]*>([^<]*)<', page)
    return [" ".join(text.split()) for text in tables] + [f"{name}={value.strip()}" for name, value in cells]


def test_dashboards_rekap_exports_and_trends_show_the_same_figures_after(client, cast, old, previous_period):
    period, _files, _late = old
    pages = [
        f"/unit/ROOT/?periode={period.code}",
        f"/unit/A/?periode={period.code}",
        f"/unit/ROOT/sub-unit/?periode={period.code}",
        f"/unit/ROOT/sub-unit/?periode={period.code}&tampilan=pohon",
        f"/rekap/?periode={period.code}",
        f"/unit/ROOT/?periode={previous_period.code}",  # its trend and its change against earlier periods
        f"/rekap/?periode={previous_period.code}&banding={period.code}",
    ]
    exports = [f"/unit/ROOT/ekspor/sub-unit.csv?periode={period.code}"]
    client.force_login(cast.admin)

    def read():
        shown = {url: figures_shown(client.get(url).content.decode()) for url in pages}
        return shown | {url: client.get(url).content.decode() for url in exports}

    before = read()
    assert "counted=6" not in before[pages[0]] and "counted=5" in before[pages[0]]
    assert "index-mean=65,0" in before[pages[0]]  # (75 + 100 + 50 + 25 + 75) / 5
    run("--yes")
    assert read() == before


def test_summaries_check_skips_the_period_and_summary_rebuild_refuses_it(old):
    period, _files, _late = old
    run("--yes")
    out = io.StringIO()
    call_command("summaries_check", stdout=out)
    assert f"{period.code}: skipped, its individual answers were deleted under the retention rule" in out.getvalue()
    assert "is exact; 1 period(s) skipped" in out.getvalue()
    figures = figures_of(period)
    err = io.StringIO()
    with pytest.raises(CommandError, match="Nothing rebuilt"):
        call_command("summary_rebuild", "--closed", "--yes", "--period", period.code, stdout=io.StringIO(), stderr=err)
    assert f"{period.code}: refused, its individual answers were deleted under the retention rule" in err.getvalue()
    call_command("summary_rebuild", "--closed", "--yes", stdout=io.StringIO(), stderr=io.StringIO())  # the others still rebuild
    with pytest.raises(summaries.AnswersDeleted):
        summaries.summary_rebuild(period=period, closed=True)
    assert figures_of(period) == figures


# --- What people see after -------------------------------------------------------------------------------


def test_the_result_page_says_the_answers_were_deleted(client, cast, old):
    period, _files, _late = old
    mine = SelfAssessment.objects.get(employee=cast.staff, period=period)
    run("--yes")
    assert log_in(client, "staff")
    page = client.get(f"/hasil/{mine.pk}/").content.decode()
    assert 'data-testid="answers-deleted"' in page
    assert "telah dihapus" in page and "5 tahun" in page
    assert 'data-testid="index"' not in page and 'data-testid="pillar-table"' not in page and "Catatan:" not in page
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get(f"/hasil/{mine.pk}/").content.decode()
    assert "were deleted on" in page and "kept for 5 years" in page
    client.force_login(cast.supervisor.user)  # the review page shows the same
    assert client.get(f"/tinjau/{mine.pk}/").status_code == 200


def test_my_data_and_its_csv_say_so(client, cast, old, previous_period):
    period, _files, _late = old
    run("--yes")
    client.force_login(cast.staff.user)
    page = client.get("/data-saya/").content.decode()
    assert page.count('data-testid="answers-deleted"') == 1 and "telah dihapus" in page
    rows = list(csv.reader(io.StringIO(client.get("/data-saya/unduh.csv").content.decode("utf-8-sig")), delimiter=";"))
    old_rows = [row for row in rows if row[2] == period.code]
    assert len(old_rows) == 1
    assert old_rows[0][5] == "" and "telah dihapus" in old_rows[0][12]
    assert any(row[2] == previous_period.code for row in rows)  # the recent period's answers are all there
    page = client.get("/penilaian/").content.decode()
    assert 'data-testid="answers-deleted"' in page


def test_the_staff_table_and_its_export_show_no_score(client, cast, old):
    period, _files, _late = old
    run("--yes")
    client.force_login(cast.supervisor.user)
    page = client.get(f"/unit/A/pegawai/?periode={period.code}&semua=1").content.decode()
    table = page[page.index('data-testid="staff-table"') : page.index("</table>", page.index('data-testid="staff-table"'))]
    assert "Siti Staf" in table and "Disetujui" in table
    assert 'class="badge grade-' not in table and not re.search(r'data-label="Indeks">\s*\d', table)
    rows = list(csv.reader(io.StringIO(client.get(f"/unit/A/ekspor/pegawai.csv?periode={period.code}&semua=1").content.decode("utf-8-sig")), delimiter=";"))
    assert [row[5:7] for row in rows[1:]] == [["", ""]] * 3


def test_a_later_result_page_shows_no_change_against_a_cleared_period(client, cast, old):
    period, _files, _late = old
    later = create_period(period.year, 3, status="closed")
    mine = past_assessment(cast.staff, later, 4)
    retention.period_answers_delete(period=period)  # the later one is past retention too, but kept here
    client.force_login(cast.staff.user)
    page = client.get(f"/hasil/{mine.pk}/").content.decode()
    assert 'data-testid="index">75,0' in page
    assert "Periode sebelumnya" not in page


def test_the_admin_assessment_pages_still_open(client, cast, old):
    period, _files, late = old
    mine = SelfAssessment.objects.get(employee=cast.staff, period=period)
    run("--yes")
    client.force_login(cast.admin)
    assert client.get("/admin/assessments/selfassessment/").status_code == 200
    assert client.get(f"/admin/assessments/selfassessment/{mine.pk}/change/").status_code == 200
    assert client.get(f"/admin/assessments/assessmentperiod/{period.pk}/change/").status_code == 200
    assert client.get("/admin/assessments/assessmentevent/").status_code == 200


def test_an_assessment_whose_answers_are_deleted_can_no_longer_be_approved(old, cast, client):
    from assessments import permissions

    period, _files, _late = old
    submitted = SelfAssessment.objects.get(period=period, employee=cast.other)
    SelfAssessment.objects.filter(pk=submitted.pk).update(state="submitted")
    submitted.refresh_from_db()
    assert permissions.can_approve(cast.sibling_supervisor.user, submitted)
    run("--yes")
    submitted = SelfAssessment.objects.select_related("period", "unit", "employee").get(pk=submitted.pk)
    assert not permissions.can_approve(cast.sibling_supervisor.user, submitted)
    client.force_login(cast.sibling_supervisor.user)
    assert client.post(f"/tinjau/{submitted.pk}/setujui/").status_code == 302
    assert SelfAssessment.objects.get(pk=submitted.pk).state == "submitted"
    staff = client.get("/unit/B/pegawai/", {"periode": period.code}).content.decode()
    assert 'name="pilih"' not in staff

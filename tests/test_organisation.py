"""Rekap Instansi (/rekap/): every unit of the organisation as an indented tree with its
roll-up, compared with a second period, limited to a depth, exported to XLSX, in a fixed number
of queries whatever the size of the tree.

The scene (open period): A1: staff (AK rated 1, the rest 5: AK 0, others 100, index 83.33) and
colleague (all 4: 75); A: the supervisor (all 3: 50); B: the other (all 5: 100), B's supervisor
has not started; C: one person, not started. The closed period before: staff 50 (all 3); the one
before that: staff 25 (all 2).
"""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Max
from django.utils import translation
from openpyxl import load_workbook

from assessments import jobs, rollups, services, summaries
from assessments.models import AssessmentPeriod, Job, Pillar, WorkUnit
from assessments.templatetags.integrity import band, change, score

from .conftest import all_answers, create_period, make_employee, past_assessment, rekap_workbook, submitted_assessment


def submit(employee, period, default: int, **by_pillar: int):
    answers = all_answers(period, default, note="catatan")
    for pillar in period.questionnaire():
        for indicator in pillar.indicators.all():
            if pillar.pillar.code in by_pillar:
                answers[indicator.pk] = services.Answer(score=by_pillar[pillar.pillar.code], note="catatan")
    draft = services.assessment_save_draft(employee=employee, period=period, answers=answers, version=0, actor=employee.user)
    services.assessment_submit(assessment=draft, version=draft.version, actor=employee.user)


@pytest.fixture
def scene(request, cast, previous_period):
    tree = cast.tree
    older = create_period(previous_period.year, 3, status="closed")
    past_assessment(cast.staff, older, 2)
    past_assessment(cast.staff, previous_period, 3)
    period = request.getfixturevalue("period")
    c = WorkUnit.objects.add_child(WorkUnit.objects.get(pk=tree.root.pk), {"code": "C", "name": "Direktorat C"})
    make_employee("c1", c)
    submit(cast.staff, period, 5, AK=1)
    submit(cast.colleague, period, 4)
    submit(cast.supervisor, period, 3)
    submit(cast.other, period, 5)
    summaries.period_expected_refresh(period=period)
    return period, previous_period, older


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast.admin)
    return client


def rows_of(page: str) -> dict[str, list[tuple[str, str]]]:
    """{unit code: [(cell class, cell text), ...]} of the organisation table, in page order."""
    table = page[page.index('data-testid="organisation-table"') :]
    rows = {}
    for code, body in re.findall(r'<tr data-unit="([^"]+)">(.*?)</tr>', table, re.S):
        cells = re.findall(r'<td class="([^"]*)"[^>]*>(.*?)</td>', body, re.S)
        # The small-sample marker is read by test_small_samples_are_marked_with_a_legend.
        cells = [(cls, re.sub(r'<sup class="small-sample".*?</span>', "", text)) for cls, text in cells]
        rows[code] = [(cls.strip(), re.sub(r"<[^>]+>", "", text).strip()) for cls, text in cells]
    return rows


def pillar_id(code: str) -> int:
    return Pillar.objects.get(code=code).pk


def test_the_figures_are_the_roll_ups_of_each_unit(admin_client, scene):
    period, previous, _older = scene
    rows = rows_of(admin_client.get("/rekap/").content.decode())
    expected = rollups.rollups_of(units=list(rollups.tree_units(unit=None, period=period)), period=period, previous=previous)
    assert list(rows) == [r.unit.code for r in expected] == ["ROOT", "A", "A1", "B", "C"]
    pillars = list(period.pillars.order_by("order"))
    with translation.override("id"):
        for rollup in expected:
            texts = [text for _cls, text in rows[rollup.unit.code]][1:]
            shown_index = score(rollup.index_mean) if rollup.has_data else "belum ada data"
            assert texts == [
                str(rollup.counted), str(rollup.expected), score(rollup.participation), shown_index, change(rollup.index_change),
                "–", "",  # verified index and gap: nothing verified here
                *[score(rollup.pillar_mean(p.pillar_id)) for p in pillars],
            ], rollup.unit.code
            single = rollups.unit_rollup(unit=rollup.unit, period=period, previous=previous)
            assert (single.counted, single.expected, single.index_mean, single.index_change) == (
                rollup.counted, rollup.expected, rollup.index_mean, rollup.index_change
            )


def test_a_few_figures_by_hand(admin_client, scene):
    page = admin_client.get("/rekap/").content.decode()
    rows = {code: [text for _cls, text in cells] for code, cells in rows_of(page).items()}
    # A1: (83.33 + 75) / 2 = 79.2 against 50.0 before; AK (0 + 75) / 2 = 37.5; NT (100 + 75) / 2
    assert rows["A1"][1:6] == ["2", "2", "100,0", "79,2", "+29,2"]
    assert rows["A1"][6:8] == ["–", ""]  # nothing verified yet
    assert rows["A1"][8] == "37,5" and rows["A1"][9] == "87,5"
    # A: + the supervisor's 50: 69.4
    assert rows["A"][1:6] == ["3", "3", "100,0", "69,4", "+19,4"]
    # B: 100, its supervisor expected but not started; nothing before
    assert rows["B"][1:6] == ["1", "2", "50,0", "100,0", ""]
    # C: nobody submitted
    assert rows["C"][1:6] == ["0", "1", "0,0", "belum ada data", ""]
    # The whole organisation: (83.33 + 75 + 50 + 100) / 4 = 77.1, of 6 expected
    assert rows["ROOT"][1:5] == ["4", "6", "66,7", "77,1"]
    assert "Seluruh instansi: 4 dari 6 penilaian terhitung" in page and "<strong>77,1</strong>" in page


def test_cells_are_coloured_by_grade_band(admin_client, scene):
    period, _previous, _older = scene
    rows = rows_of(admin_client.get("/rekap/").content.decode())
    classes = {code: [cls for cls, _text in cells] for code, cells in rows.items()}
    order = [p.pillar.code for p in period.pillars.order_by("order")]
    ak, nt = 8 + order.index("AK"), 8 + order.index("NT")  # after the change and the two verified cells
    assert "grade-baik" in classes["A1"][4].split()  # index 79.2
    assert "grade-sangat_kurang" in classes["A1"][ak].split()  # AK 37.5
    assert "grade-baik" in classes["A1"][nt].split()  # NT 87.5
    assert "grade-butuh_perbaikan" in classes["A"][4].split()  # 69.4
    assert "grade-sangat_baik" in classes["B"][4].split() and "grade-sangat_baik" in classes["B"][ak].split()
    assert not any("grade-" in cls for cls in classes["C"])  # no data, no colour
    # every coloured pillar cell carries the band of the mean it shows
    for rollup in rollups.rollups_of(units=list(rollups.tree_units(unit=None, period=period)), period=period):
        for position, code in enumerate(order):
            mean = rollup.pillar_mean(pillar_id(code))
            if mean is not None:
                assert f"grade-{band(mean)}" in classes[rollup.unit.code][8 + position].split()


def test_the_comparison_period_changes_the_change_column(admin_client, scene):
    period, previous, older = scene
    page = admin_client.get("/rekap/").content.decode()
    assert f'<option value="{previous.code}" selected>' in page
    assert rows_of(page)["A1"][5][1] == "+29,2"  # against 50.0
    page = admin_client.get(f"/rekap/?periode={period.code}&banding={older.code}").content.decode()
    assert f'<option value="{older.code}" selected>' in page
    assert f"Perubahan dibanding {older}" in page
    assert rows_of(page)["A1"][5][1] == "+54,2"  # against 25.0
    assert "change-up" in rows_of(page)["A1"][5][0]
    # comparing the closed period with the open one: a fall
    page = admin_client.get(f"/rekap/?periode={previous.code}&banding={period.code}").content.decode()
    assert rows_of(page)["A1"][4][1] == "50,0" and rows_of(page)["A1"][5][1] == "−29,2"


@pytest.mark.parametrize(
    ("level", "codes"),
    [
        ("1", ["ROOT"]),
        ("2", ["ROOT", "A", "B", "C"]),
        ("3", ["ROOT", "A", "A1", "B", "C"]),
        ("99", ["ROOT", "A", "A1", "B", "C"]),
        ("0", ["ROOT"]),
        ("x", ["ROOT", "A", "A1", "B", "C"]),
    ],
)
def test_the_level_filter_limits_the_depth(admin_client, scene, level, codes):
    page = admin_client.get(f"/rekap/?tingkat={level}").content.decode()
    assert list(rows_of(page)) == codes
    # a unit's figures do not depend on how deep the table goes
    assert rows_of(page)["ROOT"][1][1] == "4"


def read_xlsx(response) -> list[list]:
    return [list(row) for row in load_workbook(io.BytesIO(response.getvalue())).active.iter_rows(values_only=True)]


def test_the_xlsx_export_has_an_indonesian_header_and_one_row_per_unit(admin_client, scene):
    period, previous, _older = scene
    response = rekap_workbook(admin_client)
    assert response.status_code == 200
    assert f'filename="rekap-instansi_{period.code}.xlsx"' in response["Content-Disposition"]
    rows = read_xlsx(response)
    pillars = [p.name for p in period.pillars.order_by("order")]
    assert rows[0] == [
        "Kode unit", "Unit kerja", "Tingkat", "Penilaian terhitung", "Pegawai wajib menilai", "Partisipasi (%)",
        "Indeks integritas", "Predikat", *pillars, f"Indeks {previous}", "Perubahan",
        "Penilaian terverifikasi", "Indeks terverifikasi", "Mandiri − terverifikasi",
    ]
    assert [row[0] for row in rows[1:]] == ["ROOT", "A", "A1", "B", "C"]
    by_code = {row[0]: row for row in rows[1:]}
    assert by_code["A1"][1:8] == ["    Subdirektorat A1", 3, 2, 2, 100.0, 79.2, "Baik"]
    assert by_code["A1"][8 + pillars.index("Anti-Korupsi")] == 37.5
    assert by_code["A1"][-5:] == [50.0, 29.2, 0, None, None]  # nothing verified yet
    assert by_code["C"][3:8] == [0, 1, 0.0, None, None]  # no index, no grade: empty cells
    assert by_code["ROOT"][3:7] == [4, 6, 66.7, 77.1]


def test_the_xlsx_export_follows_the_filters(admin_client, scene):
    _period, _previous, older = scene
    rows = read_xlsx(rekap_workbook(admin_client, f"tingkat=2&banding={older.code}"))
    assert [row[0] for row in rows[1:]] == ["ROOT", "A", "B", "C"]
    assert rows[0][-5] == f"Indeks {older}"
    assert {row[0]: row for row in rows[1:]}["A"][-4] == 44.4  # 69.4 against 25.0


def test_the_export_button_carries_the_same_filters(admin_client, scene):
    period, _previous, older = scene
    page = admin_client.get(f"/rekap/?periode={period.code}&banding={older.code}&tingkat=2").content.decode()
    form = re.search(r'<form method="post" action="/rekap/ekspor\.xlsx">(.*?)</form>', page, re.S).group(1)
    link = re.search(r'name="query" value="([^"]*)"', form).group(1).replace("&amp;", "&")
    assert sorted(link.split("&")) == sorted([f"periode={period.code}", f"banding={older.code}", "tingkat=2"])


# --- A fixed number of queries whatever the size of the tree -----------------------------------

# Session, user, the periods, the deepest level, the units, the summary rows (units, pillars)
# and the period's pillars: 8 for the export; the page adds the count of units (it shows 100
# units a page) and the organisation total (two reads of the root rows). The header's roles
# come from the session.
QUERIES_HTML = 15  # 11, and 4 for the verified figures (verification.verified_rollups)
QUERIES_XLSX = 14  # 8, 4 for the verified figures, and the job: its claim, read and finish, less the session and user the page needs


@pytest.fixture
def small_tree(db):
    """Three units (ROOT > X, ROOT > Y) with one submitted assessment, an open period and a
    closed one before it; and an admin."""
    root = WorkUnit.objects.add_root({"code": "ROOT", "name": "Kementerian Uji"})
    x = WorkUnit.objects.add_child(root, {"code": "X", "name": "Direktorat X"})
    WorkUnit.objects.add_child(WorkUnit.objects.get(pk=root.pk), {"code": "Y", "name": "Direktorat Y"})
    person = make_employee("satu", x)
    create_period(2030, 4, status="closed")
    period = create_period(2031, 1)
    AssessmentPeriod.objects.filter(pk=period.pk).update(opens_on="2000-01-01", closes_on="2100-12-31")
    period.refresh_from_db()
    submitted_assessment(person, period, 4)
    summaries.period_expected_refresh(period=period)
    return get_user_model().objects.create_superuser("kepala", "kepala@example.go.id", "sandi")


def grow_to(units: int) -> None:
    """Add units (two staff each, one submitting) alternately under X and Y, three levels deep."""
    period = AssessmentPeriod.objects.get(status="open")
    n = 0
    while WorkUnit.objects.count() < units:
        parent = WorkUnit.objects.get(code="X" if n % 2 == 0 else "Y")
        if n >= 4:
            parent = WorkUnit.objects.get(code=f"G{n % 4}")
        unit = WorkUnit.objects.add_child(parent, {"code": f"G{n}", "name": f"Seksi {n}"})
        submitted_assessment(make_employee(f"g{n}a", unit), period, 2 + n % 4)
        make_employee(f"g{n}b", unit)
        n += 1
    summaries.period_expected_refresh(period=period)


def test_the_same_number_of_queries_for_3_and_30_units(client, small_tree, django_assert_num_queries):
    client.force_login(small_tree)
    assert WorkUnit.objects.count() == 3
    client.get("/rekap/")  # the first page of a session also stores the header's roles in it
    with django_assert_num_queries(QUERIES_HTML):
        small = client.get("/rekap/")
    assert small.status_code == 200
    grow_to(30)
    assert WorkUnit.objects.count() == 30 and WorkUnit.objects.aggregate(deepest=Max("depth"))["deepest"] == 4
    with django_assert_num_queries(QUERIES_HTML):
        large = client.get("/rekap/")
    assert len(rows_of(large.content.decode())) == 30


def test_the_workbook_job_runs_the_same_number_of_queries_for_3_and_30_units(small_tree, django_assert_num_queries):
    def run() -> list:
        job = Job.objects.create(kind=Job.Kind.REKAP_XLSX, started_by=small_tree, params={"query": ""})
        with django_assert_num_queries(QUERIES_XLSX):
            jobs.job_run(job.pk)
        job.refresh_from_db()
        assert job.state == Job.State.DONE, job.error
        with job.result.open("rb") as file:
            return list(load_workbook(file).active.iter_rows(values_only=True))

    assert len(run()) == 4
    grow_to(30)
    assert len(run()) == 31


def test_small_samples_are_marked_with_a_legend_and_levels_have_names(admin_client, scene):
    period, _previous, _older = scene
    page = admin_client.get("/rekap/").content.decode()
    table = page[page.index('data-testid="organisation-table"') :]
    row = re.search(r'<tr data-unit="A1">(.*?)</tr>', table, re.S).group(1)
    assert '<sup class="small-sample" aria-hidden="true">*</sup><span class="visually-hidden"> sampel kecil</span>' in row
    legend = page[page.index('data-testid="heatmap-legend"') :]
    assert "Sangat Baik ≥ 90" in legend and "Sangat Kurang &lt; 40" in legend
    assert "sampel kecil: kurang dari 10 penilaian" in legend
    assert '<option value="1">Instansi</option>' in page and ">Eselon I</option>" in page
    assert f"{period} masih berjalan: angka-angka ini masih berubah" in page


def test_the_small_sample_mark_starts_below_ten_assessments():
    from types import SimpleNamespace

    from assessments.templatetags.integrity import small_sample

    assert [small_sample(SimpleNamespace(counted=n)) for n in (0, 1, 9, 10, 250)] == [False, True, True, False, False]

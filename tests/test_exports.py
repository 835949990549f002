"""CSV and XLSX exports of the sub-unit and staff tables."""

import csv
import datetime
import io

import pytest
from openpyxl import load_workbook

from assessments.models import Employee

from .conftest import submitted_assessment


@pytest.fixture
def data(cast, period):
    submitted_assessment(cast.staff, period, 4)
    submitted_assessment(cast.colleague, period, 2)
    submitted_assessment(cast.supervisor, period, 3)
    return period


def read_csv(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def read_xlsx(response):
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_sub_unit_export_has_the_period_and_unit_in_its_name_and_an_indonesian_header(client, cast, data, fmt):
    client.force_login(cast.supervisor.user)
    response = client.get(f"/unit/A/ekspor/sub-unit.{fmt}?periode={data.code}")
    assert response.status_code == 200
    assert f'filename="sub-unit_A_{data.code}.{fmt}"' in response["Content-Disposition"]
    rows = read_csv(response) if fmt == "csv" else read_xlsx(response)
    assert rows[0][:8] == ["Kode unit", "Unit kerja", "Tingkat", "Penilaian terhitung", "Pegawai wajib menilai",
                           "Partisipasi (%)", "Indeks integritas", "Predikat"]
    assert rows[0][8:] == [p.name for p in data.pillars.order_by("order")] + [
        "Penilaian terverifikasi", "Indeks terverifikasi", "Mandiri − terverifikasi"
    ]
    by_code = {row[0]: row for row in rows[1:]}
    # A1: 75 and 25 -> 50.0 (Kurang); A's own staff: the supervisor, 50.0
    assert set(by_code) == {"A1", "A"}
    a1 = by_code["A1"]
    # CSV: decimal commas, one decimal as on screen; XLSX: numbers.
    assert a1[3:7] == (["2", "2", "100,0", "50,0"] if fmt == "csv" else [2, 2, 100.0, 50.0])
    assert a1[7] == "Kurang"
    assert by_code["A"][1] == "Pegawai langsung di Direktorat A (bukan total)"


def test_sub_unit_export_follows_the_tree_view(client, cast, data):
    client.force_login(cast.admin)
    rows = read_csv(client.get(f"/unit/ROOT/ekspor/sub-unit.csv?periode={data.code}&tampilan=pohon"))
    assert [row[0] for row in rows[1:]] == ["A", "A1", "B"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_staff_export_lists_people_with_their_state_and_index(client, cast, data, fmt):
    client.force_login(cast.supervisor.user)
    response = client.get(f"/unit/A/ekspor/pegawai.{fmt}?periode={data.code}&semua=1")
    assert f'filename="pegawai_A_{data.code}.{fmt}"' in response["Content-Disposition"]
    rows = read_csv(response) if fmt == "csv" else read_xlsx(response)
    assert rows[0] == ["Nama", "NIP", "Jabatan", "Unit kerja", "Status", "Indeks integritas", "Predikat", "Dikirim pada"]
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {"Siti Staf", "Rudi Rekan", "Ratna Atasan"}
    assert by_name["Siti Staf"][4] == "Terkirim"
    assert by_name["Siti Staf"][5] in ("75,0", 75.0)  # CSV: a decimal comma; XLSX: a number
    assert by_name["Siti Staf"][6] == "Baik"
    assert by_name["Siti Staf"][1] == cast.staff.nip


def test_staff_export_respects_the_filters(client, cast, data):
    client.force_login(cast.supervisor.user)
    rows = read_csv(client.get(f"/unit/A/ekspor/pegawai.csv?periode={data.code}&semua=1&predikat=baik"))
    assert [row[0] for row in rows[1:]] == ["Siti Staf"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("evil", ["=cmd|' /C calc'!A0", "+SUM(1,1)", "-2+3", "@SUM(A1)"])
def test_cells_that_would_run_as_formulas_are_neutralised(client, cast, data, fmt, evil):
    Employee.objects.filter(pk=cast.staff.pk).update(full_name=evil, position=evil)
    client.force_login(cast.supervisor.user)
    response = client.get(f"/unit/A1/ekspor/pegawai.{fmt}?periode={data.code}")
    rows = read_csv(response) if fmt == "csv" else read_xlsx(response)
    row = next(r for r in rows if r[1] == cast.staff.nip)
    assert row[0] == "'" + evil and row[2] == "'" + evil
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert all(cell.data_type != "f" for r in sheet.iter_rows() for cell in r)


def test_the_english_interface_still_exports_an_indonesian_header(client, cast, data):
    client.force_login(cast.supervisor.user)
    client.post("/i18n/setlang/", {"language": "en"})
    rows = read_csv(client.get(f"/unit/A/ekspor/pegawai.csv?periode={data.code}"))
    assert rows[0][0] == "Nama"


def test_the_csv_is_for_excel_in_indonesian_and_the_xlsx_has_widths_a_filter_and_dates(client, cast, data):
    client.force_login(cast.supervisor.user)
    raw = client.get(f"/unit/A/ekspor/pegawai.csv?periode={data.code}&semua=1").content
    assert raw.startswith("\ufeff".encode()) and raw.decode("utf-8-sig").splitlines()[0].startswith("Nama;NIP;Jabatan;")
    response = client.get(f"/unit/A/ekspor/pegawai.xlsx?periode={data.code}&semua=1")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.auto_filter.ref == f"A1:H{sheet.max_row}"
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    assert sheet.column_dimensions["B"].width >= 18  # the 18 digits of a NIP fit
    submitted = [row[7] for row in sheet.iter_rows(min_row=2, values_only=True) if row[7] is not None]
    assert submitted and all(isinstance(value, datetime.datetime) for value in submitted)

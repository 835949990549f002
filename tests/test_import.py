"""The admin's import of work units and staff (CSV and XLSX): a dry run that lists every row's
problem and writes nothing, then a confirmation that writes everything or nothing."""

import io
import re
from pathlib import Path

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from assessments import services
from assessments.imports.staff import read_staff, staff_import
from assessments.models import Employee, UnitPeriodSummary, WorkUnit

from .conftest import PASSWORD, log_in, make_employee

STAFF_URL = "/admin/assessments/employee/import/"
STAFF_CONFIRM = "/admin/assessments/employee/import/confirm/"
UNITS_URL = "/admin/assessments/workunit/import/"
UNITS_CONFIRM = "/admin/assessments/workunit/import/confirm/"
STAFF_HEADER = ("NIP", "Nama", "Jabatan", "Kode Unit", "Email")


def nip(serial: int) -> str:
    """A valid NIP: born 1985-MM-DD, appointed 2010-MM, a serial."""
    month, day = 1 + serial % 12, 1 + serial % 28
    return f"1985{month:02d}{day:02d}2010{month:02d}{1 + serial % 2}{serial % 1000:03d}"


NEWCOMERS = [
    (nip(1), "Ani Baru", "Analis Kebijakan", "A1", "ani@example.go.id"),
    (nip(2), "Bayu Baru", "", "B", ""),
    (nip(3), "Citra Baru", "Arsiparis", "A", "citra@example.go.id"),
]


def csv_bytes(rows, header=STAFF_HEADER, delimiter=",", bom=False, encoding="utf-8") -> bytes:
    lines = [delimiter.join(header), *(delimiter.join(row) for row in rows)]
    return ("\ufeff" if bom else "").encode(encoding) + "\r\n".join(lines).encode(encoding) + b"\r\n"


def xlsx_bytes(rows, header=STAFF_HEADER) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(client, url, name, data):
    return client.post(url, {"file": SimpleUploadedFile(name, data)})


def confirm(client, url, response):
    return client.post(url, {"token": response.context["token"]})


def kept_files(settings):
    folder = Path(settings.PRIVATE_STORAGE_ROOT) / "imports"
    return sorted(folder.iterdir()) if folder.exists() else []


def snapshot():
    return (
        sorted(Employee.objects.values_list("nip", "full_name", "position", "unit__code", "is_active", "user__email")),
        get_user_model().objects.count(),
        sorted(WorkUnit.objects.values_list("code", "name", "path")),
        Employee.history.count(),
        WorkUnit.history.count(),
    )


def error_messages(response) -> list[str]:
    return [f"{e.row}|{e.column}|{e.message}" for e in response.context["result"].errors]


@pytest.fixture
def admin_client(client, cast):
    client.force_login(cast.admin)
    return client


# --- Staff: the good path ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("pegawai.csv", csv_bytes(NEWCOMERS)),
        ("pegawai.csv", csv_bytes(NEWCOMERS, delimiter=";", bom=True)),
        ("pegawai.xlsx", xlsx_bytes(NEWCOMERS)),
    ],
    ids=["comma", "semicolon-with-bom", "xlsx"],
)
def test_a_good_staff_file_is_previewed_then_created_on_confirm(admin_client, cast, settings, name, data):
    before = snapshot()
    preview = upload(admin_client, STAFF_URL, name, data)
    assert preview.status_code == 200
    result = preview.context["result"]
    assert (result.created, result.updated, result.unchanged, result.errors) == (3, 0, 0, [])
    page = preview.content.decode()
    assert "Konfirmasi impor" in page and "Pratinjau" in page
    assert snapshot() == before  # the dry run writes nothing
    assert len(kept_files(settings)) == 1

    response = confirm(admin_client, STAFF_CONFIRM, preview)
    assert response.status_code == 302
    assert response["Location"] == "/admin/assessments/employee/"
    ani = Employee.objects.select_related("user", "unit").get(nip=nip(1))
    assert (ani.full_name, ani.position, ani.unit.code, ani.is_active) == ("Ani Baru", "Analis Kebijakan", "A1", True)
    assert ani.user.username == nip(1) and ani.user.email == "ani@example.go.id"
    assert not ani.user.has_usable_password()
    assert ani.user.first_name == "Ani Baru"
    bayu = Employee.objects.select_related("user").get(nip=nip(2))
    assert bayu.position == "" and bayu.user.email == ""
    record = ani.history.get()
    assert record.history_type == "+" and record.history_user == cast.admin
    assert kept_files(settings) == []  # the kept upload is gone
    followed = admin_client.get(response["Location"]).content.decode()
    assert "Impor selesai: 3 baru, 0 berubah, 0 tidak berubah." in followed


def test_a_new_person_can_log_in_with_their_nip_after_choosing_a_password(admin_client, cast):
    preview = upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS[:1]))
    confirm(admin_client, STAFF_CONFIRM, preview)
    user = get_user_model().objects.get(username=nip(1))
    user.set_password(PASSWORD)  # what "Lupa kata sandi" ends with
    user.save()
    assert log_in(Client(), nip(1))


def test_reimporting_the_same_file_changes_nothing(admin_client, cast):
    data = csv_bytes(NEWCOMERS)
    confirm(admin_client, STAFF_CONFIRM, upload(admin_client, STAFF_URL, "pegawai.csv", data))
    before = snapshot()
    again = upload(admin_client, STAFF_URL, "pegawai.csv", data)
    result = again.context["result"]
    assert (result.created, result.updated, result.unchanged) == (0, 0, 3)
    response = confirm(admin_client, STAFF_CONFIRM, again)
    assert response.status_code == 302
    assert snapshot() == before  # not even a history record


def test_an_existing_person_is_updated_and_the_rest_left_alone(admin_client, cast):
    staff = cast.staff
    row = (staff.nip, "Siti Staf Pindah", "Analis Senior", "B", "")  # empty e-mail keeps the stored one
    preview = upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes([row]))
    result = preview.context["result"]
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert [change.field for change in result.changes[0].changes] == ["full_name", "position", "unit"]
    page = preview.content.decode()
    assert "Siti Staf → Siti Staf Pindah" in page and "A1 → B" in page

    colleague_before = Employee.objects.filter(pk=cast.colleague.pk).values().get()
    confirm(admin_client, STAFF_CONFIRM, preview)
    staff.refresh_from_db()
    assert (staff.full_name, staff.position, staff.unit, staff.user.email) == ("Siti Staf Pindah", "Analis Senior", cast.tree.b, "staff@example.go.id")
    assert staff.user.first_name == "Siti Staf Pindah"
    latest = staff.history.first()
    assert latest.history_type == "~" and latest.history_user == cast.admin
    assert "unit kerja" in latest.history_change_reason
    assert Employee.objects.filter(pk=cast.colleague.pk).values().get() == colleague_before


def test_an_email_change_is_written_and_leaves_a_history_record(admin_client, cast):
    staff = cast.staff
    row = (staff.nip, staff.full_name, staff.position, "A1", "siti.baru@example.go.id")
    preview = upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes([row]))
    assert preview.context["result"].updated == 1
    confirm(admin_client, STAFF_CONFIRM, preview)
    staff.refresh_from_db()
    assert staff.user.email == "siti.baru@example.go.id"
    assert "surel" in staff.history.first().history_change_reason


def test_a_file_without_jabatan_and_email_columns_keeps_what_is_stored(admin_client, cast):
    staff = cast.staff
    data = csv_bytes([(staff.nip, staff.full_name, "A1")], header=("nip", "NAMA", "kode_unit"))
    preview = upload(admin_client, STAFF_URL, "pegawai.csv", data)
    assert preview.context["result"].unchanged == 1


def test_headers_are_matched_loosely_and_nips_may_carry_spaces(admin_client, cast):
    spaced = f"{nip(1)[:8]} {nip(1)[8:14]} {nip(1)[14]} {nip(1)[15:]}"
    data = csv_bytes([(spaced, "Ani", "", "A1", "ani@example.go.id")], header=("N I P", "nama", "JABATAN", "Kode-Unit", "E-mail"))
    preview = upload(admin_client, STAFF_URL, "pegawai.csv", data)
    assert preview.context["result"].created == 1
    confirm(admin_client, STAFF_CONFIRM, preview)
    assert Employee.objects.filter(nip=nip(1), user__email="ani@example.go.id").exists()


def test_an_inactive_person_in_the_file_is_active_again(admin_client, cast):
    Employee.objects.filter(pk=cast.other.pk).update(is_active=False)
    other = cast.other
    preview = upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes([(other.nip, other.full_name, other.position, "B", "")]))
    assert [c.field for c in preview.context["result"].changes[0].changes] == ["is_active"]
    confirm(admin_client, STAFF_CONFIRM, preview)
    assert Employee.objects.get(pk=other.pk).is_active


def test_an_existing_account_named_after_the_nip_is_linked(admin_client, cast):
    account = get_user_model().objects.create_user(username=nip(1), password=PASSWORD)
    preview = upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS[:1]))
    confirm(admin_client, STAFF_CONFIRM, preview)
    employee = Employee.objects.get(nip=nip(1))
    assert employee.user == account
    account.refresh_from_db()
    assert account.email == "ani@example.go.id" and account.check_password(PASSWORD)


def test_the_open_period_expects_the_new_staff(admin_client, cast, period):
    before = UnitPeriodSummary.objects.get(unit=cast.tree.a1, period=period).expected
    confirm(admin_client, STAFF_CONFIRM, upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS)))
    assert UnitPeriodSummary.objects.get(unit=cast.tree.a1, period=period).expected == before + 1


def test_the_import_button_is_on_both_changelists(admin_client, cast):
    for url in ("/admin/assessments/employee/", "/admin/assessments/workunit/"):
        page = admin_client.get(url).content.decode()
        assert f'href="{url}import/"' in page and ">Impor<" in page


def test_the_upload_page_names_the_columns(admin_client, cast):
    page = admin_client.get(STAFF_URL).content.decode()
    for column in STAFF_HEADER:
        assert f"<code>{column}</code>" in page
    assert "Pratinjau" in page
    assert "<script" not in page.split('id="content-main"')[1] and "style=" not in page


# --- Staff: bad input --------------------------------------------------------------------------


def assert_refused(client, url, name, data, expected: str, settings, status=None):
    before = snapshot()
    response = upload(client, url, name, data)
    if status is not None:
        assert response.status_code == status
    page = response.content.decode()
    assert expected in page, page
    assert "Konfirmasi impor" not in page
    assert "token" not in (response.context or {}) or not response.context["token"]
    assert snapshot() == before
    assert kept_files(settings) == []
    return response


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("pegawai.csv", csv_bytes(NEWCOMERS, header=("NIP", "Nama", "Jabatan", "Email")), "Kolom tidak ada: Kode Unit"),
        ("pegawai.csv", "NIP,Nama,Kode Unit\r\n198501012010011001,José Müller,A1\r\n".encode("latin-1"), "CSV UTF-8"),
        ("pegawai.csv", b"", "kosong"),
        # A NUL passed the preview and was a 500 at the confirmation on PostgreSQL (tests/test_fuzz.py).
        ("pegawai.csv", b"NIP,Nama,Kode Unit\r\n198501012010011001,Ani\x00Baru,A1\r\n", "CSV UTF-8"),
        ("pegawai.csv", "NIP,Nama,Kode Unit\r\n198501012010011001,Ani Baru,A1\r\n".encode("utf-16-le"), "CSV UTF-8"),
        ("pegawai.csv", b"\r\n ; ; \r\n", "Berkas kosong."),
        ("pegawai.csv", csv_bytes([]), "tidak ada baris data"),
        ("pegawai.xlsx", b"PK\x03\x04 this is not really a workbook", "Berkas XLSX tidak dapat dibaca"),
        ("pegawai.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "Excel 97-2003"),
        ("pegawai.pdf", b"%PDF-1.4", "Pilih berkas .csv atau .xlsx"),
        ("pegawai.csv", csv_bytes(NEWCOMERS, header=("NIP", "Nama", "Nama", "Kode Unit", "Email")), "muncul dua kali"),
    ],
    ids=["missing-column", "latin-1", "empty", "nul", "utf-16-without-bom", "blank", "header-only", "broken-xlsx", "xls", "pdf", "duplicate-column"],
)
def test_a_file_that_cannot_be_read_is_refused_with_a_clear_message(admin_client, cast, settings, name, data, expected):
    assert_refused(admin_client, STAFF_URL, name, data, expected, settings, status=400)


def test_a_ten_megabyte_file_is_refused(admin_client, cast, settings):
    data = csv_bytes(NEWCOMERS) + b"#" * (10 * 1024 * 1024)
    assert_refused(admin_client, STAFF_URL, "besar.csv", data, "batasnya 5.0 MB", settings, status=400)


def test_the_size_limit_is_a_setting(admin_client, cast, settings):
    settings.IMPORT_MAX_BYTES = 100
    assert_refused(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS), "batasnya 0.0 MB", settings, status=400)


def test_every_bad_row_of_a_thousand_is_listed(admin_client, cast, settings):
    rows = [(f"12345{i:04d}", f"Orang {i}", "", "A1", "") for i in range(1000)]
    response = assert_refused(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(rows), "NIP terdiri atas tepat 18 angka.", settings)
    errors = response.context["result"].errors
    assert [e.row for e in errors] == list(range(2, 1002))
    page = response.content.decode()
    assert page.count("NIP terdiri atas tepat 18 angka.") == 1000
    assert "<td>1001</td>" in page


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ((nip(1)[:-1], "Ani", "", "A1", ""), "NIP|NIP terdiri atas tepat 18 angka."),
        (("198513012010011001", "Ani", "", "A1", ""), "NIP|Tanggal lahir"),
        (("", "Ani", "", "A1", ""), "NIP|NIP belum diisi."),
        (("1.98501E+17", "Ani", "", "A1", ""), "NIP|notasi ilmiah"),
        ((nip(1), "", "", "A1", ""), "Nama|Nama belum diisi."),
        ((nip(1), "Ani", "", "ZZ", ""), "Kode Unit|Tidak ada unit kerja dengan kode “ZZ”"),
        ((nip(1), "Ani", "", "", ""), "Kode Unit|Kode unit belum diisi."),
        ((nip(1), "Ani", "", "A1", "ani@"), "Email|“ani@” bukan alamat surel yang valid."),
        ((nip(1), "A" * 201, "", "A1", ""), "Nama|Paling banyak 200 karakter"),
    ],
    ids=["short-nip", "bad-birth-date", "no-nip", "scientific-nip", "no-name", "unknown-unit", "no-unit", "bad-email", "long-name"],
)
def test_a_bad_row_is_named_with_its_row_column_and_problem(admin_client, cast, settings, row, expected):
    before = snapshot()
    response = upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes([row, NEWCOMERS[1]]))
    messages = error_messages(response)
    column, fragment = expected.split("|", 1)
    assert len(messages) == 1 and messages[0].startswith(f"2|{column}|") and fragment in messages[0], messages
    assert response.context["result"].created == 1  # the good row is still planned...
    assert "Konfirmasi impor" not in response.content.decode()  # ...but nothing can be confirmed
    assert snapshot() == before
    assert kept_files(settings) == []


def test_a_duplicate_nip_names_the_first_row(admin_client, cast, settings):
    rows = [NEWCOMERS[0], NEWCOMERS[1], (nip(1), "Ani Kembar", "", "B", "")]
    response = assert_refused(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(rows), "NIP ini sudah ada di baris 2.", settings)
    assert error_messages(response) == ["4|NIP|NIP ini sudah ada di baris 2."]


def test_a_nip_stored_as_a_number_in_xlsx_is_refused(admin_client, cast, settings):
    rows = [(int(nip(1)), "Ani", "", "A1", ""), NEWCOMERS[1]]
    response = assert_refused(admin_client, STAFF_URL, "pegawai.xlsx", xlsx_bytes(rows), "Format kolom NIP sebagai Teks", settings)
    assert [e.row for e in response.context["result"].errors] == [2]


def test_xlsx_row_numbers_count_blank_rows_like_the_spreadsheet(admin_client, cast):
    rows = [NEWCOMERS[0], (None,) * 5, ("123", "Rusak", "", "A1", "")]
    response = upload(admin_client, STAFF_URL, "pegawai.xlsx", xlsx_bytes(rows))
    assert [e.row for e in response.context["result"].errors] == [4]


def test_an_unknown_unit_in_an_otherwise_good_file_writes_nothing(admin_client, cast, settings):
    rows = [*NEWCOMERS, (nip(9), "Dodi", "", "TIDAK-ADA", "")]
    assert_refused(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(rows), "TIDAK-ADA", settings)


def test_an_inactive_unit_is_refused(admin_client, cast, settings):
    WorkUnit.objects.filter(code="B").update(is_active=False)
    assert_refused(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS), "tidak aktif lagi", settings)


def test_a_login_name_taken_by_another_employee_is_refused(admin_client, cast, settings):
    taken = make_employee(nip(1), cast.tree.a1)  # user name nip(1), but a different NIP
    assert taken.nip != nip(1)
    assert_refused(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS[:1]), f"NIP {taken.nip}", settings)


def test_the_import_never_changes_an_administrators_email(admin_client, cast, settings):
    cast.supervisor.user.is_staff = True
    cast.supervisor.user.save()
    row = (cast.supervisor.nip, cast.supervisor.full_name, cast.supervisor.position, "A", "penyerang@example.com")
    assert_refused(admin_client, STAFF_URL, "pegawai.csv", csv_bytes([row]), "hak administrasi", settings)


# --- Work units ----------------------------------------------------------------------------------

UNIT_HEADER = ("Kode", "Nama", "Kode Induk")


def test_units_are_created_under_parents_defined_later_in_the_file(admin_client, cast, settings):
    rows = [
        ("C11", "Seksi C11", "C1"),
        ("C1", "Subdirektorat C1", "C"),
        ("C", "Direktorat C", "ROOT"),
        ("X", "Kementerian Lain", ""),
        ("A1", "Subdirektorat A1 Baru", "A"),  # renamed
    ]
    before = snapshot()
    preview = upload(admin_client, UNITS_URL, "unit.csv", csv_bytes(rows, header=UNIT_HEADER, delimiter=";"))
    result = preview.context["result"]
    assert (result.created, result.updated, result.unchanged, result.errors) == (4, 1, 0, [])
    assert snapshot() == before
    confirm(admin_client, UNITS_CONFIRM, preview)
    c11 = WorkUnit.objects.get(code="C11")
    assert [u.code for u in WorkUnit.objects.get_ancestors(c11)] == ["ROOT", "C", "C1"]
    assert WorkUnit.objects.get(code="X").depth == 1
    assert WorkUnit.objects.get(code="A1").name == "Subdirektorat A1 Baru"
    assert WorkUnit.objects.get(code="C").history.get().history_user == cast.admin
    assert WorkUnit.objects.get(code="A1").history.first().history_type == "~"
    assert WorkUnit.objects.find_problems() == ([], [], [], [], [])
    assert kept_files(settings) == []


def test_a_unit_whose_parent_changes_moves_with_its_subtree(admin_client, cast):
    staff = cast.staff  # in A1, below A
    preview = upload(admin_client, UNITS_URL, "unit.xlsx", xlsx_bytes([("A", "Direktorat A", "B")], header=UNIT_HEADER))
    assert [(c.field, c.old, c.new) for c in preview.context["result"].changes[0].changes] == [("parent", "ROOT", "B")]
    confirm(admin_client, UNITS_CONFIRM, preview)
    b = WorkUnit.objects.get(code="B")
    assert sorted(b.subtree().values_list("code", flat=True)) == ["A", "A1", "B"]
    staff.refresh_from_db()
    assert staff.unit.is_within(b)
    assert "induk" in WorkUnit.objects.get(code="A").history.first().history_change_reason
    assert WorkUnit.objects.find_problems() == ([], [], [], [], [])


def test_an_empty_parent_code_makes_an_existing_unit_a_top_level_unit(admin_client, cast):
    preview = upload(admin_client, UNITS_URL, "unit.csv", csv_bytes([("A", "Direktorat A", "")], header=UNIT_HEADER))
    assert [(c.field, c.old, c.new) for c in preview.context["result"].changes[0].changes] == [("parent", "ROOT", "–")]
    confirm(admin_client, UNITS_CONFIRM, preview)
    a = WorkUnit.objects.get(code="A")
    assert a.depth == 1 and sorted(a.subtree().values_list("code", flat=True)) == ["A", "A1"]
    assert sorted(WorkUnit.objects.get(code="ROOT").subtree().values_list("code", flat=True)) == ["B", "ROOT"]
    assert WorkUnit.objects.find_problems() == ([], [], [], [], [])


def test_reimporting_a_units_file_changes_nothing(admin_client, cast):
    data = csv_bytes([("C", "Direktorat C", "ROOT"), ("C1", "Sub C1", "C")], header=UNIT_HEADER)
    confirm(admin_client, UNITS_CONFIRM, upload(admin_client, UNITS_URL, "unit.csv", data))
    before = snapshot()
    again = upload(admin_client, UNITS_URL, "unit.csv", data)
    assert (again.context["result"].created, again.context["result"].updated, again.context["result"].unchanged) == (0, 0, 2)
    confirm(admin_client, UNITS_CONFIRM, again)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("C", "Direktorat C", "D"), ("D", "Direktorat D", "C")], ["2|Kode Induk|Unit induk membentuk lingkaran: C → D → C.", "3|Kode Induk|Unit induk membentuk lingkaran: C → D → C."]),
        ([("A", "Direktorat A", "A1")], ["2|Kode Induk|Unit induk membentuk lingkaran: A → A1 → A."]),
        ([("C", "Direktorat C", "C")], ["2|Kode Induk|Unit tidak dapat menjadi induk dirinya sendiri."]),
        ([("C", "Direktorat C", "TIDAK-ADA")], ["2|Kode Induk|Tidak ada unit dengan kode “TIDAK-ADA”, baik di basis data maupun di berkas ini."]),
        ([("C", "Direktorat C", "ROOT"), ("C", "Direktorat C lagi", "ROOT")], ["3|Kode|Kode ini sudah ada di baris 2."]),
        ([("C D", "Direktorat C", "ROOT")], ["2|Kode|Gunakan huruf, angka, titik, tanda hubung, dan garis bawah saja."]),
    ],
    ids=["loop-in-file", "loop-with-database", "own-parent", "unknown-parent", "duplicate-code", "bad-code"],
)
def test_bad_unit_rows_are_named_and_nothing_is_written(admin_client, cast, settings, rows, expected):
    before = snapshot()
    response = upload(admin_client, UNITS_URL, "unit.csv", csv_bytes(rows, header=UNIT_HEADER))
    assert error_messages(response) == expected
    assert "Konfirmasi impor" not in response.content.decode()
    assert snapshot() == before
    assert kept_files(settings) == []


def test_a_units_file_without_the_parent_column_is_refused(admin_client, cast, settings):
    data = csv_bytes([("C", "Direktorat C")], header=("Kode", "Nama"))
    assert_refused(admin_client, UNITS_URL, "unit.csv", data, "Kolom tidak ada: Kode Induk", settings, status=400)


# --- Who may import, and the confirmation step ----------------------------------------------------


@pytest.mark.parametrize("who", ["supervisor", "staff"])
@pytest.mark.parametrize("url", [STAFF_URL, STAFF_CONFIRM, UNITS_URL, UNITS_CONFIRM])
def test_supervisors_and_staff_are_refused(client, cast, who, url):
    client.force_login(getattr(cast, who).user)
    before = snapshot()
    assert client.get(url).status_code in (403, 404)
    assert client.post(url, {"file": SimpleUploadedFile("pegawai.csv", csv_bytes(NEWCOMERS)), "token": "x" * 43}).status_code in (403, 404)
    assert snapshot() == before


def test_an_admin_without_add_and_change_permission_is_refused(client, cast):
    from django.contrib.auth.models import Permission

    user = cast.staff.user
    user.is_staff = True
    user.save()
    # An admin (the organisation-wide permission lets them into the admin) who may change staff
    # but not add them.
    user.user_permissions.add(
        Permission.objects.get(codename="view_organisation"),
        Permission.objects.get(codename="change_employee"),
        Permission.objects.get(codename="view_employee"),
    )
    client.force_login(user)
    assert client.get("/admin/assessments/employee/").status_code == 200
    assert "Impor" not in client.get("/admin/assessments/employee/").content.decode()
    assert client.get(STAFF_URL).status_code == 403


def test_an_admin_kepegawaian_may_import(client, cast):
    from django.contrib.auth.models import Group

    user = cast.staff.user
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name="Admin Kepegawaian"))
    client.force_login(user)
    preview = upload(client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS))
    assert preview.status_code == 200
    assert confirm(client, STAFF_CONFIRM, preview).status_code == 302
    assert Employee.objects.filter(nip=nip(1)).exists()


def test_the_anonymous_are_sent_to_log_in(client, cast):
    response = client.get(STAFF_URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_csrf_is_enforced_on_upload_and_confirm(cast, settings):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.admin)
    before = snapshot()
    assert upload(client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS)).status_code == 403
    assert client.post(STAFF_CONFIRM, {"token": "x" * 43}).status_code == 403
    assert snapshot() == before and kept_files(settings) == []


def test_confirm_needs_a_post(admin_client, cast):
    assert admin_client.get(STAFF_CONFIRM).status_code == 405


@pytest.mark.parametrize("token", ["", "x" * 43, "../../../etc/passwd", "A" * 500])
def test_a_tampered_token_writes_nothing(admin_client, cast, settings, token):
    upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS))
    before = snapshot()
    response = admin_client.post(STAFF_CONFIRM, {"token": token})
    assert response.status_code == 302 and response["Location"] == STAFF_URL
    assert snapshot() == before
    assert "Pratinjau ini tidak berlaku lagi" in admin_client.get(STAFF_URL).content.decode()


def test_a_token_from_another_session_writes_nothing(admin_client, cast):
    preview = upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS))
    other = Client()
    other.force_login(cast.admin)  # the same admin, another browser
    before = snapshot()
    assert confirm(other, STAFF_CONFIRM, preview).status_code == 302
    assert snapshot() == before
    assert confirm(admin_client, STAFF_CONFIRM, preview).status_code == 302  # its own session still may
    assert Employee.objects.filter(nip=nip(1)).exists()


def test_a_stale_tab_cannot_confirm_a_newer_upload(admin_client, cast, settings):
    first = upload(admin_client, STAFF_URL, "satu.csv", csv_bytes(NEWCOMERS[:1]))
    upload(admin_client, STAFF_URL, "dua.csv", csv_bytes(NEWCOMERS[1:]))
    assert len(kept_files(settings)) == 1  # the first upload's file is dropped
    before = snapshot()
    confirm(admin_client, STAFF_CONFIRM, first)
    assert snapshot() == before


def test_a_second_confirm_of_the_same_preview_writes_nothing(admin_client, cast):
    preview = upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS))
    confirm(admin_client, STAFF_CONFIRM, preview)
    before = snapshot()
    assert confirm(admin_client, STAFF_CONFIRM, preview).status_code == 302
    assert snapshot() == before


def test_the_kept_upload_is_private(admin_client, cast, settings):
    upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS))
    [kept] = kept_files(settings)
    assert kept.parent == Path(settings.PRIVATE_STORAGE_ROOT) / "imports"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", kept.name)
    assert kept.stat().st_mode & 0o077 == 0


def test_confirm_checks_the_file_again(admin_client, cast, settings):
    preview = upload(admin_client, STAFF_URL, "pegawai.csv", csv_bytes(NEWCOMERS))
    WorkUnit.objects.filter(code="B").update(is_active=False)  # changed between preview and confirm
    before = snapshot()
    response = confirm(admin_client, STAFF_CONFIRM, preview)
    assert response.status_code == 200
    assert "tidak aktif lagi" in response.content.decode()
    assert snapshot() == before
    assert kept_files(settings) == []


def test_the_service_refuses_rows_that_no_longer_fit_and_writes_nothing(cast):
    rows = read_staff(csv_bytes(NEWCOMERS), "pegawai.csv").rows
    WorkUnit.objects.filter(code="B").update(is_active=False)
    before = snapshot()
    with pytest.raises(services.ServiceError, match="Tidak ada yang diimpor"):
        staff_import(rows=rows, actor=cast.admin)
    assert snapshot() == before


def test_the_english_interface_gets_english_messages(admin_client, cast):
    admin_client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = upload(admin_client, STAFF_URL, "pegawai.csv", b"NIP,Nama\r\nx,y\r\n")
    assert "Missing column(s): Kode Unit." in response.content.decode()

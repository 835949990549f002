"""The staff import reads a SIASN staff export as it is (BKN's headings through the one table of
aliases, the unit by its code or its name) and its supervisor relations (NIP Atasan, Kepala
Unit), mapped onto supervisor assignments: previewed with every row's problem, written with the
staff in one transaction, and a second import of the same file changes nothing.

The fixture tests/fixtures/siasn_pegawai.csv is an export of the test tree (ROOT > A > A1,
ROOT > B) as SIASN writes it: semicolons, capitals, PNS ID, NIP Lama and birth data that the app
does not keep. Two of its people exist already: Ratna heads A, and Oki (of B) heads A1, which
the file corrects (Dewi heads A1)."""

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from assessments import services
from assessments.imports.staff import read_staff, staff_import
from assessments.models import Employee, SupervisorAssignment, WorkUnit

from .conftest import PASSWORD

STAFF_URL = "/admin/assessments/employee/import/"
STAFF_CONFIRM = "/admin/assessments/employee/import/confirm/"
FIXTURE = Path(__file__).parent / "fixtures" / "siasn_pegawai.csv"

HENDRA, RATNA, DEWI, SITI, RINA, BIMA, OKI = (
    "196805121990031002",
    "197204101998032001",
    "198003252005012003",
    "199001012015031004",
    "199205052016032005",
    "197707072002121006",
    "198808082012012007",
)


def siasn_rows() -> list[list[str]]:
    """The fixture's rows, its heading first."""
    return list(csv.reader(io.StringIO(FIXTURE.read_text(encoding="utf-8")), delimiter=";"))


def siasn_xlsx(rows: list[list[str]]) -> bytes:
    """The same export as an XLSX workbook; NIPs are text cells, as SIASN writes them."""
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_file(rows, delimiter=";") -> bytes:
    return "\r\n".join(delimiter.join(row) for row in rows).encode() + b"\r\n"


def person(nip: str, name: str, unit: WorkUnit, *, heads: WorkUnit | None = None, position: str = "Analis") -> Employee:
    user = get_user_model().objects.create_user(username=nip, password=PASSWORD, email=f"{nip[-3:]}@example.go.id")
    employee = Employee.objects.create(user=user, nip=nip, full_name=name, position=position, unit=unit)
    if heads is not None:
        SupervisorAssignment.objects.create(employee=employee, unit=heads)
    return employee


@pytest.fixture
def org(tree, client):
    """The test tree, an admin logged in, Ratna heading A and Oki (of B) heading A1."""
    admin = get_user_model().objects.create_superuser("admin", "admin@example.go.id", PASSWORD)
    client.force_login(admin)
    person(RATNA, "Ratna Atasan", tree.a, heads=tree.a, position="Direktur")
    person(OKI, "Oki Lain", tree.b, heads=tree.a1)
    return tree


def upload(client, name: str, data: bytes):
    return client.post(STAFF_URL, {"file": SimpleUploadedFile(name, data)})


def confirm(client, preview):
    return client.post(STAFF_CONFIRM, {"token": preview.context["token"]})


def heads() -> set[tuple[str, str]]:
    return set(SupervisorAssignment.objects.values_list("employee__nip", "unit__code"))


def snapshot():
    return (
        sorted(Employee.objects.values_list("nip", "full_name", "position", "unit__code", "is_active", "user__email")),
        sorted(heads()),
        get_user_model().objects.count(),
        Employee.history.count(),
        SupervisorAssignment.history.count(),
    )


def errors_of(response) -> list[str]:
    return [f"{error.row}|{error.column}|{error.message}" for error in response.context["result"].errors]


def planned(result) -> tuple[set, set]:
    return (
        {(head.nip, head.unit.code, head.rows) for head in result.heads_added},
        {(head.nip, head.unit.code) for head in result.heads_removed},
    )


EXPECTED_ADDED = {(HENDRA, "ROOT", (2, 3, 7)), (DEWI, "A1", (4, 5, 6)), (BIMA, "B", (7, 8))}


# --- The SIASN export ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_siasn_export_is_previewed_with_the_heads_it_adds_and_removes(client, org, kind):
    rows = siasn_rows()
    data = csv_file(rows) if kind == "csv" else siasn_xlsx(rows)
    before = snapshot()
    preview = upload(client, f"siasn.{kind}", data)
    assert preview.status_code == 200
    result = preview.context["result"]
    assert result.errors == []
    assert (result.created, result.updated, result.unchanged) == (5, 0, 2)
    assert planned(result) == (EXPECTED_ADDED, {(OKI, "A1")})
    assert result.ignored_columns == ["PNS ID", "NIP LAMA", "TEMPAT LAHIR", "TANGGAL LAHIR", "JENIS KELAMIN", "UNOR INDUK NAMA"]
    page = preview.content.decode()
    assert "Kolom yang diabaikan" in page and "<code>NIP LAMA</code>" in page
    assert "Kepala unit: 3 ditambah, 1 dihapus." in page
    assert "menjadi kepala" in page and "tidak lagi mengepalai" in page
    assert "Subdirektorat A1 (A1)" in page and "Oki Lain" in page
    assert "Konfirmasi impor" in page
    assert snapshot() == before  # the preview writes nothing


def test_confirming_writes_the_staff_and_the_heads_together(client, org):
    preview = upload(client, "siasn.csv", csv_file(siasn_rows()))
    response = confirm(client, preview)
    assert response.status_code == 302
    assert heads() == {(HENDRA, "ROOT"), (RATNA, "A"), (DEWI, "A1"), (BIMA, "B")}
    hendra = Employee.objects.select_related("unit", "user").get(nip=HENDRA)
    # The titles SIASN keeps apart are joined as a letter writes the name.
    assert (hendra.full_name, hendra.position, hendra.unit.code, hendra.user.email) == (
        "Dr. Hendra Kepala, M.Si.", "Sekretaris Jenderal", "ROOT", "hendra@example.go.id",
    )
    assert Employee.objects.get(nip=DEWI).full_name == "Dewi Kasubdit, S.E."
    assert Employee.objects.get(nip=BIMA).full_name == "Ir. Bima Saudara"
    assert not Employee.objects.filter(nip="060012345").exists()  # NIP Lama is not a NIP
    records = SupervisorAssignment.history.select_related("history_user")
    written = {(r.history_type, r.employee.nip, r.unit.code): r.history_user for r in records if r.history_user is not None}
    assert {key: user.username for key, user in written.items()} == {
        ("+", HENDRA, "ROOT"): "admin", ("+", DEWI, "A1"): "admin", ("+", BIMA, "B"): "admin", ("-", OKI, "A1"): "admin",
    }
    page = client.get(response["Location"]).content.decode()
    assert "Impor selesai: 5 baru, 0 berubah, 2 tidak berubah. Kepala unit: 3 ditambah, 1 dihapus." in page


def test_the_new_heads_see_their_units(client, org):
    confirm(client, upload(client, "siasn.csv", csv_file(siasn_rows())))
    from assessments import permissions

    dewi = get_user_model().objects.get(username=DEWI)
    oki = get_user_model().objects.get(username=OKI)
    assert [unit.code for unit in permissions.headed_units(dewi)] == ["A1"]
    assert permissions.headed_units(oki) == []  # no longer the (wrong) head of A1


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_importing_the_same_export_again_changes_nothing(client, org, kind):
    rows = siasn_rows()
    data = csv_file(rows) if kind == "csv" else siasn_xlsx(rows)
    confirm(client, upload(client, f"siasn.{kind}", data))
    before = snapshot()
    again = upload(client, f"siasn.{kind}", data)
    result = again.context["result"]
    assert (result.created, result.updated, result.unchanged, result.errors) == (0, 0, 7, [])
    assert planned(result) == (set(), set())
    assert 'id="import-heads' not in again.content.decode()
    assert confirm(client, again).status_code == 302
    assert snapshot() == before  # not even a history record


# --- Headings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        ("NIP Baru", "Nama", "Nama Jabatan", "Kode Unor", "Email Kantor"),
        ("nip_baru", "NAMA", "jabatan nama", "ID Unor", "email-kantor"),
        ("NIP", "Nama Lengkap", "Jabatan", "Unor ID", "Surel"),
        ("NIP", "Nama", "Jabatan", "Kode Unit", "Email"),
    ],
)
def test_each_alias_of_a_heading_is_accepted(client, org, header):
    data = csv_file([header, (SITI, "Siti Staf", "Analis Kebijakan", "A1", "siti@example.go.id")], delimiter=",")
    preview = upload(client, "pegawai.csv", data)
    assert preview.context["result"].errors == [] and preview.context["result"].ignored_columns == []
    confirm(client, preview)
    siti = Employee.objects.select_related("unit", "user").get(nip=SITI)
    assert (siti.full_name, siti.position, siti.unit.code, siti.user.email) == ("Siti Staf", "Analis Kebijakan", "A1", "siti@example.go.id")


def test_nip_lama_is_ignored_and_the_preview_says_so(client, org):
    data = csv_file([("NIP Lama", "NIP Baru", "Nama", "Unor ID", "Golongan"), ("060012348", SITI, "Siti Staf", "A1", "III/a")])
    preview = upload(client, "pegawai.csv", data)
    result = preview.context["result"]
    assert result.errors == [] and result.created == 1
    assert result.ignored_columns == ["NIP Lama", "Golongan"]
    assert "<code>NIP Lama</code>, <code>Golongan</code>" in preview.content.decode()


def test_the_upload_page_lists_the_accepted_headings_and_the_supervisor_rule(client, org):
    page = client.get(STAFF_URL).content.decode()
    for heading in ("NIP Baru", "Unor ID", "Unor Nama", "Unit Organisasi", "Email Kantor", "NIP Atasan Langsung", "Gelar Depan"):
        assert f"<code>{heading}</code>" in page
    assert "ya, atau Unor" in page  # Kode Unit is required unless the unit comes by name
    assert "NIP Atasan" in page and "unit di atasnya" in page


def test_a_file_without_a_unit_column_is_refused(client, org):
    response = upload(client, "pegawai.csv", csv_file([("NIP Baru", "Nama"), (SITI, "Siti")]))
    assert response.status_code == 400
    assert "Kolom tidak ada: Kode Unit. Baris pertama harus memuat nama kolom: NIP, Nama, Kode Unit atau Unor." in response.content.decode()


# --- The unit by its name -------------------------------------------------------------------------


def test_a_unit_given_by_name_is_found_whatever_its_case(client, org):
    data = csv_file([("NIP Baru", "Nama", "Unit Organisasi"), (SITI, "Siti Staf", "  subdirektorat   A1 ")])
    preview = upload(client, "pegawai.csv", data)
    assert preview.context["result"].errors == []
    confirm(client, preview)
    assert Employee.objects.get(nip=SITI).unit.code == "A1"


def test_the_code_counts_when_a_row_has_both(client, org):
    data = csv_file([("NIP Baru", "Nama", "Unor ID", "Unor Nama"), (SITI, "Siti Staf", "B", "Subdirektorat A1")])
    confirm(client, upload(client, "pegawai.csv", data))
    assert Employee.objects.get(nip=SITI).unit.code == "B"


def test_a_unit_name_matching_no_unit_or_several_is_a_row_error_naming_the_choices(client, org):
    twin = WorkUnit.objects.add_child(org.root, {"code": "B2", "name": "Direktorat B"})
    retired = WorkUnit.objects.add_child(org.root, {"code": "C", "name": "Direktorat C", "is_active": False})
    data = csv_file([
        ("NIP Baru", "Nama", "Unor"),
        (SITI, "Siti Staf", "Direktorat B"),
        (RINA, "Rina Rekan", "Direktorat Z"),
        (DEWI, "Dewi", retired.name),
    ])
    before = snapshot()
    response = upload(client, "pegawai.csv", data)
    assert errors_of(response) == [
        "2|Unor|Ada beberapa unit kerja aktif bernama “Direktorat B”: Direktorat B (B), Direktorat B (B2). "
        "Isikan kode unit (Kode Unit atau Unor ID) untuk menentukannya.",
        "3|Unor|Tidak ada unit kerja aktif bernama “Direktorat Z”. Periksa ejaannya pada daftar unit, atau isikan kode unit (Kode Unit atau Unor ID).",
        "4|Unor|Tidak ada unit kerja aktif bernama “Direktorat C”. Periksa ejaannya pada daftar unit, atau isikan kode unit (Kode Unit atau Unor ID).",
    ]
    assert "Konfirmasi impor" not in response.content.decode()
    assert snapshot() == before
    WorkUnit.objects.filter(pk=twin.pk).update(is_active=False)  # a retired twin does not count
    assert upload(client, "pegawai.csv", data).context["result"].errors[0].row == 3


# --- Supervisor relations -------------------------------------------------------------------------

HEADER = ("NIP Baru", "Nama", "Unor ID", "NIP Atasan", "Kepala Unit")


def test_without_kepala_unit_a_person_named_in_their_own_unit_heads_it(client, org):
    # Siti names Dewi (both of A1): Dewi heads A1, so Dewi's supervisor Ratna heads A, as stored.
    data = csv_file([HEADER[:4], (SITI, "Siti Staf", "A1", DEWI), (DEWI, "Dewi", "A1", RATNA)])
    preview = upload(client, "pegawai.csv", data)
    assert planned(preview.context["result"]) == ({(DEWI, "A1", (2, 3))}, {(OKI, "A1")})
    confirm(client, preview)
    assert heads() == {(RATNA, "A"), (DEWI, "A1")}


def test_a_person_who_heads_their_unit_already_stays_its_head(client, org):
    # No Kepala Unit column and nobody of A names Ratna: she heads A as stored, so her
    # supervisor (Bima, of B, from the database) heads the unit above A.
    bima = person(BIMA, "Bima Saudara", org.b)
    data = csv_file([HEADER[:4], (RATNA, "Ratna Atasan", "A", BIMA)])
    preview = upload(client, "pegawai.csv", data)
    assert planned(preview.context["result"]) == ({(bima.nip, "ROOT", (2,))}, set())
    confirm(client, preview)
    assert heads() == {(RATNA, "A"), (OKI, "A1"), (BIMA, "ROOT")}


def test_a_supervisor_without_a_row_is_found_in_the_database(client, org):
    data = csv_file([HEADER[:4], (SITI, "Siti Staf", "A1", RATNA)])
    confirm(client, upload(client, "pegawai.csv", data))
    assert heads() == {(RATNA, "A"), (RATNA, "A1")}  # Ratna heads A1 now, not Oki


def test_kepala_unit_tidak_ends_a_stored_headship(client, org):
    data = csv_file([HEADER, (RATNA, "Ratna Atasan", "A", "", "tidak")])
    preview = upload(client, "pegawai.csv", data)
    assert planned(preview.context["result"]) == (set(), {(RATNA, "A")})
    confirm(client, preview)
    assert heads() == {(OKI, "A1")}


@pytest.mark.parametrize("value", ["ya", "Y", "YA", "1"])
def test_kepala_unit_ya_makes_the_person_head_of_their_unit(client, org, value):
    data = csv_file([HEADER, (SITI, "Siti Staf", "A1", "", value)])
    confirm(client, upload(client, "pegawai.csv", data))
    assert heads() == {(RATNA, "A"), (SITI, "A1")}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [(SITI, "Siti Staf", "A1", "199912312020121999", "")],
            ["2|NIP Atasan|Tidak ada pegawai dengan NIP 199912312020121999, baik dalam berkas ini maupun di basis data."],
            id="unknown-supervisor",
        ),
        pytest.param(
            [(SITI, "Siti Staf", "A1", SITI, "")],
            ["2|NIP Atasan|Seseorang tidak dapat menjadi atasannya sendiri."],
            id="self",
        ),
        pytest.param(
            [(SITI, "Siti Staf", "A1", "1990010120150310", "")],
            ["2|NIP Atasan|NIP terdiri atas tepat 18 angka."],
            id="malformed-nip",
        ),
        pytest.param(
            [(SITI, "Siti Staf", "A1", RINA, "tidak"), (RINA, "Rina Rekan", "B", SITI, "tidak")],
            [
                f"2|NIP Atasan|Para atasan membentuk lingkaran: Siti Staf ({SITI}) → Rina Rekan ({RINA}) → Siti Staf ({SITI}).",
                f"3|NIP Atasan|Para atasan membentuk lingkaran: Siti Staf ({SITI}) → Rina Rekan ({RINA}) → Siti Staf ({SITI}).",
            ],
            id="loop-of-two",
        ),
        pytest.param(
            [(SITI, "Siti Staf", "A1", RINA, ""), (RINA, "Rina Rekan", "B", DEWI, ""), (DEWI, "Dewi", "A", SITI, "")],
            [
                f"{row}|NIP Atasan|Para atasan membentuk lingkaran: Siti Staf ({SITI}) → Rina Rekan ({RINA}) → Dewi ({DEWI}) → Siti Staf ({SITI})."
                for row in (2, 3, 4)
            ],
            id="loop-of-three",
        ),
        pytest.param(
            [(HENDRA, "Hendra", "ROOT", RATNA, "ya")],
            [
                "2|NIP Atasan|Hendra mengepalai Kementerian Uji (ROOT), unit tingkat teratas: tidak ada unit di atasnya untuk dikepalai "
                "seorang atasan. Kosongkan NIP Atasan, atau tulis “tidak” pada Kepala Unit bila ia tidak mengepalainya."
            ],
            id="top-level-head",
        ),
        pytest.param(
            [(SITI, "Siti Staf", "A1", "", "mungkin")],
            ["2|Kepala Unit|Tulis “ya” atau “tidak” (atau kosongkan sel), bukan “mungkin”."],
            id="head-flag",
        ),
    ],
)
def test_a_bad_supervisor_relation_is_a_row_error_and_nothing_is_written(client, org, rows, expected):
    before = snapshot()
    response = upload(client, "pegawai.csv", csv_file([HEADER, *rows]))
    assert errors_of(response) == expected
    assert "Konfirmasi impor" not in response.content.decode()
    assert snapshot() == before


def test_two_heads_for_one_unit_are_an_error_on_each_row_naming_both(client, org):
    person(HENDRA, "Hendra Kepala", org.root)
    data = csv_file([HEADER, (SITI, "Siti Staf", "A1", DEWI, "tidak"), (RINA, "Rina Rekan", "A1", HENDRA, "tidak"), (DEWI, "Dewi", "A", "", "")])
    response = upload(client, "pegawai.csv", data)
    message = (
        f"Unit Subdirektorat A1 (A1) akan memiliki beberapa kepala: Dewi (NIP {DEWI}, baris 2); Hendra Kepala (NIP {HENDRA}, baris 3). "
        "Satu berkas memberi satu unit satu kepala: perbaiki NIP Atasan atau Kepala Unit pada baris-baris ini "
        "(tulis “tidak” pada Kepala Unit untuk orang yang tidak lagi mengepalainya)."
    )
    assert errors_of(response) == [f"2|NIP Atasan|{message}", f"3|NIP Atasan|{message}"]


def test_two_people_marked_head_of_one_unit_are_an_error(client, org):
    data = csv_file([HEADER, (SITI, "Siti Staf", "A1", "", "ya"), (RINA, "Rina Rekan", "A1", "", "ya")])
    response = upload(client, "pegawai.csv", data)
    assert [error.split("|")[:2] for error in errors_of(response)] == [["2", "Kepala Unit"], ["3", "Kepala Unit"]]
    assert "Siti Staf (NIP" in errors_of(response)[0] and "Rina Rekan (NIP" in errors_of(response)[0]


def test_a_stored_head_named_by_nobody_clashes_with_a_new_head_until_marked_tidak(client, org):
    # Oki heads A1 today. A file moving Oki into A1 and naming Dewi as Siti's supervisor gives A1
    # two heads, unless it says Oki no longer heads it.
    data = [HEADER[:4], (OKI, "Oki Lain", "A1", ""), (SITI, "Siti Staf", "A1", DEWI), (DEWI, "Dewi", "A1", RATNA)]
    response = upload(client, "pegawai.csv", csv_file(data))
    # Oki (row 2) heads A1 as stored; Siti (row 3) names Dewi, who heads A1 then (row 4).
    assert {error.split("|")[0] for error in errors_of(response)} == {"2", "3", "4"}
    assert "Oki Lain (NIP" in errors_of(response)[0] and "Dewi (NIP" in errors_of(response)[0]
    marked = [HEADER, (OKI, "Oki Lain", "A1", "", "tidak"), (SITI, "Siti Staf", "A1", DEWI, ""), (DEWI, "Dewi", "A1", RATNA, "")]
    preview = upload(client, "pegawai.csv", csv_file(marked))
    assert planned(preview.context["result"]) == ({(DEWI, "A1", (3, 4))}, {(OKI, "A1")})


def test_a_person_marked_tidak_cannot_be_named_head_of_their_unit(client, org):
    data = csv_file([HEADER, (SITI, "Siti Staf", "A1", RINA, ""), (RINA, "Rina Rekan", "A1", "", "tidak")])
    response = upload(client, "pegawai.csv", data)
    assert errors_of(response) == [
        "2|NIP Atasan|Baris ini menjadikan Rina Rekan kepala Subdirektorat A1 (A1), padahal baris 3 menyatakan pada Kepala Unit "
        "bahwa ia tidak mengepalainya."
    ]


def test_an_inactive_supervisor_is_refused(client, org):
    Employee.objects.filter(nip=RATNA).update(is_active=False)
    response = upload(client, "pegawai.csv", csv_file([HEADER[:4], (SITI, "Siti Staf", "A1", RATNA)]))
    assert errors_of(response) == [f"2|NIP Atasan|Atasan Ratna Atasan (NIP {RATNA}) sudah tidak aktif."]


def test_a_supervisor_whose_own_row_fails_is_not_blamed_twice(client, org):
    data = csv_file([HEADER[:4], (SITI, "Siti Staf", "A1", DEWI), (DEWI, "", "A1", "")])
    assert errors_of(upload(client, "pegawai.csv", data)) == ["3|Nama|Nama belum diisi."]


def test_the_write_plans_the_heads_again_and_writes_nothing_when_they_no_longer_fit(org):
    rows = read_staff(csv_file([HEADER[:4], (SITI, "Siti Staf", "A1", RATNA), (RINA, "Rina Rekan", "A1", RATNA)]), "pegawai.csv").rows
    Employee.objects.filter(nip=RATNA).update(is_active=False)  # between the preview and the confirmation
    before = snapshot()
    with pytest.raises(services.ServiceError, match="Tidak ada yang diimpor"):
        staff_import(rows=rows, actor=get_user_model().objects.get(username="admin"))
    assert snapshot() == before  # neither the new staff nor the heads


def test_a_file_without_supervisor_columns_leaves_every_head_alone(client, org):
    data = csv_file([("NIP", "Nama", "Kode Unit"), (RATNA, "Ratna Atasan", "B"), (OKI, "Oki Lain", "B")])
    preview = upload(client, "pegawai.csv", data)
    assert planned(preview.context["result"]) == (set(), set())
    confirm(client, preview)
    assert heads() == {(RATNA, "A"), (OKI, "A1")}


def test_the_plan_of_a_large_file_reads_the_heads_in_a_few_queries(org, django_assert_max_num_queries):
    rows = [HEADER[:4], (DEWI, "Dewi", "A1", RATNA)]
    rows += [(f"1990{1 + n % 12:02d}{1 + n % 28:02d}2015{1 + n % 12:02d}1{n:03d}", f"Staf {n}", "A1", DEWI) for n in range(300)]
    data = csv_file(rows)
    with django_assert_max_num_queries(12):
        result = read_staff(data, "pegawai.csv")
    assert result.errors == [] and planned(result)[0] == {(DEWI, "A1", tuple(range(2, 303)))}


def test_an_office_admin_makes_no_head_outside_their_units_nor_of_someone_with_administrative_rights(client, org):
    """The office admin of A: a head of A named by its own head's row would head ROOT (outside
    A); a member of Admin OPD named as supervisor would read the answers of A1. Both are row
    errors, and nothing is written; a head inside A who holds no such rights is fine."""
    from django.contrib.auth.models import Group

    from assessments import permissions
    from assessments.models import OfficeAdminAssignment

    office = get_user_model().objects.create_user("opd", "opd@example.go.id", PASSWORD)
    office.groups.add(Group.objects.get(name=permissions.OFFICE_ADMIN_GROUP))
    OfficeAdminAssignment.objects.create(user=office, unit=org.a)
    person(HENDRA, "Hendra Sekda", org.root)
    colleague_admin = person(DEWI, "Dewi OPD", org.a1)
    colleague_admin.user.groups.add(Group.objects.get(name=permissions.OFFICE_ADMIN_GROUP))
    client.force_login(office)
    header = ["NIP Baru", "Nama", "Unor ID", "NIP Atasan", "Kepala Unit"]
    before = snapshot()
    preview = upload(client, "siasn.csv", csv_file([header, [RATNA, "Ratna Atasan", "A", HENDRA, "ya"], [SITI, "Siti Baru", "A1", DEWI, ""]]))
    found = errors_of(preview)
    assert any(line.startswith("2|") and "ROOT" not in line and "di luar unit yang Anda kelola" in line for line in found), found
    assert any(line.startswith("3|") and "hak administrasi" in line for line in found), found
    assert preview.context["token"] == "" and snapshot() == before
    preview = upload(client, "siasn.csv", csv_file([header, [SITI, "Siti Baru", "A1", RATNA, ""]]))
    assert preview.context["result"].ok, errors_of(preview)

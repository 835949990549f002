"""Reading staff and work-unit files (CSV or XLSX) for the admin import, and the dry run.

Nothing here writes. `read_staff` / `read_units` turn the bytes of an uploaded file into an
`ImportResult`: file-level problems, every row's problems (row number as the spreadsheet shows
it, the header being row 1), and the plan: which rows create, change or leave a record as it is.
`services.staff_import` / `services.units_import` compute the plan again inside their
transaction (the database may have changed since the preview) and write it.
"""

import contextlib
import csv
import datetime
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import F
from django.utils.translation import gettext as _

from .models import Employee, WorkUnit
from .validators import validate_nip

# A staff export of a large ministry fits easily; anything bigger is split into several files
# (each import leaves the staff it does not mention alone, so that is safe).
MAX_ROWS = 100_000
# Columns beyond this are never looked at: an export has a few dozen at most, and a workbook
# with a cell at column XFD would otherwise make every row 16,384 cells wide.
MAX_COLUMNS = 100
# An XLSX is a zip: refuse one that unpacks to far more than its size (a "zip bomb").
MAX_UNPACKED_RATIO = 25
# Values per `IN (...)` lookup: SQLite refuses statements with too many parameters.
LOOKUP_CHUNK = 900

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"


# --- Columns -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # the name the file is expected to use (the file format is Indonesian)
    aliases: tuple[str, ...]  # normalised header names accepted for it
    required: bool = True


STAFF_COLUMNS = (
    Column("nip", "NIP", ("nip", "nipbaru")),
    Column("full_name", "Nama", ("nama", "namalengkap", "namapegawai", "name", "fullname")),
    Column("position", "Jabatan", ("jabatan", "namajabatan", "position"), required=False),
    Column("unit_code", "Kode Unit", ("kodeunit", "kodeunitkerja", "unitcode")),
    Column("email", "Email", ("email", "surel", "alamatemail", "emailaddress"), required=False),
)
UNIT_COLUMNS = (
    Column("code", "Kode", ("kode", "kodeunit", "kodeunitkerja", "code")),
    Column("name", "Nama", ("nama", "namaunit", "namaunitkerja", "name")),
    # Required, although its cells may be empty: a file without it would make every unit a root.
    Column("parent_code", "Kode Induk", ("kodeinduk", "kodeunitinduk", "induk", "parentcode", "parent")),
)


def normalise_header(value: Any) -> str:
    """'Kode_Unit', 'kode unit' and 'KODE-UNIT' are the same column."""
    return re.sub(r"[\s_\-]+", "", cell_text(value)).lower()


# --- Results -------------------------------------------------------------------------------------


@dataclass
class RowError:
    row: int
    column: str  # the header as the file writes it
    message: str


@dataclass
class Change:
    field: str
    label: str
    old: str
    new: str


@dataclass
class StaffRow:
    row: int
    nip: str
    full_name: str
    position: str | None  # None: the file has no Jabatan column, so what is stored stays
    unit_code: str
    email: str  # "": keep the stored address


@dataclass
class UnitRow:
    row: int
    code: str
    name: str
    parent_code: str  # "": a root


@dataclass
class PlanItem:
    row: Any  # StaffRow or UnitRow
    action: str  # CREATE, UPDATE or UNCHANGED
    changes: list[Change] = field(default_factory=list)
    target: Any = None  # the existing Employee or WorkUnit
    account: Any = None  # staff: an existing login account with no employee record, to link


@dataclass
class Plan:
    """What writing the rows would do. Staff: items in file order; units: parents first."""

    items: list[PlanItem] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unit_ids: dict[str, int] = field(default_factory=dict)  # staff: unit code -> id

    def count(self, action: str) -> int:
        return sum(1 for item in self.items if item.action == action)


@dataclass
class ImportResult:
    kind: str  # "staff" or "units"
    file_errors: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: list = field(default_factory=list)
    plan: Plan | None = None

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.errors and self.plan is not None

    def count(self, action: str) -> int:
        return self.plan.count(action) if self.plan else 0

    @property
    def created(self) -> int:
        return self.count(CREATE)

    @property
    def updated(self) -> int:
        return self.count(UPDATE)

    @property
    def unchanged(self) -> int:
        return self.count(UNCHANGED)

    @property
    def changes(self) -> list[PlanItem]:
        return [item for item in self.plan.items if item.action != UNCHANGED] if self.plan else []


class FileProblem(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- Reading a table -------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """Return a cell as trimmed text (XLSX cells may be numbers or dates)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, datetime.datetime | datetime.date | datetime.time):
        value = value.isoformat()
    # Copies from web pages bring zero-width spaces and BOMs along; str.strip() keeps them.
    return str(value).strip().strip("\u200b\ufeff").strip()


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def too_large_message(size: int) -> str:
    return _("The file is %(size).1f MB; the limit is %(limit).1f MB. Split it into smaller files.") % {
        "size": size / 1048576,
        "limit": settings.IMPORT_MAX_BYTES / 1048576,
    }


def not_utf8_message() -> str:
    return _(
        "The file is not UTF-8 text. In Excel choose File > Save As and save it as "
        "“CSV UTF-8 (Comma delimited) (*.csv)”, or upload the .xlsx workbook itself."
    )


def read_rows(data: bytes, filename: str) -> Iterator[tuple[int, Sequence[Any]]]:
    """Yield (row number, cells) for every row of a CSV or the first sheet of an XLSX.

    Raises FileProblem when the file cannot be read at all.
    """
    if not data:
        raise FileProblem(_("The file is empty."))
    if len(data) > settings.IMPORT_MAX_BYTES:
        raise FileProblem(too_large_message(len(data)))
    extension = PurePath(filename or "").suffix.lower()
    if data.startswith(b"\xd0\xcf\x11\xe0") or extension == ".xls":
        raise FileProblem(_("This is an old Excel 97-2003 (.xls) file. Save it as .xlsx or as CSV UTF-8."))
    if data.startswith(b"PK\x03\x04") or extension == ".xlsx":
        return _xlsx_rows(data)
    if extension not in (".csv", ".txt", ""):
        raise FileProblem(_("Choose a .csv or .xlsx file."))
    return _csv_rows(data)


def _csv_rows(data: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    # Excel's "Unicode Text" is UTF-16: with a byte-order mark, or without one (then every other
    # byte of a Latin text is NUL). No UTF-8 text holds a NUL, and PostgreSQL stores none.
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        raise FileProblem(not_utf8_message())
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblem(not_utf8_message())
    # The delimiter is sniffed from the header line: Excel with Indonesian regional settings
    # writes semicolons (the comma is the decimal separator), elsewhere commas.
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows():
        number = 0
        try:
            # A record is a spreadsheet row, even when a quoted cell holds line breaks.
            for number, record in enumerate(reader, start=1):  # noqa: B007 - used after the loop
                yield number, record[:MAX_COLUMNS]
        except csv.Error as error:
            raise FileProblem(_("The file cannot be read as CSV (near row %(row)s): %(error)s") % {"row": number + 1, "error": error})

    return rows()


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    import openpyxl  # imported here: only XLSX uploads pay for it

    unreadable = _("The XLSX file cannot be read. Open it in Excel, save it again as .xlsx (or as CSV UTF-8) and retry.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED_RATIO * settings.IMPORT_MAX_BYTES:
            raise FileProblem(unreadable)
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except FileProblem:
        raise
    except Exception:  # a damaged or foreign zip fails in many ways inside openpyxl
        raise FileProblem(unreadable)

    def rows():
        try:
            if not workbook.worksheets:
                raise FileProblem(unreadable)
            sheet = workbook.worksheets[0]
            # The stored dimensions may be wrong (some programs write A1:XFD1048576): read the
            # rows that exist instead of padding up to them.
            sheet.reset_dimensions()
            yield from enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1)
        except FileProblem:
            raise
        except Exception:
            raise FileProblem(unreadable)
        finally:
            workbook.close()

    return rows()


@dataclass
class Table:
    headers: dict[str, str]  # column key -> header as written
    records: list[tuple[int, dict[str, Any]]]  # (row number, column key -> raw cell)


def read_table(data: bytes, filename: str, columns: Sequence[Column]) -> Table:
    """Find the header row (the first non-empty one), map its names to `columns` and return
    the non-empty rows below it. Raises FileProblem for anything that stops the whole file."""
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    records: list[tuple[int, dict[str, Any]]] = []
    header_found = False
    # closing(): stopping early must still close the workbook.
    with contextlib.closing(read_rows(data, filename)) as rows:
        for number, cells in rows:
            if not any(cell_text(cell) for cell in cells):
                continue
            if not header_found:
                header_found = True
                positions, headers = _map_header(cells, columns)
                continue
            if len(records) >= MAX_ROWS:
                raise FileProblem(_("The file has more than %(max)s rows. Split it into smaller files.") % {"max": MAX_ROWS})
            records.append((number, {key: cells[index] if index < len(cells) else None for key, index in positions.items()}))
    if not header_found:
        raise FileProblem(_("The file is empty."))
    if not records:
        raise FileProblem(_("The file has a header row but no data rows below it."))
    return Table(headers, records)


def _map_header(cells: Sequence[Any], columns: Sequence[Column]) -> tuple[dict[str, int], dict[str, str]]:
    by_alias = {alias: column for column in columns for alias in column.aliases}
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    for index, cell in enumerate(cells):
        column = by_alias.get(normalise_header(cell))
        if column is None:
            continue  # exports carry many other columns (rank, grade, ...): they are ignored
        if column.key in positions:
            raise FileProblem(
                _("The column “%(name)s” appears twice (columns %(first)s and %(second)s). Keep one of them.")
                % {"name": cell_text(cell), "first": column_letter(positions[column.key]), "second": column_letter(index)}
            )
        positions[column.key] = index
        headers[column.key] = cell_text(cell)
    missing = [column.title for column in columns if column.required and column.key not in positions]
    if missing:
        raise FileProblem(
            _("Missing column(s): %(missing)s. The first row must name the columns: %(expected)s.")
            % {"missing": ", ".join(missing), "expected": ", ".join(column.title for column in columns)}
        )
    return positions, headers


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the column as the spreadsheet labels it."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def header_names(columns: Sequence[Column], headers: Mapping[str, str] | None) -> dict[str, str]:
    return {column.key: (headers or {}).get(column.key) or column.title for column in columns}


def _length_error(value: str, limit: int) -> str | None:
    if len(value) > limit:
        return _("At most %(max)s characters; this has %(length)s.") % {"max": limit, "length": len(value)}
    return None


def chunks(values: Sequence, size: int = LOOKUP_CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _sorted(errors: Iterable[RowError], columns: Sequence[Column], headers: Mapping[str, str]) -> list[RowError]:
    order = {headers[column.key]: position for position, column in enumerate(columns)}
    return sorted(errors, key=lambda error: (error.row, order.get(error.column, len(order))))


def _result(kind: str, read, data: bytes, filename: str) -> ImportResult:
    try:
        return read(data, filename)
    except FileProblem as problem:
        return ImportResult(kind, file_errors=[problem.message])


# --- Staff -------------------------------------------------------------------------------------------

NIP_AS_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?[eE]\+?\d+$")


def read_staff(data: bytes, filename: str) -> ImportResult:
    """Check a staff file (NIP, Nama, Jabatan, Kode Unit, Email) and plan it; writes nothing."""
    return _result("staff", _read_staff, data, filename)


def _read_staff(data: bytes, filename: str) -> ImportResult:
    table = read_table(data, filename, STAFF_COLUMNS)
    names = header_names(STAFF_COLUMNS, table.headers)
    has_position = "position" in table.headers
    errors: list[RowError] = []
    rows: list[StaffRow] = []
    first_row_of: dict[str, int] = {}
    for number, cells in table.records:
        problems: list[tuple[str, str]] = []  # (column key, message)

        raw_nip = cells.get("nip")
        nip = re.sub(r"\s+", "", cell_text(raw_nip))  # "19800101 200501 1 001" is how NIPs are often printed
        if is_number(raw_nip):
            message = _(
                "This NIP is stored as a number, and Excel keeps only 15 digits of a number: the last digits "
                "of the 18-digit NIP are lost. Format the NIP column as Text, type the NIPs again and save."
            )
            problems.append(("nip", message))
        elif not nip:
            problems.append(("nip", _("The NIP is missing.")))
        elif NIP_AS_NUMBER.match(nip):
            message = _(
                "This NIP was saved as a number in scientific notation (%(value)s), so its last digits are lost. "
                "In Excel format the NIP column as Text, type the NIPs again and save."
            ) % {"value": nip}
            problems.append(("nip", message))
        else:
            try:
                validate_nip(nip)
            except ValidationError as error:
                problems.append(("nip", " ".join(str(message) for message in error.messages)))
        if nip and not is_number(raw_nip):
            if nip in first_row_of:
                problems.append(("nip", _("This NIP already appears in row %(row)s.") % {"row": first_row_of[nip]}))
            else:
                first_row_of[nip] = number

        full_name = cell_text(cells.get("full_name"))
        if not full_name:
            problems.append(("full_name", _("The name is missing.")))
        elif message := _length_error(full_name, Employee._meta.get_field("full_name").max_length):
            problems.append(("full_name", message))

        position = cell_text(cells.get("position")) if has_position else None
        if position and (message := _length_error(position, Employee._meta.get_field("position").max_length)):
            problems.append(("position", message))

        unit_code = cell_text(cells.get("unit_code"))
        if not unit_code:
            problems.append(("unit_code", _("The unit code is missing.")))

        email = cell_text(cells.get("email"))
        if email:
            try:
                if len(email) > get_user_model()._meta.get_field("email").max_length:
                    raise ValidationError("too long")
                validate_email(email)
            except ValidationError:
                problems.append(("email", _("“%(value)s” is not a valid e-mail address.") % {"value": email}))

        if problems:
            errors.extend(RowError(number, names[key], message) for key, message in problems)
        else:
            rows.append(StaffRow(number, nip, full_name, position, unit_code, email))

    plan = plan_staff(rows, headers=table.headers)
    errors.extend(plan.errors)
    return ImportResult("staff", errors=_sorted(errors, STAFF_COLUMNS, names), rows=rows, plan=plan)


def staff_field_labels() -> dict[str, str]:
    return {
        "full_name": str(Employee._meta.get_field("full_name").verbose_name),
        "position": str(Employee._meta.get_field("position").verbose_name),
        "unit": str(Employee._meta.get_field("unit").verbose_name),
        "email": _("e-mail"),
        "is_active": str(Employee._meta.get_field("is_active").verbose_name),
    }


def plan_staff(rows: Sequence[StaffRow], *, headers: Mapping[str, str] | None = None, lock: bool = False) -> Plan:
    """Compare checked rows with the database: which employees are new, which change and how.

    Existing staff are matched by NIP; a new NIP gets a login account named after it, or the
    existing account of that name when it belongs to nobody yet. `lock` (inside the writing
    transaction) locks the matched employees and accounts until it ends.
    """
    names = header_names(STAFF_COLUMNS, headers)
    labels = staff_field_labels()
    plan = Plan()

    codes = sorted({row.unit_code for row in rows})
    units = {}
    for chunk in chunks(codes):
        units.update({unit.code: unit for unit in WorkUnit.objects.filter(code__in=chunk).only("id", "code", "is_active")})
    plan.unit_ids = {code: unit.pk for code, unit in units.items()}
    unit_codes: dict[int, str] | None = None

    nips = [row.nip for row in rows]
    employees = Employee.objects.select_related("user")
    if lock:
        employees = employees.select_for_update(of=("self", "user"))
    existing: dict[str, Employee] = {}
    for chunk in chunks(nips):
        existing.update({e.nip: e for e in employees.filter(nip__in=chunk)})

    User = get_user_model()
    new_nips = [nip for nip in nips if nip not in existing]
    users = User.objects.annotate(employee_nip=F("employee__nip"))
    if lock:
        users = users.select_for_update(of=("self",))
    accounts = {}
    for chunk in chunks(new_nips):
        found = users.filter(username__in=chunk)
        accounts.update({user.get_username(): user for user in found})

    for row in rows:
        unit = units.get(row.unit_code)
        if unit is None:
            plan.errors.append(
                RowError(
                    row.row,
                    names["unit_code"],
                    _("There is no work unit with the code “%(code)s”. Import the units first or correct the code.")
                    % {"code": row.unit_code},
                )
            )
            continue
        if not unit.is_active:
            plan.errors.append(
                RowError(row.row, names["unit_code"], _("The work unit “%(code)s” is no longer active.") % {"code": row.unit_code})
            )
            continue

        employee = existing.get(row.nip)
        if employee is None:
            account = accounts.get(row.nip)
            if account is not None and account.employee_nip:
                plan.errors.append(
                    RowError(
                        row.row,
                        names["nip"],
                        _("The login name %(nip)s already belongs to the account of another employee (NIP %(other)s).")
                        % {"nip": row.nip, "other": account.employee_nip},
                    )
                )
                continue
            if account is not None and row.email and row.email.lower() != account.email.lower() and _is_privileged(account):
                plan.errors.append(RowError(row.row, names["email"], _privileged_message()))
                continue
            plan.items.append(PlanItem(row, CREATE, account=account))
            continue

        changes = []
        if employee.full_name != row.full_name:
            changes.append(Change("full_name", labels["full_name"], employee.full_name, row.full_name))
        if row.position is not None and employee.position != row.position:
            changes.append(Change("position", labels["position"], employee.position, row.position))
        if employee.unit_id != unit.pk:
            if unit_codes is None:  # the old unit's code, for the preview; the unit table is small
                unit_codes = dict(WorkUnit.objects.values_list("pk", "code"))
            changes.append(Change("unit", labels["unit"], unit_codes[employee.unit_id], row.unit_code))
        # An empty cell keeps the stored address: people need it to reset their password.
        if row.email and row.email.lower() != employee.user.email.lower():
            if _is_privileged(employee.user):
                plan.errors.append(RowError(row.row, names["email"], _privileged_message()))
                continue
            changes.append(Change("email", labels["email"], employee.user.email, row.email))
        if not employee.is_active:
            # Someone in the current staff list works here again.
            changes.append(Change("is_active", labels["is_active"], _("no"), _("yes")))
        plan.items.append(PlanItem(row, UPDATE if changes else UNCHANGED, changes, target=employee))
    return plan


def _is_privileged(user) -> bool:
    # Whoever controls an account's e-mail can reset its password: the import must not become
    # a way to take over an administrator's account.
    return user.is_staff or user.is_superuser


def _privileged_message() -> str:
    return _(
        "This person's account has administration rights, so the import does not change its e-mail address. "
        "Change it under Users, or leave the cell empty."
    )


# --- Work units ---------------------------------------------------------------------------------------


def read_units(data: bytes, filename: str) -> ImportResult:
    """Check a work-unit file (Kode, Nama, Kode Induk) and plan it; writes nothing."""
    return _result("units", _read_units, data, filename)


def _read_units(data: bytes, filename: str) -> ImportResult:
    table = read_table(data, filename, UNIT_COLUMNS)
    names = header_names(UNIT_COLUMNS, table.headers)
    code_field = WorkUnit._meta.get_field("code")
    name_limit = WorkUnit._meta.get_field("name").max_length
    errors: list[RowError] = []
    rows: list[UnitRow] = []
    first_row_of: dict[str, int] = {}
    for number, cells in table.records:
        problems: list[RowError] = []
        code = cell_text(cells.get("code"))
        if not code:
            problems.append(RowError(number, names["code"], _("The unit code is missing.")))
        else:
            try:
                code_field.run_validators(code)
            except ValidationError as error:
                problems.append(RowError(number, names["code"], " ".join(str(message) for message in error.messages)))
            if code in first_row_of:
                problems.append(RowError(number, names["code"], _("This code already appears in row %(row)s.") % {"row": first_row_of[code]}))
            else:
                first_row_of[code] = number
        name = cell_text(cells.get("name"))
        if not name:
            problems.append(RowError(number, names["name"], _("The name is missing.")))
        elif message := _length_error(name, name_limit):
            problems.append(RowError(number, names["name"], message))
        parent_code = cell_text(cells.get("parent_code"))
        if code and parent_code == code:
            problems.append(RowError(number, names["parent_code"], _("A unit cannot be its own parent.")))
        if problems:
            errors.extend(problems)
        else:
            rows.append(UnitRow(number, code, name, parent_code))
    # A unit whose row failed is still "defined in the file": its children are not blamed for it.
    plan = plan_units(rows, headers=table.headers, also_defined=set(first_row_of))
    errors.extend(plan.errors)
    return ImportResult("units", errors=_sorted(errors, UNIT_COLUMNS, names), rows=rows, plan=plan)


def plan_units(rows: Sequence[UnitRow], *, headers: Mapping[str, str] | None = None, also_defined: Iterable[str] = ()) -> Plan:
    """Compare checked rows with the unit tree: new units, renamed ones and moved ones.

    Items come parents first, so that writing them in order always finds the parent in place;
    parents may be defined anywhere in the file or already exist.
    """
    names = header_names(UNIT_COLUMNS, headers)
    plan = Plan()
    units = {unit.code: unit for unit in WorkUnit.objects.only("id", "code", "name", "path", "depth", "is_active")}
    by_path = {unit.path: unit for unit in units.values()}
    steplen = WorkUnit.steplen

    def stored_parent(unit: WorkUnit) -> str:
        return by_path[unit.path[:-steplen]].code if unit.depth > 1 and unit.path[:-steplen] in by_path else ""

    # The tree as it would be after the import: stored parents, overridden by the file.
    parent_of = {code: stored_parent(unit) for code, unit in units.items()}
    in_file = {row.code: row for row in rows}
    parent_of.update({code: row.parent_code for code, row in in_file.items()})
    defined = set(units) | set(in_file) | set(also_defined)

    bad: set[str] = set()
    for row in rows:
        if row.parent_code and row.parent_code not in defined:
            plan.errors.append(
                RowError(
                    row.row,
                    names["parent_code"],
                    _("There is no unit with the code “%(code)s”, neither in the database nor in this file.") % {"code": row.parent_code},
                )
            )
            bad.add(row.code)

    # Each unit has one parent, so a loop shows up as a unit met twice while climbing towards
    # the root. Climbing also gives every unit its depth in the final tree.
    depth: dict[str, int] = {}
    for row in rows:
        chain: list[str] = []
        code = row.code
        while code and code not in depth:
            if code in chain:
                loop = chain[chain.index(code) :]
                text = " → ".join([*loop, code])
                for member in loop:
                    if member in in_file and member not in bad:
                        message = _("The parent units form a loop: %(loop)s.") % {"loop": text}
                        plan.errors.append(RowError(in_file[member].row, names["parent_code"], message))
                        bad.add(member)
                break
            chain.append(code)
            code = parent_of.get(code, "")
        level = depth.get(code, 0) if code and code not in chain else 0
        for member in reversed(chain):
            level += 1
            depth[member] = level
    if plan.errors:
        return plan

    for row in sorted(rows, key=lambda row: (depth[row.code], row.row)):
        unit = units.get(row.code)
        if unit is None:
            plan.items.append(PlanItem(row, CREATE))
            continue
        changes = []
        if unit.name != row.name:
            changes.append(Change("name", str(WorkUnit._meta.get_field("name").verbose_name), unit.name, row.name))
        old_parent = stored_parent(unit)
        if old_parent != row.parent_code:
            changes.append(Change("parent", _("parent unit"), old_parent or "–", row.parent_code or "–"))
        plan.items.append(PlanItem(row, UPDATE if changes else UNCHANGED, changes, target=unit))
    return plan

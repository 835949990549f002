"""Reading a CSV or XLSX file into checked rows, and what the staff and unit imports share:
the columns, the plan of what writing would do, row errors, and the refusals of the writing."""

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
from django.utils.translation import gettext as _

from ..services import ServiceError

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
    """One column of an import file. `aliases` are the other headings accepted for it, written as
    a file writes them (the import page lists them); `alternative` names the key of another
    column that may stand in for this required one (a unit given by its name, not its code)."""

    key: str
    title: str  # the name the file is expected to use (the file format is Indonesian)
    aliases: tuple[str, ...] = ()
    required: bool = True
    alternative: str = ""

    @property
    def headings(self) -> tuple[str, ...]:
        """Every heading accepted for this column, normalised."""
        return tuple(dict.fromkeys(normalise_header(name) for name in (self.title, *self.aliases)))


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
    # Staff: the supervisor assignments the file adds and removes (imports.supervisors).
    heads_added: list = field(default_factory=list)
    heads_removed: list = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for item in self.items if item.action == action)


@dataclass
class ImportResult:
    kind: str  # "staff" or "units"
    file_errors: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: list = field(default_factory=list)
    plan: Plan | None = None
    ignored_columns: list[str] = field(default_factory=list)  # headings of the file that no column takes

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

    @property
    def heads_added(self) -> list:
        return self.plan.heads_added if self.plan else []

    @property
    def heads_removed(self) -> list:
        return self.plan.heads_removed if self.plan else []


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
    ignored: list[str] = field(default_factory=list)  # headings no column takes, as written


def read_table(data: bytes, filename: str, columns: Sequence[Column]) -> Table:
    """Find the header row (the first non-empty one), map its names to `columns` and return
    the non-empty rows below it. Raises FileProblem for anything that stops the whole file."""
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    records: list[tuple[int, dict[str, Any]]] = []
    header_found = False
    # closing(): stopping early must still close the workbook.
    with contextlib.closing(read_rows(data, filename)) as rows:
        for number, cells in rows:
            if not any(cell_text(cell) for cell in cells):
                continue
            if not header_found:
                header_found = True
                positions, headers, ignored = _map_header(cells, columns)
                continue
            if len(records) >= MAX_ROWS:
                raise FileProblem(_("The file has more than %(max)s rows. Split it into smaller files.") % {"max": MAX_ROWS})
            records.append((number, {key: cells[index] if index < len(cells) else None for key, index in positions.items()}))
    if not header_found:
        raise FileProblem(_("The file is empty."))
    if not records:
        raise FileProblem(_("The file has a header row but no data rows below it."))
    return Table(headers, records, ignored)


def _map_header(cells: Sequence[Any], columns: Sequence[Column]) -> tuple[dict[str, int], dict[str, str], list[str]]:
    by_alias = {heading: column for column in columns for heading in column.headings}
    positions: dict[str, int] = {}
    headers: dict[str, str] = {}
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        column = by_alias.get(normalise_header(cell))
        if column is None:
            # Exports carry many other columns (rank, grade, the old NIP, ...): they are
            # ignored, and the preview says which.
            if cell_text(cell):
                ignored.append(cell_text(cell))
            continue
        if column.key in positions:
            raise FileProblem(
                _("The column “%(name)s” appears twice (columns %(first)s and %(second)s). Keep one of them.")
                % {"name": cell_text(cell), "first": column_letter(positions[column.key]), "second": column_letter(index)}
            )
        positions[column.key] = index
        headers[column.key] = cell_text(cell)
    missing = [
        column.title
        for column in columns
        if column.required and column.key not in positions and column.alternative not in positions
    ]
    if missing:
        raise FileProblem(
            _("Missing column(s): %(missing)s. The first row must name the columns: %(expected)s.")
            % {"missing": ", ".join(missing), "expected": expected_columns(columns)}
        )
    return positions, headers, ignored


def expected_columns(columns: Sequence[Column]) -> str:
    """The columns a file must name, as the error about a missing one lists them ("NIP, Nama,
    Kode Unit or Unor")."""
    titles = {column.key: column.title for column in columns}
    return ", ".join(
        _("%(column)s or %(other)s") % {"column": column.title, "other": titles[column.alternative]} if column.alternative else column.title
        for column in columns
        if column.required
    )


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


def length_error(value: str, limit: int) -> str | None:
    if len(value) > limit:
        return _("At most %(max)s characters; this has %(length)s.") % {"max": limit, "length": len(value)}
    return None


def chunks(values: Sequence, size: int = LOOKUP_CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def sorted_errors(errors: Iterable[RowError], columns: Sequence[Column], headers: Mapping[str, str]) -> list[RowError]:
    order = {headers[column.key]: position for position, column in enumerate(columns)}
    return sorted(errors, key=lambda error: (error.row, order.get(error.column, len(order))))


def read_result(kind: str, read, data: bytes, filename: str) -> ImportResult:
    try:
        return read(data, filename)
    except FileProblem as problem:
        return ImportResult(kind, file_errors=[problem.message])


# --- Writing ---------------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    created: int
    updated: int
    unchanged: int
    heads_added: int = 0
    heads_removed: int = 0

    @classmethod
    def of(cls, plan: Plan) -> "ImportSummary":
        return cls(
            created=plan.count(CREATE),
            updated=plan.count(UPDATE),
            unchanged=plan.count(UNCHANGED),
            heads_added=len(plan.heads_added),
            heads_removed=len(plan.heads_removed),
        )


def import_refused(plan: Plan) -> ServiceError:
    first = plan.errors[0]
    return ServiceError(
        _(
            "Nothing was imported: the data changed since the preview and %(count)s row(s) now have a problem "
            "(row %(row)s, %(column)s: %(message)s). Upload the file again to see them all."
        )
        % {"count": len(plan.errors), "row": first.row, "column": first.column, "message": first.message},
        code="import_invalid",
    )


def changed_meanwhile() -> ServiceError:
    return ServiceError(
        _("Nothing was imported: someone changed the same records while the import ran. Upload the file again."),
        code="import_conflict",
    )


def import_reason(changes: Iterable[Change] = ()) -> str:
    # Shown in each record's history; simple_history keeps 100 characters of it.
    labels = ", ".join(change.label for change in changes)
    reason = _("File import: %(fields)s") % {"fields": labels} if labels else _("File import")
    return reason[:100]

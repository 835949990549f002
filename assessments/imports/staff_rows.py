"""Reading a staff file's cells into checked rows (StaffRow): STAFF_COLUMNS, the one table of
the headings the staff import accepts (ours, and those of a SIASN export), the checks of each
cell, the name with its titles, and the unit found by its name. `staff` plans and writes them."""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from ..models import Employee, WorkUnit
from ..validators import validate_nip
from . import files, supervisors
from .files import Column, RowError

# The one table of the headings the staff import accepts: our own names first, then those of
# SIASN's exports and of other spreadsheets in use. Case, spaces, hyphens and underscores do
# not matter (files.normalise_header).
STAFF_COLUMNS = (
    Column("nip", "NIP", ("NIP Baru",)),
    Column("full_name", "Nama", ("Nama Lengkap", "Nama Pegawai", "Name", "Full Name")),
    Column("title_before", "Gelar Depan", (), required=False),
    Column("title_after", "Gelar Belakang", (), required=False),
    Column("position", "Jabatan", ("Nama Jabatan", "Jabatan Nama", "Position"), required=False),
    Column("unit_code", "Kode Unit", ("Kode Unit Kerja", "Unit Code", "Unor ID", "ID Unor", "Kode Unor"), alternative="unit_name"),
    Column("unit_name", "Unor", ("Unor Nama", "Nama Unor", "Unit Organisasi", "Nama Unit Organisasi", "Unit Kerja", "Nama Unit Kerja"), required=False),
    Column("email", "Email", ("Surel", "Alamat Email", "Email Address", "Email Kantor"), required=False),
    Column("supervisor_nip", "NIP Atasan", ("NIP Atasan Langsung", "Atasan NIP", "Atasan Langsung NIP"), required=False),
    Column("is_head", "Kepala Unit", ("Kepala Unor",), required=False),
)


@dataclass
class StaffRow:
    row: int
    nip: str
    full_name: str
    position: str | None  # None: the file has no Jabatan column, so what is stored stays
    unit_code: str  # given, or found from `unit_name` (resolve_unit_names)
    email: str  # "": keep the stored address
    unit_name: str = ""  # the unit's name as the file writes it, when it gives no code
    supervisor_nip: str = ""  # "": the file names no supervisor
    is_head: bool | None = None  # Kepala Unit: None when empty or missing


NIP_AS_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?[eE]\+?\d+$")


def staff_row(number: int, cells: Mapping[str, Any], headers: Mapping[str, str], first_row_of: dict[str, int]) -> tuple[StaffRow, list]:
    """One row of the file, and its problems as (column key, message)."""
    problems: list[tuple[str, str]] = []
    raw_nip = cells.get("nip")
    nip = _nip_text(raw_nip)
    if message := _nip_problem(raw_nip, nip):
        problems.append(("nip", message))
    if nip and not files.is_number(raw_nip):
        if nip in first_row_of:
            problems.append(("nip", _("This NIP already appears in row %(row)s.") % {"row": first_row_of[nip]}))
        else:
            first_row_of[nip] = number

    full_name = _full_name(cells)
    if not files.cell_text(cells.get("full_name")):
        problems.append(("full_name", _("The name is missing.")))
    elif message := files.length_error(full_name, Employee._meta.get_field("full_name").max_length):
        problems.append(("full_name", message))

    position = files.cell_text(cells.get("position")) if "position" in headers else None
    if position and (message := files.length_error(position, Employee._meta.get_field("position").max_length)):
        problems.append(("position", message))

    unit_code, unit_name = files.cell_text(cells.get("unit_code")), files.cell_text(cells.get("unit_name"))
    if not unit_code and not unit_name:
        problems.append(("unit_code", _("The unit code is missing.")) if "unit_code" in headers else ("unit_name", _("The unit name is missing.")))

    email = files.cell_text(cells.get("email"))
    if email and (message := _email_problem(email)):
        problems.append(("email", message))

    supervisor_nip = _supervisor_nip(cells.get("supervisor_nip"), nip, problems)
    is_head = _head_flag(cells.get("is_head"), problems)
    row = StaffRow(number, nip, full_name, position, unit_code, email, unit_name, supervisor_nip, is_head)
    return row, problems


def _nip_text(raw: Any) -> str:
    # "19800101 200501 1 001" is how NIPs are often printed.
    return re.sub(r"\s+", "", files.cell_text(raw))


def _full_name(cells: Mapping[str, Any]) -> str:
    """The name with the titles SIASN keeps apart (Gelar Depan, Gelar Belakang), as a letter
    addresses the person: "Dr. Budi Santoso, M.Si."; a title the name already carries is not
    added twice."""
    name = files.cell_text(cells.get("full_name"))
    before, after = files.cell_text(cells.get("title_before")), files.cell_text(cells.get("title_after"))
    if name and before and not name.startswith(before):
        name = f"{before} {name}"
    if name and after and not name.endswith(after):
        name = f"{name}, {after}"
    return name


def _supervisor_nip(raw: Any, nip: str, problems: list[tuple[str, str]]) -> str:
    """The supervisor's NIP ("" for none); a problem for a malformed one or the person's own."""
    supervisor_nip = _nip_text(raw)
    if not supervisor_nip and not files.is_number(raw):
        return ""
    if message := _nip_problem(raw, supervisor_nip):
        problems.append(("supervisor_nip", message))
    elif supervisor_nip == nip:
        problems.append(("supervisor_nip", _("A person cannot be their own supervisor.")))
    return supervisor_nip


def _head_flag(raw: Any, problems: list[tuple[str, str]]) -> bool | None:
    text = files.cell_text(raw)
    try:
        return supervisors.head_flag(text)
    except ValueError:
        problems.append(("is_head", _("Write “ya” or “tidak” (or leave the cell empty), not “%(value)s”.") % {"value": text}))
        return None


def resolve_unit_names(rows: list[StaffRow], *, names: Mapping[str, str], errors: list[RowError]) -> list[StaffRow]:
    """Give each row that names its unit without a code the code of the one active unit of that
    name; return the rows that have a unit code now, after adding an error for each other row."""
    wanted = sorted({_name_key(row.unit_name) for row in rows if not row.unit_code})
    if not wanted:
        return rows
    found = _active_units_named(wanted)
    kept = []
    for row in rows:
        matches = found.get(_name_key(row.unit_name), []) if not row.unit_code else []
        if row.unit_code:
            kept.append(row)
        elif len(matches) == 1:
            row.unit_code = matches[0].code
            kept.append(row)
        else:
            errors.append(RowError(row.row, names["unit_name"], _unit_name_problem(row.unit_name, matches)))
    return kept


def _name_key(name: str) -> str:
    return " ".join(name.split()).lower()


def _active_units_named(keys: Sequence[str]) -> dict[str, list[WorkUnit]]:
    """The active units whose name (in any case) is one of `keys`, by that key, in tree order."""
    units: dict[str, list[WorkUnit]] = {}
    for chunk in files.chunks(keys):
        found = WorkUnit.objects.annotate(name_key=Lower("name")).filter(name_key__in=chunk, is_active=True).order_by("path")
        for unit in found.only("id", "code", "name"):
            units.setdefault(_name_key(unit.name), []).append(unit)
    return units


def _unit_name_problem(name: str, matches: Sequence[WorkUnit]) -> str:
    if not matches:
        return _(
            "No active work unit is named “%(name)s”. Check the spelling against the unit list, or give the unit's code (Kode Unit or Unor ID)."
        ) % {"name": name}
    return _("Several active work units are named “%(name)s”: %(choices)s. Give the unit's code (Kode Unit or Unor ID) to say which.") % {
        "name": name,
        "choices": ", ".join(str(unit) for unit in matches),
    }


def _nip_problem(raw: Any, nip: str) -> str | None:
    """Why the NIP cell (`raw` as read, `nip` its text without spaces) is no NIP, or None."""
    if files.is_number(raw):
        return _(
            "This NIP is stored as a number, and Excel keeps only 15 digits of a number: the last digits "
            "of the 18-digit NIP are lost. Format the NIP column as Text, type the NIPs again and save."
        )
    if not nip:
        return _("The NIP is missing.")
    if NIP_AS_NUMBER.match(nip):
        return _(
            "This NIP was saved as a number in scientific notation (%(value)s), so its last digits are lost. "
            "In Excel format the NIP column as Text, type the NIPs again and save."
        ) % {"value": nip}
    try:
        validate_nip(nip)
    except ValidationError as error:
        return " ".join(str(message) for message in error.messages)
    return None


def _email_problem(email: str) -> str | None:
    """Why `email` is no usable e-mail address, or None."""
    try:
        if len(email) > get_user_model()._meta.get_field("email").max_length:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        return _("“%(value)s” is not a valid e-mail address.") % {"value": email}
    return None

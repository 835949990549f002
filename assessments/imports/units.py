"""The work-unit import: check a file's rows (Kode, Nama, Kode Induk), plan them against the
unit tree (parents first, no loops), and write them, all or nothing."""

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_update_with_history
from treebeard.exceptions import InvalidMoveToDescendant, PathOverflow

from .. import summaries
from ..models import WorkUnit
from . import files
from .files import CREATE, UNCHANGED, UPDATE, Change, Column, ImportResult, ImportSummary, Plan, PlanItem, RowError

# What the import page tells an admin about the file.
NOTES = (
    gettext_lazy("Kode Induk is the code of the unit above; leave it empty for a top-level unit."),
    gettext_lazy("Parents may come anywhere in the file. A unit whose Kode Induk changes moves with everything below it."),
    gettext_lazy("Units that are not in the file stay as they are."),
)

UNIT_COLUMNS = (
    Column("code", "Kode", ("Kode Unit", "Kode Unit Kerja", "Code")),
    Column("name", "Nama", ("Nama Unit", "Nama Unit Kerja", "Name")),
    # Required, although its cells may be empty: a file without it would make every unit a root.
    Column("parent_code", "Kode Induk", ("Kode Unit Induk", "Induk", "Parent Code", "Parent")),
)


@dataclass
class UnitRow:
    row: int
    code: str
    name: str
    parent_code: str  # "": a root


def read_units(data: bytes, filename: str, *, scope: Sequence[WorkUnit] | None = None) -> ImportResult:
    """Check a work-unit file (Kode, Nama, Kode Induk) and plan it; writes nothing.
    `scope`: an office admin's units (permissions.managed_units), None for the whole organisation."""
    return files.read_result("units", functools.partial(_read_units, scope=scope), data, filename)


def _read_units(data: bytes, filename: str, *, scope: Sequence[WorkUnit] | None) -> ImportResult:
    table = files.read_table(data, filename, UNIT_COLUMNS)
    names = files.header_names(UNIT_COLUMNS, table.headers)
    code_field = WorkUnit._meta.get_field("code")
    name_limit = WorkUnit._meta.get_field("name").max_length
    errors: list[RowError] = []
    rows: list[UnitRow] = []
    first_row_of: dict[str, int] = {}
    for number, cells in table.records:
        problems: list[RowError] = []
        code = files.cell_text(cells.get("code"))
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
        name = files.cell_text(cells.get("name"))
        if not name:
            problems.append(RowError(number, names["name"], _("The name is missing.")))
        elif message := files.length_error(name, name_limit):
            problems.append(RowError(number, names["name"], message))
        parent_code = files.cell_text(cells.get("parent_code"))
        if code and parent_code == code:
            problems.append(RowError(number, names["parent_code"], _("A unit cannot be its own parent.")))
        if problems:
            errors.extend(problems)
        else:
            rows.append(UnitRow(number, code, name, parent_code))
    # A unit whose row failed is still "defined in the file": its children are not blamed for it.
    plan = plan_units(rows, headers=table.headers, also_defined=set(first_row_of), scope=scope)
    errors.extend(plan.errors)
    return ImportResult("units", errors=files.sorted_errors(errors, UNIT_COLUMNS, names), rows=rows, plan=plan)


def plan_units(
    rows: Sequence[UnitRow],
    *,
    headers: Mapping[str, str] | None = None,
    also_defined: Iterable[str] = (),
    scope: Sequence[WorkUnit] | None = None,
) -> Plan:
    """Compare checked rows with the unit tree: new units, renamed ones and moved ones.

    Items come parents first, so that writing them in order always finds the parent in place;
    parents may be defined anywhere in the file or already exist. `scope`: an office admin's
    units, which the file may change and place units below only (`_office_errors`).
    """
    names = files.header_names(UNIT_COLUMNS, headers)
    units = {unit.code: unit for unit in WorkUnit.objects.only("id", "code", "name", "path", "depth", "is_active")}
    stored_parent = _stored_parents(units.values())
    in_file = {row.code: row for row in rows}
    # The tree as it would be after the import: stored parents, overridden by the file.
    parent_of = stored_parent | {code: row.parent_code for code, row in in_file.items()}

    plan = Plan()
    bad = _unknown_parents(rows, set(units) | set(in_file) | set(also_defined), names, plan.errors)
    depth = _depths(rows, parent_of, in_file, names, bad, plan.errors)
    if scope is not None and not plan.errors:
        _office_errors(rows, units, stored_parent, scope, names, plan.errors)
    if plan.errors:
        return plan
    for row in sorted(rows, key=lambda row: (depth[row.code], row.row)):
        plan.items.append(_plan_unit(row, units.get(row.code), stored_parent))
    return plan


def _stored_parents(units: Iterable[WorkUnit]) -> dict[str, str]:
    """Each unit's parent code ("" for a root), from the paths of the whole table."""
    by_path = {unit.path: unit for unit in units}
    parents = {unit.code: WorkUnit.chain_paths(unit.path)[-2:-1] for unit in by_path.values()}  # [] for a root
    return {code: by_path[path[0]].code if path and path[0] in by_path else "" for code, path in parents.items()}


def _unknown_parents(rows: Sequence[UnitRow], defined: set[str], names: Mapping[str, str], errors: list[RowError]) -> set[str]:
    """Add an error for each row whose parent is neither stored nor in the file; return their codes."""
    bad = set()
    for row in rows:
        if row.parent_code and row.parent_code not in defined:
            message = _("There is no unit with the code “%(code)s”, neither in the database nor in this file.") % {"code": row.parent_code}
            errors.append(RowError(row.row, names["parent_code"], message))
            bad.add(row.code)
    return bad


def _depths(
    rows: Sequence[UnitRow],
    parent_of: Mapping[str, str],
    in_file: Mapping[str, UnitRow],
    names: Mapping[str, str],
    bad: set[str],
    errors: list[RowError],
) -> dict[str, int]:
    """Return each unit's depth in the tree after the import (a root is 1), climbing from every
    row towards the root; add an error for each row whose parents form a loop."""
    # Each unit has one parent, so a loop shows up as a unit met twice while climbing.
    depth: dict[str, int] = {}
    for row in rows:
        chain: list[str] = []
        code = row.code
        while code and code not in depth:
            if code in chain:
                _loop_errors(chain[chain.index(code) :], in_file, names, bad, errors)
                break
            chain.append(code)
            code = parent_of.get(code, "")
        level = depth.get(code, 0) if code and code not in chain else 0
        for member in reversed(chain):
            level += 1
            depth[member] = level
    return depth


def _office_errors(
    rows: Sequence[UnitRow], units: Mapping[str, WorkUnit], stored_parent: Mapping[str, str], scope: Sequence[WorkUnit], names: Mapping[str, str], errors: list[RowError]
) -> None:
    """Add an error for each row that an office admin (`scope`: their units) may not write: one
    of a stored unit outside their units, or one that puts a unit (new, or moved) anywhere but
    below one of them (directly, or through units of the file that land there)."""
    in_file = {row.code: row for row in rows}

    def theirs(code: str) -> bool:
        unit = units.get(code)
        return unit is not None and any(unit.is_within(top) for top in scope)

    def placed(row: UnitRow) -> bool:  # new, or given another parent
        return row.code not in units or row.parent_code != stored_parent[row.code]

    @functools.cache
    def lands_inside(code: str) -> bool:  # would the unit `code` lie in their units after the import?
        row = in_file.get(code)
        if row is not None and placed(row):
            return bool(row.parent_code) and lands_inside(row.parent_code)
        return theirs(code)

    for row in rows:
        if row.code in units and not theirs(row.code):
            message = _("The unit “%(code)s” is not one of the units you manage.") % {"code": row.code}
            errors.append(RowError(row.row, names["code"], message))
        elif placed(row) and not (row.parent_code and lands_inside(row.parent_code)):
            message = _("Kode Induk must be one of the units you manage, or a unit below them.")
            errors.append(RowError(row.row, names["parent_code"], message))


def _loop_errors(loop: list[str], in_file: Mapping[str, UnitRow], names: Mapping[str, str], bad: set[str], errors: list[RowError]) -> None:
    text = " → ".join([*loop, loop[0]])
    for member in loop:
        if member in in_file and member not in bad:
            message = _("The parent units form a loop: %(loop)s.") % {"loop": text}
            errors.append(RowError(in_file[member].row, names["parent_code"], message))
            bad.add(member)


def _plan_unit(row: UnitRow, unit: WorkUnit | None, stored_parent: Mapping[str, str]) -> PlanItem:
    if unit is None:
        return PlanItem(row, CREATE)
    changes = []
    if unit.name != row.name:
        changes.append(Change("name", str(WorkUnit._meta.get_field("name").verbose_name), unit.name, row.name))
    old_parent = stored_parent[unit.code]
    if old_parent != row.parent_code:
        changes.append(Change("parent", _("parent unit"), old_parent or "–", row.parent_code or "–"))
    return PlanItem(row, UPDATE if changes else UNCHANGED, changes, target=unit)


def units_import(*, rows: Sequence[UnitRow], actor, scope: Sequence[WorkUnit] | None = None) -> ImportSummary:
    """Create, rename and move work units from checked import rows, all or nothing.

    New units go under their parent (the plan orders parents first, wherever they stand in the
    file); an existing unit whose parent code differs moves, with everything below it. Units
    not in `rows` stay as they are. `scope`: an office admin's units (the rows were checked
    against them, and are again). Raises ServiceError, and writes nothing, when a row no
    longer fits the tree.
    """
    try:
        with transaction.atomic():
            plan = plan_units(rows, scope=scope)
            if plan.errors:
                raise files.import_refused(plan)
            units = {unit.code: unit for unit in (item.target for item in plan.items) if unit is not None}
            missing_parents = {item.row.parent_code for item in plan.items} - set(units) - {""}
            units.update({unit.code: unit for unit in WorkUnit.objects.filter(code__in=missing_parents)})
            changed = []
            for item in plan.items:  # parents first
                row = item.row
                parent = units[row.parent_code] if row.parent_code else None
                if item.action == CREATE:
                    unit = WorkUnit(code=row.code, name=row.name)
                    # The tree methods save() one node at a time: history comes from the signal.
                    unit._history_user = actor
                    unit._change_reason = files.import_reason()
                    if parent is None:
                        units[row.code] = WorkUnit.objects.add_root(instance=unit)
                    else:
                        units[row.code] = WorkUnit.objects.add_child(parent, instance=unit)
                elif item.action == UPDATE:
                    unit = item.target
                    if any(change.field == "parent" for change in item.changes):
                        target, position = (parent, "last-child") if parent is not None else (WorkUnit.objects.get_last_root_node(), "last-sibling")
                        summaries.unit_move(unit=unit, target=target, position=position)
                    unit.name = row.name
                    unit._change_reason = files.import_reason(item.changes)
                    changed.append(unit)
            # The path is not part of a unit's history, so a move is recorded through the
            # reason ("parent unit") of the history record written here.
            bulk_update_with_history(changed, WorkUnit, ["name"], batch_size=500, default_user=actor)
            # Nobody changed unit: the roll-ups followed each move above, nothing else to refresh.
    except (IntegrityError, PathOverflow, InvalidMoveToDescendant):
        raise files.changed_meanwhile()
    return ImportSummary.of(plan)

"""Supervisor relations in the staff import: the columns NIP Atasan and Kepala Unit, mapped onto
the one relation the app knows, SupervisorAssignment ("heads this unit and everything below
it"), checked row by row and compared with the stored assignments. `staff.staff_import` writes
the plan in its own transaction, after the staff rows.

The mapping (docs/RULES.md, and the import page's NOTES):

- A person heads their own unit when their Kepala Unit cell says ya, and does not when it says
  tidak. With the cell empty or the column missing: when someone else of the same unit (who is
  not marked as its head) names them as supervisor, or else when they head that unit already.
- "X's supervisor is S" means S heads X's unit; when X heads their unit, S heads the unit above
  it. The app's scope rule then lets S see X (and everyone else there).
- A file gives a unit at most one head, who replaces the unit's other heads; a person marked
  tidak stops heading their own unit. Units the file gives no head keep theirs.

Each problem is an error of the row that causes it: an unknown or inactive supervisor, a loop
of supervisors (A's supervisor is B, B's is A; longer too), the head of a top-level unit with a
supervisor (there is no unit above for them), and two heads for one unit.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from ..models import Employee, SupervisorAssignment, WorkUnit
from . import files
from .files import RowError

# The words of the Kepala Unit column ("Y"/"T" is the usual short form of ya/tidak).
YES = frozenset({"ya", "y", "yes", "true", "1", "benar"})
NO = frozenset({"tidak", "tdk", "t", "no", "n", "false", "0", "bukan"})


def head_flag(text: str) -> bool | None:
    """Read a Kepala Unit cell: True (ya), False (tidak) or None (empty). Raises ValueError."""
    word = text.strip().lower()
    if not word:
        return None
    if word in YES:
        return True
    if word in NO:
        return False
    raise ValueError(text)


@dataclass(frozen=True)
class Headship:
    """One supervisor assignment the import adds or removes: `nip` (`name`) heads `unit`.
    `rows`: the rows of the file that say so (an addition); `assignment`: the stored one (a removal)."""

    nip: str
    name: str
    unit: WorkUnit
    rows: tuple[int, ...] = ()
    assignment: SupervisorAssignment | None = None


@dataclass
class HeadsPlan:
    added: list[Headship] = field(default_factory=list)
    removed: list[Headship] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class _Claim:
    """A row of the file saying that `nip` heads a unit."""

    nip: str
    row: int
    column: str  # the column key it comes from, for its error
    stated: bool  # said by the file, not only kept from the database


def plan_heads(
    rows: Sequence, *, units: Mapping[str, WorkUnit], names: Mapping[str, str], also_in_file: Iterable[str] = (), lock: bool = False
) -> HeadsPlan:
    """The supervisor assignments that checked staff rows (StaffRow) add and remove, and every
    row's problem with them. `units`: the rows' units by code (rows of an unknown or inactive
    unit have their own error and are left out here). A file without supervisor relations
    plans nothing and reads nothing."""
    rows = [row for row in rows if row.unit_code in units and units[row.unit_code].is_active]
    if not any(row.supervisor_nip or row.is_head is not None for row in rows):
        return HeadsPlan()
    plan = HeadsPlan()
    in_file = {row.nip: row for row in rows}
    outsiders, skip = _supervisors_outside(rows, in_file, set(also_in_file), names, plan.errors)
    skip |= _loops(rows, in_file, names, plan.errors)
    parents = _parents(units[code] for code in {row.unit_code for row in rows})
    targets = {unit.code: unit for unit in (*units.values(), *filter(None, parents.values()))}
    # The stored heads of the rows' units (a head of one's own unit) and of their parents.
    by_unit = _stored_heads({units[code].pk for code in parents} | _ids(parents), lock=lock)
    claims = _claims(rows, units=units, parents=parents, by_unit=by_unit, skip=skip, names=names, errors=plan.errors)
    people = {nip: row.full_name for nip, row in in_file.items()} | {nip: employee.full_name for nip, employee in outsiders.items()}
    for code, unit_claims in claims.items():
        _settle(targets[code], unit_claims, in_file=in_file, people=people, stored=by_unit.get(code, []), names=names, plan=plan)
    _denials(rows, by_unit, plan)
    return plan


def _ids(units: Mapping[str, WorkUnit | None]) -> set[int]:
    return {unit.pk for unit in units.values() if unit is not None}


def _claims(
    rows: Sequence,
    *,
    units: Mapping[str, WorkUnit],
    parents: Mapping[str, WorkUnit | None],
    by_unit: Mapping[str, list[SupervisorAssignment]],
    skip: set[int],
    names: Mapping[str, str],
    errors: list[RowError],
) -> dict[str, list[_Claim]]:
    """What the rows say about who heads which unit, by unit code (the mapping in the module's
    docstring); an error for the head of a top-level unit who names a supervisor."""
    stored_pairs = {(assignment.employee.nip, code) for code, assignments in by_unit.items() for assignment in assignments}
    named = {(row.supervisor_nip, row.unit_code) for row in rows if row.supervisor_nip and row.is_head is not True}
    claims: dict[str, list[_Claim]] = defaultdict(list)
    for row in rows:
        heads_own = _heads_own_unit(row, named, stored_pairs)
        if heads_own:
            stated = row.is_head is True or (row.nip, row.unit_code) in named
            claims[row.unit_code].append(_Claim(row.nip, row.row, "is_head", stated))
        if not row.supervisor_nip or row.row in skip:
            continue
        target = parents[row.unit_code] if heads_own else units[row.unit_code]
        if target is None:
            errors.append(RowError(row.row, names["supervisor_nip"], _top_level_message(row, units[row.unit_code])))
        else:
            claims[target.code].append(_Claim(row.supervisor_nip, row.row, "supervisor_nip", True))
    return claims


def _heads_own_unit(row, named: set[tuple[str, str]], stored_pairs: set[tuple[str, str]]) -> bool:
    if row.is_head is not None:
        return row.is_head
    return (row.nip, row.unit_code) in named or (row.nip, row.unit_code) in stored_pairs


def _supervisors_outside(
    rows: Sequence, in_file: Mapping, also_in_file: set[str], names: Mapping[str, str], errors: list[RowError]
) -> tuple[dict[str, Employee], set[int]]:
    """The active employees named as supervisors who have no row of their own, by NIP; and the
    rows whose supervisor cannot be used: unknown or inactive (each with an error), or a row of
    the file that failed its own checks (which has its error already)."""
    wanted = sorted({row.supervisor_nip for row in rows if row.supervisor_nip} - set(in_file) - also_in_file)
    found: dict[str, Employee] = {}
    for chunk in files.chunks(wanted):
        found.update({e.nip: e for e in Employee.objects.filter(nip__in=chunk).only("id", "nip", "full_name", "is_active")})
    skip = set()
    for row in rows:
        nip = row.supervisor_nip
        if not nip or nip in in_file:
            continue
        employee = found.get(nip)
        if nip in also_in_file:
            skip.add(row.row)  # that row has its own error
        elif employee is None:
            errors.append(RowError(row.row, names["supervisor_nip"], _unknown_message(nip)))
            skip.add(row.row)
        elif not employee.is_active:
            message = _("The supervisor %(name)s (NIP %(nip)s) is no longer active.") % {"name": employee.full_name, "nip": nip}
            errors.append(RowError(row.row, names["supervisor_nip"], message))
            skip.add(row.row)
    return {nip: e for nip, e in found.items() if e.is_active}, skip


def _unknown_message(nip: str) -> str:
    return _("No employee has the NIP %(nip)s, neither in this file nor in the database.") % {"nip": nip}


def _loops(rows: Sequence, in_file: Mapping, names: Mapping[str, str], errors: list[RowError]) -> set[int]:
    """Add an error for each row whose chain of supervisors in the file comes back to it (A's
    supervisor is B and B's is A, or longer); return their row numbers."""
    # Each person has one supervisor, so a loop shows up as a person met twice while climbing.
    done: set[str] = set()
    bad: set[int] = set()
    for row in rows:
        chain: list[str] = []
        nip = row.nip
        while nip in in_file and nip not in done:
            if nip in chain:
                loop = chain[chain.index(nip) :]
                text = " → ".join(f"{in_file[member].full_name} ({member})" for member in [*loop, loop[0]])
                for member in loop:
                    errors.append(RowError(in_file[member].row, names["supervisor_nip"], _("The supervisors form a loop: %(loop)s.") % {"loop": text}))
                    bad.add(in_file[member].row)
                break
            chain.append(nip)
            nip = in_file[nip].supervisor_nip
        done.update(chain)
    return bad


def _parents(units: Iterable[WorkUnit]) -> dict[str, WorkUnit | None]:
    """Each unit's parent by the unit's code (None for a top-level unit), in one query per chunk."""
    paths = {unit.code: unit.path[: -WorkUnit.steplen] for unit in units}
    found: dict[str, WorkUnit] = {}
    for chunk in files.chunks(sorted({path for path in paths.values() if path})):
        found.update({unit.path: unit for unit in WorkUnit.objects.filter(path__in=chunk).only("id", "code", "name", "path", "is_active")})
    return {code: found.get(path) if path else None for code, path in paths.items()}


def _stored_heads(unit_ids: set[int], *, lock: bool) -> dict[str, list[SupervisorAssignment]]:
    """The stored assignments of these units, by unit code."""
    assignments = SupervisorAssignment.objects.select_related("employee", "unit").order_by("pk")
    if lock:
        assignments = assignments.select_for_update(of=("self",))
    by_unit: dict[str, list[SupervisorAssignment]] = defaultdict(list)
    for chunk in files.chunks(sorted(unit_ids)):
        for assignment in assignments.filter(unit_id__in=chunk):
            by_unit[assignment.unit.code].append(assignment)
    return by_unit


def _settle(
    unit: WorkUnit,
    claims: Sequence[_Claim],
    *,
    in_file: Mapping,
    people: Mapping[str, str],
    stored: Sequence[SupervisorAssignment],
    names: Mapping[str, str],
    plan: HeadsPlan,
) -> None:
    """Plan one unit's head from the claims on it, or add the errors that stop it."""
    heads = list(dict.fromkeys(claim.nip for claim in claims))
    if len(heads) > 1:
        message = _several_heads_message(unit, claims, people)
        plan.errors.extend(RowError(claim.row, names[claim.column], message) for claim in claims)
        return
    head = heads[0]
    denial = in_file.get(head)
    if denial is not None and denial.is_head is False and denial.unit_code == unit.code:
        message = _(
            "This names %(name)s as the head of %(unit)s, but row %(row)s says under Kepala Unit that they do not head it."
        ) % {"name": people[head], "unit": unit, "row": denial.row}
        plan.errors.extend(RowError(claim.row, names[claim.column], message) for claim in claims if claim.row != denial.row)
        return
    if all(assignment.employee.nip != head for assignment in stored):
        plan.added.append(Headship(head, people[head], unit, tuple(sorted({claim.row for claim in claims}))))
    if any(claim.stated for claim in claims):
        plan.removed.extend(_removal(a) for a in stored if a.employee.nip != head)


def _denials(rows: Sequence, by_unit: Mapping[str, list[SupervisorAssignment]], plan: HeadsPlan) -> None:
    """A person marked tidak under Kepala Unit stops heading their own unit (unless that is
    planned already because the unit gets another head)."""
    planned = {headship.assignment.pk for headship in plan.removed}
    for row in rows:
        if row.is_head is False:
            for assignment in by_unit.get(row.unit_code, []):
                if assignment.employee.nip == row.nip and assignment.pk not in planned:
                    plan.removed.append(_removal(assignment))


def _removal(assignment: SupervisorAssignment) -> Headship:
    return Headship(assignment.employee.nip, assignment.employee.full_name, assignment.unit, assignment=assignment)


def _several_heads_message(unit: WorkUnit, claims: Sequence[_Claim], people: Mapping[str, str]) -> str:
    rows_of: dict[str, list[int]] = defaultdict(list)
    for claim in claims:
        rows_of[claim.nip].append(claim.row)
    choices = "; ".join(
        _("%(name)s (NIP %(nip)s, rows %(rows)s)") % {"name": people[nip], "nip": nip, "rows": ", ".join(map(str, sorted(set(rows))))}
        for nip, rows in rows_of.items()
    )
    return _(
        "The unit %(unit)s would get several heads: %(choices)s. A file gives a unit one head: correct NIP Atasan or "
        "Kepala Unit in these rows (write “tidak” under Kepala Unit for a person who no longer heads it)."
    ) % {"unit": unit, "choices": choices}


def _top_level_message(row, unit: WorkUnit) -> str:
    return _(
        "%(name)s heads %(unit)s, a top-level unit: there is no unit above it for a supervisor to head. "
        "Leave NIP Atasan empty, or write “tidak” under Kepala Unit if they do not head it."
    ) % {"name": row.full_name, "unit": unit}


def heads_write(plan, *, actor) -> None:
    """Remove and add the supervisor assignments of a checked staff plan (files.Plan), each with
    a history record naming `actor`. Runs inside the import's transaction, after the staff
    rows are written (a new head's employee record must exist)."""
    for headship in plan.heads_removed:
        assignment = headship.assignment
        assignment._history_user = actor
        assignment._change_reason = files.import_reason()
        assignment.delete()
    if not plan.heads_added:
        return
    ids: dict[str, int] = {}
    for chunk in files.chunks(sorted({headship.nip for headship in plan.heads_added})):
        ids.update(Employee.objects.filter(nip__in=chunk).values_list("nip", "pk"))
    new = [SupervisorAssignment(employee_id=ids[headship.nip], unit_id=headship.unit.pk) for headship in plan.heads_added]
    bulk_create_with_history(new, SupervisorAssignment, batch_size=1000, default_user=actor, default_change_reason=files.import_reason())

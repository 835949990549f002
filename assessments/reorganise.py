"""Reorganisations (SOTK): move, rename, merge and split work units, each in one transaction.

They change today's tree and the open period only: a closed period keeps the organisation it
was assessed in (structure.py) and its figures (summaries.period_figures_writable). A unit keeps
its identity (its code) through a move or a rename; a merge or a split ends units and begins
others, recorded as lineage (models.UnitLineage) so that trends can follow. Each operation has
a `*_plan` that checks the input and says what would change (the admin's preview) and raises
ServiceError with a message in the user's language when the reorganisation is refused; the
operation itself runs the same plan again inside its transaction.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from . import summaries
from .errors import ServiceError
from .models import AssessmentPeriod, Employee, SelfAssessment, SupervisorAssignment, UnitLineage, WorkUnit


@dataclass
class Plan:
    """What a reorganisation changes: the units it ends or moves, the staff who change unit,
    and the open period's assessments attributed anew. Closed periods never change."""

    summary: str
    units: list[WorkUnit] = field(default_factory=list)
    staff: int = 0
    sub_units: int = 0
    open_assessments: int = 0
    open_period: AssessmentPeriod | None = None


def _open_period() -> AssessmentPeriod | None:
    return AssessmentPeriod.objects.filter(status=AssessmentPeriod.Status.OPEN).first()


def _refused(message: str, code: str) -> ServiceError:
    return ServiceError(message, code=code)


def _check_new_code(code: str) -> None:
    if WorkUnit.objects.filter(code=code).exists():
        raise _refused(_("The code %(code)s is already used by another unit.") % {"code": code}, "code_taken")


def _open_assessments(units: list[WorkUnit], period: AssessmentPeriod | None) -> int:
    return SelfAssessment.objects.filter(period=period, unit__in=units).count() if period else 0


def _refresh_open_period(period: AssessmentPeriod | None) -> None:
    """The open period follows the new tree: its figures recomputed from its assessments."""
    if period is not None:
        summaries.summary_rebuild(period=period)
        summaries.period_expected_refresh(period=period)


# --- Move and rename ----------------------------------------------------------------------------


def move_plan(*, unit: WorkUnit, parent: WorkUnit | None) -> Plan:
    """Check moving `unit` (with everything below it) under `parent` (None: to the top)."""
    if unit.depth == 1:
        raise _refused(_("%(unit)s is at the top of the tree and cannot be moved.") % {"unit": unit.name}, "move_root")
    if parent is not None and parent.is_within(unit):
        raise _refused(_("A unit cannot be moved into itself or into a unit below it."), "move_cycle")
    period = _open_period()
    below = list(unit.subtree())
    staff = Employee.objects.filter(unit__in=below, is_active=True).count()
    where = parent.name if parent else _("the top of the tree")
    return Plan(
        summary=_("%(unit)s moves under %(parent)s, with the %(n)s units below it.") % {"unit": unit.name, "parent": where, "n": len(below) - 1},
        units=[unit], staff=staff, sub_units=len(below) - 1, open_assessments=_open_assessments(below, period), open_period=period,
    )


def unit_move(*, unit: WorkUnit, parent: WorkUnit | None, actor) -> WorkUnit:
    """Move `unit` under `parent` (None: make it a top unit); its figures follow in the open
    period (summaries.unit_move)."""
    with transaction.atomic():
        unit = WorkUnit.objects.get(pk=unit.pk)
        move_plan(unit=unit, parent=parent)
        if parent is None:
            moved = summaries.unit_move(unit=unit, target=WorkUnit.objects.get_last_root_node(), position="last-sibling")
        else:
            moved = summaries.unit_move(unit=unit, target=WorkUnit.objects.get(pk=parent.pk), position="last-child")
        _record(moved, actor, _("Moved under %(parent)s") % {"parent": parent.code if parent else "-"})
    return moved


def unit_rename(*, unit: WorkUnit, name: str, actor) -> WorkUnit:
    """Rename a unit: today's tree and the open period show the new name, closed periods the
    name they were assessed under."""
    name = name.strip()
    if not name:
        raise _refused(_("Give the unit a name."), "name_required")
    with transaction.atomic():
        unit = WorkUnit.objects.get(pk=unit.pk)
        unit.name = name
        _record(unit, actor, _("Renamed"))
    return unit


def _record(unit: WorkUnit, actor, reason: str) -> None:
    """Save `unit` with a history record naming the actor and the reorganisation."""
    unit._history_user = actor
    unit._change_reason = reason[:100]
    unit.save()


# --- Merge --------------------------------------------------------------------------------------


def merge_plan(*, units: list[WorkUnit], code: str, name: str, parent: WorkUnit | None) -> Plan:
    """Check merging `units` into a new unit `code` under `parent` (None: under the units'
    common parent, which they must then share)."""
    units = list({u.pk: u for u in units}.values())
    if len(units) < 2:
        raise _refused(_("Choose at least two units to merge."), "merge_too_few")
    if any(not u.is_active for u in units):
        raise _refused(_("Only active units can be merged."), "merge_inactive")
    if any(a.pk != b.pk and a.is_within(b) for a in units for b in units):
        raise _refused(_("A unit cannot be merged with a unit above or below it."), "merge_nested")
    if parent is not None and any(parent.is_within(u) for u in units):
        raise _refused(_("The merged unit cannot be placed inside one of the units it replaces."), "merge_cycle")
    parents = {parent_of(u) for u in units}
    if parent is None and len(parents) > 1:
        raise _refused(_("These units have different parent units: choose where the merged unit goes."), "merge_parent")
    _check_new_code(code)
    period = _open_period()
    return Plan(
        summary=_("%(units)s become %(name)s (%(code)s).") % {"units": ", ".join(u.name for u in units), "name": name, "code": code},
        units=units,
        staff=Employee.objects.filter(unit__in=units, is_active=True).count(),
        sub_units=sum(_children(u).count() for u in units),
        open_assessments=_open_assessments(units, period),
        open_period=period,
    )


def units_merge(*, units: list[WorkUnit], code: str, name: str, parent: WorkUnit | None, actor) -> WorkUnit:
    """Merge `units` into a new unit: their sub-units, staff, heads and open-period
    assessments go to it; they end (inactive, kept for their past periods); lineage records
    each of them as merged into it. Returns the new unit."""
    with transaction.atomic():
        units = list(WorkUnit.objects.filter(pk__in=[u.pk for u in units]).order_by("path"))
        parent = WorkUnit.objects.get(pk=parent.pk) if parent else None
        plan = merge_plan(units=units, code=code, name=name, parent=parent)
        merged = _new_unit(code, name, parent or parent_of(units[0]), actor)
        for old in units:
            _children_move(old, merged)
        _hand_over(units, {u.pk: merged for u in units}, actor)
        _end(units, [merged], UnitLineage.Kind.MERGE, actor)
        _refresh_open_period(plan.open_period)
    return WorkUnit.objects.get(pk=merged.pk)


# --- Split --------------------------------------------------------------------------------------


def split_plan(*, unit: WorkUnit, parts: list[tuple[str, str]], staff: dict[int, int]) -> Plan:
    """Check splitting `unit` into `parts` [(code, name)], every active staff member of it
    assigned to a part (`staff`: employee id -> part index)."""
    if len(parts) < 2:
        raise _refused(_("A split needs at least two new units."), "split_too_few")
    if not unit.is_active:
        raise _refused(_("Only an active unit can be split."), "split_inactive")
    codes = [code for code, _name in parts]
    if len(set(codes)) != len(codes):
        raise _refused(_("Each new unit needs its own code."), "split_codes")
    for code in codes:
        _check_new_code(code)
    people = list(Employee.objects.filter(unit=unit, is_active=True).order_by("full_name"))
    unassigned = [p for p in people if staff.get(p.pk) not in range(len(parts))]
    if unassigned:
        names = ", ".join(p.full_name for p in unassigned[:10]) + ("…" if len(unassigned) > 10 else "")
        raise _refused(
            _("Assign every staff member to one of the new units (%(n)s not assigned: %(names)s).") % {"n": len(unassigned), "names": names},
            "split_unassigned",
        )
    period = _open_period()
    return Plan(
        summary=_("%(unit)s becomes %(parts)s.") % {"unit": unit.name, "parts": ", ".join(f"{n} ({c})" for c, n in parts)},
        units=[unit],
        staff=len(people),
        sub_units=_children(unit).count(),
        open_assessments=_open_assessments([unit], period),
        open_period=period,
    )


def unit_split(*, unit: WorkUnit, parts: list[tuple[str, str]], staff: dict[int, int], actor) -> list[WorkUnit]:
    """Split `unit` into new units beside it: each staff member (and their open-period
    assessment) goes to their part, its sub-units and heads to the first; the unit ends
    (inactive, kept for its past periods); lineage records it as split into each part."""
    with transaction.atomic():
        unit = WorkUnit.objects.get(pk=unit.pk)
        plan = split_plan(unit=unit, parts=parts, staff=staff)
        made = [_new_unit(code, name, parent_of(unit), actor) for code, name in parts]
        _children_move(unit, made[0])
        people = Employee.objects.filter(unit=unit)
        _hand_over([unit], {p.pk: made[staff.get(p.pk, 0)] for p in people}, actor, by_person=True)
        _end([unit], made, UnitLineage.Kind.SPLIT, actor)
        _refresh_open_period(plan.open_period)
    return [WorkUnit.objects.get(pk=u.pk) for u in made]


# --- Shared steps -------------------------------------------------------------------------------


def _children(unit: WorkUnit):
    return WorkUnit.objects.get_children(WorkUnit.objects.get(pk=unit.pk))


def parent_of(unit: WorkUnit) -> WorkUnit | None:
    return WorkUnit.objects.get(path=WorkUnit.chain_paths(unit.path)[-2]) if unit.depth > 1 else None


def _children_move(unit: WorkUnit, target: WorkUnit) -> None:
    """Move every unit directly below `unit` (with their subtrees) under `target`."""
    for child_pk in list(_children(unit).values_list("pk", flat=True)):
        summaries.unit_move(unit=WorkUnit.objects.get(pk=child_pk), target=WorkUnit.objects.get(pk=target.pk), position="last-child")


def _new_unit(code: str, name: str, parent: WorkUnit | None, actor) -> WorkUnit:
    unit = WorkUnit(code=code, name=name)
    unit._history_user = actor
    unit._change_reason = _("Reorganisation")
    return WorkUnit.objects.add_child(WorkUnit.objects.get(pk=parent.pk), instance=unit) if parent else WorkUnit.objects.add_root(instance=unit)


def _hand_over(units: list[WorkUnit], target: dict[int, WorkUnit], actor, *, by_person: bool = False) -> None:
    """Move the staff of `units` (all of them, active or not, so their records stay whole) and
    the open period's assessments attributed to them to their new unit: `target` maps a unit
    id (or, `by_person`, an employee id) to it. The units' heads head the first new unit."""
    period = _open_period()
    people = list(Employee.objects.filter(unit__in=units))
    for person in people:
        person.unit = target[person.pk if by_person else person.unit_id]
    bulk_update_with_history(people, Employee, ["unit"], default_user=actor, default_change_reason=_("Reorganisation"))
    if period is not None:
        for unit in {person.unit_id: person.unit for person in people}.values():
            moving = [person.pk for person in people if person.unit_id == unit.pk]
            SelfAssessment.objects.filter(period=period, employee_id__in=moving, unit__in=units).update(unit=unit)
    first = next(iter(target.values()))
    for head in SupervisorAssignment.objects.filter(unit__in=units):
        SupervisorAssignment.objects.get_or_create(employee_id=head.employee_id, unit=first)


def _end(units: list[WorkUnit], successors: list[WorkUnit], kind: str, actor) -> None:
    # Read again: moving their sub-units away changed their tree fields, and a save of the
    # copies loaded before would write the old child count back (a broken tree).
    ended = list(WorkUnit.objects.filter(pk__in=[u.pk for u in units]))
    for unit in ended:
        unit.is_active = False
    bulk_update_with_history(ended, WorkUnit, ["is_active"], default_user=actor, default_change_reason=_("Ended by a reorganisation"))
    UnitLineage.objects.bulk_create(
        [UnitLineage(predecessor=old, successor=new, kind=kind, actor=actor) for old in units for new in successors]
    )

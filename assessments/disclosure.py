"""Disclosure control, in one place (docs/RULES.md): what an aggregate may show to someone who
may not see the individuals behind it: heads of unit and admins in a confidential period (only
the person and the internal assessment team see answers then), heads of unit for the whole
organisation's figures, and office admins and staff always.

Every figure of a roll-up belongs to a *cell*: the subtree of a unit (("T", unit id)), the
staff directly in a unit (("O", unit id), a drill-down's "staff directly in this unit" row), or
the whole organisation (("T", None)). A cell has one "index" figure (its mean index, grade,
pillar means and indicator means all rest on the same assessments) and one count per grade
band. The rules:

* a live period's figures are never shown to such a viewer: each submission would change
  them, and two readings give the newcomer away; participation (how many have submitted) is;
* primary suppression: no figure from fewer than PRIVACY_MIN_GROUP assessments (an index of a
  cell with fewer counted; a band count below it, but for none);
* complementary suppression: wherever a total and its parts can be read (a unit, its
  sub-units and its own staff; the organisation and its top units; a cell's counted, which is
  public, and its band counts), never exactly one hidden part: hide the next-smallest shown
  part too. Hiding a cell's index hides its band counts. Repeated until nothing changes, so a
  unit hidden as a part is also protected as a total of its own parts;
* a change between two periods only when both sides are shown (a withheld side has no value).

The hidden set of a period is computed over its whole tree (two queries, cached like the
roll-ups by the period's version), so a cell is hidden on every page, export and chart alike.
"""

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count
from django.utils.functional import cached_property

from . import permissions, structure
from .models import AssessmentPeriod, UnitPeriodSummary, Verification, WorkUnit
from .scoring import Grade

INDEX = "index"
VERIFIED = "verified"  # the figures of the assessments verified by the internal assessment team
ORGANISATION = ("T", None)
BANDS = [grade.value for grade in Grade]
DIMENSIONS = [INDEX, *BANDS, VERIFIED]


def subtree(unit: WorkUnit | None) -> tuple:
    """The cell of a unit's subtree (the organisation's when None)."""
    return ("T", unit.pk if unit is not None else None)


def own_staff(unit: WorkUnit) -> tuple:
    """The cell of the staff directly in `unit`."""
    return ("O", unit.pk)


@dataclass(frozen=True)
class Audit:
    """The hidden figures of one period: {(dimension, cell)}, dimension INDEX or a grade."""

    hidden: frozenset

    def shows(self, cell: tuple, dimension: str = INDEX) -> bool:
        return (dimension, cell) not in self.hidden


def _counts(period: AssessmentPeriod) -> tuple[dict, dict]:
    """({cell: {dimension: n}}, {cell: [part cells]}) of `period`'s whole tree."""
    tree = structure.PeriodTree(period)
    paths = dict(tree.rows().values_list("id" if tree.live else "unit_id", "path"))
    fields = ["unit_id", "counted", *[f"count_{band}" for band in BANDS]]
    sizes: dict[tuple, dict] = {}
    for row in UnitPeriodSummary.objects.filter(period=period, unit_id__in=list(paths)).values_list(*fields).order_by():
        sizes[subtree_id(row[0])] = dict(zip([INDEX, *BANDS], row[1:], strict=True))
    _add_verified(period, paths, sizes)
    by_path = {path: pk for pk, path in paths.items()}
    parts: dict[tuple, list] = defaultdict(list)
    for pk, path in paths.items():
        parent = by_path.get(path[: -WorkUnit.steplen]) if len(path) > WorkUnit.steplen else None
        parts[subtree_id(parent)].append(subtree_id(pk))
    sizes[ORGANISATION] = {d: sum(sizes.get(c, {}).get(d, 0) for c in parts[ORGANISATION]) for d in DIMENSIONS}
    for pk in paths:
        cell, own = subtree_id(pk), ("O", pk)
        mine = sizes.get(cell, {})
        sizes[own] = {d: mine.get(d, 0) - sum(sizes.get(c, {}).get(d, 0) for c in parts[cell]) for d in DIMENSIONS}
        parts[cell].append(own)
    return sizes, parts


def _add_verified(period: AssessmentPeriod, paths: dict[int, str], sizes: dict) -> None:
    """Each subtree's number of verified assessments (one query), into `sizes`: each unit's
    own count added to it and to every unit above it."""
    verified = Verification.objects.filter(period=period, state=Verification.State.DONE)
    by_path = {path: pk for pk, path in paths.items()}
    for pk in paths:
        sizes.setdefault(subtree_id(pk), {})[VERIFIED] = 0
    for unit_id, n in verified.values("unit_id").annotate(n=Count("pk")).values_list("unit_id", "n").order_by():
        for ancestor in WorkUnit.chain_paths(paths.get(unit_id, "")):
            if ancestor in by_path:
                sizes[subtree_id(by_path[ancestor])][VERIFIED] += n


def subtree_id(pk: int | None) -> tuple:
    return ("T", pk)


def _equations(sizes: dict, parts: dict) -> list[tuple]:
    """(total, [parts]) of (dimension, cell) pairs; a total of None is always known."""
    equations = []
    for total, cells in parts.items():
        for dimension in DIMENSIONS:
            equations.append(((dimension, total), [(dimension, c) for c in cells]))
    for cell in sizes:
        equations.append((None, [(band, cell) for band in BANDS]))  # a cell's counted is public
    return equations


def protect(sizes: dict, parts: dict, minimum: int) -> frozenset:
    """The hidden (dimension, cell) pairs: primary, then complementary until stable."""

    def size(item) -> int:
        return sizes.get(item[1], {}).get(item[0], 0) if item is not None else 0

    equations = _equations(sizes, parts)
    containing = defaultdict(list)
    for number, (total, cells) in enumerate(equations):
        for item in [total, *cells]:
            if item is not None:
                containing[item].append(number)
    hidden: set = set()
    queue: deque = deque()

    def hide(item) -> None:
        if item in hidden:
            return
        hidden.add(item)
        queue.extend(containing[item])
        if item[0] == INDEX:  # the bands and verified figures of a hidden cell go with it
            for dimension in [*BANDS, VERIFIED]:
                if size((dimension, item[1])) > 0:
                    hide((dimension, item[1]))

    for cell, dimensions in sizes.items():
        for dimension, n in dimensions.items():
            if 0 < n < minimum:
                hide((dimension, cell))
    while queue:
        total, cells = equations[queue.popleft()]
        members = [item for item in [total, *cells] if size(item) > 0]
        if sum(item in hidden for item in members) != 1:
            continue
        shown = [item for item in cells if size(item) > 0 and item not in hidden]
        if shown:
            hide(min(shown, key=lambda item: (size(item), str(item))))
    return frozenset(hidden)


def audit(period: AssessmentPeriod) -> Audit:
    """The hidden figures of `period` (cached by its roll-up version)."""
    from .rollups import cached  # rollups imports this module

    def compute():
        sizes, parts = _counts(period)
        return Audit(hidden=protect(sizes, parts, settings.PRIVACY_MIN_GROUP))

    return cached(("disclosure", settings.PRIVACY_MIN_GROUP), [period], compute)


class Disclosure:
    """What `viewer` may be shown of the aggregates of `period`. `viewer` None: a staff member
    looking at a group's figures (their unit's mean), always under control."""


    def __init__(self, viewer, period: AssessmentPeriod):
        self.viewer, self.period = viewer, period
        self.admin = viewer is not None and permissions.is_admin(viewer)
        self._audit = None

    @cached_property
    def groups_only(self) -> bool:
        # An office admin reads group figures only (the Rekap of their units, its workbook and
        # reports), even of a unit they also head: no figure of theirs rests on a few people.
        return not self.admin and permissions.is_office_admin(self.viewer)

    def controlled(self, cell: tuple) -> bool:
        """True when the viewer may not see the individuals behind `cell`: staff and office
        admins; anyone in a confidential period (admins too: only the person and the internal
        assessment team see answers); a head of unit for the whole organisation's figures."""
        if self.viewer is None or not permissions.sees_individuals(self.viewer, self.period) or self.groups_only:
            return True
        return cell == ORGANISATION and not self.admin

    def shows(self, cell: tuple, dimension: str = INDEX) -> bool:
        if not self.controlled(cell):
            return True
        if cell[0] not in ("T", "O"):
            return False  # a figure derived across periods' trees (rollups._own of an earlier period)
        if not self.period.is_final:
            return False  # a live figure changes with each submission
        if self._audit is None:
            self._audit = audit(self.period)
        return self._audit.shows(cell, dimension)


class Disclosures(dict):
    """One Disclosure per period for a viewer, made on first use."""

    def __init__(self, viewer, periods: Iterable[AssessmentPeriod]):
        super().__init__()
        self.viewer = viewer
        self.periods = {p.pk: p for p in periods if p is not None}

    def __missing__(self, period_id: int) -> Disclosure:
        value = self[period_id] = Disclosure(self.viewer, self.periods[period_id])
        return value


def mask(viewer, rollups: Iterable, periods: Iterable[AssessmentPeriod]) -> None:
    """Withhold on each roll-up (and its `.previous`) what `viewer` may not be shown: a
    withheld roll-up has no mean, grade, pillar mean or change; a withheld band has no count.
    Counts and participation stay. Call it before sorting by a figure."""
    disclosures = Disclosures(viewer, periods)
    for rollup in rollups:
        for item in (rollup, rollup.previous):
            if item is None or item.cell is None:
                continue
            disclosure = disclosures[item.period_id]
            cells = [subtree(u) for u in item.combined_from] if item.combined_from else [item.cell]
            item.withheld = not all(disclosure.shows(c) for c in cells)
            item.withheld_bands = frozenset(
                band for band in BANDS if item.withheld or not all(disclosure.shows(c, band) for c in cells)
            )


def shows_unit(viewer, period: AssessmentPeriod, unit: WorkUnit | None) -> bool:
    """May `viewer` (None: a staff member) see the figures of `unit`'s subtree in `period`?"""
    return Disclosure(viewer, period).shows(subtree(unit))


def scores_withheld(viewer, period: AssessmentPeriod) -> bool:
    """True when the viewer sees group figures only in `period` (a confidential period: heads
    of unit and admins alike): staff tables and their exports show participation, no score."""
    return not permissions.sees_individuals(viewer, period)


def verified_figures(viewer, period: AssessmentPeriod, units: list) -> dict:
    """verification.verified_rollups of `units`, each withheld where `viewer` may not see it."""
    from .verification import verified_rollups

    disclosure = Disclosure(viewer, period)
    figures = verified_rollups(units=units, period=period)
    for unit in units:
        figures[unit.pk if unit is not None else None].withheld = not disclosure.shows(subtree(unit), VERIFIED)
    return figures

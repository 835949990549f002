"""The organisation a period was assessed in.

An open period uses today's unit tree: moves, renames, merges and splits apply to it. When a
period opens and again when it closes, the tree is recorded as that period's (PeriodUnit), and
a closed period's pages, exports and figures use that record from then on, whatever the tree
looks like today (docs/RULES.md, history).

`PeriodTree(period)` answers the tree questions pages ask (roots, children, ancestors, a
subtree down to a level) for either kind of period, with WorkUnit instances carrying the
period's code, name, path, depth and active flag: the rest of the code (roll-ups, templates,
exports) does not need to know which tree it reads. Those instances are for reading only.
"""

from django.db.models import Exists, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from .models import AssessmentPeriod, PeriodUnit, UnitLineage, WorkUnit

TREE_FIELDS = ("code", "name", "path", "depth", "is_active")


def period_tree_record(*, period: AssessmentPeriod) -> None:
    """Record today's unit tree as `period`'s (when it opens, and again when it closes)."""
    PeriodUnit.objects.filter(period=period).delete()
    PeriodUnit.objects.bulk_create(
        [PeriodUnit(period=period, unit_id=row.pop("id"), **row) for row in WorkUnit.objects.values("id", *TREE_FIELDS)],
        batch_size=2000,
    )


def _as_unit(row: PeriodUnit) -> WorkUnit:
    unit = WorkUnit(id=row.unit_id, **{name: getattr(row, name) for name in TREE_FIELDS})
    unit._state.adding = False
    return unit


class PeriodTree:
    """The unit tree of one period: today's while it is open, the recorded one once closed."""

    def __init__(self, period: AssessmentPeriod):
        self.period = period
        self.live = not period.is_final
        self._versions: dict[int, WorkUnit | None] = {}

    def rows(self):
        """A queryset of the tree's rows (WorkUnit or PeriodUnit), to filter and paginate;
        `units()` turns rows into units."""
        return WorkUnit.objects.all() if self.live else PeriodUnit.objects.filter(period=self.period)

    def units(self, rows) -> list[WorkUnit]:
        return list(rows) if self.live else [_as_unit(row) for row in rows]

    def version_of(self, unit: WorkUnit) -> WorkUnit | None:
        """The unit as it stood in this period (its place in the tree then), or None when it did
        not exist then. Every question about a unit goes through it: a unit's place today may
        belong to another unit in a closed period's tree."""
        if self.live:
            return unit
        if unit.pk not in self._versions:
            row = PeriodUnit.objects.filter(period=self.period, unit_id=unit.pk).first()
            self._versions[unit.pk] = _as_unit(row) if row else None
        return self._versions[unit.pk]

    def roots(self) -> list[WorkUnit]:
        return self.units(self.rows().filter(depth=1).order_by("path"))

    def children(self, unit: WorkUnit) -> list[WorkUnit]:
        unit = self.version_of(unit)
        if unit is None:
            return []
        return self.units(self.rows().filter(path__startswith=unit.path, depth=unit.depth + 1).order_by("path"))

    def ancestors(self, unit: WorkUnit) -> list[WorkUnit]:
        """The units above `unit` in this period's tree, outermost first."""
        unit = self.version_of(unit)
        if unit is None:
            return []
        return self.units(self.rows().filter(path__in=WorkUnit.chain_paths(unit.path)[:-1]).order_by("path"))

    def subtree_rows(self, unit: WorkUnit | None, max_depth: int | None = None):
        """The rows of `unit` and everything below it (the whole tree when None) in tree order,
        down to `max_depth`: a table to paginate. Nothing for a unit that did not exist then."""
        if unit is not None:
            unit = self.version_of(unit)
            if unit is None:
                return self.rows().none()
        rows = self.rows() if unit is None else self.rows().filter(path__startswith=unit.path)
        if max_depth is not None:
            rows = rows.filter(depth__lte=max_depth)
        return rows.order_by("path")

    def subtrees_rows(self, units: list[WorkUnit], max_depth: int | None = None):
        """The rows of each of `units` (as they stood in this period) and everything below them,
        in tree order, down to `max_depth`: an office admin's part of the tree."""
        places = Q(pk__in=[])
        for unit in units:
            if (then := self.version_of(unit)) is not None:
                places |= Q(path__startswith=then.path)
        rows = self.rows().filter(places)
        if max_depth is not None:
            rows = rows.filter(depth__lte=max_depth)
        return rows.order_by("path")

    def deepest(self) -> int:
        return self.rows().aggregate(deepest=Max("depth"))["deepest"] or 1

    def differs_from_today(self) -> bool:
        """True when this (closed) period's organisation is not today's: another unit, name,
        place in the tree or active flag. Compared in the database (two or three queries)."""
        if self.live:
            return False
        same = WorkUnit.objects.filter(pk=OuterRef("unit_id"), **{name: OuterRef(name) for name in TREE_FIELDS})
        return self.rows().exclude(Exists(same)).exists() or self.rows().count() != WorkUnit.objects.count()


def merged_from(unit: WorkUnit) -> list[WorkUnit]:
    """The units that were merged into `unit`, by code (none for most units). One query."""
    return list(WorkUnit.objects.filter(successions__successor=unit, successions__kind=UnitLineage.Kind.MERGE).order_by("code"))


def split_from(unit: WorkUnit) -> WorkUnit | None:
    """The unit that was split to make `unit`, if it was."""
    return WorkUnit.objects.filter(successions__successor=unit, successions__kind=UnitLineage.Kind.SPLIT).first()


def unit_name_then():
    """An annotation for SelfAssessment querysets (or, through `prefix`, related ones): the name
    of the assessment's unit in the assessment's own period (today's while it is open)."""
    return _name_then("")


def _name_then(prefix: str):
    recorded = PeriodUnit.objects.filter(
        period=OuterRef(f"{prefix}period"), period__status=AssessmentPeriod.Status.CLOSED, unit=OuterRef(f"{prefix}unit")
    ).values("name")[:1]
    return Coalesce(Subquery(recorded), F(f"{prefix}unit__name"))


def rating_unit_name_then():
    """`unit_name_then` for Rating querysets (through their assessment)."""
    return _name_then("assessment__")

"""Database aggregates for dashboards: the unit roll-up (docs/RULES.md).

A roll-up for unit U and period P covers U and every unit below it. The summary tables hold
exactly that, one row per unit and period (per pillar, per indicator), kept up to date in the
same transaction as every submit and return for the unit and all its ancestors. So a unit's
dashboard reads one row per period whatever the size of its subtree, a drill-down reads one
row per sub-unit, and every function here runs a fixed number of queries.

Every view (unit dashboard, drill-down, tree, organisation roll-up) goes through `_rows`, the
one implementation.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import BooleanField, Case, CharField, F, FilteredRelation, Q, Sum, Value, When
from django.utils.translation import gettext as _

from . import disclosure, permissions, structure
from .models import (
    COUNTED_STATES,
    AssessmentPeriod,
    AssessmentState,
    Employee,
    PeriodIndicator,
    PeriodPillar,
    UnitPeriodIndicatorSummary,
    UnitPeriodPillarSummary,
    UnitPeriodSummary,
    WorkUnit,
)
from .scoring import Grade, grade_for

GRADE_FIELDS: dict[str, str] = {grade.value: f"count_{grade.value}" for grade in Grade}


@dataclass
class Rollup:
    """The roll-up of one group of units (a subtree, or a unit's own staff) for one period."""

    key: str
    period_id: int
    counted: int = 0
    expected: int = 0
    index_sum: float = 0.0
    bands: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GRADE_FIELDS, 0))
    pillar_sums: dict[int, list] = field(default_factory=dict)  # pillar id -> [n, sum]
    unit: WorkUnit | None = None
    previous: "Rollup | None" = None
    combined_from: list = field(default_factory=list)  # a trend point added up from merged units
    # Disclosure control (disclosure.mask): the cell these figures belong to, and what of
    # them the viewer may not be shown.
    cell: tuple | None = None
    withheld: bool = False
    withheld_bands: frozenset = frozenset()

    @property
    def has_data(self) -> bool:
        return self.counted > 0

    @property
    def index_mean(self) -> float | None:
        return self.index_sum / self.counted if self.counted and not self.withheld else None

    @property
    def grade(self) -> str | None:
        mean = self.index_mean
        return grade_for(mean) if mean is not None else None

    @property
    def grade_label(self) -> str:
        grade = self.grade
        return Grade(grade).label if grade else ""

    @property
    def participation(self) -> float | None:
        """Percentage of the expected staff whose assessment is counted."""
        return 100.0 * self.counted / self.expected if self.expected else None

    def pillar_mean(self, pillar_id: int) -> float | None:
        n, total = self.pillar_sums.get(pillar_id, (0, 0.0))
        return total / n if n and not self.withheld else None

    def band(self, grade: str) -> int | None:
        """The count in a grade band, or None when withheld."""
        return None if grade in self.withheld_bands else self.bands[grade]

    @property
    def index_change(self) -> float | None:
        if self.previous is None or self.index_mean is None or self.previous.index_mean is None:
            return None
        return self.index_mean - self.previous.index_mean

    @property
    def participation_change(self) -> float | None:
        if self.previous is None or self.participation is None or self.previous.participation is None:
            return None
        return self.participation - self.previous.participation

    def pillar_change(self, pillar_id: int) -> float | None:
        if self.previous is None:
            return None
        now, before = self.pillar_mean(pillar_id), self.previous.pillar_mean(pillar_id)
        return None if now is None or before is None else now - before

    def band_change(self, grade: str) -> int | None:
        if self.previous is None:
            return None
        now, before = self.band(grade), self.previous.band(grade)
        return None if now is None or before is None else now - before

    def add(self, other: "Rollup", sign: int = 1) -> None:
        self.counted += sign * other.counted
        self.expected += sign * other.expected
        self.index_sum += sign * other.index_sum
        for grade, count in other.bands.items():
            self.bands[grade] += sign * count
        for pillar_id, (n, total) in other.pillar_sums.items():
            sums = self.pillar_sums.setdefault(pillar_id, [0, 0.0])
            sums[0] += sign * n
            sums[1] += sign * total


def cached(parts: tuple, periods: Iterable[AssessmentPeriod], compute):
    """Return compute(), cached under `parts` and the roll-up version of each period.

    Every change to a period's figures bumps its `rollup_version` in the same transaction, so
    an entry can never be older than the database the caller just read the versions from. This
    holds for a per-process local-memory cache as well as for Redis shared by many servers.
    """
    seconds = settings.ROLLUP_CACHE_SECONDS
    if not seconds:
        return compute()
    versions = sorted((p.pk, p.rollup_version) for p in periods)
    key = "rollup:" + hashlib.sha256(repr((parts, versions)).encode()).hexdigest()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, seconds)
    return value


def _rows(*, units: Q, periods: list[AssessmentPeriod], key=None) -> dict[tuple[int, int], Rollup]:
    """Read the summary rows of the units selected by `units` (a Q on summary-row fields) for
    `periods`. Each row already covers its unit's whole subtree. Returns {(unit id, period id):
    Rollup}; two queries, none when cached (under `key`, else the Q's text)."""

    def read():
        scope = Q(period_id__in=[p.pk for p in periods]) & units
        result: dict[tuple[int, int], Rollup] = {}
        fields = ["unit_id", "period_id", "counted", "expected", "index_sum", *GRADE_FIELDS.values()]
        for row in UnitPeriodSummary.objects.filter(scope).values(*fields).order_by():
            result[row["unit_id"], row["period_id"]] = Rollup(
                key=row["unit_id"],
                period_id=row["period_id"],
                counted=row["counted"],
                expected=row["expected"],
                index_sum=row["index_sum"],
                bands={grade: row[name] for grade, name in GRADE_FIELDS.items()},
            )
        pillar_rows = UnitPeriodPillarSummary.objects.filter(scope).values_list("unit_id", "period_id", "pillar_id", "counted", "score_sum")
        for unit_id, period_id, pillar_id, n, total in pillar_rows.order_by():
            rollup = result.setdefault((unit_id, period_id), Rollup(key=unit_id, period_id=period_id))
            rollup.pillar_sums[pillar_id] = [n, total]
        return result

    return cached(("rows", key or repr(units)), periods, read)


def _subtree(unit: WorkUnit | None, periods: list[AssessmentPeriod]) -> tuple[Q, object]:
    """(the Q selecting `unit`'s rows, its cache key). Without a unit: the roots of each
    period's own tree, whose rows together cover the whole organisation in that period."""
    if unit is not None:
        return Q(unit_id=unit.pk), ("unit", unit.pk)
    roots = Q(pk__in=[])
    for period in periods:
        tree = structure.PeriodTree(period)
        ids = tree.rows().filter(depth=1).values("id" if tree.live else "unit_id")
        roots |= Q(period_id=period.pk, unit_id__in=ids)
    return roots, ("roots",)


def _sum(rows: dict[tuple[int, int], Rollup], period: AssessmentPeriod) -> Rollup:
    total = Rollup(key="", period_id=period.pk)
    for (_unit_id, period_id), rollup in rows.items():
        if period_id == period.pk:
            total.add(rollup)
    return total


def _periods(period: AssessmentPeriod, previous: AssessmentPeriod | None) -> list[AssessmentPeriod]:
    return [period] + ([previous] if previous else [])


def unit_rollup(*, unit: WorkUnit | None, period: AssessmentPeriod, previous: AssessmentPeriod | None = None) -> Rollup:
    """Return the roll-up of `unit` and everything below it (the whole organisation when
    `unit` is None), with `.previous` set to the same figures for `previous`. Reads one row
    per period (per root for the organisation), whatever the size of the subtree."""
    periods = _periods(period, previous)
    units, key = _subtree(unit, periods)
    rows = _rows(units=units, periods=periods, key=key)
    rollup = _sum(rows, period)
    rollup.unit = unit
    if previous:
        rollup.previous = _sum(rows, previous)
        rollup.previous.cell = disclosure.subtree(unit)
    rollup.cell = disclosure.subtree(unit)
    return rollup


def child_rollups(
    *, unit: WorkUnit | None, period: AssessmentPeriod, previous: AssessmentPeriod | None = None
) -> list[Rollup]:
    """Return one roll-up per direct sub-unit of `unit` (the roots when None), each covering its
    whole subtree, in tree order; then, if `unit` has staff of its own, a row for them (the
    unit's total minus its children's) with `unit` set and key equal to the unit's path. The
    sub-units are those of `period`'s own tree (structure.PeriodTree)."""
    tree = structure.PeriodTree(period)
    children = tree.children(unit) if unit else tree.roots()
    periods = _periods(period, previous)
    selected = Q(unit__in=[c.pk for c in children])
    if unit is not None:
        selected |= Q(unit_id=unit.pk)
    rows = _rows(units=selected, periods=periods)
    result = _per_unit(rows, children, period, previous)
    if unit is not None:
        own = _own(rows, unit, children, period)
        if own.expected or own.counted:
            own.unit, own.key, own.cell = unit, unit.path, disclosure.own_staff(unit)
            if previous:
                # Today's sub-units taken from the earlier period's total: not that period's
                # own-staff cell when the tree has changed, so never shown under control.
                own.previous = _own(rows, unit, children, previous)
                own.previous.cell = ("derived", unit.pk)
            result.append(own)
    return result


def _own(rows, unit: WorkUnit, children: list[WorkUnit], period: AssessmentPeriod) -> Rollup:
    """The unit's own staff: its subtree's figures minus its children's."""
    own = Rollup(key=unit.path, period_id=period.pk)
    own.add(rows.get((unit.pk, period.pk)) or Rollup(key=unit.pk, period_id=period.pk))
    for child in children:
        own.add(rows.get((child.pk, period.pk)) or Rollup(key=child.pk, period_id=period.pk), sign=-1)
    return own


def tree_units(*, unit: WorkUnit | None, period: AssessmentPeriod, max_depth: int | None = None) -> list[WorkUnit]:
    """Return `unit` and every unit below it (every unit when None) in `period`'s tree, in tree
    order, down to `max_depth` (pages paginate `structure.PeriodTree.subtree_rows` instead)."""
    tree = structure.PeriodTree(period)
    return tree.units(tree.subtree_rows(unit, max_depth))


def rollups_of(*, units: list[WorkUnit], period: AssessmentPeriod, previous: AssessmentPeriod | None = None) -> list[Rollup]:
    """Return one roll-up per unit of `units` (each covering its own subtree), in their order:
    two queries for however many units, so a page of a tree costs the same in any province."""
    rows = _rows(units=Q(unit__in=[u.pk for u in units]), periods=_periods(period, previous))
    return _per_unit(rows, units, period, previous)


def _per_unit(rows, units: list[WorkUnit], period: AssessmentPeriod, previous: AssessmentPeriod | None) -> list[Rollup]:
    """One roll-up per unit from the rows read (an empty one where a unit has none). A unit that
    has ended (inactive, say after a merge) and has no figure in the period is left out."""
    result = []
    for node in units:
        rollup = rows.get((node.pk, period.pk)) or Rollup(key=node.pk, period_id=period.pk)
        if not node.is_active and not (rollup.counted or rollup.expected):
            continue
        rollup.unit, rollup.key, rollup.cell = node, node.path, disclosure.subtree(node)
        if previous:
            rollup.previous = rows.get((node.pk, previous.pk)) or Rollup(key=node.pk, period_id=previous.pk)
            rollup.previous.cell = rollup.cell
        result.append(rollup)
    return result


def index_trend(*, unit: WorkUnit | None, periods: list[AssessmentPeriod]) -> list[tuple[AssessmentPeriod, Rollup]]:
    """Return (period, roll-up) for each of `periods`, oldest first: the trend line. A unit made
    by a merge has, for the periods before it existed, the combined figures of the units it was
    made of, with `combined_from` naming them (structure.merged_from)."""
    units, key = _subtree(unit, periods)
    rows = _rows(units=units, periods=periods, key=key)
    trend = [(p, _sum(rows, p)) for p in sorted(periods, key=lambda p: p.sequence)]
    for _period, rollup in trend:
        rollup.cell = disclosure.subtree(unit)
    before = [p for p, rollup in trend if not (rollup.counted or rollup.expected)]
    merged = structure.merged_from(unit) if unit is not None and before else []
    if merged:
        earlier = _rows(units=Q(unit_id__in=[u.pk for u in merged]), periods=before, key=("merged", unit.pk))
        for period, rollup in trend:
            if period in before:
                rollup.add(_sum(earlier, period))
                rollup.combined_from = merged
    return trend


@dataclass
class WeakIndicator:
    indicator: PeriodIndicator
    mean: float
    counted: int


def weakest_indicators(*, unit: WorkUnit | None, period: AssessmentPeriod, limit: int = 5) -> list[WeakIndicator]:
    """Return the indicators of `period` with the lowest mean rating in the subtree: the
    unit's own indicator rows (the roots' for the organisation), two queries."""

    def means_by_indicator():
        rows = UnitPeriodIndicatorSummary.objects.filter(period=period, counted__gt=0).filter(_subtree(unit, [period])[0])
        rows = rows.values("indicator_id").annotate(n=Sum("counted"), total=Sum("score_sum")).order_by()
        return sorted((row["total"] / row["n"], row["n"], row["indicator_id"]) for row in rows if row["n"])

    means = cached(("weak", unit.pk if unit else None), [period], means_by_indicator)[:limit]
    indicators = PeriodIndicator.objects.select_related("indicator", "pillar").in_bulk([pk for _m, _n, pk in means])
    return [WeakIndicator(indicator=indicators[pk], mean=mean, counted=n) for mean, n, pk in means]


@dataclass
class PillarGap:
    pillar: PeriodPillar
    unit_mean: float
    organisation_mean: float

    @property
    def gap(self) -> float:
        return self.unit_mean - self.organisation_mean


def pillar_gaps(*, rollup: Rollup, organisation: Rollup, pillars: list[PeriodPillar]) -> list[PillarGap]:
    """Return the period's pillars ordered from furthest below the organisation's mean, for the
    subtree summed in `rollup`, against `organisation` (unit_rollup(unit=None))."""
    gaps = []
    for pillar in pillars:
        mine, everyone = rollup.pillar_mean(pillar.pillar_id), organisation.pillar_mean(pillar.pillar_id)
        if mine is not None and everyone is not None:
            gaps.append(PillarGap(pillar=pillar, unit_mean=mine, organisation_mean=everyone))
    return sorted(gaps, key=lambda gap: gap.gap)


# The staff table's states besides AssessmentState: no assessment yet, and one that exists but
# was made in a unit outside the viewer's scope (before the person moved in): the table says so
# and shows nothing of it.
NOT_STARTED = "not_started"
ELSEWHERE = "elsewhere"
# In a confidential period a head of unit sees participation only (disclosure.scores_withheld):
# submitted or not, whether a draft exists or not.
NOT_SUBMITTED = "not_submitted"
PARTICIPATION_STATES = (AssessmentState.SUBMITTED.value, NOT_SUBMITTED, ELSEWHERE)


def _participation(counted: Q) -> Case:
    """The staff table's state in a confidential period: submitted, elsewhere, or not."""
    return Case(
        When(counted, then=Value(AssessmentState.SUBMITTED.value)),
        When(assessment__isnull=False, assessment__state__in=COUNTED_STATES, then=Value(ELSEWHERE)),
        default=Value(NOT_SUBMITTED),
        output_field=CharField(),
    )


def staff_state_label(code: str | None) -> str:
    """The label of a staff-table state: an AssessmentState, ELSEWHERE, or none (not started)."""
    if code == ELSEWHERE:
        return _("Assessed in another unit")
    if code == NOT_SUBMITTED:
        return _("Not submitted")
    return AssessmentState(code).label if code in AssessmentState.values else _("Not started")


def _flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())


def staff_table(
    *,
    unit: WorkUnit,
    period: AssessmentPeriod,
    viewer,
    subtree: bool = False,
    state: str = "",
    grade: str = "",
    search: str = "",
):
    """Return the active staff of `unit` (or of its whole subtree) ordered by name, annotated
    with their assessment of `period` as `viewer` may see it: the flags `a_viewable` (its
    result page) and `a_approvable` (permissions.can_approve), and `a_id`, `a_state`,
    `a_submitted_at` for an assessment in the viewer's scope (ELSEWHERE as the state of one
    outside it), and `a_index`, `a_grade` only for a counted one in scope; all None when not
    started. An open period lists today's staff of the unit; a closed one the people assessed
    in it then. The scope is the assessment's own unit, not the person's unit today
    (permissions.assessments_in_scope). One query with a LEFT JOIN, filterable by state (or
    NOT_STARTED, ELSEWHERE), grade and a name or NIP search."""
    in_scope = permissions.assessments_in_scope(viewer, prefix="assessment__", period=period)
    counted = in_scope & Q(assessment__state__in=COUNTED_STATES)
    withheld = disclosure.scores_withheld(viewer, period)
    scored = Q(pk=None) if withheld else counted
    closed = period.is_final
    employees = (
        (Employee.objects.all() if closed else Employee.objects.filter(is_active=True))
        .annotate(assessment=FilteredRelation("assessments", condition=Q(assessments__period=period)))
        .annotate(
            a_id=Case(When(scored, then=F("assessment__id"))) if withheld else Case(When(in_scope, then=F("assessment__id"))),
            a_state=_participation(counted) if withheld else Case(
                When(in_scope, then=F("assessment__state")),
                When(assessment__isnull=False, then=Value(ELSEWHERE)),
                output_field=CharField(),
            ),
            a_index=Case(When(scored, then=F("assessment__index_score"))),
            a_grade=Case(When(scored, then=F("assessment__grade"))),
            a_submitted_at=Case(When(scored if withheld else in_scope, then=F("assessment__submitted_at"))),
            a_viewable=_flag(permissions.viewable_assessments(viewer, prefix="assessment__", period=period)),
            a_approvable=_flag(permissions.approvable_assessments(viewer, prefix="assessment__", period=period)),
        )
    )
    if closed:
        # A closed period lists the assessments made in the unit (or, in that period's tree,
        # below it), whoever the people work for today.
        tree = structure.PeriodTree(period)
        units = tree.subtree_rows(unit).values("unit_id") if subtree else [unit.pk]
        employees = employees.filter(assessment__unit_id__in=units)
    else:
        employees = employees.filter(unit.subtree_q("unit")) if subtree else employees.filter(unit=unit)
    if state == NOT_STARTED and not withheld:
        employees = employees.filter(assessment__isnull=True)
    elif state:
        employees = employees.filter(a_state=state)
    if grade:
        employees = employees.filter(a_grade=grade)
    search = search.strip()
    if search:
        employees = employees.filter(Q(full_name__icontains=search) | Q(nip__startswith=search))
    return employees.select_related("unit").order_by("full_name", "nip")

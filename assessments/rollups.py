"""Database aggregates for dashboards: the unit roll-up of PRODUCT.md.

A roll-up for unit U and period P covers U and every unit below it. It is summed from the
summary tables (one row per unit and period, kept up to date on submit, return and approve), so
its cost grows with the number of units in the subtree, never with the number of staff, and
every function here runs a fixed number of queries.

Every view (unit dashboard, drill-down, tree, organisation roll-up) goes through `_sums`, the
one implementation.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import F, FilteredRelation, Q, Sum
from django.db.models.functions import Substr

from .models import (
    COUNTED_STATES,
    AssessmentPeriod,
    Employee,
    PeriodIndicator,
    PeriodPillar,
    SelfAssessment,
    UnitPeriodIndicatorSummary,
    UnitPeriodPillarSummary,
    UnitPeriodSummary,
    WorkUnit,
)
from .scoring import Grade, grade_for

STEPLEN = WorkUnit.steplen

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

    @property
    def has_data(self) -> bool:
        return self.counted > 0

    @property
    def index_mean(self) -> float | None:
        return self.index_sum / self.counted if self.counted else None

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
        return total / n if n else None

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
        return None if self.previous is None else self.bands[grade] - self.previous.bands[grade]

    def add(self, other: "Rollup") -> None:
        self.counted += other.counted
        self.expected += other.expected
        self.index_sum += other.index_sum
        for grade, count in other.bands.items():
            self.bands[grade] += count
        for pillar_id, (n, total) in other.pillar_sums.items():
            sums = self.pillar_sums.setdefault(pillar_id, [0, 0.0])
            sums[0] += n
            sums[1] += total


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


def _sums(*, prefix: str, periods: Iterable[AssessmentPeriod], key_len: int | None) -> dict[tuple[str, int], Rollup]:
    """Sum the summary rows of every unit whose path starts with `prefix` ('' for all units).

    Rows are grouped by period and by the first `key_len` characters of the unit path: the
    length of `prefix` gives the subtree as a whole, one step more gives each direct child (the
    prefix itself collects the unit's own staff), None gives each unit on its own.
    Returns {(key, period id): Rollup}; two queries, or none when cached.
    """
    periods = list(periods)
    return cached(("sums", prefix, key_len), periods, lambda: _sum_rows(prefix, [p.pk for p in periods], key_len))


def _sum_rows(prefix: str, period_ids: list[int], key_len: int | None) -> dict[tuple[str, int], Rollup]:
    key = F("unit__path") if key_len is None else Substr("unit__path", 1, key_len)
    in_scope = Q(period_id__in=period_ids)
    if prefix:
        in_scope &= Q(unit__path__startswith=prefix)

    totals = {name: Sum(name) for name in ("counted", "expected", "index_sum", *GRADE_FIELDS.values())}
    result: dict[tuple[str, int], Rollup] = {}
    for row in UnitPeriodSummary.objects.filter(in_scope).annotate(key=key).values("key", "period_id").annotate(**totals).order_by():
        result[row["key"], row["period_id"]] = Rollup(
            key=row["key"],
            period_id=row["period_id"],
            counted=row["counted"] or 0,
            expected=row["expected"] or 0,
            index_sum=row["index_sum"] or 0.0,
            bands={grade: row[name] or 0 for grade, name in GRADE_FIELDS.items()},
        )
    pillar_rows = (
        UnitPeriodPillarSummary.objects.filter(in_scope)
        .annotate(key=key)
        .values("key", "period_id", "pillar_id")
        .annotate(n=Sum("counted"), total=Sum("score_sum"))
        .order_by()
    )
    for row in pillar_rows:
        rollup = result.setdefault((row["key"], row["period_id"]), Rollup(key=row["key"], period_id=row["period_id"]))
        rollup.pillar_sums[row["pillar_id"]] = [row["n"] or 0, row["total"] or 0.0]
    return result


def _periods(period: AssessmentPeriod, previous: AssessmentPeriod | None) -> list[AssessmentPeriod]:
    return [period] + ([previous] if previous else [])


def unit_rollup(*, unit: WorkUnit | None, period: AssessmentPeriod, previous: AssessmentPeriod | None = None) -> Rollup:
    """Return the roll-up of `unit` and everything below it (the whole organisation when
    `unit` is None), with `.previous` set to the same figures for `previous`."""
    prefix = unit.path if unit else ""
    sums = _sums(prefix=prefix, periods=_periods(period, previous), key_len=len(prefix))
    rollup = sums.get((prefix, period.pk)) or Rollup(key=prefix, period_id=period.pk)
    rollup.unit = unit
    if previous:
        rollup.previous = sums.get((prefix, previous.pk)) or Rollup(key=prefix, period_id=previous.pk)
    return rollup


def child_rollups(
    *, unit: WorkUnit | None, period: AssessmentPeriod, previous: AssessmentPeriod | None = None
) -> list[Rollup]:
    """Return one roll-up per direct sub-unit of `unit` (the roots when None), each covering its
    whole subtree, in tree order; then, if `unit` has staff of its own, a row for them with
    `unit` set and key equal to the unit's path."""
    prefix = unit.path if unit else ""
    children = list(WorkUnit.objects.get_children(unit) if unit else WorkUnit.objects.get_root_nodes())
    sums = _sums(prefix=prefix, periods=_periods(period, previous), key_len=len(prefix) + STEPLEN)
    rows = []
    for child in children:
        rollup = sums.get((child.path, period.pk)) or Rollup(key=child.path, period_id=period.pk)
        rollup.unit = child
        if previous:
            rollup.previous = sums.get((child.path, previous.pk)) or Rollup(key=child.path, period_id=previous.pk)
        rows.append(rollup)
    own = sums.get((prefix, period.pk)) if unit else None
    if own and (own.expected or own.counted):
        own.unit = unit
        if previous:
            own.previous = sums.get((prefix, previous.pk)) or Rollup(key=prefix, period_id=previous.pk)
        rows.append(own)
    return rows


def tree_rollups(
    *, unit: WorkUnit | None, period: AssessmentPeriod, previous: AssessmentPeriod | None = None, max_depth: int | None = None
) -> list[Rollup]:
    """Return a roll-up for `unit` and every unit below it (the whole forest when None), each
    covering its own subtree, in tree order (`rollup.unit.depth` gives the indentation).

    Units are summed per unit in the database, then added up the tree here: the work grows
    with the number of units, not staff. Three queries.
    """
    prefix = unit.path if unit else ""
    units = WorkUnit.objects.filter(path__startswith=prefix).order_by("path")
    if max_depth is not None:
        units = units.filter(depth__lte=max_depth)
    units = list(units)
    own = _sums(prefix=prefix, periods=_periods(period, previous), key_len=None)
    totals: dict[tuple[str, int], Rollup] = {}
    shallowest = len(prefix) + STEPLEN if not prefix else len(prefix)
    for (path, period_id), rollup in own.items():
        for length in range(shallowest, len(path) + 1, STEPLEN):
            ancestor = path[:length]
            totals.setdefault((ancestor, period_id), Rollup(key=ancestor, period_id=period_id)).add(rollup)
    rows = []
    for node in units:
        rollup = totals.get((node.path, period.pk)) or Rollup(key=node.path, period_id=period.pk)
        rollup.unit = node
        if previous:
            rollup.previous = totals.get((node.path, previous.pk)) or Rollup(key=node.path, period_id=previous.pk)
        rows.append(rollup)
    return rows


def index_trend(*, unit: WorkUnit | None, periods: list[AssessmentPeriod]) -> list[tuple[AssessmentPeriod, Rollup]]:
    """Return (period, roll-up) for each of `periods`, oldest first: the trend line."""
    prefix = unit.path if unit else ""
    sums = _sums(prefix=prefix, periods=periods, key_len=len(prefix))
    ordered = sorted(periods, key=lambda p: p.sequence)
    return [(p, sums.get((prefix, p.pk)) or Rollup(key=prefix, period_id=p.pk)) for p in ordered]


@dataclass
class WeakIndicator:
    indicator: PeriodIndicator
    mean: float
    counted: int


def weakest_indicators(*, unit: WorkUnit | None, period: AssessmentPeriod, limit: int = 5) -> list[WeakIndicator]:
    """Return the indicators of `period` with the lowest mean rating in the subtree (two queries)."""
    rows = UnitPeriodIndicatorSummary.objects.filter(period=period, counted__gt=0)
    if unit:
        rows = rows.filter(unit__path__startswith=unit.path)
    rows = list(
        rows.values("indicator_id").annotate(n=Sum("counted"), total=Sum("score_sum")).order_by()
    )
    means = sorted((row["total"] / row["n"], row["n"], row["indicator_id"]) for row in rows if row["n"])[:limit]
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


def pillar_gaps(*, rollup: Rollup, period: AssessmentPeriod, pillars: list[PeriodPillar]) -> list[PillarGap]:
    """Return the period's pillars ordered from furthest below the organisation's mean, for the
    subtree summed in `rollup` (two queries for the organisation's figures)."""
    organisation = unit_rollup(unit=None, period=period)
    gaps = []
    for pillar in pillars:
        mine, everyone = rollup.pillar_mean(pillar.pillar_id), organisation.pillar_mean(pillar.pillar_id)
        if mine is not None and everyone is not None:
            gaps.append(PillarGap(pillar=pillar, unit_mean=mine, organisation_mean=everyone))
    return sorted(gaps, key=lambda gap: gap.gap)


NOT_STARTED = "not_started"


def staff_table(
    *, unit: WorkUnit, period: AssessmentPeriod, subtree: bool = False, state: str = "", grade: str = "", search: str = ""
):
    """Return the active staff of `unit` (or of its whole subtree) ordered by name, annotated
    with their assessment of `period`: `a_id`, `a_state`, `a_index`, `a_grade`,
    `a_submitted_at` (all None when not started). One query with a LEFT JOIN, filterable by
    state (or NOT_STARTED), grade and a name or NIP search."""
    employees = (
        Employee.objects.filter(is_active=True)
        .annotate(assessment=FilteredRelation("assessments", condition=Q(assessments__period=period)))
        .annotate(
            a_id=F("assessment__id"),
            a_state=F("assessment__state"),
            a_index=F("assessment__index_score"),
            a_grade=F("assessment__grade"),
            a_submitted_at=F("assessment__submitted_at"),
        )
    )
    employees = employees.filter(unit__path__startswith=unit.path) if subtree else employees.filter(unit=unit)
    if state == NOT_STARTED:
        employees = employees.filter(assessment__isnull=True)
    elif state:
        employees = employees.filter(assessment__state=state)
    if grade:
        employees = employees.filter(assessment__grade=grade, assessment__state__in=COUNTED_STATES)
    search = search.strip()
    if search:
        employees = employees.filter(Q(full_name__icontains=search) | Q(nip__startswith=search))
    return employees.select_related("unit").order_by("full_name", "nip")


def counted_assessments(*, period: AssessmentPeriod):
    """Return the queryset of assessments that roll-ups count in `period`."""
    return SelfAssessment.objects.filter(period=period, state__in=COUNTED_STATES)

"""The summary tables: one row per unit and period (and per pillar, per indicator) holding the
totals of the unit *and everything below it*, kept exact inside the transactions that change them.

Submitting or returning an assessment adds or removes it along its unit's chain of ancestors
(`summary_apply`); a unit that moves takes its figures from its old ancestors to its new ones
(`summaries_follow_move`); `summary_rebuild` recomputes a period from the assessments; the
`expected` counts follow the staff (`period_expected_refresh`). Dashboards read them (rollups.py).

A closed period's rows never change again: every write here goes through
`period_figures_writable`, the one place that says so (docs/RULES.md, history).
"""

import copy
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction

from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils.translation import gettext as _

from . import structure
from .errors import ServiceError
from .models import (
    COUNTED_STATES,
    AssessmentPeriod,
    Employee,
    PeriodPillar,
    PillarScore,
    Rating,
    SelfAssessment,
    SummaryDelta,
    UnitPeriodIndicatorSummary,
    UnitPeriodPillarSummary,
    UnitPeriodSummary,
    WorkUnit,
)
from .rollups import GRADE_FIELDS


class FiguresFrozen(ServiceError):
    """A write would change the figures of a closed period (for instance a submission that was
    under way while the admin closed it): refused with a message, nothing written."""


def period_figures_writable(period_id: int) -> None:
    """Raise FiguresFrozen when the period is closed: its organisation, expected counts and
    summary rows are final. Every write to the summary rows calls this first."""
    closed = AssessmentPeriod.objects.filter(pk=period_id, status=AssessmentPeriod.Status.CLOSED).first()
    if closed is not None:
        raise FiguresFrozen(_("%(period)s is closed: its figures are final.") % {"period": closed}, code="period_closed")


class AnswersDeleted(ServiceError):
    """The period's individual answers were deleted under the retention rule (retention.py):
    its summary rows are all that is left of its figures and cannot be recomputed."""


def period_recomputable(period: AssessmentPeriod) -> None:
    """Raise AnswersDeleted when `period`'s summary rows can no longer be recomputed from its
    assessments (their answers were deleted under the retention rule). Asks the database, not
    the instance, which may have been read before the deletion."""
    if AssessmentPeriod.objects.filter(pk=period.pk, personal_data_removed_at__isnull=False).exists():
        raise AnswersDeleted(
            _("The individual answers of %(period)s were deleted under the retention rule: its figures can no longer be recomputed.")
            % {"period": period},
            code="answers_deleted",
        )


def period_expected_refresh(*, period: AssessmentPeriod) -> None:
    """Recompute how many staff each unit (with everything below it) expects to assess.

    A person is expected in the unit their counted assessment is attributed to, or else in their
    current unit if they are active; so n never exceeds expected. Two grouped queries, the
    unit tree, and one upsert, whatever the number of staff.
    """
    counted = SelfAssessment.objects.filter(period=period, state__in=COUNTED_STATES)
    own: dict[int, int] = {}
    for row in counted.values("unit_id").annotate(n=Count("id")).order_by():
        own[row["unit_id"]] = row["n"]
    waiting = Employee.objects.filter(is_active=True).exclude(pk__in=counted.values("employee_id"))
    for row in waiting.values("unit_id").annotate(n=Count("id")).order_by():
        own[row["unit_id"]] = own.get(row["unit_id"], 0) + row["n"]
    expected = _roll_up(own, lambda total, n: total + n, 0, paths=tree_paths(period))
    with transaction.atomic():
        period_figures_writable(period.pk)
        rollups_touch(period.pk)
        UnitPeriodSummary.objects.filter(period=period).exclude(unit_id__in=expected).update(expected=0)
        UnitPeriodSummary.objects.bulk_create(
            [UnitPeriodSummary(unit_id=unit_id, period=period, expected=n) for unit_id, n in expected.items()],
            update_conflicts=True,
            unique_fields=["unit", "period"],
            update_fields=["expected"],
            batch_size=1000,
        )


def tree_paths(period: AssessmentPeriod) -> dict[int, str]:
    """{unit id: path} of the period's unit tree (today's while it is open). One query."""
    tree = structure.PeriodTree(period)
    return dict(tree.rows().values_list("id" if tree.live else "unit_id", "path"))


def _roll_up(own: Mapping[int, object], add, zero, *, paths: Mapping[int, str]) -> dict[int, object]:
    """Given a value per unit for that unit alone, return the value per unit for the unit and
    everything below it in the tree `paths` ({unit id: path}), for every unit that has anything
    below it. `add(total, value)` returns the new total; `zero` starts each total (copied)."""
    by_path = {path: unit_id for unit_id, path in paths.items()}
    totals: dict[int, object] = {}
    for unit_id, value in own.items():
        # A unit missing from the tree (made after a closed period's record) counts in itself.
        chain = [by_path[path] for path in WorkUnit.chain_paths(paths[unit_id])] if unit_id in paths else [unit_id]
        for ancestor in chain:
            totals[ancestor] = add(totals.get(ancestor, copy.copy(zero)), value)
    return totals


def unit_chain(unit_id: int) -> list[int]:
    """Return the ids of the unit and all its ancestors, root first (one query)."""
    path = WorkUnit.objects.values_list("path", flat=True).get(pk=unit_id)
    chain = WorkUnit.objects.filter(path__in=WorkUnit.chain_paths(path)).order_by("path")
    return list(chain.values_list("pk", flat=True))


def rollups_touch(period_id: int) -> None:
    """Mark the period's roll-up figures as changed (cached roll-ups are keyed by the version).
    Call it last in the transaction that changed them: the row lock is then held briefly."""
    AssessmentPeriod.objects.filter(pk=period_id).update(rollup_version=F("rollup_version") + 1)


def expected_refresh_open_periods() -> None:
    """Call after staff join, move or leave: the open period's expected counts follow."""
    for period in AssessmentPeriod.objects.filter(status=AssessmentPeriod.Status.OPEN):
        period_expected_refresh(period=period)


def summary_apply(*, assessment: SelfAssessment, sign: int, pillar_scores: Mapping[int, Fraction]) -> None:
    """Add (sign=1) or remove (sign=-1) one counted assessment to the summary rows of its unit
    and of every unit above it, as part of the caller's transaction (a submit, a return).

    Every submit of a period changes the same rows (the organisation's, an echelon-I unit's), so
    they must not each hold those rows until they commit: nothing shared is locked here but
    the period's advisory lock, taken only if it is free (`_lock_try`). Whoever holds it adds
    its change at once (the database increments, so no count is lost); a submit that finds it
    taken leaves its change in the outbox (SummaryDelta) and, once committed, adds every
    pending change under the lock (`pending_apply`) before the person's next page.
    """
    period_id = assessment.period_id
    _period_open_for_write(period_id)
    change = _change_of(assessment, sign, pillar_scores)
    if _lock_try(period_id):
        _changes_add(period_id, [change])
        _pending_add(period_id)  # and whatever an interrupted submit left (usually nothing: one query)
    else:
        SummaryDelta.objects.create(period_id=period_id, change=change)
        transaction.on_commit(lambda: pending_apply(period_id))


# A period's summary rows are changed by one transaction at a time: the holder of this
# PostgreSQL advisory lock (transaction-scoped: released at its commit or rollback). SQLite
# lets one writer in at a time anyway.
LOCK_NAMESPACE = 7301
PENDING_BATCH = 500
PENDING_WAIT_SECONDS = 10


def _lock_try(period_id: int) -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, period_id])
        return cursor.fetchone()[0]


def summaries_lock(period_id: int) -> None:
    """Wait for the period's lock and add every pending change, inside the caller's
    transaction: for whatever rewrites or shifts the rows (a rebuild, a move, the close)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, period_id])
    while _pending_add(period_id):
        pass


def _pending_add(period_id: int) -> bool:
    """Add one batch of the period's pending changes (the lock is held); True if there may be more."""
    pending = list(SummaryDelta.objects.filter(period_id=period_id).order_by("pk").values_list("pk", "change")[:PENDING_BATCH])
    if pending:
        _changes_add(period_id, [change for _pk, change in pending])
        SummaryDelta.objects.filter(pk__in=[pk for pk, _change in pending]).delete()
    return len(pending) == PENDING_BATCH


def pending_apply(period_id: int) -> None:
    """Add the period's pending changes, in transactions of their own, as soon as its lock is
    free (after a submit that left one; daily before summaries_check). Gives up after
    PENDING_WAIT_SECONDS (the next submit, or beat's sweep, adds them then)."""
    deadline = time.monotonic() + PENDING_WAIT_SECONDS
    pause = 0.002
    while SummaryDelta.objects.filter(period_id=period_id).exists():
        with transaction.atomic():
            if _lock_try(period_id):
                _pending_add(period_id)
                continue
        if time.monotonic() > deadline:
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _period_open_for_write(period_id: int) -> None:
    """period_figures_writable for a submit or return, which must also keep the admin from
    closing the period until it commits: a KEY SHARE lock on PostgreSQL, which many submits
    hold at once and only the close's FOR UPDATE waits for."""
    if connection.vendor != "postgresql":
        period_figures_writable(period_id)
        return
    table = AssessmentPeriod._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT status FROM "{table}" WHERE id = %s FOR KEY SHARE', [period_id])  # noqa: S608 - the model's table
        row = cursor.fetchone()
    if row and row[0] == AssessmentPeriod.Status.CLOSED:
        period_figures_writable(period_id)  # raises FiguresFrozen with the message


def _change_of(assessment: SelfAssessment, sign: int, pillar_scores: Mapping[int, Fraction]) -> dict:
    """One assessment's contribution, as the outbox keeps it (JSON: item ids as strings)."""
    masters = dict(PeriodPillar.objects.filter(pk__in=pillar_scores).values_list("pk", "pillar_id"))
    return {
        "unit": assessment.unit_id,
        "sign": sign,
        "index": assessment.index_score,
        "grade": GRADE_FIELDS[assessment.grade],
        "pillars": {str(masters[pk]): float(score) for pk, score in pillar_scores.items()},
        "indicators": {str(pk): score for pk, score in assessment.ratings.values_list("indicator_id", "score")},
    }


def _changes_add(period_id: int, changes: list[dict]) -> None:
    """Add `changes` to the summary rows of each one's unit and its ancestors (today's tree: the
    period is open), creating missing rows, in three statements whatever their number; then
    mark the period's roll-ups as changed."""
    paths = dict(WorkUnit.objects.filter(pk__in={c["unit"] for c in changes}).values_list("pk", "path"))
    ancestors = {p for path in paths.values() for p in WorkUnit.chain_paths(path)}
    by_path = dict(WorkUnit.objects.filter(path__in=ancestors).values_list("path", "pk"))
    units: dict[int, dict] = {}
    pillars: dict[tuple, list] = {}
    indicators: dict[tuple, list] = {}
    for change in changes:
        sign = change["sign"]
        for unit_id in (by_path[p] for p in WorkUnit.chain_paths(paths[change["unit"]])):
            row = units.setdefault(unit_id, dict.fromkeys(SUMMARY_FIELDS, 0))
            row["counted"] += sign
            row["index_sum"] += sign * change["index"]
            row[change["grade"]] += sign
            for items, totals in ((change["pillars"], pillars), (change["indicators"], indicators)):
                for item, value in items.items():
                    total = totals.setdefault((unit_id, int(item)), [0, 0])
                    total[0] += sign
                    total[1] += sign * value
    _increment(UnitPeriodSummary, ["unit_id"], SUMMARY_FIELDS, [(u, period_id, *(row[f] for f in SUMMARY_FIELDS)) for u, row in sorted(units.items())])
    _increment(UnitPeriodPillarSummary, ["unit_id", "pillar_id"], ["counted", "score_sum"],
               [(u, period_id, item, n, total) for (u, item), (n, total) in sorted(pillars.items())])
    _increment(UnitPeriodIndicatorSummary, ["unit_id", "indicator_id"], ["counted", "score_sum"],
               [(u, period_id, item, n, total) for (u, item), (n, total) in sorted(indicators.items())])
    rollups_touch(period_id)


def _increment(model, keys: list[str], fields: list[str], rows: list[tuple]) -> None:
    """INSERT each row (keys, period, then `fields`), or add its fields to the existing row's:
    one statement (PostgreSQL and SQLite both have ON CONFLICT ... DO UPDATE)."""
    if not rows:
        return
    table = model._meta.db_table
    columns = [keys[0], "period_id", *keys[1:], *fields]
    conflict = ", ".join(["unit_id", "period_id", *keys[1:]])
    extra = [f.column for f in model._meta.concrete_fields if f.column not in columns and not f.primary_key]
    defaults = [model._meta.get_field(name).default for name in extra]
    placeholders = "(" + ", ".join(["%s"] * (len(columns) + len(extra))) + ")"
    added = ", ".join(f'"{f}" = "{table}"."{f}" + EXCLUDED."{f}"' for f in fields)
    names = ", ".join(f'"{c}"' for c in [*columns, *extra])
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        values = ", ".join([placeholders] * len(chunk))
        sql = f'INSERT INTO "{table}" ({names}) VALUES {values} ON CONFLICT ({conflict}) DO UPDATE SET {added}'  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in chunk for value in (*row, *defaults)])


SUMMARY_FIELDS = ["counted", "index_sum", *GRADE_FIELDS.values()]


@dataclass
class Computed:
    """The counted figures of a period's summary rows, computed from its assessments and
    ratings and added up its own unit tree: {unit id: {field: value}}, and per pillar and per
    indicator {unit id: {item id: (n, sum)}}."""

    units: dict[int, dict]
    pillars: dict[int, dict]
    indicators: dict[int, dict]


def _add_sums(total: dict, sums: dict) -> dict:
    for item, (n, value) in sums.items():
        before = total.get(item, (0, 0))
        total[item] = (before[0] + n, before[1] + value)
    return total


def summary_compute(*, period: AssessmentPeriod) -> Computed:
    """Compute what every summary row of `period` should hold, from the assessments (grouped per
    unit in the database) and the period's unit tree. Reads only. Raises AnswersDeleted for a
    period whose answers were deleted under the retention rule."""
    period_recomputable(period)
    counted = SelfAssessment.objects.filter(period=period, state__in=COUNTED_STATES)
    paths = tree_paths(period)
    own = {
        row.pop("unit_id"): row
        for row in counted.values("unit_id").annotate(
            counted=Count("id"),
            index_sum=Sum("index_score"),
            **{name: Count("id", filter=Q(grade=grade)) for grade, name in GRADE_FIELDS.items()},
        ).order_by()
    }
    units = _roll_up(own, lambda total, row: {f: total[f] + (row[f] or 0) for f in SUMMARY_FIELDS}, dict.fromkeys(SUMMARY_FIELDS, 0), paths=paths)
    per_item = {}
    for name, rows in (
        ("pillars", PillarScore.objects.filter(assessment__in=counted).values_list(
            "assessment__unit_id", "pillar__pillar_id").annotate(n=Count("id"), total=Sum("score")).order_by()),
        ("indicators", Rating.objects.filter(assessment__in=counted).values_list(
            "assessment__unit_id", "indicator_id").annotate(n=Count("id"), total=Sum("score")).order_by()),
    ):
        own_sums: dict[int, dict] = {}
        for unit_id, item, n, total in rows:
            own_sums.setdefault(unit_id, {})[item] = (n, total)
        per_item[name] = _roll_up(own_sums, _add_sums, {}, paths=paths)
    return Computed(units=units, **per_item)


@transaction.atomic
def summary_rebuild(*, period: AssessmentPeriod, closed: bool = False) -> None:
    """Recompute the counted figures of every summary row of `period` from the assessments
    (after a bulk load, or to repair). `expected` is left as it is. A closed period's rows are
    final: they are rebuilt only when asked with `closed=True` (a repair the admin confirms),
    and then over the period's own recorded tree; never once its answers were deleted under the
    retention rule (AnswersDeleted)."""
    period_recomputable(period)
    if not closed:
        period_figures_writable(period.pk)
    summaries_lock(period.pk)  # pending changes are in the assessments it recomputes from
    rollups_touch(period.pk)
    computed = summary_compute(period=period)
    UnitPeriodSummary.objects.filter(period=period).update(**dict.fromkeys(SUMMARY_FIELDS, 0))
    UnitPeriodSummary.objects.bulk_create(
        [UnitPeriodSummary(unit_id=unit_id, period=period, **row) for unit_id, row in computed.units.items()],
        update_conflicts=True,
        unique_fields=["unit", "period"],
        update_fields=SUMMARY_FIELDS,
        batch_size=1000,
    )
    for model, key, sums_by_unit in (
        (UnitPeriodPillarSummary, "pillar_id", computed.pillars),
        (UnitPeriodIndicatorSummary, "indicator_id", computed.indicators),
    ):
        model.objects.filter(period=period).delete()
        model.objects.bulk_create(
            [
                model(unit_id=unit_id, period=period, counted=n, score_sum=value, **{key: item})
                for unit_id, sums in sums_by_unit.items()
                for item, (n, value) in sums.items()
            ],
            batch_size=2000,
        )


def summary_differences(*, period: AssessmentPeriod) -> list[str]:
    """Compare every stored summary row of `period` with `summary_compute`; return one line per
    difference (empty when every row is exact). Changes still pending are added first."""
    if period.status == AssessmentPeriod.Status.OPEN:
        pending_apply(period.pk)
    computed = summary_compute(period=period)
    problems = []
    zero = dict.fromkeys(SUMMARY_FIELDS, 0)
    stored = {row.pop("unit_id"): row for row in UnitPeriodSummary.objects.filter(period=period).values("unit_id", *SUMMARY_FIELDS)}
    for unit_id in sorted(set(stored) | set(computed.units)):
        have, want = stored.get(unit_id, zero), computed.units.get(unit_id, zero)
        for field in SUMMARY_FIELDS:
            if abs((have[field] or 0) - (want[field] or 0)) > 1e-6:
                problems.append(f"{period.code} unit {unit_id} {field}: stored {have[field]}, computed {want[field]}")
    for model, key, sums_by_unit in (
        (UnitPeriodPillarSummary, "pillar_id", computed.pillars),
        (UnitPeriodIndicatorSummary, "indicator_id", computed.indicators),
    ):
        rows = model.objects.filter(period=period).exclude(counted=0).values_list("unit_id", key, "counted", "score_sum")
        have = {(u, item): (n, value) for u, item, n, value in rows}
        want = {(u, item): nv for u, sums in sums_by_unit.items() for item, nv in sums.items() if nv[0]}
        for unit_id, item in sorted(set(have) | set(want)):
            a, b = have.get((unit_id, item), (0, 0)), want.get((unit_id, item), (0, 0))
            if a[0] != b[0] or abs(a[1] - b[1]) > 1e-6:
                problems.append(f"{period.code} unit {unit_id} {key} {item}: stored {a}, computed {b}")
    return problems


def unit_move(*, unit: WorkUnit, target: WorkUnit, position: str = "last-child") -> WorkUnit:
    """Move a unit (with its subtree) in the tree; return it as stored now. Its past assessments
    stay attributed to it, and every roll-up follows in the same transaction (see
    summaries_follow_move)."""
    with summaries_follow_move(unit):
        WorkUnit.objects.move(unit, target, position)
    return WorkUnit.objects.get(pk=unit.pk)


@contextmanager
def summaries_follow_move(unit: WorkUnit) -> Iterator[None]:
    """Wrap whatever moves `unit` in the tree: treebeard's move (`unit_move`) or the admin's tree
    form, which moves the unit while it saves. Once it has moved, the summary rows of its old
    ancestors have lost its figures and those of its new ones gained them, in every period,
    so that every roll-up stays exact without recomputing anything. Open periods only: closed
    ones keep the tree they were assessed in."""
    with transaction.atomic():
        old_chain = unit_chain(unit.pk)[:-1]
        yield
        new_chain = unit_chain(unit.pk)[:-1]
        _summaries_shift(
            unit=unit,
            leaving=[u for u in old_chain if u not in new_chain],
            joining=[u for u in new_chain if u not in old_chain],
        )


def _summaries_shift(*, unit: WorkUnit, leaving: list[int], joining: list[int]) -> None:
    """Take the figures of `unit`'s summary rows off the rows of the units `leaving` and add
    them to those of the units `joining`."""
    if not (leaving or joining):
        return
    # Only the periods whose figures may still change: a closed period keeps the organisation
    # it was assessed in (its rows already add up its own recorded tree).
    open_rows = Q(period__status=AssessmentPeriod.Status.OPEN)
    for period_id in UnitPeriodSummary.objects.filter(open_rows, unit=unit).values_list("period_id", flat=True):
        period_figures_writable(period_id)
        summaries_lock(period_id)
        rollups_touch(period_id)
    fields = ["counted", "expected", "index_sum", *GRADE_FIELDS.values()]
    for model, key, moved_fields in (
        (UnitPeriodSummary, None, fields),
        (UnitPeriodPillarSummary, "pillar_id", ["counted", "score_sum"]),
        (UnitPeriodIndicatorSummary, "indicator_id", ["counted", "score_sum"]),
    ):
        for moved in model.objects.filter(open_rows, unit=unit):
            match = {"period_id": moved.period_id, **({key: getattr(moved, key)} if key else {})}
            model.objects.bulk_create([model(unit_id=u, **match) for u in joining], ignore_conflicts=True)
            for chain, sign in ((leaving, -1), (joining, 1)):
                model.objects.filter(unit_id__in=chain, **match).update(
                    **{f: F(f) + sign * getattr(moved, f) for f in moved_fields}
                )

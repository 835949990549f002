"""Build a synthetic province for benchmarks: a unit tree of a given size and depth, staff with
valid NIPs and logins, closed quarters of assessments and the current quarter open.

    python manage.py seed_scale --staff 100000 --units 2000 --depth 5 --periods 4

Province scale is millions of ratings, so rows are generated in chunks and written in bulk with
ids assigned here: PostgreSQL gets COPY, other databases (SQLite in the tests) multi-row
INSERTs. Periods are opened, rebuilt and closed through `services`, and scores come from
`scoring` (via `synthetic.Scorer`), so what is stored is what real use would store.

Synthetic units have codes starting with `SYN-`; the root unit's name records the parameters, so
a second run with the same ones is a no-op and the benchmark reuses the data.
"""

import datetime
import io
import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from queue import Empty, Queue

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from assessments import periods, summaries
from assessments.models import (
    AccessLog,
    AssessmentEvent,
    AssessmentPeriod,
    AssessmentState,
    Employee,
    PeriodIndicator,
    PeriodPillar,
    PeriodUnit,
    PillarScore,
    PrivacyAcknowledgement,
    Rating,
    ReminderLog,
    SelfAssessment,
    SupervisorAssignment,
    UnitLineage,
    UnitPeriodIndicatorSummary,
    UnitPeriodPillarSummary,
    UnitPeriodSummary,
    UnitReminder,
    Verification,
    VerificationDraw,
    VerifiedPillarScore,
    VerifiedRating,
    VerifierAssignment,
    WorkUnit,
)
from assessments.synthetic import (
    POSITIONS,
    REVIEW_DELAY,
    AssessmentSpec,
    Scorer,
    assessment_rows,
    draw_answers,
    moment_in,
    nip_for,
    person_name,
    questionnaire_layout,
    unit_profile,
)

SYNTHETIC_PREFIX = "SYN-"
ROOT_CODE = f"{SYNTHETIC_PREFIX}PROV"
BENCH_PASSWORD = "asn-bench-2026"
EMAIL_DOMAIN = "synthetic.invalid"  # reserved TLD: no reminder ever reaches a real mailbox
HEAD_DEPTH = 3  # units down to this depth have a head (supervisor)
CHUNK = 5000  # assessments generated and written at a time: bounds memory at any size

# Cumulative shares of each state; None: not started (no row). About 90% of staff are counted
# in a closed quarter; the open one is part-way through.
CLOSED_MIX = ((0.10, None), (0.35, AssessmentState.SUBMITTED), (1.0, AssessmentState.APPROVED))
OPEN_MIX = (
    (0.40, None),
    (0.55, AssessmentState.DRAFT),
    (0.85, AssessmentState.SUBMITTED),
    (0.90, AssessmentState.RETURNED),
    (1.0, AssessmentState.APPROVED),
)
RETURN_NOTE = "Mohon lengkapi catatan dan bukti dukung untuk indikator yang bernilai ekstrem, lalu kirim ulang."
LEVEL_NAMES = {2: "Perangkat Daerah", 3: "Bidang", 4: "Seksi", 5: "UPT"}
HEAD_TITLES = {1: "Sekretaris Daerah", 2: "Kepala Perangkat Daerah", 3: "Kepala Bidang"}

# What --reset empties, children first (the DELETE order where TRUNCATE is not available).
# The framework (themes, pillars, indicators) is not synthetic and is kept.
RESET_MODELS = (
    VerifiedPillarScore, VerifiedRating, Verification, VerificationDraw, PrivacyAcknowledgement, VerifierAssignment,
    Rating, PillarScore, AssessmentEvent, AccessLog.people.through, AccessLog, ReminderLog, UnitReminder,
    UnitPeriodIndicatorSummary, UnitPeriodPillarSummary, UnitPeriodSummary, SelfAssessment,
    PeriodIndicator, PeriodPillar, PeriodUnit, UnitLineage, AssessmentPeriod, SupervisorAssignment, Employee, WorkUnit,
    AssessmentPeriod.history.model, SupervisorAssignment.history.model, Employee.history.model, WorkUnit.history.model,
)


def marker(staff: int, units: int, depth: int, periods: int, seed: int) -> str:
    """The root unit's name: it records the parameters the data was built with."""
    return f"Synthetic province N={staff} U={units} D={depth} P={periods} seed={seed}"


# --- The unit tree -------------------------------------------------------------------------------


def level_sizes(units: int, depth: int) -> list[int]:
    """Return how many units each level holds: one root, then growing by a constant factor so
    that the levels sum to `units` and every level down to `depth` has at least one unit."""
    if depth == 1:
        return [1]
    low, high = 1.0, float(units)
    for _ in range(100):  # bisect the branching factor b with 1 + b + ... + b^(depth-1) = units
        b = (low + high) / 2
        low, high = (b, high) if sum(b**k for k in range(depth)) < units else (low, b)
    sizes = [1] + [max(1, round(low**k)) for k in range(1, depth - 1)]
    while sum(sizes) > units - 1:  # rounding up can leave no room for the deepest level
        sizes[sizes.index(max(sizes))] -= 1
    return sizes + [units - sum(sizes)]


@dataclass
class Unit:
    index: int
    parent: int | None  # index of the parent unit
    depth: int
    path: str = ""
    numchild: int = 0
    id: int = 0
    code: str = ""


def build_tree(sizes: Sequence[int], root_path: str) -> list[Unit]:
    """Lay out the tree level by level, each level's units spread evenly over the level above
    (so the tree is balanced), with treebeard's materialized paths computed here rather than by
    one add_child query per unit."""
    units = [Unit(index=0, parent=None, depth=1, path=root_path)]
    above = [0]
    for depth, size in enumerate(sizes[1:], start=2):
        level = []
        for j in range(size):
            parent = units[above[j * len(above) // size]]
            parent.numchild += 1
            unit = Unit(index=len(units), parent=parent.index, depth=depth)
            unit.path = WorkUnit._get_path(parent.path, depth, parent.numchild)
            units.append(unit)
            level.append(unit.index)
        above = level
    width = max(5, len(str(len(units))))
    for unit in units:
        unit.code = ROOT_CODE if unit.parent is None else f"{SYNTHETIC_PREFIX}{unit.index:0{width}d}"
    return units


def unit_name(unit: Unit, root_name: str) -> str:
    if unit.parent is None:
        return root_name
    return f"{LEVEL_NAMES.get(unit.depth, 'Subunit')} {unit.code.removeprefix(SYNTHETIC_PREFIX)}"


def staff_sizes(staff: int, units: int, rng: random.Random) -> list[int]:
    """Spread `staff` over the units: one each (every unit can have a head), the rest in
    proportion to a random weight, so units differ in size."""
    weights = [rng.uniform(0.3, 1.7) for _ in range(units)]
    total = sum(weights)
    sizes = [1 + int((staff - units) * w / total) for w in weights]
    for k in range(staff - sum(sizes)):  # what the rounding down left over
        sizes[k % units] += 1
    return sizes


# --- Writing rows ----------------------------------------------------------------------------------


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_field(value) -> str:
    """A value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(COPY_ESCAPES)
    if isinstance(value, float):
        return repr(value)  # the shortest form that reads back as the same double
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value)


class Writer:
    """Bulk insert of plain rows (values in the order of the given column names). Ids of rows
    that others point at are assigned here, so children are written without reading anything
    back. This base class works on any database (SQLite in the tests): batched INSERTs with the
    values exactly as given (bulk_create would overwrite the auto_now timestamps). Rendering,
    turning rows into what `write` sends, touches no database, so it may run in another thread."""

    def __init__(self):
        self.next_ids: dict[str, int] = {}

    def reserve(self, model, n: int) -> int:
        """Return the first of `n` unused consecutive ids of `model`."""
        table = model._meta.db_table
        if table not in self.next_ids:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")  # noqa: S608
                self.next_ids[table] = (cursor.fetchone()[0] or 0) + 1
        first = self.next_ids[table]
        self.next_ids[table] += n
        return first

    def render(self, model, columns: Sequence[str], rows: Iterable[tuple], *, repeating: bool = False):
        """Prepare rows for `write`. `repeating`: the values after the first repeat a lot."""
        return list(rows)

    def write(self, model, columns: Sequence[str], rendered) -> int:
        """Insert rendered rows; return how many."""
        fields = [next(f for f in model._meta.concrete_fields if f.column == column) for column in columns]
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(column) for column in columns)
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608
        with connection.cursor() as cursor:
            for batch in batched(rendered, 1000):
                cursor.executemany(
                    sql, [[f.get_db_prep_save(v, connection) for f, v in zip(fields, row, strict=True)] for row in batch]
                )
        return len(rendered)

    def insert(self, model, columns: Sequence[str], rows: Iterable[tuple]) -> int:
        return self.write(model, columns, self.render(model, columns, rows))

    def ahead(self, chunks: Iterator) -> Iterator:
        """Iterate over chunks to write; here simply in turn."""
        return chunks

    def suspend_foreign_keys(self, models) -> list:
        """Stop checking the foreign keys of `models`' tables row by row; returns what
        `restore_foreign_keys` needs. Here nothing changes."""
        return []

    def restore_foreign_keys(self, suspended: list) -> None:
        """Check and enforce again the foreign keys suspended."""

    def analyze(self, models) -> None:
        """Called when a period's rows are in, before its summaries are rebuilt."""


@dataclass
class Copy:
    text: str
    count: int


class CopyWriter(Writer):
    """PostgreSQL: ids reserved from the tables' own sequences, one call per block; rows
    streamed with COPY (an order of magnitude faster than INSERT for millions of rows), rendered
    in a second thread while the database takes the previous chunk; foreign keys checked once in
    bulk at the end instead of row by row."""

    def reserve(self, model, n: int) -> int:
        table = model._meta.db_table
        with connection.cursor() as cursor:
            # nextval and setval in one statement: the block is ours, and later inserts by
            # anyone else continue after it.
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
                [table, table, n],
            )
            return cursor.fetchone()[0] - n + 1

    def render(self, model, columns, rows, *, repeating=False) -> Copy:
        lines = []
        if repeating:
            # A rating is an assessment id then one of a few hundred (indicator, score, note):
            # format each of those once, which renders the largest table 2.5 times faster.
            tails: dict[tuple, str] = {}
            for head, *rest in rows:
                key = tuple(rest)
                tail = tails.get(key)
                if tail is None:
                    tail = tails[key] = "\t".join(map(copy_field, key))
                lines.append(f"{head}\t{tail}\n")
        else:
            lines = ["\t".join(map(copy_field, row)) + "\n" for row in rows]
        return Copy("".join(lines), len(lines))

    def write(self, model, columns, rendered: Copy) -> int:
        if rendered.count:
            with connection.cursor() as cursor:
                raw = cursor.cursor  # the psycopg2 cursor under Django's wrapper
                raw.copy_expert(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN", io.StringIO(rendered.text))
        return rendered.count

    def ahead(self, chunks):
        return in_background(chunks, depth=2)

    def suspend_foreign_keys(self, models) -> list:
        # Kept, a foreign key queues a check per inserted row, run one by one at commit (15 s of
        # a 39 s build at 1 M ratings). Dropped and added back at the end, it checks every row
        # in one join.
        tables = [model._meta.db_table for model in models]
        with connection.cursor() as cursor:
            # Only the tables' owner may drop a constraint; anyone else loads with them kept.
            cursor.execute("SELECT bool_and(pg_has_role(relowner, 'USAGE')) FROM pg_class WHERE oid = ANY(%s::regclass[])", [tables])
            if not cursor.fetchone()[0]:
                return []
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
                [tables],
            )
            keys = cursor.fetchall()
            check_deferred_now(cursor)
            for table, name, _definition in keys:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        return keys

    def restore_foreign_keys(self, suspended: list) -> None:
        with connection.cursor() as cursor:
            for table, name, definition in suspended:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')

    def analyze(self, models) -> None:
        # Fresh statistics, so the summary rebuild and later the benchmarks get sensible plans.
        with connection.cursor() as cursor:
            for model in models:
                cursor.execute(f"ANALYZE {model._meta.db_table}")


def check_deferred_now(cursor) -> None:
    """Run the foreign key checks still pending in this transaction: PostgreSQL refuses to
    TRUNCATE or ALTER a table that has some (only when called inside a caller's transaction)."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # back to how Django declares them


def in_background(items: Iterator, depth: int) -> Iterator:
    """Yield what `items` yields, computed in a background thread up to `depth` items ahead
    (the thread must not use the database). An error there is raised here."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def work():
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put((True, item))
            queue.put((False, None))
        except Exception as error:  # handed to the consumer, which raises it
            queue.put((False, error))

    thread = threading.Thread(target=work, name="seed_scale-render", daemon=True)
    thread.start()
    try:
        while True:
            more, item = queue.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting to put
            try:
                queue.get(timeout=0.1)
            except Empty:
                pass


def batched(rows: Iterable, size: int) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- The command -------------------------------------------------------------------------------------


class Stopwatch:
    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - start


@dataclass
class Person:
    employee_id: int
    user_id: int
    unit: int  # index into the tree
    reviewer_id: int | None  # user id of the nearest head above this person


class Command(BaseCommand):
    help = (
        "Build synthetic province-size data for benchmarks (units coded SYN-…). Refuses a database "
        "holding other data unless --force; a second run with the same parameters does nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--staff", type=int, required=True, help="number of staff (N)")
        parser.add_argument("--units", type=int, required=True, help="number of units (U)")
        parser.add_argument("--depth", type=int, required=True, help="depth of the unit tree (D)")
        parser.add_argument("--periods", type=int, required=True, help="closed quarters before the open one (P)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
        parser.add_argument("--force", action="store_true", help="run even though the database holds non-synthetic data")
        parser.add_argument(
            "--reset", action="store_true",
            help="delete the synthetic data first (with --force: every unit, person and period) and rebuild",
        )

    def handle(self, *args, staff, units, depth, periods, seed, force=False, reset=False, **options):
        self._check_sizes(staff, units, depth, periods)
        name = marker(staff, units, depth, periods, seed)
        foreign = self._foreign_data()
        if foreign and not force:
            raise CommandError(f"The database holds non-synthetic data ({foreign}); seed_scale leaves it alone. Use --force to run anyway.")
        root = WorkUnit.objects.filter(code=ROOT_CODE).first()
        if root and root.name == name and not reset:
            self.stdout.write(f"Synthetic data with these parameters already exists ({name}): nothing to do.")
            self._warn_if_stale()
            return
        clock = Stopwatch()
        started = time.perf_counter()
        if reset:
            with clock.stage("reset"):
                self._reset()
            self.stdout.write(f"reset: units, staff, periods and synthetic logins deleted in {clock.seconds['reset']:.1f} s")
        elif WorkUnit.objects.filter(code__startswith=SYNTHETIC_PREFIX).exists():
            held = root.name if root else "an incomplete build"
            raise CommandError(f"Synthetic data with other parameters exists ({held}). Use --reset to rebuild.")
        elif AssessmentPeriod.objects.exists():
            raise CommandError("The database already has assessment periods. Use --reset to replace them.")

        writer = CopyWriter() if connection.vendor == "postgresql" else Writer()
        with transaction.atomic():  # all or nothing: a failed build leaves no half a province
            made = Build(writer, clock, random.Random(seed), staff=staff, units=units, depth=depth, periods=periods, name=name).run()
        total = time.perf_counter() - started
        self._report(made, clock, total)

    def _warn_if_stale(self) -> None:
        """The open period was the current quarter when the data was built; say so when it no
        longer is (dashboards and reminders look at today)."""
        period = AssessmentPeriod.objects.filter(status=AssessmentPeriod.Status.OPEN).first()
        if period and not period.opens_on <= timezone.localdate() <= period.closes_on:
            self.stdout.write(self.style.WARNING(
                f"Its open period {period.code} is not the current quarter any more; --reset rebuilds around today."
            ))

    @staticmethod
    def _check_sizes(staff, units, depth, periods):
        if depth < 1 or units < depth:
            raise CommandError("--units must be at least --depth, and --depth at least 1.")
        if staff < units:
            raise CommandError("--staff must be at least --units: every unit gets at least one person.")
        if periods < 0:
            raise CommandError("--periods cannot be negative.")

    @staticmethod
    def _foreign_data() -> str:
        """Describe the non-synthetic data in the database ('' when there is none)."""
        others = WorkUnit.objects.exclude(code__startswith=SYNTHETIC_PREFIX).count()
        if others:
            return f"{others} units not coded {SYNTHETIC_PREFIX}…"
        if not WorkUnit.objects.filter(code=ROOT_CODE).exists() and AssessmentPeriod.objects.exists():
            return "assessment periods without synthetic units"
        return ""

    @staticmethod
    def _reset() -> None:
        """Delete synthetic logins and empty the unit, staff and period tables (nothing else is
        left in them: the refusal above, or --force, saw to that)."""
        users = get_user_model()._meta.db_table
        employees, units = Employee._meta.db_table, WorkUnit._meta.db_table
        tables = [model._meta.db_table for model in RESET_MODELS]
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                check_deferred_now(cursor)
            # Their logins first, while the employee rows still say which users are synthetic
            # (foreign keys are checked at commit, when the employees are gone too).
            cursor.execute(
                f"DELETE FROM {users} WHERE id IN (SELECT e.user_id FROM {employees} e JOIN {units} u ON u.id = e.unit_id "  # noqa: S608
                "WHERE u.code LIKE %s)",
                [f"{SYNTHETIC_PREFIX}%"],
            )
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
            else:
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")  # noqa: S608

    def _report(self, made: dict, clock: Stopwatch, total: float) -> None:
        seconds = clock.seconds
        self.stdout.write(self.style.SUCCESS(f"Built {made['name']} on {connection.vendor}:"))
        rows = [
            ("units", made["units"], f"depth {made['depth']}, {made['heads']} with a head"),
            ("staff", made["staff"], f"logins: NIP, password {BENCH_PASSWORD}"),
            ("periods", made["periods"], f"{made['closed']} closed, 1 open; opened, summaries rebuilt, closed"),
            ("assessments", made["assessments"], f"+ {made['pillar_scores']:,} pillar scores, {made['events']:,} state changes"),
            ("ratings", made["ratings"], ""),
        ]
        if made["foreign_keys"]:
            rows.append(("foreign keys", made["foreign_keys"], "suspended for the load, then checked in bulk"))
        for stage, count, note in rows:
            shown = f"{count:>12,}"
            self.stdout.write(f"  {stage:<13}{shown} {seconds[stage]:8.1f} s  {note}")
        self.stdout.write(f"  {'total':<13}{'':>12} {total:8.1f} s  (wall clock, commit included)")


class Build:
    """One build of the synthetic province; `run` returns counts of what it made."""

    def __init__(self, writer: Writer, clock: Stopwatch, rng: random.Random, *, staff, units, depth, periods, name):
        self.writer, self.clock, self.rng = writer, clock, rng
        self.staff, self.units, self.depth, self.periods, self.name = staff, units, depth, periods, name
        self.made = defaultdict(int, name=name, depth=depth)

    def run(self) -> dict:
        suspended = self.writer.suspend_foreign_keys(LOADED)
        with self.clock.stage("units"):
            tree = self._units()
        with self.clock.stage("staff"):
            people = self._staff(tree)
        self._periods(tree, people)
        with self.clock.stage("foreign keys"):
            self.writer.restore_foreign_keys(suspended)
        self.made["foreign_keys"] = len(suspended)
        return self.made

    def _units(self) -> list[Unit]:
        last_root = WorkUnit.objects.get_last_root_node()  # only there with --force next to other data
        tree = build_tree(level_sizes(self.units, self.depth), last_root._inc_path() if last_root else WorkUnit._get_path(None, 1, 1))
        first = self.writer.reserve(WorkUnit, len(tree))
        for unit in tree:
            unit.id = first + unit.index
        self.writer.insert(
            WorkUnit,
            ["id", "path", "depth", "numchild", "code", "name", "is_active"],
            ((u.id, u.path, u.depth, u.numchild, u.code, unit_name(u, self.name), True) for u in tree),
        )
        self.made["units"] = len(tree)
        return tree

    def _staff(self, tree: list[Unit]) -> list[Person]:
        rng, writer = self.rng, self.writer
        User = get_user_model()
        password = make_password(BENCH_PASSWORD)  # one hash shared by all: hashing each would take hours
        now = timezone.now()
        first_user = writer.reserve(User, self.staff)
        first_employee = writer.reserve(Employee, self.staff)
        # NIPs and user names already there (only with --force next to other data) stay unique.
        taken = set(Employee.objects.values_list("nip", flat=True)) | set(User.objects.values_list("username", flat=True))
        users, employees, people = [], [], []
        heads: dict[int, int] = {}  # unit index -> employee id of its head
        for unit, size in zip(tree, staff_sizes(self.staff, len(tree), rng), strict=True):
            for k in range(size):
                n = len(people)
                nip, name = nip_for(rng, taken), person_name(rng)
                is_head = k == 0 and unit.depth <= HEAD_DEPTH
                position = HEAD_TITLES[unit.depth] if is_head else rng.choice(POSITIONS)
                users.append((first_user + n, password, None, False, nip, name[:150], "", f"{nip}@{EMAIL_DOMAIN}", False, True, now))
                employees.append((first_employee + n, first_user + n, nip, name, position, unit.id, True))
                people.append(Person(first_employee + n, first_user + n, unit.index, None))
                if is_head:
                    heads[unit.index] = n
        writer.insert(
            User,
            ["id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email",
             "is_staff", "is_active", "date_joined"],
            users,
        )
        writer.insert(Employee, ["id", "user_id", "nip", "full_name", "position", "unit_id", "is_active"], employees)
        first = writer.reserve(SupervisorAssignment, len(heads))
        writer.insert(
            SupervisorAssignment,
            ["id", "employee_id", "unit_id"],
            ((first + k, people[n].employee_id, tree[unit].id) for k, (unit, n) in enumerate(heads.items())),
        )
        writer.analyze([User, Employee])
        # Each person is reviewed by the head of the nearest unit above (or of their own unit,
        # unless they head it themselves).
        for person in people:
            unit = tree[person.unit]
            if unit.index in heads and people[heads[unit.index]] is person:
                unit = tree[unit.parent] if unit.parent is not None else None
            while unit is not None and unit.index not in heads:
                unit = tree[unit.parent] if unit.parent is not None else None
            person.reviewer_id = people[heads[unit.index]].user_id if unit is not None else None
        self.made.update(staff=len(people), heads=len(heads))
        return people

    def _periods(self, tree: list[Unit], people: list[Person]) -> None:
        today = timezone.localdate()
        year, quarter = today.year, (today.month - 1) // 3 + 1
        quarters = [(year, quarter)]
        for _ in range(self.periods):
            year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
            quarters.insert(0, (year, quarter))
        profiles = None
        for position, (year, quarter) in enumerate(quarters):
            is_open = position == len(quarters) - 1
            with self.clock.stage("periods"):
                opens_on, closes_on = periods.quarter_dates(year, quarter)
                period = AssessmentPeriod.objects.create(year=year, quarter=quarter, opens_on=opens_on, closes_on=closes_on)
                periods.period_open(period=period, loads_history=True)
                questionnaire = period.questionnaire()
            if profiles is None:  # per-unit answering habits, so units (and their roll-ups) differ
                pillar_ids = [pillar.pillar_id for pillar in questionnaire]
                profiles = [unit_profile(self.rng, pillar_ids) for _ in tree]
            layout = questionnaire_layout(questionnaire)
            mix = OPEN_MIX if is_open else CLOSED_MIX
            taking_part = [(person, state) for person in people if (state := pick(mix, self.rng.random())) is not None]
            # Reviews come two days after submission, and must not lie in the future.
            latest = today - REVIEW_DELAY - datetime.timedelta(days=1) if is_open else None
            specs = (
                self._spec(period, layout, person, state, tree, profiles, drift=0.08 * position, latest=latest)
                for person, state in taking_part
            )
            self._load_assessments(period, questionnaire, specs, len(taking_part))
            with self.clock.stage("periods"):
                self.writer.analyze([SelfAssessment, Rating, PillarScore, AssessmentEvent])
                summaries.summary_rebuild(period=period)
                summaries.period_expected_refresh(period=period)
                if not is_open:
                    periods.period_close(period=period)
            self.made["periods"] += 1
        self.made["closed"] = self.periods
        # The planner needs statistics on the tables dashboards read (and the unit tree).
        self.writer.analyze([WorkUnit, UnitPeriodSummary, UnitPeriodPillarSummary, UnitPeriodIndicatorSummary])

    def _spec(self, period, layout, person: Person, state, tree, profiles, *, drift, latest) -> AssessmentSpec:
        rng = self.rng
        answers = draw_answers(rng, layout, profiles[person.unit], drift)
        if state == AssessmentState.DRAFT:  # a draft answers only some indicators so far
            answers = dict(list(answers.items())[: rng.randint(1, len(answers) - 1)])
        return AssessmentSpec(
            employee_id=person.employee_id, user_id=person.user_id, unit_id=tree[person.unit].id, state=state,
            answers=answers, at=moment_in(period, rng, latest=latest), reviewer_id=person.reviewer_id,
            return_note=RETURN_NOTE if state == AssessmentState.RETURNED else "",
        )

    def _load_assessments(self, period, questionnaire, specs: Iterator[AssessmentSpec], count: int) -> None:
        """Write `count` assessments with their ratings, pillar scores and events, in chunks that
        the writer may render in the background while it writes the previous one."""
        writer = self.writer
        scorer = Scorer(questionnaire)
        first = writer.reserve(SelfAssessment, count)

        def chunks():
            next_id = first
            for batch in batched(specs, CHUNK):
                rows = [assessment_rows(spec, period.pk, scorer) for spec in batch]
                ids = range(next_id, next_id + len(rows))
                next_id += len(rows)
                columns = list(rows[0].assessment)
                yield [
                    (SelfAssessment, ["id", *columns], writer.render(
                        SelfAssessment, ["id", *columns],
                        ((pk, *row.assessment.values()) for pk, row in zip(ids, rows, strict=True)))),
                    (PillarScore, PILLAR_SCORE_COLUMNS, writer.render(
                        PillarScore, PILLAR_SCORE_COLUMNS,
                        ((pk, *score) for pk, row in zip(ids, rows, strict=True) for score in row.pillar_scores),
                        repeating=True)),
                    (AssessmentEvent, EVENT_COLUMNS, writer.render(
                        AssessmentEvent, EVENT_COLUMNS,
                        ((pk, *event) for pk, row in zip(ids, rows, strict=True) for event in row.events))),
                    (Rating, RATING_COLUMNS, writer.render(
                        Rating, RATING_COLUMNS,
                        ((pk, *rating, "", "") for pk, row in zip(ids, rows, strict=True) for rating in row.ratings),
                        repeating=True)),
                ]

        waited = time.perf_counter()
        with closing(writer.ahead(chunks())) as ahead:
            for chunk in ahead:
                self.clock.seconds["assessments"] += time.perf_counter() - waited  # rendering not hidden behind writing
                for model, columns, rendered in chunk:
                    with self.clock.stage("ratings" if model is Rating else "assessments"):
                        self.made[MADE_KEYS[model]] += writer.write(model, columns, rendered)
                waited = time.perf_counter()


# The tables written in bulk (whose foreign keys a writer may check in bulk at the end).
LOADED = [Employee, SupervisorAssignment, SelfAssessment, Rating, PillarScore, AssessmentEvent]
# Children of an assessment get their ids from the table's identity: nothing points at them.
PILLAR_SCORE_COLUMNS = ["assessment_id", "pillar_id", "score"]
EVENT_COLUMNS = ["assessment_id", "actor_id", "from_state", "to_state", "note", "at"]
RATING_COLUMNS = ["assessment_id", "indicator_id", "score", "note", "evidence", "evidence_name"]
MADE_KEYS = {SelfAssessment: "assessments", PillarScore: "pillar_scores", AssessmentEvent: "events", Rating: "ratings"}


def pick(mix, roll: float):
    """Return the state whose cumulative share first exceeds `roll` (None: not started)."""
    return next(state for share, state in mix if roll < share)

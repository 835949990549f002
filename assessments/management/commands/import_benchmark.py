"""Time the staff import on a generated file: `python manage.py import_benchmark --rows 20000`.

It runs in a throwaway test database (test_<name>, like the test suite; a temporary file for
SQLite), created and dropped here, so the database in DATABASE_URL is never touched. Speed is
measured here rather than asserted in the tests, where machines differ too much.
"""

import random
import tempfile
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import connection
from django.utils import timezone

from assessments import periods
from assessments.imports.staff import read_staff, staff_import
from assessments.models import AssessmentPeriod, Employee, WorkUnit
from assessments.synthetic import POSITIONS, nip_for, person_name


class Command(BaseCommand):
    help = "Time reading, checking and importing a generated staff CSV, in a throwaway database."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=20000)
        parser.add_argument("--units", type=int, default=200)

    def handle(self, *args, rows, units, **options):
        with tempfile.TemporaryDirectory() as folder:
            if connection.vendor == "sqlite":
                # A file, as in production, rather than the test runner's in-memory database.
                connection.settings_dict.setdefault("TEST", {})["NAME"] = str(Path(folder) / "import-benchmark.sqlite3")
            old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
            try:
                self._run(rows, units)
            finally:
                connection.creation.destroy_test_db(old_name, verbosity=0)

    def _run(self, rows: int, unit_count: int):
        rng = random.Random(2026)
        admin = get_user_model().objects.create_superuser("bench-admin", "admin@example.go.id", None)
        root = WorkUnit.objects.add_root({"code": "ROOT", "name": "Kementerian"})
        codes = []
        for index in range(unit_count):
            WorkUnit.objects.add_child(root, {"code": f"U{index:04d}", "name": f"Unit {index}"})
            codes.append(f"U{index:04d}")
        today = timezone.localdate()
        start, end = periods.quarter_dates(today.year, (today.month - 1) // 3 + 1)
        periods.period_open(period=AssessmentPeriod.objects.create(year=today.year, quarter=(today.month - 1) // 3 + 1, opens_on=start, closes_on=end))

        taken: set[str] = set()
        people = [(nip_for(rng, taken), person_name(rng), rng.choice(POSITIONS), rng.choice(codes)) for _ in range(rows)]

        def csv_file(names_suffix: str = "") -> bytes:
            lines = ["NIP;Nama;Jabatan;Kode Unit;Email"]
            lines += [f"{nip};{name}{names_suffix};{position};{code};{nip}@example.go.id" for nip, name, position, code in people]
            return "\r\n".join(lines).encode()

        self.stdout.write(f"{connection.vendor}: {rows} staff rows, {unit_count} units")
        for label, data in (("first import (all new)", csv_file()), ("same file again", csv_file()), ("every name changed", csv_file(" S.E."))):
            started = time.perf_counter()
            result = read_staff(data, "staff.csv")
            checked = time.perf_counter()
            assert result.ok, result.file_errors or result.errors[:5]
            summary = staff_import(rows=result.rows, actor=admin)
            written = time.perf_counter()
            self.stdout.write(
                f"  {label}: {len(data) / 1048576:.1f} MB; read and check (preview) {checked - started:.2f} s; "
                f"staff_import {written - checked:.2f} s; total {written - started:.2f} s "
                f"({summary.created} new, {summary.updated} changed, {summary.unchanged} unchanged)"
            )
        self.stdout.write(f"  employees {Employee.objects.count()}, history records {Employee.history.count()}")

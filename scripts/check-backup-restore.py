"""CI: a backup made by scripts/backup.sh restores with scripts/restore.sh into an identical
database.

Builds the demo data in a fresh PostgreSQL database (migrate + seed_demo --force), backs it up,
restores the dump into another fresh database, and compares the two: the list of tables, the
row count and a checksum of the content of every table, the sequences, and every stored score
(assessment index and grade, pillar scores, ratings) row by row. Also checks that restore.sh
refuses to overwrite an existing database unless --force (which replaces it), and the one
DATABASE_URL points to even then, and that Django
finds the restored database fully migrated. Exits 1 on any difference; drops both databases.

    .venv/bin/python scripts/check-backup-restore.py
"""

import os
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PG_SERVER, PYTHON, ROOT, create_database, drop_database, production_env, run  # noqa: E402

SOURCE = f"asn_backupcheck_{os.getpid()}"
RESTORED = f"{SOURCE}_restored"

SCORES = {
    "assessment index scores and grades": "SELECT id, state, index_score, grade FROM assessments_selfassessment ORDER BY id",
    "pillar scores": "SELECT id, assessment_id, pillar_id, score FROM assessments_pillarscore ORDER BY id",
    "ratings": "SELECT id, assessment_id, indicator_id, score, note FROM assessments_rating ORDER BY id",
}


def connect(name: str):
    import psycopg2

    return psycopg2.connect(f"{PG_SERVER}/{name}")


def describe(name: str) -> dict:
    """Every table's row count and content checksum, every sequence's position, every score."""
    with closing(connect(name)) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        tables = [row[0] for row in cursor.fetchall()]
        content = {}
        for table in tables:
            # Rows as text, sorted: equal checksums mean equal contents, whatever the physical order.
            cursor.execute(f'SELECT count(*), md5(coalesce(string_agg(t::text, E\'\\n\' ORDER BY t::text), \'\')) FROM "{table}" t')
            content[table] = cursor.fetchone()
        cursor.execute("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1")
        sequences = dict(cursor.fetchall())
        scores = {}
        for what, sql in SCORES.items():
            cursor.execute(sql)
            scores[what] = cursor.fetchall()
    return {"tables": content, "sequences": sequences, "scores": scores}


def script(args: list[str], database: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, DATABASE_URL=f"{PG_SERVER}/{database}")
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    print(f"$ {' '.join(args)}\n{result.stdout}{result.stderr}", end="", flush=True)
    if check and result.returncode != 0:
        raise SystemExit(f"FAIL: {args[0]} exited {result.returncode}")
    return result


def main() -> int:
    failures = []

    def check(ok: bool, what: str) -> None:
        print(f"{'PASS' if ok else 'FAIL'}  {what}", flush=True)
        if not ok:
            failures.append(what)

    folder = Path(tempfile.mkdtemp(prefix="asn-backup-"))
    try:
        env = production_env(None, DATABASE_URL=f"{PG_SERVER}/{SOURCE}")
        print(f"Building the demo data in {SOURCE} (migrate + seed_demo --force)...", flush=True)
        drop_database(SOURCE)
        drop_database(RESTORED)
        create_database(SOURCE)
        run([PYTHON, "manage.py", "migrate", "--noinput", "-v0"], env)
        run([PYTHON, "manage.py", "seed_demo", "--force"], env)

        backup = script(["scripts/backup.sh", str(folder)], SOURCE)
        dump = Path(backup.stdout.strip().splitlines()[-1])
        check(dump.is_file() and dump.parent == folder and dump.name.startswith(f"{SOURCE}-") and dump.suffix == ".dump",
              f"backup.sh wrote a timestamped dump ({dump.name})")
        check(dump.stat().st_mode & 0o077 == 0, "the dump is readable by its owner only")

        restore = script(["scripts/restore.sh", str(dump), RESTORED], SOURCE)
        check(restore.stdout.splitlines()[-1] == f"DATABASE_URL={PG_SERVER}/{RESTORED}", "restore.sh prints the DATABASE_URL to use")
        again = script(["scripts/restore.sh", str(dump), RESTORED], SOURCE, check=False)
        check(again.returncode != 0 and "already exists" in again.stderr, "restore.sh refuses to overwrite an existing database")
        with closing(connect(RESTORED)) as connection, connection.cursor() as cursor:  # a change --force must undo
            # Ratings no verification refers to (the database has no cascade: Django's does it).
            cursor.execute(
                "DELETE FROM assessments_rating WHERE id IN (SELECT r.id FROM assessments_rating r WHERE NOT EXISTS "
                "(SELECT 1 FROM assessments_verifiedrating v WHERE v.rating_id = r.id) LIMIT 10)"
            )
            connection.commit()
        script(["scripts/restore.sh", "--force", str(dump), RESTORED], SOURCE)
        current = script(["scripts/restore.sh", "--force", str(dump), SOURCE], SOURCE, check=False)
        check(current.returncode != 0, "restore.sh refuses to overwrite the database DATABASE_URL points to, even with --force")

        original, restored = describe(SOURCE), describe(RESTORED)
        check(list(original["tables"]) == list(restored["tables"]), f"same {len(original['tables'])} tables")
        rows = 0
        for table, (count, checksum) in original["tables"].items():
            other = restored["tables"].get(table)
            rows += count
            if other != (count, checksum):
                check(False, f"{table}: {count} rows (md5 {checksum}) before, {other} after")
        check(all(restored["tables"].get(t) == v for t, v in original["tables"].items()),
              f"every table has the same row count and content checksum ({rows} rows in all)")
        for table, (count, _checksum) in original["tables"].items():
            if count:
                print(f"      {table}: {count} rows")
        check(original["sequences"] == restored["sequences"], f"same position of all {len(original['sequences'])} sequences")
        for what, values in original["scores"].items():
            check(values == restored["scores"][what] and len(values) > 0, f"same {what}, row by row ({len(values)} rows)")
        migrated = subprocess.run(
            [PYTHON, "manage.py", "migrate", "--check"], cwd=ROOT, env={**env, "DATABASE_URL": f"{PG_SERVER}/{RESTORED}"},
            capture_output=True, text=True,
        )
        check(migrated.returncode == 0, "Django finds the restored database fully migrated")
    finally:
        drop_database(SOURCE)
        drop_database(RESTORED)
        for file in folder.iterdir():
            file.unlink()
        folder.rmdir()
        print(f"dropped {SOURCE} and {RESTORED}")

    if failures:
        print(f"BACKUP/RESTORE CHECK FAILED: {len(failures)} difference(s)")
        return 1
    print("BACKUP/RESTORE CHECK PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())

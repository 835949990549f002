"""Submits that do not queue on one row (summaries.py, "Applying changes"): a submit adds its
figures at once when the period's advisory lock is free, or leaves them in the outbox
(SummaryDelta) and adds every pending change right after its commit. Whichever way, the summary
rows equal a rebuild and nothing stays pending.

The concurrent tests need PostgreSQL (advisory locks, real concurrent transactions); CI runs
them there. The outbox path itself is tested on both databases."""

import threading
import time

import pytest
from django.db import connection, connections
from django.test import TestCase

from assessments import services, summaries
from assessments.models import SelfAssessment, SummaryDelta

from .conftest import all_answers, make_employee

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="advisory locks and concurrent transactions are PostgreSQL's; CI runs this on PostgreSQL")


def drafts(period, unit, count, score=4):
    """`count` people of `unit`, each with a complete draft of `period`."""
    made = []
    for n in range(count):
        person = make_employee(f"kirim-{unit.code}-{n}", unit)
        made.append(services.assessment_save_draft(employee=person, period=period, answers=all_answers(period, score), version=0, actor=person.user))
    return made


def assert_exact(period):
    assert summaries.summary_differences(period=period) == []
    assert not SummaryDelta.objects.exists()


def test_a_submit_that_finds_the_lock_taken_leaves_its_change_and_adds_it_after_its_commit(cast, period, monkeypatch):
    first, second = drafts(period, cast.tree.a1, 2)
    services.assessment_submit(assessment=first, version=first.version, actor=first.employee.user)
    answers = iter([False, True])  # taken during the submit, free afterwards
    monkeypatch.setattr(summaries, "_lock_try", lambda period_id: next(answers))
    with TestCase.captureOnCommitCallbacks() as after_commit:
        services.assessment_submit(assessment=second, version=second.version, actor=second.employee.user)
    pending = SummaryDelta.objects.get()
    assert pending.change["unit"] == cast.tree.a1.pk and pending.change["sign"] == 1 and len(pending.change["indicators"]) == 26
    stored = summaries.UnitPeriodSummary.objects.get(unit=cast.tree.a1, period=period)
    assert stored.counted == 1  # the rows do not hold it yet
    for callback in after_commit:
        callback()
    assert summaries.UnitPeriodSummary.objects.get(unit=cast.tree.a1, period=period).counted == 2
    assert_exact(period)


def test_a_return_goes_the_same_way(cast, period, monkeypatch):
    (draft,) = drafts(period, cast.tree.a1, 1)
    services.assessment_submit(assessment=draft, version=draft.version, actor=draft.employee.user)
    answers = iter([False, True])
    monkeypatch.setattr(summaries, "_lock_try", lambda period_id: next(answers))
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.assessment_return(assessment=SelfAssessment.objects.get(pk=draft.pk), reviewer=cast.supervisor.user, note="Lengkapi")
    assert summaries.UnitPeriodSummary.objects.get(unit=cast.tree.root, period=period).counted == 0
    assert_exact(period)


def test_closing_adds_whatever_is_pending_first(cast, period, monkeypatch):
    from assessments import periods

    (draft,) = drafts(period, cast.tree.b, 1)
    monkeypatch.setattr(summaries, "_lock_try", lambda period_id: False)
    services.assessment_submit(assessment=draft, version=draft.version, actor=draft.employee.user)  # its sweep never ran
    assert SummaryDelta.objects.count() == 1
    monkeypatch.undo()
    periods.period_close(period=period)
    assert summaries.UnitPeriodSummary.objects.get(unit=cast.tree.b, period=period).counted == 1
    assert not SummaryDelta.objects.exists()


# --- Under real concurrency (PostgreSQL) -----------------------------------------------------------


@pytest.fixture
def framework(transactional_db):
    """The default framework of the data migration: a transactional test that ran before may
    have emptied the tables (they are flushed after each one)."""
    import importlib

    from django.apps import apps

    importlib.import_module("assessments.migrations.0002_default_framework").create_framework(apps, None)


def in_threads(work, items):
    errors = []

    def run(item):
        try:
            work(item)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_sixteen_concurrent_submits_are_each_counted_once(framework, cast, period):
    ready = drafts(period, cast.tree.a1, 8) + drafts(period, cast.tree.b, 8, score=3)
    in_threads(lambda d: services.assessment_submit(assessment=d, version=d.version, actor=d.employee.user), ready)
    assert SelfAssessment.objects.filter(period=period, state="submitted").count() == 16
    assert summaries.UnitPeriodSummary.objects.get(unit=cast.tree.root, period=period).counted == 16
    assert_exact(period)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_submits_commit_while_another_transaction_holds_the_lock(framework, cast, period):
    """A transaction holds the period's lock (as a long apply would): the submits still commit
    at once, their changes wait in the outbox, and are added as soon as the lock is free."""
    ready = drafts(period, cast.tree.a1, 4)
    import psycopg2

    db = connection.settings_dict
    holder = psycopg2.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"] or 5432)
    with holder.cursor() as cursor:  # psycopg2 opens a transaction: the lock lasts until its end
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [summaries.LOCK_NAMESPACE, period.pk])
    seen = {}

    def watch():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            submitted = SelfAssessment.objects.filter(period=period, state="submitted").count()
            if submitted == 4:
                seen["pending"] = SummaryDelta.objects.count()
                seen["root"] = summaries.UnitPeriodSummary.objects.get(unit=cast.tree.root, period=period).counted
                break
            time.sleep(0.02)
        holder.rollback()  # releases the lock
        holder.close()
        connections.close_all()

    watcher = threading.Thread(target=watch)
    watcher.start()
    in_threads(lambda d: services.assessment_submit(assessment=d, version=d.version, actor=d.employee.user), ready)
    watcher.join(timeout=30)
    assert seen == {"pending": 4, "root": 0}  # all four committed, none had added its figures yet
    assert summaries.UnitPeriodSummary.objects.get(unit=cast.tree.root, period=period).counted == 4
    assert_exact(period)

"""Background jobs (models.Job): long work started from a page, run by a Celery worker (in-process
when no broker is configured), with progress the person can watch, and a result file that only
they and admins may download for JOB_FILE_DAYS days.

A kind of job is a runner registered with `@runner(kind)`: it gets the job and a `Progress` to
report rows or units done, and returns an `Outcome` (a summary line, and a file). A runner that
writes to the database does it in one transaction, so a failed job leaves nothing half-written;
its file is stored only once it succeeded. The error the person reads is in the language they
used when they started it."""

import datetime
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import permissions
from .errors import ServiceError
from .models import Job

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    summary: str = ""
    filename: str = ""
    content: bytes = b""


class Progress:
    """Reports `done` of `total` to the job's row, at most twice a second (and always at the end),
    so that a job of 20,000 rows does not write 20,000 times."""

    INTERVAL = 0.5

    def __init__(self, job: Job):
        self.job = job
        self.written = 0.0

    def __call__(self, done: int, total: int | None = None) -> None:
        job = self.job
        job.done = done
        if total is not None:
            job.total = total
        now = time.monotonic()
        if now - self.written >= self.INTERVAL or done >= job.total:
            Job.objects.filter(pk=job.pk).update(done=job.done, total=job.total)
            self.written = now


Runner = Callable[[Job, Progress], Outcome]
RUNNERS: dict[str, Runner] = {}


def runner(kind: str) -> Callable[[Runner], Runner]:
    def register(function: Runner) -> Runner:
        RUNNERS[kind] = function
        return function

    return register


def job_start(*, kind: str, user, params: dict | None = None, total: int = 0) -> Job:
    """Record the job and hand it to the worker once the caller's transaction commits."""
    from . import tasks  # tasks imports this module

    job = Job.objects.create(
        kind=kind, started_by=user, total=total, params={**(params or {}), "language": translation.get_language() or settings.LANGUAGE_CODE}
    )
    transaction.on_commit(lambda: tasks.job_run.delay(job.pk))
    return job


def job_run(pk: int) -> None:
    """Run a queued job once (a task delivered twice finds it claimed and returns)."""
    claimed = Job.objects.filter(pk=pk, state=Job.State.QUEUED).update(state=Job.State.RUNNING, started_at=timezone.now())
    if not claimed:
        return
    job = Job.objects.select_related("started_by").get(pk=pk)
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        try:
            outcome = RUNNERS[job.kind](job, Progress(job))
        except ServiceError as error:
            _fail(job, str(error.message))
        except Exception:
            logger.exception("job %s (%s) failed", job.pk, job.kind)
            _fail(job, _("The job stopped on an unexpected error, and nothing was saved. Try again; if it fails again, tell the administrator (job %(number)s).") % {"number": job.pk})
        else:
            _finish(job, outcome)


def _finish(job: Job, outcome: Outcome) -> None:
    job.state = Job.State.DONE
    job.summary = outcome.summary
    job.done = job.total
    job.finished_at = timezone.now()
    if outcome.filename:
        job.result.save(outcome.filename, ContentFile(outcome.content), save=False)
        job.result_name = outcome.filename
        job.expires_at = job.finished_at + datetime.timedelta(days=settings.JOB_FILE_DAYS)
    job.save()


def _fail(job: Job, message: str) -> None:
    Job.objects.filter(pk=job.pk).update(state=Job.State.FAILED, error=message, finished_at=timezone.now())


def can_see(user, job: Job) -> bool:
    """The person who started a job, and admins, see it and download its result."""
    return user.is_authenticated and (job.started_by_id == user.pk or permissions.is_admin(user))


def downloadable(job: Job, now: datetime.datetime | None = None) -> bool:
    return bool(job.state == Job.State.DONE and job.result and job.expires_at and job.expires_at > (now or timezone.now()))


def files_expire(now: datetime.datetime | None = None) -> int:
    """Delete the result files past their expiry (the job row stays, as a record); return how many."""
    expired = list(Job.objects.filter(expires_at__lte=now or timezone.now()).exclude(result=""))
    for job in expired:
        job.result.delete(save=False)
    return Job.objects.filter(pk__in=[job.pk for job in expired]).update(result="")

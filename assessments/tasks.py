"""Celery tasks: the background jobs (jobs.py) and the daily schedule (settings.CELERY_BEAT_SCHEDULE).
Each task is a thin call into a module that the rest of the app uses too."""

import io
import logging

from celery import shared_task
from django.core.management import call_command

from . import job_runners, jobs, notifications, reports, summaries  # noqa: F401 - job_runners and reports register the runners
from .models import SummaryDelta

logger = logging.getLogger(__name__)


@shared_task
def job_run(pk: int) -> None:
    jobs.job_run(pk)


@shared_task
def reminders_send() -> str:
    """The 7/3/1-day reminders (send_reminders: once per person and threshold)."""
    out = io.StringIO()
    call_command("send_reminders", stdout=out)
    return out.getvalue().strip()


@shared_task
def summaries_check() -> str:
    """Recompute every summary row; a difference is logged as an error for the operator."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("summaries_check", stdout=out, stderr=err)
    except SystemExit:
        logger.error("summaries_check found differences:\n%s", err.getvalue())
        return err.getvalue().strip()
    return out.getvalue().strip()


@shared_task
def job_files_expire() -> int:
    return jobs.files_expire()


@shared_task
def summaries_pending_apply() -> None:
    """A safety net: add summary changes that a submit left pending and could not add itself
    within PENDING_WAIT_SECONDS (normally there are none)."""
    for period_id in SummaryDelta.objects.values_list("period_id", flat=True).distinct():
        summaries.pending_apply(period_id)


@shared_task
def assessment_mail(kind: str, pk: int) -> None:
    """An e-mail about an assessment (notifications.send_after_commit), sent by the worker."""
    notifications.assessment_mail(kind, pk)

"""What each kind of background job does (jobs.py runs them). Every runner checks again that the
person who started the job may still do it, and writes to the database in one transaction."""

from django.utils.translation import gettext as _

from . import admin_imports, permissions, summaries
from .errors import ServiceError
from .jobs import Outcome, Progress, runner
from .models import AssessmentPeriod, Job


@runner(Job.Kind.REKAP_XLSX)
def rekap_workbook(job: Job, progress: Progress) -> Outcome:
    from .views.exports import organisation_workbook  # the page's own export code

    # Admins export the whole organisation, office admins their own units (organisation_for_user).
    if not (permissions.is_admin(job.started_by) or permissions.is_office_admin(job.started_by)):
        raise ServiceError(_("Only admins may export the organisation roll-up."), code="not_admin")
    filename, content = organisation_workbook(job.started_by, job.params.get("query", ""), progress)
    return Outcome(summary=_("The recap workbook is ready."), filename=filename, content=content)


def _import(job: Job, progress: Progress) -> Outcome:
    kind = admin_imports.KINDS[job.params["model"]]
    token = job.params["token"]
    scope = permissions.managed_units(job.started_by)  # an office admin's units, checked again
    try:
        data = admin_imports.pending_file(token).read_bytes()
        result = kind.read(data, job.params.get("name", ""), scope=scope)
        if not result.ok:  # the database changed since the preview
            raise ServiceError(
                _("The file no longer passes the checks (the data changed since the preview): %(count)s problem(s). Upload it again to see them.")
                % {"count": len(result.errors) + len(result.file_errors)},
                code="changed_meanwhile",
            )
        progress(0, len(result.rows))
        summary = kind.write(rows=result.rows, actor=job.started_by, scope=scope)
    finally:
        admin_imports.pending_file(token).unlink(missing_ok=True)
    return Outcome(summary=admin_imports.finished_message(summary))


@runner(Job.Kind.IMPORT_STAFF)
def staff_import(job: Job, progress: Progress) -> Outcome:
    if not job.started_by.has_perm("assessments.add_employee"):
        raise ServiceError(_("You may no longer import staff."), code="not_allowed")
    return _import(job, progress)


@runner(Job.Kind.IMPORT_UNITS)
def units_import(job: Job, progress: Progress) -> Outcome:
    if not job.started_by.has_perm("assessments.add_workunit"):
        raise ServiceError(_("You may no longer import work units."), code="not_allowed")
    return _import(job, progress)


@runner(Job.Kind.SUMMARY_REBUILD)
def summary_rebuild(job: Job, progress: Progress) -> Outcome:
    if not job.started_by.is_superuser:
        raise ServiceError(_("Only a superuser may rebuild the summaries."), code="not_allowed")
    period = AssessmentPeriod.objects.get(pk=job.params["period"])
    if period.status != AssessmentPeriod.Status.OPEN:
        raise ServiceError(_("Only an open period's summaries are rebuilt here; a closed period's figures are final."), code="closed")
    progress(0, 1)
    summaries.summary_rebuild(period=period)
    return Outcome(summary=_("The summaries of %(period)s were recomputed from the assessments.") % {"period": period})

"""The pages of a background job (jobs.py): its progress (a bar that updates, and a page that
refreshes itself without JavaScript), its JSON status for the bar, its download, and the list of
one's own jobs. Only the person who started a job, and admins, see it; anyone else gets 404."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from .. import jobs
from ..models import Job


def _job(request, pk: int) -> Job:
    job = get_object_or_404(Job.objects.select_related("started_by"), pk=pk)
    if not jobs.can_see(request.user, job):
        raise Http404
    return job


def _status(job: Job) -> dict:
    return {
        "state": job.state,
        "state_label": str(job.get_state_display()),
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "finished": job.is_finished,
        "summary": job.summary,
        "error": job.error,
        "download": reverse("assessments:job_download", args=[job.pk]) if jobs.downloadable(job) else "",
    }


@login_required
@require_GET
def job_detail(request, pk):
    job = _job(request, pk)
    return render(request, "assessments/job.html", {"job": job, "downloadable": jobs.downloadable(job), "expired": bool(job.expires_at and not jobs.downloadable(job))})


@login_required
@require_GET
def job_status(request, pk):
    return JsonResponse(_status(_job(request, pk)))


@login_required
@require_GET
def job_download(request, pk):
    job = _job(request, pk)
    if not jobs.downloadable(job):
        raise Http404
    try:
        handle = job.result.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(handle, as_attachment=True, filename=job.result_name)


@login_required
@require_GET
def job_list(request):
    mine = Job.objects.filter(started_by=request.user).order_by("-created_at", "-id")[:30]
    return render(request, "assessments/job_list.html", {"jobs": mine})

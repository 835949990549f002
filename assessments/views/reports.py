"""The PDF documents (reports.py): a unit's report for whoever may see its dashboard, the whole
organisation's as a background job for admins, a person's receipt of their own submission, and
the public page that confirms a receipt by its code."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from .. import permissions, reports
from ..db_router import dashboard_reads
from ..errors import ServiceError
from ..models import Job
from .exports import organisation_job
from .self_assessment import result_context


@login_required
@require_GET
@dashboard_reads
def unit_report(request, code):
    context = reports.unit_report_context(request, code)
    try:
        content = reports.pdf_bytes("assessments/pdf/unit_report.html", context)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(f"{reverse('assessments:dashboard', args=[context['unit'].code])}?periode={context['period'].code}")
    return reports.pdf_response(content, f"laporan_{context['unit'].code}_{context['period'].code}.pdf")


@login_required
def organisation_reports(request):
    """The whole organisation's report of the period chosen on the Rekap, as a background job."""
    return organisation_job(request, Job.Kind.REPORTS_PDF, lambda choice: {"period": request.POST.get("periode") or choice["period"].code})


@login_required
@require_GET
def receipt_pdf(request, pk):
    """The person's own receipt: nobody else's, and only of a submitted assessment."""
    assessment = permissions.get_assessment_for_user(request.user, pk)
    if assessment.employee.user_id != request.user.pk or not assessment.is_counted or assessment.period.answers_deleted:
        raise Http404
    receipt = reports.receipt_issue(assessment)
    context = result_context(request, assessment) | {
        "receipt": receipt,
        "verify_url": request.build_absolute_uri(reverse("assessments:receipt_verify", args=[receipt.code])),
        "made_at": timezone.localtime(),
    }
    try:
        content = reports.pdf_bytes("assessments/pdf/receipt.html", context)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("assessments:result", pk=assessment.pk)
    return reports.pdf_response(content, f"bukti-penilaian_{assessment.period.code}_{receipt.code}.pdf")


@require_GET
def receipt_verify(request, receipt_code):
    """Public: is there such a receipt? Name, period, index and dates; never the answers."""
    found = reports.receipt_lookup(receipt_code)
    context = {"found": found, "code": receipt_code[:20]}
    response = render(request, "assessments/receipt_verify.html", context, status=200 if found else 404)
    response["X-Robots-Tag"] = "noindex"
    return response

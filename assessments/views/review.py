"""Supervisors review a submitted assessment: the review page, then one POST-only view per
decision (approve, or return with a note)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .. import permissions, privacy, services
from ..forms import ReturnForm
from ..models import AccessLog
from .self_assessment import result_context


def _back_to_list(request, assessment) -> str:
    """The list the reviewer came from (its unit, period, filters and page travel in
    `kembali`), or the staff list of the assessment's unit. Only an address of the unit
    pages on this site is followed."""
    back = request.POST.get("kembali") or request.GET.get("kembali") or ""
    if back.startswith(reverse("assessments:dashboard_home")) and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return back
    return reverse("assessments:staff", args=[assessment.unit.code])


def _review_page(request, assessment, return_form, status=200):
    context = result_context(request, assessment)
    context |= {
        "review": True,
        "return_form": return_form,
        "reviewable": permissions.can_approve(request.user, assessment),
        "returnable": permissions.can_return(request.user, assessment),
        "back": _back_to_list(request, assessment),
    }
    return render(request, "assessments/result.html", context, status=status)


@login_required
@require_GET
def assessment_review(request, pk):
    assessment = permissions.get_assessment_for_reviewer(request.user, pk)
    privacy.access_record(viewer=request.user, action=AccessLog.Action.REVIEW, assessment=assessment)
    return _review_page(request, assessment, ReturnForm())


@login_required
@require_POST
def assessment_approve(request, pk):
    assessment = permissions.get_assessment_for_reviewer(request.user, pk)
    back = _back_to_list(request, assessment)  # read before deciding: a broken form changes nothing
    try:
        services.assessment_approve(assessment=assessment, reviewer=request.user)
    except services.ServiceError as error:
        messages.error(request, error.message)
        return redirect("assessments:review", assessment.pk)
    messages.success(request, _("Approved: %(name)s, %(period)s.") % {"name": assessment.employee.full_name, "period": assessment.period})
    return redirect(back)


@login_required
@require_POST
def assessment_return(request, pk):
    assessment = permissions.get_assessment_for_reviewer(request.user, pk)
    back = _back_to_list(request, assessment)
    form = ReturnForm(request.POST)
    if not form.is_valid():
        return _review_page(request, assessment, form, status=400)
    try:
        services.assessment_return(assessment=assessment, reviewer=request.user, note=form.cleaned_data["note"])
    except services.ServiceError as error:
        messages.error(request, error.message)
        return redirect("assessments:review", assessment.pk)
    messages.success(request, _("Returned to %(name)s with your note.") % {"name": assessment.employee.full_name})
    return redirect(back)

"""Supervisors review a submitted assessment: approve it, or return it with a note."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from .. import permissions, privacy, services
from ..forms import ReturnForm
from ..models import AccessLog
from .self_assessment import result_context


@login_required
def assessment_review(request, pk):
    assessment = permissions.get_assessment_for_reviewer(request.user, pk)
    return_form = ReturnForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                services.assessment_approve(assessment=assessment, reviewer=request.user)
                messages.success(request, _("Approved: %(name)s, %(period)s.") % {"name": assessment.employee.full_name, "period": assessment.period})
                return redirect("assessments:staff", assessment.unit.code)
            if action == "return":
                return_form = ReturnForm(request.POST)
                if return_form.is_valid():
                    services.assessment_return(assessment=assessment, reviewer=request.user, note=return_form.cleaned_data["note"])
                    messages.success(request, _("Returned to %(name)s with your note.") % {"name": assessment.employee.full_name})
                    return redirect("assessments:staff", assessment.unit.code)
            else:
                messages.error(request, _("Choose approve or return."))
        except services.ServiceError as error:
            messages.error(request, error.message)
            return redirect("assessments:review", assessment.pk)
        status = 400
    else:
        privacy.access_record(viewer=request.user, action=AccessLog.Action.REVIEW, assessment=assessment)
        status = 200
    context = result_context(request, assessment)
    context |= {
        "review": True,
        "return_form": return_form,
        "reviewable": permissions.can_approve(request.user, assessment),
    }
    return render(request, "assessments/result.html", context, status=status)

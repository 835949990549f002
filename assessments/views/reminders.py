"""A head of unit sends a reminder to the staff of the unit who have not started."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from .. import permissions, reminders, services
from ..models import AssessmentPeriod


@login_required
@require_POST
def unit_remind(request, code):
    unit = permissions.get_unit_for_user(request.user, code)
    period = AssessmentPeriod.objects.filter(status=AssessmentPeriod.Status.OPEN).first()
    if period is None:
        messages.error(request, _("No assessment period is open at the moment."))
        return redirect("assessments:staff", unit.code)
    try:
        count = reminders.unit_remind(unit=unit, period=period, sender=request.user)
    except services.ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            ngettext(
                "Reminder sent to %(n)s person of %(unit)s who has not started.",
                "Reminder sent to %(n)s people of %(unit)s who have not started.",
                count,
            )
            % {"n": count, "unit": unit.name},
        )
    return redirect("assessments:staff", unit.code)

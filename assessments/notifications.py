"""E-mails about assessments. Sent after the transaction commits, never inside it; a mail
server that is down is logged and does not undo the change. The e-mails about one assessment
go through the task queue (`send_after_commit`): the worker sends them, so that no request waits
for the mail server."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from .models import Employee, SelfAssessment, SupervisorAssignment, WorkUnit

logger = logging.getLogger(__name__)


def _link(name: str, *args) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name, args=args)


def _send(subject_template: str, body_template: str, context: dict, recipients: list[str]) -> None:
    recipients = [address for address in recipients if address]
    if not recipients:
        return
    # Mails go out in Indonesian, the organisation's language, whatever the actor's UI language.
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(subject_template, context).strip()
        body = render_to_string(body_template, context)
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # noqa: BLE001 - a mail outage must not fail the request
        logger.exception("could not send %s", subject_template)


def nearest_supervisors(employee: Employee, unit: WorkUnit) -> list[Employee]:
    """Return the heads of the closest unit, from `unit` upwards, that has a head other than
    the person (a supervisor's own assessment goes to the level above). One query."""
    heads = list(
        SupervisorAssignment.objects.filter(unit__path__in=WorkUnit.chain_paths(unit.path), employee__is_active=True)
        .exclude(employee=employee)
        .select_related("employee__user", "unit")
    )
    if not heads:
        return []
    deepest = max(len(head.unit.path) for head in heads)
    return [head.employee for head in heads if len(head.unit.path) == deepest]


def assessment_submitted(assessment: SelfAssessment) -> None:
    """Ask the nearest heads of unit to review, in a reviewed period: a confidential one has no
    review step, and they never see the assessment."""
    if assessment.period.is_confidential:
        return
    supervisors = nearest_supervisors(assessment.employee, assessment.unit)
    context = {"assessment": assessment, "link": _link("assessments:review", assessment.pk)}
    _send(
        "assessments/email/submitted_subject.txt",
        "assessments/email/submitted.txt",
        context,
        [s.user.email for s in supervisors],
    )


def assessment_returned(assessment: SelfAssessment) -> None:
    context = {"assessment": assessment, "link": _link("assessments:form", assessment.period.code)}
    _send("assessments/email/returned_subject.txt", "assessments/email/returned.txt", context, [assessment.employee.user.email])


def evidence_requested(assessment: SelfAssessment) -> None:
    """The internal assessment team asks the person for evidence (verification)."""
    context = {"assessment": assessment, "link": _link("assessments:result", assessment.pk)}
    _send(
        "assessments/email/evidence_requested_subject.txt",
        "assessments/email/evidence_requested.txt",
        context,
        [assessment.employee.user.email],
    )


def assessment_approved(assessment: SelfAssessment) -> None:
    context = {"assessment": assessment, "link": _link("assessments:result", assessment.pk)}
    _send("assessments/email/approved_subject.txt", "assessments/email/approved.txt", context, [assessment.employee.user.email])


def staff_reminded(*, period, employees) -> None:
    """One e-mail to each person (never one with every address in it) that the period is open
    and they have not started."""
    link = _link("assessments:form", period.code)
    for employee in employees:
        context = {"employee": employee, "period": period, "days": max(period.days_left(), 1), "link": link}
        _send("assessments/email/reminder_subject.txt", "assessments/email/reminder.txt", context, [employee.user.email])


# The e-mails about one assessment, by the name the task queue carries.
ABOUT_AN_ASSESSMENT = {
    "submitted": assessment_submitted,
    "returned": assessment_returned,
    "approved": assessment_approved,
    "evidence_requested": evidence_requested,
}


def send_after_commit(kind: str, assessment: SelfAssessment) -> None:
    """Send the e-mail `kind` about `assessment` once the transaction commits: handed to the
    worker (tasks.assessment_mail) when there is one (CELERY_BROKER_URL), sent in this process
    otherwise (the demo, the tests). A broker that does not answer costs the e-mail's delay, not
    the request: it is then sent from here."""
    from . import tasks  # tasks imports the modules that import this one

    def send():
        if settings.CELERY_TASK_ALWAYS_EAGER:
            ABOUT_AN_ASSESSMENT[kind](assessment)
            return
        try:
            tasks.assessment_mail.delay(kind, assessment.pk)
        except Exception:  # noqa: BLE001 - the change is committed; the e-mail still goes
            logger.warning("the task queue did not take the %s e-mail of assessment %s; sent from the request", kind, assessment.pk)
            ABOUT_AN_ASSESSMENT[kind](assessment)

    transaction.on_commit(send)


def assessment_mail(kind: str, pk: int) -> None:
    """The worker's side of send_after_commit: the assessment as it is now (gone: no e-mail)."""
    assessment = SelfAssessment.objects.select_related("period", "unit", "employee__user", "employee__unit").filter(pk=pk).first()
    if assessment is not None:
        ABOUT_AN_ASSESSMENT[kind](assessment)

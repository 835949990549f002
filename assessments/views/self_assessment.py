"""Staff: my assessments, the questionnaire, submission, results, my data."""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import notices, permissions, privacy, retention, services, structure, verification
from ..exports import csv_response
from ..forms import AssessmentForm, SubmitForm
from ..models import (
    COUNTED_STATES,
    AccessLog,
    AssessmentPeriod,
    AssessmentState,
    PrivacyAcknowledgement,
    Rating,
    SelfAssessment,
)
from ..scoring import one_decimal
from ..validators import evidence_content_type, evidence_download_name


def _employee(user):
    employee = permissions.employee_of(user)
    if employee is None:
        raise Http404
    return employee


def _get_own_period(user, code: str):
    """Return (employee, period) for the user's own assessment of a period that has opened."""
    employee = _employee(user)
    fields = AssessmentPeriod.code_fields(code)
    if fields is None:
        raise Http404
    period = get_object_or_404(AssessmentPeriod.objects.exclude(status=AssessmentPeriod.Status.PLANNED), **fields)
    return employee, period


@login_required
def my_assessments(request):
    employee = _employee(request.user)
    period = AssessmentPeriod.objects.filter(status=AssessmentPeriod.Status.OPEN).first()
    history = list(
        SelfAssessment.objects.filter(employee=employee)
        .select_related("period")
        .annotate(answered=Count("ratings", filter=Q(ratings__score__isnull=False)))
        .order_by("-period__year", "-period__quarter")
    )
    current = next((a for a in history if period and a.period_id == period.pk), None)
    total = sum(len(p.indicators.all()) for p in period.questionnaire()) if period else 0
    # An assessment whose answers were deleted under the retention rule has no index left.
    counted = [a for a in reversed(history) if a.is_counted and not a.period.answers_deleted]
    return render(
        request,
        "assessments/my_assessments.html",
        {
            "employee": employee,
            "period": period,
            "current": current,
            "total": total,
            "accepts_entries": period.accepts_entries() if period else False,
            "starts_later": period.starts_later() if period else False,
            "history": [a for a in history if a is not current],
            # The person's own index over the periods, oldest first: a chart, and the same
            # figures as text for reading without JavaScript or a screen.
            "trend_points": [(a.period, a.index_score) for a in counted],
            "trend_chart": {
                "labels": [str(a.period) for a in counted],
                "scores": [float(one_decimal(a.index_score)) for a in counted],
                "label": _("Integrity index"),
            }
            if len(counted) > 1
            else None,
        },
    )


def _form_for(request, *, period, assessment, data=None, files=None, require_complete=False, with_files=True):
    stored = {r.indicator_id: r for r in assessment.ratings.all()} if assessment else {}
    return AssessmentForm(
        data,
        files,
        with_files=with_files,
        questionnaire=period.questionnaire(),
        stored=stored,
        version=assessment.version if assessment else 0,
        read_only=not (assessment.is_editable() if assessment else period.accepts_entries()),
        require_complete=require_complete,
    )


def _with_version(post, version: int):
    data = post.copy()
    data["version"] = str(version)
    return data


def _autosave_reply(form, assessment=None, *, status=200, message=""):
    payload = {"ok": status == 200, "message": message, "total": len(form.indicators)}
    if assessment is not None:
        payload |= {
            "version": assessment.version,
            "saved_at": timezone.localtime(assessment.updated_at).strftime("%H:%M"),
            "answered": form.answered_count(),
        }
    if form.errors:
        payload["errors"] = {field: [str(e) for e in errors] for field, errors in form.errors.items()}
    return JsonResponse(payload, status=status)


@dataclass
class _Saved:
    """The outcome of saving the posted answers: the assessment as saved (status 200), or the
    reason nothing was saved (400: an answer is not valid; 409: refused or stale)."""

    form: AssessmentForm
    assessment: SelfAssessment | None
    status: int = 200
    message: str = ""
    stale: bool = False


def _save_posted(request, employee, period, assessment, *, files=None) -> _Saved:
    """Save the answers posted to the form or to autosave (one implementation for both)."""
    # Autosave (files=None) carries no file: its form has no file fields to build.
    form = _form_for(request, period=period, assessment=assessment, data=request.POST, files=files, with_files=files is not None)
    if form.read_only:
        return _Saved(form, assessment, 409, services.editability_message(assessment, period))
    if not form.is_valid():
        return _Saved(form, assessment, 400, _("Some answers are not valid; they were not saved."))
    try:
        saved = services.assessment_save_draft(
            employee=employee, period=period, answers=form.answers(), version=form.cleaned_data["version"], actor=request.user
        )
    except services.StaleDraft as error:
        return _Saved(form, assessment, 409, error.message, stale=True)
    except services.ServiceError as error:
        return _Saved(form, assessment, 409, error.message)
    _keep_opened(request, period, saved)
    return _Saved(form, saved)


def _opened_key(period) -> str:
    return f"form_opened:{period.pk}"


def _note_opened(request, period, assessment) -> None:
    """Remember when the person first opened the form of the period (credibility.too_fast):
    on the assessment once it exists, in the session until the first save makes it."""
    if assessment is None:
        request.session.setdefault(_opened_key(period), timezone.now().isoformat())
    elif assessment.form_opened_at is None:
        SelfAssessment.objects.filter(pk=assessment.pk, form_opened_at__isnull=True).update(form_opened_at=timezone.now())


def _keep_opened(request, period, assessment) -> None:
    """On the save that made the draft: the moment the form was first opened, from the session."""
    if assessment.form_opened_at is None:
        opened = request.session.pop(_opened_key(period), None)
        moment = datetime.datetime.fromisoformat(opened) if opened else timezone.now()
        SelfAssessment.objects.filter(pk=assessment.pk, form_opened_at__isnull=True).update(form_opened_at=moment)
        assessment.form_opened_at = moment


def _own_assessment(employee, period) -> SelfAssessment | None:
    return SelfAssessment.objects.filter(employee=employee, period=period).select_related("period").first()


@login_required
@require_POST
def assessment_autosave(request, period_code):
    """Save the draft in the background (JavaScript), answering JSON; files go with the form's
    buttons only."""
    employee, period = _get_own_period(request.user, period_code)
    saved = _save_posted(request, employee, period, _own_assessment(employee, period))
    return _autosave_reply(saved.form, saved.assessment if saved.status == 200 else None, status=saved.status, message=saved.message)


@login_required
def assessment_form(request, period_code):
    employee, period = _get_own_period(request.user, period_code)
    assessment = _own_assessment(employee, period)
    if assessment and assessment.is_counted:
        return redirect("assessments:result", assessment.pk)
    if request.method != "POST":
        # Told who sees the answers before answering. Saves (POST) are not sent away: a form
        # opened before the notice existed keeps what was typed.
        if privacy.notice_needed(request.user, period):
            return redirect("assessments:privacy_notice", period.code)
        _note_opened(request, period, assessment)
        return _render_form(request, period, assessment, _form_for(request, period=period, assessment=assessment))
    saved = _save_posted(request, employee, period, assessment, files=request.FILES)
    if saved.stale:
        # Keep what the person typed on screen; saving again now overwrites the other tab.
        current = SelfAssessment.objects.get(employee=employee, period=period)
        form = _form_for(request, period=period, assessment=current, data=_with_version(request.POST, current.version))
        form.is_valid()
        messages.warning(request, saved.message)
        return _render_form(request, period, current, form, status=409)
    if saved.status != 200:
        if saved.status == 409:
            messages.error(request, saved.message)
        return _render_form(request, period, assessment, saved.form, status=saved.status)
    assessment = saved.assessment
    if request.POST.get("action") == "submit":
        # The rule is services.assessment_check_complete, on what was just saved; the form is
        # built a second time (to mark what is missing) only when something is.
        if services.assessment_check_complete(assessment=assessment):
            check = _form_for(
                request, period=period, assessment=assessment, data=_with_version(request.POST, assessment.version), require_complete=True
            )
            check.is_valid()
            messages.warning(request, _("Your draft is saved. Complete the marked answers before submitting."))
            return _render_form(request, period, assessment, check, status=400)
        return redirect("assessments:confirm", period.code)
    messages.success(request, _("Draft saved at %(time)s.") % {"time": timezone.localtime(assessment.updated_at).strftime("%H:%M")})
    return redirect("assessments:form", period.code)


def _render_form(request, period, assessment, form, status=200):
    missing = form.missing()
    return render(
        request,
        "assessments/form.html",
        {
            "period": period,
            "assessment": assessment,
            "form": form,
            "answered": form.answered_count(),
            "total": len(form.indicators),
            "max_upload_mb": settings.EVIDENCE_MAX_BYTES / 1048576,
            "read_only_message": services.editability_message(assessment, period) if form.read_only else "",
            "missing": missing,
            "missing_unanswered": sum(1 for item in missing if item["unanswered"]),
            "missing_notes": sum(1 for item in missing if not item["unanswered"]),
            "privacy_min": settings.PRIVACY_MIN_GROUP,
        },
        status=status,
    )


@login_required
def privacy_notice(request, period_code):
    """Who sees the answers of this period, why, and how long they are kept; the button records
    that the person read it (once per period) and takes them to the form."""
    _employee, period = _get_own_period(request.user, period_code)
    if request.method == "POST":
        privacy.notice_acknowledge(user=request.user, period=period)
        return redirect("assessments:form", period.code)
    return render(
        request,
        "assessments/privacy_notice.html",
        {"period": period, "privacy_min": settings.PRIVACY_MIN_GROUP, "retention_years": settings.RETENTION_YEARS},
    )


@login_required
def assessment_confirm(request, period_code):
    employee, period = _get_own_period(request.user, period_code)
    assessment = SelfAssessment.objects.filter(employee=employee, period=period).select_related("period", "employee").first()
    if assessment is None:
        return redirect("assessments:form", period.code)
    if assessment.state in COUNTED_STATES:
        messages.info(request, _("This assessment has already been submitted."))
        return redirect("assessments:result", assessment.pk)
    if request.method == "POST":
        form = SubmitForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("The confirmation form was incomplete. Please confirm again."))
            return redirect("assessments:confirm", period.code)
        try:
            submitted = services.assessment_submit(assessment=assessment, version=form.cleaned_data["version"], actor=request.user)
        except services.ServiceError as error:
            messages.error(request, error.message)
            return redirect("assessments:form", period.code)
        notices.deadline_forget(request)  # the banner goes at once
        if submitted:
            messages.success(request, _("Thank you: your self-assessment has been submitted."))
        else:
            messages.info(request, _("This assessment has already been submitted."))
        return redirect("assessments:result", assessment.pk)

    if not assessment.is_editable():
        messages.error(request, services.editability_message(assessment))
        return redirect("assessments:form", period.code)
    if services.assessment_check_complete(assessment=assessment):
        messages.warning(request, services.ServiceError.error_messages["incomplete"])
        return redirect("assessments:form", period.code)
    sheet = services.assessment_preview(assessment=assessment)
    pillars = [(pillar, sheet.pillar_scores[pillar.pk]) for pillar in period.questionnaire()]
    return render(
        request,
        "assessments/confirm.html",
        {"period": period, "assessment": assessment, "sheet": sheet, "pillars": pillars, "form": SubmitForm(initial={"version": assessment.version})},
    )


@login_required
def assessment_result(request, pk):
    assessment = permissions.get_assessment_for_user(request.user, pk)
    is_owner = assessment.employee.user_id == request.user.pk
    if assessment.state == AssessmentState.DRAFT or (is_owner and assessment.state == AssessmentState.RETURNED):
        return redirect("assessments:form", assessment.period.code)
    privacy.access_record(viewer=request.user, action=AccessLog.Action.VIEW, assessment=assessment)
    return render(request, "assessments/result.html", result_context(request, assessment))


def result_context(request, assessment: SelfAssessment) -> dict:
    """What the result page shows (also the body of the review page): scores, chart, change
    against the person's previous period, the unit's mean (privacy threshold), the answers."""
    period = assessment.period
    questionnaire = period.questionnaire()
    scores = {ps.pillar_id: ps.score for ps in assessment.pillar_scores.all()}
    previous_period = period.previous()
    previous = None
    previous_scores = {}
    if previous_period and not previous_period.answers_deleted:
        previous = (
            SelfAssessment.objects.filter(employee=assessment.employee, period=previous_period, state__in=COUNTED_STATES)
            .select_related("employee", "unit")
            .first()
        )
        # The change against the previous period gives that assessment away: it is shown only
        # to someone who may see that assessment too (made in another unit, it may not be).
        if previous and not permissions.can_view_assessment(request.user, previous):
            previous = None
        if previous:
            previous_scores = {ps.pillar.pillar_id: ps.score for ps in previous.pillar_scores.select_related("pillar")}
    pillars = []
    for pillar in questionnaire:
        score = scores.get(pillar.pk)
        before = previous_scores.get(pillar.pillar_id)
        pillars.append({"pillar": pillar, "score": score, "change": score - before if score is not None and before is not None else None})
    chart = {
        "labels": [p["pillar"].localized("name") for p in pillars],
        "scores": [float(one_decimal(p["score"])) if p["score"] is not None else None for p in pillars],
        "label": _("Pillar score"),
    }
    return {
        "assessment": assessment,
        "period": period,
        "is_owner": assessment.employee.user_id == request.user.pk,
        "pillars": pillars,
        "questionnaire": questionnaire,
        "ratings": {r.indicator_id: r for r in assessment.ratings.all()},
        "previous": previous,
        "index_change": assessment.index_score - previous.index_score if previous and assessment.index_score is not None else None,
        "unit_mean": privacy.unit_mean_for_staff(unit=assessment.unit, period=period),
        "privacy_min": settings.PRIVACY_MIN_GROUP,
        "chart": chart,
        "events": assessment.events.select_related("actor").all(),
        "can_review": permissions.can_approve(request.user, assessment),
        # The person's own verification (the team's page has its own view of it).
        "checked": verification.person_view(assessment) if assessment.employee.user_id == request.user.pk else None,
    }


@login_required
def evidence_download(request, pk):
    rating = permissions.get_rating_for_user(request.user, pk)
    if not rating.evidence:
        raise Http404
    privacy.access_record(viewer=request.user, action=AccessLog.Action.EVIDENCE, assessment=rating.assessment)
    try:
        handle = rating.evidence.open("rb")
    except FileNotFoundError:
        raise Http404
    name = evidence_download_name(stored=rating.evidence.name, original=rating.evidence_name)
    return FileResponse(handle, as_attachment=True, filename=name, content_type=evidence_content_type(name))


@login_required
def my_data(request):
    employee = _employee(request.user)
    assessments = (
        SelfAssessment.objects.filter(employee=employee)
        .select_related("period", "unit")
        .annotate(unit_then=structure.unit_name_then())
        .order_by("-period__year", "-period__quarter")
    )
    accesses = privacy.accesses_of(employee).select_related("viewer", "unit", "period")[:50]
    acknowledgements = PrivacyAcknowledgement.objects.filter(user=request.user).select_related("period")
    return render(
        request,
        "assessments/my_data.html",
        {"employee": employee, "assessments": assessments, "accesses": accesses, "acknowledgements": acknowledgements},
    )


@login_required
def my_data_csv(request):
    """Every assessment and rating of the user as CSV (UU PDP 27/2022: right of access); an
    assessment whose answers were deleted under the retention rule is one row that says so."""
    employee = _employee(request.user)
    answers_deleted = (
        SelfAssessment.objects.filter(employee=employee, period__personal_data_removed_at__isnull=False)
        .select_related("period")
        .annotate(unit_then=structure.unit_name_then())
        .order_by("period__year", "period__quarter")
    )
    ratings = (
        Rating.objects.filter(assessment__employee=employee)
        .select_related("assessment__period", "assessment__unit", "indicator__pillar", "indicator__indicator")
        .annotate(unit_then=structure.rating_unit_name_then())
        .order_by("assessment__period__year", "assessment__period__quarter", "indicator__pillar__order", "indicator__order")
    )
    header = [
        _("NIP"), _("Name"), _("Period"), _("State"), _("Work unit"), _("Integrity index"), _("Grade"),
        _("Submitted at"), _("Pillar"), _("Indicator code"), _("Statement"), _("Rating"), _("Note"), _("Evidence file"),
    ]

    def rows():
        # The oldest periods: their rows come first, as the ratings run from old to new.
        for a in answers_deleted:
            yield [
                employee.nip, employee.full_name, a.period.code, a.get_state_display(), a.unit_then, "", "",
                timezone.localtime(a.submitted_at).replace(tzinfo=None) if a.submitted_at else "",
                "", "", "", "", retention.answers_deleted_notice(period=a.period), "",
            ]
        for rating in ratings.iterator(chunk_size=500):
            a = rating.assessment
            yield [
                employee.nip, employee.full_name, a.period.code, a.get_state_display(), rating.unit_then,
                one_decimal(a.index_score) if a.index_score is not None else "", a.get_grade_display(),
                timezone.localtime(a.submitted_at).replace(tzinfo=None) if a.submitted_at else "",
                rating.indicator.pillar.localized("name"), rating.indicator.indicator.code,
                rating.indicator.localized("statement"), rating.score, rating.note, rating.evidence_name,
            ]

    return csv_response(f"data-saya-{employee.nip}", header, rows())


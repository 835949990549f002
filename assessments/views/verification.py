"""The internal assessment team (Tim Penilai Internal): the queue of assessments to verify in
one's scope, the verification of one assessment (a decision per answer, saved as on the staff
form, two tabs never losing input), and the draw of a period's sample (admins, on demand)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import credibility, permissions, privacy, verification
from ..errors import ServiceError, StaleDraft
from ..forms import EvidenceField
from ..models import AccessLog, AssessmentPeriod, SelfAssessment, Verification, VerifiedRating
from .common import query_without_page

QUEUE_PAGE_SIZE = 50


def _team_member(user) -> None:
    if not (permissions.is_verifier(user) or permissions.is_admin(user)):
        raise Http404


def queue_scope(user) -> Q:
    """The verifications whose assessment's unit lies in the user's scope (admins: all)."""
    if permissions.is_admin(user):
        return Q()
    return permissions.units_q(permissions.verifier_units(user), "unit") & ~Q(assessment__employee__user=user)


def get_verification_for_user(user, pk: int) -> Verification:
    """A verification the user may work on (a team member in scope, or an admin), else 404."""
    found = get_object_or_404(
        Verification.objects.select_related("assessment__employee__user", "assessment__unit", "assessment__period", "period", "unit"),
        pk=pk,
    )
    if not (permissions.is_admin(user) or permissions.can_verify(user, found.assessment)):
        raise Http404
    return found


@login_required
def verification_queue(request):
    _team_member(request.user)
    periods = list(AssessmentPeriod.objects.exclude(status=AssessmentPeriod.Status.PLANNED).order_by("-year", "-quarter"))
    code = request.GET.get("periode", "")
    period = next((p for p in periods if p.code == code), None) or next((p for p in periods if p.is_final), None)
    rows = Verification.objects.filter(queue_scope(request.user))
    if period:
        rows = rows.filter(period=period)
    filters = {
        "state": request.GET.get("status", "") if request.GET.get("status") in Verification.State.values else "",
        "flagged": request.GET.get("tanda") == "1",
        "unit": request.GET.get("unit", "")[:40].strip(),
    }
    progress = rows.aggregate(total=Count("pk"), done=Count("pk", filter=Q(state=Verification.State.DONE)))
    if filters["state"]:
        rows = rows.filter(state=filters["state"])
    if filters["flagged"]:
        rows = rows.filter(flagged=True)
    if filters["unit"]:
        rows = rows.filter(Q(unit__code__iexact=filters["unit"]) | Q(unit__name__icontains=filters["unit"]))
    # What is still to do comes first: to verify, waiting for evidence, then verified.
    first = Case(*(When(state=state, then=Value(n)) for n, state in enumerate(Verification.State.values)), output_field=IntegerField())
    rows = rows.select_related("assessment__employee", "unit", "period").order_by(first, "unit__path", "assessment__employee__full_name")
    page = Paginator(rows, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    draws = period.draws.select_related("drawn_by") if period else []
    return render(request, "assessments/verify_queue.html", {
        "periods": periods,
        "period": period,
        "filters": filters,
        "states": Verification.State.choices,
        "progress": progress,
        "page": page,
        "query": query_without_page(request),
        "draws": draws,
        "can_draw": permissions.is_admin(request.user) and period is not None and period.is_final,
    })


@login_required
@require_POST
def sample_draw(request, period_code):
    """Admins draw (again) the sample of a closed period: the assessments not queued yet."""
    if not permissions.is_admin(request.user):
        raise PermissionDenied
    period = get_object_or_404(AssessmentPeriod, **(AssessmentPeriod.code_fields(period_code) or {"pk": None}))
    if not period.is_final:
        messages.error(request, _("A sample is drawn from a closed period."))
    else:
        draw = verification.sample_draw(period=period, actor=request.user)
        messages.success(request, _("%(n)s assessments drawn (seed %(seed)s).") % {"n": draw.drawn, "seed": draw.seed})
    return redirect(f"{_queue_url()}?periode={period.code}")


def _queue_url() -> str:
    return reverse("assessments:verify_queue")


@login_required
@require_POST
def verification_add(request):
    """A team member adds an assessment in their scope to the queue, by NIP and period."""
    _team_member(request.user)
    fields = AssessmentPeriod.code_fields(request.POST.get("periode", "")) or {"pk": None}
    assessment = SelfAssessment.objects.filter(
        employee__nip=request.POST.get("nip", "").strip()[:18], period__in=AssessmentPeriod.objects.filter(**fields)
    ).select_related("employee__user", "unit", "period").first()
    if assessment is None or not (permissions.is_admin(request.user) or permissions.can_verify(request.user, assessment)):
        messages.error(request, _("No submitted assessment of that NIP and period in your scope."))
        return redirect(_queue_url())
    try:
        found = verification.verification_add(assessment=assessment, actor=request.user)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect(_queue_url())
    return redirect("assessments:verify", found.pk)


def _posted_decisions(post, ratings) -> dict[int, tuple[str, int | None, str]]:
    decisions = {}
    for rating in ratings:
        decision = post.get(f"decision_{rating.pk}", "")
        if decision not in VerifiedRating.Decision.values:
            continue
        try:
            score = int(post.get(f"score_{rating.pk}", ""))
        except ValueError:
            score = None
        score = score if score in range(1, 6) else None
        decisions[rating.pk] = (decision, score, post.get(f"reason_{rating.pk}", "")[:2000])
    return decisions


def _items(found: Verification, ratings, posted=None) -> list[dict]:
    saved = {item.rating_id: item for item in found.items.all()}
    rows = []
    for rating in ratings:
        item = saved.get(rating.pk)
        decision, score, reason = (item.decision, item.score, item.reason) if item else ("", None, "")
        if posted and rating.pk in posted:
            decision, score, reason = posted[rating.pk]
        rows.append({"rating": rating, "decision": decision, "score": score, "reason": reason})
    return rows


def _page(request, found: Verification, posted=None, status=200):
    ratings = list(found.assessment.ratings.select_related("indicator__pillar").order_by("indicator__pillar__order", "indicator__order"))
    return render(request, "assessments/verify.html", {
        "verification": found,
        "assessment": found.assessment,
        "items": _items(found, ratings, posted),
        "decisions": VerifiedRating.Decision.choices,
        "signals": credibility.assessment_signals(found.assessment, ratings),
        "scores": range(1, 6),
        "editable": found.state != Verification.State.DONE,
    }, status=status)


@login_required
def verification_page(request, pk):
    found = get_verification_for_user(request.user, pk)
    if request.method != "POST":
        privacy.access_record(viewer=request.user, action=AccessLog.Action.VERIFY, assessment=found.assessment)
        return _page(request, found)
    ratings = list(found.assessment.ratings.all())
    posted = _posted_decisions(request.POST, ratings)
    if request.POST.get("action") == "agree_rest":  # most answers hold: agree with the rest at once
        for rating in ratings:
            posted.setdefault(rating.pk, (VerifiedRating.Decision.AGREE, None, ""))
    autosave = request.headers.get("X-Requested-With") == "fetch"
    try:
        version = int(request.POST.get("version", ""))
        found = verification.decisions_save(verification=found, version=version, decisions=posted, actor=request.user)
        if request.POST.get("action") == "complete":
            found = verification.verification_complete(verification=found, version=found.version, actor=request.user)
    except (ValueError, ServiceError) as error:
        message = error.message if isinstance(error, ServiceError) else _("The form was incomplete. Reload the page.")
        status = 409 if isinstance(error, StaleDraft) else 400
        if autosave:
            return JsonResponse({"message": message}, status=status)
        messages.error(request, message)
        found.refresh_from_db()
        return _page(request, found, posted, status=status)  # what was typed stays on screen
    if autosave:
        return JsonResponse({"version": found.version, "saved_at": timezone.localtime().strftime("%H:%M")})
    if found.state == Verification.State.DONE:
        messages.success(request, _("Verification finished: verified index %(index)s.") % {"index": f"{found.index_score:.1f}"})
        return redirect(_queue_url())
    messages.success(request, _("Decisions saved."))
    return redirect("assessments:verify", found.pk)


@login_required
@require_POST
def requested_evidence(request, pk, item_pk):
    """The owner uploads the evidence the team asked for on one answer."""
    assessment = permissions.get_assessment_for_user(request.user, pk)
    if assessment.employee.user_id != request.user.pk:
        raise Http404
    item = get_object_or_404(VerifiedRating, pk=item_pk, verification__assessment=assessment)
    field = EvidenceField(required=True)
    try:
        upload = field.clean(request.FILES.get("berkas"))
        verification.requested_evidence_add(item=item, upload=upload, actor=request.user)
    except forms.ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Evidence added. The assessment team will look at it."))
    return redirect("assessments:result", assessment.pk)

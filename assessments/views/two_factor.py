"""The two-factor pages (assessments/two_factor.py): the status page, enrolment, the code page
and new recovery codes. They belong to those `permissions.needs_second_factor` names: anyone
else gets a 404. The codes a page shows are never cached (never_cache)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render, resolve_url
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_otp.plugins.otp_static.models import StaticDevice

from .. import permissions, two_factor
from ..forms import TwoFactorCodeForm
from .common import next_address


def _user_with_second_factor(request):
    """The first line of every two-factor page: the user, or 404 for anyone who does not sign
    in with a second factor."""
    if not permissions.needs_second_factor(request.user):
        raise Http404
    return request.user


def _next(request) -> str:
    return next_address(request, request.POST.get("next") or request.GET.get("next", ""))


def _code_form(request) -> TwoFactorCodeForm:
    return TwoFactorCodeForm(request.POST) if request.method == "POST" else TwoFactorCodeForm()


def _recovery_codes_page(request, codes: list[str], next_url: str):
    """The one page that shows recovery codes: right after they are made, never again."""
    shown = [f"{code[:4]}-{code[4:]}" for code in codes]
    return render(request, "assessments/two_factor_codes.html", {"codes": shown, "next": next_url})


@login_required
@require_safe
def two_factor_status(request):
    """Whether the person has an authenticator app, since when, how many recovery codes are
    left; the ways on from there."""
    user = _user_with_second_factor(request)
    device = two_factor.totp_device_of(user)
    return render(
        request,
        "assessments/two_factor.html",
        {
            "device": device,
            "verified": user.is_verified(),
            "codes_left": two_factor.recovery_codes_left(user) if device else 0,
            "codes_total": two_factor.RECOVERY_CODE_COUNT,
            "required": settings.TWO_FACTOR_REQUIRED,
        },
    )


@login_required
@never_cache
def two_factor_enrol(request):
    """The QR code and the secret of a new authenticator app; the app's first code confirms it
    and the page shows the recovery codes. One app at a time: whoever has one is sent on (a new
    phone: an admin resets the old app first)."""
    user = _user_with_second_factor(request)
    next_url = _next(request)
    if two_factor.totp_device_of(user) is not None:
        return redirect("assessments:two_factor" if user.is_verified() else two_factor.page_with_next("assessments:two_factor_verify", next_url))
    device = two_factor.enrolment_device(user)
    form = _code_form(request)
    if form.is_valid():
        try:
            codes = two_factor.enrolment_confirm(device=device, code=form.cleaned_data["code"])
        except two_factor.CodeRefused as refused:
            form.refuse(refused)
        else:
            two_factor.session_verify(request, device)
            return _recovery_codes_page(request, codes, next_url)
    context = {
        "form": form,
        "next": next_url,
        "qr_code": two_factor.qr_code_data_uri(device),
        "secret": two_factor.secret_groups(device),
        "required": settings.TWO_FACTOR_REQUIRED,
    }
    return render(request, "assessments/two_factor_enrol.html", context)


@login_required
@never_cache
def two_factor_verify(request):
    """The code page: a code from the app, or a recovery code (used up), verifies the session
    and sends the person on to `next`."""
    user = _user_with_second_factor(request)
    next_url = _next(request)
    if user.is_verified():
        return redirect(next_url)
    if two_factor.totp_device_of(user) is None:
        return redirect(two_factor.page_with_next("assessments:two_factor_enrol", next_url))
    form = _code_form(request)
    if form.is_valid():
        try:
            device = two_factor.code_verify(user=user, code=form.cleaned_data["code"])
        except two_factor.CodeRefused as refused:
            form.refuse(refused)
        else:
            two_factor.session_verify(request, device)
            if isinstance(device, StaticDevice):
                messages.warning(request, _("You used a recovery code. Recovery codes left: %(left)d.") % {"left": two_factor.recovery_codes_left(user)})
            return redirect(next_url)
    return render(request, "assessments/two_factor_verify.html", {"form": form, "next": next_url})


@login_required
@never_cache
def two_factor_recovery(request):
    """New recovery codes: GET asks for confirmation (the old codes stop working), POST makes
    them and shows them once. Only in a session verified with the second factor."""
    user = _user_with_second_factor(request)
    if two_factor.totp_device_of(user) is None:
        return redirect("assessments:two_factor_enrol")
    if not user.is_verified():
        return redirect(two_factor.page_with_next("assessments:two_factor_verify", request.get_full_path()))
    if request.method == "POST":
        return _recovery_codes_page(request, two_factor.recovery_codes_replace(user=user), resolve_url("assessments:two_factor"))
    return render(
        request, "assessments/two_factor_recovery.html", {"codes_left": two_factor.recovery_codes_left(user), "codes_total": two_factor.RECOVERY_CODE_COUNT}
    )

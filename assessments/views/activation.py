"""The public activation page (/aktivasi/): a person with an activation letter sets their first
password with their NIP and the letter's code (activation.py), then logs in."""

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_lockout_response
from django.contrib import messages
from django.contrib.auth.signals import user_login_failed
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from .. import activation, services
from ..forms import ActivationForm


@sensitive_post_parameters("code", "new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def activate(request):
    """GET: the form. POST: a right code sets the password and sends the person to the login
    page; a wrong, used or expired one shows one message and counts as a failed login for that
    NIP and address (django-axes): after AXES_FAILURE_LIMIT of them, even a right code is
    refused until the lock ends, as on the login page."""
    form = ActivationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        # The login's lock (NIP + address), so that guessing codes and passwords share one limit.
        credentials = {"username": "".join(request.POST.get("nip", "").split())[:40]}
        if AxesProxyHandler.is_locked(request, credentials):
            return get_lockout_response(request, None, credentials)
        if form.is_valid():
            try:
                activation.activation_complete(activation=form.activation, password=form.cleaned_data["new_password1"])
            except services.ServiceError as error:  # used meanwhile, in another tab
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Your password is set. Log in with your NIP and your new password."))
                return redirect("login")
        if form.code_refused:
            # django-axes records the failure and, at the limit, answers with the lockout page.
            user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    return render(request, "registration/activate.html", {"form": form})

"""Signing in by SSO (OpenID Connect): mozilla-django-oidc's two views, answering 404 while SSO
is off, with the provider's endpoints from its discovery document (assessments/sso.py) and every
callback seen by django-axes."""

import time

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.signals import user_login_failed
from django.http import Http404
from django.shortcuts import redirect
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from .. import sso


class SSOView:
    """404 while SSO is off; a refusal goes back to the login page with its reason."""

    def dispatch(self, request, *args, **kwargs):
        if not sso.oidc_enabled():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def refused(self, reason: str):
        messages.error(self.request, sso.REFUSALS[reason])
        return redirect("login")


class AuthenticateView(SSOView, OIDCAuthenticationRequestView):
    """/oidc/authenticate/?next=…: off to the provider's sign-in page (code flow with PKCE)."""

    def __init__(self, **kwargs):
        # mozilla-django-oidc's own __init__ reads the endpoint, before dispatch() could answer
        # 404: get() reads it instead (View's __init__ only keeps the keyword arguments).
        super(OIDCAuthenticationRequestView, self).__init__(**kwargs)

    def get(self, request):
        try:
            self.OIDC_OP_AUTH_ENDPOINT = sso.provider_endpoint("authorization_endpoint")
        except sso.ProviderUnavailable:
            return self.refused("unreachable")
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class CallbackView(SSOView, OIDCAuthenticationCallbackView):
    """/oidc/callback/?code=…&state=…: the provider sends the person back here. The code is
    exchanged for tokens (NipOIDCBackend), and the employee of the NIP claim is logged in.

    Every refusal but the provider's own (the person cancelled there) is a failed login for
    django-axes under sso.SSO_ATTEMPT from this address; once that is locked out, the callback
    answers with the lockout page before trying anything."""

    def get(self, request):
        attempt = {"username": sso.SSO_ATTEMPT}
        if not AxesProxyHandler.is_allowed(request, attempt):
            return sso.lockout_response(request, credentials=attempt)
        pending = request.session.get("oidc_states", {}).pop(request.GET.get("state", ""), None)
        request.session.modified = True  # a state is used once, whatever happens next
        if request.GET.get("error"):
            return self.refused("provider_refused")
        if pending is None or not request.GET.get("code"):
            user_login_failed.send(sender=__name__, credentials=attempt, request=request)
            return self.refused("expired")
        try:
            self.user = auth.authenticate(request, **attempt, nonce=pending["nonce"], code_verifier=pending.get("code_verifier"))
        except sso.ProviderUnavailable:
            return self.refused("unreachable")
        if self.user is None:
            return self.refused(getattr(request, "sso_refusal", "failed"))
        response = self.login_success()
        self.request.session["started_at"] = time.time()  # sessions end 12 hours after this
        return response

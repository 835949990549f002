"""Signing in other than with a password kept here: OpenID Connect (SSO), and the LOCAL_LOGIN
switch that keeps Django's own password check for superusers only (README "Signing in: SSO").

SSO is on when OIDC_ISSUER and OIDC_RP_CLIENT_ID are set (`oidc_enabled`). The provider's
endpoints come from its discovery document, fetched at the first sign-in and cached
(`provider_configuration`). A person is matched to an active employee by the NIP claim
(`NipOIDCBackend`); the views are in views/sso.py.

django-axes sees every SSO callback: a refused one is a failed login under the name
`SSO_ATTEMPT` from the caller's address, and an address locked out under that name gets the
lockout page at the callback (views/sso.py).
"""

import hashlib
import logging
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.shortcuts import render, resolve_url
from django.utils.translation import gettext_lazy as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .models import Employee
from .validators import validate_nip

logger = logging.getLogger(__name__)

# The user name under which django-axes counts refused SSO callbacks (with the address): no
# Django user name can hold parentheses, so it never stands for a person's password attempts.
SSO_ATTEMPT = "(sso)"

# Why an SSO sign-in was refused: the message the person reads on the login page.
REFUSALS = {
    "unknown_nip": _(
        "Your SSO account is not linked to an active employee in this application: no active employee record has "
        "the NIP that your sign-in portal sent. Ask the HR office (Admin Kepegawaian) to check your NIP."
    ),
    "no_nip": _(
        "Your sign-in portal did not send a NIP, so this application cannot tell who you are. "
        "Ask the IT office to have the portal send the NIP to this application."
    ),
    "expired": _("The SSO sign-in could not be completed: its link expired or was already used. Click “Sign in with SSO” again."),
    "failed": _(
        "The answer of the sign-in portal could not be verified. Try “Sign in with SSO” again; if it keeps failing, tell the IT office."
    ),
    "provider_refused": _("The sign-in portal did not sign you in (cancelled or refused). You can try again."),
    "unreachable": _("The sign-in portal cannot be reached right now. Try again in a few minutes."),
}


class ProviderUnavailable(Exception):
    """The provider cannot be reached, or its discovery document is unusable."""


def oidc_enabled() -> bool:
    """Whether SSO is configured: an issuer and a client id."""
    return bool(settings.OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID)


def local_login_allowed(user) -> bool:
    """Whether `user` may log in with a password kept by this app (LOCAL_LOGIN)."""
    return settings.LOCAL_LOGIN == "all" or user.is_superuser


def password_form_for_superusers_only() -> bool:
    """Whether the login page's password form serves superusers only, everyone else signing in
    by SSO: what the login page and its error say. Not with LDAP on: the form then serves
    everyone with a directory account."""
    return settings.LOCAL_LOGIN == "superusers" and oidc_enabled() and settings.LDAP_BACKEND not in settings.AUTHENTICATION_BACKENDS


def provider_configuration() -> dict:
    """The provider's discovery document (<issuer>/.well-known/openid-configuration), fetched
    once and kept OIDC_DISCOVERY_SECONDS in the cache. Raises ProviderUnavailable."""
    issuer = settings.OIDC_ISSUER
    configuration = cache.get(discovery_key(issuer))
    if configuration is None:
        configuration = _discover(issuer)
        cache.set(discovery_key(issuer), configuration, settings.OIDC_DISCOVERY_SECONDS)
    return configuration


def discovery_key(issuer: str) -> str:
    """The cache key of `issuer`'s discovery document."""
    return "oidc-discovery:" + hashlib.sha256(issuer.encode()).hexdigest()


def _discover(issuer: str) -> dict:
    try:
        response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        configuration = response.json()
    except (requests.RequestException, ValueError) as error:
        logger.warning("OIDC discovery failed: %s", type(error).__name__)
        raise ProviderUnavailable("discovery failed") from error
    # OpenID Connect Discovery 1.0, 4.3: the document must name the issuer it was fetched for.
    needed = {"issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"}
    if not isinstance(configuration, dict) or not needed <= configuration.keys() or str(configuration["issuer"]).rstrip("/") != issuer:
        logger.error("OIDC discovery document unusable: another issuer, or one of %s missing", sorted(needed))
        raise ProviderUnavailable("discovery document unusable")
    return configuration


def provider_endpoint(name: str) -> str:
    """One endpoint of the discovery document. Raises ProviderUnavailable."""
    return provider_configuration()[name]


class LocalPasswordBackend(ModelBackend):
    """Django's own password check, for those LOCAL_LOGIN allows (`local_login_allowed`).
    Another password backend (LDAP) listed after it is not restricted by LOCAL_LOGIN."""

    def user_can_authenticate(self, user):
        return super().user_can_authenticate(user) and local_login_allowed(user)


class NipOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's code flow, matching the person to an active employee by the NIP
    claim (OIDC_NIP_CLAIM); that employee's account logs in.

    It answers only the SSO callback (`authenticate` is called with a nonce) while SSO is on.
    A refusal leaves its reason (a key of REFUSALS) in `request.sso_refusal` and returns None:
    Django then reports a failed login, which django-axes counts. A provider that cannot be
    reached raises ProviderUnavailable instead (nobody failed to log in).
    """

    def __init__(self, *args, **kwargs):
        # Django makes a backend for every login and every request's user: no discovery here.
        # mozilla-django-oidc reads the endpoints from the properties below when it needs them.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self):
        return provider_endpoint("token_endpoint")

    @property
    def OIDC_OP_USER_ENDPOINT(self):
        return provider_endpoint("userinfo_endpoint")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self):
        return provider_endpoint("jwks_uri")

    def authenticate(self, request, **kwargs):
        if request is None or "nonce" not in kwargs or not oidc_enabled():
            return None  # a password login, or SSO is off
        try:
            return super().authenticate(request, **kwargs)
        except requests.HTTPError as error:  # the provider refused the code or the token
            logger.warning("SSO sign-in refused by the provider: HTTP %s", error.response.status_code if error.response is not None else "?")
            return self.refuse("failed")
        except requests.RequestException as error:
            logger.warning("SSO provider unreachable: %s", type(error).__name__)
            raise ProviderUnavailable("provider unreachable") from error
        except SuspiciousOperation as error:  # a signature, nonce, issuer or audience that does not fit
            logger.warning("SSO sign-in refused: %s", error)
            return self.refuse("failed")

    def verify_token(self, token, **kwargs):
        """The claims of a signed token; mozilla-django-oidc checks its signature and nonce, and
        for the ID token (the one verified with a nonce) this also checks its issuer and audience."""
        payload = super().verify_token(token, **kwargs)
        if "nonce" not in kwargs:
            return payload  # a signed userinfo answer
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER or settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token of another issuer or client")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        """The account of the active employee whose NIP the provider sent, else (with
        OIDC_CREATE_USERS) an account without any role; None (refused) otherwise."""
        claims = {**payload, **self.get_userinfo(access_token, id_token, payload)}
        nip = str(claims.get(settings.OIDC_NIP_CLAIM) or "").strip()
        if not nip:
            return self.refuse("no_nip")
        employee = Employee.objects.select_related("user").filter(nip=nip).first()
        if employee is not None:
            if employee.is_active and employee.user.is_active:
                return employee.user
            return self.refuse("unknown_nip")
        if settings.OIDC_CREATE_USERS:
            return account_without_role(nip=nip, claims=claims) or self.refuse("unknown_nip")
        return self.refuse("unknown_nip")

    def refuse(self, reason: str) -> None:
        logger.info("SSO sign-in refused (%s)", reason)
        self.request.sso_refusal = reason
        return None

    def get_user(self, user_id):
        # mozilla-django-oidc's returns inactive accounts too; Django's own check does not.
        return ModelBackend.get_user(self, user_id)


def account_without_role(*, nip: str, claims: dict):
    """OIDC_CREATE_USERS: the login account named after `nip` for someone with no employee
    record, made now if need be: no employee record, no group, no staff flag, no usable
    password, so no access until the staff import links it (it takes over an unlinked account
    of the same NIP). None when the NIP is not a valid one or an account of that name exists
    that SSO must not enter (it has an employee record, a password or administration rights)."""
    try:
        validate_nip(nip)
    except ValidationError:
        return None
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=nip,
        defaults={"email": str(claims.get("email") or "")[:254], "first_name": str(claims.get("name") or "")[:150]},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        return user
    if Employee.objects.filter(user=user).exists() or user.has_usable_password() or user.is_staff or user.is_superuser:
        return None
    return user if user.is_active else None


def end_session_url(request) -> str | None:
    """Where a person who signed in by SSO goes after logging out here, to end the provider's
    session too (RP-initiated logout): its end_session_endpoint with the ID token and the login
    page to come back to. None for everyone else, or when the provider has no such endpoint
    or cannot be reached (then only the session here ends)."""
    id_token = request.session.get("oidc_id_token")
    if not id_token or not oidc_enabled():
        return None
    try:
        endpoint = provider_configuration().get("end_session_endpoint")
    except ProviderUnavailable:
        return None
    if not endpoint:
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL)),
            "client_id": settings.OIDC_RP_CLIENT_ID,
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' lockout page (AXES_LOCKOUT_CALLABLE), saying which way in is locked: a NIP
    with its password, or SSO from this address."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {"sso": (credentials or {}).get("username") == SSO_ATTEMPT, "minutes": minutes}
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE)

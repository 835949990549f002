import sys
import time

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse, QueryDict
from django.shortcuts import redirect, render, resolve_url
from django.templatetags.static import static
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from .. import notices, permissions, sso
from ..forms import LoginForm, PasswordResetForm
from ..middleware import database_is_down, database_unavailable
from ..models import AssessmentPeriod, OrganisationSetting, Visibility


def request_as(user, query: str) -> HttpRequest:
    """A GET request of `user` with the query string `query`, as a page gets it: for work done
    outside a request (a background job) with the page's own code and filters."""
    request = HttpRequest()
    request.user, request.GET = user, QueryDict(query)
    return request


def query_without_page(request) -> str:
    """The request's query string without `page`: what a pager's links append ?page=N to."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def next_address(request, address: str) -> str:
    """Return `address` (a `next` the page was given) if it is a path on this site, else the
    home page: a link elsewhere must not ride on our redirect."""
    if address.startswith("/") and url_has_allowed_host_and_scheme(address, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return address
    return resolve_url("assessments:home")


def favicon(request):
    # Resolved per request: the hashed static name exists only after collectstatic.
    return redirect(static("favicon.svg"), permanent=True)


def database_ping() -> None:
    """One round trip to the database; raises OperationalError when it cannot be reached."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


@never_cache
def healthz(request):
    """200 {"status": "ok"} when the database answers, 503 otherwise (for load balancers)."""
    try:
        database_ping()
    except DatabaseError as error:
        return database_unavailable(request, error)
    return JsonResponse({"status": "ok"})


def server_error(request):
    """handler500. An error that says the database is down gives the 503 page even when it
    happened outside a view: never a 500 for an outage."""
    if database_is_down(sys.exc_info()[1]):
        return database_unavailable(request, sys.exc_info()[1])
    return defaults.server_error(request)


def bad_request(request, exception):
    """handler400. Saving the session on the way out while the database is down raises
    SessionInterrupted, a 400 "the session was deleted": it is an outage, so the 503 page."""
    if database_is_down(exception):
        return database_unavailable(request, exception)
    return defaults.bad_request(request, exception)


class LoginView(auth_views.LoginView):
    """Django's login, with the moment of logging in kept: sessions end 12 hours after it."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get(self, request, *args, **kwargs):
        # Nobody can log in while the database is down: say so (the 503 page, through
        # DatabaseUnavailableMiddleware) before the person types their NIP and password.
        database_ping()
        return super().get(request, *args, **kwargs)

    def form_valid(self, form):
        response = super().form_valid(form)
        self.request.session["started_at"] = time.time()
        return response

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        if sso.oidc_enabled():  # the SSO button comes first: no keyboard pops up for the password form
            form.fields["username"].widget.attrs.pop("autofocus", None)
        return form

    def get_context_data(self, **kwargs):
        # "Masuk dengan SSO" while SSO is configured; LOCAL_LOGIN=superusers says whom the
        # password form is for.
        return {
            **super().get_context_data(**kwargs),
            "sso_enabled": sso.oidc_enabled(),
            "superusers_only": sso.password_form_for_superusers_only(),
            "ldap_on": settings.LDAP_BACKEND in settings.AUTHENTICATION_BACKENDS,
        }


class LogoutView(auth_views.LogoutView):
    """Django's logout; whoever signed in by SSO then goes on to the provider, which ends its
    own session and sends them back to the login page."""

    def post(self, request, *args, **kwargs):
        provider_logout = sso.end_session_url(request)  # read before the session ends
        response = super().post(request, *args, **kwargs)
        return redirect(provider_logout) if provider_logout else response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset by e-mail; with LOCAL_LOGIN=superusers only superusers get a link."""

    form_class = PasswordResetForm

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "superusers_only": settings.LOCAL_LOGIN == "superusers"}


@login_required
def home(request):
    """Send each role to its home page: admins and office admins to the organisation roll-up
    (an office admin's: their units), the internal assessment team to their queue, supervisors
    to their unit dashboard, staff to their assessments."""
    user = request.user
    if permissions.is_admin(user) or permissions.is_office_admin(user):
        return redirect("assessments:organisation")
    if permissions.is_verifier(user):
        return redirect("assessments:verify_queue")
    if permissions.is_supervisor(user):
        return redirect("assessments:dashboard_home")
    if permissions.employee_of(user) is not None:
        return redirect("assessments:my_assessments")
    return render(request, "assessments/no_role.html")


@require_safe
def privacy_page(request):
    """The public privacy page (no login): both visibility modes and who sees what in each,
    which one the organisation uses now and which the open period opened with, the minimum
    group, the access log, how long answers are kept, and where a person finds their own data."""
    period = AssessmentPeriod.objects.filter(status=AssessmentPeriod.Status.OPEN).first()
    return render(
        request,
        "assessments/privacy.html",
        {
            "organisation_confidential": OrganisationSetting.current().visibility == Visibility.CONFIDENTIAL,
            "period": period,
            "privacy_min": settings.PRIVACY_MIN_GROUP,
            "retention_years": settings.RETENTION_YEARS,
        },
    )


@login_required
@require_POST
def notice_dismiss(request, pk):
    """Hide one of one's own in-app reminders (404 for anyone else's) and go back to the page
    it was shown on, if `next` is an address on this site."""
    notices.notice_dismiss(user=request.user, pk=pk)
    notices.deadline_forget(request)
    return redirect(next_address(request, request.POST.get("next", "")))

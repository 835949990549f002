import logging
import time
from contextlib import ExitStack

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from .context_processors import session_roles
from .two_factor import page_with_next, totp_device_of

logger = logging.getLogger(__name__)

# What the database driver raises when the server cannot be reached, is restarting or dropped
# the connection. Other database errors (IntegrityError, ProgrammingError...) are bugs: 500.
DATABASE_DOWN = (OperationalError, InterfaceError)
# Seconds a browser or load balancer is told to wait before trying again.
RETRY_AFTER_SECONDS = 30


class LanguageMiddleware:
    """Indonesian unless the person chose English with the switch in the page header.

    Django's LocaleMiddleware would follow the browser's Accept-Language, which on most phones
    and office PCs says English; the product makes Indonesian the default and English a choice.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.languages = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.languages:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class QueryCountMiddleware:
    """Benchmarks only (QUERY_COUNT_HEADER=1): report the SQL queries a response took in
    `X-Query-Count` and the time spent in Django in `Server-Timing`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counting(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(counting))
            response = self.get_response(request)
        response["X-Query-Count"] = str(count)
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response


def client_ip(request) -> str:
    """The address django-axes locks together with the NIP: the proxy's X-Real-IP when the app
    runs behind one (BEHIND_PROXY), else the connection's own address. X-Forwarded-For is
    never trusted as such: a client could write anything there."""
    if settings.BEHIND_PROXY and request.META.get("HTTP_X_REAL_IP"):
        return request.META["HTTP_X_REAL_IP"]
    return request.META.get("REMOTE_ADDR", "")


class SessionTimeoutMiddleware:
    """Log out after SESSION_IDLE_SECONDS without a request and SESSION_ABSOLUTE_SECONDS after
    logging in. The last-seen time is written at most once a minute, not on every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            session = request.session
            started = session.setdefault("started_at", now)
            seen = session.get("seen_at", now)
            if now - seen > settings.SESSION_IDLE_SECONDS or now - started > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
                messages.info(request, _("Your session ended. Please log in again."))
                return redirect_to_login(request.get_full_path())
            if now - seen > 60 or "seen_at" not in session:
                session["seen_at"] = now
        return self.get_response(request)


# The pages someone who owes a second factor may still open (by URL name): the public ones
# (tests/test_access_matrix.py lists them), logging out, the language switch, and the two pages
# that take the second factor. Not the password change: a password alone must not be enough to
# lock the owner out. Static files never reach this middleware (WhiteNoise serves them first).
TWO_FACTOR_EXEMPT = frozenset({
    "healthz", "assessments.views.common.favicon", "set_language", "login", "logout", "admin:logout",
    "password_reset", "password_reset_done", "password_reset_confirm", "password_reset_complete",
    "assessments:privacy", "assessments:receipt_verify",
    "assessments:two_factor_enrol", "assessments:two_factor_verify",
})


def two_factor_page(request) -> str:
    """Where someone who owes a second factor goes from this request, `next` kept: the code
    page, or the enrolment page while they have no authenticator app yet."""
    name = "assessments:two_factor_verify" if totp_device_of(request.user) else "assessments:two_factor_enrol"
    return page_with_next(name, request.get_full_path())


class TwoFactorMiddleware:
    """When TWO_FACTOR_REQUIRED, everyone `permissions.needs_second_factor` names whose session
    is not verified with a second factor is sent to the two-factor pages from every page but
    TWO_FACTOR_EXEMPT: the admin and every admin-only page included.

    Staff pay no query: the answer comes from the roles kept in the session
    (context_processors.session_roles, which the page header reads anyway), and django-otp
    loads a device only for a session that holds one."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not settings.TWO_FACTOR_REQUIRED or not request.user.is_authenticated:
            return None
        if request.resolver_match.view_name in TWO_FACTOR_EXEMPT or request.user.is_verified():
            return None
        if not session_roles(request)["two_factor"]:
            return None
        return redirect(two_factor_page(request))


def database_is_down(error: BaseException | None) -> bool:
    """Whether `error`, or an error it was raised from or while handling, says the database
    cannot be reached. (Django's session store turns a failed save into UpdateError, which
    SessionMiddleware turns into SessionInterrupted, a 400: the OperationalError is two links
    down the chain.)"""
    for _link in range(5):
        if error is None:
            return False
        if isinstance(error, DATABASE_DOWN):
            return True
        error = error.__cause__ or error.__context__
    return False


def database_unavailable(request, error: BaseException | None = None) -> HttpResponse:
    """The answer while the database cannot be reached: 503 with Retry-After, never cached.

    The page is templates/503.html, rendered without a request: no context processor runs (they
    read the database) and it names no static file. /healthz keeps its JSON answer."""
    if error is not None:
        # The exception's first line only: no SQL, no parameters, no staff data in the log.
        detail = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        logger.warning("database unavailable (%s: %s) on %s %s", type(error).__name__, detail, request.method, request.path)
    if request.path_info.rstrip("/") == "/healthz":
        response = JsonResponse({"status": "unavailable"}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


class DatabaseUnavailableMiddleware:
    """A friendly 503 page instead of a 500 while PostgreSQL is down or restarting.

    Sits right after AuthenticationMiddleware and loads the session and the user there (the
    middleware after it needs them anyway, so no extra query): a database that cannot be
    reached is caught before anything else touches it. Errors raised later, in a view, come
    through `process_exception`. The rest (saving the session on the way out) reaches handler400
    or handler500 (`views.common`), which give the same answer. The session cookie is left alone:
    nobody is logged out by an outage.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            request.user.is_authenticated  # noqa: B018 - loads the session and the user now
        except DATABASE_DOWN as error:
            return database_unavailable(request, error)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if database_is_down(exception):
            return database_unavailable(request, exception)
        return None


class NullCharacterMiddleware:
    """Refuse any address holding a NUL character, in its path or its query, with a clear 400:
    no unit code, search or filter holds one, and PostgreSQL refuses one in a query parameter
    (a server error). The one guard for every page, the admin's included; posted forms reject
    NUL through Django's own validator."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self.holds_nul(request):
            return HttpResponseBadRequest(_("The address holds a character that is not allowed."), content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def holds_nul(request) -> bool:
        return "\x00" in request.path or any("\x00" in key + "".join(values) for key, values in request.GET.lists())

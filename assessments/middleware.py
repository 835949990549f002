import time
from contextlib import ExitStack

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db import connections
from django.utils import translation
from django.utils.translation import gettext as _


class LanguageMiddleware:
    """Indonesian unless the person chose English with the switch in the page header.

    Django's LocaleMiddleware would follow the browser's Accept-Language, which on most phones
    and office PCs says English; PRODUCT.md makes Indonesian the default and English a choice.
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

import time
from contextlib import ExitStack

from django.conf import settings
from django.db import connections
from django.utils import translation


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

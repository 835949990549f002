"""Dashboard reads on a PostgreSQL read replica (DATABASE_REPLICA_URL), everything else on the
primary.

Only views marked with `dashboard_reads` read from the replica, and not for a person who has
just changed something: after any write request the browser carries a short-lived cookie and
their reads stay on the primary, so they always see their own write even if the replica lags.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.conf import settings

REPLICA = "replica"
WROTE_COOKIE = "asn_wrote"

_replica_reads = ContextVar("replica_reads", default=False)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        return REPLICA if _replica_reads.get() and REPLICA in settings.DATABASES else "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


@contextmanager
def replica_reads():
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def dashboard_reads(view):
    """Let a read-only page read from the replica unless this person wrote something lately."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method in ("GET", "HEAD") and WROTE_COOKIE not in request.COOKIES:
            with replica_reads():
                return view(request, *args, **kwargs)
        return view(request, *args, **kwargs)

    return wrapper


class RecentWriteMiddleware:
    """Mark a person's browser for a few seconds after any request that may have written."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.method not in ("GET", "HEAD", "OPTIONS") and REPLICA in settings.DATABASES:
            response.set_cookie(
                WROTE_COOKIE, "1", max_age=settings.REPLICA_STICKY_SECONDS, httponly=True,
                secure=settings.SESSION_COOKIE_SECURE, samesite="Lax",
            )
        return response

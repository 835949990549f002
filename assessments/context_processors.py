import time

from django.utils.functional import SimpleLazyObject

from . import notices, permissions, sso

# The header's menu needs the user's roles on every page; they are kept in the session for a
# few minutes to save three queries per page. Access itself is always checked live.
ROLES_TTL_SECONDS = 300
ANONYMOUS_ROLES = {"staff": False, "supervisor": False, "admin": False, "verifier": False, "office_admin": False, "two_factor": False}


def session_roles(request) -> dict:
    """Return the user's roles ({"staff", "supervisor", "admin", "verifier", "office_admin", "two_factor"}: each
    a bool), from the session when computed less than ROLES_TTL_SECONDS ago for this user.

    TwoFactorMiddleware reads "two_factor" (permissions.needs_second_factor) from here on every
    page, so that staff pay no query for the check. The trade-off: someone given administrative
    access while logged in is asked for a second factor within ROLES_TTL_SECONDS, not at once."""
    user = request.user
    if not user.is_authenticated:
        return ANONYMOUS_ROLES
    cached = request.session.get("roles")
    if cached and "office_admin" in cached and cached.get("user") == user.pk and time.time() - cached.get("at", 0) < ROLES_TTL_SECONDS:
        return cached
    fresh = {
        "user": user.pk,
        "at": time.time(),
        "staff": permissions.employee_of(user) is not None,
        "supervisor": permissions.is_supervisor(user),
        "admin": permissions.is_admin(user),
        "verifier": permissions.is_verifier(user),
        "office_admin": permissions.is_office_admin(user),
        "two_factor": permissions.needs_second_factor(user),
    }
    request.session["roles"] = fresh
    return fresh


def roles(request):
    """Expose the user's roles to the page header, and the deadline banner under it
    (notices.deadline_banner); each computed only if a template asks."""
    return {
        "roles": SimpleLazyObject(lambda: session_roles(request)),
        "deadline": SimpleLazyObject(lambda: notices.deadline_banner(request)),
        # The header's "Password" link, for those who log in with a password kept here (LOCAL_LOGIN).
        "local_password": SimpleLazyObject(lambda: sso.local_login_allowed(request.user)),
    }

import time

from django.utils.functional import SimpleLazyObject

from . import notices, permissions

# The header's menu needs the user's roles on every page; they are kept in the session for a
# few minutes to save three queries per page. Access itself is always checked live.
ROLES_TTL_SECONDS = 300


def roles(request):
    """Expose the user's roles to the page header, and the deadline banner under it
    (notices.deadline_banner); each computed only if a template asks."""

    def _roles():
        user = request.user
        if not user.is_authenticated:
            return {"staff": False, "supervisor": False, "admin": False, "verifier": False, "office_admin": False}
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
        }
        request.session["roles"] = fresh
        return fresh

    return {"roles": SimpleLazyObject(_roles), "deadline": SimpleLazyObject(lambda: notices.deadline_banner(request))}

from django.utils.functional import SimpleLazyObject

from . import permissions


def roles(request):
    """Expose the user's roles to the page header; computed only if a template asks."""
    user = request.user

    def _roles():
        return {
            "staff": permissions.employee_of(user) is not None,
            "supervisor": permissions.is_supervisor(user),
            "admin": permissions.is_admin(user),
        }

    return {"roles": SimpleLazyObject(_roles)}

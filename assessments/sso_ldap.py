"""Signing in against LDAP / Active Directory (django-auth-ldap). On when LDAP_SERVER_URI is set:
settings.ldap_settings turns the LDAP_* variables into django-auth-ldap's settings and puts
EmployeeLDAPBackend after django-axes' backend, which refuses a locked-out login before the
directory is asked.

The directory checks the password; the app decides who the person is. The entry's NIP attribute
(LDAP_NIP_ATTRIBUTE) must be the NIP of an active employee, whose own account then logs in.
Nobody is created, nothing is copied from the directory, and directory groups grant no rights:
rights stay with the app (superusers, groups, supervisor assignments)."""

from django.dispatch import receiver
from django_auth_ldap.backend import LDAPBackend, ldap_error

from .models import Employee


class EmployeeLDAPBackend(LDAPBackend):
    # The Django account exists (staff import, admin) and stays as the app keeps it: no field is
    # overwritten from the directory at each login, and no account is made for a stranger.
    default_settings = {"NIP_ATTRIBUTE": "employeeNumber", "ALWAYS_UPDATE_USER": False, "NO_NEW_USERS": True}

    def get_or_build_user(self, username, ldap_user):
        """Return (the account of the active employee whose NIP the directory entry carries,
        False); refuse the login when no active employee, or more than one, has it."""
        nips = {value.strip() for value in ldap_user.attrs.get(self.settings.NIP_ATTRIBUTE, ())} if ldap_user.attrs else set()
        employees = list(Employee.objects.select_related("user").filter(nip__in=nips, is_active=True, user__is_active=True)[:2])
        if len(employees) != 1:
            raise ldap_user.AuthenticationFailed("the directory entry carries no NIP of one active employee")
        return employees[0].user, False


@receiver(ldap_error)
def directory_unreachable(sender, context, user, request, exception, **kwargs):
    """The directory did not answer, or refused the app's own bind (django-auth-ldap logs the
    error): the login form then says the password could not be checked, instead of "do not
    match" (forms.LoginForm)."""
    if request is not None:
        request.ldap_unavailable = True

"""The Django admin for the HR office: only admins (superusers or the group Admin Kepegawaian)
and office admins (the group Admin OPD, with units assigned) get in; a logged-in supervisor or
staff member gets 403, never the admin's own login form. What an office admin sees inside is
narrowed by their group's permissions (units, staff, heads of unit) and, row by row, to their
own subtrees (admin/common.py, OfficeScoped)."""

from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from . import permissions


class IntegrityAdminSite(admin.AdminSite):
    site_header = _("ASN Integrity administration")
    site_title = _("ASN Integrity")
    index_title = _("Programme administration")
    site_url = "/"

    def has_permission(self, request):
        return permissions.is_admin(request.user) or permissions.is_office_admin(request.user)

    def admin_view(self, view, cacheable=False):
        checked = super().admin_view(view, cacheable)

        @wraps(checked)
        def refuse_non_admins(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied
            return checked(request, *args, **kwargs)

        return refuse_non_admins

    def login(self, request, extra_context=None):
        # One login page for the whole application.
        if request.user.is_authenticated and not self.has_permission(request):
            raise PermissionDenied
        return redirect_to_login(request.GET.get("next", "/admin/"), settings.LOGIN_URL)

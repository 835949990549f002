from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    name = "assessments"
    verbose_name = _("Integrity self-assessment")
    default_auto_field = "django.db.models.BigAutoField"


class IntegrityAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site: admins only, 403 for everyone else."""

    default = False
    default_site = "assessments.admin_site.IntegrityAdminSite"

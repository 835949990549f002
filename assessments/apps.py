from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AssessmentsConfig(AppConfig):
    # The config "assessments" in INSTALLED_APPS gets: with several AppConfig classes in this
    # module Django would otherwise fall back to a bare one named "Assessments".
    default = True
    name = "assessments"
    verbose_name = _("Integrity self-assessment")
    default_auto_field = "django.db.models.BigAutoField"


class IntegrityAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site: admins only, 403 for everyone else."""

    default = False
    default_site = "assessments.admin_site.IntegrityAdminSite"


# django-otp's two plugins under names that say what they hold on the admin's index (their own
# configs are named after their module: "Otp_Totp").
class TOTPConfig(AppConfig):
    name = "django_otp.plugins.otp_totp"
    verbose_name = _("Two-factor sign-in: authenticator apps")
    default_auto_field = "django.db.models.AutoField"


class RecoveryCodesConfig(AppConfig):
    name = "django_otp.plugins.otp_static"
    verbose_name = _("Two-factor sign-in: recovery codes")
    default_auto_field = "django.db.models.AutoField"

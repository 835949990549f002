"""Resetting a person's two-factor sign-in: admins see who has an authenticator app and
recovery codes, and delete them (the person then enrols again at their next sign-in). Nobody
adds or edits a device here (a device is made by its owner's enrolment), and the admin never
shows a secret, a QR code or a recovery code (OTP_ADMIN_HIDE_SENSITIVE_DATA). Only a superuser
resets a superuser's."""

from django.contrib import admin
from django_otp.plugins.otp_static.admin import StaticDeviceAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice


class ResetOnlyMixin:
    def get_urls(self):
        # django-otp's own extra pages show the secret as a QR code: left out.
        return admin.ModelAdmin.get_urls(self)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or request.user.is_superuser or not obj.user.is_superuser)


class TwoFactorAppAdmin(ResetOnlyMixin, TOTPDeviceAdmin):
    list_display = ["user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count"]


class RecoveryCodesAdmin(ResetOnlyMixin, StaticDeviceAdmin):
    list_display = ["user", "name", "created_at", "last_used_at", "throttling_failure_count"]


# django-otp registers its own admins when its apps' admin modules are imported (before this
# one: "assessments" comes after them in INSTALLED_APPS); these take their place.
for model, model_admin in ((TOTPDevice, TwoFactorAppAdmin), (StaticDevice, RecoveryCodesAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)

"""The organisation's settings: one row, edited here (its defaults come from the environment)."""

from django import forms
from django.contrib import admin
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from ..models import OrganisationSetting


class OrganisationSettingForm(forms.ModelForm):
    class Meta:
        model = OrganisationSetting
        fields = ["visibility"]
        widgets = {"visibility": forms.RadioSelect}
        help_texts = {
            "visibility": gettext_lazy(
                "Applies to the periods opened from now on: an open or closed period keeps the visibility it opened "
                "with, and staff are told which applies before they answer. In a confidential period heads of unit "
                "see only figures of groups of at least 5 assessments, and do not approve or return assessments."
            )
        }


@admin.register(OrganisationSetting)
class OrganisationSettingAdmin(SimpleHistoryAdmin):
    form = OrganisationSettingForm
    list_display = ["__str__", "visibility", "updated_at"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not OrganisationSetting.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def get_changeform_initial_data(self, request):
        return {"visibility": OrganisationSetting.current().visibility}

    def changelist_view(self, request, extra_context=None):
        """One row: the list opens it (or the form that creates it with today's defaults)."""
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)
        setting = OrganisationSetting.objects.filter(pk=1).first()
        if setting is None:
            return redirect("admin:assessments_organisationsetting_add")
        return redirect("admin:assessments_organisationsetting_change", setting.pk)

    def save_model(self, request, obj, form, change):
        obj.pk = 1
        super().save_model(request, obj, form, change)

"""Units, staff and supervisor assignments."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from .. import services, summaries
from ..admin_imports import ImportAdminMixin
from ..models import (
    Employee,
    SupervisorAssignment,
    VerifierAssignment,
    WorkUnit,
)
from .activation import EmployeeLettersMixin, UnitLettersMixin
from .common import EstimatedCountPaginator, activate, retire
from .reorganisation import ReorganiseAdminMixin


@admin.register(WorkUnit)
class WorkUnitAdmin(UnitLettersMixin, ReorganiseAdminMixin, ImportAdminMixin, TreeAdmin, SimpleHistoryAdmin):
    import_kind = "units"
    change_list_template = "admin/assessments/workunit/change_list.html"  # TreeAdmin's, plus "Impor"
    form = movenodeform_factory(WorkUnit, fields=["code", "name"])
    # One way to deactivate a unit: the list's activate and retire actions (set_active, with
    # the history), not a second checkbox on this page.
    readonly_fields = ["is_active"]
    list_display = ["name", "code", "depth", "is_active"]
    list_filter = ["is_active", "depth"]
    search_fields = ["code", "name"]
    actions = [activate, retire]

    def save_form(self, request, form, change):
        # The tree form moves the unit (and its subtree) while it saves. Assessments keep
        # pointing at the unit they were attributed to; the roll-ups follow the move.
        if not change:
            return super().save_form(request, form, change)
        with summaries.summaries_follow_move(form.instance):
            return super().save_form(request, form, change)


class UnitFilter(admin.SimpleListFilter):
    """Filter staff by a unit of the top two levels, including everything below it."""

    title = gettext_lazy("work unit")
    parameter_name = "unit"

    def lookups(self, request, model_admin):
        return [(u.code, ("— " * (u.depth - 1)) + u.name) for u in WorkUnit.objects.filter(depth__lte=2).order_by("path")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        unit = WorkUnit.objects.filter(code=self.value()).first()
        return queryset.filter(unit.subtree_q("unit")) if unit else queryset.none()


class SupervisorAssignmentInline(admin.TabularInline):
    model = SupervisorAssignment
    extra = 0
    autocomplete_fields = ["unit"]
    verbose_name = gettext_lazy("heads the unit")
    verbose_name_plural = gettext_lazy("heads these units (and everything below them)")


class EmployeeForm(forms.ModelForm):
    email = forms.EmailField(label=gettext_lazy("E-mail"), required=False)

    class Meta:
        model = Employee
        fields = ["nip", "full_name", "position", "unit", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["email"].initial = self.instance.user.email

    def clean_nip(self):
        # A new person's login takes the NIP as user name: a login that already has it (a
        # person deleted earlier keeps theirs, an admin account) would fail the save with a 500.
        nip = self.cleaned_data["nip"]
        if self.instance.user_id is None and get_user_model().objects.filter(username=nip).exists():
            raise forms.ValidationError(_("A login with this NIP as user name already exists."), code="nip_login_taken")
        return nip


@admin.register(Employee)
class EmployeeAdmin(EmployeeLettersMixin, ImportAdminMixin, SimpleHistoryAdmin):
    import_kind = "staff"
    form = EmployeeForm
    list_display = ["full_name", "nip", "position", "unit", "is_active"]
    list_filter = ["is_active", UnitFilter]
    search_fields = ["nip", "full_name"]
    list_select_related = ["unit"]
    autocomplete_fields = ["unit"]
    inlines = [SupervisorAssignmentInline]
    actions = ["deactivate", "reactivate"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def save_model(self, request, obj, form, change):
        services.employee_save(employee=obj, email=form.cleaned_data.get("email", ""))

    @admin.action(description=gettext_lazy("Deactivate the selected staff (history is kept)"))
    def deactivate(self, request, queryset):
        count = services.employees_set_active(employees=queryset, active=False, actor=request.user)
        self.message_user(request, _("%(count)s deactivated; their history is kept.") % {"count": count}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Reactivate the selected staff"))
    def reactivate(self, request, queryset):
        count = services.employees_set_active(employees=queryset, active=True, actor=request.user)
        self.message_user(request, _("%(count)s activated.") % {"count": count}, messages.SUCCESS)


@admin.register(SupervisorAssignment)
class SupervisorAssignmentAdmin(SimpleHistoryAdmin):
    list_display = ["employee", "unit"]
    search_fields = ["employee__full_name", "employee__nip", "unit__code", "unit__name"]
    autocomplete_fields = ["employee", "unit"]
    list_select_related = ["employee", "unit"]


@admin.register(VerifierAssignment)
class VerifierAssignmentAdmin(admin.ModelAdmin):
    """Who in the internal assessment team (group "Tim Penilai Internal") verifies which units."""

    list_display = ["user", "unit"]
    autocomplete_fields = ["unit"]
    search_fields = ["user__username", "user__first_name", "unit__code", "unit__name"]

"""Units, staff and supervisor assignments; who verifies and who administers which units.

Office admins (permissions.is_office_admin) reach these three pages only, narrowed to their own
subtrees (common.OfficeScoped): they add units below theirs, rename and retire them, move them
within their subtrees (the reorganisation's "Move", or the tree's drag and drop), and manage the
staff and heads of unit there."""

import operator
from functools import reduce

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from .. import permissions, services, summaries
from ..admin_imports import ImportAdminMixin
from ..imports.staff import office_privileged_message
from ..models import (
    Employee,
    OfficeAdminAssignment,
    SupervisorAssignment,
    VerifierAssignment,
    WorkUnit,
)
from .activation import EmployeeLettersMixin, UnitLettersMixin
from .common import EstimatedCountPaginator, OfficeScoped, activate, office_choices, office_filter, retire
from .reorganisation import ReorganiseAdminMixin, outside_message


class OfficeUnitForm(forms.ModelForm):
    """An office admin's page of a unit: its code and name. It moves through the reorganisation's
    "Move" (within their units), never through this page: treebeard's position fields would
    offer the whole tree, and place a unit of theirs beside units that are not."""

    class Meta:
        model = WorkUnit
        fields = ["code", "name"]


class NewOfficeUnitForm(OfficeUnitForm):
    """A new unit, below one of the office admin's units (`parent`, narrowed per request)."""

    parent = forms.ModelChoiceField(WorkUnit.objects.none(), label=gettext_lazy("Parent unit"))

    def save(self, commit=True):
        # Treebeard writes the node while placing it (as its own form does); the admin saves
        # it again with its history user.
        self.instance = WorkUnit.objects.add_child(WorkUnit.objects.get(pk=self.cleaned_data["parent"].pk), instance=self.instance)
        return super().save(commit=False)


class LevelFilter(admin.AllValuesFieldListFilter):
    """treebeard's `depth` under a translated title (the field has no verbose name)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = gettext_lazy("level")


@admin.register(WorkUnit)
class WorkUnitAdmin(OfficeScoped, UnitLettersMixin, ReorganiseAdminMixin, ImportAdminMixin, TreeAdmin, SimpleHistoryAdmin):
    import_kind = "units"
    change_list_template = "admin/assessments/workunit/change_list.html"  # TreeAdmin's, plus "Impor"
    form = movenodeform_factory(WorkUnit, fields=["code", "name"])
    # One way to deactivate a unit: the list's activate and retire actions (set_active, with
    # the history), not a second checkbox on this page.
    readonly_fields = ["is_active"]
    list_display = ["name", "code", "level", "is_active"]
    list_filter = ["is_active", ("depth", LevelFilter)]
    search_fields = ["code", "name"]
    actions = [activate, retire]

    @admin.display(description=gettext_lazy("level"), ordering="depth")
    def level(self, unit: WorkUnit) -> int:
        return unit.depth

    def get_form(self, request, obj=None, **kwargs):
        if permissions.managed_units(request.user) is None:
            return super().get_form(request, obj, **kwargs)
        form = super().get_form(request, obj, **{**kwargs, "form": OfficeUnitForm if obj else NewOfficeUnitForm})
        if "parent" in form.base_fields:  # a field of its own per request: the class's is shared
            form.base_fields["parent"] = forms.ModelChoiceField(
                office_choices(request, WorkUnit).filter(is_active=True), label=form.base_fields["parent"].label
            )
        return form

    def get_queryset(self, request):
        tops = permissions.managed_units(request.user)
        if tops is not None and self._tree_top(request):
            # The tree's first level: an office admin's own units instead of the roots.
            request._treebeard_parent = None
            return WorkUnit.objects.filter(pk__in=[top.pk for top in tops])
        return super().get_queryset(request)

    def _tree_top(self, request) -> bool:
        return (
            hasattr(request, "_treebeard_parent_id")
            and request._treebeard_parent_id is None
            and not getattr(request, "_ignore_treebeard_filters", False)
            and not self.is_filtered(request)
        )

    def children_view(self, request, parent_id):
        if permissions.managed_units(request.user) is not None:
            self.office_object_or_404(request, parent_id)
        return super().children_view(request, parent_id)

    def move_node(self, request):
        """The tree's drag and drop: for an office admin, both units theirs (else 404) and the
        place within their units; the roll-ups follow the move (as on the unit's page)."""
        ids = [value for value in (request.POST.get("node", ""), request.POST.get("target", "")) if value.isascii() and value.isdigit()]
        units = {str(unit.pk): unit for unit in office_filter(request, WorkUnit.objects.filter(pk__in=[int(pk) for pk in ids if len(pk) < 19]))}
        if len(units) != 2 or len(ids) != 2:
            if permissions.managed_units(request.user) is not None and any(pk not in units for pk in ids):
                raise Http404
            return super().move_node(request)  # treebeard answers the incomplete form
        node, target = units[ids[0]], units[ids[1]]
        parent = target if request.POST.get("relation") == "child" else WorkUnit.objects.get_parent(target)
        if not permissions.unit_managed(request.user, parent):
            messages.error(request, outside_message())
            return HttpResponseBadRequest(outside_message())
        with summaries.summaries_follow_move(node):
            return super().move_node(request)

    def save_form(self, request, form, change):
        # The tree form moves the unit (and its subtree) while it saves. Assessments keep
        # pointing at the unit they were attributed to; the roll-ups follow the move.
        if not change:
            form.instance._history_user = request.user
            return super().save_form(request, form, change)
        with summaries.summaries_follow_move(form.instance):
            return super().save_form(request, form, change)


class UnitFilter(admin.SimpleListFilter):
    """Filter staff by a unit of the top two levels (of an office admin's units), including
    everything below it."""

    title = gettext_lazy("work unit")
    parameter_name = "unit"

    def lookups(self, request, model_admin):
        tops = permissions.managed_units(request.user)
        if tops is None:
            units, first = WorkUnit.objects.filter(depth__lte=2), 1
        else:
            two_levels = [Q(path__startswith=top.path, depth__lte=top.depth + 1) for top in tops]
            units, first = WorkUnit.objects.filter(reduce(operator.or_, two_levels, Q(pk__in=[]))), min((t.depth for t in tops), default=1)
        return [(u.code, ("— " * (u.depth - first)) + u.name) for u in units.order_by("path")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        unit = WorkUnit.objects.filter(code=self.value()).first()
        return queryset.filter(unit.subtree_q("unit")) if unit else queryset.none()


def own_head_message() -> str:
    return _("You cannot make yourself head of a unit: ask the central HR office (Admin Kepegawaian).")


def own_record(request, employee) -> bool:
    """Is `employee` the office admin's own record? They do not make themselves head of a unit:
    a head sees the answers of their staff, which an office admin never does."""
    return employee is not None and permissions.managed_units(request.user) is not None and employee.user_id == request.user.pk


class SupervisorAssignmentInline(OfficeScoped, admin.TabularInline):
    model = SupervisorAssignment
    extra = 0
    autocomplete_fields = ["unit"]
    verbose_name = gettext_lazy("heads the unit")
    verbose_name_plural = gettext_lazy("heads these units (and everything below them)")
    office_fields = ("unit",)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and not own_record(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not own_record(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and not own_record(request, obj)


class EmployeeForm(forms.ModelForm):
    email = forms.EmailField(label=gettext_lazy("E-mail"), required=False)
    # An office admin's form (OfficeEmployeeForm) keeps the e-mail address and the active flag of
    # accounts with more rights than their own data as they are (permissions.privileged_accounts).
    guards_privileged = False

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

    def clean(self):
        cleaned = super().clean()
        if self.guards_privileged and self.instance.user_id and {"email", "is_active"} & set(self.changed_data):
            if get_user_model().objects.filter(pk=self.instance.user_id, pk__in=permissions.privileged_accounts()).exists():
                raise forms.ValidationError(office_privileged_message(), code="privileged_account")
        return cleaned


class OfficeEmployeeForm(EmployeeForm):
    guards_privileged = True


@admin.register(Employee)
class EmployeeAdmin(OfficeScoped, EmployeeLettersMixin, ImportAdminMixin, SimpleHistoryAdmin):
    import_kind = "staff"
    office_fields = ("unit",)
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

    def get_form(self, request, obj=None, **kwargs):
        if permissions.managed_units(request.user) is not None:
            kwargs["form"] = OfficeEmployeeForm
        return super().get_form(request, obj, **kwargs)

    def save_model(self, request, obj, form, change):
        services.employee_save(employee=obj, email=form.cleaned_data.get("email", ""))

    def _privileged_selected(self, request, queryset) -> bool:
        """An office admin selected an account with more rights (said so; nothing changes)."""
        if permissions.managed_units(request.user) is not None and queryset.filter(user__in=permissions.privileged_accounts()).exists():
            self.message_user(request, office_privileged_message(), messages.ERROR)
            return True
        return False

    @admin.action(description=gettext_lazy("Deactivate the selected staff (history is kept)"))
    def deactivate(self, request, queryset):
        if self._privileged_selected(request, queryset):
            return
        count = services.employees_set_active(employees=queryset, active=False, actor=request.user)
        self.message_user(request, _("%(count)s deactivated; their history is kept.") % {"count": count}, messages.SUCCESS)

    @admin.action(description=gettext_lazy("Reactivate the selected staff"))
    def reactivate(self, request, queryset):
        if self._privileged_selected(request, queryset):
            return
        count = services.employees_set_active(employees=queryset, active=True, actor=request.user)
        self.message_user(request, _("%(count)s activated.") % {"count": count}, messages.SUCCESS)


@admin.register(SupervisorAssignment)
class SupervisorAssignmentAdmin(OfficeScoped, SimpleHistoryAdmin):
    list_display = ["employee", "unit"]
    search_fields = ["employee__full_name", "employee__nip", "unit__code", "unit__name"]
    autocomplete_fields = ["employee", "unit"]
    list_select_related = ["employee", "unit"]
    office_fields = ("unit", "employee__unit")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "employee" and permissions.managed_units(request.user) is not None:
            field.queryset = field.queryset.exclude(user=request.user)
            field.error_messages = {**field.error_messages, "invalid_choice": own_head_message()}
        return field


@admin.register(VerifierAssignment)
class VerifierAssignmentAdmin(admin.ModelAdmin):
    """Who in the internal assessment team (group "Tim Penilai Internal") verifies which units."""

    list_display = ["user", "unit"]
    autocomplete_fields = ["unit"]
    search_fields = ["user__username", "user__first_name", "unit__code", "unit__name"]


@admin.register(OfficeAdminAssignment)
class OfficeAdminAssignmentAdmin(admin.ModelAdmin):
    """Which units each office admin (group "Admin OPD") manages: central admins only (the group
    gives office admins no permission here)."""

    list_display = ["user", "unit"]
    list_select_related = ["user", "unit"]
    autocomplete_fields = ["unit"]
    search_fields = ["user__username", "user__first_name", "unit__code", "unit__name"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = get_user_model().objects.filter(groups__name=permissions.OFFICE_ADMIN_GROUP).order_by("username")
            kwargs["help_text"] = _("Members of the group Admin OPD (add the account to the group first, under Users).")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

"""What the admin pages share: the estimated count of the largest tables, activate and retire
actions that keep the history, the read-only bases, and the narrowing of a page to an office
admin's units."""

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_update_with_history

from .. import permissions
from ..models import Employee, WorkUnit


class EstimatedCountPaginator(Paginator):
    """For the largest tables: an unfiltered changelist takes PostgreSQL's row estimate instead
    of a COUNT(*) over hundreds of thousands of rows on every page view."""

    @cached_property
    def count(self):
        queryset = self.object_list
        if connection.vendor == "postgresql" and hasattr(queryset, "query") and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [queryset.model._meta.db_table])
                row = cursor.fetchone()
            if row and row[0] > 10000:
                return row[0]
        return super().count


def set_active(modeladmin, request, queryset, active: bool):
    """Activate or retire rows, recording each change in the history (a plain UPDATE would not)."""
    rows = list(queryset.exclude(is_active=active))
    for row in rows:
        row.is_active = active
    if rows:
        bulk_update_with_history(rows, queryset.model, ["is_active"], default_user=request.user)
    return rows


@admin.action(description=gettext_lazy("Activate the selected rows"))
def activate(modeladmin, request, queryset):
    rows = set_active(modeladmin, request, queryset, True)
    modeladmin.message_user(request, _("%(count)s activated.") % {"count": len(rows)}, messages.SUCCESS)


@admin.action(description=gettext_lazy("Retire (deactivate) the selected rows"))
def retire(modeladmin, request, queryset):
    rows = set_active(modeladmin, request, queryset, False)
    modeladmin.message_user(request, _("%(count)s retired; their history is kept.") % {"count": len(rows)}, messages.SUCCESS)


class ReadOnlyInline(admin.TabularInline):
    """Rows shown for reference on a parent's page (frozen versions, answers, the log)."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OfficeScoped:
    """For an office admin (permissions.is_office_admin) a model admin lists, searches, counts,
    filters, autocompletes and opens only the rows that lie in their units: anything else is a
    404 (not the admin's redirect to its index, which would tell that the row exists), and the
    units and staff offered by its forms are theirs too. Admins see everything.

    `office_fields` names the WorkUnit relations of a row that must lie in those units ("" for
    a unit itself)."""

    office_fields: tuple[str, ...] = ("",)

    def get_queryset(self, request):
        return office_filter(request, super().get_queryset(request), self.office_fields)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        if permissions.managed_units(request.user) is not None:
            raise Http404
        return super()._get_obj_does_not_exist_redirect(request, opts, object_id)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = office_choices(request, db_field.related_model)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def office_object_or_404(self, request, object_id) -> None:
        """404 unless the row `object_id` is one this admin lists for the user (for the history
        pages, which would otherwise find a row through its old versions)."""
        if permissions.managed_units(request.user) is None:
            return
        key = str(object_id)
        if not (key.isascii() and key.isdigit() and len(key) < 19 and self.get_queryset(request).filter(pk=int(key)).exists()):
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        self.office_object_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self.office_object_or_404(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


def office_filter(request, queryset, fields=("",)):
    """`queryset` narrowed to the rows whose units (through each of `fields`) the user manages."""
    tops = permissions.managed_units(request.user)
    if tops is not None:
        for field in fields:
            queryset = queryset.filter(permissions.units_q(tops, field))
    return queryset


def office_choices(request, model):
    """The units or staff an office admin may choose in a form (None: no narrowing)."""
    if permissions.managed_units(request.user) is None:
        return None
    if model is WorkUnit:
        return office_filter(request, WorkUnit.objects.order_by("path"))
    if model is Employee:
        return office_filter(request, Employee.objects.all(), ("unit",))
    return None

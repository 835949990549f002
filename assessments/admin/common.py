"""What the admin pages share: the estimated count of the largest tables, activate and retire
actions that keep the history, and the read-only bases."""

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_update_with_history


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

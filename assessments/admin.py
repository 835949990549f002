from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from .admin_imports import ImportAdminMixin
from .models import (
    AccessLog,
    AssessmentEvent,
    AssessmentPeriod,
    Employee,
    Indicator,
    PeriodIndicator,
    PeriodPillar,
    Pillar,
    Rating,
    SelfAssessment,
    SupervisorAssignment,
    Theme,
    WorkUnit,
)

admin.site.site_header = _("ASN Integrity administration")
admin.site.site_title = _("ASN Integrity")
admin.site.index_title = _("Programme administration")


@admin.register(WorkUnit)
class WorkUnitAdmin(ImportAdminMixin, TreeAdmin, SimpleHistoryAdmin):
    import_kind = "units"
    change_list_template = "admin/assessments/workunit/change_list.html"  # TreeAdmin's, plus "Impor"
    form = movenodeform_factory(WorkUnit, fields=["code", "name", "is_active"])
    list_display = ["name", "code", "is_active"]
    list_filter = ["is_active", "depth"]
    search_fields = ["code", "name"]


class SupervisorAssignmentInline(admin.TabularInline):
    model = SupervisorAssignment
    extra = 0
    autocomplete_fields = ["unit"]


@admin.register(Employee)
class EmployeeAdmin(ImportAdminMixin, SimpleHistoryAdmin):
    import_kind = "staff"
    list_display = ["full_name", "nip", "position", "unit", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["nip", "full_name"]
    list_select_related = ["unit"]
    autocomplete_fields = ["unit", "user"]
    inlines = [SupervisorAssignmentInline]
    show_full_result_count = False


@admin.register(SupervisorAssignment)
class SupervisorAssignmentAdmin(SimpleHistoryAdmin):
    list_display = ["employee", "unit"]
    search_fields = ["employee__full_name", "employee__nip", "unit__code", "unit__name"]
    autocomplete_fields = ["employee", "unit"]
    list_select_related = ["employee", "unit"]


@admin.register(Theme)
class ThemeAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "name_en", "order"]
    list_editable = ["order"]


class IndicatorInline(admin.StackedInline):
    model = Indicator
    extra = 0
    fields = [
        ("code", "order", "weight", "is_active", "note_required_at_extremes"),
        "statement",
        "statement_en",
        ("rubric_low", "rubric_low_en"),
        ("rubric_high", "rubric_high_en"),
    ]


@admin.register(Pillar)
class PillarAdmin(SimpleHistoryAdmin):
    list_display = ["name", "code", "theme", "weight", "order", "is_active"]
    list_filter = ["theme", "is_active"]
    list_editable = ["order", "is_active"]
    search_fields = ["name", "code"]
    inlines = [IndicatorInline]


@admin.register(Indicator)
class IndicatorAdmin(SimpleHistoryAdmin):
    list_display = ["code", "statement", "pillar", "weight", "order", "is_active"]
    list_filter = ["pillar", "is_active"]
    search_fields = ["code", "statement", "statement_en"]


@admin.register(AssessmentPeriod)
class AssessmentPeriodAdmin(SimpleHistoryAdmin):
    list_display = ["__str__", "code", "opens_on", "closes_on", "status"]
    list_filter = ["status", "year"]
    readonly_fields = ["status", "opened_at", "closed_at"]


class PeriodIndicatorInline(admin.TabularInline):
    model = PeriodIndicator
    extra = 0
    can_delete = False
    fields = ["indicator", "statement", "weight", "order", "note_required_at_extremes"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PeriodPillar)
class PeriodPillarAdmin(admin.ModelAdmin):
    list_display = ["period", "name", "weight", "order"]
    list_filter = ["period"]
    inlines = [PeriodIndicatorInline]
    readonly_fields = ["period", "pillar", "theme_name", "theme_name_en", "name", "name_en", "description", "description_en", "weight", "order"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RatingInline(admin.TabularInline):
    model = Rating
    extra = 0
    can_delete = False
    fields = ["indicator", "score", "note", "evidence_name"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class AssessmentEventInline(admin.TabularInline):
    model = AssessmentEvent
    extra = 0
    can_delete = False
    fields = ["at", "actor", "from_state", "to_state", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SelfAssessment)
class SelfAssessmentAdmin(admin.ModelAdmin):
    list_display = ["employee", "period", "unit", "state", "index_score", "grade", "submitted_at"]
    list_filter = ["period", "state", "grade"]
    search_fields = ["employee__nip", "employee__full_name"]
    list_select_related = ["employee", "period", "unit"]
    show_full_result_count = False
    inlines = [RatingInline, AssessmentEventInline]
    readonly_fields = [
        "employee", "period", "unit", "state", "version", "index_score", "grade", "submitted_at",
        "reviewed_at", "reviewed_by", "return_note", "return_deadline",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    list_display = ["at", "viewer", "employee", "action"]
    list_filter = ["action"]
    search_fields = ["employee__nip", "employee__full_name", "viewer__username"]
    list_select_related = ["viewer", "employee"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""The HR office's back office: framework, periods, units, staff, assessments and the audit
trail. Changes go through the services where a business rule applies (opening a period, saving
a person), and bulk changes are recorded in the history like single ones."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, OuterRef, Q, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin
from simple_history.utils import bulk_update_with_history
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from . import privacy, services, summaries
from .admin_imports import ImportAdminMixin
from .models import (
    COUNTED_STATES,
    EDITABLE_STATES,
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


# --- Organisation ----------------------------------------------------------------------------


@admin.register(WorkUnit)
class WorkUnitAdmin(ImportAdminMixin, TreeAdmin, SimpleHistoryAdmin):
    import_kind = "units"
    change_list_template = "admin/assessments/workunit/change_list.html"  # TreeAdmin's, plus "Impor"
    form = movenodeform_factory(WorkUnit, fields=["code", "name", "is_active"])
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
class EmployeeAdmin(ImportAdminMixin, SimpleHistoryAdmin):
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


# --- The framework: themes, pillars, indicators, and the versions periods froze --------------


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


class PeriodPillarVersionInline(ReadOnlyInline):
    model = PeriodPillar
    fk_name = "pillar"
    fields = ["period", "name", "weight", "order"]
    verbose_name = gettext_lazy("version used by a period")
    verbose_name_plural = gettext_lazy("versions used by periods (frozen when each period opened)")


@admin.register(Pillar)
class PillarAdmin(SimpleHistoryAdmin):
    list_display = ["name", "code", "theme", "weight", "order", "is_active", "active_indicators"]
    list_filter = ["theme", "is_active"]
    list_editable = ["order"]
    search_fields = ["name", "code"]
    inlines = [IndicatorInline, PeriodPillarVersionInline]
    actions = [activate, retire]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_active=Count("indicators", filter=Q(indicators__is_active=True)))

    @admin.display(description=gettext_lazy("active indicators"), ordering="n_active")
    def active_indicators(self, obj):
        if obj.n_active == 0 and obj.is_active:
            return format_html('<strong class="errornote">{}</strong>', _("none: cannot open a period"))
        return obj.n_active


class PeriodIndicatorVersionInline(ReadOnlyInline):
    model = PeriodIndicator
    fk_name = "indicator"
    fields = ["period_name", "statement", "weight", "note_required_at_extremes"]
    verbose_name = gettext_lazy("version used by a period")
    verbose_name_plural = gettext_lazy("versions used by periods (frozen when each period opened)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("pillar__period")

    @admin.display(description=gettext_lazy("period"))
    def period_name(self, obj):
        return str(obj.pillar.period)


@admin.register(Indicator)
class IndicatorAdmin(SimpleHistoryAdmin):
    list_display = ["code", "statement", "pillar", "weight", "order", "is_active"]
    list_filter = ["pillar", "is_active"]
    search_fields = ["code", "statement", "statement_en"]
    list_select_related = ["pillar"]
    inlines = [PeriodIndicatorVersionInline]
    actions = [activate, retire]


# --- Periods ---------------------------------------------------------------------------------


class PeriodForm(forms.ModelForm):
    class Meta:
        model = AssessmentPeriod
        fields = ["year", "quarter", "opens_on", "closes_on"]


class PeriodQuestionnaireInline(ReadOnlyInline):
    model = PeriodPillar
    fk_name = "period"
    fields = ["order", "name", "weight", "indicator_count"]
    verbose_name_plural = gettext_lazy("questionnaire (frozen when the period opened)")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n=Count("indicators"))

    @admin.display(description=gettext_lazy("indicators"))
    def indicator_count(self, obj):
        return obj.n


@admin.register(AssessmentPeriod)
class AssessmentPeriodAdmin(SimpleHistoryAdmin):
    form = PeriodForm
    list_display = ["__str__", "code", "opens_on", "closes_on", "status", "submitted", "drafts"]
    list_filter = ["status", "year"]
    inlines = [PeriodQuestionnaireInline]
    change_form_template = "admin/assessments/assessmentperiod/change_form.html"
    change_list_template = "admin/assessments/assessmentperiod/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_submitted=Count("assessments", filter=Q(assessments__state__in=COUNTED_STATES)),
            n_drafts=Count("assessments", filter=Q(assessments__state__in=EDITABLE_STATES)),
        )

    @admin.display(description=gettext_lazy("submitted"))
    def submitted(self, obj):
        return obj.n_submitted

    @admin.display(description=gettext_lazy("drafts"))
    def drafts(self, obj):
        return obj.n_drafts

    def get_readonly_fields(self, request, obj=None):
        if obj is None or obj.status == AssessmentPeriod.Status.PLANNED:
            return []
        if obj.status == AssessmentPeriod.Status.OPEN:
            return ["year", "quarter", "opens_on"]  # only the closing date moves: an extension
        return ["year", "quarter", "opens_on", "closes_on"]

    def has_delete_permission(self, request, obj=None):
        return obj is None or obj.status == AssessmentPeriod.Status.PLANNED

    # An old version of a period is for reading only. Restoring it ("Revert" on the history
    # page) would write back its status and timestamps too: an open period would become planned
    # again with its questionnaire still frozen, a closed one open again. Status moves only
    # through the open and close views.
    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("next/", wrap(self.create_next_view), name="assessments_assessmentperiod_next"),
            path("<int:pk>/open/", wrap(self.open_view), name="assessments_assessmentperiod_open"),
            path("<int:pk>/close/", wrap(self.close_view), name="assessments_assessmentperiod_close"),
            *super().get_urls(),
        ]

    def _check_change(self, request, obj=None):
        if not self.has_change_permission(request, obj):
            raise PermissionDenied

    def create_next_view(self, request):
        self._check_change(request)
        if request.method != "POST":
            return redirect("admin:assessments_assessmentperiod_changelist")
        period = services.period_create_next()
        self.log_addition(request, period, [{"added": {}}])
        self.message_user(
            request,
            _("%(period)s created (%(start)s to %(end)s). Check its dates, then open it.")
            % {"period": period, "start": period.opens_on, "end": period.closes_on},
            messages.SUCCESS,
        )
        return redirect("admin:assessments_assessmentperiod_change", period.pk)

    def open_view(self, request, pk):
        period = get_object_or_404(AssessmentPeriod, pk=pk)
        self._check_change(request, period)
        if request.method == "POST":
            try:
                services.period_open(period=period)
            except services.ServiceError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, _("%(period)s is open; its questionnaire is now fixed.") % {"period": period}, messages.SUCCESS)
            return redirect("admin:assessments_assessmentperiod_change", period.pk)
        pillars = list(Pillar.objects.filter(is_active=True).annotate(n=Count("indicators", filter=Q(indicators__is_active=True))))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "period": period,
            "pillars": pillars,
            "empty_pillars": [p for p in pillars if p.n == 0],
            "open_period": AssessmentPeriod.objects.filter(status=AssessmentPeriod.Status.OPEN).exclude(pk=period.pk).first(),
            "title": _("Open %(period)s") % {"period": period},
        }
        return render(request, "admin/assessments/assessmentperiod/open_confirm.html", context)

    def close_view(self, request, pk):
        period = get_object_or_404(AssessmentPeriod, pk=pk)
        self._check_change(request, period)
        if request.method == "POST":
            try:
                services.period_close(period=period)
            except services.ServiceError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, _("%(period)s is closed.") % {"period": period}, messages.SUCCESS)
            return redirect("admin:assessments_assessmentperiod_change", period.pk)
        waiting = period.assessments.filter(state__in=EDITABLE_STATES).count()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "period": period,
            "waiting": waiting,
            "title": _("Close %(period)s") % {"period": period},
        }
        return render(request, "admin/assessments/assessmentperiod/close_confirm.html", context)


class PeriodIndicatorInline(ReadOnlyInline):
    model = PeriodIndicator
    fields = ["indicator", "statement", "weight", "order", "note_required_at_extremes"]


@admin.register(PeriodPillar)
class PeriodPillarAdmin(admin.ModelAdmin):
    list_display = ["period", "name", "weight", "order"]
    list_filter = ["period"]
    list_select_related = ["period"]
    inlines = [PeriodIndicatorInline]
    readonly_fields = ["period", "pillar", "theme_name", "theme_name_en", "name", "name_en", "description", "description_en", "weight", "order"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Assessments and the audit trail -----------------------------------------------------------


class RatingInline(ReadOnlyInline):
    model = Rating
    fields = ["indicator", "score", "note", "evidence_name"]


class AssessmentEventInline(ReadOnlyInline):
    model = AssessmentEvent
    fields = ["at", "actor", "from_state", "to_state", "note"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SelfAssessment)
class SelfAssessmentAdmin(ReadOnlyAdmin):
    list_display = ["employee", "period", "unit", "state", "index_score", "grade", "submitted_at"]
    list_filter = ["period", "state", "grade"]
    search_fields = ["employee__nip", "employee__full_name"]
    list_select_related = ["employee", "period", "unit"]
    ordering = ["-id"]  # the default (period, then name) sorts half a million rows per page view
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    inlines = [RatingInline, AssessmentEventInline]

    # Both pages show people's index and grade (and the change page their answers): each
    # view is in the access log, as the staff table is.
    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        assessment = response.context_data.get("original") if hasattr(response, "context_data") else None
        if assessment is not None:
            privacy.access_record(viewer=request.user, action=AccessLog.Action.ADMIN, assessment=assessment)
        return response

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = response.context_data.get("cl") if hasattr(response, "context_data") else None
        if changelist is not None:
            people = [a.employee_id for a in changelist.result_list if a.index_score is not None]
            privacy.access_record(viewer=request.user, action=AccessLog.Action.ADMIN_LIST, people=people)
        return response


@admin.register(AssessmentEvent)
class AssessmentEventAdmin(ReadOnlyAdmin):
    """The state-change log of every assessment: who, when, from, to, why."""

    list_display = ["at", "assessment", "actor", "from_state", "to_state", "note"]
    list_filter = ["to_state", "assessment__period"]
    search_fields = ["assessment__employee__nip", "assessment__employee__full_name", "actor__username"]
    list_select_related = ["assessment__employee", "assessment__period", "actor"]
    ordering = ["-id"]
    date_hierarchy = "at"
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "viewer", "action", "employee", "unit", "period", "people_count"]
    list_filter = ["action"]
    search_fields = ["employee__nip", "employee__full_name", "viewer__username", "people__nip"]
    list_select_related = ["viewer", "employee", "unit", "period"]
    # An export's entry may cover a province: its change page counts the people, never lists them.
    fields = ["at", "viewer", "action", "employee", "assessment", "unit", "period", "people_count"]

    def get_queryset(self, request):
        covered = AccessLog.people.through.objects.filter(accesslog=OuterRef("pk")).order_by().values("accesslog")
        return super().get_queryset(request).annotate(n_people=Subquery(covered.annotate(n=Count("pk")).values("n")))

    @admin.display(description=gettext_lazy("people covered"))
    def people_count(self, obj):
        return obj.n_people or ""
    date_hierarchy = "at"
    show_full_result_count = False
    paginator = EstimatedCountPaginator


"""Assessments and the audit trail (state changes, the access log, the privacy notices read,
retention runs): read-only; every view of people's scores is logged."""

from django.contrib import admin
from django.db.models import Count, OuterRef, Subquery
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import privacy
from ..models import (
    AccessLog,
    AssessmentEvent,
    PrivacyAcknowledgement,
    Rating,
    RetentionRun,
    SelfAssessment,
    Visibility,
)
from ..scoring import Grade
from .common import EstimatedCountPaginator, ReadOnlyAdmin, ReadOnlyInline


def _confidential() -> str:
    return _("confidential")


class RatingInline(ReadOnlyInline):
    model = Rating
    fields = ["indicator", "score", "note", "evidence_name"]


class AssessmentEventInline(ReadOnlyInline):
    model = AssessmentEvent
    fields = ["at", "actor", "from_state", "to_state", "note"]


class ReviewedGradeFilter(admin.SimpleListFilter):
    """The grade, of reviewed periods only: a confidential period's grades are nobody's to list."""

    title = gettext_lazy("grade")
    parameter_name = "grade"

    def lookups(self, request, model_admin):
        return Grade.choices

    def queryset(self, request, queryset):
        if self.value() in Grade.values:
            return queryset.filter(grade=self.value()).exclude(period__visibility=Visibility.CONFIDENTIAL)
        return queryset


@admin.register(SelfAssessment)
class SelfAssessmentAdmin(ReadOnlyAdmin):
    """Read-only. In a confidential period only the person and the internal assessment team
    see the answers (permissions.sees_individuals): the index, grade and ratings are left out."""

    list_display = ["employee", "period", "unit", "state", "shown_index", "shown_grade", "submitted_at"]
    list_filter = ["period", "state", ReviewedGradeFilter]
    search_fields = ["employee__nip", "employee__full_name"]
    list_select_related = ["employee", "period", "unit"]
    ordering = ["-id"]  # the default (period, then name) sorts half a million rows per page view
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    inlines = [RatingInline, AssessmentEventInline]

    @admin.display(description=gettext_lazy("integrity index"), ordering="index_score")
    def shown_index(self, obj):
        return _confidential() if obj.period.is_confidential else obj.index_score

    @admin.display(description=gettext_lazy("grade"))
    def shown_grade(self, obj):
        return _confidential() if obj.period.is_confidential else obj.get_grade_display()

    def get_inlines(self, request, obj):
        if obj is not None and obj.period.is_confidential:
            return [AssessmentEventInline]
        return super().get_inlines(request, obj)

    def get_exclude(self, request, obj=None):
        if obj is not None and obj.period.is_confidential:
            return ["index_score", "grade"]
        return super().get_exclude(request, obj)

    # Both pages show people's index and grade (and the change page their answers): each
    # view is in the access log, as the staff table is.
    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        assessment = response.context_data.get("original") if hasattr(response, "context_data") else None
        if assessment is not None and not assessment.period.is_confidential:
            privacy.access_record(viewer=request.user, action=AccessLog.Action.ADMIN, assessment=assessment)
        return response

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = response.context_data.get("cl") if hasattr(response, "context_data") else None
        if changelist is not None:
            people = [a.employee_id for a in changelist.result_list if a.index_score is not None and not a.period.is_confidential]
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


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyAdmin):
    """Each run of `manage.py retention_apply`, dry or real, and what it deleted per period."""

    list_display = ["at", "dry_run", "retention_years", "period_codes", "assessments", "ratings", "evidence_files"]
    list_filter = ["dry_run"]
    fields = ["at", "dry_run", "retention_years", "periods", "assessments", "ratings", "evidence_files", "pillar_scores", "notes"]
    date_hierarchy = "at"

    @admin.display(description=gettext_lazy("periods"))
    def period_codes(self, obj):
        return ", ".join(entry["period"] for entry in obj.periods) or "–"


@admin.register(PrivacyAcknowledgement)
class PrivacyAcknowledgementAdmin(ReadOnlyAdmin):
    """Who read the privacy notice of which period, and the visibility it described: recorded by
    the notice's button (privacy.notice_acknowledge), never by hand."""

    list_display = ["at", "user", "period", "visibility"]
    list_filter = ["period", "visibility"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user", "period"]
    date_hierarchy = "at"
    show_full_result_count = False
    paginator = EstimatedCountPaginator

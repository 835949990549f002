"""Periods: create the next quarter, open it (freezing its questionnaire), close it."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from .. import jobs, periods, services
from ..models import (
    COUNTED_STATES,
    EDITABLE_STATES,
    AssessmentPeriod,
    AssessmentState,
    Job,
    PeriodIndicator,
    PeriodPillar,
)
from .common import ReadOnlyInline


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
    list_display = ["__str__", "code", "opens_on", "closes_on", "status", "shown_visibility", "submitted", "drafts"]
    list_filter = ["status", "year"]
    inlines = [PeriodQuestionnaireInline]
    change_form_template = "admin/assessments/assessmentperiod/change_form.html"
    change_list_template = "admin/assessments/assessmentperiod/change_list.html"
    actions = ["rebuild_summaries"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:  # a repair: superusers only (the job checks it again)
            actions.pop("rebuild_summaries", None)
        return actions

    @admin.action(description=gettext_lazy("Recompute the summaries of the selected open periods (in the background)"))
    def rebuild_summaries(self, request, queryset):
        started = []
        for period in queryset.filter(status=AssessmentPeriod.Status.OPEN):
            job = jobs.job_start(kind=Job.Kind.SUMMARY_REBUILD, user=request.user, params={"period": period.pk}, total=1)
            started.append(format_html('<a href="{}">{}</a>', reverse("assessments:job", args=[job.pk]), period))
        if not started:
            self.message_user(request, _("Only an open period's summaries are recomputed; a closed period's figures are final."), messages.WARNING)
            return
        self.message_user(request, format_html(_("Started in the background: {}."), format_html_join(", ", "{}", ((link,) for link in started))), messages.SUCCESS)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_submitted=Count("assessments", filter=Q(assessments__state__in=COUNTED_STATES)),
            n_drafts=Count("assessments", filter=Q(assessments__state__in=EDITABLE_STATES)),
        )

    def get_list_display(self, request):
        """The columns, with the framework version each period froze (read once per page)."""
        versions = periods.questionnaire_versions()

        @admin.display(description=gettext_lazy("framework version"))
        def framework_version(obj):
            number = versions.get(obj.pk)
            return _("version %(n)s") % {"n": number} if number else _("not opened yet")

        columns = list(super().get_list_display(request))
        return [*columns[:5], framework_version, *columns[5:]]

    @admin.display(description=gettext_lazy("visibility of answers"))
    def shown_visibility(self, obj):
        if obj.status == AssessmentPeriod.Status.PLANNED:
            return _("fixed when it opens")
        return obj.get_visibility_display()

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
        return ["year", "quarter", "opens_on", "closes_on", "personal_data_removed_at"]

    def has_delete_permission(self, request, obj=None):
        # The user's permission first: without it (an office admin) nothing is deleted.
        return super().has_delete_permission(request, obj) and (obj is None or obj.status == AssessmentPeriod.Status.PLANNED)

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
        period = periods.period_create_next()
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
                periods.period_open(period=period, opens_early=request.POST.get("opens_early") == "1")
            except services.ServiceError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, _("%(period)s is open; its questionnaire is now fixed.") % {"period": period}, messages.SUCCESS)
            return redirect("admin:assessments_assessmentperiod_change", period.pk)
        plan = periods.period_open_plan(period=period)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "period": period,
            "plan": plan,
            "pillars": [(pillar, len(plan.indicators_of(pillar))) for pillar in plan.pillars],
            # Opening early is asked on this page (the warning and its confirmation), not refused.
            "refusal": plan.refusal(opens_early=True),
            "opens_early": period.starts_later(),
            "title": _("Open %(period)s") % {"period": period},
        }
        return render(request, "admin/assessments/assessmentperiod/open_confirm.html", context)

    def close_view(self, request, pk):
        period = get_object_or_404(AssessmentPeriod, pk=pk)
        self._check_change(request, period)
        if request.method == "POST":
            try:
                periods.period_close(period=period)
            except services.ServiceError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, _("%(period)s is closed.") % {"period": period}, messages.SUCCESS)
            return redirect("admin:assessments_assessmentperiod_change", period.pk)
        left = period.assessments.aggregate(
            waiting=Count("pk", filter=Q(state__in=EDITABLE_STATES)),
            unreviewed=Count("pk", filter=Q(state=AssessmentState.SUBMITTED)),
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "period": period,
            "waiting": left["waiting"],
            "unreviewed": left["unreviewed"],
            "days_early": max(period.days_left(), 0),
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

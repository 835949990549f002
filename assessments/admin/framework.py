"""The framework: themes, pillars, indicators, and the versions that periods froze."""

from django.contrib import admin
from django.db.models import Count, Q
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from ..models import (
    Indicator,
    PeriodIndicator,
    PeriodPillar,
    Pillar,
    Theme,
)
from .common import ReadOnlyInline, activate, retire


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
        ("guidance", "guidance_en"),
        ("rubric_low", "rubric_low_en"),
        ("rubric_2", "rubric_2_en"),
        ("rubric_3", "rubric_3_en"),
        ("rubric_4", "rubric_4_en"),
        ("rubric_high", "rubric_high_en"),
    ]


class FrozenVersionInline(ReadOnlyInline):
    """The versions of a pillar or an indicator that periods froze when they opened."""

    verbose_name = gettext_lazy("version used by a period")
    verbose_name_plural = gettext_lazy("versions used by periods (frozen when each period opened)")


class PeriodPillarVersionInline(FrozenVersionInline):
    model = PeriodPillar
    fk_name = "pillar"
    fields = ["period", "name", "weight", "order"]


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


class PeriodIndicatorVersionInline(FrozenVersionInline):
    model = PeriodIndicator
    fk_name = "indicator"
    fields = ["period_name", "statement", "weight", "note_required_at_extremes"]

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
    fieldsets = [
        (None, {"fields": ["pillar", "code", "statement", "statement_en", "guidance", "guidance_en"]}),
        (
            gettext_lazy("Rubric: what each rating looks like (empty: the words of the scale)"),
            {"fields": [("rubric_low", "rubric_low_en"), ("rubric_2", "rubric_2_en"), ("rubric_3", "rubric_3_en"), ("rubric_4", "rubric_4_en"), ("rubric_high", "rubric_high_en")]},
        ),
        (None, {"fields": ["weight", "order", "is_active", "note_required_at_extremes"]}),
    ]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The framework is frozen per period when it opens: say when an edit takes effect.
        self.message_user(request, _("This change applies from the next period opened; open and past periods keep their questionnaire."))

"""Periods: the quarters, opening one (which freezes its questionnaire) and closing it. Each
write runs in one transaction; a refusal is a services.ServiceError with a message."""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from . import structure, summaries, verification
from .models import AssessmentPeriod, Indicator, OrganisationSetting, PeriodIndicator, PeriodPillar, Pillar
from .services import ServiceError


def quarter_dates(year: int, quarter: int) -> tuple[datetime.date, datetime.date]:
    """Return the first and last day of a calendar quarter."""
    first = datetime.date(year, 3 * quarter - 2, 1)
    following = datetime.date(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1)
    return first, following - datetime.timedelta(days=1)


def period_create_next() -> AssessmentPeriod:
    """Create the quarter after the latest period (or the current quarter), with its dates."""
    latest = AssessmentPeriod.objects.order_by("-year", "-quarter").first()
    if latest:
        year, quarter = (latest.year + 1, 1) if latest.quarter == 4 else (latest.year, latest.quarter + 1)
    else:
        today = timezone.localdate()
        year, quarter = today.year, (today.month - 1) // 3 + 1
    opens_on, closes_on = quarter_dates(year, quarter)
    return AssessmentPeriod.objects.create(year=year, quarter=quarter, opens_on=opens_on, closes_on=closes_on)


@dataclass
class OpenPlan:
    """What opening a period would freeze (the active pillars of a theme in order, with their
    active indicators), and what stands in its way."""

    period: AssessmentPeriod
    pillars: list[Pillar]
    indicators: list[Indicator]
    open_period: AssessmentPeriod | None

    def indicators_of(self, pillar: Pillar) -> list[Indicator]:
        return [i for i in self.indicators if i.pillar_id == pillar.pk]

    @property
    def empty_pillars(self) -> list[Pillar]:
        return [p for p in self.pillars if not self.indicators_of(p)]

    def refusal(self, *, opens_early: bool = False, loads_history: bool = False) -> ServiceError | None:
        """Why the period cannot be opened now, or None.

        Today must lie within its dates: a period whose closing date has passed could take no
        answer (only `loads_history`, the demo and test data, opens one), and opening before
        the opening date fixes the questionnaire early while staff wait for that date, so the
        admin confirms it (`opens_early`) after being told so.
        """
        if self.period.status != AssessmentPeriod.Status.PLANNED:
            return ServiceError(_("Only a planned period can be opened."), code="not_planned")
        if self.open_period:
            return ServiceError(
                _("%(period)s is still open. Close it before opening another period.") % {"period": self.open_period},
                code="other_open",
            )
        if not self.pillars:
            return ServiceError(_("There is no active pillar to assess."), code="empty")
        if self.empty_pillars:
            names = ", ".join(str(p) for p in self.empty_pillars)
            return ServiceError(_("These active pillars have no active indicator: %(names)s.") % {"names": names}, code="empty_pillar")
        if self.period.has_ended() and not loads_history:
            return ServiceError(
                _("%(period)s ended on %(date)s: move its closing date to today or later before opening it.")
                % {"period": self.period, "date": date_format(self.period.closes_on, "j F Y")},
                code="ended",
            )
        if self.period.starts_later() and not (opens_early or loads_history):
            return ServiceError(
                _("%(period)s starts on %(date)s. Confirm on the opening page to open it before then.")
                % {"period": self.period, "date": date_format(self.period.opens_on, "j F Y")},
                code="before_start",
            )
        return None


def period_open_plan(*, period: AssessmentPeriod) -> OpenPlan:
    """Return what opening `period` would freeze and what refuses it: the one place for the
    preconditions, read by the admin's preview and checked again by `period_open`."""
    pillars = list(Pillar.objects.filter(is_active=True, theme__isnull=False).select_related("theme").order_by("theme__order", "order", "code"))
    return OpenPlan(
        period=period,
        pillars=pillars,
        indicators=list(Indicator.objects.filter(is_active=True, pillar__in=pillars).order_by("order", "code")),
        open_period=AssessmentPeriod.objects.filter(status=AssessmentPeriod.Status.OPEN).exclude(pk=period.pk).first(),
    )


@transaction.atomic
def period_open(*, period: AssessmentPeriod, opens_early: bool = False, loads_history: bool = False) -> AssessmentPeriod:
    """Open a planned period: freeze the framework in force as its questionnaire, and the
    organisation's visibility setting as its own.

    Raises ServiceError (OpenPlan.refusal) when another period is open, the period is not
    planned, an active pillar has no active indicator, its closing date has passed (unless
    `loads_history`), or its opening date is still to come (unless `opens_early`, confirmed).
    """
    period = AssessmentPeriod.objects.select_for_update().get(pk=period.pk)
    plan = period_open_plan(period=period)
    if refusal := plan.refusal(opens_early=opens_early, loads_history=loads_history):
        raise refusal
    pillars, indicators = plan.pillars, plan.indicators

    snapshots = PeriodPillar.objects.bulk_create(
        PeriodPillar(
            period=period,
            pillar=pillar,
            theme_name=pillar.theme.name,
            theme_name_en=pillar.theme.name_en,
            name=pillar.name,
            name_en=pillar.name_en,
            description=pillar.description,
            description_en=pillar.description_en,
            weight=pillar.weight,
            order=position,
        )
        for position, pillar in enumerate(pillars, start=1)
    )
    by_pillar = {snapshot.pillar_id: snapshot for snapshot in snapshots}
    positions: dict[int, int] = {}
    items = []
    for indicator in indicators:
        positions[indicator.pillar_id] = positions.get(indicator.pillar_id, 0) + 1
        items.append(
            PeriodIndicator(
                pillar=by_pillar[indicator.pillar_id],
                indicator=indicator,
                **{
                    name: getattr(indicator, name)
                    for text in PeriodIndicator.FROZEN_TEXTS
                    for name in (text, f"{text}_en")
                },
                weight=indicator.weight,
                order=positions[indicator.pillar_id],
                note_required_at_extremes=indicator.note_required_at_extremes,
            )
        )
    PeriodIndicator.objects.bulk_create(items)
    structure.period_tree_record(period=period)
    period.status = AssessmentPeriod.Status.OPEN
    period.opened_at = timezone.now()
    # Who sees the answers is fixed with the questionnaire: staff are told before they answer.
    period.visibility = OrganisationSetting.current().visibility
    period.save(update_fields=["status", "opened_at", "visibility"])
    summaries.period_expected_refresh(period=period)
    return period


@transaction.atomic
def period_close(*, period: AssessmentPeriod) -> AssessmentPeriod:
    """Close an open period: nothing more can be saved or submitted; its organisation (the unit
    tree), expected counts and summary rows are final from now on; the verification sample is
    drawn."""
    period = AssessmentPeriod.objects.select_for_update().get(pk=period.pk)
    if period.status != AssessmentPeriod.Status.OPEN:
        raise ServiceError(_("Only an open period can be closed."), code="not_open")
    summaries.summaries_lock(period.pk)  # every change still pending is in the final figures
    summaries.period_expected_refresh(period=period)
    # The organisation it was assessed in, as it stands at the close: final from now on.
    structure.period_tree_record(period=period)
    period.status = AssessmentPeriod.Status.CLOSED
    period.closed_at = timezone.now()
    period.save(update_fields=["status", "closed_at"])
    # The internal assessment team's sample, drawn from the final set of submissions.
    verification.sample_draw(period=period)
    return period


def questionnaire_versions() -> dict[int, int]:
    """Return {period id: version number} for every opened period, in the order of the
    quarters: version 1 for the first, and a new number whenever a period froze a
    questionnaire that differs from the one before it (a pillar or an indicator added,
    retired, reworded or reweighted), so the admin sees which periods were asked the same."""
    pillar_rows = PeriodPillar.objects.order_by("pk").values_list("period_id", "pillar_id", "name", "weight", "order")
    indicator_rows = PeriodIndicator.objects.order_by("pk").values_list(
        "pillar__period_id", "indicator_id", "weight", "order", "note_required_at_extremes",
        *[name for text in PeriodIndicator.FROZEN_TEXTS for name in (text, f"{text}_en")],
    )
    content: dict[int, list] = {}
    for period_id, *rest in [*pillar_rows, *indicator_rows]:
        content.setdefault(period_id, []).append(tuple(rest))
    versions, previous, number = {}, None, 0
    for period_id in AssessmentPeriod.objects.filter(pk__in=content).order_by("year", "quarter").values_list("pk", flat=True):
        questionnaire = sorted(content[period_id], key=repr)
        if questionnaire != previous:
            number += 1
        versions[period_id], previous = number, questionnaire
    return versions

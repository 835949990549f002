"""Supervisors (and admins): unit dashboard, drill-down, staff table, exports, bulk approval.

Every page reads aggregates from `rollups.py`; the unit comes from
`permissions.get_unit_for_user`, so a unit outside the user's scope is a 404.
"""

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import credibility, disclosure, permissions, privacy, reminders, rollups, services, structure
from ..db_router import dashboard_reads
from ..models import AccessLog, AssessmentPeriod, AssessmentState, SelfAssessment, WorkUnit
from ..scoring import Grade, rounded
from .common import query_without_page

TREND_PERIODS = 8
STAFF_PAGE_SIZE = 50
# A staff table counts at most this many people: counting a province's 100,000 on every page
# would cost more than the rest of the page. Past it, the table pages through the first
# STAFF_COUNT_LIMIT (by name) and asks to narrow the list down (filter, search, a unit below).
STAFF_COUNT_LIMIT = 10_000


class CappedCountPaginator(Paginator):
    """Counts at most `limit` rows (a LIMIT inside the COUNT); `capped` says there are more."""

    def __init__(self, object_list, per_page, *, limit):
        super().__init__(object_list, per_page)
        self.limit = limit

    @cached_property
    def counted(self) -> int:
        # Without the ordering and the annotated columns: the first `limit` rows in any order.
        return self.object_list.order_by().values("pk")[: self.limit + 1].count()

    @property
    def capped(self) -> bool:
        return self.counted > self.limit

    @cached_property
    def count(self) -> int:
        return min(self.counted, self.limit)


def _period_choice(request):
    """Return (periods, chosen, previous): every period that has opened, newest first; the one
    asked for in ?periode=, else the open one, else the latest; and the one before it."""
    periods = list(AssessmentPeriod.objects.exclude(status=AssessmentPeriod.Status.PLANNED).order_by("-year", "-quarter"))
    if not periods:
        raise Http404
    code = request.GET.get("periode", "")
    chosen = next((p for p in periods if p.code == code), None)
    chosen = chosen or next((p for p in periods if p.status == AssessmentPeriod.Status.OPEN), periods[0])
    position = periods.index(chosen)
    previous = periods[position + 1] if position + 1 < len(periods) else None
    return periods, chosen, previous


def _breadcrumb(user, tree: structure.PeriodTree, unit: WorkUnit) -> list[WorkUnit]:
    """The unit's ancestors in the period's tree that lie in the user's scope for that period,
    outermost first, ending with the unit."""
    return [u for u in [*tree.ancestors(unit), unit] if permissions.unit_in_scope(user, u, tree.period)]


def unit_page(request, code: str, get_unit=permissions.get_unit_for_user) -> dict:
    """The unit (got through `get_unit`: in the user's scope, else 404) as it stood in the period
    asked for: a closed period shows the organisation it was assessed in (structure.PeriodTree)."""
    periods, period, previous = _period_choice(request)
    unit = get_unit(request.user, code, period)
    tree = structure.PeriodTree(period)
    shown = tree.version_of(unit)
    return {
        "unit": shown or unit,
        "absent": shown is None,  # the unit did not exist yet in that period
        "tree": tree,
        "structure_note": tree.differs_from_today(),
        "periods": periods,
        "period": period,
        "previous_period": previous,
        "breadcrumb": _breadcrumb(request.user, tree, shown or unit),
        "pillars": list(period.pillars.order_by("order")),
        # A confidential period: this viewer sees group figures only (disclosure.py).
        "scores_withheld": disclosure.scores_withheld(request.user, period),
        "privacy_min": settings.PRIVACY_MIN_GROUP,
    }


@login_required
def dashboard_home(request):
    """Send a supervisor to the unit they head (or let them choose), an admin to the root."""
    tops = permissions.scope_roots(request.user)
    if not tops:
        raise Http404
    if len(tops) == 1:
        return redirect("assessments:dashboard", tops[0].code)
    return render(request, "assessments/unit_choose.html", {"units": tops})


@login_required
@dashboard_reads
def unit_dashboard(request, code):
    return render(request, "assessments/unit_dashboard.html", dashboard_context(request, code))


def dashboard_context(request, code: str, get_unit=permissions.get_unit_for_user) -> dict:
    """Everything the unit dashboard shows (and its PDF report, reports.py): the unit's
    roll-up, pillars, grades, trend and weak spots, masked for this viewer (disclosure.py)."""
    context = unit_page(request, code, get_unit)
    unit, period, previous, pillars = context["unit"], context["period"], context["previous_period"], context["pillars"]
    rollup = rollups.unit_rollup(unit=unit, period=period, previous=previous)
    organisation = rollups.unit_rollup(unit=None, period=period)
    position = context["periods"].index(period)
    trend = rollups.index_trend(unit=unit, periods=context["periods"][position : position + TREND_PERIODS])
    disclosure.mask(request.user, [rollup, organisation, *(r for _p, r in trend)], context["periods"])
    combined = next((r.combined_from for _p, r in trend if r.combined_from), [])
    pillar_rows = [
        {"pillar": p, "mean": rollup.pillar_mean(p.pillar_id), "change": rollup.pillar_change(p.pillar_id)} for p in pillars
    ]
    context |= {
        "tab": "dashboard",
        "rollup": rollup,
        "pillar_rows": pillar_rows,
        "bands": [{"grade": g, "count": rollup.band(g.value), "change": rollup.band_change(g.value)} for g in Grade],
        "weak_indicators": [] if rollup.withheld else rollups.weakest_indicators(unit=unit, period=period),
        "pillar_gaps": [gap for gap in rollups.pillar_gaps(rollup=rollup, organisation=organisation, pillars=pillars) if gap.gap < 0][:3],
        "organisation_withheld": organisation.withheld and not rollup.withheld,
        "pillar_chart": {
            "labels": [p.localized("name") for p in pillars],
            "datasets": [
                {"label": str(period), "data": [rounded(r["mean"]) for r in pillar_rows]},
                *(
                    [{"label": str(previous), "data": [rounded(rollup.previous.pillar_mean(p.pillar_id)) for p in pillars]}]
                    if previous
                    else []
                ),
            ],
        },
        "trend_chart": {
            "labels": [f"{p} ({_('combined')})" if r.combined_from else str(p) for p, r in trend],
            "datasets": [{"label": _("Integrity index"), "data": [rounded(r.index_mean) for _p, r in trend]}],
        },
        "trend": trend,
        "merged_codes": ", ".join(u.code for u in combined),
        "split_from": structure.split_from(unit),
    } | verified_context(request.user, unit, period, pillars)
    return context


def verified_context(user, unit, period, pillars) -> dict:
    """The self and verified figures of the unit's verified assessments, where enough exist
    and disclosure control allows (verification.VerifiedRollup)."""
    figures = disclosure.verified_figures(user, period, [unit])[unit.pk if unit else None]
    return {
        "verified": figures,
        "verified_pillars": [{"pillar": p, "figures": figures.pillar_gap(p.pillar_id)} for p in pillars],
        "verified_flag_points": settings.VERIFICATION_GAP_FLAG,
    }


# "pilar-<id>" sorts by a pillar's column; ASCII digits only, and few of them: int() of "²" or of
# 4,301 digits raises ValueError.
PILLAR_SORT_KEY = re.compile(r"pilar-([0-9]{1,9})", re.ASCII)

SORT_KEYS = {
    "nama": lambda r: r.unit.name.lower(),
    "n": lambda r: r.counted,
    "target": lambda r: r.expected,
    "partisipasi": lambda r: r.participation,
    "indeks": lambda r: r.index_mean,
}


def _sorted(rows, key: str, descending: bool):
    """Sort drill-down rows by a column; rows without a value go last either way."""
    if match := PILLAR_SORT_KEY.fullmatch(key):
        pillar_id = int(match.group(1))
        value = lambda r: r.pillar_mean(pillar_id)  # noqa: E731
    else:
        value = SORT_KEYS.get(key)
    if value is None:
        return rows
    known = [r for r in rows if value(r) is not None]
    unknown = [r for r in rows if value(r) is None]
    return sorted(known, key=value, reverse=descending) + unknown


TREE_PAGE_SIZE = 100


def subunit_rows(request, unit, period, previous, paginate=True):
    """Rows of the drill-down: direct sub-units (sortable), or every unit below as a tree,
    a page of TREE_PAGE_SIZE units at a time (all of them for an export).
    Returns (mode, rows, page or None)."""
    mode = "pohon" if request.GET.get("tampilan") == "pohon" else "anak"
    if mode == "pohon":
        tree = structure.PeriodTree(period)
        below = tree.subtree_rows(unit).exclude(path=unit.path)
        page = Paginator(below, TREE_PAGE_SIZE).get_page(request.GET.get("page")) if paginate else None
        rows = rollups.rollups_of(units=tree.units(page.object_list if page else below), period=period, previous=previous)
        disclosure.mask(request.user, rows, [period, previous])
        return mode, rows, page
    rows = rollups.child_rollups(unit=unit, period=period, previous=previous)
    disclosure.mask(request.user, rows, [period, previous])  # before sorting: an order tells too
    return mode, _sorted(rows, request.GET.get("urut", ""), request.GET.get("arah") == "turun"), None


@login_required
@dashboard_reads
def unit_subunits(request, code):
    context = unit_page(request, code)
    mode, rows, page = subunit_rows(request, context["unit"], context["period"], context["previous_period"])
    context |= {
        "tab": "subunits",
        "mode": mode,
        "page": page,
        "query": query_without_page(request),
        "pillar_columns": [{"pillar": p, "key": f"pilar-{p.pillar_id}"} for p in context["pillars"]],
        "rows": rows,
        "verified": disclosure.verified_figures(request.user, context["period"], [r.unit for r in rows]),
        "sort": request.GET.get("urut", ""),
        "descending": request.GET.get("arah") == "turun",
    }
    return render(request, "assessments/unit_subunits.html", context)


def staff_filters(request) -> dict:
    state = request.GET.get("status", "")
    grade = request.GET.get("predikat", "")
    return {
        "state": state if state in [rollups.NOT_STARTED, *AssessmentState.values, rollups.ELSEWHERE, rollups.NOT_SUBMITTED] else "",
        "grade": grade if grade in Grade.values else "",
        "search": request.GET.get("q", "")[:100],
        "subtree": request.GET.get("semua") == "1",
    }


@login_required
@dashboard_reads
def unit_staff(request, code):
    context = unit_page(request, code)
    filters = staff_filters(request)
    staff = rollups.staff_table(unit=context["unit"], period=context["period"], viewer=request.user, **filters)
    page = CappedCountPaginator(staff, STAFF_PAGE_SIZE, limit=STAFF_COUNT_LIMIT).get_page(request.GET.get("page"))
    privacy.access_record(
        viewer=request.user,
        action=AccessLog.Action.STAFF_TABLE,
        unit=context["unit"],
        period=context["period"],
        people=[employee.pk for employee in page if employee.a_index is not None],
    )
    context |= {
        "tab": "staff",
        "filters": filters,
        "page": page,
        "query": query_without_page(request),
        "states": [(code, rollups.staff_state_label(code)) for code in (
            rollups.PARTICIPATION_STATES if context["scores_withheld"] else (rollups.NOT_STARTED, *AssessmentState.values, rollups.ELSEWHERE)
        )],
        "grades": Grade.choices,
        "reminder": reminders.reminder_box(unit=context["unit"], period=context["period"]),
    }
    return render(request, "assessments/unit_staff.html", context)


@login_required
@require_POST
def bulk_approve(request, code):
    unit = permissions.get_unit_for_user(request.user, code)
    back = request.POST.get("kembali", "")
    back = back if back.startswith(reverse("assessments:staff", args=[unit.code])) else reverse("assessments:staff", args=[unit.code])
    try:
        ids = sorted({int(value) for value in request.POST.getlist("pilih")})
    except ValueError:
        ids = None
    if not ids:
        messages.error(request, _("Select at least one submitted assessment to approve."))
        return redirect(back)
    # An id past the 64-bit range names no assessment (and SQLite refuses to look it up): it
    # stays in `ids`, so the selection is refused as a whole below.
    found = [pk for pk in ids if 0 < pk < 2**63]
    chosen = list(SelfAssessment.objects.filter(pk__in=found).select_related("employee__user", "unit", "period"))
    refused = len(chosen) != len(ids) or any(
        not permissions.can_approve(request.user, a) for a in chosen
    )
    if refused:
        messages.error(request, _("Some selected assessments cannot be approved by you, or are no longer waiting for review. Nothing was approved."))
        return redirect(back)
    if request.POST.get("konfirmasi") != "1":
        # The confirmation lists each person's index: a view of their figures, logged.
        privacy.access_record(viewer=request.user, action=AccessLog.Action.REVIEW, unit=unit, people=[a.employee_id for a in chosen])
        return render(request, "assessments/bulk_approve_confirm.html", {"unit": unit, "assessments": chosen, "back": back})
    try:
        count = services.assessments_approve_many(assessments=chosen, reviewer=request.user)
    except services.ServiceError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(request, _("%(count)s assessments approved.") % {"count": count})
    return redirect(back)


# --- The organisation roll-up (Rekap Instansi), for admins and office admins ----------------------


def organisation_for_user(request) -> dict:
    """What the Rekap Instansi and its export show: for admins the whole organisation, for office
    admins their own units and everything below them (permissions.managed_units; their figures
    always under disclosure control, disclosure.py), for anyone else 403. The period asked for
    (else the open or the latest), the period to compare with (else the one before), the level
    to go down to (else the deepest), the units down to it in tree order (`tops`: the office
    admin's units as they stood in the period, None for the whole organisation), and the
    period's pillars."""
    tops = permissions.managed_units(request.user)
    if tops is not None and not tops:
        raise PermissionDenied
    periods, period, previous = _period_choice(request)
    compare = next((p for p in periods if p.code == request.GET.get("banding") and p != period), previous)
    tree = structure.PeriodTree(period)
    if tops is not None:
        tops = [then for then in (tree.version_of(top) for top in tops) if then is not None]
    deepest = tree.deepest()
    first = min((top.depth for top in tops), default=deepest) if tops is not None else 1
    try:
        level = min(max(int(request.GET.get("tingkat", deepest)), first), deepest)
    except ValueError:
        level = deepest
    return {
        "periods": periods,
        "period": period,
        "compare": compare,
        "levels": range(first, deepest + 1),
        "level": level,
        "tree": tree,
        "tops": tops,
        "structure_note": tree.differs_from_today(),
        "units": tree.subtree_rows(None, level) if tops is None else tree.subtrees_rows(tops, level),
        "pillars": list(period.pillars.order_by("order")),
    }


@login_required
@dashboard_reads
def organisation(request):
    """Every unit (of an office admin: theirs) as an indented tree with its roll-up, compared
    with a second period."""
    context = organisation_for_user(request)
    period, compare = context["period"], context["compare"]
    page = Paginator(context["units"], TREE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = rollups.rollups_of(units=context["tree"].units(page.object_list), period=period, previous=compare)
    # The whole organisation's line for admins; an office admin's own units head their rows.
    total = rollups.unit_rollup(unit=None, period=period, previous=compare) if context["tops"] is None else None
    # A confidential period: the admin too sees group figures only (disclosure.py).
    disclosure.mask(request.user, [*rows, *([total] if total else [])], [period, compare])
    context |= {
        "rows": rows,
        "verified": disclosure.verified_figures(request.user, period, [r.unit for r in rows]),
        "signals": credibility.rows_signals(rows),
        "page": page,
        "query": query_without_page(request),
        "total": total,
        # Unit names link to the unit dashboards, which an office admin does not open.
        "unit_links": context["tops"] is None,
        "privacy_min": settings.PRIVACY_MIN_GROUP,
        "gap_points": settings.VERIFICATION_GAP_FLAG,
    }
    return render(request, "assessments/organisation.html", context)

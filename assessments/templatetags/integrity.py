from django import template
from django.urls import reverse
from django.utils.formats import get_format
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..retention import answers_deleted_notice as _answers_deleted_notice
from ..rollups import staff_state_label
from ..scoring import GRADE_BANDS, Grade, grade_for, one_decimal

register = template.Library()

# A mean of fewer assessments than this moves a lot with one person: such figures are shown
# (to heads of unit and admins, who may see the answers behind them) but marked as a small
# sample. Not the privacy threshold (PRIVACY_MIN_GROUP), which hides figures from staff.
SMALL_SAMPLE = 10

# The levels of the tree of units by depth, as the organisation page names them.
LEVEL_NAMES = {
    1: gettext_lazy("Organisation"),
    2: gettext_lazy("Echelon I"),
    3: gettext_lazy("Echelon II"),
    4: gettext_lazy("Echelon III"),
    5: gettext_lazy("Echelon IV"),
}


@register.filter
def localized(obj, field: str) -> str:
    """`{{ pillar|localized:"name" }}`: the English twin of a text field when English is on."""
    return obj.localized(field)


def _decimal(value) -> str:
    """A number with one decimal and the active locale's separator (scores are below 1,000:
    no grouping). Plain string work: the roll-up tables call it tens of thousands of times."""
    return f"{one_decimal(value):.1f}".replace(".", get_format("DECIMAL_SEPARATOR"))


def _signed(value) -> tuple[str, str]:
    """A signed difference with one decimal (+1,5 / −0,8 / ±0,0) and its CSS class; empty
    when unknown. One minus sign (U+2212) everywhere."""
    if value is None:
        return "", ""
    shown = one_decimal(value)
    text = _decimal(abs(shown))
    if shown > 0:
        return "+" + text, "change-up"
    if shown < 0:
        return "−" + text, "change-down"
    return "±" + text, ""


@register.filter
def score(value) -> str:
    """A score with one decimal in the active locale, or an en dash when there is none."""
    return "–" if value is None else _decimal(value)


@register.filter
def change(value) -> str:
    """A signed difference with one decimal (+1,5 / −0,8 / ±0,0), or empty when unknown."""
    return _signed(value)[0]


@register.filter
def change_class(value) -> str:
    return _signed(value)[1]


@register.filter
def count_change(value) -> str:
    """A signed change of a count (+3 / −2, the same minus sign as every other change), or
    empty when it is none or unknown."""
    if not value:
        return ""
    return f"+{value}" if value > 0 else f"−{-value}"


@register.filter
def small_sample(rollup) -> bool:
    """True when a roll-up's figures rest on fewer than SMALL_SAMPLE assessments (and some)."""
    return 0 < rollup.counted < SMALL_SAMPLE


@register.filter
def level_name(depth: int) -> str:
    """The name of a level of the tree of units ("Eselon II"), or "Level 6" past the named ones."""
    return str(LEVEL_NAMES.get(depth, "")) or _("Level %(n)s") % {"n": depth}


@register.simple_tag
def small_sample_size() -> int:
    return SMALL_SAMPLE


@register.simple_tag
def answers_deleted_notice(period) -> str:
    """`{% answers_deleted_notice period %}`: the period's answers were deleted under the
    retention rule, when, and after how many years (retention.answers_deleted_notice)."""
    return _answers_deleted_notice(period=period)


@register.simple_tag
def grade_legend() -> list[tuple[Grade, str]]:
    """The grade bands with the index each starts at, highest first (the heatmap's legend)."""
    legend = [(grade, f"≥ {floor}") for floor, grade in GRADE_BANDS]
    return [*legend, (Grade.SANGAT_KURANG, f"< {GRADE_BANDS[-1][0]}")]


@register.filter
def get(mapping, key):
    """`{{ mapping|get:key }}` for dictionaries keyed by ids."""
    return mapping.get(key) if mapping else None


@register.filter
def state_label(code: str | None) -> str:
    """The label of an assessment state code (or a staff-table state); empty: "not started"."""
    return staff_state_label(code)


@register.filter
def pillar_mean(rollup, pillar_id):
    """`{{ row|pillar_mean:pillar.pillar_id }}`: a roll-up's mean score of one pillar."""
    return rollup.pillar_mean(pillar_id)


@register.filter
def band(value) -> str:
    """The grade band code of a score, for colouring a cell (heatmap)."""
    return grade_for(value).value if value is not None else ""


@register.filter
def depth_below(unit, top) -> int:
    """How many levels `unit` lies below `top` (1 for a direct child), for indentation."""
    return min(unit.depth - (top.depth if top else 0), 8)


@register.filter
def grade_label(code: str) -> str:
    return Grade(code).label if code in Grade.values else ""


@register.simple_tag(takes_context=True)
def rollup_rows(context, rows, pillars, period, top=None, indent=False, show_change=False, verified=None, signals=None, links=True):
    """The body rows of a roll-up table: direct sub-units of `top` (with a row for its own
    staff), or an indented tree below `top` (the whole organisation when None).

    With `verified` ({unit id: verification.VerifiedRollup}) two more cells, the verified
    index and the gap (flagged over VERIFICATION_GAP_FLAG); with `signals` ({unit id:
    [credibility.Signal]}) a marker by the name of a unit with a credibility signal. Without
    `links` the names are plain text (a reader who opens no unit dashboard: an office admin).

    Built in Python rather than with template tags: a province's tree has thousands of rows of
    a dozen cells each, and this is what keeps those pages within their time budget.
    """
    no_data = escape(_("no data"))
    hidden = f'<span title="{escape(_("Hidden to protect a small group"))}">{escape(_("hidden"))}</span>'
    own_label = escape(_("Staff directly in this unit"))
    small = f'<sup class="small-sample" aria-hidden="true">*</sup><span class="visually-hidden"> {escape(_("small sample"))}</span>'

    dashboard = reverse("assessments:dashboard", args=["UNIT"])
    query = f"?periode={period.code}"
    lines = []
    for row in rows:
        unit = row.unit
        css = f" tree-indent-{depth_below(unit, top)}" if indent else ""
        own = not indent and top is not None and row.key == top.path  # the unit's own staff
        if own:
            name = f"<em>{own_label}</em>"
        elif not links:
            name = escape(unit.name)
        else:
            name = f'<a href="{dashboard.replace("UNIT", escape(unit.code))}{query}">{escape(unit.name)}</a>'
        mean = row.index_mean
        if mean is not None:
            index_cell = f'<td class="num grade-{row.grade}" data-col="index">{score(mean)}{small if small_sample(row) else ""}</td>'
        else:
            index_cell = f'<td class="num" data-col="index"><span class="text-muted small">{hidden if row.withheld and row.counted else no_data}</span></td>'

        cells = [
            f'<tr data-unit="{escape(unit.code)}"><td class="unit-col{css}">{name}</td>',
            f'<td class="num" data-col="n">{row.counted}</td><td class="num">{row.expected}</td>',
            f'<td class="num">{score(row.participation)}</td>',
            index_cell,
        ]
        if show_change:
            text, css = _signed(row.index_change)
            cells.append(f'<td class="num small {css}">{text}</td>')
        if verified is not None:  # a unit's own-staff row has no verified figures of its own
            cells.append(_verified_cells(None if own else verified.get(unit.pk)))
        for pillar in pillars:
            value = row.pillar_mean(pillar.pillar_id)
            css = f" grade-{grade_for(value).value}" if value is not None else ""
            cells.append(f'<td class="num{css}">{score(value)}</td>')
        if signals and unit.pk in signals:
            titles = escape("; ".join(f"{s.label}: {s.explanation}" for s in signals[unit.pk]))
            cells[0] = cells[0].replace("</td>", f' <span class="badge text-bg-warning" title="{titles}" data-testid="unit-signal">{escape(_("signal"))}</span></td>', 1)
        cells.append("</tr>")
        lines.append("".join(cells))
    return mark_safe("\n".join(lines))  # noqa: S308 - every text above is escaped


def _verified_cells(figures) -> str:
    """The verified index (with n) and the gap of one row, "–" where too few are verified."""
    if figures is None or figures.verified_mean is None:
        return '<td class="num">–</td><td class="num"></td>'
    flag = f' <span class="badge text-bg-warning" data-testid="gap-flag">{escape(_("check"))}</span>' if figures.flagged else ""
    return f'<td class="num" data-col="verified">{score(figures.verified_mean)} <small class="text-muted">({figures.counted})</small></td><td class="num">{_signed(figures.gap)[0]}{flag}</td>'

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ..models import AssessmentState
from ..scoring import Grade, grade_for, one_decimal

register = template.Library()


@register.filter
def localized(obj, field: str) -> str:
    """`{{ pillar|localized:"name" }}`: the English twin of a text field when English is on."""
    return obj.localized(field)


@register.filter
def score(value) -> str:
    """A score with one decimal in the active locale, or an en dash when there is none."""
    if value is None:
        return "–"
    return number_format(one_decimal(value), 1)


@register.filter
def change(value) -> str:
    """A signed difference with one decimal (+1,5 / −0,8 / ±0,0), or empty when unknown."""
    if value is None:
        return ""
    rounded = one_decimal(value)
    if rounded > 0:
        return "+" + number_format(rounded, 1)
    if rounded < 0:
        return "−" + number_format(-rounded, 1)
    return "±" + number_format(0, 1)


@register.filter
def change_class(value) -> str:
    if value is None:
        return ""
    rounded = one_decimal(value)
    return "change-up" if rounded > 0 else "change-down" if rounded < 0 else ""


@register.filter
def get(mapping, key):
    """`{{ mapping|get:key }}` for dictionaries keyed by ids."""
    return mapping.get(key) if mapping else None


@register.filter
def state_label(code: str | None) -> str:
    """The label of an assessment state code; an empty code is "not started"."""
    return AssessmentState(code).label if code in AssessmentState.values else _("Not started")


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

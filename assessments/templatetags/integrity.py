from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from ..models import AssessmentState
from ..scoring import one_decimal

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
def state_label(code: str) -> str:
    """The label of an assessment state code; an empty code is "not started"."""
    return AssessmentState(code).label if code in AssessmentState.values else _("Not started")

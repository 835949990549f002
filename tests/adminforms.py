"""Submit Django admin forms as a browser would: start from what the page shows (the form and
every inline, with their management forms), change a few fields, post it all back."""

import datetime
import decimal


def _encode(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, (datetime.date, decimal.Decimal, int, float)):
        return str(value)
    if hasattr(value, "pk"):
        return str(value.pk)
    return value


def _add_form(data: dict, form) -> None:
    for name in form.fields:
        value = form[name].value()
        key = form.add_prefix(name)
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        else:
            data[key] = _encode(value)


def form_data(response) -> dict:
    """Return the POST data of an admin add or change page as it stands (the main form, every
    inline formset with its management form), ready to be changed and posted."""
    assert response.status_code == 200, response.status_code
    context = response.context
    data = {}
    _add_form(data, context["adminform"].form)
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        _add_form(data, formset.management_form)
        for form in formset.forms:
            _add_form(data, form)
    return data


def errors(response) -> list:
    """The form and inline errors of a re-shown admin form (empty when it saved)."""
    if response.status_code != 200 or response.context is None or "adminform" not in response.context:
        return []
    found = list(response.context["adminform"].form.errors.values())
    for inline in response.context["inline_admin_formsets"]:
        found += [e for e in inline.formset.errors if e] + list(inline.formset.non_form_errors())
    return found


def change(client, url: str, **changes):
    """GET an admin form, apply `changes` (field name -> value; None removes a checkbox), and
    POST it; return the response."""
    data = form_data(client.get(url))
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return client.post(url, data)

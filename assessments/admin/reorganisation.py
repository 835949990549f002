"""Reorganising in the admin: move, rename, merge and split as actions on the unit list. Each opens
a page with its form; "Pratinjau" shows what would change (reorganise.*_plan) and "Ya, lakukan"
carries it out in one transaction. A refusal is shown on the form and changes nothing.

An office admin reorganises within their own units: they choose among them only (another unit
in the address is a 404), the parent units offered are theirs, and every unit a reorganisation
places (the moved unit, the merged one, the parts of a split) must land in them
(`permissions.unit_managed`): so they cannot move a unit of theirs to the top or beside their
own top unit, nor split or merge their top unit into units beside it."""

from functools import partial

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.validators import RegexValidator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import permissions, reorganise, services
from ..models import Employee, WorkUnit
from .common import office_choices

CODE = forms.CharField(
    label=gettext_lazy("Code of the new unit"), max_length=40,
    validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", gettext_lazy("Use letters, digits, dots, hyphens and underscores only."))],
)


def outside_message() -> str:
    """Why an office admin may not put a unit where they asked (here, and the tree's drag and drop)."""
    return _("You may only place units within the units you manage.")


def _units():
    return WorkUnit.objects.filter(is_active=True).order_by("path")


class ReorganiseForm(forms.Form):
    """`parents`: the units the user may choose as a parent (an office admin's own)."""

    def __init__(self, *args, parents=None, **kwargs):
        super().__init__(*args, **kwargs)
        if parents is not None and "parent" in self.fields:
            self.fields["parent"].queryset = parents

    def places(self, subject) -> list[WorkUnit | None]:
        """The parent units under which this reorganisation puts units (None: the top)."""
        return []

    def check_places(self, subject, user) -> None:
        """Refuse (ServiceError) to put a unit anywhere but within the user's units (an office
        admin's; admins may put units anywhere)."""
        if any(not permissions.unit_managed(user, place) for place in self.places(subject)):
            raise services.ServiceError(outside_message(), code="outside_office")


class MoveForm(ReorganiseForm):
    parent = forms.ModelChoiceField(_units(), required=False, label=gettext_lazy("New parent unit (empty: the top of the tree)"))

    def places(self, unit):
        return [self.cleaned_data["parent"]]

    def plan(self, unit):
        return reorganise.move_plan(unit=unit, parent=self.cleaned_data["parent"])

    def carry_out(self, unit, actor):
        reorganise.unit_move(unit=unit, parent=self.cleaned_data["parent"], actor=actor)


class RenameForm(ReorganiseForm):
    name = forms.CharField(label=gettext_lazy("New name"), max_length=200)

    def plan(self, unit):
        return reorganise.Plan(summary=_("%(old)s is renamed %(new)s.") % {"old": unit.name, "new": self.cleaned_data["name"]}, units=[unit])

    def carry_out(self, unit, actor):
        reorganise.unit_rename(unit=unit, name=self.cleaned_data["name"], actor=actor)


class MergeForm(ReorganiseForm):
    code = CODE
    name = forms.CharField(label=gettext_lazy("Name of the new unit"), max_length=200)
    parent = forms.ModelChoiceField(_units(), required=False, label=gettext_lazy("Parent unit (empty: the units' common parent)"))

    def places(self, units):
        return [self.cleaned_data["parent"] or reorganise.parent_of(units[0])]

    def plan(self, units):
        data = self.cleaned_data
        return reorganise.merge_plan(units=units, code=data["code"], name=data["name"], parent=data["parent"])

    def carry_out(self, units, actor):
        data = self.cleaned_data
        reorganise.units_merge(units=units, code=data["code"], name=data["name"], parent=data["parent"], actor=actor)


class SplitForm(ReorganiseForm):
    parts = forms.CharField(
        label=gettext_lazy("New units, one per line: code;name"), widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Then choose, for each staff member, the new unit they go to. Sub-units and heads go to the first."),
    )

    def __init__(self, *args, unit, **kwargs):
        super().__init__(*args, **kwargs)
        codes = [code for code, _name in self._parse(self.data.get("parts", ""))]
        choices = [("", "—")] + [(code, code) for code in codes]
        self.people = list(Employee.objects.filter(unit=unit, is_active=True).order_by("full_name"))
        for person in self.people:
            self.fields[f"staff_{person.pk}"] = forms.ChoiceField(choices=choices, required=False, label=f"{person.full_name} ({person.nip})")

    @staticmethod
    def _parse(text: str) -> list[tuple[str, str]]:
        parts = []
        for line in text.splitlines():
            code, _sep, name = line.partition(";")
            if code.strip():
                parts.append((code.strip(), name.strip() or code.strip()))
        return parts

    def clean_parts(self):
        parts = self._parse(self.cleaned_data["parts"])
        for code, name in parts:
            CODE.clean(code)
            if len(name) > WorkUnit._meta.get_field("name").max_length:
                raise forms.ValidationError(_("A unit name has at most 200 characters."), code="name_too_long")
        return parts

    def places(self, unit):
        return [reorganise.parent_of(unit)]  # the parts go beside the unit

    def _assignment(self) -> dict[int, int]:
        codes = [code for code, _name in self.cleaned_data["parts"]]
        chosen = {person.pk: self.cleaned_data.get(f"staff_{person.pk}") for person in self.people}
        return {pk: codes.index(code) for pk, code in chosen.items() if code in codes}

    def plan(self, unit):
        return reorganise.split_plan(unit=unit, parts=self.cleaned_data["parts"], staff=self._assignment())

    def carry_out(self, unit, actor):
        reorganise.unit_split(unit=unit, parts=self.cleaned_data["parts"], staff=self._assignment(), actor=actor)


# operation: (address, form, title, action label)
OPERATIONS = {
    "move": ("pindah", MoveForm, gettext_lazy("Move %(what)s"), gettext_lazy("Move the selected unit…")),
    "rename": ("ganti-nama", RenameForm, gettext_lazy("Rename %(what)s"), gettext_lazy("Rename the selected unit…")),
    "merge": ("gabung", MergeForm, gettext_lazy("Merge %(what)s"), gettext_lazy("Merge the selected units into a new unit…")),
    "split": ("pecah", SplitForm, gettext_lazy("Split %(what)s"), gettext_lazy("Split the selected unit into new units…")),
}


class ReorganiseAdminMixin:
    """Adds the four reorganisations to the unit list (as actions) and their pages."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            *(
                path(f"reorganisasi/{address}/", wrap(partial(self.reorganise_view, operation=operation)), name=f"assessments_workunit_{operation}")
                for operation, (address, *_rest) in OPERATIONS.items()
            ),
            *super().get_urls(),
        ]

    def get_actions(self, request):
        actions = super().get_actions(request)
        for operation, (_address, _form, _title, label) in OPERATIONS.items():
            actions[f"reorganise_{operation}"] = (self._action(operation), f"reorganise_{operation}", label)
        return actions

    @staticmethod
    def _action(operation: str):
        def action(modeladmin, request, queryset):
            ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
            return redirect(reverse(f"admin:assessments_workunit_{operation}") + f"?unit={ids}")

        return action

    def reorganise_view(self, request, operation):
        if not self.has_change_permission(request):
            raise PermissionDenied
        _address, form_class, title, _label = OPERATIONS[operation]
        units = self._chosen_units(request)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title % {"what": ""}}
        if not units or (operation != "merge" and len(units) != 1):
            # Reached without a selection: say how to choose one.
            problem = _("Select the unit(s) to reorganise first.") if not units else _("Select exactly one unit for this action.")
            return render(request, "admin/assessments/workunit/reorganise.html", {**context, "problem": problem})
        subject = units if operation == "merge" else units[0]
        extra = {"unit": subject} if form_class is SplitForm else {}
        parents = office_choices(request, WorkUnit)
        form = form_class(request.POST or None, parents=None if parents is None else parents.filter(is_active=True), **extra)
        plan = None
        if request.method == "POST" and form.is_valid():
            try:
                form.check_places(subject, request.user)
                if request.POST.get("langkah") == "konfirmasi":
                    form.carry_out(subject, request.user)
                    self.message_user(request, _("The reorganisation is done. Closed periods keep their organisation and figures."), messages.SUCCESS)
                    return redirect("admin:assessments_workunit_changelist")
                plan = form.plan(subject)
            except services.ServiceError as error:
                form.add_error(None, error.message)
        context |= {"title": title % {"what": ", ".join(u.name for u in units)}, "form": form, "plan": plan, "units": units}
        return render(request, "admin/assessments/workunit/reorganise.html", context)

    def _chosen_units(self, request) -> list[WorkUnit]:
        """The units named in ?unit=, in tree order: for an office admin all of them theirs, else 404."""
        ids = {int(pk) for pk in request.GET.get("unit", "").split(",") if pk.isascii() and pk.isdigit() and len(pk) < 12}
        units = list(self.get_queryset(request).filter(pk__in=ids).order_by("path"))
        if permissions.managed_units(request.user) is not None and len(units) != len(ids):
            raise Http404  # a unit outside the office admin's (or one that does not exist)
        return units


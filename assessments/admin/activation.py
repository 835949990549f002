"""Activation letters in the admin: an action on the staff list (per person) and on the unit list
(the staff of each chosen unit's subtree without an e-mail address who have never logged in).
Both open one confirmation page, since generating voids the earlier codes; confirming shows the
letters, ready to print, once: the codes are in that response only (activation.py)."""

import secrets

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .. import activation
from ..models import ActivationCode, Employee, WorkUnit
from .common import ReadOnlyAdmin

# Who may generate letters: the permission the group Admin Kepegawaian holds (and superusers).
ISSUE_PERMISSION = "assessments.add_activationcode"
# How many names the confirmation page lists; the counts say the rest.
NAMES_SHOWN = 200
_CONFIRM_KEY = "activation_letters_token"


def _ids(text: str) -> list[int]:
    return [int(pk) for pk in text.split(",") if pk.isascii() and pk.isdigit() and len(pk) < 12]


class ActivationLettersMixin:
    """Adds surat-aktivasi/ (the confirmation page, then the letters) and the action that opens
    it for the selected rows. Set `letters_parameter` (the query parameter naming the rows) and
    implement `letter_people(request, ids)`: the chosen units (among the rows the admin may see:
    an office admin's units and staff only) (none for staff), who gets a letter, and
    who does not and why."""

    letters_parameter = ""

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_activation_letters"
        return [path("surat-aktivasi/", self.admin_site.admin_view(self.activation_letters_view), name=name), *super().get_urls()]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if request.user.has_perm(ISSUE_PERMISSION):
            actions["activation_letters"] = (self._letters_action, "activation_letters", gettext_lazy("Print activation letters…"))
        return actions

    def _letters_action(self, modeladmin, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return redirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_activation_letters") + f"?{self.letters_parameter}={ids}")

    def letter_people(self, request, ids: list[int]) -> tuple[list[WorkUnit], list[Employee], list[tuple[Employee, str]]]:
        raise NotImplementedError

    def activation_letters_view(self, request):
        """GET: who gets a letter, who does not and why, and the confirmation. POST (with the
        page's one-time token): generate the codes and show the letters."""
        if not request.user.has_perm(ISSUE_PERMISSION):
            raise PermissionDenied
        units, eligible, skipped = self.letter_people(request, _ids(request.GET.get(self.letters_parameter, "")))
        changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        if request.method == "POST":
            token, expected = request.POST.get("token", ""), request.session.pop(_CONFIRM_KEY, "")
            if not (token and expected and secrets.compare_digest(token, expected)):
                # A reload or a second click of the same confirmation: generating again would void
                # the codes of letters already printed.
                messages.error(request, _("These letters were generated already (or the page expired): nothing was generated again. Choose the people again for new letters."))
                return redirect(changelist)
            if not eligible:
                messages.error(request, _("Nobody among the chosen gets an activation letter."))
                return redirect(changelist)
            letters = activation.activation_letters_issue(employees=eligible, actor=request.user)
            return render(request, "admin/assessments/activation_letters.html", self._letters_context(request, letters, changelist))
        token = request.session[_CONFIRM_KEY] = secrets.token_urlsafe(32)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Print activation letters"),
            "chosen": bool(units or eligible or skipped),
            "units": units,
            "eligible": eligible[:NAMES_SHOWN],
            "eligible_count": len(eligible),
            "skipped": skipped[:NAMES_SHOWN],
            "skipped_count": len(skipped),
            "token": token if eligible else "",
            "days": activation.ACTIVATION_DAYS,
            "changelist": changelist,
        }
        return render(request, "admin/assessments/activation_confirm.html", context)

    def _letters_context(self, request, letters, changelist) -> dict:
        return {
            "letters": [
                {"employee": letter.employee, "code": activation.code_display(letter.code), "expires_at": letter.expires_at} for letter in letters
            ],
            # The public address, as e-mails give it: the admin may be on an internal one.
            "activation_url": settings.SITE_URL.rstrip("/") + reverse("assessments:activate"),
            "login_url": settings.SITE_URL.rstrip("/") + reverse("login"),
            "printed_at": timezone.now(),
            "days": activation.ACTIVATION_DAYS,
            "changelist": changelist,
        }


class EmployeeLettersMixin(ActivationLettersMixin):
    letters_parameter = "pegawai"

    def letter_people(self, request, ids):
        chosen = self.get_queryset(request).filter(pk__in=ids)
        eligible, skipped = activation.letter_candidates(chosen)
        return [], eligible, skipped


class UnitLettersMixin(ActivationLettersMixin):
    letters_parameter = "unit"

    def letter_people(self, request, ids):
        units = list(self.get_queryset(request).filter(pk__in=ids).order_by("path"))
        return units, list(activation.unit_letter_candidates(units)), []


@admin.register(ActivationCode)
class ActivationCodeAdmin(ReadOnlyAdmin):
    """Which letters were generated, by whom, and whether they were used: never the code, nor its hash."""

    list_display = ["employee", "created_at", "expires_at", "state", "created_by"]
    list_filter = ["created_at"]
    search_fields = ["employee__nip", "employee__full_name"]
    list_select_related = ["employee", "created_by"]
    fields = ["employee", "created_by", "created_at", "expires_at", "used_at", "voided_at"]
    readonly_fields = fields

    @admin.display(description=gettext_lazy("state"))
    def state(self, code: ActivationCode) -> str:
        if code.used_at:
            return _("used")
        if code.voided_at:
            return _("replaced by a newer letter")
        if code.expires_at <= timezone.now():
            return _("expired")
        return _("waiting to be used")

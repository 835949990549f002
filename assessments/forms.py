"""Forms: the login, the questionnaire (built from a period's frozen questionnaire and laid out
with crispy-forms: one section per pillar, large 1-5 choices), the submit confirmation and the
return note. They validate input and give readable messages (repeating, with the services'
messages, what the services check again); views hand the answers to the services."""

import re

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Div, Layout, LayoutObject
from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.template.loader import get_template
from django.utils import translation
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from . import activation, sso
from .models import PeriodIndicator, PeriodPillar, Rating
from .scoring import RATING_MAX, RATING_MIN
from .services import Answer, ServiceError
from .validators import evidence_extension

RATING_CHOICES = [(value, str(value)) for value in range(RATING_MIN, RATING_MAX + 1)]
ANSWER_FIELD = re.compile(r"^(rating|note|evidence|clear_evidence)_(\d+)$")


class EvidenceField(forms.FileField):
    def validate(self, value):
        super().validate(value)
        if not value:
            return
        limit = settings.EVIDENCE_MAX_BYTES
        if value.size > limit:
            raise forms.ValidationError(
                _("The file is %(size).1f MB; the limit is %(limit).1f MB."),
                code="too_large",
                params={"size": value.size / 1048576, "limit": limit / 1048576},
            )
        if evidence_extension(value) is None:
            raise forms.ValidationError(_("Only PDF, JPEG or PNG files are accepted."), code="file_type")


class LoginForm(AuthenticationForm):
    """Staff log in with their NIP; the field is labelled as such."""

    # Django's own words repeat the field's label ("NIP atau nama pengguna") inside a sentence
    # about "nama pengguna" and call the password "sandi"; these say it once, plainly.
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The NIP (or user name) and the password do not match. Check both and try again; capital letters count."),
        "directory_unavailable": _(
            "The office directory (LDAP) did not answer, so your password could not be checked. "
            "Try again in a few minutes; if it keeps happening, tell your IT office."
        ),
        # LOCAL_LOGIN=superusers with SSO on. The same words whether the password was right or
        # not: the form never tells whether a guessed password fits someone's account.
        "superusers_only": _(
            "The NIP (or user name) and the password do not match, or this account does not log in with a password here: "
            "password login is for superusers only. Everyone else: use “Sign in with SSO”."
        ),
    }

    username = forms.CharField(
        label=_("NIP or user name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "inputmode": "text"}),
    )

    def get_invalid_login_error(self):
        # Set by assessments.sso_ldap when the directory could not be asked: "do not match"
        # would send the person hunting for a typo that is not there.
        if getattr(self.request, "ldap_unavailable", False):
            return forms.ValidationError(self.error_messages["directory_unavailable"], code="directory_unavailable")
        if sso.password_form_for_superusers_only():
            return forms.ValidationError(self.error_messages["superusers_only"], code="superusers_only")
        return super().get_invalid_login_error()


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's reset by e-mail, sending links only to those who may log in with a password
    kept here (LOCAL_LOGIN): the others have none here to reset."""

    def get_users(self, email):
        return (user for user in super().get_users(email) if sso.local_login_allowed(user))


class ActivationForm(forms.Form):
    """The activation page (/aktivasi/): NIP and the code of an activation letter, and the new
    password twice, checked by the password validators. One message for any wrong, used or
    expired code (activation.activation_code_find), which never says which."""

    error_messages = {
        "code_invalid": ServiceError.error_messages["code_invalid"],
        "password_mismatch": _("The two passwords differ. Type the same new password twice."),
    }

    nip = forms.CharField(
        label="NIP", max_length=40, widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "inputmode": "numeric"})
    )
    code = forms.CharField(
        label=_("Activation code"),
        max_length=40,
        help_text=_("As printed on your letter, for example ABCD-EFGH-JKMN."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    new_password1 = forms.CharField(
        label=_("New password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    new_password2 = forms.CharField(
        label=_("New password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.activation = None

    def clean_nip(self):
        return re.sub(r"\s+", "", self.cleaned_data["nip"])  # "19800101 200501 1 001" as printed

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        self.activation = activation.activation_code_find(nip=data["nip"], code=data["code"])
        if self.activation is None:
            raise forms.ValidationError(self.error_messages["code_invalid"], code="code_invalid")
        # Only once the code is right: the validators compare the password with the person's data.
        if data["new_password1"] != data["new_password2"]:
            self.add_error("new_password2", forms.ValidationError(self.error_messages["password_mismatch"], code="password_mismatch"))
        else:
            try:
                password_validation.validate_password(data["new_password2"], self.activation.employee.user)
            except forms.ValidationError as error:
                self.add_error("new_password2", error)
        return data

    @property
    def code_refused(self) -> bool:
        """Whether the code was wrong, used or expired: a failed attempt for the lockout."""
        return self.has_error(NON_FIELD_ERRORS, "code_invalid")


class PillarHeading(LayoutObject):
    """Crispy layout object: a pillar's name, theme and description."""

    def __init__(self, pillar: PeriodPillar):
        self.pillar = pillar

    def render(self, form, context, template_pack=None, **kwargs):
        indicators = self.pillar.indicators.all()
        answered = sum(1 for indicator in indicators if form.is_answered(indicator))
        return get_template("assessments/_pillar_heading.html").render(
            {"pillar": self.pillar, "answered": answered, "total": len(indicators), "answered_label": form.labels["answered_label"]}
        )


class IndicatorBlock(LayoutObject):
    """Crispy layout object: one indicator with its rubric, the 1-5 choice, note and evidence."""

    template = "assessments/_indicator.html"
    head_template = "assessments/_indicator_head.html"
    choices = [str(value) for value in range(RATING_MIN, RATING_MAX + 1)]

    def __init__(self, indicator: PeriodIndicator):
        self.indicator = indicator

    def radios(self, pk: int, value: str, read_only: bool) -> str:
        """The five radio buttons. Built here, not in a template loop: ~130 per page, and this is
        the form page's largest cost (bench: staff form)."""
        return mark_safe(  # noqa: S308 - only integers and fixed text go in
            "".join(
                f'<input type="radio" name="rating_{pk}" value="{n}" class="btn-check" id="id_rating_{pk}_{i}"'
                f'{" checked" if value == n else ""}{" disabled" if read_only else ""}>'
                f'<label class="btn btn-outline-primary" for="id_rating_{pk}_{i}">{n}</label>'
                for i, n in enumerate(self.choices)
            )
        )

    def head(self) -> str:
        """The statement, guidance and rubric: the same for everyone, so rendered once per
        indicator and language and kept on the indicator, which the per-process questionnaire of
        an opened period (models.QUESTIONNAIRES) keeps with it: a page shows 26 of them."""
        key = f"_head_html_{translation.get_language()}"
        cached = getattr(self.indicator, key, None)
        if cached is None:
            cached = get_template(self.head_template).render({"indicator": self.indicator})
            setattr(self.indicator, key, cached)
        return mark_safe(cached)  # noqa: S308 - rendered by the template engine, escaped there

    def render(self, form, context, template_pack=None, **kwargs):
        pk = self.indicator.pk
        stored = form.stored.get(pk)
        if form.is_bound:
            value, note = form.data.get(f"rating_{pk}", ""), form.data.get(f"note_{pk}", "")
        else:
            value = str(stored.score) if stored and stored.score is not None else ""
            note = stored.note if stored else ""
        errors = form.errors if form.is_bound else {}
        return get_template(self.template).render(
            {
                "indicator": self.indicator,
                "pk": str(pk),  # as text: an integer would go through number formatting ~10 times an indicator
                "head": self.head(),
                "radios": self.radios(pk, value, form.read_only),
                "value": value,
                "note_value": note,
                "rating_errors": errors.get(f"rating_{pk}", ()),
                "note_errors": errors.get(f"note_{pk}", ()),
                "evidence_errors": errors.get(f"evidence_{pk}", ()),
                "stored": stored,
                "read_only": form.read_only,
                **form.labels,
            }
        )


class AssessmentForm(forms.Form):
    """The whole questionnaire of one period: per indicator a rating, a note and evidence.

    Saving a draft accepts any subset of answers; `require_complete=True` (submit) also asks for
    every rating and for the notes an indicator requires at a 1 or a 5.
    """

    error_messages = {
        "unknown_indicator": ServiceError.error_messages["unknown_indicator"],
        "required": _("Choose a rating from 1 to 5."),
        "note_required": _("Explain a rating of %(score)s in a note."),
    }

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, questionnaire: list[PeriodPillar], stored: dict[int, Rating], version: int,
                 read_only: bool = False, require_complete: bool = False, with_files: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.questionnaire = questionnaire
        self.stored = stored
        self.read_only = read_only
        self.require_complete = require_complete
        self.fields["version"].initial = version
        self.indicators = [indicator for pillar in questionnaire for indicator in pillar.indicators.all()]
        for indicator in self.indicators:
            pk, rating = indicator.pk, stored.get(indicator.pk)
            self.fields[f"rating_{pk}"] = forms.TypedChoiceField(
                label=indicator.localized("statement"),
                choices=RATING_CHOICES,
                coerce=int,
                empty_value=None,
                required=False,
                # Widget classes, not instances: a field deep-copies a widget instance (~100 a
                # form), and these widgets only read the posted data; IndicatorBlock and
                # _indicator.html write the inputs out.
                widget=forms.RadioSelect,
                initial=rating.score if rating else None,
            )
            self.fields[f"note_{pk}"] = forms.CharField(
                label=_("Note"), required=False, max_length=2000, widget=forms.Textarea, initial=rating.note if rating else ""
            )
            if with_files:  # autosave (with_files=False) never carries a file: 26 fields less to build
                self.fields[f"evidence_{pk}"] = EvidenceField(
                    label=_("Supporting evidence (PDF, JPEG or PNG)"), required=False, widget=forms.FileInput
                )
            self.fields[f"clear_evidence_{pk}"] = forms.BooleanField(label=_("Remove the file"), required=False)
        if read_only:
            for form_field in self.fields.values():
                form_field.disabled = True
        # Translated once per page, not once per indicator.
        self.labels = {
            "scale_label": _("Rating from 1 (never) to 5 (always)"),
            "note_label": _("Note"),
            "note_required_label": _("Note (required for a 1 or a 5) and evidence"),
            "note_optional_label": _("Note and evidence (optional)"),
            "uploaded_label": _("Uploaded:"),
            "remove_label": _("Remove the file"),
            "evidence_label": _("Supporting evidence (PDF, JPEG or PNG)"),
            "answered_label": _("answered"),
        }

    @cached_property
    def helper(self) -> FormHelper:
        """The page's layout (crispy): built only when the form is rendered, not for a save."""
        helper = FormHelper()
        helper.form_tag = False
        helper.disable_csrf = True
        # No widget of this form has media; {{ form.media }} walked its 100-odd widgets to say so
        # (3 % of the CPU of the load test's mix, py-spy).
        helper.include_media = False
        helper.layout = Layout(
            *[
                Div(
                    PillarHeading(pillar),
                    *[IndicatorBlock(indicator) for indicator in pillar.indicators.all()],
                    css_class="pillar-section mb-4",
                    css_id=f"pilar-{pillar.pk}",
                )
                for pillar in self.questionnaire
            ]
        )
        return helper

    def clean(self):
        cleaned = super().clean()
        # Compared as text: int() of a posted name could fail (4,300 digits and more) or read
        # "rating_٣" as indicator 3, although no field of the form has that name.
        known = {str(indicator.pk) for indicator in self.indicators}
        for key in list(self.data) + list(self.files):
            match = ANSWER_FIELD.match(key)
            if match and match.group(2) not in known:
                raise forms.ValidationError(self.error_messages["unknown_indicator"], code="unknown_indicator")
        if not self.require_complete:
            return cleaned
        for indicator in self.indicators:
            score = cleaned.get(f"rating_{indicator.pk}")
            if score is None:
                if f"rating_{indicator.pk}" not in self.errors:
                    self.add_error(f"rating_{indicator.pk}", forms.ValidationError(self.error_messages["required"], code="required"))
            elif indicator.note_required_for(score) and not cleaned.get(f"note_{indicator.pk}", "").strip():
                self.add_error(
                    f"note_{indicator.pk}",
                    forms.ValidationError(self.error_messages["note_required"], code="note_required", params={"score": score}),
                )
        return cleaned

    def answers(self) -> dict[int, Answer]:
        """Return the cleaned answers as {PeriodIndicator id: Answer}."""
        data = self.cleaned_data
        return {
            indicator.pk: Answer(
                score=data.get(f"rating_{indicator.pk}"),
                note=data.get(f"note_{indicator.pk}", "").strip(),
                evidence=data.get(f"evidence_{indicator.pk}") or None,
                clear_evidence=bool(data.get(f"clear_evidence_{indicator.pk}")),
            )
            for indicator in self.indicators
        }

    def is_answered(self, indicator: PeriodIndicator) -> bool:
        """Return True when the indicator has a rating in the form as shown."""
        if self.is_bound:
            return self.data.get(f"rating_{indicator.pk}") not in (None, "")
        stored = self.stored.get(indicator.pk)
        return stored is not None and stored.score is not None

    def answered_count(self) -> int:
        """Return how many indicators have a rating in the form as shown."""
        return sum(1 for indicator in self.indicators if self.is_answered(indicator))

    def missing(self) -> list[dict]:
        """What keeps a complete form from being submitted, in questionnaire order: each
        indicator without a rating or without a required note, with its pillar and its number
        there (for the list of links above the form). Empty unless validated as complete."""
        if not (self.require_complete and self.is_bound):
            return []
        missing = []
        for pillar in self.questionnaire:
            for number, indicator in enumerate(pillar.indicators.all(), start=1):
                if f"rating_{indicator.pk}" in self.errors or f"note_{indicator.pk}" in self.errors:
                    missing.append({"indicator": indicator, "pillar": pillar, "number": number, "unanswered": not self.is_answered(indicator)})
        return missing


class SubmitForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class ReturnForm(forms.Form):
    note = forms.CharField(
        label=_("What should be corrected?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": ServiceError.error_messages["note_required"]},
    )


class TwoFactorCodeForm(forms.Form):
    """One code: six digits from the authenticator app or, at the code page, a recovery code.
    Spaces and dashes are ignored, and letters may be typed in either case. The view maps a
    refused code (two_factor.CodeRefused) onto the field with `refuse`."""

    error_messages = {
        "invalid": _("This code is not right (or has been used already). Check the code in your app and try again."),
        "throttled": ngettext_lazy(
            "Too many wrong codes in a row. Wait %(seconds)s second, then type the newest code.",
            "Too many wrong codes in a row. Wait %(seconds)s seconds, then type the newest code.",
            "seconds",
        ),
    }

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false", "autocapitalize": "none"}),
    )

    def clean_code(self) -> str:
        return re.sub(r"[\s-]", "", self.cleaned_data["code"]).lower()

    def refuse(self, refused) -> None:
        """Show a two_factor.CodeRefused as the field's error."""
        self.add_error("code", forms.ValidationError(self.error_messages[refused.code], code=refused.code, params={"seconds": refused.wait_seconds}))

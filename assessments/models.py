"""Domain model: the unit tree, staff, the integrity framework, periods and their frozen
questionnaires, self-assessments, and the summary tables that dashboards read."""

import datetime
import os
import re
import uuid
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from treebeard.mp_tree import MP_Node

from .scoring import RATING_MAX, RATING_MIN, Grade
from .validators import EVIDENCE_CONTENT_TYPES, validate_nip

ROMAN_QUARTERS = {1: "I", 2: "II", 3: "III", 4: "IV"}


# The words of the 1-5 scale, for a level whose rubric an indicator leaves empty.
SCALE_WORDS = {
    1: _("never, not at all true of me"),
    2: _("rarely"),
    3: _("sometimes"),
    4: _("often"),
    5: _("always, fully true of me"),
}


class Localized:
    """Pick the English twin of a text field (`<field>_en`) when English is active."""

    def localized(self, field: str) -> str:
        if (translation.get_language() or "").startswith("en"):
            english = getattr(self, f"{field}_en", "")
            if english:
                return english
        return getattr(self, field)


def positive(field: str, name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__gt": 0}), name=name)


def validate_weight(value) -> None:
    """Forms repeat the database's "weight > 0" rule with a message people understand."""
    if value is not None and value <= 0:
        raise ValidationError(_("A weight must be greater than 0."), code="weight")


# --- Organisation -------------------------------------------------------------------------


class WorkUnit(MP_Node):
    """A unit kerja. Units form a tree; `path` is a materialized path, so "this unit and all
    below it" is `path LIKE '<path>%'`, which PostgreSQL answers from the `path` pattern index
    that Django creates for the unique varchar."""

    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", _("Use letters, digits, dots, hyphens and underscores only."))],
        help_text=_("Stable and unique; used in addresses and imports."),
    )
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords(excluded_fields=["path", "depth", "numchild"])

    class Meta:
        ordering = ["path"]
        verbose_name = _("work unit")
        verbose_name_plural = _("work units")

    def __str__(self):
        return f"{self.name} ({self.code})"

    def subtree_q(self, field: str = "") -> Q:
        """Return a Q selecting this unit and every unit below it: on WorkUnit itself, or on
        the WorkUnit relation `field` of another model ("unit", "assessment__unit"). The one
        spelling of "in this subtree" (a `LIKE 'path%'` on the materialized path)."""
        return Q(**{f"{field}__path__startswith" if field else "path__startswith": self.path})

    def subtree(self):
        """Return this unit and every unit below it."""
        return WorkUnit.objects.filter(self.subtree_q())

    def is_within(self, other: "WorkUnit") -> bool:
        """Return True when this unit is `other` or lies below it."""
        return self.path.startswith(other.path)

    @classmethod
    def chain_paths(cls, path: str) -> list[str]:
        """Return the paths of the unit at `path` and of its ancestors, root first, computed
        from the path alone: for code that walks many units up the tree without a query each
        (treebeard's get_ancestors() costs one query per unit)."""
        return [path[:length] for length in range(cls.steplen, len(path) + 1, cls.steplen)]


class Employee(models.Model):
    """A civil servant (ASN). Imported staff log in with their NIP as user name."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="employee")
    nip = models.CharField("NIP", max_length=18, unique=True, validators=[validate_nip])
    full_name = models.CharField(_("full name"), max_length=200)
    position = models.CharField(_("position (jabatan)"), max_length=200, blank=True)
    unit = models.ForeignKey(WorkUnit, on_delete=models.PROTECT, related_name="employees", verbose_name=_("work unit"))
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["full_name", "nip"]
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        indexes = [
            models.Index(fields=["unit", "is_active"], name="employee_unit_active_idx"),
            # The staff table lists active staff by name, 50 at a time: with this index the first
            # page of a whole province is read in name order and stops after 50 rows, instead of
            # sorting 100,000.
            models.Index(fields=["full_name", "nip"], condition=models.Q(is_active=True), name="employee_active_name_idx"),
        ]

    def __str__(self):
        return f"{self.full_name} ({self.nip})"

    @property
    def email(self) -> str:
        return self.user.email


class SupervisorAssignment(models.Model):
    """A person heads a unit; their scope is that unit and every unit below it."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="headed", verbose_name=_("supervisor"))
    unit = models.ForeignKey(WorkUnit, on_delete=models.CASCADE, related_name="heads", verbose_name=_("work unit"))

    history = HistoricalRecords()

    class Meta:
        ordering = ["unit__path", "employee__full_name"]
        verbose_name = _("supervisor assignment")
        verbose_name_plural = _("supervisor assignments")
        constraints = [models.UniqueConstraint(fields=["employee", "unit"], name="one_assignment_per_unit_and_person")]

    def __str__(self):
        return f"{self.employee.full_name} → {self.unit.name}"


class ActivationCode(models.Model):
    """A one-time code printed on an activation letter: a person without an e-mail address sets
    their first password with it on /aktivasi/ (activation.py). Only its keyed hash is stored;
    valid for ACTIVATION_DAYS, once, and only while it is the person's latest code."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="activation_codes", verbose_name=_("employee"))
    code_hash = models.CharField(_("code (hashed)"), max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("generated by")
    )
    created_at = models.DateTimeField(_("generated at"), default=timezone.now)
    expires_at = models.DateTimeField(_("valid until"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True, help_text=_("A newer letter replaced this one."))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("activation code")
        verbose_name_plural = _("activation codes")
        constraints = [
            # Generating letters voids the earlier codes: at most one works at a time.
            models.UniqueConstraint(
                fields=["employee"], condition=Q(used_at__isnull=True, voided_at__isnull=True), name="one_live_activation_code_per_employee"
            ),
        ]

    def __str__(self):
        return f"{self.employee.full_name} · {self.created_at:%Y-%m-%d}"


class OfficeAdminAssignment(models.Model):
    """An office admin (a member of the group "Admin OPD") manages the units and staff of this
    unit and of everything below it, and sees their Rekap (permissions.office_units)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="office_scopes", verbose_name=_("office admin"))
    unit = models.ForeignKey(WorkUnit, on_delete=models.CASCADE, related_name="office_admins", verbose_name=_("work unit"))

    class Meta:
        ordering = ["unit__path", "user__username"]
        verbose_name = _("office administration scope")
        verbose_name_plural = _("office administration scopes")
        constraints = [models.UniqueConstraint(fields=["user", "unit"], name="one_office_scope_per_unit")]

    def __str__(self):
        return f"{self.user} → {self.unit.code}"


# --- The integrity framework (edited by admins; copied into each period when it opens) --------


class Theme(Localized, models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("theme")
        verbose_name_plural = _("themes")

    def __str__(self):
        return self.localized("name")


class Pillar(Localized, models.Model):
    theme = models.ForeignKey(Theme, on_delete=models.PROTECT, related_name="pillars", verbose_name=_("theme"))
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=2, default=1, validators=[validate_weight])
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["theme__order", "order", "code"]
        verbose_name = _("pillar")
        verbose_name_plural = _("pillars")
        constraints = [positive("weight", "pillar_weight_positive")]

    def __str__(self):
        return self.localized("name")


class IndicatorWording(Localized, models.Model):
    """The words of an indicator, each with its English twin: the statement, what each rating 1
    to 5 looks like, and the help text. The framework's indicators and the copies a period
    freezes when it opens share them."""

    statement = models.TextField(_("statement"))
    statement_en = models.TextField(_("statement (English)"), blank=True)
    rubric_low = models.TextField(_("what a 1 looks like"), blank=True)
    rubric_low_en = models.TextField(_("what a 1 looks like (English)"), blank=True)
    rubric_2 = models.TextField(_("what a 2 looks like"), blank=True)
    rubric_2_en = models.TextField(_("what a 2 looks like (English)"), blank=True)
    rubric_3 = models.TextField(_("what a 3 looks like"), blank=True)
    rubric_3_en = models.TextField(_("what a 3 looks like (English)"), blank=True)
    rubric_4 = models.TextField(_("what a 4 looks like"), blank=True)
    rubric_4_en = models.TextField(_("what a 4 looks like (English)"), blank=True)
    rubric_high = models.TextField(_("what a 5 looks like"), blank=True)
    rubric_high_en = models.TextField(_("what a 5 looks like (English)"), blank=True)
    guidance = models.TextField(_("help and an example of evidence"), blank=True)
    guidance_en = models.TextField(_("help and an example of evidence (English)"), blank=True)

    # Copied from the indicator when a period opens (periods.period_open), with the rest.
    FROZEN_TEXTS = (
        "statement", "rubric_low", "rubric_2", "rubric_3", "rubric_4", "rubric_high", "guidance",
    )

    class Meta:
        abstract = True


class Indicator(IndicatorWording):
    pillar = models.ForeignKey(Pillar, on_delete=models.PROTECT, related_name="indicators", verbose_name=_("pillar"))
    code = models.CharField(_("code"), max_length=20, unique=True)
    guidance = models.TextField(  # the admin's form explains it; the period's copy needs no help
        _("help and an example of evidence"),
        blank=True,
        help_text=_("Optional, shown under the statement: what it means in practice and an example of supporting evidence (bukti dukung)."),
    )
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=2, default=1, validators=[validate_weight])
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)
    note_required_at_extremes = models.BooleanField(_("note required for a 1 or a 5"), default=False)

    history = HistoricalRecords()

    class Meta:
        ordering = ["pillar__theme__order", "pillar__order", "order", "code"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        constraints = [
            positive("weight", "indicator_weight_positive"),
            models.CheckConstraint(condition=~Q(statement=""), name="indicator_statement_not_empty"),
        ]

    def __str__(self):
        return f"{self.code}: {self.localized('statement')[:80]}"


# --- Periods and their frozen questionnaires -------------------------------------------------


class Visibility(models.TextChoices):
    """Who sees a person's answers in a period (docs/RULES.md, visibility). Chosen for the
    organisation (OrganisationSetting), fixed for a period when it opens."""

    REVIEWED = "reviewed", _("Reviewed: the head of unit sees and reviews each assessment")
    CONFIDENTIAL = "confidential", _("Confidential: heads of unit see group figures only")


class OrganisationSetting(models.Model):
    """The organisation's choices, one row (pk 1), edited by admins. Without the row the
    defaults come from the environment (settings.ASSESSMENT_VISIBILITY)."""

    visibility = models.CharField(_("visibility of answers"), max_length=12, choices=Visibility.choices)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("organisation setting")
        verbose_name_plural = _("organisation settings")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="one_organisation_setting")]

    def __str__(self):
        return str(_("Organisation settings"))

    @classmethod
    def current(cls) -> "OrganisationSetting":
        """The row, or an unsaved one with the environment's defaults."""
        return cls.objects.filter(pk=1).first() or cls(pk=1, visibility=settings.ASSESSMENT_VISIBILITY)


# The frozen questionnaires of opened periods, per process: {(period id, opened at): pillars}.
QUESTIONNAIRES: dict[tuple, list] = {}


class AssessmentPeriod(models.Model):
    """A quarter (triwulan). Opening it copies the framework in force into PeriodPillar and
    PeriodIndicator rows, and fixes its visibility, so later edits never reach an open or past
    period (docs/RULES.md)."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2000), MaxValueValidator(2100)])
    quarter = models.PositiveSmallIntegerField(_("quarter"), validators=[MinValueValidator(1), MaxValueValidator(4)])
    opens_on = models.DateField(_("opening date"))
    closes_on = models.DateField(_("closing date"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Bumped in the same transaction as every change to this period's roll-up figures; cached
    # roll-ups are keyed by it, so a cache can never serve figures older than the database.
    rollup_version = models.PositiveIntegerField(default=0, editable=False)
    # Fixed when the period opens (periods.period_open), from OrganisationSetting.
    visibility = models.CharField(
        _("visibility of answers"), max_length=12, choices=Visibility.choices, default=Visibility.REVIEWED, editable=False
    )
    # Set by retention_apply: the individual ratings, notes and evidence are gone; the
    # summary rows (the period's figures) stay.
    personal_data_removed_at = models.DateTimeField(_("individual answers deleted at"), null=True, blank=True, editable=False)

    history = HistoricalRecords(excluded_fields=["rollup_version"])

    class Meta:
        ordering = ["-year", "-quarter"]
        verbose_name = _("assessment period")
        verbose_name_plural = _("assessment periods")
        constraints = [
            models.UniqueConstraint(fields=["year", "quarter"], name="one_period_per_quarter"),
            models.CheckConstraint(condition=Q(quarter__gte=1, quarter__lte=4), name="period_quarter_1_to_4"),
            models.CheckConstraint(condition=Q(closes_on__gte=models.F("opens_on")), name="period_closes_after_opening"),
            # Staff see "the open period": there is never more than one.
            models.UniqueConstraint(fields=["status"], condition=Q(status="open"), name="one_open_period"),
        ]

    def __str__(self):
        return _("Quarter %(roman)s %(year)s") % {"roman": ROMAN_QUARTERS.get(self.quarter, "?"), "year": self.year}

    def clean(self):
        if self.opens_on and self.closes_on and self.closes_on < self.opens_on:
            raise ValidationError({"closes_on": _("The closing date cannot be before the opening date.")}, code="dates")

    @property
    def code(self) -> str:
        """The period in data and addresses: "2026-Q4" (`code_fields` reads it back)."""
        return f"{self.year}-Q{self.quarter}"

    @staticmethod
    def code_fields(code: str) -> dict | None:
        """Return {"year", "quarter"} of a period code such as "2026-Q4", or None."""
        match = re.fullmatch(r"([0-9]{4})-Q([1-4])", code)
        return {"year": int(match.group(1)), "quarter": int(match.group(2))} if match else None

    @property
    def is_running(self) -> bool:
        """True while the period is open: its figures still change with each submission."""
        return self.status == self.Status.OPEN

    @property
    def is_confidential(self) -> bool:
        """Heads of unit see group figures only (docs/RULES.md, visibility)."""
        return self.visibility == Visibility.CONFIDENTIAL

    @property
    def sequence(self) -> int:
        return self.year * 4 + self.quarter - 1

    @property
    def is_final(self) -> bool:
        """Closed by the admin: its organisation, expected counts and figures never change
        again (docs/RULES.md, history)."""
        return self.status == self.Status.CLOSED

    @property
    def answers_deleted(self) -> bool:
        """Its individual answers (ratings, notes, evidence, each person's scores) were deleted
        under the retention rule (retention.py); its assessments and figures remain."""
        return self.personal_data_removed_at is not None

    def accepts_entries(self, today: datetime.date | None = None) -> bool:
        """Return True while staff may save and submit: opened, and today within its dates."""
        today = today or timezone.localdate()
        return self.status == self.Status.OPEN and self.opens_on <= today <= self.closes_on

    def starts_later(self, today: datetime.date | None = None) -> bool:
        """Return True before the opening date: an open period takes entries only from then."""
        return (today or timezone.localdate()) < self.opens_on

    def has_ended(self, today: datetime.date | None = None) -> bool:
        """Return True after the closing date."""
        return (today or timezone.localdate()) > self.closes_on

    def days_left(self, today: datetime.date | None = None) -> int:
        today = today or timezone.localdate()
        return (self.closes_on - today).days

    def previous(self) -> "AssessmentPeriod | None":
        """Return the period just before this one, if any."""
        earlier = Q(year__lt=self.year) | Q(year=self.year, quarter__lt=self.quarter)
        return AssessmentPeriod.objects.filter(earlier).order_by("-year", "-quarter").first()

    def questionnaire(self) -> list["PeriodPillar"]:
        """Return the frozen questionnaire: pillars in order, each with `.indicators.all()`
        prefetched in order. Once the period has opened it never changes, so this process
        keeps it (QUESTIONNAIRES: two queries and some thirty objects saved on every form, save
        and submit); before that, two queries, cached on this instance. Callers only read it."""
        if hasattr(self, "_questionnaire"):
            return self._questionnaire
        key = (self.pk, self.opened_at) if self.status != self.Status.PLANNED and self.opened_at else None
        found = QUESTIONNAIRES.get(key) if key else None
        if found is None:
            found = list(
                self.pillars.order_by("order").prefetch_related(
                    models.Prefetch("indicators", queryset=PeriodIndicator.objects.order_by("order"))
                )
            )
            if key:
                if len(QUESTIONNAIRES) >= 32:
                    QUESTIONNAIRES.clear()
                QUESTIONNAIRES[key] = found
        self._questionnaire = found
        return found


class PeriodPillar(Localized, models.Model):
    """A pillar as it stood when its period opened."""

    period = models.ForeignKey(AssessmentPeriod, on_delete=models.PROTECT, related_name="pillars", verbose_name=_("period"))
    pillar = models.ForeignKey(Pillar, on_delete=models.PROTECT, related_name="period_versions", verbose_name=_("pillar"))
    theme_name = models.CharField(_("theme"), max_length=200)
    theme_name_en = models.CharField(_("theme (English)"), max_length=200, blank=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=2)
    order = models.PositiveSmallIntegerField(_("order"))

    class Meta:
        ordering = ["period", "order"]
        verbose_name = _("pillar of a period")
        verbose_name_plural = _("pillars of a period")
        constraints = [
            models.UniqueConstraint(fields=["period", "pillar"], name="pillar_once_per_period"),
            positive("weight", "period_pillar_weight_positive"),
        ]

    def __str__(self):
        return f"{self.period.code} · {self.localized('name')}"


class PeriodIndicator(IndicatorWording):
    """An indicator as it stood when its period opened: the wording, rubric and weight that the
    period's assessments were answered and scored against."""

    pillar = models.ForeignKey(PeriodPillar, on_delete=models.PROTECT, related_name="indicators", verbose_name=_("pillar"))
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="period_versions", verbose_name=_("indicator"))
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=2)
    order = models.PositiveSmallIntegerField(_("order"))
    note_required_at_extremes = models.BooleanField(_("note required for a 1 or a 5"), default=False)

    class Meta:
        ordering = ["pillar__order", "order"]
        verbose_name = _("indicator of a period")
        verbose_name_plural = _("indicators of a period")
        constraints = [
            models.UniqueConstraint(fields=["pillar", "indicator"], name="indicator_once_per_period_pillar"),
            positive("weight", "period_indicator_weight_positive"),
        ]

    def __str__(self):
        return f"{self.indicator.code}: {self.localized('statement')[:80]}"

    def rubric(self) -> list[tuple[int, str]]:
        """What each rating 1 to 5 looks like for this indicator: its own words where the admin
        wrote them, else the words of the scale (1 never ... 5 always)."""
        own = [self.localized(field) for field in ("rubric_low", "rubric_2", "rubric_3", "rubric_4", "rubric_high")]
        return [(level, text or str(SCALE_WORDS[level])) for level, text in enumerate(own, start=1)]

    def note_required_for(self, score: int | None) -> bool:
        return self.note_required_at_extremes and score in (RATING_MIN, RATING_MAX)


# --- Self-assessments ------------------------------------------------------------------------


class AssessmentState(models.TextChoices):
    # "Not started" is the absence of a row.
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned")
    APPROVED = "approved", _("Approved")


# Roll-ups count the assessments that are submitted or approved, and only these have an index
# that stands (docs/RULES.md). The owner can change the others while the period allows it.
COUNTED_STATES = (AssessmentState.SUBMITTED, AssessmentState.APPROVED)
EDITABLE_STATES = (AssessmentState.DRAFT, AssessmentState.RETURNED)


class SelfAssessment(models.Model):
    employee = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="assessments", verbose_name=_("employee"))
    period = models.ForeignKey(AssessmentPeriod, on_delete=models.PROTECT, related_name="assessments", verbose_name=_("period"))
    # The unit the person belonged to when they submitted (for a draft: their unit at the last
    # save). Roll-ups attribute by this, so a person who moves later does not move past scores.
    unit = models.ForeignKey(WorkUnit, on_delete=models.PROTECT, related_name="assessments", verbose_name=_("work unit"))
    state = models.CharField(_("state"), max_length=10, choices=AssessmentState.choices, default=AssessmentState.DRAFT)
    # Optimistic lock: every save increments it; a save based on an older version is refused.
    version = models.PositiveIntegerField(default=1)
    index_score = models.FloatField(_("integrity index"), null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=20, choices=Grade.choices, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("reviewed by")
    )
    return_note = models.TextField(_("return note"), blank=True)
    return_deadline = models.DateField(_("return deadline"), null=True, blank=True)
    # When the person first opened the form of this period (credibility.too_fast).
    form_opened_at = models.DateTimeField(_("form first opened at"), null=True, blank=True)

    class Meta:
        ordering = ["-period__year", "-period__quarter", "employee__full_name"]
        verbose_name = _("self-assessment")
        verbose_name_plural = _("self-assessments")
        permissions = [("view_organisation", "Can see every unit and assessment of the organisation")]
        constraints = [
            models.UniqueConstraint(fields=["employee", "period"], name="one_assessment_per_person_per_period"),
            models.CheckConstraint(condition=Q(state__in=AssessmentState.values), name="assessment_state_valid"),
            models.CheckConstraint(
                condition=Q(index_score__isnull=True) | Q(index_score__gte=0, index_score__lte=100),
                name="assessment_index_0_to_100",
            ),
        ]
        indexes = [models.Index(fields=["period", "unit", "state"], name="assessment_period_unit_idx")]

    def __str__(self):
        return f"{self.employee.full_name} · {self.period.code}"

    @property
    def is_draft(self) -> bool:
        return self.state == AssessmentState.DRAFT

    @property
    def is_returned(self) -> bool:
        return self.state == AssessmentState.RETURNED

    @property
    def awaits_review(self) -> bool:
        return self.state == AssessmentState.SUBMITTED

    @property
    def is_counted(self) -> bool:
        """Counted in the roll-ups; its index and grade stand and are shown in every list (a
        returned assessment's earlier index no longer does)."""
        return self.state in COUNTED_STATES

    def is_editable(self, today: datetime.date | None = None) -> bool:
        """Return True when the owner may change it: a draft or returned assessment while the
        period takes entries, or a returned one until its return deadline, as long as the admin
        has not closed the period."""
        if self.state not in EDITABLE_STATES or self.period.is_final:
            return False  # a closed period's figures are final (docs/RULES.md, history)
        today = today or timezone.localdate()
        if self.period.accepts_entries(today):
            return True
        return self.state == AssessmentState.RETURNED and self.return_deadline is not None and today <= self.return_deadline


class PrivateStorage(FileSystemStorage):
    """Evidence files: under PRIVATE_STORAGE_ROOT, outside static and media, no public URL.
    The root is read at each use, so a test can point it at a temporary folder."""

    @property
    def base_location(self):
        return str(settings.PRIVATE_STORAGE_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("Evidence files are served through the permission-checked view only.")


def evidence_path(rating: "Rating", filename: str) -> str:
    # Names are never trusted: a random name; the service passes the extension that matches
    # the file's content, anything else is dropped.
    extension = PurePath(filename).suffix.lower()
    if extension not in EVIDENCE_CONTENT_TYPES:
        extension = ""
    return f"evidence/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{extension}"


class Rating(models.Model):
    """One answer: an indicator of the period's questionnaire, a score 1-5 (empty while the
    draft leaves it unanswered), an optional note and optional evidence."""

    # No index of its own: the unique (assessment, indicator) index serves lookups by
    # assessment, and a second one would cost ~80 MB and slower inserts at province size.
    assessment = models.ForeignKey(SelfAssessment, on_delete=models.CASCADE, related_name="ratings", db_index=False)
    indicator = models.ForeignKey(PeriodIndicator, on_delete=models.PROTECT, related_name="ratings")
    score = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=[MinValueValidator(RATING_MIN), MaxValueValidator(RATING_MAX)]
    )
    note = models.TextField(_("note"), blank=True)
    evidence = models.FileField(_("supporting evidence"), storage=PrivateStorage, upload_to=evidence_path, blank=True)
    evidence_name = models.CharField(_("evidence file name"), max_length=255, blank=True)

    class Meta:
        ordering = ["indicator__pillar__order", "indicator__order"]
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")
        constraints = [
            models.UniqueConstraint(fields=["assessment", "indicator"], name="one_rating_per_indicator"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=RATING_MIN, score__lte=RATING_MAX),
                name="rating_score_1_to_5",
            ),
        ]

    def __str__(self):
        return f"{self.assessment} · {self.indicator.indicator.code} = {self.score}"


class PillarScore(models.Model):
    """A pillar score of a submitted assessment, stored unrounded."""

    assessment = models.ForeignKey(SelfAssessment, on_delete=models.CASCADE, related_name="pillar_scores")
    pillar = models.ForeignKey(PeriodPillar, on_delete=models.PROTECT, related_name="scores")
    score = models.FloatField()

    class Meta:
        ordering = ["pillar__order"]
        verbose_name = _("pillar score")
        verbose_name_plural = _("pillar scores")
        constraints = [
            models.UniqueConstraint(fields=["assessment", "pillar"], name="one_score_per_pillar"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=100), name="pillar_score_0_to_100"),
        ]

    def __str__(self):
        return f"{self.assessment} · {self.pillar.name} = {self.score:.1f}"


class AssessmentEvent(models.Model):
    """The state-change log: who moved an assessment from which state to which, when, and why."""

    assessment = models.ForeignKey(SelfAssessment, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    from_state = models.CharField(max_length=10, blank=True)  # blank: not started
    to_state = models.CharField(max_length=10)
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("state change")
        verbose_name_plural = _("state changes")

    def __str__(self):
        return f"{self.assessment}: {self.from_state or '-'} → {self.to_state}"


# --- Summary tables: what dashboards read -----------------------------------------------------


class UnitPeriodSummary(models.Model):
    """The figures of one unit and everything below it (its whole subtree) in one period: the
    counted assessments attributed to any unit of the subtree.

    Kept up to date in the same transaction as every submit and return (summaries.summary_apply
    adds an assessment to its unit's row and every ancestor's), so a dashboard reads one row
    per unit and period instead of every rating.
    `expected` is set by `summaries.period_expected_refresh` while the period is open. Once the
    period closes, no row of it changes again (summaries.period_figures_writable).
    """

    unit = models.ForeignKey(WorkUnit, on_delete=models.CASCADE, related_name="summaries")
    period = models.ForeignKey(AssessmentPeriod, on_delete=models.CASCADE, related_name="unit_summaries")
    expected = models.PositiveIntegerField(default=0)
    counted = models.IntegerField(default=0)
    index_sum = models.FloatField(default=0)
    count_sangat_baik = models.IntegerField(default=0)
    count_baik = models.IntegerField(default=0)
    count_butuh_perbaikan = models.IntegerField(default=0)
    count_kurang = models.IntegerField(default=0)
    count_sangat_kurang = models.IntegerField(default=0)

    class Meta:
        ordering = ["period", "unit"]
        verbose_name = _("unit summary")
        verbose_name_plural = _("unit summaries")
        constraints = [models.UniqueConstraint(fields=["unit", "period"], name="one_summary_per_unit_period")]
        indexes = [models.Index(fields=["period", "unit"], name="summary_period_unit_idx")]

    def __str__(self):
        return f"{self.unit.code} · {self.period.code}: {self.counted}/{self.expected}"


class UnitPeriodPillarSummary(models.Model):
    """Sum of one pillar's scores over the counted assessments of this unit's subtree."""

    unit = models.ForeignKey(WorkUnit, on_delete=models.CASCADE, related_name="pillar_summaries")
    period = models.ForeignKey(AssessmentPeriod, on_delete=models.CASCADE, related_name="pillar_summaries")
    pillar = models.ForeignKey(Pillar, on_delete=models.CASCADE, related_name="summaries")
    counted = models.IntegerField(default=0)
    score_sum = models.FloatField(default=0)

    class Meta:
        ordering = ["period", "unit", "pillar"]
        verbose_name = _("unit pillar summary")
        verbose_name_plural = _("unit pillar summaries")
        constraints = [
            models.UniqueConstraint(fields=["unit", "period", "pillar"], name="one_pillar_summary_per_unit_period")
        ]
        indexes = [models.Index(fields=["period", "unit"], name="pillar_summary_period_unit_idx")]

    def __str__(self):
        return f"{self.unit.code} · {self.period.code} · {self.pillar.code}"


class UnitPeriodIndicatorSummary(models.Model):
    """Sum of one indicator's ratings over the counted assessments of this unit's subtree;
    the dashboard's weak spots read it instead of millions of ratings."""

    unit = models.ForeignKey(WorkUnit, on_delete=models.CASCADE, related_name="indicator_summaries")
    period = models.ForeignKey(AssessmentPeriod, on_delete=models.CASCADE, related_name="indicator_summaries")
    indicator = models.ForeignKey(PeriodIndicator, on_delete=models.CASCADE, related_name="summaries")
    counted = models.IntegerField(default=0)
    score_sum = models.IntegerField(default=0)

    class Meta:
        ordering = ["period", "unit", "indicator"]
        verbose_name = _("unit indicator summary")
        verbose_name_plural = _("unit indicator summaries")
        constraints = [
            models.UniqueConstraint(fields=["unit", "period", "indicator"], name="one_indicator_summary_per_unit_period")
        ]
        indexes = [models.Index(fields=["period", "unit"], name="indicator_summary_period_idx")]

    def __str__(self):
        return f"{self.unit.code} · {self.period.code} · {self.indicator_id}"


# --- The organisation a period was assessed in, and reorganisations ----------------------------


class PeriodUnit(models.Model):
    """A unit as it stood in a period: its code, name, place in the tree (the materialized path
    it had then) and whether it was active. Recorded when the period opens and again when it
    closes; after that it never changes, so a closed period's pages show the organisation it
    was assessed in whatever the tree looks like today (structure.py)."""

    period = models.ForeignKey(AssessmentPeriod, on_delete=models.CASCADE, related_name="units")
    unit = models.ForeignKey(WorkUnit, on_delete=models.PROTECT, related_name="period_versions")
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    path = models.CharField(max_length=255)
    depth = models.PositiveIntegerField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["period", "path"]
        verbose_name = _("unit of a period")
        verbose_name_plural = _("units of a period")
        constraints = [
            models.UniqueConstraint(fields=["period", "unit"], name="unit_once_per_period"),
            models.UniqueConstraint(fields=["period", "path"], name="path_once_per_period"),
        ]

    def __str__(self):
        return f"{self.period.code} · {self.name} ({self.code})"


class UnitLineage(models.Model):
    """A reorganisation that ended units and began others: a merge (A and B become C: two rows,
    A→C and B→C) or a split (A becomes A1 and A2: A→A1, A→A2). Trends follow a unit through
    it; moves and renames keep a unit's identity (its code) and need no lineage."""

    class Kind(models.TextChoices):
        MERGE = "merge", _("merged into")
        SPLIT = "split", _("split into")

    predecessor = models.ForeignKey(WorkUnit, on_delete=models.PROTECT, related_name="successions", verbose_name=_("earlier unit"))
    successor = models.ForeignKey(WorkUnit, on_delete=models.PROTECT, related_name="origins", verbose_name=_("later unit"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["-at", "id"]
        verbose_name = _("unit lineage")
        verbose_name_plural = _("unit lineage")
        constraints = [
            models.UniqueConstraint(fields=["predecessor", "successor"], name="one_lineage_per_pair"),
            models.CheckConstraint(condition=~Q(predecessor=models.F("successor")), name="lineage_not_to_itself"),
        ]

    def __str__(self):
        return f"{self.predecessor.code} {self.get_kind_display()} {self.successor.code}"


# --- Privacy and notifications ----------------------------------------------------------------


class AccessLog(models.Model):
    """Each time someone other than the person sees one person's figures (UU PDP 27/2022:
    access to personal data is accountable): one entry per request. A view of one assessment
    names its `employee`; a list or an export names the `unit` and `period` it covered and,
    in `people`, everyone whose figures it showed."""

    class Action(models.TextChoices):
        VIEW = "view", _("viewed the assessment")
        EVIDENCE = "evidence", _("downloaded evidence")
        REVIEW = "review", _("reviewed the assessment")
        STAFF_TABLE = "staff_table", _("viewed the staff table")
        STAFF_EXPORT = "staff_export", _("exported the staff table")
        ADMIN = "admin", _("opened the assessment in the administration")
        ADMIN_LIST = "admin_list", _("listed assessments in the administration")
        VERIFY = "verify", _("verified the assessment (internal assessment team)")

    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("viewer"))
    employee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, null=True, blank=True, related_name="access_logs", verbose_name=_("whose data")
    )
    assessment = models.ForeignKey(SelfAssessment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    unit = models.ForeignKey(WorkUnit, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("work unit"))
    period = models.ForeignKey(
        AssessmentPeriod, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("period")
    )
    people = models.ManyToManyField(Employee, blank=True, related_name="bulk_access_logs", verbose_name=_("people covered"))
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")

    def __str__(self):
        whose = self.employee if self.employee_id else self.unit
        return f"{self.at:%Y-%m-%d %H:%M} {self.viewer} → {whose}"


class RetentionRun(models.Model):
    """A run of `manage.py retention_apply` (retention.retention_apply), dry or real: when, the
    rule in force, and per period what it deleted (or, dry, would delete). Written by the
    command (no actor: it runs from cron), read by admins."""

    at = models.DateTimeField(_("at"), default=timezone.now)
    dry_run = models.BooleanField(_("dry run"))
    retention_years = models.PositiveSmallIntegerField(_("retention (years)"))
    # One entry per period: {"period": "2019-Q1", "closes_on": "2019-03-31", "assessments": n,
    # "ratings": n, "evidence_files": n, "pillar_scores": n, "notes": n}.
    periods = models.JSONField(_("periods"), default=list, blank=True)
    assessments = models.PositiveIntegerField(_("assessments"), default=0)
    ratings = models.PositiveIntegerField(_("ratings"), default=0)
    evidence_files = models.PositiveIntegerField(_("evidence files"), default=0)
    pillar_scores = models.PositiveIntegerField(_("pillar scores"), default=0)
    notes = models.PositiveIntegerField(_("return notes"), default=0)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("retention run")
        verbose_name_plural = _("retention runs")

    def __str__(self):
        codes = ", ".join(entry["period"] for entry in self.periods) or "-"
        return f"{self.at:%Y-%m-%d %H:%M} · {codes}"


class ReminderLog(models.Model):
    """A reminder sent, so that each person gets at most one per period and threshold."""

    employee = models.ForeignKey(Employee, on_delete=models.CASCADE, related_name="+")
    period = models.ForeignKey(AssessmentPeriod, on_delete=models.CASCADE, related_name="+")
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("reminder sent")
        verbose_name_plural = _("reminders sent")
        constraints = [
            models.UniqueConstraint(fields=["employee", "period", "days_before"], name="one_reminder_per_threshold")
        ]

    def __str__(self):
        return f"{self.employee} · {self.period.code} · H-{self.days_before}"


class UnitReminder(models.Model):
    """A head of unit's "kirim pengingat": the staff of the unit who had not started the period
    were e-mailed. At most one per unit and day (the constraint); the row is the log of it."""

    unit = models.ForeignKey(WorkUnit, on_delete=models.CASCADE, related_name="+", verbose_name=_("work unit"))
    period = models.ForeignKey(AssessmentPeriod, on_delete=models.CASCADE, related_name="+", verbose_name=_("period"))
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("sent by"))
    sent_on = models.DateField(_("sent on"))
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    recipients = models.PositiveIntegerField(_("people reminded"), default=0)

    class Meta:
        ordering = ["-sent_at"]
        verbose_name = _("reminder sent by a head of unit")
        verbose_name_plural = _("reminders sent by heads of unit")
        constraints = [models.UniqueConstraint(fields=["unit", "sent_on"], name="one_unit_reminder_per_day")]

    def __str__(self):
        return f"{self.unit.code} · {self.sent_on} · {self.recipients}"


class PrivacyAcknowledgement(models.Model):
    """A person read the privacy notice of a period (who sees their answers, why, how long
    they are kept) before their first assessment in it: asked again only when a period's
    visibility differs from the one they last acknowledged."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.ForeignKey(AssessmentPeriod, on_delete=models.CASCADE, related_name="+", verbose_name=_("period"))
    visibility = models.CharField(_("visibility of answers"), max_length=12, choices=Visibility.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("privacy notice acknowledged")
        verbose_name_plural = _("privacy notices acknowledged")
        constraints = [models.UniqueConstraint(fields=["user", "period"], name="one_acknowledgement_per_period")]

    def __str__(self):
        return f"{self.user} · {self.period.code} · {self.visibility}"


# --- Verification by the internal assessment team (Tim Penilai Internal) ---------------------


class VerifierAssignment(models.Model):
    """A member of the internal assessment team verifies the assessments of this unit and of
    everything below it (permissions.verifier_units)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verifier_scopes", verbose_name=_("verifier"))
    unit = models.ForeignKey(WorkUnit, on_delete=models.CASCADE, related_name="verifiers", verbose_name=_("work unit"))

    class Meta:
        verbose_name = _("verification scope")
        verbose_name_plural = _("verification scopes")
        constraints = [models.UniqueConstraint(fields=["user", "unit"], name="one_verifier_scope_per_unit")]

    def __str__(self):
        return f"{self.user} → {self.unit.code}"


class VerificationDraw(models.Model):
    """One draw of a period's verification sample: with its seed and settings it can be drawn
    again and gives the same assessments (verification.sample_draw)."""

    period = models.ForeignKey(AssessmentPeriod, on_delete=models.CASCADE, related_name="draws", verbose_name=_("period"))
    seed = models.BigIntegerField(_("seed"))
    fraction = models.FloatField(_("fraction drawn per unit"))
    minimum = models.PositiveSmallIntegerField(_("minimum per unit"))
    flagged_weight = models.PositiveSmallIntegerField(_("weight of a flagged assessment"))
    drawn = models.PositiveIntegerField(_("assessments drawn"), default=0)
    drawn_at = models.DateTimeField(_("drawn at"), default=timezone.now)
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-drawn_at", "-id"]
        verbose_name = _("verification sample")
        verbose_name_plural = _("verification samples")

    def __str__(self):
        return f"{self.period.code} · seed {self.seed}"


class Verification(models.Model):
    """An assessment in the verification queue, and its outcome once done: the verified
    pillar scores (VerifiedPillarScore) and index, computed with the same scoring functions."""

    class State(models.TextChoices):
        PENDING = "pending", _("To verify")
        EVIDENCE = "evidence", _("Waiting for evidence")
        DONE = "done", _("Verified")

    class Origin(models.TextChoices):
        SAMPLED = "sampled", _("Drawn in the sample")
        ADDED = "added", _("Added by the team")

    assessment = models.OneToOneField(SelfAssessment, on_delete=models.CASCADE, related_name="verification")
    period = models.ForeignKey(AssessmentPeriod, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey(WorkUnit, on_delete=models.PROTECT, related_name="+")  # the assessment's unit
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices)
    draw = models.ForeignKey(VerificationDraw, on_delete=models.SET_NULL, null=True, blank=True, related_name="verifications")
    flagged = models.BooleanField(_("credibility signal when queued"), default=False)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    version = models.PositiveIntegerField(default=1)
    verifier = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    index_score = models.FloatField(_("verified index"), null=True, blank=True)
    grade = models.CharField(_("verified grade"), max_length=20, choices=Grade.choices, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(_("verified at"), null=True, blank=True)

    class Meta:
        ordering = ["unit__path", "id"]
        verbose_name = _("verification")
        verbose_name_plural = _("verifications")
        indexes = [models.Index(fields=["period", "state"], name="verification_period_state")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="done") | Q(index_score__isnull=False), name="verification_done_has_index"
            )
        ]

    def __str__(self):
        return f"{self.assessment} · {self.get_state_display()}"


class VerifiedRating(models.Model):
    """The team's decision on one answer: agreed, adjusted (a score 1-5 with a reason), or
    evidence asked for (the person may add it while the verification is open)."""

    class Decision(models.TextChoices):
        AGREE = "agree", _("Agree")
        ADJUST = "adjust", _("Adjust the score")
        EVIDENCE = "evidence", _("Ask for evidence")

    verification = models.ForeignKey(Verification, on_delete=models.CASCADE, related_name="items")
    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="+")
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    score = models.PositiveSmallIntegerField(
        _("verified score"), null=True, blank=True, validators=[MinValueValidator(RATING_MIN), MaxValueValidator(RATING_MAX)]
    )
    reason = models.TextField(_("reason"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("verified answer")
        verbose_name_plural = _("verified answers")
        constraints = [
            models.UniqueConstraint(fields=["verification", "rating"], name="one_decision_per_answer"),
            models.CheckConstraint(
                condition=~Q(decision="adjust") | (Q(score__gte=RATING_MIN, score__lte=RATING_MAX) & ~Q(reason="")),
                name="adjusted_score_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.verification_id} · {self.rating_id} · {self.decision}"


class VerifiedPillarScore(models.Model):
    verification = models.ForeignKey(Verification, on_delete=models.CASCADE, related_name="pillar_scores")
    pillar = models.ForeignKey(PeriodPillar, on_delete=models.PROTECT, related_name="+")
    score = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["verification", "pillar"], name="one_verified_score_per_pillar")]

    def __str__(self):
        return f"{self.verification_id} · {self.pillar_id}: {self.score:.2f}"


# --- Background jobs, documents and in-app notices (issue: reports, reminders, jobs) ---------


def job_result_path(job: "Job", filename: str) -> str:
    return f"jobs/{job.created_at:%Y/%m}/{job.pk}-{filename}"


class Job(models.Model):
    """Long work run in the background (a Celery worker; in-process in the demo and tests):
    who started it, what, its state, its progress and its result file or error. Only the person
    who started it (and admins) may download the result, until `expires_at` (jobs.py)."""

    class Kind(models.TextChoices):
        REKAP_XLSX = "rekap_xlsx", _("Recap workbook (XLSX)")
        IMPORT_STAFF = "import_staff", _("Staff import")
        IMPORT_UNITS = "import_units", _("Work unit import")
        REPORTS_PDF = "reports_pdf", _("PDF reports of the organisation")
        SUMMARY_REBUILD = "summary_rebuild", _("Summary rebuild")

    class State(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Finished")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("started by"))
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    done = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    result = models.FileField(_("result"), storage=PrivateStorage, upload_to=job_result_path, blank=True)
    result_name = models.CharField(_("file name"), max_length=150, blank=True)
    summary = models.TextField(_("summary"), blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [models.Index(fields=["started_by", "-created_at"], name="job_owner_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class AssessmentReceipt(models.Model):
    """A "Bukti Penilaian Mandiri" issued to a person for one submission: its code is printed
    on the PDF, and /verifikasi/<code>/ confirms the document (name, period, index, date)
    without the answers. One per assessment and submission time."""

    code = models.CharField(_("verification code"), max_length=20, unique=True)
    assessment = models.ForeignKey(SelfAssessment, on_delete=models.CASCADE, related_name="receipts", verbose_name=_("self-assessment"))
    submitted_at = models.DateTimeField(_("submitted at"))
    index_score = models.FloatField(_("integrity index"), null=True, blank=True)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)

    class Meta:
        ordering = ["-issued_at"]
        verbose_name = _("assessment receipt")
        verbose_name_plural = _("assessment receipts")
        constraints = [models.UniqueConstraint(fields=["assessment", "submitted_at"], name="one_receipt_per_submission")]

    def __str__(self):
        return self.code


class Notice(models.Model):
    """A reminder shown in the app to one person until they dismiss it or submit: the daily
    reminders reach staff without an e-mail address this way (send_reminders), so that nobody
    depends on e-mail."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices")
    period = models.ForeignKey(AssessmentPeriod, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("period"))
    # What it says is written when it is shown, in the reader's language (templates).
    days_before = models.PositiveSmallIntegerField(_("days before closing"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("dismissed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("in-app notice")
        verbose_name_plural = _("in-app notices")
        indexes = [models.Index(fields=["user", "read_at"], name="notice_unread_idx")]

    def __str__(self):
        return f"{self.user} · {self.created_at:%Y-%m-%d}"


class SummaryDelta(models.Model):
    """A submission's or return's change to the summary rows, waiting to be added (summaries.py,
    "Applying changes"): written by a submit that found another one applying, and added by the
    next one to hold the period's lock, within moments. Readers never need it: it is gone
    before the person's next page."""

    period = models.ForeignKey(AssessmentPeriod, on_delete=models.CASCADE, related_name="+")
    change = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("pending summary change")
        verbose_name_plural = _("pending summary changes")

    def __str__(self):
        return f"{self.period_id} · {self.pk}"

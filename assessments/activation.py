"""Activation letters: staff without an e-mail address get their first password through a
printed letter with a one-time code, which they type with their NIP on /aktivasi/.

A code is 12 characters from an alphabet without look-alikes (no 0/O, no 1/I), printed in
groups of four; it is valid ACTIVATION_DAYS days, works once, and only while it is the person's
latest code (generating letters voids the earlier ones). The database keeps an HMAC of it,
keyed with SECRET_KEY and bound to the person: the code itself exists only in the letter page's
response, and is never stored or logged. Guessing is stopped by django-axes, as on the login
page (views.activation).
"""

import datetime
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from . import permissions
from .errors import ServiceError
from .models import ActivationCode, Employee, WorkUnit

logger = logging.getLogger("assessments.activation")

# The product brief: an activation code is valid for 14 days.
ACTIVATION_DAYS = 14
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: 60 bits in 12 characters
CODE_LENGTH = 12
_KEY_SALT = "assessments.activation.ActivationCode"

# Who may activate an account with a code: an active person with an active account who has
# never logged in, without administration rights (a letter must not become a way into an
# administrator's account, nor into the account of someone who already uses theirs: in a
# confidential period an admin must not be able to read a person's answers by logging in as them).
ACTIVATABLE = Q(is_active=True, user__is_active=True, user__last_login__isnull=True, user__is_staff=False, user__is_superuser=False)
# Who gets a letter: the same, without an e-mail address (the others use "Lupa kata sandi").
LETTER_ELIGIBLE = ACTIVATABLE & Q(user__email="")


@dataclass(frozen=True)
class Letter:
    """One activation letter: the person, the code in clear (shown once, never stored) and when it expires."""

    employee: Employee
    code: str
    expires_at: datetime.datetime


def code_hash(employee_id: int, code: str) -> str:
    """The stored form of a code: an HMAC-SHA256 keyed with SECRET_KEY, bound to the person."""
    return salted_hmac(_KEY_SALT, f"{employee_id}:{normalise_code(code)}", algorithm="sha256").hexdigest()


def normalise_code(text: str) -> str:
    """A code as typed ("abcd efgh-jkmn") in its stored form ("ABCDEFGHJKMN")."""
    return "".join(character for character in text.upper() if character.isalnum())


def code_display(code: str) -> str:
    """ABCDEFGHJKMN -> ABCD-EFGH-JKMN, as the letter prints it."""
    return "-".join(code[start : start + 4] for start in range(0, len(code), 4))


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def letter_candidates(employees: QuerySet) -> tuple[list[Employee], list[tuple[Employee, str]]]:
    """Split chosen staff into those who get a letter and those who do not, each with the reason."""
    chosen = list(employees.select_related("user", "unit").order_by("unit__path", "full_name", "nip"))
    eligible_ids = set(employees.filter(LETTER_ELIGIBLE).values_list("pk", flat=True))
    eligible = [employee for employee in chosen if employee.pk in eligible_ids]
    skipped = [(employee, _skip_reason(employee)) for employee in chosen if employee.pk not in eligible_ids]
    return eligible, skipped


def _skip_reason(employee: Employee) -> str:
    user = employee.user
    if not employee.is_active or not user.is_active:
        return _("inactive")
    if user.is_staff or user.is_superuser:
        return _("an administration account: its password is set under Users")
    if user.last_login is not None:
        return _("has logged in already: uses their own password")
    return _("has an e-mail address: sets a password through “Forgot password”")


def unit_letter_candidates(units: Sequence[WorkUnit]) -> QuerySet:
    """The staff of these units and everything below them who get a letter: without an e-mail
    address, never logged in (LETTER_ELIGIBLE)."""
    return Employee.objects.filter(permissions.units_q(list(units), "unit")).filter(LETTER_ELIGIBLE).select_related("user", "unit").order_by("unit__path", "full_name", "nip")


def activation_letters_issue(*, employees: Sequence[Employee], actor) -> list[Letter]:
    """Generate a new code for each person, voiding their earlier ones, and return the letters
    (the only place the codes exist in clear). People no longer eligible when this runs get
    none. All or nothing."""
    now = timezone.now()
    expires_at = now + datetime.timedelta(days=ACTIVATION_DAYS)
    with transaction.atomic():
        # Locked, so that two admins generating at once leave one live code per person.
        people = list(
            Employee.objects.select_for_update(of=("self",))
            .filter(LETTER_ELIGIBLE, pk__in=[employee.pk for employee in employees])
            .select_related("user", "unit")
            .order_by("unit__path", "full_name", "nip")
        )
        ids = [person.pk for person in people]
        ActivationCode.objects.filter(employee_id__in=ids, used_at__isnull=True, voided_at__isnull=True).update(voided_at=now)
        letters = [Letter(person, new_code(), expires_at) for person in people]
        ActivationCode.objects.bulk_create(
            [
                ActivationCode(employee=letter.employee, code_hash=code_hash(letter.employee.pk, letter.code), created_by=actor, created_at=now, expires_at=expires_at)
                for letter in letters
            ],
            batch_size=1000,
        )
    logger.info("activation letters generated: %s, by user %s", len(letters), actor.pk)
    return letters


def activation_code_find(*, nip: str, code: str) -> ActivationCode | None:
    """The person's live code matching `code` (unused, not voided, not expired, the account
    still activatable), or None: whichever of these fails, the answer is the same."""
    employee = Employee.objects.filter(ACTIVATABLE, nip=nip).select_related("user").first()
    if employee is None or not normalise_code(code):
        return None
    live = ActivationCode.objects.filter(employee=employee, used_at__isnull=True, voided_at__isnull=True, expires_at__gt=timezone.now()).first()
    if live is None or not constant_time_compare(live.code_hash, code_hash(employee.pk, code)):
        return None
    live.employee = employee
    return live


def activation_complete(*, activation: ActivationCode, password: str) -> None:
    """Set the person's password with a code found by `activation_code_find` and mark the code
    used, once: a second use (even a concurrent one) raises ServiceError("code_invalid")."""
    with transaction.atomic():
        code = ActivationCode.objects.select_for_update().filter(pk=activation.pk, used_at__isnull=True, voided_at__isnull=True).first()
        employee = Employee.objects.filter(ACTIVATABLE, pk=activation.employee_id).select_related("user").first()
        if code is None or employee is None or code.expires_at <= timezone.now():
            raise ServiceError(code="code_invalid")
        user = employee.user
        user.set_password(password)
        user.save(update_fields=["password"])
        code.used_at = timezone.now()
        code.save(update_fields=["used_at"])
    logger.info("account activated with an activation letter: employee %s", employee.pk)

"""The staff import: check a file's rows (NIP, Nama, Jabatan, Kode Unit, Email), plan them
against the database, and write them, all or nothing."""

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from .. import summaries
from ..models import Employee, WorkUnit
from ..validators import validate_nip
from . import files
from .files import CREATE, UNCHANGED, UPDATE, Change, Column, ImportResult, ImportSummary, Plan, PlanItem, RowError

STAFF_COLUMNS = (
    Column("nip", "NIP", ("nip", "nipbaru")),
    Column("full_name", "Nama", ("nama", "namalengkap", "namapegawai", "name", "fullname")),
    Column("position", "Jabatan", ("jabatan", "namajabatan", "position"), required=False),
    Column("unit_code", "Kode Unit", ("kodeunit", "kodeunitkerja", "unitcode")),
    Column("email", "Email", ("email", "surel", "alamatemail", "emailaddress"), required=False),
)


@dataclass
class StaffRow:
    row: int
    nip: str
    full_name: str
    position: str | None  # None: the file has no Jabatan column, so what is stored stays
    unit_code: str
    email: str  # "": keep the stored address


NIP_AS_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?[eE]\+?\d+$")


def read_staff(data: bytes, filename: str) -> ImportResult:
    """Check a staff file (NIP, Nama, Jabatan, Kode Unit, Email) and plan it; writes nothing."""
    return files.read_result("staff", _read_staff, data, filename)


def _read_staff(data: bytes, filename: str) -> ImportResult:
    table = files.read_table(data, filename, STAFF_COLUMNS)
    names = files.header_names(STAFF_COLUMNS, table.headers)
    has_position = "position" in table.headers
    errors: list[RowError] = []
    rows: list[StaffRow] = []
    first_row_of: dict[str, int] = {}
    for number, cells in table.records:
        problems: list[tuple[str, str]] = []  # (column key, message)

        raw_nip = cells.get("nip")
        nip = re.sub(r"\s+", "", files.cell_text(raw_nip))  # "19800101 200501 1 001" is how NIPs are often printed
        if files.is_number(raw_nip):
            message = _(
                "This NIP is stored as a number, and Excel keeps only 15 digits of a number: the last digits "
                "of the 18-digit NIP are lost. Format the NIP column as Text, type the NIPs again and save."
            )
            problems.append(("nip", message))
        elif not nip:
            problems.append(("nip", _("The NIP is missing.")))
        elif NIP_AS_NUMBER.match(nip):
            message = _(
                "This NIP was saved as a number in scientific notation (%(value)s), so its last digits are lost. "
                "In Excel format the NIP column as Text, type the NIPs again and save."
            ) % {"value": nip}
            problems.append(("nip", message))
        else:
            try:
                validate_nip(nip)
            except ValidationError as error:
                problems.append(("nip", " ".join(str(message) for message in error.messages)))
        if nip and not files.is_number(raw_nip):
            if nip in first_row_of:
                problems.append(("nip", _("This NIP already appears in row %(row)s.") % {"row": first_row_of[nip]}))
            else:
                first_row_of[nip] = number

        full_name = files.cell_text(cells.get("full_name"))
        if not full_name:
            problems.append(("full_name", _("The name is missing.")))
        elif message := files.length_error(full_name, Employee._meta.get_field("full_name").max_length):
            problems.append(("full_name", message))

        position = files.cell_text(cells.get("position")) if has_position else None
        if position and (message := files.length_error(position, Employee._meta.get_field("position").max_length)):
            problems.append(("position", message))

        unit_code = files.cell_text(cells.get("unit_code"))
        if not unit_code:
            problems.append(("unit_code", _("The unit code is missing.")))

        email = files.cell_text(cells.get("email"))
        if email:
            try:
                if len(email) > get_user_model()._meta.get_field("email").max_length:
                    raise ValidationError("too long")
                validate_email(email)
            except ValidationError:
                problems.append(("email", _("“%(value)s” is not a valid e-mail address.") % {"value": email}))

        if problems:
            errors.extend(RowError(number, names[key], message) for key, message in problems)
        else:
            rows.append(StaffRow(number, nip, full_name, position, unit_code, email))

    plan = plan_staff(rows, headers=table.headers)
    errors.extend(plan.errors)
    return ImportResult("staff", errors=files.sorted_errors(errors, STAFF_COLUMNS, names), rows=rows, plan=plan)


def staff_field_labels() -> dict[str, str]:
    return {
        "full_name": str(Employee._meta.get_field("full_name").verbose_name),
        "position": str(Employee._meta.get_field("position").verbose_name),
        "unit": str(Employee._meta.get_field("unit").verbose_name),
        "email": _("e-mail"),
        "is_active": str(Employee._meta.get_field("is_active").verbose_name),
    }


def plan_staff(rows: Sequence[StaffRow], *, headers: Mapping[str, str] | None = None, lock: bool = False) -> Plan:
    """Compare checked rows with the database: which employees are new, which change and how.

    Existing staff are matched by NIP; a new NIP gets a login account named after it, or the
    existing account of that name when it belongs to nobody yet. `lock` (inside the writing
    transaction) locks the matched employees and accounts until it ends.
    """
    names = files.header_names(STAFF_COLUMNS, headers)
    labels = staff_field_labels()
    plan = Plan()

    codes = sorted({row.unit_code for row in rows})
    units = {}
    for chunk in files.chunks(codes):
        units.update({unit.code: unit for unit in WorkUnit.objects.filter(code__in=chunk).only("id", "code", "is_active")})
    plan.unit_ids = {code: unit.pk for code, unit in units.items()}
    unit_codes: dict[int, str] | None = None

    nips = [row.nip for row in rows]
    employees = Employee.objects.select_related("user")
    if lock:
        employees = employees.select_for_update(of=("self", "user"))
    existing: dict[str, Employee] = {}
    for chunk in files.chunks(nips):
        existing.update({e.nip: e for e in employees.filter(nip__in=chunk)})

    User = get_user_model()
    new_nips = [nip for nip in nips if nip not in existing]
    users = User.objects.annotate(employee_nip=F("employee__nip"))
    if lock:
        users = users.select_for_update(of=("self",))
    accounts = {}
    for chunk in files.chunks(new_nips):
        found = users.filter(username__in=chunk)
        accounts.update({user.get_username(): user for user in found})

    for row in rows:
        unit = units.get(row.unit_code)
        if unit is None:
            plan.errors.append(
                RowError(
                    row.row,
                    names["unit_code"],
                    _("There is no work unit with the code “%(code)s”. Import the units first or correct the code.")
                    % {"code": row.unit_code},
                )
            )
            continue
        if not unit.is_active:
            plan.errors.append(
                RowError(row.row, names["unit_code"], _("The work unit “%(code)s” is no longer active.") % {"code": row.unit_code})
            )
            continue

        employee = existing.get(row.nip)
        if employee is None:
            account = accounts.get(row.nip)
            if account is not None and account.employee_nip:
                plan.errors.append(
                    RowError(
                        row.row,
                        names["nip"],
                        _("The login name %(nip)s already belongs to the account of another employee (NIP %(other)s).")
                        % {"nip": row.nip, "other": account.employee_nip},
                    )
                )
                continue
            if account is not None and row.email and row.email.lower() != account.email.lower() and _is_privileged(account):
                plan.errors.append(RowError(row.row, names["email"], _privileged_message()))
                continue
            plan.items.append(PlanItem(row, CREATE, account=account))
            continue

        changes = []
        if employee.full_name != row.full_name:
            changes.append(Change("full_name", labels["full_name"], employee.full_name, row.full_name))
        if row.position is not None and employee.position != row.position:
            changes.append(Change("position", labels["position"], employee.position, row.position))
        if employee.unit_id != unit.pk:
            if unit_codes is None:  # the old unit's code, for the preview; the unit table is small
                unit_codes = dict(WorkUnit.objects.values_list("pk", "code"))
            changes.append(Change("unit", labels["unit"], unit_codes[employee.unit_id], row.unit_code))
        # An empty cell keeps the stored address: people need it to reset their password.
        if row.email and row.email.lower() != employee.user.email.lower():
            if _is_privileged(employee.user):
                plan.errors.append(RowError(row.row, names["email"], _privileged_message()))
                continue
            changes.append(Change("email", labels["email"], employee.user.email, row.email))
        if not employee.is_active:
            # Someone in the current staff list works here again.
            changes.append(Change("is_active", labels["is_active"], _("no"), _("yes")))
        plan.items.append(PlanItem(row, UPDATE if changes else UNCHANGED, changes, target=employee))
    return plan


def _is_privileged(user) -> bool:
    # Whoever controls an account's e-mail can reset its password: the import must not become
    # a way to take over an administrator's account.
    return user.is_staff or user.is_superuser


def _privileged_message() -> str:
    return _(
        "This person's account has administration rights, so the import does not change its e-mail address. "
        "Change it under Users, or leave the cell empty."
    )


def _unusable_password() -> str:
    # What make_password(None) stores, a "!" and a random tail (so that password-reset tokens
    # stay unguessable), made with one call to secrets instead of forty: 20,000 new accounts
    # would otherwise spend most of a second here.
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30)


def _update_rows(model, objs: Sequence, fields: Sequence[str]) -> None:
    """Write `fields` of rows that exist, from complete instances loaded in this transaction.

    Django's bulk_update sends a CASE WHEN id=... per row and field, which takes some fifteen
    seconds for 20,000 staff; an INSERT ... ON CONFLICT (id) DO UPDATE of the same rows (on
    PostgreSQL and SQLite) takes a fraction of a second. Only `fields` are overwritten.
    """
    if objs and fields:
        model._default_manager.bulk_create(
            objs, batch_size=1000, update_conflicts=True, unique_fields=[model._meta.pk.name], update_fields=fields
        )


def staff_import(*, rows: Sequence[StaffRow], actor) -> ImportSummary:
    """Create and update staff from checked import rows, all or nothing.

    Staff are matched by NIP; new ones get a login account named after their NIP with an
    unusable password (they choose one through "Lupa kata sandi"). Staff not in `rows` are
    left alone. Every created or changed employee gets a history record naming `actor`.
    Raises ServiceError, and writes nothing, when a row no longer fits the database.
    """
    User = get_user_model()
    try:
        with transaction.atomic():
            plan = plan_staff(rows, lock=True)
            if plan.errors:
                raise files.import_refused(plan)
            new_users, new_employees, changed_users, changed_employees = [], [], [], []
            changed_fields: set[str] = set()
            for item in plan.items:
                row = item.row
                unit_id = plan.unit_ids[row.unit_code]
                if item.action == CREATE:
                    user = item.account
                    if user is None:
                        user = User(username=row.nip, email=row.email, first_name=row.full_name[:150], password=_unusable_password())
                        new_users.append(user)
                    elif row.email or not user.first_name:
                        user.email = row.email or user.email
                        user.first_name = user.first_name or row.full_name[:150]
                        changed_users.append(user)
                    new_employees.append(
                        Employee(user=user, nip=row.nip, full_name=row.full_name, position=row.position or "", unit_id=unit_id)
                    )
                elif item.action == UPDATE:
                    employee = item.target
                    for change in item.changes:
                        if change.field == "email":
                            employee.user.email = row.email
                        elif change.field == "full_name":
                            employee.full_name = row.full_name
                            employee.user.first_name = row.full_name[:150]  # the name shown on reviews
                        elif change.field == "position":
                            employee.position = row.position
                        elif change.field == "unit":
                            employee.unit_id = unit_id
                        elif change.field == "is_active":
                            employee.is_active = True
                        changed_fields.add(change.field)
                    if {"email", "full_name"} & {change.field for change in item.changes}:
                        changed_users.append(employee.user)
                    employee._change_reason = files.import_reason(item.changes)
                    changed_employees.append(employee)

            User.objects.bulk_create(new_users, batch_size=1000)
            if new_users and new_users[0].pk is None:  # a backend that does not return ids
                ids = {}
                for chunk in files.chunks([user.username for user in new_users]):
                    ids.update(User.objects.filter(username__in=chunk).values_list("username", "pk"))
                for user in new_users:
                    user.pk = ids[user.username]
            for employee in new_employees:
                employee.user_id = employee.user.pk
            _update_rows(User, changed_users, ["email", "first_name"])
            bulk_create_with_history(
                new_employees, Employee, batch_size=1000, default_user=actor, default_change_reason=files.import_reason()
            )
            # What bulk_update_with_history does, with the faster write. An e-mail change alone
            # updates no Employee column, yet still gets its history record (its reason names
            # the e-mail): the audit trail shows who changed it.
            _update_rows(Employee, changed_employees, sorted(changed_fields - {"email"}))
            Employee.history.bulk_history_create(changed_employees, batch_size=1000, update=True, default_user=actor)
            summaries.expected_refresh_open_periods()
    except IntegrityError:  # another import or an admin created the same NIP meanwhile
        raise files.changed_meanwhile()
    return ImportSummary.of(plan)

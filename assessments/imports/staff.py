"""The staff import: check a file's rows (NIP, Nama, Jabatan, the unit, Email and the supervisor
relations), plan them against the database, and write them, all or nothing.

A SIASN staff export (BKN's civil-service system) is read as it is: its headings ("NIP Baru",
"Unor ID", "Unor Nama", "NIP Atasan", ...) are aliases in STAFF_COLUMNS, the one table of the
headings this import accepts; every other column is ignored and the preview names it. Cells
become rows in `imports.staff_rows`; the supervisor relations (NIP Atasan, Kepala Unit) are
planned and written by `imports.supervisors`.
"""

import functools
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history

from .. import permissions, summaries
from ..models import Employee, WorkUnit
from . import files, supervisors
from .files import CREATE, UNCHANGED, UPDATE, Change, ImportResult, ImportSummary, Plan, PlanItem, RowError
from .staff_rows import STAFF_COLUMNS, StaffRow, resolve_unit_names, staff_row

__all__ = ["NOTES", "STAFF_COLUMNS", "StaffRow", "plan_staff", "read_staff", "staff_import"]

# What the import page tells an admin about the file.
NOTES = (
    gettext_lazy("Staff are matched by NIP. New staff log in with their NIP and choose a password through “Forgot password”."),
    gettext_lazy("Format the NIP column as Text in Excel: a number keeps only 15 digits."),
    gettext_lazy("Jabatan and Email may be empty; an empty Email keeps the address already stored. E-mail or Surel are accepted as the header too."),
    gettext_lazy("Staff who are not in the file stay as they are."),
    gettext_lazy(
        "A SIASN staff export is read as it is: the headings in the last column of the table above are recognised, "
        "NIP Lama and every other column are ignored, and the preview names the ignored ones."
    ),
    gettext_lazy("Gelar Depan and Gelar Belakang, when the file has them, are joined to the name as letters write it: “Dr. Budi Santoso, M.Si.”."),
    gettext_lazy(
        "The unit is given by its code (Kode Unit, Unor ID) or, in a file without codes, by its name (Unor, Unit Organisasi), "
        "which must match exactly one active unit. When a row has both, the code counts."
    ),
    gettext_lazy(
        "NIP Atasan names the person's supervisor. The supervisor becomes the head of the person's unit or, "
        "when the person heads their unit, of the unit above it (a head sees their unit and everything below it)."
    ),
    gettext_lazy(
        "Kepala Unit (ya or tidak) says whether the person heads their own unit. Where it is empty or missing, a person heads "
        "their unit when someone of that unit names them as supervisor, or when they head it already."
    ),
    gettext_lazy(
        "A file gives a unit one head, who replaces the unit's other heads; units the file gives no head keep theirs. "
        "The preview lists every head added and removed."
    ),
)

def read_staff(data: bytes, filename: str, *, scope: Sequence[WorkUnit] | None = None) -> ImportResult:
    """Check a staff file (NIP, Nama, Jabatan, the unit, Email, supervisor relations) and plan
    it; writes nothing. `scope`: an office admin's units (permissions.managed_units), None for
    the whole organisation."""
    return files.read_result("staff", functools.partial(_read_staff, scope=scope), data, filename)


def _read_staff(data: bytes, filename: str, *, scope: Sequence[WorkUnit] | None) -> ImportResult:
    table = files.read_table(data, filename, STAFF_COLUMNS)
    names = files.header_names(STAFF_COLUMNS, table.headers)
    errors: list[RowError] = []
    rows: list[StaffRow] = []
    first_row_of: dict[str, int] = {}
    for number, cells in table.records:
        row, problems = staff_row(number, cells, table.headers, first_row_of)
        if problems:
            errors.extend(RowError(number, names[key], message) for key, message in problems)
        else:
            rows.append(row)
    rows = resolve_unit_names(rows, names=names, errors=errors)
    # A person whose row failed is still in the file: rows naming them as supervisor are not blamed for it.
    plan = plan_staff(rows, headers=table.headers, also_in_file=set(first_row_of), scope=scope)
    errors.extend(plan.errors)
    return ImportResult(
        "staff", errors=files.sorted_errors(errors, STAFF_COLUMNS, names), rows=rows, plan=plan, ignored_columns=table.ignored
    )


def staff_field_labels() -> dict[str, str]:
    return {
        "full_name": str(Employee._meta.get_field("full_name").verbose_name),
        "position": str(Employee._meta.get_field("position").verbose_name),
        "unit": str(Employee._meta.get_field("unit").verbose_name),
        "email": _("e-mail"),
        "is_active": str(Employee._meta.get_field("is_active").verbose_name),
    }


def plan_staff(
    rows: Sequence[StaffRow],
    *,
    headers: Mapping[str, str] | None = None,
    lock: bool = False,
    also_in_file: Iterable[str] = (),
    scope: Sequence[WorkUnit] | None = None,
) -> Plan:
    """Compare checked rows with the database: which employees are new, which change and how,
    and which supervisor assignments the file adds and removes (imports.supervisors).

    Existing staff are matched by NIP; a new NIP gets a login account named after it, or the
    existing account of that name when it belongs to nobody yet. `lock` (inside the writing
    transaction) locks the matched employees, accounts and assignments until it ends.
    `also_in_file`: the NIPs of rows that failed their checks, which other rows may still name.
    `scope`: an office admin's units, outside which a row changes nothing (`_Office.problem`),
    and no head is added (`_Office.head_problems`).
    """
    names = files.header_names(STAFF_COLUMNS, headers)
    labels = staff_field_labels()
    units = _units_by_code(sorted({row.unit_code for row in rows}))
    existing = _employees_by_nip([row.nip for row in rows], lock=lock)
    accounts = _accounts_by_name([row.nip for row in rows if row.nip not in existing], lock=lock)

    @functools.cache
    def unit_codes() -> dict[int, str]:  # the old unit's code of a person who moves, for the preview
        return dict(WorkUnit.objects.values_list("pk", "code"))  # the unit table is small

    office = _Office.of(scope)
    plan = Plan(unit_ids={code: unit.pk for code, unit in units.items()})
    for row in rows:
        unit, employee = units.get(row.unit_code), existing.get(row.nip)
        if office and (problem := office.problem(row, unit, employee or accounts.get(row.nip), names=names)):
            outcome = problem
        elif unit is None or not unit.is_active:
            outcome = RowError(row.row, names["unit_code"], _unit_problem(row.unit_code, unit))
        elif employee is None:
            outcome = _plan_newcomer(row, accounts.get(row.nip), names=names)
        else:
            outcome = _plan_update(row, employee, unit, names=names, labels=labels, unit_codes=unit_codes)
        if isinstance(outcome, RowError):
            plan.errors.append(outcome)
        else:
            plan.items.append(outcome)
    heads = supervisors.plan_heads(rows, units=units, names=names, also_in_file=also_in_file, lock=lock)
    plan.heads_added, plan.heads_removed = heads.added, heads.removed
    plan.errors.extend(heads.errors)
    if office:
        plan.errors.extend(office.head_problems(heads.added, names=names))
    return plan


@dataclass
class _Office:
    """An office admin's import: the ids of their units, and of the accounts whose e-mail address
    they may not change (permissions.privileged_accounts)."""

    units: set[int]
    protected: set[int]

    @classmethod
    def of(cls, scope: Sequence[WorkUnit] | None) -> "_Office | None":
        if scope is None:
            return None
        units = set(WorkUnit.objects.filter(permissions.units_q(list(scope))).values_list("pk", flat=True))
        return cls(units=units, protected=set(permissions.privileged_accounts().values_list("pk", flat=True)))

    def problem(self, row: StaffRow, unit: WorkUnit | None, target, *, names: Mapping[str, str]) -> RowError | None:
        """A unit outside their units is as unknown as one that does not exist; a person working
        outside them is not theirs to change; an account with more rights keeps its e-mail.
        `target`: the employee of the NIP, else the login account of that name, else None."""
        if unit is None or unit.pk not in self.units:
            message = _("There is no work unit with the code “%(code)s” among the units you manage.") % {"code": row.unit_code}
            return RowError(row.row, names["unit_code"], message)
        if isinstance(target, Employee) and target.unit_id not in self.units:
            message = _("The person with this NIP works in a unit outside the units you manage: ask the central HR office (Admin Kepegawaian) to move them.")
            return RowError(row.row, names["nip"], message)
        user = target.user if isinstance(target, Employee) else target
        if user is not None and user.pk in self.protected:
            if row.email and row.email.lower() != user.email.lower():
                return RowError(row.row, names["email"], office_privileged_message())
            if isinstance(target, Employee) and not target.is_active:  # the import would switch it on again
                return RowError(row.row, names["nip"], office_privileged_message())
        return None

    def head_problems(self, added, *, names: Mapping[str, str]) -> list[RowError]:
        """A head the file would add (imports.supervisors.Headship) to a unit outside their units
        (the head of their top unit heads the unit above it), or a head with administrative
        rights (themselves included): only the central HR office assigns those, since a head
        reads the answers of the unit."""
        if not added:
            return []
        rights = set(
            Employee.objects.filter(nip__in=[head.nip for head in added], user__in=permissions.privileged_accounts(heads=False)).values_list("nip", flat=True)
        )
        problems = []
        for head in added:
            if head.unit.pk not in self.units:
                message = _("%(name)s would head “%(unit)s”, a unit outside the units you manage: ask the central HR office (Admin Kepegawaian).")
            elif head.nip in rights:
                message = _("%(name)s has administrative rights: only the central HR office (Admin Kepegawaian) makes them head of “%(unit)s”.")
            else:
                continue
            text = message % {"name": head.name, "unit": head.unit.name}
            problems.extend(RowError(row, names["supervisor_nip"] if "supervisor_nip" in names else names["nip"], text) for row in head.rows)
        return problems


def office_privileged_message() -> str:
    """Why an office admin may not change this account's e-mail address or switch it off."""
    return _(
        "This person's account has more rights than their own data (an administrator, a head of unit or the internal "
        "assessment team): only the central HR office (Admin Kepegawaian) changes its e-mail address or switches it on or off."
    )


def _units_by_code(codes: Sequence[str]) -> dict[str, WorkUnit]:
    units = {}
    for chunk in files.chunks(codes):
        found = WorkUnit.objects.filter(code__in=chunk).only("id", "code", "name", "path", "depth", "is_active")
        units.update({unit.code: unit for unit in found})
    return units


def _employees_by_nip(nips: Sequence[str], *, lock: bool) -> dict[str, Employee]:
    employees = Employee.objects.select_related("user")
    if lock:
        employees = employees.select_for_update(of=("self", "user"))
    existing: dict[str, Employee] = {}
    for chunk in files.chunks(nips):
        existing.update({e.nip: e for e in employees.filter(nip__in=chunk)})
    return existing


def _accounts_by_name(usernames: Sequence[str], *, lock: bool) -> dict:
    """The login accounts of these names; `employee_nip` tells whose employee record each has."""
    users = get_user_model().objects.annotate(employee_nip=F("employee__nip"))
    if lock:
        users = users.select_for_update(of=("self",))
    accounts = {}
    for chunk in files.chunks(usernames):
        found = users.filter(username__in=chunk)
        accounts.update({user.get_username(): user for user in found})
    return accounts


def _unit_problem(code: str, unit: WorkUnit | None) -> str:
    if unit is None:
        return _("There is no work unit with the code “%(code)s”. Import the units first or correct the code.") % {"code": code}
    return _("The work unit “%(code)s” is no longer active.") % {"code": code}


def _plan_newcomer(row: StaffRow, account, *, names: Mapping[str, str]) -> PlanItem | RowError:
    """A person not yet employed: created, with `account` (a login of their NIP that belongs to
    nobody, or None for a new one)."""
    if account is not None and account.employee_nip:
        return RowError(
            row.row,
            names["nip"],
            _("The login name %(nip)s already belongs to the account of another employee (NIP %(other)s).")
            % {"nip": row.nip, "other": account.employee_nip},
        )
    if account is not None and row.email and row.email.lower() != account.email.lower() and _is_privileged(account):
        return RowError(row.row, names["email"], _privileged_message())
    return PlanItem(row, CREATE, account=account)


def _plan_update(
    row: StaffRow,
    employee: Employee,
    unit: WorkUnit,
    *,
    names: Mapping[str, str],
    labels: Mapping[str, str],
    unit_codes: Callable[[], Mapping[int, str]],
) -> PlanItem | RowError:
    """A person already employed: what the row changes, if anything."""
    changes = []
    if employee.full_name != row.full_name:
        changes.append(Change("full_name", labels["full_name"], employee.full_name, row.full_name))
    if row.position is not None and employee.position != row.position:
        changes.append(Change("position", labels["position"], employee.position, row.position))
    if employee.unit_id != unit.pk:
        changes.append(Change("unit", labels["unit"], unit_codes()[employee.unit_id], row.unit_code))
    # An empty cell keeps the stored address: people need it to reset their password.
    if row.email and row.email.lower() != employee.user.email.lower():
        if _is_privileged(employee.user):
            return RowError(row.row, names["email"], _privileged_message())
        changes.append(Change("email", labels["email"], employee.user.email, row.email))
    if not employee.is_active:
        # Someone in the current staff list works here again.
        changes.append(Change("is_active", labels["is_active"], _("no"), _("yes")))
    return PlanItem(row, UPDATE if changes else UNCHANGED, changes, target=employee)


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


def staff_import(*, rows: Sequence[StaffRow], actor, scope: Sequence[WorkUnit] | None = None) -> ImportSummary:
    """Create and update staff from checked import rows, all or nothing.

    Staff are matched by NIP; new ones get a login account named after their NIP with an
    unusable password (they choose one through "Lupa kata sandi", or with an activation letter).
    Staff not in `rows` are left alone. The supervisor assignments the rows imply are added and
    removed in the same transaction. Every created or changed employee and assignment gets a
    history record naming `actor`. `scope`: an office admin's units (the rows were checked
    against them, and are again).
    Raises ServiceError, and writes nothing, when a row no longer fits the database.
    """
    User = get_user_model()
    try:
        with transaction.atomic():
            plan = plan_staff(rows, lock=True, scope=scope)
            if plan.errors:
                raise files.import_refused(plan)
            new_employees, new_users, linked_users = _newcomers(plan)
            changed_employees, changed_users, changed_fields = _updates(plan)
            _users_create(new_users)
            for employee in new_employees:
                employee.user_id = employee.user.pk
            _update_rows(User, linked_users + changed_users, ["email", "first_name"])
            bulk_create_with_history(
                new_employees, Employee, batch_size=1000, default_user=actor, default_change_reason=files.import_reason()
            )
            # What bulk_update_with_history does, with the faster write. An e-mail change alone
            # updates no Employee column, yet still gets its history record (its reason names
            # the e-mail): the audit trail shows who changed it.
            _update_rows(Employee, changed_employees, sorted(changed_fields - {"email"}))
            Employee.history.bulk_history_create(changed_employees, batch_size=1000, update=True, default_user=actor)
            supervisors.heads_write(plan, actor=actor)  # after the staff: a new head needs their record
            summaries.expected_refresh_open_periods()
    except IntegrityError:  # another import or an admin created the same NIP meanwhile
        raise files.changed_meanwhile()
    return ImportSummary.of(plan)


def _newcomers(plan: Plan) -> tuple[list[Employee], list, list]:
    """The employees the plan creates (unsaved), the new login accounts they need (unsaved), and
    the existing accounts they take over, with their e-mail and name filled in."""
    User = get_user_model()
    employees, new_users, linked_users = [], [], []
    for item in plan.items:
        if item.action != CREATE:
            continue
        row, user = item.row, item.account
        if user is None:
            user = User(username=row.nip, email=row.email, first_name=row.full_name[:150], password=_unusable_password())
            new_users.append(user)
        elif row.email or not user.first_name:
            user.email = row.email or user.email
            user.first_name = user.first_name or row.full_name[:150]
            linked_users.append(user)
        unit_id = plan.unit_ids[row.unit_code]
        employees.append(Employee(user=user, nip=row.nip, full_name=row.full_name, position=row.position or "", unit_id=unit_id))
    return employees, new_users, linked_users


def _updates(plan: Plan) -> tuple[list[Employee], list, set[str]]:
    """The employees the plan changes, changed in memory (each with its history reason); the
    accounts whose e-mail or name changes with them; and the fields that change."""
    employees, users, fields = [], [], set()
    for item in plan.items:
        if item.action != UPDATE:
            continue
        employee, changed = item.target, {change.field for change in item.changes}
        for name in changed:
            _employee_change(employee, name, item.row, unit_id=plan.unit_ids[item.row.unit_code])
        if {"email", "full_name"} & changed:
            users.append(employee.user)
        employee._change_reason = files.import_reason(item.changes)
        employees.append(employee)
        fields |= changed
    return employees, users, fields


def _employee_change(employee: Employee, field: str, row: StaffRow, *, unit_id: int) -> None:
    if field == "email":
        employee.user.email = row.email
    elif field == "full_name":
        employee.full_name = row.full_name
        employee.user.first_name = row.full_name[:150]  # the name shown on reviews
    elif field == "position":
        employee.position = row.position
    elif field == "unit":
        employee.unit_id = unit_id
    elif field == "is_active":
        employee.is_active = True


def _users_create(users: list) -> None:
    """Insert new login accounts; each then has its id."""
    User = get_user_model()
    User.objects.bulk_create(users, batch_size=1000)
    if users and users[0].pk is None:  # a backend that does not return ids
        ids = {}
        for chunk in files.chunks([user.username for user in users]):
            ids.update(User.objects.filter(username__in=chunk).values_list("username", "pk"))
        for user in users:
            user.pk = ids[user.username]

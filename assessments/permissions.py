"""Who may see what, in one place.

Every view fetches the object it shows through one of the `get_*_for_user` helpers on its first
line; they answer 404 for anything outside the user's scope, so a guessed id tells nothing.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404

from . import structure
from .models import AssessmentPeriod, AssessmentState, Employee, PeriodUnit, Rating, SelfAssessment, Visibility, WorkUnit

ADMIN_GROUP = "Admin Kepegawaian"
# The internal assessment team: members verify the assessments of the units assigned to them.
VERIFIER_GROUP = "Tim Penilai Internal"
# Office admins (Admin OPD): members manage the units and staff of the units assigned to them.
OFFICE_ADMIN_GROUP = "Admin OPD"

# Others see an assessment only once its owner has handed it in; a draft is the owner's alone.
VISIBLE_TO_OTHERS = (AssessmentState.SUBMITTED, AssessmentState.RETURNED, AssessmentState.APPROVED)

# The permission that makes an admin (the whole organisation), given directly or through a group.
ADMIN_RIGHT = {"content_type__app_label": "assessments", "codename": "view_organisation"}


def _account_rights(user) -> dict[str, bool]:
    """The account's administrative rights, in one query (cached on the user object): the
    permission view_organisation (directly or through a group, as ModelBackend reads it) and
    membership of the groups that carry a scope ({"admin": bool, VERIFIER_GROUP: bool,
    OFFICE_ADMIN_GROUP: bool}). Asked on most pages; it was three or four queries, and is
    written in SQL because the ORM spends more building it than the database spends answering
    it."""
    if "_account_rights" not in user.__dict__:
        User = get_user_model()
        tables = {
            "user_perms": User.user_permissions.through._meta.db_table,
            "user_groups": User.groups.through._meta.db_table,
            "group_perms": Group.permissions.through._meta.db_table,
            "perm": Permission._meta.db_table,
            "group": Group._meta.db_table,
            "ct": ContentType._meta.db_table,
        }
        sql = """
            SELECT
              EXISTS (SELECT 1 FROM {perm} p JOIN {ct} ct ON ct.id = p.content_type_id
                      WHERE p.codename = %s AND ct.app_label = %s AND (
                        p.id IN (SELECT permission_id FROM {user_perms} WHERE user_id = %s)
                        OR p.id IN (SELECT gp.permission_id FROM {group_perms} gp
                                    JOIN {user_groups} ug ON ug.group_id = gp.group_id WHERE ug.user_id = %s))),
              EXISTS (SELECT 1 FROM {user_groups} ug JOIN {group} g ON g.id = ug.group_id WHERE ug.user_id = %s AND g.name = %s),
              EXISTS (SELECT 1 FROM {user_groups} ug JOIN {group} g ON g.id = ug.group_id WHERE ug.user_id = %s AND g.name = %s)
        """.format(**{key: connection.ops.quote_name(name) for key, name in tables.items()})  # noqa: S608 - table names, from the models
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                [ADMIN_RIGHT["codename"], ADMIN_RIGHT["content_type__app_label"], user.pk, user.pk,
                 user.pk, VERIFIER_GROUP, user.pk, OFFICE_ADMIN_GROUP],
            )
            admin, verifier, office_admin = (bool(value) for value in cursor.fetchone())
        user.__dict__["_account_rights"] = {"admin": admin, VERIFIER_GROUP: verifier, OFFICE_ADMIN_GROUP: office_admin}
    return user.__dict__["_account_rights"]


def is_admin(user) -> bool:
    """Return True for the HR office / internal assessment team: the whole organisation."""
    return bool(user.is_authenticated and user.is_active and (user.is_superuser or _account_rights(user)["admin"]))


def employee_of(user) -> Employee | None:
    """Return the user's active Employee record, or None (cached on the user object)."""
    if not user.is_authenticated:
        return None
    if not hasattr(user, "_employee_cache"):
        user._employee_cache = Employee.objects.select_related("unit").filter(user=user, is_active=True).first()
    return user._employee_cache


def headed_units(user) -> list[WorkUnit]:
    """Return the units the user heads, outermost first (cached on the user object)."""
    if not user.is_authenticated:
        return []
    if not hasattr(user, "_headed_units_cache"):
        units = WorkUnit.objects.filter(heads__employee__user=user, heads__employee__is_active=True).order_by("path")
        user._headed_units_cache = _outermost(units)
    return user._headed_units_cache


def _outermost(units) -> list[WorkUnit]:
    """The units (in path order) not inside another of them: a unit inside another adds
    nothing to a scope."""
    outermost: list[WorkUnit] = []
    for unit in units:
        if not any(unit.is_within(top) for top in outermost):
            outermost.append(unit)
    return outermost


def _assigned_units(user, group: str, assigned: str) -> list[WorkUnit]:
    """The units assigned to `user` through the relation `assigned` (with everything below),
    outermost first, for a member of `group`; none for anyone else (cached on the user)."""
    if not user.is_authenticated or not user.is_active:
        return []
    cache = user.__dict__.setdefault("_assigned_units_cache", {})
    if group not in cache:
        units = []
        if _account_rights(user)[group]:
            units = _outermost(WorkUnit.objects.filter(**{f"{assigned}__user": user}).order_by("path"))
        cache[group] = units
    return cache[group]


def verifier_units(user) -> list[WorkUnit]:
    """The units whose assessments (with everything below) a member of the internal
    assessment team verifies, outermost first; none for anyone outside the group (cached)."""
    return _assigned_units(user, VERIFIER_GROUP, "verifiers")


def is_verifier(user) -> bool:
    return bool(verifier_units(user))


def office_units(user) -> list[WorkUnit]:
    """The units whose units and staff (with everything below) an office admin manages in the
    administration and sees in the Rekap, outermost first; none for anyone outside the group
    "Admin OPD" (cached on the user object)."""
    return _assigned_units(user, OFFICE_ADMIN_GROUP, "office_admins")


def is_office_admin(user) -> bool:
    """An office admin: a member of "Admin OPD" with units assigned, and not an admin (whose
    scope is the whole organisation anyway). Not `is_admin`, and no head of unit: an office
    admin sees group figures only (disclosure.py), never a person's answers or scores."""
    return not is_admin(user) and bool(office_units(user))


def managed_units(user) -> list[WorkUnit] | None:
    """The top units of what `user` manages in the administration: None for admins (the whole
    organisation), an office admin's units, none for anyone else."""
    return None if is_admin(user) else office_units(user)


def units_q(tops: list[WorkUnit], field: str = "") -> Q:
    """A Q selecting the units (on WorkUnit, or through the WorkUnit relation `field`) that lie
    in one of `tops` or below it; nothing when `tops` is empty."""
    units = Q(pk__in=[])
    for top in tops:
        units |= top.subtree_q(field)
    return units


def unit_managed(user, unit: WorkUnit | None) -> bool:
    """May `user` manage `unit` (None: the top of the tree, outside every office)?"""
    tops = managed_units(user)
    return tops is None or (unit is not None and any(unit.is_within(top) for top in tops))


def privileged_accounts(heads: bool = True):
    """The login accounts (a queryset of ids) with more rights than their own data: superusers,
    staff, admins (the permission view_organisation, directly or through a group), office
    admins, the internal assessment team, and (with `heads`) heads of unit. An office admin may
    neither change their e-mail address (whoever controls it can reset the password) nor switch
    them off, nor make them head of a unit."""
    return (
        get_user_model()
        .objects.filter(
            Q(is_superuser=True)
            | Q(is_staff=True)
            | Q(**{f"user_permissions__{key}": value for key, value in ADMIN_RIGHT.items()})
            | Q(**{f"groups__permissions__{key}": value for key, value in ADMIN_RIGHT.items()})
            | Q(groups__name__in=[OFFICE_ADMIN_GROUP, VERIFIER_GROUP])
            | (Q(employee__headed__isnull=False) if heads else Q(pk=None))
        )
        .values("pk")
    )


def can_verify(user, assessment: SelfAssessment) -> bool:
    """A team member verifies (and so reads) a handed-in assessment of a unit in their scope
    (in its period's organisation), never their own: in both visibility modes."""
    if assessment.employee.user_id == user.pk or assessment.state not in VISIBLE_TO_OTHERS:
        return False
    return _unit_within(user, assessment.unit, assessment.period, verifier_units(user), "verifier")


def needs_second_factor(user) -> bool:
    """Whether the user signs in with a second factor (TOTP, docs/RULES.md): everyone with
    administrative access, that is admins, office admins and the internal assessment team. The one place that
    names them: TwoFactorMiddleware enforces it (when TWO_FACTOR_REQUIRED), the two-factor pages
    are theirs only, the menu offers them the link."""
    return is_admin(user) or is_office_admin(user) or is_verifier(user)


def is_supervisor(user) -> bool:
    return bool(headed_units(user))


def sees_individuals(user, period: AssessmentPeriod | None) -> bool:
    """The one rule of visibility (docs/RULES.md): may someone other than the person see the
    individual answers of `period` in their scope (heads of unit, admins)? Only in a reviewed
    period. In a confidential one only the person and the internal assessment team do
    (`can_verify`); heads of unit and admins see group figures only (disclosure.py)."""
    return period is None or not period.is_confidential


def _closed(period: AssessmentPeriod | None) -> bool:
    return period is not None and period.is_final


def _scope_paths(user, period: AssessmentPeriod, tops: list[WorkUnit] | None = None, role: str = "head") -> list[str]:
    """The places of the user's top units (those they head, unless given) in a closed
    period's recorded tree (cached per role)."""
    cache = user.__dict__.setdefault(f"_scope_paths_cache_{role}", {})
    if period.pk not in cache:
        ids = [top.pk for top in (headed_units(user) if tops is None else tops)]
        cache[period.pk] = list(PeriodUnit.objects.filter(period=period, unit__in=ids).values_list("path", flat=True)) if ids else []
    return cache[period.pk]


def _unit_within(user, unit: WorkUnit, period: AssessmentPeriod | None, tops: list[WorkUnit], role: str) -> bool:
    """`unit` lies in one of `tops` (with everything below); in a closed period, as the
    organisation stood then."""
    if not _closed(period):
        return any(unit.is_within(top) for top in tops)
    then = structure.PeriodTree(period).version_of(unit)
    return then is not None and any(then.path.startswith(path) for path in _scope_paths(user, period, tops, role))


def unit_in_scope(user, unit: WorkUnit, period: AssessmentPeriod | None = None) -> bool:
    """Return True when `unit` lies in a unit the user heads (admins: always). In a closed
    period, as the organisation stood then: the places recorded for that period, so that its
    figures and its individual assessments reach the same people whatever has moved since
    (docs/RULES.md, history)."""
    if is_admin(user):
        return True
    return _unit_within(user, unit, period, headed_units(user), "head")


def _in_scope_q(user, prefix: str, period: AssessmentPeriod | None = None) -> Q:
    """Assessments (through `prefix`) of `period` whose own unit lies in the user's scope (in
    a closed period, as the organisation stood then); none: Q(pk=None)."""
    if is_admin(user):
        return Q(**{f"{prefix}pk__isnull": False})
    units = Q(**{f"{prefix}pk": None})
    if _closed(period):
        paths = _scope_paths(user, period)
        if paths:
            then = Q()
            for path in paths:
                then |= Q(path__startswith=path)
            units |= Q(**{f"{prefix}unit_id__in": PeriodUnit.objects.filter(then, period=period).values("unit_id")})
        return units
    return units | units_q(headed_units(user), f"{prefix}unit")


def _reviewed_q(user, prefix: str, period: AssessmentPeriod | None) -> Q:
    """The queryset twin of `sees_individuals`: assessments (of `period` when given) whose
    answers the user may read when in scope; none: Q(pk=None)."""
    if period is not None:
        return Q() if sees_individuals(user, period) else Q(**{f"{prefix}pk": None})
    return ~Q(**{f"{prefix}period__visibility": Visibility.CONFIDENTIAL})


def _own_q(user, prefix: str) -> Q:
    return Q(**{f"{prefix}employee__user_id": user.pk})


def assessments_in_scope(user, prefix: str = "", period: AssessmentPeriod | None = None) -> Q:
    """Return a Q over SelfAssessment fields (reached through `prefix`, e.g. "assessment__")
    selecting the user's own assessments and those whose unit, the unit the person belonged to
    when they submitted, lies in the user's scope. The queryset twin of `assessment_in_scope`:
    where the person works today does not matter (docs/RULES.md, privacy). For assessments
    of a closed `period`, the scope is that period's organisation."""
    return _own_q(user, prefix) | _in_scope_q(user, prefix, period)


def viewable_assessments(user, prefix: str = "", period: AssessmentPeriod | None = None) -> Q:
    """The queryset twin of `can_view_assessment`."""
    handed_in = Q(**{f"{prefix}state__in": VISIBLE_TO_OTHERS})
    return _own_q(user, prefix) | (handed_in & _in_scope_q(user, prefix, period) & _reviewed_q(user, prefix, period))


def approvable_assessments(user, prefix: str = "", period: AssessmentPeriod | None = None) -> Q:
    """The queryset twin of `can_approve`."""
    submitted = Q(**{f"{prefix}state": AssessmentState.SUBMITTED})
    if period is not None:
        kept = Q() if period.personal_data_removed_at is None else Q(**{f"{prefix}pk": None})
    else:
        kept = Q(**{f"{prefix}period__personal_data_removed_at__isnull": True})
    return submitted & kept & _in_scope_q(user, prefix, period) & _reviewed_q(user, prefix, period) & ~_own_q(user, prefix)


def scope_roots(user) -> list[WorkUnit]:
    """Return the highest units the user may see: the tree roots for admins."""
    if is_admin(user):
        return list(WorkUnit.objects.get_root_nodes())
    return headed_units(user)


def get_unit_for_user(user, code: str, period: AssessmentPeriod | None = None) -> WorkUnit:
    """Return the unit with this code if it lies in the user's scope (for `period`), else 404."""
    unit = get_object_or_404(WorkUnit, code=code)
    if not unit_in_scope(user, unit, period):
        raise Http404
    return unit


def get_unit_for_figures(user, code: str, period: AssessmentPeriod | None = None) -> WorkUnit:
    """Return the unit with this code if the user may read its group figures (for `period`):
    one in their scope (`get_unit_for_user`), or one of an office admin's units and below
    (in a closed period, as the organisation stood then), whose figures reach them under
    disclosure control only (disclosure.py); else 404. For figures of groups, never of people:
    an office admin opens no unit dashboard, staff table or assessment."""
    unit = get_object_or_404(WorkUnit, code=code)
    if not (unit_in_scope(user, unit, period) or (is_office_admin(user) and _unit_within(user, unit, period, office_units(user), "office"))):
        raise Http404
    return unit


def assessment_in_scope(user, assessment: SelfAssessment) -> bool:
    """Return True for the user's own assessment, or one attributed to a unit in their scope
    (in its period's organisation)."""
    return assessment.employee.user_id == user.pk or unit_in_scope(user, assessment.unit, assessment.period)


def can_view_assessment(user, assessment: SelfAssessment) -> bool:
    """The one rule for one person's figures (index, grade, pillar scores, ratings, notes,
    evidence, and any difference computed from them): the owner sees them; anyone else only
    once handed in, only when the assessment itself is in their scope, and (but admins) only
    in a reviewed period (`sees_individuals`). Every page and
    export that shows them asks this (or `assessments_in_scope` for a queryset)."""
    if assessment.employee.user_id == user.pk:
        return True
    return (
        assessment.state in VISIBLE_TO_OTHERS
        and sees_individuals(user, assessment.period)
        and assessment_in_scope(user, assessment)
    ) or can_verify(user, assessment)


def get_assessment_for_user(user, pk: int) -> SelfAssessment:
    """Return an assessment the user may read: their own, or a handed-in one in their scope."""
    assessment = get_object_or_404(
        SelfAssessment.objects.select_related("period", "unit", "employee__user", "employee__unit"), pk=pk
    )
    if not user.is_authenticated or not can_view_assessment(user, assessment):
        raise Http404
    return assessment


def can_review(user, assessment: SelfAssessment) -> bool:
    """A supervisor (or admin) opens the review page of assessments in scope, never their own,
    and a supervisor only in a reviewed period: a confidential one has no review step."""
    if assessment.employee.user_id == user.pk:
        return False
    return sees_individuals(user, assessment.period) and unit_in_scope(user, assessment.unit, assessment.period)


def can_return(user, assessment: SelfAssessment) -> bool:
    """Returning needs the period still open: a closed period's figures are final."""
    return can_approve(user, assessment) and not assessment.period.is_final


def can_approve(user, assessment: SelfAssessment) -> bool:
    """The one rule for approving or returning: a submitted assessment the user may review,
    whose answers have not been deleted under the retention rule.
    Views and templates ask this (a flag in the context); `approvable_assessments` is its
    queryset twin for the staff table."""
    return (
        assessment.state == AssessmentState.SUBMITTED
        and assessment.period.personal_data_removed_at is None  # nothing left to judge it by
        and can_review(user, assessment)
    )


def get_assessment_for_reviewer(user, pk: int) -> SelfAssessment:
    """Return an assessment the user may approve or return, else 404."""
    assessment = get_assessment_for_user(user, pk)
    if not can_review(user, assessment):
        raise Http404
    return assessment


def get_rating_for_user(user, pk: int) -> Rating:
    """Return a rating whose evidence the user may download: the owner, a supervisor whose
    scope covers the assessment, or an admin; else 404."""
    rating = get_object_or_404(
        Rating.objects.select_related("assessment__employee__user", "assessment__unit", "assessment__period"), pk=pk
    )
    if not user.is_authenticated or not can_view_assessment(user, rating.assessment):
        raise Http404
    return rating

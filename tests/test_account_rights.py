"""An account's administrative rights (permissions._account_rights): the permission that makes an
admin, given directly or through a group, and the groups that carry a scope, read in one query
and the same as Django's own permission check."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments import permissions
from assessments.models import OfficeAdminAssignment, VerifierAssignment


def fresh(user):
    """The same account read again: nothing cached on the object."""
    return get_user_model().objects.get(pk=user.pk)


def rights(user):
    user = fresh(user)
    return (permissions.is_admin(user), permissions.is_verifier(user), permissions.is_office_admin(user))


def test_staff_and_heads_of_unit_have_no_administrative_right(cast):
    assert rights(cast.staff.user) == (False, False, False)
    assert rights(cast.supervisor.user) == (False, False, False)


def test_the_admin_permission_counts_given_directly_or_through_a_group_as_django_reads_it(cast):
    direct = cast.staff.user
    direct.user_permissions.add(Permission.objects.get(codename="view_organisation", content_type__app_label="assessments"))
    through_group = cast.colleague.user
    through_group.groups.add(Group.objects.get(name=permissions.ADMIN_GROUP))
    for user in (direct, through_group):
        assert fresh(user).has_perm("assessments.view_organisation")
        assert rights(user) == (True, False, False)
    # A permission of the same name in another app gives nothing.
    lookalike = Permission.objects.create(
        codename="view_organisation", name="lookalike", content_type=ContentType.objects.get_for_model(Group)
    )
    cast.other.user.user_permissions.add(lookalike)
    assert rights(cast.other.user) == (False, False, False)


def test_an_inactive_account_is_no_admin_even_with_the_permission(cast):
    user = cast.staff.user
    user.groups.add(Group.objects.get(name=permissions.ADMIN_GROUP))
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert rights(user)[0] is False


def test_the_team_and_office_admins_need_both_the_group_and_an_assignment(cast):
    team, office = cast.colleague.user, cast.other.user
    team.groups.add(Group.objects.get(name=permissions.VERIFIER_GROUP))
    office.groups.add(Group.objects.get(name=permissions.OFFICE_ADMIN_GROUP))
    assert rights(team) == (False, False, False) and rights(office) == (False, False, False)  # no units yet
    VerifierAssignment.objects.create(user=team, unit=cast.tree.a)
    OfficeAdminAssignment.objects.create(user=office, unit=cast.tree.b)
    assert rights(team) == (False, True, False)
    assert rights(office) == (False, False, True)
    # An assignment without the group gives nothing: leaving the group ends the scope.
    team.groups.clear()
    assert rights(team) == (False, False, False)


@pytest.mark.parametrize("who", ["staff", "head", "admin_by_group"])
def test_the_rights_cost_one_query_per_request(cast, who):
    user = {"staff": cast.staff.user, "head": cast.supervisor.user, "admin_by_group": cast.colleague.user}[who]
    if who == "admin_by_group":
        user.groups.add(Group.objects.get(name=permissions.ADMIN_GROUP))
    user = fresh(user)
    with CaptureQueriesContext(connection) as captured:
        permissions.is_admin(user)
        permissions.is_admin(user)
        permissions.needs_second_factor(user)
        permissions.is_office_admin(user)
        permissions.is_verifier(user)
    assert len(captured) == 1  # Django's own check took two, and one more for each group


def test_a_superuser_is_an_admin_without_asking_the_database(cast):
    admin = fresh(cast.admin)
    with CaptureQueriesContext(connection) as captured:
        assert permissions.is_admin(admin)
    assert len(captured) == 0

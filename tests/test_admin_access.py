"""Only admins get into the back office and the organisation roll-up: a supervisor or a staff
member gets 403 on every admin page and on /rekap/, GET or POST, and nothing changes; an
anonymous visitor is sent to /akun/login/; the superuser and a member of the group "Admin
Kepegawaian" get in. An office admin (group "Admin OPD", unit A) gets in too, but opens the
units, staff and heads of unit of A's subtree only: the same pages of B's or ROOT's are 404,
every other model's pages 403, and posting to them changes nothing. The admin URLs come from
`admin.site._registry`, so a newly registered model (or a new custom view of a model admin) is
covered without touching this file."""

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from assessments import activation, permissions, privacy, retention, two_factor
from assessments.models import (
    AccessLog,
    ActivationCode,
    AssessmentPeriod,
    Employee,
    OfficeAdminAssignment,
    OrganisationSetting,
    PrivacyAcknowledgement,
    RetentionRun,
    SelfAssessment,
    SupervisorAssignment,
    VerifierAssignment,
    WorkUnit,
)

from .conftest import PASSWORD, create_period, rekap_workbook, submitted_assessment

User = get_user_model()

# The one admin URL that is public by design: treebeard's JavaScript translation catalogue
# (static strings for the tree widget, no data).
PUBLIC = {"/admin/assessments/workunit/jsi18n/"}

# What the admin refuses even to an admin, by design: assessments, their logs and the frozen
# questionnaires are read-only (no add, no delete); a period that has opened is never deleted
# (the objects below are chosen so that everything else is allowed).
READ_ONLY = {
    ("assessments", name)
    for name in ("selfassessment", "assessmentevent", "accesslog", "periodpillar", "retentionrun", "privacyacknowledgement", "activationcode")
}
# A second factor is made by its owner's enrolment only, and never edited: admins see it and
# delete it (a reset).
RESET_ONLY = {("otp_totp", "totpdevice"), ("otp_static", "staticdevice")}


def two_factor_recovery_device(user) -> StaticDevice:
    two_factor.recovery_codes_replace(user=user)
    return StaticDevice.objects.get(user=user)


@pytest.fixture
def world(cast, period, previous_period, client):
    """One real object of every registered model, with history rows to point at."""
    planned = create_period(period.year, 2, status="planned")
    assessment = submitted_assessment(cast.staff, period, 4)
    client.force_login(cast.supervisor.user)
    assert client.get(f"/hasil/{assessment.pk}/").status_code == 200  # an AccessLog row
    client.logout()
    # A failed login: django-axes' attempt and failure rows (what an admin unlocks).
    assert client.post("/akun/login/", {"username": "staff", "password": "salah"}).status_code == 200
    group = Group.objects.get(name="Admin Kepegawaian")
    objects = {
        User: cast.staff.user,
        Group: group,
        AssessmentPeriod: planned,
        SelfAssessment: assessment,
        AccessLog: AccessLog.objects.get(),
        OrganisationSetting: OrganisationSetting.objects.create(pk=1, visibility="reviewed"),
        VerifierAssignment: VerifierAssignment.objects.create(user=cast.other.user, unit=cast.tree.b),
        OfficeAdminAssignment: OfficeAdminAssignment.objects.get(user=office_admin(cast)),
        RetentionRun: retention.retention_apply(dry_run=True),
        PrivacyAcknowledgement: privacy.notice_acknowledge(user=cast.staff.user, period=period),
        # Someone's second factor: an authenticator app and recovery codes.
        TOTPDevice: TOTPDevice.objects.create(user=cast.other.user, name="Aplikasi autentikator", confirmed=True),
        StaticDevice: two_factor_recovery_device(cast.other.user),
        ActivationCode: ActivationCode.objects.create(
            employee=cast.other, code_hash=activation.code_hash(cast.other.pk, activation.new_code()), expires_at=timezone.now() + datetime.timedelta(days=14)
        ),
    }
    for model in admin.site._registry:
        obj = objects.setdefault(model, model.objects.order_by("pk").first())
        assert obj is not None, f"no {model._meta.label} to test with"
        if hasattr(model, "history"):
            obj.save()  # a history row, whatever made the object
    return objects


def model_urls(model, model_admin, obj) -> list[str]:
    """Every URL of one model admin, filled in with `obj`'s id (and a history row of it)."""
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    urls = []
    for pattern in model_admin.get_urls():
        route = str(pattern.pattern)
        if route == "^([^/]+)/history/([^/]+)/$":  # django-simple-history: one version of the object
            route = f"{obj.pk}/history/{obj.history.order_by('history_id').first().history_id}/"
        route = re.sub(r"<(?:\w+:)?\w+>", str(obj.pk), route)
        assert not re.search(r"[\^$()<>\\\[]", route), f"unknown URL pattern {pattern.pattern!r} of {model._meta.label}: teach this test"
        urls.append(base + route)
    return urls


def admin_urls(objects) -> list[str]:
    urls = ["/admin/", "/admin/login/", "/admin/password_change/", "/admin/password_change/done/"]
    urls += [f"/admin/{label}/" for label in sorted({m._meta.app_label for m in admin.site._registry})]
    urls.append("/admin/autocomplete/?app_label=assessments&model_name=employee&field_name=unit&term=A")
    for model, model_admin in admin.site._registry.items():
        urls += model_urls(model, model_admin, objects[model])
    return urls


def test_the_url_list_covers_every_registered_model_and_the_period_views(world):
    urls = admin_urls(world)
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        pk = world[model].pk
        for suffix in ("", "add/", f"{pk}/change/", f"{pk}/delete/", f"{pk}/history/"):
            assert base + suffix in urls
    period = world[AssessmentPeriod].pk
    for suffix in ("next/", f"{period}/open/", f"{period}/close/"):
        assert f"/admin/assessments/assessmentperiod/{suffix}" in urls
    assert len(admin.site._registry) >= 13


def snapshot():
    """Every row of every table (but sessions), to prove that nothing changed."""
    return {
        model._meta.label: list(model._base_manager.order_by("pk").values_list())
        for model in apps.get_models()
        if model is not Session
    }


def post_data(obj) -> dict:
    """What a forged POST would carry: a confirmed delete, a bulk action, a reworded field."""
    return {
        "post": "yes",
        "action": "delete_selected",
        "_selected_action": [obj.pk],
        "index": "0",
        "name": "Diubah",
        "statement": "Diubah",
        "year": "2099",
        "quarter": "1",
        "opens_on": "2099-01-01",
        "closes_on": "2099-03-31",
        "code": "DIUBAH",
        "node": obj.pk,
        "target": obj.pk,
        "relation": "child",
    }


@pytest.mark.parametrize("who", ["supervisor", "staff"])
def test_a_supervisor_or_staff_member_gets_403_everywhere_and_changes_nothing(client, cast, world, who):
    client.force_login(getattr(cast, who).user)
    before = snapshot()
    checked = 0
    for url in [*admin_urls(world), "/rekap/", "/rekap/ekspor.xlsx"]:
        if url in PUBLIC:
            continue
        obj = next((o for m, o in world.items() if url.startswith(f"/admin/{m._meta.app_label}/{m._meta.model_name}/")), None)
        for method in ("get", "post"):
            response = client.get(url) if method == "get" else client.post(url, post_data(obj or cast.staff))
            assert response.status_code in (403, 404), (who, method, url, response.status_code)
            checked += 1
    assert snapshot() == before
    assert checked > 150


def test_anonymous_visitors_are_sent_to_the_login_page(client, world):
    before = snapshot()
    for url in [*admin_urls(world), "/rekap/", "/rekap/ekspor.xlsx"]:
        if url in PUBLIC:
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(url, follow=True)
            assert response.redirect_chain, (method, url, response.status_code)
            final = response.redirect_chain[-1][0]
            assert urlsplit(final).path == "/akun/login/", (method, url, response.redirect_chain)
            back = "/admin/" if url == "/admin/login/" else url
            assert parse_qs(urlsplit(final).query)["next"] == [back], (url, final)
            assert response.status_code == 200
    assert snapshot() == before


def test_the_public_admin_url_serves_translations_only(client, db):
    for url in PUBLIC:
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")


def expected_for_admin(url: str, user) -> int:
    """200, but for what is refused by design and for the redirects built into the admin."""
    parts = url.split("?")[0].strip("/").split("/")
    if url == "/rekap/ekspor.xlsx":
        return 405  # the export is started with a POST (a background job)
    if url == "/admin/login/":
        return 302  # one login page for the whole application: /akun/login/, which sends an admin on
    if parts[1:] == ["auth"] and not user.is_superuser:
        return 404  # Django's answer for an app index without any permission in it
    if len(parts) >= 3:
        app_label, model_name, rest = parts[1], parts[2], parts[3:]
        if len(rest) == 1 and rest[0].isdigit():
            return 302  # /<id>/ goes on to /<id>/change/, where permissions are checked
        if app_label == "auth" and not user.is_superuser:
            return 403  # the group holds the permissions of this app only
        if (app_label, model_name) in READ_ONLY and (rest == ["add"] or rest[-1:] == ["delete"]):
            return 403
        if (app_label, model_name) in RESET_ONLY and rest == ["add"]:
            return 403
        if app_label == "axes":  # login attempts are recorded by django-axes, never added by hand
            if rest == ["add"]:
                return 403
            if rest[-1:] == ["delete"] and model_name != "accessattempt" and not user.is_superuser:
                return 403  # the group may unlock (delete an attempt), not erase the logs
        if model_name == "organisationsetting":  # one row, never deleted
            if rest == []:
                return 302  # the list opens the one row
            if rest in (["add"], [rest[0], "delete"]):
                return 403  # it exists already
        if rest == ["next"]:
            return 302  # GET goes back to the list; the button POSTs
        if rest == ["move"]:
            return 400  # treebeard's drag-and-drop endpoint: a GET carries no move
        if rest == ["import", "confirm"]:
            return 405  # the import's confirmation is a POST of the previewed file
    return 200


def office_admin(cast):
    """An office admin (group Admin OPD) of A: A and A1 are theirs, ROOT and B are not."""
    user = User.objects.create_user("opd", "opd@example.go.id", PASSWORD)
    user.groups.add(Group.objects.get(name=permissions.OFFICE_ADMIN_GROUP))
    OfficeAdminAssignment.objects.create(user=user, unit=cast.tree.a)
    assert not user.is_superuser and not user.is_staff and permissions.is_office_admin(user) and not permissions.is_admin(user)
    return user


def admin_kepegawaian(cast):
    user = User.objects.create_user("hr", "hr@example.go.id", "sandi")
    user.groups.add(Group.objects.get(name="Admin Kepegawaian"))
    assert not user.is_superuser and not user.is_staff
    return user


@pytest.mark.parametrize("who", ["superuser", "admin_kepegawaian"])
def test_an_admin_gets_every_page(client, cast, world, who):
    user = cast.admin if who == "superuser" else admin_kepegawaian(cast)
    client.force_login(user)
    statuses = {}
    for url in [*admin_urls(world), "/rekap/", "/rekap/ekspor.xlsx"]:
        statuses[url] = client.get(url).status_code
    expected = {url: expected_for_admin(url, user) for url in statuses}
    assert statuses == expected
    assert list(statuses.values()).count(200) >= 60


def test_the_group_holds_every_permission_of_the_app_and_may_unlock_logins(db):
    group = Group.objects.get(name="Admin Kepegawaian")
    every = set(Permission.objects.filter(content_type__app_label="assessments"))
    assert set(group.permissions.filter(content_type__app_label="assessments")) == every
    assert {p.codename for p in group.permissions.filter(content_type__app_label="axes")} == {
        "view_accessattempt", "delete_accessattempt", "view_accesslog", "view_accessfailurelog",
    }
    assert {"view_organisation", "change_assessmentperiod", "change_employee", "view_historicalindicator"} <= {p.codename for p in every}


def test_the_group_admin_sees_the_app_on_the_admin_index_and_in_the_roll_up(client, cast, world):
    client.force_login(admin_kepegawaian(cast))
    page = client.get("/admin/").content.decode()
    assert "/admin/assessments/assessmentperiod/" in page and "/admin/assessments/employee/" in page
    assert "/admin/auth/user/" not in page
    page = client.get("/rekap/").content.decode()
    assert "Rekap Instansi" in page and 'data-unit="ROOT"' in page
    response = rekap_workbook(client)
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_admin_login_page_sends_everyone_to_the_one_login_page(client, cast):
    response = client.get("/admin/login/?next=/admin/assessments/theme/")
    assert response.status_code == 302 and response["Location"] == "/akun/login/?next=/admin/assessments/theme/"
    client.force_login(cast.admin)
    response = client.get("/admin/login/", follow=True)
    assert response.request["PATH_INFO"] == "/admin/" and response.status_code == 200
    client.force_login(cast.staff.user)
    assert client.get("/admin/login/").status_code == 403


# --- Office admins ----------------------------------------------------------------------------------

# The models an office admin manages, narrowed to their units.
OFFICE_MODELS = {WorkUnit, Employee, SupervisorAssignment}


def office_objects(cast) -> dict:
    """Rows of the office admin's (A's subtree) and rows outside it, of each model they manage,
    each with a history row."""
    tree = cast.tree
    inside = {
        WorkUnit: tree.a1,
        Employee: cast.staff,
        SupervisorAssignment: SupervisorAssignment.objects.get(employee=cast.supervisor, unit=tree.a),
    }
    outside = {
        WorkUnit: tree.b,
        Employee: cast.other,
        SupervisorAssignment: SupervisorAssignment.objects.get(employee=cast.sibling_supervisor, unit=tree.b),
    }
    for obj in [*inside.values(), *outside.values()]:
        obj.save()
    return {"inside": inside, "outside": outside}


def in_office(obj, cast) -> bool:
    """Is `obj` (a unit, a person or a head's assignment) within A?"""
    a = cast.tree.a
    if isinstance(obj, WorkUnit):
        return obj.is_within(a)
    if isinstance(obj, Employee):
        return obj.unit.is_within(a)
    return obj.unit.is_within(a) and obj.employee.unit.is_within(a)


def office_urls(world, extra) -> list[tuple[str, object]]:
    """(URL, the object it names or None) for every admin URL: the site's own, and each model's
    with the world's object and, for the models an office admin manages, one row inside and one
    outside their units (`extra`: office_objects)."""
    model_prefixes = tuple(f"/admin/{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry)
    urls = [(url, None) for url in admin_urls(world) if not url.startswith(model_prefixes)]
    for model, model_admin in admin.site._registry.items():
        objects = [world[model]] + ([extra["inside"][model], extra["outside"][model]] if model in OFFICE_MODELS else [])
        for obj in objects:
            urls += [(url, obj) for url in model_urls(model, model_admin, obj)]
    return urls


def expected_for_office_admin(url: str, obj, cast) -> int:
    """An office admin's pages: the units, staff and heads of unit of their own units (404 for
    a row outside them, after the permission check where Django makes it first); the admin's
    own pages; nothing else (403, or Django's 404 for an app without any permission)."""
    parts = url.split("?")[0].strip("/").split("/")
    if url in ("/admin/", "/admin/assessments/", "/admin/password_change/", "/admin/password_change/done/") or url.startswith("/admin/autocomplete/"):
        return 200
    if url == "/admin/login/":
        return 302
    if len(parts) == 2:
        return 404  # an app without any permission of theirs (auth, axes)
    model_name, rest = parts[2], parts[3:]
    if len(rest) == 1 and rest[0].isdigit():
        return 302  # /<id>/ goes on to /<id>/change/, where permissions are checked
    if type(obj) not in OFFICE_MODELS and model_name not in {m._meta.model_name for m in OFFICE_MODELS}:
        return 403
    inside = obj is None or in_office(obj, cast)
    if rest[-1:] == ["delete"] and model_name != "supervisorassignment":
        return 403  # they retire units and deactivate staff; they delete neither
    if rest == ["move"]:
        return 400  # treebeard's drag-and-drop endpoint: a GET carries no move
    if rest == ["import", "confirm"]:
        return 405
    if rest in ([], ["add"], ["import"], ["surat-aktivasi"]) or rest[0] == "reorganisasi":
        return 200  # the activation letters' page names nobody here (tests/test_office_admin.py: outside ids count for nothing)
    return 200 if inside else 404


def test_an_office_admin_opens_the_pages_of_their_units_only(client, cast, world):
    user = world[OfficeAdminAssignment].user
    client.force_login(user)
    statuses, expected = {}, {}
    for url, obj in office_urls(world, office_objects(cast)):
        if url in PUBLIC:
            continue
        statuses[url] = client.get(url).status_code
        expected[url] = expected_for_office_admin(url, obj, cast)
    assert statuses == expected
    assert list(statuses.values()).count(404) >= 10 and list(statuses.values()).count(200) >= 25


def test_an_office_admin_changes_nothing_outside_their_units(client, cast, world):
    """A forged POST (a confirmed delete, a bulk delete, a reworded field) to every page of
    another model, and to every page of a row outside their units: refused, nothing changes."""
    user = world[OfficeAdminAssignment].user
    client.force_login(user)
    extra = office_objects(cast)
    urls = office_urls(world, extra)
    before = snapshot()
    checked = 0
    for url, obj in urls:
        if url in PUBLIC or obj is None:
            continue
        if type(obj) in OFFICE_MODELS and (in_office(obj, cast) or f"/{obj.pk}/" not in url):
            continue  # their own rows, and their own lists (below)
        response = client.post(url, post_data(obj))
        assert response.status_code in (302, 400, 403, 404, 405), (url, response.status_code)
        checked += 1
    # The bulk actions of their own lists, with rows outside their units selected.
    for model, obj in extra["outside"].items():
        response = client.post(f"/admin/assessments/{model._meta.model_name}/", {**post_data(obj), "action": "delete_selected"})
        assert response.status_code in (200, 302), (model, response.status_code)
    response = client.post("/admin/assessments/employee/", {"action": "deactivate", "_selected_action": [cast.other.pk]})
    assert response.status_code in (200, 302)
    assert snapshot() == before
    assert checked > 100

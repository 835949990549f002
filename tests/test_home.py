"""After login each role lands on its home page."""

from .conftest import PASSWORD, log_in


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/akun/login/")


def test_staff_land_on_my_assessments(client, cast):
    assert log_in(client, "staff")
    assert client.get("/")["Location"] == "/penilaian/"


def test_supervisors_land_on_their_dashboard(client, cast):
    client.force_login(cast.supervisor.user)
    assert client.get("/")["Location"] == "/unit/"


def test_admins_land_on_the_organisation_roll_up(client, cast):
    client.force_login(cast.admin)
    assert client.get("/")["Location"] == "/rekap/"


def test_a_user_without_a_role_is_told_so(client, cast, django_user_model):
    user = django_user_model.objects.create_user("loner", password=PASSWORD)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert "Admin Kepegawaian" in response.content.decode()


def test_login_with_nip(client, cast):
    cast.staff.user.username = cast.staff.nip
    cast.staff.user.save()
    response = client.post("/akun/login/", {"username": cast.staff.nip, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_wrong_password_is_refused_with_a_message(client, cast):
    response = client.post("/akun/login/", {"username": "staff", "password": "salah"})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode() or "alert" in response.content.decode()

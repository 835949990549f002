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
    page = response.content.decode()
    assert "NIP (atau nama pengguna) dan kata sandi tidak cocok." in page
    assert page.count("nama pengguna") == page.count("NIP atau nama pengguna") + 1  # the label, once in the message
    assert "sandi yang benar" not in page


def test_password_reset_by_e_mail(client, cast):
    import re

    from django.core import mail

    response = client.post("/akun/password_reset/", {"email": cast.staff.user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [cast.staff.user.email]
    assert "Atur ulang kata sandi" in mail.outbox[0].subject
    link = re.search(r"http://testserver(/akun/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and 'name="new_password1"' in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "Sandi-Baru-2026!", "new_password2": "Sandi-Baru-2026!"})
    assert done.status_code == 302
    assert log_in(client, "staff", "Sandi-Baru-2026!")


def test_password_reset_says_nothing_about_unknown_addresses(client, cast):
    from django.core import mail

    response = client.post("/akun/password_reset/", {"email": "tidak-ada@example.go.id"}, follow=True)
    assert response.status_code == 200 and "Periksa surel Anda" in response.content.decode()
    assert mail.outbox == []

"""Indonesian by default, English on request, switched from the page header."""


def test_pages_are_in_indonesian_by_default(client, db):
    page = client.get("/akun/login/").content.decode()
    assert 'lang="id"' in page
    assert "Masuk" in page
    assert "Kata sandi" in page


def test_the_header_switch_changes_the_language(client, db):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/akun/login/"})
    assert response.status_code == 302
    assert response["Location"] == "/akun/login/"
    page = client.get("/akun/login/").content.decode()
    assert 'lang="en"' in page
    assert "Log in" in page
    client.post("/i18n/setlang/", {"language": "id", "next": "/akun/login/"})
    assert "Masuk" in client.get("/akun/login/").content.decode()


def test_every_page_header_offers_the_switch(client, db):
    page = client.get("/akun/login/").content.decode()
    assert 'action="/i18n/setlang/"' in page
    assert 'name="language" value="id"' in page and 'name="language" value="en"' in page


def test_framework_text_follows_the_language(db):
    from django.utils import translation

    from assessments.models import Pillar

    pillar = Pillar.objects.get(code="AK")
    with translation.override("id"):
        assert str(pillar) == "Anti-Korupsi"
    with translation.override("en"):
        assert str(pillar) == "Anti-corruption"


def test_the_browser_language_does_not_override_indonesian(client, db):
    page = client.get("/akun/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="id"' in page
    assert "Masuk" in page

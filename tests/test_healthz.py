from django.db import OperationalError


def test_it_answers_ok_when_the_database_answers(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_answers_503_when_the_database_does_not(client, db, monkeypatch):
    from assessments.views import common

    class Broken:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr(common, "connection", Broken())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}

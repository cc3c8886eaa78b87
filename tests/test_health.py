"""/healthz answers 200 when the database answers, 503 otherwise."""

from __future__ import annotations

from config import TestingConfig
from training_tracker import create_app


def test_healthz_is_ok_with_the_database_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    config = TestingConfig()
    # A database file in a folder that does not exist cannot be opened.
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path}/missing/folder/db.sqlite"
    broken = create_app(config)
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"

"""Configuration: three classes, every setting from the environment, safe production."""

from __future__ import annotations

import pytest

import config


def test_production_refuses_the_default_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        config.ProductionConfig()


def test_production_starts_with_a_secret_and_secure_cookies(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    production = config.ProductionConfig()
    assert production.SESSION_COOKIE_SECURE
    assert production.SESSION_COOKIE_HTTPONLY
    assert production.SESSION_COOKIE_SAMESITE == "Lax"


def test_every_setting_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MAIL_PORT", "2525")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    monkeypatch.setenv("MAIL_SERVER", "smtp.kommun.example")
    monkeypatch.setenv("COURSE_PROVIDERS", "training_tracker.providers.nck")
    monkeypatch.setenv("BASE_URL", "https://utbildning.kommun.example")
    loaded = config.DevelopmentConfig()
    assert loaded.MAIL_PORT == 2525
    assert loaded.MAIL_USE_TLS is True
    assert loaded.MAIL_SERVER == "smtp.kommun.example"
    assert loaded.COURSE_PROVIDERS == ["training_tracker.providers.nck"]
    assert loaded.BASE_URL == "https://utbildning.kommun.example"


def test_a_malformed_setting_is_named(monkeypatch):
    monkeypatch.setenv("MAIL_PORT", "twenty-five")
    with pytest.raises(RuntimeError, match="MAIL_PORT must be a whole number"):
        config.DevelopmentConfig()
    monkeypatch.setenv("MAIL_PORT", "25")
    monkeypatch.setenv("MAIL_USE_TLS", "perhaps")
    with pytest.raises(RuntimeError, match="MAIL_USE_TLS must be true or false"):
        config.DevelopmentConfig()


def test_database_url_for_postgresql_uses_psycopg_3(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@db.example/tracker")
    assert (
        config.DevelopmentConfig().SQLALCHEMY_DATABASE_URI
        == "postgresql+psycopg://postgres@db.example/tracker"
    )


def test_sqlite_in_the_instance_folder_is_the_default(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    uri = config.DevelopmentConfig().SQLALCHEMY_DATABASE_URI
    assert uri.startswith("sqlite:///") and uri.endswith("instance/training_tracker.sqlite")


def test_the_environment_picks_the_class(monkeypatch):
    monkeypatch.setenv("TRAINING_TRACKER_ENV", "testing")
    assert isinstance(config.config_from_environment(), config.TestingConfig)
    monkeypatch.setenv("TRAINING_TRACKER_ENV", "staging")
    with pytest.raises(RuntimeError, match="staging"):
        config.config_from_environment()


def test_behind_a_proxy_the_client_address_comes_from_x_forwarded_for(monkeypatch):
    from training_tracker import create_app

    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    production = config.ProductionConfig()
    production.SQLALCHEMY_DATABASE_URI = "sqlite://"
    app = create_app(production)
    seen = {}

    @app.get("/whoami-test")
    def whoami():  # type: ignore[no-untyped-def]
        from flask import request

        seen["addr"] = request.remote_addr
        return ""

    app.test_client().get(
        "/whoami-test", headers={"X-Forwarded-For": "203.0.113.7"}, base_url="https://x"
    )
    assert seen["addr"] == "203.0.113.7"

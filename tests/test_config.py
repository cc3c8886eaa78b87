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


@pytest.mark.parametrize(
    ("setting", "value"), [("PASSWORD_HASH_MEMORY_KIB", "8"), ("PASSWORD_HASH_TIME_COST", "1")]
)
def test_production_refuses_a_password_hashing_cost_below_owasps_floor(monkeypatch, setting, value):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    monkeypatch.setenv(setting, value)
    with pytest.raises(RuntimeError, match=setting):
        config.ProductionConfig()


def test_only_the_suite_lowers_the_password_hashing_cost(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    for kind in (config.DevelopmentConfig(), config.ProductionConfig()):
        assert kind.PASSWORD_HASH_MEMORY_KIB == 64 * 1024
        assert kind.PASSWORD_HASH_TIME_COST == 3
    assert config.TestingConfig().PASSWORD_HASH_MEMORY_KIB == 8


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


# --- the development configuration's built-in secret key serves loopback only ---------------


@pytest.fixture()
def development_app(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """A factory for the app as ``flask run`` makes it in development, with its built-in key
    (unless the environment sets one)."""
    from training_tracker import create_app

    monkeypatch.delenv("SECRET_KEY", raising=False)

    def make():  # type: ignore[no-untyped-def]
        development = config.DevelopmentConfig()
        development.SQLALCHEMY_DATABASE_URI = "sqlite://"
        development.RATELIMIT_STORAGE_URI = "memory://"
        development.UPLOAD_FOLDER = str(tmp_path / "uploads")
        return create_app(development)

    return make


@pytest.fixture()
def served(monkeypatch):  # type: ignore[no-untyped-def]
    """Where ``flask run`` started serving (nothing really listens)."""
    import flask.cli

    hosts: list[str] = []
    monkeypatch.setattr(flask.cli, "run_simple", lambda host, *args, **kwargs: hosts.append(host))
    return hosts


def flask_run(factory, *args: str):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner
    from flask.cli import FlaskGroup

    return CliRunner().invoke(FlaskGroup(create_app=factory), ["run", *args])


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "tracker.kommun.example"])
def test_development_with_its_built_in_key_refuses_to_serve_beyond_loopback_and_says_why(
    development_app, served, host
):
    result = flask_run(development_app, "--host", host)

    assert result.exit_code != 0
    assert served == []
    assert f"Refusing to serve on {host!r} with the built-in SECRET_KEY" in result.output
    assert "forge a session cookie" in result.output
    assert "Set SECRET_KEY to a long random value" in result.output


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_development_with_its_built_in_key_serves_on_loopback(development_app, served, host):
    result = flask_run(development_app, "--host", host)

    assert result.exit_code == 0, result.output
    assert served == [host]


def test_development_with_a_key_of_its_own_serves_anywhere(development_app, served, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 64)

    result = flask_run(development_app, "--host", "0.0.0.0")

    assert result.exit_code == 0, result.output
    assert served == ["0.0.0.0"]


def test_development_with_its_built_in_key_answers_only_loopback_under_any_server(
    development_app,
):
    """Under gunicorn (started without TRAINING_TRACKER_ENV, so in development) nothing knows
    the bound address: each request from elsewhere is refused, with the reason."""
    client = development_app().test_client()

    refused = client.get("/healthz", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert refused.status_code == 403
    assert "built-in SECRET_KEY" in refused.get_data(as_text=True)
    assert "session" not in refused.headers.get("Set-Cookie", "")
    for address in ("127.0.0.1", "::1"):
        assert client.get("/healthz", environ_base={"REMOTE_ADDR": address}).status_code == 200


def _synchronous_of(app) -> int:  # type: ignore[no-untyped-def]
    from training_tracker.extensions import db
    from training_tracker.ratelimit import counter_engine

    levels = set()
    with app.app_context():
        for engine in (db.engine, counter_engine()):
            with engine.connect() as connection:
                levels.add(connection.exec_driver_sql("PRAGMA synchronous").scalar_one())
    assert len(levels) == 1, "the sessions and the rate-limit counters are set up alike"
    return levels.pop()


def test_sqlite_waits_for_the_disk_at_each_commit_outside_the_suite(tmp_path, app):
    from training_tracker import create_app

    development = config.DevelopmentConfig()
    development.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'durable.sqlite'}"
    development.UPLOAD_FOLDER = str(tmp_path / "uploads")
    assert _synchronous_of(create_app(development)) == 2  # FULL
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        assert _synchronous_of(app) == 0  # OFF: the suite's throwaway database


def test_an_unknown_sqlite_synchronous_level_is_named(tmp_path):
    from training_tracker import create_app

    development = config.DevelopmentConfig()
    development.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'x.sqlite'}"
    development.SQLITE_SYNCHRONOUS = "SOMETIMES"
    with pytest.raises(RuntimeError, match="SQLITE_SYNCHRONOUS='SOMETIMES'"):
        create_app(development)

"""Every schema change is a migration that runs on SQLite and PostgreSQL, and the models
never drift from them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from config import TestingConfig
from training_tracker import create_app
from training_tracker.demo.municipalities import MUNICIPALITIES
from training_tracker.extensions import db

SIX = set(MUNICIPALITIES)


def test_the_migrated_schema_matches_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], "run `flask db migrate` and commit the migration"


@pytest.fixture()
def scratch_database_url(tmp_path) -> Iterator[str]:
    """An empty database of the same kind as the suite's."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path / 'scratch.sqlite'}"
        return
    server = sa.make_url(url.replace("postgresql+psycopg://", "postgresql://"))
    name = f"tt_scratch_{uuid.uuid4().hex[:8]}"
    admin = f"host={server.host} port={server.port or 5432} user={server.username} dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield str(server.set(database=name)).replace("postgresql://", "postgresql+psycopg://", 1)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migrations_upgrade_downgrade_and_upgrade_again(scratch_database_url):
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = scratch_database_url
    scratch = create_app(config)
    with scratch.app_context():
        upgrade()
        tables = set(sa.inspect(db.engine).get_table_names())
        assert {"employees", "assignments", "completions", "outbox_messages"} <= tables
        rows = db.session.execute(sa.text("SELECT code, name FROM municipalities")).all()
        assert set(map(tuple, rows)) == SIX
        db.session.remove()
        downgrade(revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "employees" in sa.inspect(db.engine).get_table_names()
        db.session.remove()
        db.engine.dispose()


def test_email_is_unique_case_insensitively_in_the_database(app):
    """Stored lower-cased, and the database refuses anything else."""
    from tests import factories

    factories.employee(email="kim.berg@test.example")
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.text(
                "INSERT INTO employees (first_name, last_name, email, active, "
                "preferred_language, session_version, created_at, updated_at) VALUES "
                "('Kim', 'Berg', 'Kim.Berg@test.example', true, 'sv', 1, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        )
        db.session.flush()
    db.session.rollback()


# The tables the coverage cache hears raw changes of, and at least these events each (PostgreSQL
# has TRUNCATE too).
COVERAGE_TRIGGERS = {
    "assignments": {"INSERT", "UPDATE", "DELETE"},
    "completions": {"INSERT", "UPDATE", "DELETE"},
    "courses": {"UPDATE"},
    "employees": {"INSERT", "UPDATE", "DELETE"},
    "municipalities": {"UPDATE"},
    "units": {"UPDATE", "DELETE"},
}


def _coverage_triggers(connection: sa.Connection) -> dict[str, set[str]]:
    if connection.dialect.name == "sqlite":
        rows = connection.execute(
            sa.text(
                "SELECT tbl_name, upper(substr(name, length('coverage_' || tbl_name || '_') + 1))"
                " FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'coverage_%'"
            )
        )
    else:
        rows = connection.execute(
            sa.text(
                "SELECT event_object_table, event_manipulation FROM information_schema.triggers"
                " WHERE trigger_name LIKE 'coverage_%'"
            )
        )
    found: dict[str, set[str]] = {}
    for table, event in rows:
        found.setdefault(table, set()).add(event)
    return found


def test_every_later_migration_keeps_the_coverage_caches_triggers(app):
    """A later migration that copies a table (SQLite's batch mode does) drops its triggers, and
    the coverage cache stops hearing of raw changes to it: found when the SSO migration added a
    column to municipalities."""
    with db.engine.connect() as connection:
        found = _coverage_triggers(connection)
    assert set(found) == set(COVERAGE_TRIGGERS)
    for table, events in COVERAGE_TRIGGERS.items():
        assert events <= found[table], table

"""Every operator command (but ``db …``, the remedy) refuses a database the migrations have not
brought to their head, with one sentence saying what to run instead of a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import upgrade

from config import TestingConfig
from training_tracker import create_app
from training_tracker.extensions import db
from training_tracker.schema_check import NOT_MIGRATED


@pytest.fixture()
def empty_app(tmp_path: Path) -> Iterator[Flask]:
    """The app on an empty SQLite file: no tables at all."""
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    config.UPLOAD_FOLDER = str(tmp_path / "uploads")
    app = create_app(config)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _every_command(app: Flask) -> list[list[str]]:
    """Each operator command, as its words: [command], [group, subcommand], [group, group, …]."""
    found: list[list[str]] = []

    def walk(words: list[str], command: click.Command) -> None:
        if isinstance(command, click.Group):
            for sub in sorted(command.commands):
                walk([*words, sub], command.commands[sub])
        elif len(words) == 1:  # its required arguments given, so that click reaches it
            required = [p for p in command.params if isinstance(p, click.Argument) and p.required]
            found.append([*words, *(["placeholder"] * len(required))])
        else:
            found.append(words)

    for name, command in sorted(app.cli.commands.items()):
        if name != "db":
            walk([name], command)
    return found


def test_every_command_on_an_empty_database_says_to_run_db_upgrade(empty_app: Flask) -> None:
    commands = _every_command(empty_app)
    assert ["catalog", "sync"] in commands and ["backup", "placeholder"] in commands
    runner = empty_app.test_cli_runner()
    for args in commands:
        result = runner.invoke(args=args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.strip() == f"Error: {NOT_MIGRATED}", (args, result.output)
        assert "Traceback" not in result.output


def test_help_and_db_upgrade_still_run_and_then_the_commands_do(empty_app: Flask) -> None:
    runner = empty_app.test_cli_runner()
    assert runner.invoke(args=["catalog", "--help"]).exit_code == 0
    upgrade()  # what `flask db upgrade` runs
    result = runner.invoke(args=["catalog", "sync"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["catalog", "list"]).output.strip()


def test_a_database_behind_the_scripts_is_refused_too(empty_app: Flask) -> None:
    scripts = ScriptDirectory(empty_app.extensions["migrate"].directory)
    head = scripts.get_revision(scripts.get_current_head())
    upgrade(revision=head.down_revision)
    result = empty_app.test_cli_runner().invoke(args=["catalog", "list"])
    assert (result.exit_code, result.output.strip()) == (1, f"Error: {NOT_MIGRATED}")

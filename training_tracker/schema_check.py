"""Operator commands refuse to run on a database the migrations have not brought to their head
(an empty file, or a schema older than the code): a clear sentence instead of a traceback from
the first query. ``db …`` (Flask-Migrate's own group) is not guarded: it is the remedy."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask.cli import with_appcontext

from training_tracker.extensions import db

NOT_MIGRATED = (
    "The database is not migrated (or is behind): run `flask --app wsgi db upgrade` first."
)
AHEAD = (
    "The database was migrated by a newer version of the tracker than this one "
    "(revision {current}, this code knows {head}): update the code, or restore a backup."
)


@functools.cache
def _scripts(directory: str) -> tuple[frozenset[str], frozenset[str]]:
    """The migration scripts' heads and every revision they know; read once per process."""
    scripts = ScriptDirectory(directory)
    known = frozenset(script.revision for script in scripts.walk_revisions())
    return frozenset(scripts.get_heads()), known


def schema_problem() -> str | None:
    """None when the database's revision is the scripts' head; else what to do. One query."""
    heads, known = _scripts(current_app.extensions["migrate"].directory)
    with db.engine.connect() as connection:
        current = frozenset(MigrationContext.configure(connection).get_current_heads())
    if current == heads:
        return None
    if current - known:
        return AHEAD.format(current=", ".join(sorted(current)), head=", ".join(sorted(heads)))
    return NOT_MIGRATED


def _checked(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    @with_appcontext
    def run(*args: Any, **kwargs: Any) -> Any:
        problem = schema_problem()
        if problem:
            raise click.ClickException(problem)
        return callback(*args, **kwargs)

    return run


def guard(group: click.Group) -> None:
    """Check the schema before every command and group of ``group`` (a group's callback runs
    before any of its subcommands; ``--help`` runs neither)."""
    for command in group.commands.values():
        if command.callback is not None:
            command.callback = _checked(command.callback)

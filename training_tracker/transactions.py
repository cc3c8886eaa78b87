"""A view's transaction: commit what the services did, or, when a service refuses, roll back
and show its message where the user will see it.

Every form view used to spell this out by hand (try, except, rollback, put the message on a
field, else commit); :func:`committing` is that pattern once::

    with committing(form, fields={"unit_id": "unit"}, fallback="name") as attempt:
        unit = units.create_unit(db.session, ...)
        name = unit.name  # read before the commit expires it
    if attempt.ok:
        flash(...)
        return redirect(...)
    return render_template(...), 422
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from flask import flash
from flask_wtf import FlaskForm

from training_tracker.extensions import db
from training_tracker.services.core.errors import FieldError


@dataclass
class Attempt:
    """How a :func:`committing` block ended: ``error`` is the service's refusal, if any."""

    error: Exception | None = None
    discarded: bool = False

    @property
    def ok(self) -> bool:
        """The block ran to its end (and what it wrote is committed, unless discarded)."""
        return self.error is None

    def discard(self) -> None:
        """Roll back instead of committing when the block ends: a preview, or work that
        turned out to be someone else's already."""
        self.discarded = True


def show_error(
    form: FlaskForm | None,
    error: Exception,
    *,
    fields: Mapping[str, str] | None = None,
    fallback: str | None = None,
) -> None:
    """Put a service's message on the form field it names (looked up in ``fields`` when
    given, which maps the service's names to the form's), else on ``fallback``, so the error
    summary links to it; without a form, or with no field to put it on, it is flashed."""
    named = getattr(error, "field", None) or ""
    name = fields.get(named, "") if fields is not None else named
    if form is not None and name not in form:
        name = fallback or ""
    if form is None or name not in form:
        flash(str(error), "error")
        return
    field = form[name]
    field.errors = [*field.errors, str(error)]


@contextmanager
def committing(
    form: FlaskForm | None = None,
    *,
    fields: Mapping[str, str] | None = None,
    fallback: str | None = None,
    errors: type[Exception] | tuple[type[Exception], ...] = FieldError,
    undo: Callable[[], None] | None = None,
) -> Iterator[Attempt]:
    """Commit when the block ends; when it raises one of ``errors`` (a service refusing),
    roll back, show the message (see :func:`show_error`) and carry on after the block with
    ``attempt.ok`` false. Anything else raised, in the block or by the commit, is rolled
    back and raised again. ``undo`` cleans up what the database cannot roll back (a stored
    file) when the block is refused or fails."""
    attempt = Attempt()
    try:
        yield attempt
    except errors as error:
        _give_up(undo)
        attempt.error = error
        show_error(form, error, fields=fields, fallback=fallback)
        return
    except BaseException:
        _give_up(undo)
        raise
    try:
        if attempt.discarded:
            db.session.rollback()
        else:
            db.session.commit()
    except BaseException:  # a commit that fails is no refusal: the error page tells
        _give_up(undo)
        raise


def _give_up(undo: Callable[[], None] | None) -> None:
    db.session.rollback()
    if undo is not None:
        undo()


def reading_without_transaction() -> None:
    """For a request that only reads (a directory's "does this user exist" filter, before each
    of thousands of creates): on PostgreSQL its statements run each on its own, without the
    BEGIN and ROLLBACK that are two of its round trips. Call it before the request's first
    statement (a session already in a transaction, as in tests that share it, stays in it).
    A write in such a request (a token's "last used") is committed by itself. On SQLite
    nothing changes: its transactions cost no round trip."""
    if db.engine.dialect.name == "postgresql" and not db.current_session().in_transaction():
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

"""A statement's time budget (services/core/time_budget.py, issue #21): the database stops a
statement that runs past it, the caller is told, and the transaction goes on with what it
held; a statement within its budget is not disturbed, and the budget ends with the block."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from tests import factories
from training_tracker.extensions import db
from training_tracker.models import Employee
from training_tracker.services.core.sql import on_postgresql
from training_tracker.services.core.time_budget import OverBudget, time_budget


def slow_statement() -> sa.TextClause:
    """A statement that takes seconds on either database (and returns one row)."""
    if on_postgresql(db.session):
        return sa.text("SELECT pg_sleep(5)")
    return sa.text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000)"
        " SELECT count(*) FROM n"
    )


def test_a_statement_past_its_budget_is_stopped_and_the_transaction_goes_on(app) -> None:
    kept = factories.employee(first_name="Kvar")  # committed
    unsaved = Employee(first_name="Osparad", last_name="Person", email="osparad@test.example")
    db.session.add(unsaved)
    db.session.flush()  # written in this transaction, not committed

    started = time.monotonic()
    with pytest.raises(OverBudget), time_budget(db.session, 0.2):
        db.session.execute(slow_statement()).all()
    took = time.monotonic() - started

    assert took < 3  # stopped by the database, not run to its end (5 s and more)
    # The transaction is usable, and what it wrote before is still there.
    assert db.session.get(Employee, unsaved.id) is unsaved
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(Employee.id.in_([kept.id, unsaved.id])))
        == 2
    )
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalar(sa.select(Employee.first_name).where(Employee.id == unsaved.id)) == (
        "Osparad"
    )


def test_a_statement_within_its_budget_answers(app) -> None:
    factories.employee()
    with time_budget(db.session, 30):
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Employee))
    assert count == 1


def test_the_budget_ends_with_its_block(app) -> None:
    """After the block, the session's statements run as long as they need: PostgreSQL's
    statement_timeout is back to what it was, SQLite's progress handler is gone."""
    if on_postgresql(db.session):
        before = db.session.scalar(sa.text("SHOW statement_timeout"))
    with time_budget(db.session, 0.05):
        db.session.execute(sa.text("SELECT 1"))
    if on_postgresql(db.session):
        assert db.session.scalar(sa.text("SHOW statement_timeout")) == before
        db.session.execute(sa.text("SELECT pg_sleep(0.2)"))  # past 0.05 s, not stopped
    else:
        time.sleep(0.06)  # past the block's deadline
        # A statement of a hundred thousand steps, long after the deadline: not interrupted.
        assert (
            db.session.execute(
                sa.text(
                    "WITH RECURSIVE n(i) AS"
                    " (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)"
                    " SELECT count(*) FROM n"
                )
            ).scalar()
            == 100000
        )


def test_other_database_errors_are_not_taken_for_the_budget(app) -> None:
    with pytest.raises(sa.exc.DBAPIError) as raised, time_budget(db.session, 30):
        db.session.execute(sa.text("SELECT * FROM no_such_table"))
    assert not isinstance(raised.value, OverBudget)
    db.session.rollback()

"""``flask demo seed`` at scale: bulk-written, realistic and exactly what the rules require.

Seeds 3,000 employees (the size of a mid-sized municipality's staff) unless a test needs the
other side of a threshold; the thresholds are patched down so that the county and the country
can be tested with a few thousand people.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests import test_demo
from tests.conftest import count, counting_statements
from tests.demo_readings import readings_remembered
from tests.test_demo import PASSWORD, ROLES, TODAY, snapshot
from training_tracker.demo import DemoError, municipalities, people
from training_tracker.demo import seed as demo
from training_tracker.demo.municipalities import municipalities_for
from training_tracker.demo.seed import seed_demo
from training_tracker.extensions import db
from training_tracker.models import (
    Assignment,
    AssignmentSource,
    Completion,
    CompletionStatus,
    Course,
    Employee,
    Municipality,
    Role,
    RoleGrant,
    Unit,
)
from training_tracker.services.training.assignments import (
    employed_on,
    overdue,
    recompute_assignments,
)

SIZE = 3_000


def truncate() -> None:
    """After a seed of thousands, conftest's row-by-row DELETE is slow on PostgreSQL (a
    foreign-key check per row); TRUNCATE empties every table at once."""
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        tables = ", ".join(table.name for table in db.metadata.sorted_tables)
        with db.engine.begin() as connection:
            connection.exec_driver_sql(f"TRUNCATE {tables}")


def empty_database() -> None:
    """Empty again, with the six municipalities, as each test starts."""
    truncate()
    test_demo.empty_database()


@pytest.fixture(autouse=True)
def _truncate_afterwards(_clean_state: None) -> Iterator[None]:
    yield
    truncate()


def seed(employees: int = SIZE, seed: int = 1) -> demo.DemoResult:
    # Several tests seed the same 3,000: their certificates are read once (tests/test_demo.py
    # reads the demo's certificates in every seed).
    with readings_remembered():
        result = seed_demo(
            db.session, employees=employees, seed=seed, password=PASSWORD, today=TODAY
        )
    db.session.commit()
    return result


def open_assignments() -> set[tuple[int, int, int | None, date, AssignmentSource]]:
    return set(
        db.session.execute(
            sa.select(
                Assignment.employee_id,
                Assignment.course_id,
                Assignment.rule_id,
                Assignment.due_date,
                Assignment.source,
            ).where(Assignment.removed_at.is_(None))
        ).tuples()
    )


def municipality_codes() -> set[str]:
    return set(db.session.scalars(sa.select(Municipality.code)))


# --- which municipalities ----------------------------------------------------------------------


def test_the_six_then_the_county_then_the_country():
    six = {code for code, _name in municipalities.MUNICIPALITIES}
    assert {code for code, _ in municipalities_for(municipalities.REGION_FROM_EMPLOYEES - 1)} == six
    county = municipalities_for(municipalities.REGION_FROM_EMPLOYEES)
    assert len(county) == 26
    assert all(code.startswith("01") for code, _name in county)
    assert len(municipalities_for(municipalities.NATION_FROM_EMPLOYEES - 1)) == 26
    country = municipalities_for(municipalities.NATION_FROM_EMPLOYEES)
    assert len(country) == 290
    assert len({name for _code, name in country}) == 290
    assert six < {code for code, _name in country}


def test_below_the_threshold_the_demo_stays_in_the_six(monkeypatch):
    monkeypatch.setattr(municipalities, "REGION_FROM_EMPLOYEES", 1_000)
    result = seed(999)
    assert result.municipalities == 6
    assert municipality_codes() == {code for code, _name in municipalities.MUNICIPALITIES}


def test_from_the_threshold_the_demo_spans_the_county_in_proportion(monkeypatch):
    monkeypatch.setattr(municipalities, "REGION_FROM_EMPLOYEES", 1_000)
    result = seed(1_000)
    assert result.municipalities == 26
    assert count(Employee, Employee.municipality_id.is_not(None)) == 1_000
    staff = {
        name: n
        for name, n in db.session.execute(
            sa.select(Municipality.name, sa.func.count(Employee.id))
            .join(Employee, Employee.municipality_id == Municipality.id)
            .group_by(Municipality.name)
        )
    }
    assert len(staff) == 26
    # Stockholm has about 40 % of the county's people, Salem under 1 %.
    assert max(staff, key=staff.__getitem__) == "Stockholm"
    assert 300 < staff["Stockholm"] < 500
    assert staff["Salem"] < staff["Järfälla"] < staff["Stockholm"]


def test_the_whole_country_has_every_sector_in_every_municipality(monkeypatch):
    monkeypatch.setattr(municipalities, "REGION_FROM_EMPLOYEES", 500)
    monkeypatch.setattr(municipalities, "NATION_FROM_EMPLOYEES", 2_500)
    result = seed(2_500)
    assert result.municipalities == 290
    sectors = db.session.execute(
        sa.select(Unit.municipality_id, sa.func.count(sa.distinct(Unit.sector))).group_by(
            Unit.municipality_id
        )
    ).all()
    assert len(sectors) == 290
    assert {n for _, n in sectors} == {5}
    # Håbo and Habo spell the same in ASCII: their e-mail domains still differ.
    domains = {email.split("@")[1] for email in db.session.scalars(sa.select(Employee.email))}
    assert {"habo-0305.demo.example", "habo-0643.demo.example"} <= domains


def test_too_few_people_for_the_country_is_refused_and_stores_nothing(monkeypatch):
    monkeypatch.setattr(municipalities, "NATION_FROM_EMPLOYEES", 1_000)
    with pytest.raises(DemoError, match=r"1000 employees are too few for 290 municipalities"):
        seed(1_000)
    db.session.rollback()
    assert count(Employee) == count(Unit) == 0
    assert municipality_codes() == {code for code, _name in municipalities.MUNICIPALITIES}


# --- the people --------------------------------------------------------------------------------


def test_3000_employees_in_units_with_managers_hires_over_years_and_leavers():
    """Realistic staff: every e-mail unique, numbered per municipality, a manager per
    unit, hired over decades, some leaving or gone."""
    result = seed()
    assert result.employees == SIZE
    assert count(Employee, Employee.municipality_id.is_not(None)) == SIZE
    people = db.session.execute(
        sa.select(
            Employee.id,
            Employee.email,
            Employee.unit_id,
            Employee.manager_id,
            Employee.municipality_id,
            Employee.employee_number,
            Employee.hire_date,
            Employee.end_date,
            Employee.active,
        ).where(Employee.municipality_id.is_not(None))
    ).all()
    emails = [p.email for p in people]
    assert len(set(emails)) == len(emails)
    numbers = Counter((p.municipality_id, p.employee_number) for p in people)
    assert max(numbers.values()) == 1

    # Every unit has one manager, holding the manager role for it; the staff report to them.
    managers = {p.unit_id: p.id for p in people if p.manager_id is None}
    assert len(managers) == count(Unit)
    grants = set(
        db.session.execute(
            sa.select(RoleGrant.unit_id, RoleGrant.employee_id).where(
                RoleGrant.role == Role.MANAGER
            )
        ).tuples()
    )
    assert grants == set(managers.items())
    assert all(p.manager_id == managers[p.unit_id] for p in people if p.manager_id is not None)

    hired = [p.hire_date for p in people]
    assert min(hired) < TODAY - timedelta(days=15 * 365)
    this_month = sum(h >= TODAY.replace(day=1) for h in hired)
    assert 0.01 * SIZE < this_month < 0.06 * SIZE
    left = [p for p in people if p.end_date is not None and p.end_date <= TODAY]
    assert 0.03 * SIZE < len(left) < 0.10 * SIZE
    assert not any(p.active for p in left)
    assert all(p.hire_date < p.end_date for p in left)
    leaving = [p for p in people if p.end_date is not None and p.end_date > TODAY]
    assert leaving
    assert all(p.active for p in leaving)

    # Leavers keep the assignments they had, closed on their last day; nobody else has any
    # closed, and no leaver has one open.
    closed = db.session.execute(
        sa.select(Assignment.removed_at, Assignment.assigned_at, Employee.end_date)
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(Assignment.removed_at.is_not(None))
    ).all()
    assert closed
    assert all(row.removed_at.date() == row.end_date <= TODAY for row in closed)
    assert all(row.assigned_at < row.removed_at for row in closed)
    still_open = db.session.scalar(
        sa.select(sa.func.count(Assignment.id))
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(Assignment.removed_at.is_(None), ~employed_on(TODAY))
    )
    assert still_open == 0


def test_completion_states_come_in_realistic_proportions():
    seed()
    assignments = db.session.execute(
        sa.select(
            Assignment.employee_id, Assignment.course_id, Assignment.due_date, Assignment.exempt
        )
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(Assignment.removed_at.is_(None), employed_on(TODAY))
    ).all()
    history = defaultdict(list)
    for row in db.session.execute(
        sa.select(
            Completion.employee_id,
            Completion.course_id,
            Completion.completed_on,
            Completion.expires_on,
            Completion.status,
        ).order_by(Completion.completed_on, Completion.id)
    ):
        history[row.employee_id, row.course_id].append(row)

    states: Counter[str] = Counter()
    overdue_here = 0
    for a in assignments:
        done = history[a.employee_id, a.course_id]
        counting = [c for c in done if c.status != CompletionStatus.REJECTED]
        valid = [c for c in counting if c.expires_on is None or c.expires_on > TODAY]
        if a.exempt:
            states["exempt"] += 1
        elif any(c.status == CompletionStatus.VERIFIED for c in valid):
            states["verified"] += 1
        elif valid:
            states["reported, awaiting verification"] += 1
        elif done and done[-1].status == CompletionStatus.REJECTED:
            states["rejected"] += 1
        elif counting:
            states["expired"] += 1
        elif a.due_date < TODAY:
            states["overdue, never reported"] += 1
        else:
            states["not yet due"] += 1
        overdue_here += not a.exempt and not valid and a.due_date < TODAY

    share = {state: n / len(assignments) for state, n in states.items()}
    assert 0.50 < share["verified"] < 0.75, share
    assert 0.04 < share["reported, awaiting verification"] < 0.15, share
    assert 0.005 < share["rejected"] < 0.05, share
    assert 0.01 < share["expired"] < 0.10, share
    assert 0.005 < share["exempt"] < 0.04, share
    assert 0.10 < share["overdue, never reported"] < 0.35, share
    assert share["not yet due"] > 0, share
    # The app's own definition of overdue counts the same.
    app_overdue = db.session.scalar(
        sa.select(sa.func.count(Assignment.id))
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(overdue(TODAY), employed_on(TODAY))
    )
    assert app_overdue == overdue_here
    # Nothing is dated in the future, or before the course existed.
    assert not count(Completion, Completion.completed_on > TODAY)
    early = db.session.scalar(
        sa.select(sa.func.count(Completion.id))
        .join(Course)
        .where(Course.available_from.is_not(None), Completion.completed_on < Course.available_from)
    )
    assert not early


def test_assignments_are_exactly_what_recompute_assignments_makes():
    seed()
    seeded = open_assignments()
    assert len(seeded) > 1.5 * SIZE
    # Nothing to change …
    changes = recompute_assignments(db.session, today=TODAY)
    assert changes.total == 0
    # … and from nothing, the same rows.
    db.session.execute(sa.delete(Assignment))
    recompute_assignments(db.session, today=TODAY)
    assert open_assignments() == seeded


def test_the_same_seed_gives_the_same_3000():
    seed(seed=5)
    first = snapshot()
    empty_database()
    seed(seed=5)
    assert snapshot() == first


# --- how it is written -------------------------------------------------------------------------


def bulk_table_schema() -> set[tuple[str, ...]]:
    """The keys and indexes of the tables the seed writes in bulk, as the database has them."""
    tables = ["employees", "assignments", "completions"]
    if db.engine.dialect.name == "postgresql":
        query = (
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE conrelid::regclass::text IN :tables"
            " UNION SELECT tablename, indexname, indexdef FROM pg_indexes"
            " WHERE tablename IN :tables"
        )
    else:
        query = "SELECT tbl_name, name, sql FROM sqlite_master WHERE tbl_name IN :tables"
    statement = sa.text(query).bindparams(sa.bindparam("tables", expanding=True))
    return set(db.session.execute(statement, {"tables": tables}).tuples())


def test_rows_are_written_in_bulk_and_postgresql_is_analyzed_after_a_large_seed(monkeypatch):
    monkeypatch.setattr(demo, "LARGE_SEED_EMPLOYEES", 500)
    schema = bulk_table_schema()
    with counting_statements() as statements:
        seed(500)
    small = len(statements)
    employee_inserts = [s for s in statements if s.startswith("INSERT INTO employees")]
    analyzed = [s for s in statements if s.startswith("ANALYZE")]
    empty_database()
    with counting_statements() as statements:
        seed(1_500)
    # The same statements whatever the size: no row is written on its own.
    assert len(statements) == small
    assert len(statements) < 200  # for thousands of rows
    if db.engine.dialect.name == "postgresql":
        assert not employee_inserts  # COPY, which the driver runs without a statement event
        assert {"ANALYZE employees", "ANALYZE assignments", "ANALYZE completions"} <= set(analyzed)
        # Every key and index set aside for the load is back, as it was.
        assert any(s.startswith("DROP INDEX") for s in statements)
        assert len(schema) > 30
        assert bulk_table_schema() == schema
    else:
        assert len(employee_inserts) == 1  # one executemany
        assert not analyzed


def test_below_the_threshold_postgresql_keeps_its_indexes_and_is_still_analyzed(monkeypatch):
    monkeypatch.setattr(demo, "LARGE_SEED_EMPLOYEES", 501)
    with counting_statements() as statements:
        seed(500)
    assert not [s for s in statements if s.startswith(("ALTER TABLE", "DROP INDEX"))]
    analyzed = {s for s in statements if s.startswith("ANALYZE")}
    if db.engine.dialect.name == "postgresql":
        # Without statistics (autovacuum off, or not yet come by) the planner nest-loops.
        assert {"ANALYZE employees", "ANALYZE assignments", "ANALYZE completions"} <= analyzed
    else:
        assert not analyzed


# --- the command ---------------------------------------------------------------------------------


def test_the_cli_prints_the_accounts_on_stdout_and_its_progress_on_stderr(runner, monkeypatch):
    monkeypatch.setattr(demo, "PROGRESS_EVERY", 1_000)
    result = runner.invoke(
        args=["demo", "seed", "--employees", str(SIZE), "--seed", "2", "--password", PASSWORD]
    )
    assert result.exit_code == 0, result.output
    # stdout is for scripts: one ROLE<TAB>E-MAIL line per demo account and nothing else.
    assert [tuple(line.split("\t")) for line in result.stdout.splitlines()] == demo_accounts()
    assert [role for role, _email in demo_accounts()] == ROLES
    progress = result.stderr.splitlines()
    assert [line for line in progress if line.startswith("employees ")] == [
        "employees 1000/3000",
        "employees 2000/3000",
        "employees 3000/3000",
    ]
    assert "3000 employees in 6 municipalities" in result.stderr


def test_the_cli_refuses_a_bad_date_and_stores_nothing(runner):
    result = runner.invoke(
        args=["demo", "seed", "--employees", "150", "--password", PASSWORD, "--today", "23/11"]
    )
    assert result.exit_code != 0
    assert "--today" in result.output and "YYYY-MM-DD" in result.output
    assert count(Employee) == 0


def demo_accounts() -> list[tuple[str, str]]:
    return [
        ("admin", people.ADMIN_EMAIL),
        ("hr", people.HR_EMAIL),
        ("manager", people.MANAGER_EMAIL),
        ("coordinator", people.COORDINATOR_EMAIL),
        ("regional-coordinator", people.REGIONAL_COORDINATOR_EMAIL),
        ("employee", people.EMPLOYEE_EMAIL),
        ("organiser", people.ORGANISER_EMAIL),
    ]

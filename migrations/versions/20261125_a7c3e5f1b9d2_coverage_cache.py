"""Coverage cache: each unit's coverage numbers per filter variant, and the change log that
says when they are stale, written by triggers so that no write path (an ORM flush, a bulk
UPDATE, COPY, a psql session) can forget it. See services/coverage_cache.py.

The triggers log the unit whose numbers a change can move (an employee's old and new unit; the
unit of the person whose assignment or completion it is; the unit itself; the units of a
municipality whose count setting changed) into coverage_changes, or unit 0 ("every unit") for
a course's provider. Writers only INSERT there, so they never wait for each other on it.

PostgreSQL: one statement-level trigger per table and event, with transition tables, so a bulk
statement (COPY of a million rows) logs each unit once, set-based. A change to a person's
records looks the person's unit up FOR KEY SHARE and a move takes the person FOR UPDATE: one
of the two waits for the other to commit, so a change made while its person moves is logged
under the unit the person ends up in (or the move, committing later, logs it). Likewise a unit
created in, or moved to, a municipality holds the municipality FOR SHARE, so a change of its
count setting either waits for the unit and finds it, or comes first.
SQLite: row-level triggers; SQLite has one writer at a time, so a lookup always sees the
committed unit.

Beware: SQLite's batch_alter_table, when it has to copy a table (dropping a column, changing a
constraint), drops that table's triggers. A later migration that does so to employees,
assignments, completions, units, municipalities or courses must create the triggers again.

Revision ID: a7c3e5f1b9d2
Revises: 8e1f2a3b4c5d
Create Date: 2026-11-25 09:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a7c3e5f1b9d2"
down_revision = "8e1f2a3b4c5d"
branch_labels = None
depends_on = None

EVERY_UNIT = 0

# The columns coverage reads, per table: an UPDATE that changes none of them logs nothing (a
# sign-in stamping last_login_at, an anonymisation, a catalogue sync's new titles).
EMPLOYEE_COLUMNS = ("municipality_id", "unit_id", "hire_date", "end_date", "active")
RECORD_COLUMNS = {
    "assignments": (
        "employee_id",
        "course_id",
        "due_date",
        "assigned_at",
        "removed_at",
        "exempt",
        "exempted_at",
    ),
    "completions": (
        "employee_id",
        "course_id",
        "completed_on",
        "expires_on",
        "status",
        "reported_at",
        "reviewed_at",
    ),
}
UNIT_COLUMNS = ("municipality_id", "sector")
SETTING_COLUMN = "count_reported_in_coverage"  # of municipalities: logs their units
# Changes that concern every unit: (table, column). Rare: a plugin moving a course.
GLOBAL_COLUMNS = {"courses": "provider_id"}
TABLES = ("employees", *RECORD_COLUMNS, "units", "municipalities", *GLOBAL_COLUMNS)


def _differ(columns, old="o", new="n"):
    return (
        f"({', '.join(f'{old}.{c}' for c in columns)}) IS DISTINCT FROM "
        f"({', '.join(f'{new}.{c}' for c in columns)})"
    )


# --- PostgreSQL ---------------------------------------------------------------------------------


def _pg_employees():
    return f"""
CREATE FUNCTION coverage_log_employees() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO coverage_changes (unit_id)
        SELECT DISTINCT unit_id FROM new_rows WHERE unit_id IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO coverage_changes (unit_id)
        SELECT DISTINCT unit_id FROM old_rows WHERE unit_id IS NOT NULL;
    ELSE
        -- A move waits for whoever logged a change of the person's records under the old unit
        -- (they hold the person FOR KEY SHARE), and those who come later see the new unit.
        PERFORM 1 FROM employees e
        JOIN new_rows n ON n.id = e.id JOIN old_rows o ON o.id = n.id
        WHERE o.unit_id IS DISTINCT FROM n.unit_id
        FOR UPDATE OF e;
        INSERT INTO coverage_changes (unit_id)
        SELECT DISTINCT u.unit_id
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        CROSS JOIN LATERAL (VALUES (o.unit_id), (n.unit_id)) AS u (unit_id)
        WHERE u.unit_id IS NOT NULL AND {_differ(EMPLOYEE_COLUMNS)};
    END IF;
    RETURN NULL;
END
$$"""


def _pg_records(table, columns):
    def log(people):
        return f"""
        INSERT INTO coverage_changes (unit_id)
        SELECT DISTINCT unit_id FROM (
            SELECT e.unit_id FROM employees e WHERE e.id IN ({people}) FOR KEY SHARE OF e
        ) AS locked
        WHERE unit_id IS NOT NULL;"""

    changed = (
        "SELECT x.employee_id FROM old_rows o JOIN new_rows n ON n.id = o.id"
        " CROSS JOIN LATERAL (VALUES (o.employee_id), (n.employee_id)) AS x (employee_id)"
        f" WHERE {_differ(columns)}"
    )
    return f"""
CREATE FUNCTION coverage_log_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{log("SELECT employee_id FROM new_rows")}
    ELSIF TG_OP = 'DELETE' THEN{log("SELECT employee_id FROM old_rows")}
    ELSE{log(changed)}
    END IF;
    RETURN NULL;
END
$$"""


def _pg_units():
    return f"""
CREATE FUNCTION coverage_log_units() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- Nothing cached yet; but a count setting changing meanwhile must see the unit.
        PERFORM 1 FROM municipalities m
        WHERE m.id IN (SELECT municipality_id FROM new_rows)
        FOR SHARE OF m;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO coverage_changes (unit_id) SELECT id FROM old_rows;
    ELSE
        PERFORM 1 FROM municipalities m
        WHERE m.id IN (
            SELECT n.municipality_id FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.municipality_id IS DISTINCT FROM n.municipality_id
        )
        FOR SHARE OF m;
        INSERT INTO coverage_changes (unit_id)
        SELECT o.id FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE {_differ(UNIT_COLUMNS)};
    END IF;
    RETURN NULL;
END
$$"""


_PG_MUNICIPALITIES = f"""
CREATE FUNCTION coverage_log_municipalities() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coverage_changes (unit_id)
    SELECT u.id FROM units u
    JOIN new_rows n ON n.id = u.municipality_id JOIN old_rows o ON o.id = n.id
    WHERE o.{SETTING_COLUMN} IS DISTINCT FROM n.{SETTING_COLUMN};
    RETURN NULL;
END
$$"""


def _pg_global(table, column):
    return f"""
CREATE FUNCTION coverage_log_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coverage_changes (unit_id)
    SELECT {EVERY_UNIT} WHERE EXISTS (
        SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE o.{column} IS DISTINCT FROM n.{column}
    );
    RETURN NULL;
END
$$"""


_PG_TRUNCATE = f"""
CREATE FUNCTION coverage_log_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coverage_changes (unit_id) VALUES ({EVERY_UNIT});
    RETURN NULL;
END
$$"""


def _pg_trigger(table, event):
    referencing = {
        "INSERT": "NEW TABLE AS new_rows",
        "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "DELETE": "OLD TABLE AS old_rows",
    }[event]
    return (
        f"CREATE TRIGGER coverage_{table}_{event.lower()} AFTER {event} ON {table}"
        f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION coverage_log_{table}()"
    )


def _upgrade_postgresql():
    op.execute(_pg_employees())
    for table, columns in RECORD_COLUMNS.items():
        op.execute(_pg_records(table, columns))
    op.execute(_pg_units())
    op.execute(_PG_MUNICIPALITIES)
    for table, column in GLOBAL_COLUMNS.items():
        op.execute(_pg_global(table, column))
    op.execute(_PG_TRUNCATE)
    for table in ("employees", *RECORD_COLUMNS):
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(_pg_trigger(table, event))
    for event in ("INSERT", "UPDATE", "DELETE"):
        op.execute(_pg_trigger("units", event))
    for table in ("municipalities", *GLOBAL_COLUMNS):
        op.execute(_pg_trigger(table, "UPDATE"))
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER coverage_{table}_truncate AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION coverage_log_truncate()"
        )


def _downgrade_postgresql():
    for table in TABLES:
        for event in ("insert", "update", "delete", "truncate"):
            op.execute(f"DROP TRIGGER IF EXISTS coverage_{table}_{event} ON {table}")
    for name in ("employees", *RECORD_COLUMNS, "units", "municipalities", *GLOBAL_COLUMNS):
        op.execute(f"DROP FUNCTION IF EXISTS coverage_log_{name}()")
    op.execute("DROP FUNCTION IF EXISTS coverage_log_truncate()")


# --- SQLite -------------------------------------------------------------------------------------


def _sqlite_differ(columns):
    return " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)


def _sqlite_triggers():
    log = "INSERT INTO coverage_changes (unit_id)"
    of_person = "SELECT unit_id FROM employees WHERE unit_id IS NOT NULL AND id"
    yield (
        "CREATE TRIGGER coverage_employees_insert AFTER INSERT ON employees"
        f" WHEN NEW.unit_id IS NOT NULL BEGIN {log} VALUES (NEW.unit_id); END"
    )
    yield (
        "CREATE TRIGGER coverage_employees_update AFTER UPDATE ON employees"
        f" WHEN {_sqlite_differ(EMPLOYEE_COLUMNS)} BEGIN"
        f" {log} SELECT OLD.unit_id WHERE OLD.unit_id IS NOT NULL;"
        f" {log} SELECT NEW.unit_id WHERE NEW.unit_id IS NOT NULL"
        " AND NEW.unit_id IS NOT OLD.unit_id; END"
    )
    yield (
        "CREATE TRIGGER coverage_employees_delete AFTER DELETE ON employees"
        f" WHEN OLD.unit_id IS NOT NULL BEGIN {log} VALUES (OLD.unit_id); END"
    )
    for table, columns in RECORD_COLUMNS.items():
        yield (
            f"CREATE TRIGGER coverage_{table}_insert AFTER INSERT ON {table}"
            f" BEGIN {log} {of_person} = NEW.employee_id; END"
        )
        yield (
            f"CREATE TRIGGER coverage_{table}_update AFTER UPDATE ON {table}"
            f" WHEN {_sqlite_differ(columns)} BEGIN"
            f" {log} {of_person} IN (OLD.employee_id, NEW.employee_id); END"
        )
        yield (
            f"CREATE TRIGGER coverage_{table}_delete AFTER DELETE ON {table}"
            f" BEGIN {log} {of_person} = OLD.employee_id; END"
        )
    yield (
        "CREATE TRIGGER coverage_units_update AFTER UPDATE ON units"
        f" WHEN {_sqlite_differ(('id', *UNIT_COLUMNS))} BEGIN"
        f" {log} VALUES (OLD.id); {log} SELECT NEW.id WHERE NEW.id IS NOT OLD.id; END"
    )
    yield (
        "CREATE TRIGGER coverage_units_delete AFTER DELETE ON units"
        f" BEGIN {log} VALUES (OLD.id); END"
    )
    yield (
        "CREATE TRIGGER coverage_municipalities_update AFTER UPDATE ON municipalities"
        f" WHEN OLD.{SETTING_COLUMN} IS NOT NEW.{SETTING_COLUMN}"
        f" BEGIN {log} SELECT id FROM units WHERE municipality_id = NEW.id; END"
    )
    for table, column in GLOBAL_COLUMNS.items():
        yield (
            f"CREATE TRIGGER coverage_{table}_update AFTER UPDATE ON {table}"
            f" WHEN OLD.{column} IS NOT NEW.{column} BEGIN {log} VALUES ({EVERY_UNIT}); END"
        )


def _sqlite_trigger_names():
    for table in ("employees", *RECORD_COLUMNS):
        for event in ("insert", "update", "delete"):
            yield f"coverage_{table}_{event}"
    yield "coverage_units_update"
    yield "coverage_units_delete"
    for table in ("municipalities", *GLOBAL_COLUMNS):
        yield f"coverage_{table}_update"


# --- both ---------------------------------------------------------------------------------------


def upgrade():
    op.create_table(
        "coverage_unit_cache",
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("variant", sa.String(length=60), nullable=False),
        sa.Column("computed_for", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("changes_seen", sa.BigInteger(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("fully_trained", sa.Integer(), nullable=False),
        sa.Column("exempt_people", sa.Integer(), nullable=False),
        sa.Column("counts_reported_min", sa.SmallInteger(), nullable=True),
        sa.Column("counts_reported_max", sa.SmallInteger(), nullable=True),
        sa.PrimaryKeyConstraint("unit_id", "variant", name=op.f("pk_coverage_unit_cache")),
    )
    op.create_table(
        "coverage_unit_cells",
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("variant", sa.String(length=60), nullable=False),
        sa.Column("course_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Integer(), nullable=False),
        sa.Column("reported", sa.Integer(), nullable=False),
        sa.Column("covered", sa.Integer(), nullable=False),
        sa.Column("overdue", sa.Integer(), nullable=False),
        sa.Column("exempt", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "unit_id", "variant", "course_id", name=op.f("pk_coverage_unit_cells")
        ),
    )
    op.create_table(
        "coverage_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_changes")),
    )
    op.create_table(
        "coverage_change_totals",
        sa.Column("unit_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("folded", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("unit_id", name=op.f("pk_coverage_change_totals")),
    )
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        for statement in _sqlite_triggers():
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    else:
        for name in _sqlite_trigger_names():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("coverage_change_totals")
    op.drop_table("coverage_changes")
    op.drop_table("coverage_unit_cells")
    op.drop_table("coverage_unit_cache")

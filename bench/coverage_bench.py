"""Coverage report benchmark: server time and SQL statements of what each report view asks of
the database, at a given size.

    .venv/bin/python bench/coverage_bench.py [--employees 20000] [--database sqlite|postgresql]

Builds a fresh database with the demo (600 employees) and a synthetic HR export of
``--employees`` more (bench/common.py), then times, over 7 runs each, the service calls behind
the coverage page for everyone (by municipality, with the 12-month trend and the filter
choices), one municipality by sector, one unit by person, and new-hire compliance. Prints
p50 and the slowest run with the statements issued. (#8 adds the full HTTP benchmark.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import hr_export  # noqa: E402
from bench.common import demo_database, machine, run  # noqa: E402

RUNS = 7


def measure(database_url: str) -> None:
    import sqlalchemy as sa

    os.environ["DATABASE_URL"] = database_url
    from training_tracker import create_app
    from training_tracker.extensions import db
    from training_tracker.models import Assignment, Employee, Municipality, Unit
    from training_tracker.services import coverage
    from training_tracker.services.scope import ReportScope

    app = create_app()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE"))  # as autovacuum would after the import
            db.session.commit()
        employees = db.session.scalar(sa.select(sa.func.count()).select_from(Employee))
        assignments = db.session.scalar(sa.select(sa.func.count()).select_from(Assignment))
        print(f"data: {employees:,} employees, {assignments:,} assignments")
        everyone = ReportScope(True, frozenset(), frozenset())
        home = db.session.scalars(sa.select(Municipality).where(Municipality.code == "0123")).one()
        one = ReportScope(False, frozenset({home.id}), frozenset())
        unit_id = db.session.scalar(
            sa.select(Unit.id)
            .join(Employee, Employee.unit_id == Unit.id)
            .where(Unit.municipality_id == home.id)
            .group_by(Unit.id)
            .order_by(sa.func.count().desc())
            .limit(1)
        )
        filters = coverage.CoverageFilters()
        statements: list[str] = []
        sa.event.listen(
            db.engine, "before_cursor_execute", lambda *args: statements.append(args[2])
        )

        def regional() -> None:
            coverage.coverage_table(db.session, everyone, filters, "municipality")
            coverage.coverage_trend(db.session, everyone, filters)
            coverage.report_choices(db.session, everyone)

        def municipal() -> None:
            coverage.coverage_table(db.session, one, filters, "sector")
            coverage.coverage_trend(db.session, one, filters)
            coverage.report_choices(db.session, one)

        views: list[tuple[str, Callable[[], object]]] = [
            ("regional view (table, trend, choices)", regional),
            ("municipality by sector (table, trend, choices)", municipal),
            (
                "largest unit by person",
                lambda: coverage.unit_people(db.session, one, filters, unit_id),
            ),
            (
                "new-hire compliance, all",
                lambda: coverage.new_hire_compliance(db.session, everyone, filters),
            ),
        ]
        for label, view in views:
            times = []
            for _ in range(RUNS):
                statements.clear()
                start = time.perf_counter()
                view()
                times.append(time.perf_counter() - start)
                db.session.rollback()
            print(
                f"{label}: p50 {statistics.median(times) * 1000:.0f} ms, "
                f"slowest {max(times) * 1000:.0f} ms, {len(statements)} SQL statements"
            )
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=20_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with demo_database(args.database) as (env, workdir):
        export = workdir / "personal.csv"
        hr_export.write(export, args.employees)
        run(["employees", "import", str(export), "--create-units", "--hold-invitations"], env)
        print(f"machine: {machine()}")
        print(f"database: {args.database}")
        measure(env["DATABASE_URL"])


if __name__ == "__main__":
    main()

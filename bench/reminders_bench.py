"""Reminder planning benchmark: time and SQL statements of one planning run.

    .venv/bin/python bench/reminders_bench.py [--employees 20000] [--database sqlite|postgresql]

Builds a fresh database like bench/import_bench.py (migrated, catalogue synced, the demo with
600 employees and rules for every sector), imports a synthetic HR export so that the demo
holds ``--employees`` more people, each with their required courses, then plans the reminders
and the managers' digests for three days (a Monday some weeks ahead, when first reminders,
due dates and digests fall together, and the next two working days) and prints, for each:
wall time, SQL statements issued, ledger rows and mails queued. Nothing is sent.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import hr_export  # noqa: E402
from bench.common import demo_database, machine, run  # noqa: E402


def plan(database_url: str, days: list[date]) -> None:
    import sqlalchemy as sa

    os.environ["DATABASE_URL"] = database_url
    from training_tracker import create_app
    from training_tracker.extensions import db
    from training_tracker.models import Assignment, Employee
    from training_tracker.services.core.working_days import is_working_day
    from training_tracker.services.training import reminders

    app = create_app()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            # Fresh statistics after the bulk import, as autovacuum would soon make them;
            # without them the planner picks the wrong index and planning takes 10× longer.
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        employees = db.session.scalar(sa.select(sa.func.count()).select_from(Employee))
        assignments = db.session.scalar(sa.select(sa.func.count()).select_from(Assignment))
        print(f"data: {employees:,} employees, {assignments:,} assignments")
        statements: list[str] = []
        sa.event.listen(
            db.engine, "before_cursor_execute", lambda *args: statements.append(args[2])
        )
        for day in days:
            statements.clear()
            start = time.perf_counter()
            report = reminders.plan_reminders(db.session, today=day)
            digests = reminders.plan_digests(db.session, today=day)
            db.session.commit()
            seconds = time.perf_counter() - start
            steps = ", ".join(f"{step} {count}" for step, count in report.queued.items())
            print(
                f"{day} ({'working day' if is_working_day(day) else 'holiday'}): "
                f"{seconds:.2f} s, {len(statements)} SQL statements; reminders: {steps}; "
                f"{report.mails} reminder mails, {digests} digests queued"
            )
        db.session.remove()
        db.engine.dispose()  # so the scratch database can be dropped


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
        today = date.today()
        monday = today + timedelta(days=(7 - today.weekday()) % 7 + 14)
        plan(env["DATABASE_URL"], [monday, monday + timedelta(days=1), monday + timedelta(days=2)])


if __name__ == "__main__":
    main()

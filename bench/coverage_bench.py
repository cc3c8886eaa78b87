"""Coverage report benchmark: server time and SQL statements of what each report view asks of
the database, at a given size.

    .venv/bin/python bench/coverage_bench.py [--employees 20000] [--database sqlite|postgresql]
    .venv/bin/python bench/coverage_bench.py --source seed --employees 850000 --database postgresql
    .venv/bin/python bench/coverage_bench.py --database-url postgresql://…/db   # reuse data

By default builds a fresh database with the demo (600 employees) and a synthetic HR export of
``--employees`` more (bench/common.py); ``--source seed`` instead lets ``flask demo seed
--employees N`` make all of it (municipalities beyond the six when N is large), and
``--database-url`` measures an existing database as it is. Then times, over 7 runs each, the
service calls behind the coverage page for everyone (by municipality, with the 12-month trend
and the filter choices), one municipality by sector, one unit by person, and new-hire
compliance. Prints p50 and the slowest run with the statements issued.

Then the coverage cache (services/coverage_cache.py) on its own: today's table for everyone
by municipality computed live; the first request on an empty cache (every unit recomputed);
warm requests, p50 and p95 over 20, regional and municipal; a request after one change in one
unit (a report verified, committed: that unit is recomputed), p50 and p95 over 10; and the
nightly warm-up for tomorrow's date. (#8 adds the full HTTP benchmark.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import hr_export  # noqa: E402
from bench.common import DEMO_PASSWORD, demo_database, machine, run  # noqa: E402

RUNS = 7
WARM_RUNS = 20
CHANGE_RUNS = 10


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(database_url: str, *, cache_only: bool = False) -> None:
    import sqlalchemy as sa

    os.environ["DATABASE_URL"] = database_url
    from training_tracker import create_app
    from training_tracker.extensions import db
    from training_tracker.models import Assignment, Employee, Municipality, Unit
    from training_tracker.services.core.scope import ReportScope
    from training_tracker.services.reporting import coverage

    app = create_app()
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE"))  # as autovacuum would after the import
            db.session.commit()
        employees = db.session.scalar(sa.select(sa.func.count()).select_from(Employee))
        assignments = db.session.scalar(sa.select(sa.func.count()).select_from(Assignment))
        units = db.session.scalar(sa.select(sa.func.count()).select_from(Unit))
        print(f"data: {employees:,} employees, {assignments:,} assignments, {units:,} units")
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
        for label, view in [] if cache_only else views:
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
        measure_cache(db, everyone, one, statements)
        db.session.remove()
        db.engine.dispose()


def measure_cache(db, everyone, one, statements: list[str]) -> None:  # type: ignore[no-untyped-def]
    """The coverage cache: live, cold, warm, after one change, and the nightly warm-up."""
    from datetime import timedelta

    import sqlalchemy as sa

    from training_tracker import clock
    from training_tracker.models import (
        Completion,
        CompletionStatus,
        CoverageChange,
        CoverageUnitCache,
        CoverageUnitCell,
        Employee,
    )
    from training_tracker.services.reporting import coverage, coverage_cache_store

    filters = coverage.CoverageFilters()

    def timed(call: Callable[[], object]) -> tuple[float, int]:
        statements.clear()
        start = time.perf_counter()
        call()
        seconds = time.perf_counter() - start
        db.session.rollback()
        return seconds, len(statements)

    def table(scope, group_by: str = "municipality") -> Callable[[], object]:  # type: ignore[no-untyped-def]
        return lambda: coverage.coverage_table(db.session, scope, filters, group_by)

    live = [timed(lambda: coverage.coverage_table_live(db.session, everyone, filters))[0]]
    live += [timed(lambda: coverage.coverage_table_live(db.session, everyone, filters))[0]]
    print(f"cache: live table, everyone by municipality: p50 {_ms(statistics.median(live))}")

    with db.engine.begin() as connection:
        connection.execute(sa.delete(CoverageUnitCell))
        connection.execute(sa.delete(CoverageUnitCache))
    pending = db.session.scalar(sa.select(sa.func.count()).select_from(CoverageChange))
    db.session.rollback()
    cold, cold_statements = timed(table(everyone))
    print(
        f"cache: first request, empty cache (every unit recomputed; {pending:,} change-log rows"
        f" not yet folded): {_ms(cold)}, {cold_statements} SQL statements"
    )
    start = time.perf_counter()
    report = coverage_cache_store.warm_cache(db.session)
    print(
        f"cache: warm-cache right after: {_ms(time.perf_counter() - start)}"
        f" ({coverage_cache_store.describe_warm(report)})"
    )
    for label, scope, group_by in (
        ("everyone by municipality", everyone, "municipality"),
        ("everyone by unit", everyone, "unit"),
        ("one municipality by sector", one, "sector"),
    ):
        runs = [timed(table(scope, group_by)) for _ in range(WARM_RUNS)]
        times = [seconds for seconds, _ in runs]
        print(
            f"cache: warm, {label}: p50 {_ms(statistics.median(times))}, p95 {_ms(_p95(times))},"
            f" {runs[-1][1]} SQL statements"
        )

    # Reports awaiting verification, in different units: each run verifies one.
    for scope, group_by in ((everyone, "municipality"), (everyone, "unit"), (one, "sector")):
        same = coverage.coverage_table(
            db.session, scope, filters, group_by
        ) == coverage.coverage_table_live(db.session, scope, filters, group_by)
        print(f"cache: equal to the live table, {group_by}: {'yes' if same else 'NO'}")
        db.session.rollback()

    reported = (
        db.session.execute(
            sa.select(sa.func.min(Completion.id))
            .join(Employee, Employee.id == Completion.employee_id)
            .where(Completion.status == CompletionStatus.REPORTED)
            .group_by(Employee.unit_id)
            .limit(CHANGE_RUNS)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    runs = []
    for completion_id in reported:
        with db.engine.begin() as connection:
            connection.execute(
                sa.update(Completion)
                .where(Completion.id == completion_id)
                .values(status=CompletionStatus.VERIFIED, reviewed_at=clock.utcnow())
            )
        runs.append(timed(table(everyone)))
    if runs:
        times = [seconds for seconds, _ in runs]
        print(
            f"cache: after one change in one unit (a report verified, committed), everyone by"
            f" municipality: p50 {_ms(statistics.median(times))}, p95 {_ms(_p95(times))},"
            f" {runs[-1][1]} SQL statements"
        )
    start = time.perf_counter()
    report = coverage_cache_store.warm_cache(db.session, clock.today() + timedelta(days=1))
    print(
        f"cache: nightly warm-up for tomorrow: {_ms(time.perf_counter() - start)}"
        f" ({coverage_cache_store.describe_warm(report)})"
    )


@contextmanager
def seeded_database(database: str, employees: int) -> Iterator[dict[str, str]]:
    """The environment of a flask command on a fresh database holding ``flask demo seed
    --employees N``, the database dropped afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="tt-bench-"))
    env = {**os.environ, "TRAINING_TRACKER_ENV": "development", "MAIL_BACKEND": "console"}
    scratch = None
    if database == "postgresql":
        scratch = f"tt_bench_{uuid.uuid4().hex[:8]}"
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"create database {scratch}"],
            check=True,
        )
        env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{scratch}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite'}"
    try:
        run(["db", "upgrade"], env)
        run(["catalog", "sync"], env)
        seconds, peak, _ = run(
            ["demo", "seed", "--employees", str(employees), "--password", DEMO_PASSWORD], env
        )
        print(f"seed: {employees:,} employees in {seconds:.0f} s, peak RSS {peak} MB")
        yield env
    finally:
        if scratch:
            subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"drop database {scratch}"],
                check=False,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=20_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--source",
        choices=["import", "seed"],
        default="import",
        help="import: the demo plus an HR export; seed: flask demo seed --employees N",
    )
    parser.add_argument("--database-url", help="measure this existing database as it is")
    parser.add_argument(
        "--cache-only", action="store_true", help="only the coverage cache's figures"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    if args.database_url:
        print(f"database: {args.database_url.split('://')[0]} (existing)")
        measure(args.database_url, cache_only=args.cache_only)
        return
    if args.source == "seed":
        with seeded_database(args.database, args.employees) as env:
            print(f"database: {args.database}")
            measure(env["DATABASE_URL"], cache_only=args.cache_only)
        return
    with demo_database(args.database) as (env, workdir):
        export = workdir / "personal.csv"
        hr_export.write(export, args.employees)
        run(["employees", "import", str(export), "--create-units", "--hold-invitations"], env)
        print(f"database: {args.database}")
        measure(env["DATABASE_URL"], cache_only=args.cache_only)


if __name__ == "__main__":
    main()

"""The benchmark suite of #8: every figure of one data set, in one run.

    .venv/bin/python bench/run.py --employees 17000 --database sqlite --json /tmp/bench.json
    .venv/bin/python bench/run.py --employees 850000 --database postgresql --keep
    .venv/bin/python bench/run.py --employees 850000 --database postgresql   # reuses the kept one
    .venv/bin/python bench/run.py --database postgresql --reuse my_demo_copy

The data set is ``flask demo seed --employees N --seed S`` in a scratch database named by size
and seed (``tt_bench_n<N>_s<S>`` on the PostgreSQL server of ``--postgres-url``, or that name
``.sqlite`` in ``--data-dir``). A data set kept by an earlier ``--keep`` run is reused as it
is; ``--reuse NAME`` reuses any database seeded with the bench's demo password. A reused data
set is measured on a copy (``CREATE DATABASE … TEMPLATE``, or a copy of the SQLite file), so it
stays exactly as seeded for the next run; every copy, and every data set this run seeded
without ``--keep``, is dropped at the end, whatever happens.

What is measured, on the data set (bench/README.md explains each figure and its target):
the coverage page ``/reports/`` through the Flask test client, signed in as the regional
coordinator and as Järfälla's HR (first request, then p50/p95 of server time and the SQL
statements per request); its CSV export; a plain live GROUP BY over employees × assignments ×
completions and the live coverage computation, with the page's ratio to them; ``flask reminders
run`` (in-process, statements counted, mails discarded); and ``flask employees import`` of a
synthetic HR file in a child process (wall time, peak RSS). Prints a table with the data size
and the machine; ``--json PATH`` writes the same as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import hr_export  # noqa: E402
from bench.common import DEMO_PASSWORD  # noqa: E402
from bench.common import run as run_flask  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_DATA_DIR = ROOT / "instance" / "bench"
REPETITIONS = 20
WARMUP = 2
LIVE_REPETITIONS = 5
IMPORT_ROWS = 20_000
BUDGET_SECONDS = 120.0  # per figure: repetitions stop there (after MIN_RUNS), delivery too
MIN_RUNS = 3

REGIONAL_EMAIL = "region@demo.example"  # services/demo.py: the regional coordinator
HR_EMAIL = "hr@demo.example"  # HR of Järfälla

# The plain live GROUP BY the coverage page is compared with: required assignments and those
# with a verified completion, per municipality and course, straight from the tables.
PLAIN_GROUP_BY = """
SELECT e.municipality_id, a.course_id, count(*) AS required,
       sum(CASE WHEN EXISTS (
               SELECT 1 FROM completions c
               WHERE c.employee_id = a.employee_id AND c.course_id = a.course_id
                 AND c.status = 'verified'
           ) THEN 1 ELSE 0 END) AS completed
FROM employees e JOIN assignments a ON a.employee_id = e.id
WHERE e.active AND a.removed_at IS NULL AND NOT a.exempt
GROUP BY e.municipality_id, a.course_id
"""


# --- figures ---------------------------------------------------------------------------------


@dataclass
class Figure:
    """One measured figure, with the data size it was measured at."""

    key: str
    label: str
    employees: int
    database: str
    runs: int = 1
    p50_ms: float | None = None
    p95_ms: float | None = None
    seconds: float | None = None
    statements: int | None = None
    peak_rss_mb: int | None = None
    ratio: float | None = None
    target: str = ""
    met: bool | None = None  # None: the issue sets no target for this figure
    note: str = ""  # shown after the value
    details: dict[str, Any] = field(default_factory=dict)

    def value(self) -> str:
        return "; ".join(part for part in (self._measured(), self.note) if part)

    def _measured(self) -> str:
        if self.ratio is not None:
            return f"{self.ratio:.2f}×"
        if self.p50_ms is not None:
            if self.runs > 1 and self.p95_ms is not None:
                return f"p50 {self.p50_ms:,.1f} ms, p95 {self.p95_ms:,.1f} ms"
            return f"{self.p50_ms:,.1f} ms"
        parts = []
        if self.seconds is not None:
            parts.append(f"{self.seconds:,.2f} s")
        if self.peak_rss_mb is not None:
            parts.append(f"peak RSS {self.peak_rss_mb} MB")
        return ", ".join(parts)


def p50(times: list[float]) -> float:
    return statistics.median(times)


def p95(times: list[float]) -> float:
    """Nearest rank: the value 95 % of the runs are at or below."""
    ordered = sorted(times)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def coverage_target(database: str, p50_ms: float) -> tuple[str, bool]:
    # #8 point 4: 17,000 on SQLite ≤ 100 ms p50; #21: 850,000 on PostgreSQL ≤ 100 ms (#8 had
    # 300). Each is applied to every size on its database, as a ceiling.
    where = "#8: 17,000 on SQLite" if database == "sqlite" else "#21: 850,000 on PostgreSQL"
    return f"p50 ≤ 100 ms ({where})", p50_ms <= 100


# #21's targets of the figures that had none: (label, limit), the figure met at or below it.
# A time set at 850,000 is a ceiling at every size (less data takes less time), and so is the
# page ÷ plain GROUP BY ratio set at 17,000 on SQLite (the page reads the cache, whose size
# does not grow with the staff).
SECONDS_TARGETS = {
    "coverage_regional_first": ("≤ 5 s, empty cache (#21: at 850,000)", 5.0),
    "cache_fill_empty": ("≤ 60 s from empty (#21: at 850,000)", 60.0),
    "cache_warm_nightly": ("≤ 10 s (#21: at 850,000)", 10.0),
}
RATIO_TARGETS = {
    "ratio_regional": ("≤ 1.0× (#21: 17,000 on SQLite)", 1.0),
    "ratio_municipal": ("≤ 1.0× (#21: 17,000 on SQLite)", 1.0),
    "ratio_live": ("≤ 1.5× (#21: at 850,000)", 1.5),
}
# The live table ÷ plain GROUP BY is set at 850,000 only, and is not a ceiling below it: the
# live table is three statements and their building, a fixed 10-20 ms, and its statement does
# per person what the plain one does not; beside a plain query of 30-50 ms (17,000) those
# costs are most of the ratio, beside 2.7 s they are nothing. Smaller sizes show the ratio,
# without a target (bench/README.md, "The live-table ratio below 850,000").
RATIO_FROM_EMPLOYEES = {"ratio_live": 850_000}


def ratio_target(key: str, employees: int, ratio: float) -> tuple[str, bool | None]:
    """The ratio's target and whether it is met; None where it is shown, not judged."""
    target, limit = RATIO_TARGETS[key]
    applies_from = RATIO_FROM_EMPLOYEES.get(key, 0)
    if employees < applies_from:
        return f"— (#21 sets ≤ {limit}× at {applies_from:,} only)", None
    return target, ratio <= limit


def reminders_target(employees: int, seconds: float) -> tuple[str, bool]:
    if employees <= 20_000:
        return "≤ 5 s (#8: at 17,000)", seconds <= 5
    return "≤ 120 s (#8: at 850,000)", seconds <= 120


# --- the machine -----------------------------------------------------------------------------


def machine_facts(server_version: str | None) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    ram_gb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": ram_gb,
        "load_average": round(os.getloadavg()[0], 2),  # others' work skews the figures
        "postgresql": server_version,
        "sqlite": sqlite3.sqlite_version,
        "python": platform.python_version(),
    }


def describe_machine(facts: dict[str, Any]) -> str:
    parts = [f"{facts['nproc']} cores", facts["cpu"], f"{facts['ram_gb']} GB RAM"]
    if facts["postgresql"]:
        parts.append(f"PostgreSQL {facts['postgresql']}")
    parts += [f"SQLite {facts['sqlite']}", f"Python {facts['python']}"]
    load = f"; load average {facts['load_average']} at the start"
    if "load_average_end" in facts:
        load += f", {facts['load_average_end']} at the end"
    return ", ".join(parts) + load


# --- scratch databases -----------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    kind: str  # sqlite | postgresql
    name: str  # the PostgreSQL database's name, or the SQLite file's path
    url: str  # for DATABASE_URL


class Server:
    """Creates, copies and drops scratch databases (a PostgreSQL server, or a folder of
    SQLite files)."""

    def __init__(self, kind: str, postgres_url: str, data_dir: Path) -> None:
        self.kind = kind
        self.postgres_url = postgres_url
        self.data_dir = data_dir

    def database(self, name: str) -> Database:
        if self.kind == "sqlite":
            path = Path(name) if name.endswith(".sqlite") else self.data_dir / f"{name}.sqlite"
            return Database("sqlite", str(path.resolve()), f"sqlite:///{path.resolve()}")
        url = self.postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
        base, _slash, _db = url.rpartition("/")
        return Database("postgresql", name, f"{base}/{name}")

    @contextmanager
    def _admin(self) -> Iterator[Any]:
        import psycopg

        url = self.postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(url, autocommit=True) as connection:
            yield connection

    def version(self) -> str | None:
        if self.kind != "postgresql":
            return None
        with self._admin() as connection:
            return str(connection.execute("SHOW server_version").fetchone()[0])

    def exists(self, database: Database) -> bool:
        if self.kind == "sqlite":
            return Path(database.name).exists()
        with self._admin() as connection:
            found = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (database.name,)
            ).fetchone()
            return found is not None

    def create(self, database: Database, template: Database | None = None) -> None:
        if self.kind == "sqlite":
            Path(database.name).parent.mkdir(parents=True, exist_ok=True)
            if template is not None:
                shutil.copyfile(template.name, database.name)
            return
        import psycopg
        from psycopg import sql

        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database.name))
        with self._admin() as connection:
            if template is not None:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template.name))
                if connection.info.server_version >= 150000:
                    # A file copy, much faster than WAL-logging every page of a large one.
                    statement += sql.SQL(" STRATEGY FILE_COPY")
            try:
                connection.execute(statement)
            except psycopg.errors.ObjectInUse:
                source = template.name if template else "template1"
                sys.exit(f"cannot copy {source}: other sessions are connected to it")

    def drop(self, database: Database) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm", ".json"):
                Path(database.name + suffix).unlink(missing_ok=True)
            return
        from psycopg import sql

        with self._admin() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(database.name)
                )
            )

    def note(self, database: Database) -> dict[str, Any]:
        """What the seed recorded about a kept data set (when and how long it took)."""
        try:
            if self.kind == "sqlite":
                return json.loads(Path(database.name + ".json").read_text())
            with self._admin() as connection:
                row = connection.execute(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
                    " WHERE datname = %s",
                    (database.name,),
                ).fetchone()
            return json.loads(row[0]) if row and row[0] else {}
        except (OSError, ValueError):
            return {}

    def set_note(self, database: Database, note: dict[str, Any]) -> None:
        text = json.dumps(note)
        if self.kind == "sqlite":
            Path(database.name + ".json").write_text(text)
            return
        from psycopg import sql

        with self._admin() as connection:
            connection.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(database.name), sql.Literal(text)
                )
            )


# --- the application in this process ----------------------------------------------------------


class ServerTimer:
    """WSGI middleware: the time spent inside the application for the last request, from
    the call until its body is produced (what a server's access log would show)."""

    def __init__(self, wsgi_app: Callable[..., Any]) -> None:
        self.wsgi_app = wsgi_app
        self.last = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start = time.perf_counter()
        body = self.wsgi_app(environ, start_response)
        try:
            chunks = list(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        self.last = time.perf_counter() - start
        return chunks


def make_app(database: Database, upload_folder: Path) -> Any:
    from config import DevelopmentConfig
    from training_tracker import create_app

    config = DevelopmentConfig()
    config.SQLALCHEMY_DATABASE_URI = database.url.replace(
        "postgresql://", "postgresql+psycopg://", 1
    )
    config.UPLOAD_FOLDER = str(upload_folder)
    config.MAIL_BACKEND = "console"
    return create_app(config)


def flask_command(app: Any, args: list[str]) -> str:
    """A flask command run in this process, as the operator would type it."""
    result = app.test_cli_runner().invoke(args=args)
    if result.exit_code != 0:
        sys.exit(
            f"flask {' '.join(args)} failed ({result.exit_code}):\n{result.output}"
            f"{result.exception or ''}"
        )
    return str(result.output)


def dispose(app: Any) -> None:
    from training_tracker.extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # no connection left: the database can be copied or dropped


def seed(database: Database, employees: int, seed_number: int, workdir: Path) -> float:
    """Migrate the empty database and seed it; the seconds the seed took."""
    app = make_app(database, workdir / "uploads")
    flask_command(app, ["db", "upgrade"])
    start = time.perf_counter()
    flask_command(
        app,
        [
            "demo",
            "seed",
            "--employees",
            str(employees),
            "--seed",
            str(seed_number),
            "--password",
            DEMO_PASSWORD,
        ],
    )
    seconds = time.perf_counter() - start
    dispose(app)
    return seconds


# --- the measurements ------------------------------------------------------------------------


@dataclass
class Settings:
    repetitions: int
    warmup: int
    live_repetitions: int
    import_rows: int
    budget: float = BUDGET_SECONDS


class Bench:
    def __init__(self, app: Any, database: Database, settings: Settings) -> None:
        import sqlalchemy as sa

        from training_tracker.extensions import db

        self.app = app
        self.database = database
        self.settings = settings
        self.timer = ServerTimer(app.wsgi_app)
        app.wsgi_app = self.timer
        self.statements: list[str] = []
        self.table_pending = False  # the last page's coverage table was "being computed"
        with app.app_context():
            self.engine = db.engine
        sa.event.listen(
            self.engine, "before_cursor_execute", lambda *args: self.statements.append(args[2])
        )
        self.figures: dict[str, Figure] = {}
        self.data: dict[str, int] = {}

    def add(self, figure: Figure) -> Figure:
        self.figures[figure.key] = figure
        return figure

    def figure(self, key: str, label: str, **values: Any) -> Figure:
        if key in SECONDS_TARGETS:
            target, limit = SECONDS_TARGETS[key]
            seconds = values.get("seconds") or values.get("p50_ms", 0.0) / 1000
            values.update(target=target, met=seconds <= limit)
        elif key in RATIO_TARGETS:
            target, met = ratio_target(key, self.data["employees"], values["ratio"])
            values.update(target=target, met=met)
        return self.add(
            Figure(
                key=key,
                label=label,
                employees=self.data["employees"],
                database=self.database.kind,
                **values,
            )
        )

    # data size

    def measure_size(self) -> None:
        import sqlalchemy as sa

        from training_tracker import clock
        from training_tracker.extensions import db
        from training_tracker.models import (
            Assignment,
            Completion,
            Employee,
            Municipality,
            Unit,
        )

        with self.app.app_context():
            if self.engine.dialect.name == "postgresql":
                # Fresh statistics, as autovacuum makes them soon after a seed or a copy.
                db.session.execute(sa.text("ANALYZE"))
                db.session.commit()

            def count(model: Any, *where: Any) -> int:
                return int(
                    db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
                    or 0
                )

            today = clock.today()
            self.data = {
                "employees": count(Employee, Employee.unit_id.is_not(None)),
                "employed_today": count(
                    Employee,
                    Employee.unit_id.is_not(None),
                    Employee.active,
                    sa.or_(Employee.end_date.is_(None), Employee.end_date > today),
                ),
                "assignments": count(Assignment, Assignment.removed_at.is_(None)),
                "completions": count(Completion),
                "units": count(Unit),
                "municipalities": count(Municipality),
            }
            db.session.remove()

    # the coverage page and its CSV, through the real routes

    def signed_in(self, email: str) -> Any:
        client = self.app.test_client()
        page = client.get("/login").get_data(as_text=True)
        marker = '<meta name="csrf-token" content="'
        if marker not in page:
            sys.exit("the sign-in page carries no CSRF token")
        token = page.split(marker, 1)[1].split('"', 1)[0]
        response = client.post(
            "/login", data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token}
        )
        if response.status_code != 302:
            sys.exit(
                f"cannot sign in as {email} with the bench's demo password (the data set must "
                f"come from flask demo seed --password {DEMO_PASSWORD}): {response.status_code}"
            )
        return client

    def request(self, client: Any, url: str) -> tuple[float, int]:
        """Server seconds and SQL statements of one GET, which must answer 200."""
        self.statements.clear()
        response = client.get(url)
        if response.status_code != 200:
            sys.exit(f"GET {url} answered {response.status_code}")
        # Whether the coverage table ran past its time budget and said "being computed".
        self.table_pending = 'id="table-pending"' in response.get_data(as_text=True)
        return self.timer.last, len(self.statements)

    def repeated(
        self, client: Any, url: str, first: float | None = None
    ) -> tuple[list[float], list[int]]:
        """Warm-up, then the repetitions, within the time budget (at least three runs)."""
        if first is None or first < self.settings.budget / 10:  # else the first one warmed up
            for _ in range(self.settings.warmup):
                self.request(client, url)
        runs: list[tuple[float, int]] = []
        start = time.perf_counter()
        while len(runs) < self.settings.repetitions and (
            len(runs) < MIN_RUNS or time.perf_counter() - start < self.settings.budget
        ):
            runs.append(self.request(client, url))
        return [seconds for seconds, _ in runs], [count for _, count in runs]

    def measure_pages(self) -> None:
        regional = self.signed_in(REGIONAL_EMAIL)
        municipal = self.signed_in(HR_EMAIL)
        for client, view, who, when in (
            (
                regional,
                "regional",
                "regional coordinator, by municipality",
                "the first request after the seed or copy: the coverage cache is empty (the"
                " table is answered live, the trend is left to the scheduler's fill job)",
            ),
            (
                municipal,
                "municipal",
                "Järfälla's HR, by sector",
                "after the regional requests: the coverage cache is filled",
            ),
        ):
            first, first_statements = self.request(client, "/reports/")
            budget = self.app.config["COVERAGE_LIVE_BUDGET_SECONDS"]
            self.figure(
                f"coverage_{view}_first",
                f"coverage page, {view}: first request ({who})",
                p50_ms=first * 1000,
                statements=first_statements,
                note=(
                    f"table being computed (the live table ran past its {budget:g} s budget)"
                    if self.table_pending
                    else ""
                ),
                details={"note": when, "table_pending": self.table_pending},
            )
            if view == "regional":
                self.fill_cache()
                self.settle()
            times, counts = self.repeated(client, "/reports/", first)
            target, met = coverage_target(self.database.kind, p50(times) * 1000)
            self.figure(
                f"coverage_{view}",
                f"coverage page, {view} ({who})",
                runs=len(times),
                p50_ms=p50(times) * 1000,
                p95_ms=p95(times) * 1000,
                statements=max(counts),
                target=target,
                met=met,
                details={"statements_min": min(counts)},
            )
        for client, view in ((regional, "regional"), (municipal, "municipal")):
            times, counts = self.repeated(client, "/reports/coverage.csv")
            self.figure(
                f"coverage_csv_{view}",
                f"coverage CSV export, {view}",
                runs=len(times),
                p50_ms=p50(times) * 1000,
                p95_ms=p95(times) * 1000,
                statements=max(counts),
            )
        self.warm_next_day()

    def settle(self) -> None:
        """What autovacuum does on a production server soon after a restore or a bulk load
        (it is off on this machine's PostgreSQL): VACUUM ANALYZE, which also tells the
        planner how much of each table an index answers alone (a copied data set says none,
        and HR's review queue count then read every waiting report in the country). After
        the first request and the fill, before the figures of a server in use."""
        if self.engine.dialect.name != "postgresql":
            return
        start = time.perf_counter()
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
        print(f"data set: vacuumed in {time.perf_counter() - start:.1f} s", flush=True)

    def fill_cache(self) -> None:
        """What the scheduler's fill job does after that first request (the cache empty):
        every unit on the trend's 12 dates, of the variants asked for."""
        from training_tracker.extensions import db
        from training_tracker.services.reporting import coverage_cache_store

        with self.app.app_context():
            start = time.perf_counter()
            filled = coverage_cache_store.fill_cache(db.session)
            seconds = time.perf_counter() - start
            db.session.remove()
        self.figure(
            "cache_fill_empty",
            "coverage cache filled from empty (the scheduler's fill job: 12 dates, every unit)",
            seconds=seconds,
            details={"rows": filled},
        )

    def warm_next_day(self) -> None:
        """The nightly warm-up, as it runs after midnight: the next day's date, every unit
        (the month ends are still fresh). Measured last: it drops today's rows."""
        from training_tracker import clock
        from training_tracker.extensions import db
        from training_tracker.services.reporting import coverage_cache_store

        with self.app.app_context():
            start = time.perf_counter()
            report = coverage_cache_store.warm_cache(db.session, clock.today() + timedelta(days=1))
            seconds = time.perf_counter() - start
            db.session.remove()
        self.figure(
            "cache_warm_nightly",
            "nightly coverage cache warm-up (the next day: its date, every unit)",
            seconds=seconds,
            details={"rows": report.rows},
        )

    # the live computations the page is compared with

    def timed_sql(self, call: Callable[[Any], object]) -> list[float]:
        from training_tracker.extensions import db

        times: list[float] = []
        with self.app.app_context():
            call(db.session)  # warm-up: the same pages in the database's cache as the page's
            db.session.rollback()
            begun = time.perf_counter()
            while len(times) < self.settings.live_repetitions and (
                len(times) < MIN_RUNS or time.perf_counter() - begun < self.settings.budget
            ):
                start = time.perf_counter()
                call(db.session)
                times.append(time.perf_counter() - start)
                db.session.rollback()
            db.session.remove()
        return times

    def measure_live(self) -> None:
        import sqlalchemy as sa

        from training_tracker.services.core.scope import ReportScope
        from training_tracker.services.reporting import coverage

        plain = self.timed_sql(lambda session: session.execute(sa.text(PLAIN_GROUP_BY)).all())
        self.figure(
            "group_by_live",
            "plain live GROUP BY (employees × assignments × completions, per municipality"
            " and course)",
            runs=len(plain),
            p50_ms=p50(plain) * 1000,
        )
        everyone = ReportScope(True, frozenset(), frozenset())
        live = self.timed_sql(
            lambda session: coverage.coverage_table_live(
                session, everyone, coverage.CoverageFilters(), "municipality"
            )
        )
        self.figure(
            "coverage_live",
            "live coverage table, everyone by municipality (coverage_table_live, no cache)",
            runs=len(live),
            p50_ms=p50(live) * 1000,
        )
        self.figure(
            "ratio_live",
            "live coverage table p50 ÷ plain GROUP BY p50",
            ratio=p50(live) / p50(plain),
        )
        for view in ("regional", "municipal"):
            if f"coverage_{view}" not in self.figures:  # --only live: no page to compare
                continue
            page = self.figures[f"coverage_{view}"].p50_ms or 0.0
            self.figure(
                f"ratio_{view}",
                f"coverage page {view} p50 ÷ plain GROUP BY p50",
                ratio=page / (p50(plain) * 1000),
                details={"page_p50_ms": page, "group_by_p50_ms": p50(plain) * 1000},
            )

    # flask reminders run

    def measure_reminders(self, day: date) -> None:
        import sqlalchemy as sa

        from training_tracker.extensions import db
        from training_tracker.models import OutboxMessage, OutboxStatus, Reminder
        from training_tracker.services.training import reminders

        budget = self.settings.budget

        class BudgetSpent(BaseException):
            """Ends the delivery loop (deliver_outbox records an Exception on the message)."""

        class Discard:
            """A mail backend that accepts every message and sends nothing; past the time
            budget, it stops the run."""

            sent = 0
            delivery_began: float | None = None

            def send(self, message: EmailMessage) -> None:
                now = time.perf_counter()
                if Discard.delivery_began is None:
                    Discard.delivery_began = now
                elif now - Discard.delivery_began > budget:
                    raise BudgetSpent
                Discard.sent += 1

        def count(model: Any) -> int:
            return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)

        with self.app.app_context():
            session = db.session()
            before = {"reminders": count(Reminder), "mails": count(OutboxMessage)}
            last_id = db.session.scalar(sa.select(sa.func.max(OutboxMessage.id))) or 0
            session.commit()
            planned: list[tuple[float, int]] = []
            start = 0.0

            def after_commit(_session: Any) -> None:
                # run_reminders commits once between planning and delivering.
                if not planned:
                    planned.append((time.perf_counter() - start, len(self.statements)))

            sa.event.listen(session, "after_commit", after_commit)
            self.statements.clear()
            start = time.perf_counter()
            finished = True
            try:
                reminders.run_reminders(session, today=day, backend=Discard())
            except BudgetSpent:
                finished = False
            seconds = time.perf_counter() - start
            total = len(self.statements)
            sa.event.remove(session, "after_commit", after_commit)
            session.rollback()
            queued = count(Reminder) - before["reminders"]
            mails = count(OutboxMessage) - before["mails"]
            handled = int(
                db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.id > last_id, OutboxMessage.status != OutboxStatus.QUEUED)
                )
                or 0
            )
            db.session.remove()
        plan_seconds, plan_statements = planned[0] if planned else (seconds, total)
        details: dict[str, Any] = {
            "day": day.isoformat(),
            "reminders_queued": queued,
            "mails_queued": mails,
            "mails_sent": Discard.sent,
            "mails_cancelled": handled - Discard.sent,  # nothing owed any more when written
            "delivery_finished": finished,
        }
        self.figure(
            "reminders_plan",
            f"flask reminders run, {day} ({day:%A}): planning (reminders and digests queued)",
            seconds=plan_seconds,
            statements=plan_statements,
            target="SQL statements constant in N (#8)",
            note=f"{queued:,} reminders, {mails:,} mails (digests included)",
            details=details,
        )
        delivery_seconds = seconds - plan_seconds
        details = {
            **details,
            "delivery_seconds": delivery_seconds,
            "delivery_statements": total - plan_statements,
        }
        note = f"{Discard.sent:,} mails sent, {handled - Discard.sent:,} cancelled"
        if not finished:
            # Past the budget: the rest of the delivery at the rate measured so far.
            per_mail = delivery_seconds / max(1, handled)
            note = f"{handled:,} of {mails:,} mails sent or cancelled"
            measured = seconds
            seconds = plan_seconds + per_mail * mails
            details.update(measured_seconds=measured, projected=True)
            note += (
                f" in {measured:,.0f} s, then stopped: PROJECTED at {per_mail * 1000:.0f} ms/mail"
            )
        target, met = reminders_target(self.data["employees"], seconds)
        self.figure(
            "reminders",
            f"flask reminders run, {day} ({day:%A}): planning and delivery",
            seconds=seconds,
            statements=total if finished else None,
            target=target,
            met=met,
            note=note,
            details=details,
        )

    # flask employees import, in a child process

    def measure_import(self, workdir: Path) -> None:
        export = workdir / "personal.csv"
        hr_export.write(export, self.settings.import_rows)
        env = {
            **os.environ,
            "TRAINING_TRACKER_ENV": "development",
            "MAIL_BACKEND": "console",
            "DATABASE_URL": self.database.url,
            "UPLOAD_FOLDER": str(workdir / "uploads"),
        }
        seconds, peak_mb, output = run_flask(
            ["employees", "import", str(export), "--create-units"], env
        )
        summary = output.splitlines()[0] if output else ""
        within = seconds <= 10 and peak_mb <= 250
        self.figure(
            "import",
            f"flask employees import of a {self.settings.import_rows:,}-row HR file"
            " (child process)",
            seconds=seconds,
            peak_rss_mb=peak_mb,
            target="≤ 10 s and peak RSS ≤ 250 MB (#8)",
            met=within,
            note=summary.split(": ", 1)[-1],
            details={
                "rows": self.settings.import_rows,
                "file_mb": round(export.stat().st_size / 1e6, 2),
                "summary": summary,
            },
        )


def reminder_day(today: date) -> date:
    """The next Monday that is a working day (today, if it is one): reminders and the weekly
    digests fall together, the heaviest run of the week."""
    from training_tracker.services.core.working_days import is_working_day

    day = today
    while day.weekday() != 0 or not is_working_day(day):
        day += timedelta(days=1)
    return day


STEPS = ("pages", "live", "reminders", "import")


def measure(
    database: Database, settings: Settings, workdir: Path, only: Sequence[str] = STEPS
) -> tuple[dict, dict]:
    from training_tracker import clock

    app = make_app(database, workdir / "uploads")
    flask_command(app, ["db", "upgrade"])  # a kept data set of an older schema, on its copy
    bench = Bench(app, database, settings)
    bench.measure_size()
    print(
        f"data: {bench.data['employees']:,} employees ({bench.data['employed_today']:,}"
        f" employed today), {bench.data['assignments']:,} open assignments,"
        f" {bench.data['completions']:,} completions, {bench.data['units']:,} units,"
        f" {bench.data['municipalities']:,} municipalities",
        flush=True,
    )
    for step, label, call in (
        ("pages", "coverage page and CSV", bench.measure_pages),
        ("live", "live GROUP BY and live coverage", bench.measure_live),
        ("reminders", "reminders", lambda: bench.measure_reminders(reminder_day(clock.today()))),
    ):
        if step not in only:
            continue
        print(f"measuring: {label} …", end=" ", flush=True)
        start = time.perf_counter()
        call()
        print(f"{time.perf_counter() - start:,.1f} s", flush=True)
    dispose(app)  # the import runs in another process
    if "import" in only:
        print("measuring: import …", end=" ", flush=True)
        start = time.perf_counter()
        bench.measure_import(workdir)
        print(f"{time.perf_counter() - start:,.1f} s", flush=True)
    return bench.data, bench.figures


# --- output ----------------------------------------------------------------------------------


def table(figures: dict[str, Figure]) -> str:
    rows = [("figure", "employees", "value", "SQL", "target", "met")]
    for figure in figures.values():
        rows.append(
            (
                figure.label,
                f"{figure.employees:,}",
                figure.value(),
                "" if figure.statements is None else str(figure.statements),
                figure.target or "—",
                {True: "met", False: "NOT MET", None: ""}[figure.met],
            )
        )
    widths = [max(len(row[n]) for row in rows) for n in range(len(rows[0]))]
    lines = [
        " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


# --- the command -----------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=17_000, help="data set size")
    parser.add_argument("--seed", type=int, default=1, help="the demo seed's --seed")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--reuse",
        metavar="NAME",
        help="measure this existing database (PostgreSQL name or SQLite path), on a copy",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the data set this run seeds, for later runs"
    )
    parser.add_argument(
        "--drop", action="store_true", help="drop the kept data set of this size afterwards"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures here")
    parser.add_argument("--repetitions", type=int, default=REPETITIONS)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--live-repetitions", type=int, default=LIVE_REPETITIONS)
    parser.add_argument("--import-rows", type=int, default=IMPORT_ROWS)
    parser.add_argument(
        "--budget",
        type=float,
        default=BUDGET_SECONDS,
        metavar="SECONDS",
        help=f"time per figure: repetitions stop after it (at least {MIN_RUNS} runs), and so"
        " does the reminders' delivery (the rest is projected); default %(default)s",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="a database on the server where scratch databases are made"
        " (default: $BENCH_POSTGRES_URL or %(default)s)",
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="SQLite files")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=STEPS,
        default=list(STEPS),
        metavar="STEP",
        help="measure these only: " + ", ".join(STEPS) + " (the ratio needs pages and live)",
    )
    args = parser.parse_args(argv)
    if args.repetitions < 1 or args.live_repetitions < 1 or args.warmup < 0:
        parser.error("--repetitions and --live-repetitions must be at least 1, --warmup 0")
    if args.import_rows < 1:
        parser.error("--import-rows must be at least 1")
    return args


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    server = Server(args.database, args.postgres_url, args.data_dir)
    facts = machine_facts(server.version())
    print(f"machine: {describe_machine(facts)}", flush=True)
    if facts["load_average"] > (facts["nproc"] or 1) / 2:
        print("warning: the machine is busy; the figures will be slower than on a quiet one")
    workdir = Path(tempfile.mkdtemp(prefix="tt-bench-"))
    name = args.reuse or f"tt_bench_n{args.employees}_s{args.seed}"
    dataset = server.database(name)
    created = dropped = False
    copy: Database | None = None
    try:
        if server.exists(dataset):
            note = server.note(dataset)
            print(f"data set: reusing {dataset.name} {note or ''}".rstrip(), flush=True)
        elif args.reuse:
            sys.exit(f"no database {args.reuse!r} to reuse")
        else:
            print(
                f"data set: seeding {dataset.name} with {args.employees:,} employees …",
                flush=True,
            )
            server.create(dataset)
            created = True
            seconds = seed(dataset, args.employees, args.seed, workdir)
            note = {"seeded_on": date.today().isoformat(), "seed_seconds": round(seconds, 1)}
            server.set_note(dataset, note)
            print(f"data set: seeded in {seconds:,.1f} s", flush=True)
        measured = dataset
        if not created or args.keep:
            # Measure a copy: the import and the reminders change what they run on.
            copy = server.database(f"tt_bench_run_{uuid.uuid4().hex[:8]}")
            start = time.perf_counter()
            server.create(copy, template=dataset)
            print(f"data set: copied in {time.perf_counter() - start:,.1f} s", flush=True)
            measured = copy
        settings = Settings(
            args.repetitions, args.warmup, args.live_repetitions, args.import_rows, args.budget
        )
        data, figures = measure(measured, settings, workdir, args.only)
        facts["load_average_end"] = round(os.getloadavg()[0], 2)
    finally:
        if copy is not None:
            server.drop(copy)
        if (created and not args.keep) or (args.drop and not args.reuse):
            server.drop(dataset)
            dropped = True
        shutil.rmtree(workdir, ignore_errors=True)
    report = {
        "machine": facts,
        "database": args.database,
        "employees_requested": args.employees if not args.reuse else None,
        "seed": args.seed,
        "dataset": {
            "name": dataset.name,
            "reused": not created,
            "kept": not dropped,
            "measured_on_copy": copy.name if copy else None,
            "note": note,
        },
        "data": data,
        "repetitions": args.repetitions,
        "warmup": args.warmup,
        "live_repetitions": args.live_repetitions,
        "measured_on": date.today().isoformat(),
        "figures": {key: asdict(figure) for key, figure in figures.items()},
    }
    print()
    print(
        f"{args.database}, {data['employees']:,} employees, {data['assignments']:,} open"
        f" assignments; {args.repetitions} repetitions after {args.warmup} warm-up"
    )
    print(f"machine: {describe_machine(facts)}")
    print(table(figures))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"JSON: {args.json}")
    return report


if __name__ == "__main__":
    main()

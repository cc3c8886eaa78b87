"""What each page of the load test costs on its own: one request at a time, no other users.

    DATABASE_URL=… python bench/load/page_costs.py --accounts accounts.json --password PW

Signs in as the first accounts of each role (bench/load/accounts.py's file) through the app's
test client and requests every page of bench/load/mix.PAGES once to warm up, then
``--repeat`` times, measuring the wall time and the CPU time the work took: this process's
(the app, and SQLite inside it) plus, on PostgreSQL, the server processes of this database.
CPU time hardly depends on what else the machine is doing, so these figures hold even when
the load test's own figures are pessimistic, and they say how much load the machine can take:
the runner multiplies them by the mix. Prints a table; ``--out`` writes the medians as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.load.mix import PAGES  # noqa: E402

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TICK = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def database_cpu(engine: sa.Engine) -> Callable[[], float]:
    """CPU seconds so far of the PostgreSQL processes serving this database; 0 on SQLite."""
    if engine.dialect.name != "postgresql":
        return lambda: 0.0
    query = sa.text(
        "SELECT pid FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )

    def total() -> float:
        # Its own connection, outside the app's pool, so as not to disturb what is measured.
        with engine.connect() as connection:
            pids = connection.execute(query).scalars().all()
        return sum(_process_cpu(pid) for pid in pids)

    return total


def measure(
    request: Callable[[], object], database: Callable[[], float], repeat: int
) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``request``."""
    walls, cpus = [], []
    for _ in range(repeat):
        db_before, cpu_before, wall_before = database(), time.process_time(), time.perf_counter()
        request()
        walls.append(time.perf_counter() - wall_before)
        cpus.append(time.process_time() - cpu_before + database() - db_before)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


class Visitor:
    """One account on the app's test client."""

    def __init__(self, client: FlaskClient, account: dict, password: str) -> None:
        self.client = client
        self.credentials = {"email": account["email"], "password": password}
        self.unit_id = account["unit_id"]

    def token(self, path: str) -> str:
        """The CSRF token on ``path`` (the sign-in form, or the sign-out form of any page)."""
        found = CSRF.search(self.client.get(path).text)
        return found.group(1) if found else ""

    def form(self) -> None:
        self.client.get("/login")

    def post(self, path: str, data: dict[str, str]) -> None:
        answer = self.client.post(path, data=data)
        if answer.status_code != 302:
            sys.exit(f"{path} answered {answer.status_code} for {self.credentials['email']}")

    def get(self, url: str) -> None:
        answer = self.client.get(url)
        if answer.status_code != 200:
            sys.exit(f"{url} answered {answer.status_code} for {self.credentials['email']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=Path, required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--per-role", type=int, default=2, help="accounts measured per role")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from training_tracker import create_app
    from training_tracker.extensions import db

    accounts = json.loads(args.accounts.read_text())
    app = create_app()
    with app.app_context():
        # A separate engine for the measuring queries, so that they use none of the app's.
        probe = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    database = database_cpu(probe)
    results: dict[str, dict[str, list[float]]] = {}

    def record(name: str, request: Callable[[], object], repeat: int = args.repeat) -> None:
        wall, cpu = measure(request, database, repeat)
        entry = results.setdefault(name, {"wall_ms": [], "cpu_ms": []})
        entry["wall_ms"].append(wall)
        entry["cpu_ms"].append(cpu)

    for role, pages in PAGES.items():
        for account in accounts[role][: args.per_role]:
            visitor = Visitor(app.test_client(), account, args.password)
            visitor.form()
            record("/login [form]", visitor.form)
            visitor.post("/login", {**visitor.credentials, "csrf_token": visitor.token("/login")})
            for _weight, path, name in pages:
                get = partial(visitor.get, path.format(unit_id=visitor.unit_id))
                get()  # the first request of a page compiles its templates
                record(name, get)
            # Sign-out and sign-in on their own, the CSRF tokens fetched outside the measure.
            for _ in range(min(args.repeat, 3)):
                data = {"csrf_token": visitor.token("/accessibility")}
                record("/logout", partial(visitor.post, "/logout", data), repeat=1)
                data = {**visitor.credentials, "csrf_token": visitor.token("/login")}
                record("/login [sign in]", partial(visitor.post, "/login", data), repeat=1)

    medians = {
        name: {key: statistics.median(values) for key, values in entry.items()}
        for name, entry in results.items()
    }
    print(f"{'page':<24}{'wall ms':>9}{'CPU ms':>9}   (alone, median)")
    for name, figures in sorted(medians.items(), key=lambda item: -item[1]["cpu_ms"]):
        print(f"{name:<24}{figures['wall_ms']:>9.0f}{figures['cpu_ms']:>9.0f}")
    if args.out:
        args.out.write_text(json.dumps(medians, indent=1))


if __name__ == "__main__":
    main()

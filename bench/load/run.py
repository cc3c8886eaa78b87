"""The load test: signed-in people browsing the tracker under gunicorn, measured with locust.

    bench/load/run.sh [--database sqlite|postgresql] [--employees 17000] [--users 50]
                      [--spawn-rate 10] [--duration 75] [--warmup 20] [--p95-ms 300] [--keep]

(run.sh makes the benchmark venv .venv-bench from requirements-bench.txt and runs this with
it.) Seeds a fresh database with ``flask demo seed --employees N`` (SQLite in a temporary
folder, or a scratch PostgreSQL database on 127.0.0.1 dropped afterwards), gives one account
per simulated user a known password (bench/load/accounts.py), brings the coverage cache up to
date as the nightly job would, starts gunicorn with deploy/gunicorn.conf.py (its default
worker count, (2 × cores) + 1) on a free loopback port, runs locust headless
(bench/load/locustfile.py) for an unmeasured warm-up and then for the measured time. Prints
p50/p95/p99, max and errors per page (and the p95 once every user is in), the time spent
inside gunicorn per page from its access log, the CPU seconds of gunicorn, locust, the
run's PostgreSQL backends and every other process, and the load average at the start and the
end. Exits 1 when a request failed or a p95 is over the budget.

The budget (``--p95-ms``) holds for all requests together and for every page on its own,
except the sign-in POST: verifying an Argon2id password costs about 0.2 s of CPU here by
design (services/accounts.py), so that page's figures are printed but not held to it.

Sign-ins are rate-limited per client address and per account (LOGIN_RATE_LIMIT, 10 a minute)
and every simulated user comes from 127.0.0.1, so the run raises that limit through the
environment of the gunicorn it starts. The limiter stays on, with its counters in the
database as in production: the sign-ins pay for them.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.load.mix import PAGES, PAGES_PER_VISIT, ROLE_WEIGHTS, THINK_SECONDS  # noqa: E402

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
SIGN_IN = "/login [sign in]"
# Sign-ins of one address per minute during the run: far above what 50 people make (one
# visit of 5–15 pages a minute or so each), so the limiter never refuses one.
LOAD_LOGIN_RATE_LIMIT = "100000 per minute;1000000 per hour"


# --- the machine ---------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, IndexError, ValueError):
        pass
    return f"{cores()} cores (nproc), {cpu}{memory}, Python {platform.python_version()}"


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return one, five, fifteen


TICK = os.sysconf("SC_CLK_TCK")


def _machine_busy() -> tuple[float, float]:
    """CPU seconds the machine has been busy and idle since boot, all cores (/proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / TICK, idle / TICK


def _process_cpu(pid: int, with_reaped_children: bool = False) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime: workers that ended
    return ticks / TICK


def _children(pid: int) -> list[int]:
    try:
        return [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    except OSError:
        return []


def _database_backends(url: str) -> list[int]:
    """The PostgreSQL server processes serving ``url``'s database (gunicorn's pooled
    connections); none for SQLite, whose work is done inside gunicorn."""
    if not url.startswith("postgresql"):
        return []
    name = url.rsplit("/", 1)[1]
    query = f"select pid from pg_stat_activity where datname = '{name}'"
    done = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", query],
        capture_output=True,
        text=True,
        check=True,
    )
    return [int(pid) for pid in done.stdout.split()]


@dataclass
class CpuShares:
    """Where the machine's CPU time went during the measured run, in CPU seconds."""

    seconds: float = 0.0
    busy: float = 0.0
    idle: float = 0.0
    gunicorn: float = 0.0
    locust: float = 0.0
    database: float = 0.0  # PostgreSQL's processes serving this run's database

    def text(self, cores: int) -> str:
        others = max(0.0, self.busy - self.gunicorn - self.locust - self.database)
        capacity = self.busy + self.idle
        share = 100 * self.busy / capacity if capacity else 0.0
        database = f", PostgreSQL for this database {self.database:.0f}" if self.database else ""
        return (
            f"CPU during the measured {self.seconds:.0f} s on {cores} cores: {share:.0f} % busy; "
            f"CPU seconds: gunicorn {self.gunicorn:.0f}, locust {self.locust:.0f}{database}, "
            f"other processes {others:.0f}"
        )

    def others_share(self) -> float:
        """The share of the machine's capacity that other processes used."""
        others = max(0.0, self.busy - self.gunicorn - self.locust - self.database)
        capacity = self.busy + self.idle
        return others / capacity if capacity else 0.0


def _load_text(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in load) + " (1 / 5 / 15 min)"


# --- the database ----------------------------------------------------------------------------


def flask(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(FLASK + args, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - start, done.stdout


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)


@contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    """The URL of an empty database, dropped afterwards (SQLite: a file in ``workdir``)."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'load.sqlite'}"
        return
    scratch = f"tt_load_{uuid.uuid4().hex[:8]}"
    psql(f"create database {scratch}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{scratch}"
    finally:
        # The server's connections are gone by now; FORCE in case one lingers.
        psql(f"drop database if exists {scratch} with (force)")


# --- gunicorn ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def gunicorn_command(port: int, workers: int | None) -> tuple[list[str], str]:
    """The command, and how many workers it starts (from deploy/gunicorn.conf.py when there)."""
    config = ROOT / "deploy" / "gunicorn.conf.py"
    gunicorn = [str(BIN / "gunicorn")]
    if config.exists():
        command = [*gunicorn, "-c", str(config)]
        if workers:
            command += ["--workers", str(workers)]
        else:
            workers = 2 * cores() + 1  # what the config computes: WEB_CONCURRENCY unset
        return command, f"{workers} (deploy/gunicorn.conf.py)"
    workers = workers or 2 * cores() + 1
    command = [*gunicorn, "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    return command, f"{workers} (flags; no deploy/gunicorn.conf.py)"


def _server_cpu(master: int) -> float:
    """CPU seconds of gunicorn's master and its workers, those that ended included."""
    return _process_cpu(master, with_reaped_children=True) + sum(
        _process_cpu(worker) for worker in _children(master)
    )


def _rusage_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wait_until_up(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    sys.exit(f"gunicorn did not answer {url} within {seconds:.0f} s")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)  # the master stops its workers
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- the figures ---------------------------------------------------------------------------


@dataclass
class Row:
    """One page's figures over the measured run, and its p95 once every user is in."""

    name: str
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    maximum: float
    steady_p95: float


def percentile(values: list[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def _ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.0f}"


def _row(name: str, records: list[tuple[float, float, bool]], steady_from: float) -> Row:
    times = [milliseconds for _at, milliseconds, _failed in records]
    return Row(
        name=name,
        requests=len(records),
        failures=sum(failed for _at, _milliseconds, failed in records),
        p50=percentile(times, 0.50),
        p95=percentile(times, 0.95),
        p99=percentile(times, 0.99),
        maximum=max(times, default=math.nan),
        steady_p95=percentile([ms for at, ms, _failed in records if at >= steady_from], 0.95),
    )


def read_requests(path: Path, ramp_up: float) -> tuple[list[Row], Row, float]:
    """Rows per page and for all requests from the locustfile's request log, and the
    requests per second. "Steady" starts 10 s after the last user has started."""
    by_name: dict[str, list[tuple[float, float, bool]]] = {}
    for line in path.read_text().splitlines():
        at, name, milliseconds, failed = line.split("\t")
        by_name.setdefault(name, []).append((float(at), float(milliseconds), failed == "1"))
    everything = [record for records in by_name.values() for record in records]
    if not everything:
        sys.exit(f"no request in {path}")
    first = min(at for at, _ms, _failed in everything)
    last = max(at for at, _ms, _failed in everything)
    steady_from = first + ramp_up + 10
    rows = [_row(name, records, steady_from) for name, records in sorted(by_name.items())]
    per_second = len(everything) / max(last - first, 1.0)
    return rows, _row("all requests", everything, steady_from), per_second


def read_failures(path: Path) -> list[tuple[str, str, int]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [
            (record["Name"], record["Error"], int(record["Occurrences"]))
            for record in csv.DictReader(handle)
        ]


NUMBER = re.compile(r"/\d+")
ACCESS_TIME = re.compile(r'"([A-Z]+) ([^ ]+) HTTP/[^"]*" (\d{3}) \S+ (\d+)ms ')


def server_times(access_log: Path) -> tuple[dict[str, list[float]], int]:
    """Milliseconds gunicorn spent on each request (its access log) by method and path (all
    roles together: the log does not know them), and the count of 5xx answers."""
    times: dict[str, list[float]] = {}
    errors = 0
    for line in access_log.read_text(errors="replace").splitlines():
        if found := ACCESS_TIME.search(line):
            method, path, status, milliseconds = found.groups()
            page = method + " " + NUMBER.sub("/[id]", path)
            times.setdefault(page, []).append(float(milliseconds))
            errors += status.startswith("5")
    return times, errors


def print_table(rows: list[Row], total: Row) -> None:
    width = max(len(row.name) for row in [*rows, total]) + 2
    heading = "".join(f"{column:>7}" for column in ("p50", "p95", "p99", "max"))
    print(f"{'page':<{width}}{'requests':>9}{'errors':>7}{heading}{'steady p95':>12}  ms")
    for row in [*rows, total]:
        figures = (row.p50, row.p95, row.p99, row.maximum)
        print(
            f"{row.name:<{width}}{row.requests:>9}{row.failures:>7}"
            + "".join(f"{_ms(value):>7}" for value in figures)
            + f"{_ms(row.steady_p95):>12}"
        )


def verdict(rows: list[Row], total: Row, budget: float) -> list[str]:
    problems = []
    if total.requests == 0:
        problems.append("no request was made")
    if total.failures:
        problems.append(f"{total.failures} requests failed")
    if total.p95 > budget:
        problems.append(f"p95 of all requests {total.p95:.0f} ms > {budget:.0f} ms")
    for row in rows:
        if row.name != SIGN_IN and row.p95 > budget:
            problems.append(f"p95 of {row.name} {row.p95:.0f} ms > {budget:.0f} ms")
    return problems


# --- the run -----------------------------------------------------------------------------------


def locust(
    args: argparse.Namespace,
    host: str,
    accounts_file: Path,
    password: str,
    env: dict[str, str],
    prefix: Path,
    seconds: int,
    request_log: Path | None = None,
) -> str:
    """Run locust headless for ``seconds``, its own statistics to ``prefix``_stats.csv and
    the rest, every request to ``request_log``; returns its output."""
    command = [str(BIN / "locust"), "-f", str(HERE / "locustfile.py"), "--headless"]
    command += ["--users", str(args.users), "--spawn-rate", str(args.spawn_rate)]
    command += ["--run-time", f"{seconds}s", "--stop-timeout", "10", "--host", host]
    command += ["--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"]
    done = subprocess.run(
        command,
        env={
            **env,
            "LOAD_ACCOUNTS": str(accounts_file),
            "LOAD_PASSWORD": password,
            "LOAD_REQUEST_LOG": str(request_log or ""),
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + 180,
    )
    output = done.stdout + done.stderr
    Path(f"{prefix}.log").write_text(output)
    if not Path(f"{prefix}_stats.csv").exists():
        sys.exit(f"locust wrote no statistics (exit {done.returncode}):\n{done.stderr}")
    return output


def page_costs(
    env: dict[str, str], accounts_file: Path, password: str, workdir: Path
) -> dict[str, dict[str, float]]:
    """Each page's wall and CPU milliseconds alone (bench/load/page_costs.py), printed."""
    out = workdir / "page_costs.json"
    command = [sys.executable, str(HERE / "page_costs.py"), "--accounts", str(accounts_file)]
    command += ["--password", password, "--per-role", "1", "--repeat", "3", "--out", str(out)]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"page_costs.py failed:\n{done.stdout}\n{done.stderr}")
    print("each page alone, one request at a time before the load (CPU: the app and its database)")
    print("  " + done.stdout.strip().replace("\n", "\n  "))
    return json.loads(out.read_text())


def cpu_demand(costs: dict[str, dict[str, float]], users: int) -> dict[str, float]:
    """CPU cores each role's users ask for: a visit's pages (mix.PAGES by weight) and its
    sign-in and sign-out, over the visit's reading time. Response times are left out, so
    this is what the mix asks for when the server keeps up."""
    pages = sum(PAGES_PER_VISIT) / 2
    seconds = pages * sum(THINK_SECONDS) / 2
    visit_extra = sum(costs[name]["cpu_ms"] for name in ("/login [form]", SIGN_IN, "/logout"))
    total_weight = sum(ROLE_WEIGHTS.values())
    demand = {}
    for role, listed in PAGES.items():
        weights = sum(weight for weight, _path, _name in listed)
        per_page = sum(weight * costs[name]["cpu_ms"] for weight, _path, name in listed) / weights
        per_visit = (pages * per_page + visit_extra) / 1000
        demand[role] = users * ROLE_WEIGHTS[role] / total_weight * per_visit / seconds
    return demand


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="a fresh SQLite file, or a scratch database on 127.0.0.1 dropped afterwards",
    )
    parser.add_argument("--employees", type=int, default=17_000, help="demo seed size")
    parser.add_argument("--users", type=int, default=50, help="simulated people at once")
    parser.add_argument("--spawn-rate", type=float, default=10, help="users started a second")
    parser.add_argument("--duration", type=int, default=75, help="seconds of load")
    parser.add_argument("--warmup", type=int, default=20, help="seconds, not measured")
    parser.add_argument("--p95-ms", type=float, default=300, help="the budget per page")
    parser.add_argument("--workers", type=int, default=None, help="default: the config's")
    parser.add_argument("--keep", action="store_true", help="keep the folder with the logs")
    args = parser.parse_args()
    if not (BIN / "locust").exists():
        sys.exit(f"locust is not installed beside {sys.executable}: use bench/load/run.sh")

    workdir = Path(tempfile.mkdtemp(prefix="tt-load-"))
    password = "last-" + secrets.token_urlsafe(12)
    env = {
        **os.environ,
        # As deployed (production settings), but over plain http on loopback: cookies without
        # Secure (and so without the __Host- name, which requires it), no proxy in front.
        "TRAINING_TRACKER_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "SESSION_COOKIE_SECURE": "false",
        "REMEMBER_COOKIE_SECURE": "false",
        "SESSION_COOKIE_NAME": "session",
        "PREFERRED_URL_SCHEME": "http",
        "PROXY_FIX_X_FOR": "0",
        "HSTS_SECONDS": "0",
        "MAIL_BACKEND": "console",
        "UPLOAD_FOLDER": str(workdir / "uploads"),
        "LOGIN_RATE_LIMIT": LOAD_LOGIN_RATE_LIMIT,
        "PYTHONUNBUFFERED": "1",
    }
    try:
        with fresh_database(args.database, workdir) as url:
            env["DATABASE_URL"] = url
            run(args, env, workdir, password)
    finally:
        if args.keep:
            # The accounts' password too, to look at the pages by hand while the data is there.
            (workdir / "password.txt").write_text(password + "\n")
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace, env: dict[str, str], workdir: Path, password: str) -> None:
    before = load_average()
    print(f"machine: {machine()}; load average at the start: {_load_text(before)}")
    seeded = 0.0
    for step in (
        ["db", "upgrade"],
        ["catalog", "sync"],
        ["demo", "seed", "--employees", str(args.employees), "--password", password],
    ):
        seconds, _output = flask(step, env)
        seeded += seconds
    if args.database == "postgresql":
        # demo seed ANALYZEs only its largest data sets; without statistics the planner picks
        # plans that make the HR start page 4 s instead of 1. A live database has them
        # (autovacuum), so this one gets them before it is measured.
        subprocess.run(["psql", env["DATABASE_URL"], "-qc", "ANALYZE"], check=True)
    start = time.perf_counter()
    accounts_file = workdir / "accounts.json"
    script = [sys.executable, str(HERE / "accounts.py"), "--users", str(args.users)]
    done = subprocess.run(
        [*script, "--password", password, "--out", str(accounts_file)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.exit(f"accounts.py failed:\n{done.stdout}\n{done.stderr}")
    _seconds, warmed = flask(["reports", "warm-cache"], env)
    print(
        f"data: {args.employees:,} employees on {args.database}, seeded in {seeded:.0f} s; "
        f"accounts: {done.stdout.strip()} ({time.perf_counter() - start:.0f} s); "
        f"coverage cache: {warmed.strip()}"
    )
    costs = page_costs(env, accounts_file, password, workdir)
    demand = cpu_demand(costs, args.users)
    print(
        f"the mix at {args.users} users asks for about {sum(demand.values()):.1f} CPU cores "
        f"(at 2 s of reading a page and nothing more; the machine has {cores()}): "
        + ", ".join(f"{role} {value:.2f}" for role, value in demand.items())
    )
    if sum(demand.values()) > cores():
        print(
            "  more than the machine has: requests will queue and the budget cannot be met "
            "here, whatever else runs; the most expensive pages are at the top of the table"
        )

    port = free_port()
    command, workers = gunicorn_command(port, args.workers)
    access_log, error_log = workdir / "access.log", workdir / "gunicorn.log"
    server_env = {**env, "PORT": str(port), "BIND_HOST": "127.0.0.1"}
    server_env["GUNICORN_ACCESS_LOG"] = str(access_log)
    with error_log.open("wb") as errors:
        server = subprocess.Popen(command, env=server_env, cwd=ROOT, stdout=errors, stderr=errors)
    try:
        host = f"http://127.0.0.1:{port}"
        wait_until_up(f"{host}/healthz", server)
        print(
            f"load: {args.users} users (spawn {args.spawn_rate:g}/s) for {args.duration} s "
            f"against gunicorn with {workers} workers on {host}, after {args.warmup} s of "
            "unmeasured warm-up; "
            f"LOGIN_RATE_LIMIT raised to {LOAD_LOGIN_RATE_LIMIT!r} for this server"
        )
        # Warm-up, not measured: every worker renders each page once (compiling its
        # templates) and opens its connections, and the database's cache fills, as on a server
        # that has been up for a while.
        if args.warmup:
            locust(args, host, accounts_file, password, env, workdir / "warmup", args.warmup)
        access_log.write_text("")
        prefix = workdir / "locust"
        cpu = CpuShares()
        busy, idle = _machine_busy()
        started = time.perf_counter()
        backends = _database_backends(env["DATABASE_URL"])
        server_cpu = _server_cpu(server.pid)
        database_cpu = sum(_process_cpu(pid) for pid in backends)
        client_cpu = _rusage_children()
        request_log = workdir / "requests.tsv"
        measured = locust(
            args, host, accounts_file, password, env, prefix, args.duration, request_log
        )
        cpu.locust = _rusage_children() - client_cpu
        cpu.gunicorn = _server_cpu(server.pid) - server_cpu
        # Connections opened during the run are not counted: the pools are full by now.
        cpu.database = sum(_process_cpu(pid) for pid in backends) - database_cpu
        busy_after, idle_after = _machine_busy()
        cpu.busy, cpu.idle = busy_after - busy, idle_after - idle
        cpu.seconds = time.perf_counter() - started
        after = load_average()
    finally:
        stop(server)
    ramp_up = args.users / args.spawn_rate
    rows, total, per_second = read_requests(request_log, ramp_up)
    print()
    print(
        f"response times as the users saw them; steady p95: from 10 s after the last user "
        f"started ({ramp_up + 10:.0f} s in) to the end"
    )
    print_table(rows, total)
    print(f"throughput: {per_second:.1f} requests/s")
    by_page, server_errors = server_times(access_log)
    everything = [value for values in by_page.values() for value in values]
    print(
        f"time inside gunicorn (its access log; the rest of a response time is waiting for a "
        f"free worker), {len(everything)} requests, 5xx answers: {server_errors}"
    )
    for page, values in [*sorted(by_page.items()), ("all requests", everything)]:
        figures = "  ".join(
            f"p{share:.0f} {percentile(values, share / 100):>5.0f}" for share in (50, 95, 99)
        )
        print(f"  {page:<26}{len(values):>6}  {figures} ms")
    for name, error, count in read_failures(Path(f"{prefix}_failures.csv")):
        print(f"failed: {name}: {error} × {count}")
    log = error_log.read_text(errors="replace")
    if tracebacks := log.count("Traceback"):
        print(f"gunicorn's log has {tracebacks} tracebacks (see --keep)")
    if timeouts := log.count("WORKER TIMEOUT"):
        print(f"gunicorn killed {timeouts} workers that took too long")
    if "CPU usage above" in measured:
        print("locust warned that its own CPU use was above 90 %: the client limited the run")
    print(f"load average at the start: {_load_text(before)}; at the end: {_load_text(after)}")
    print(cpu.text(cores()))
    if before[0] >= cores() / 2 or cpu.others_share() >= 0.1:
        print(
            f"the machine was shared: other processes used {100 * cpu.others_share():.0f} % of "
            "its CPU during the run; these figures are pessimistic"
        )
    sign_in = next((row for row in rows if row.name == SIGN_IN), None)
    if sign_in is not None:
        print(
            f"sign-in (Argon2id by design, not held to the page budget): p95 {sign_in.p95:.0f} ms"
        )
    if problems := verdict(rows, total, args.p95_ms):
        print("FAIL: " + "; ".join(problems))
        sys.exit(1)
    print(f"PASS: no errors, p95 of every page ≤ {args.p95_ms:.0f} ms")


if __name__ == "__main__":
    main()

"""What the benchmarks share: the machine they ran on, a flask command in a child process
with its peak memory, and a fresh database (SQLite in a temporary folder, or a scratch
PostgreSQL database on 127.0.0.1 that is dropped afterwards), migrated and holding the demo."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "kanelbulle-med-kardemumma"

# flask, reporting its own peak RSS on exit. Linux's VmHWM, the peak of this process's own
# memory: ru_maxrss is not, as the kernel carries the parent's peak over a fork and exec into
# the child's (the bench, holding 850,000 employees' figures, "gave" the import 887 MB). RUSAGE_
# CHILDREN would mix all children. ru_maxrss only where /proc is missing.
FLASK = [
    sys.executable,
    "-c",
    "import atexit, resource, sys\n"
    "def peak_kb():\n"
    "    try:\n"
    "        with open('/proc/self/status') as status:\n"
    "            for line in status:\n"
    "                if line.startswith('VmHWM:'):\n"
    "                    return int(line.split()[1])\n"
    "    except OSError:\n"
    "        pass\n"
    "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "atexit.register(lambda: sys.stderr.write(f'\\nMAXRSS_KB {peak_kb()}\\n'))\n"
    "from flask.cli import main\n"
    "sys.argv = ['flask'] + sys.argv[1:]\n"
    "main()",
    "--app",
    "wsgi",
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def run(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in MB of the command, and its output."""
    start = time.perf_counter()
    done = subprocess.run(FLASK + args, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    peak_kb = int(done.stderr.rsplit("MAXRSS_KB", 1)[1].split()[0])
    return seconds, peak_kb // 1024, done.stdout


@contextmanager
def demo_database(database: str) -> Iterator[tuple[dict[str, str], Path]]:
    """(the environment of a flask command on a fresh database with the demo's 600
    employees, a temporary folder), the database dropped afterwards."""
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
        for step in (
            ["db", "upgrade"],
            ["catalog", "sync"],
            ["demo", "seed", "--employees", "600", "--password", DEMO_PASSWORD],
        ):
            run(step, env)
        yield env, workdir
    finally:
        if scratch:
            subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"drop database {scratch}"],
                check=False,
            )

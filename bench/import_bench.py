"""Import benchmark: time and peak memory of ``flask employees import`` for an HR export.

    .venv/bin/python bench/import_bench.py [--rows 20000] [--database sqlite|postgresql]

Builds a fresh database (SQLite in a temporary folder, or a scratch PostgreSQL database on
127.0.0.1 that is dropped afterwards), migrates it, syncs the catalogue and seeds the demo
(600 employees, rules for every sector), writes a synthetic export of ``--rows`` employees
(bench/hr_export.py) and imports it twice in a child process: first everything is new (units
created, assignments computed, welcome mails queued), then the same file again (nothing
changes). Prints wall time and the child's peak RSS for each run, with the machine."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import hr_export  # noqa: E402

# flask, reporting its own peak RSS on exit (RUSAGE_CHILDREN would mix all children).
FLASK = [
    sys.executable,
    "-c",
    "import atexit, resource, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "f'\\nMAXRSS_KB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n'))\n"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="tt-bench-"))
    env = {**os.environ, "TRAINING_TRACKER_ENV": "development", "MAIL_BACKEND": "console"}
    scratch = None
    if args.database == "postgresql":
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
            ["demo", "seed", "--employees", "600", "--password", "kanelbulle-med-kardemumma"],
        ):
            run(step, env)
        export = workdir / "personal.csv"
        hr_export.write(export, args.rows)
        print(f"machine: {machine()}")
        size_mb = export.stat().st_size / 1e6
        print(f"database: {args.database}; file: {args.rows:,} rows, {size_mb:.1f} MB")
        for label in ("first import (all new)", "same file again (no change)"):
            seconds, peak_mb, output = run(
                ["employees", "import", str(export), "--create-units"], env
            )
            summary = output.splitlines()[0] if output else ""
            print(f"{label}: {seconds:.1f} s wall, peak RSS {peak_mb} MB — {summary}")
    finally:
        if scratch:
            subprocess.run(
                ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"drop database {scratch}"],
                check=False,
            )


if __name__ == "__main__":
    main()

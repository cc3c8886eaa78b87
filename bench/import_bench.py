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
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import hr_export  # noqa: E402
from bench.common import demo_database, machine, run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    with demo_database(args.database) as (env, workdir):
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


if __name__ == "__main__":
    main()

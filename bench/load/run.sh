#!/usr/bin/env bash
# The load test (bench/load/run.py: its options follow): makes the benchmark venv
# .venv-bench (BENCH_VENV to put it elsewhere) from requirements-bench.txt when that file
# changed, then runs the test with it. The test suite's .venv is not touched.
#   bench/load/run.sh                         # SQLite, 17,000 employees, 50 users, 75 s
#   bench/load/run.sh --database postgresql   # a scratch database on 127.0.0.1, dropped after
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

venv="${BENCH_VENV:-.venv-bench}"
python_bin="$(command -v python3.11 || command -v python3 || true)"
if [ -z "$python_bin" ]; then
  echo "Python 3.11 or newer is needed (python3.11 or python3 on PATH)." >&2
  exit 1
fi
"$python_bin" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "Python 3.11 or newer is needed; $python_bin is $("$python_bin" --version)." >&2
  exit 1
}
if [ ! -x "$venv/bin/python" ]; then
  echo "==> Creating $venv with $("$python_bin" --version)" >&2
  "$python_bin" -m venv "$venv"
fi
stamp="$venv/.installed-$(cat requirements.txt requirements-bench.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "==> Installing requirements-bench.txt into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r requirements-bench.txt
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi
exec "$venv/bin/python" bench/load/run.py "$@"

#!/usr/bin/env bash
# Set up and run the whole test suite: ruff and mypy, then pytest on SQLite and on PostgreSQL
# (a fresh database on 127.0.0.1:5432, user postgres), browser tests included.
# With CI=true neither leg and no test may be skipped.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh requirements-dev.txt || exit 1

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> Installing Debian's chromium for the browser tests"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
      >/tmp/chromium-install.log 2>&1 || { cat /tmp/chromium-install.log; exit 1; }
  else
    echo "chromium is missing: sudo apt-get install chromium (browser tests need it)" >&2
    [ "${CI:-}" = "true" ] && exit 1
  fi
fi

echo "==> ruff"
.venv/bin/ruff check . || exit 1
.venv/bin/ruff format --check . || exit 1

echo "==> mypy"
.venv/bin/mypy || exit 1

# The two legs run side by side (each prefixes its lines with its name), which keeps CI well
# under its 15 minutes; each leg's full log is kept in .test-logs/.
mkdir -p .test-logs
status=0
summary=()
run_leg() {
  local name="$1" log=".test-logs/$1.log"
  shift
  echo "==> pytest on $name (log: $log)"
  # A hanging test fails on its own after pytest-timeout's limit (pyproject.toml); this bound on
  # the whole leg is the backstop for a hang that no signal can interrupt.
  timeout --kill-after=60 "$leg_limit" env "$@" .venv/bin/python -m pytest -p no:cacheprovider -q \
    >"$log" 2>&1
  local code=$?
  [ $code -eq 124 ] && echo "the $name leg did not finish within $leg_limit s: stopped" >>"$log"
  return $code
}
leg_limit="${TEST_LEG_TIMEOUT_SECONDS:-1800}"

pids=()
legs=()
run_leg SQLite TEST_DATABASE_URL= &
pids+=($!)
legs+=(SQLite)

pg_host="${PGHOST_FOR_TESTS:-127.0.0.1}"
pg_db=""
if .venv/bin/python -c "import psycopg; psycopg.connect('host=$pg_host port=5432 user=postgres dbname=postgres', connect_timeout=3).close()" 2>/dev/null; then
  pg_db="tt_test_$(date +%s)_$$"
  .venv/bin/python - "$pg_host" "$pg_db" <<'PY'
import sys, psycopg
with psycopg.connect(f"host={sys.argv[1]} user=postgres dbname=postgres", autocommit=True) as c:
    c.execute(f'CREATE DATABASE "{sys.argv[2]}"')
PY
  run_leg PostgreSQL "TEST_DATABASE_URL=postgresql://postgres@$pg_host:5432/$pg_db" &
  pids+=($!)
  legs+=(PostgreSQL)
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is not reachable on $pg_host:5432; CI runs both legs, so this fails." >&2
  summary+=("PostgreSQL: NOT RUN (unreachable)")
  status=1
else
  summary+=("PostgreSQL: not run - no server on $pg_host:5432 (SQLite leg only)")
fi

for i in "${!pids[@]}"; do
  name="${legs[$i]}"
  if wait "${pids[$i]}"; then
    result="passed"
  else
    result="FAILED"
    status=1
  fi
  echo
  echo "==> pytest on $name: $result"
  cat ".test-logs/$name.log"
  summary+=("$name: $result ($(tail -n 1 ".test-logs/$name.log" | tr -d '='))")
done

if [ -n "$pg_db" ]; then
  .venv/bin/python - "$pg_host" "$pg_db" <<'PY'
import sys, psycopg
with psycopg.connect(f"host={sys.argv[1]} user=postgres dbname=postgres", autocommit=True) as c:
    c.execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}" WITH (FORCE)')
PY
fi

echo
echo "==> Summary"
printf '  %s\n' "${summary[@]}"
exit $status

#!/usr/bin/env bash
# Set up and run the whole test suite: ruff, then pytest on SQLite and on PostgreSQL (a fresh
# database on 127.0.0.1:5432, user postgres), browser tests included, with mypy beside it.
# With CI=true neither leg and no test may be skipped.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Every process of the run (the two pytest workers, and the flask commands, gunicorn workers
# and bench runs the tests start) reuses the bytecode the first one wrote, instead of
# compiling the app again (about 0.2 s of CPU each) and pytest rewriting every test file's
# assertions again in each worker: a PYTHONDONTWRITEBYTECODE of the caller's shell is dropped.
unset PYTHONDONTWRITEBYTECODE
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

setup_seconds=$SECONDS  # bash's clock since the script started: what the set-up took
echo "==> ruff"
.venv/bin/ruff check . || exit 1
.venv/bin/ruff format --check . || exit 1

# Two workers, one per core, run both legs (SQLite and PostgreSQL): each leg's test files are
# a queue that pytest processes share (tests/file_queue.py), each process on a database of its
# own. Worker 1 starts on SQLite, worker 2 on PostgreSQL; a worker whose queue runs out joins the
# other leg's queue, so neither core idles while the longer leg finishes (a third process
# beside the two only saturated the cores: 14:03 against 12:38). Every log is in .test-logs/.
mkdir -p .test-logs
rm -rf .test-logs/queues .test-logs/*.log
status=0
summary=()

# mypy (20 s on a clean clone, which has no cache) runs beside the tests instead of before
# them; its verdict is read, and fails the run, once they end.
echo "==> mypy (beside the tests; log: .test-logs/mypy.log)"
.venv/bin/mypy >.test-logs/mypy.log 2>&1 &
mypy_pid=$!
trap 'kill "$mypy_pid" 2>/dev/null' EXIT  # a run that stops early leaves no mypy behind
leg_limit="${TEST_LEG_TIMEOUT_SECONDS:-1800}"

run_part() {  # LOG_NAME QUEUE DATABASE_URL
  local log=".test-logs/$1.log" queue=".test-logs/queues/$2"
  echo "==> pytest: $1 (log: $log)"
  # A hanging test fails on its own after pytest-timeout's limit (pyproject.toml); this bound on
  # the whole process is the backstop for a hang that no signal can interrupt.
  timeout --kill-after=60 "$leg_limit" env TEST_DATABASE_URL="$3" \
    .venv/bin/python -m pytest -p no:cacheprovider -q -p tests.file_queue --file-queue="$queue" \
    >"$log" 2>&1
  local code=$?
  [ $code -eq 124 ] && echo "$1 did not finish within $leg_limit s: stopped" >>"$log"
  return $code
}

create_pg_database() {
  .venv/bin/python - "$pg_host" "$1" <<'PY'
import sys, psycopg
with psycopg.connect(f"host={sys.argv[1]} user=postgres dbname=postgres", autocommit=True) as c:
    c.execute(f'CREATE DATABASE "{sys.argv[2]}"')
PY
}

pg_host="${PGHOST_FOR_TESTS:-127.0.0.1}"
pg_dbs=()
legs=(SQLite)
if .venv/bin/python -c "import psycopg; psycopg.connect('host=$pg_host port=5432 user=postgres dbname=postgres', connect_timeout=3).close()" 2>/dev/null; then
  for worker in 1 2; do
    pg_dbs+=("tt_test_$(date +%s)_$$_$worker")
    create_pg_database "${pg_dbs[-1]}" || exit 1
  done
  legs+=(PostgreSQL)
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is not reachable on $pg_host:5432; CI runs both legs, so this fails." >&2
  summary+=("PostgreSQL: NOT RUN (unreachable)")
  status=1
else
  summary+=("PostgreSQL: not run - no server on $pg_host:5432 (SQLite leg only)")
fi
pg_url() { echo "postgresql://postgres@$pg_host:5432/${pg_dbs[$(($1 - 1))]}"; }

# Each process's exit code is kept in .test-logs/queues/<leg>/exit.<log name>.
worker_run() {  # WORKER LEG
  local name="$2-$1" url=""
  [ "$2" = PostgreSQL ] && url="$(pg_url "$1")"
  mkdir -p ".test-logs/queues/$2"
  # Once every file of the leg is taken, a process would only start up and stop.
  [ -e ".test-logs/queues/$2/exhausted" ] && return
  run_part "$name" "$2" "$url"
  echo $? >".test-logs/queues/$2/exit.$name"
}
if [ ${#legs[@]} -eq 2 ]; then
  { worker_run 1 SQLite; worker_run 1 PostgreSQL; } &
  worker_pids=($!)
  { worker_run 2 PostgreSQL; worker_run 2 SQLite; } &
  worker_pids+=($!)
else
  worker_run 1 SQLite &
  worker_pids=($!)
  worker_run 2 SQLite &
  worker_pids+=($!)
fi
wait "${worker_pids[@]}"

echo
echo "==> mypy"
cat .test-logs/mypy.log
if wait "$mypy_pid"; then
  summary+=("mypy: passed")
else
  summary+=("mypy: FAILED")
  status=1
fi

for leg in "${legs[@]}"; do
  queue=".test-logs/queues/$leg"
  result="passed"
  for exit_file in "$queue"/exit.*; do
    name="${exit_file##*/exit.}"
    echo
    echo "==> pytest: $name (exit code $(cat "$exit_file"))"
    cat ".test-logs/$name.log"
    [ "$(cat "$exit_file")" = 0 ] || result="FAILED"
  done
  # Together the leg's processes ran each collected test once: a file no process claimed, or a
  # process that stopped early, fails the leg even if every test that ran passed.
  collected="$(cat "$queue/collected" 2>/dev/null || echo '?')"
  ran=$(cat "$queue"/ran/* 2>/dev/null | awk '{ total += $1 } END { print total + 0 }')
  if [ "$ran" != "$collected" ]; then
    result="FAILED"
    echo "the $leg leg ran $ran of its $collected tests" >&2
  fi
  [ "$result" = passed ] || status=1
  outcomes=$(for log in ".test-logs/$leg"-*.log; do tail -n 1 "$log" | tr -d '='; done | paste -sd ';')
  summary+=("$leg: $result, $ran of $collected tests ran (${outcomes# })")
done

for pg_db in "${pg_dbs[@]}"; do
  .venv/bin/python - "$pg_host" "$pg_db" <<'PY'
import sys, psycopg
with psycopg.connect(f"host={sys.argv[1]} user=postgres dbname=postgres", autocommit=True) as c:
    c.execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}" WITH (FORCE)')
PY
done

summary+=("time: set-up ${setup_seconds} s, the whole run ${SECONDS} s")

echo
echo "==> Summary"
printf '  %s\n' "${summary[@]}"
exit $status

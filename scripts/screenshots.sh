#!/usr/bin/env bash
# Screenshots of the whole product: a fresh demo (SQLite, in a temporary instance folder) is
# served on a free port; scripts/screenshots.py signs in as each demo role and writes a PNG of
# every page the role can reach, at 1280 and 390 px, into the folder (default screenshots/).
#   scripts/screenshots.sh [--role ROLE …] [--screen PATH …] [FOLDER]
# DEMO_EMPLOYEES (default 150, the smallest demo) sets the demo's size. Needs Debian's chromium (/usr/bin/chromium).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The folder may come first or last: the one argument that is neither an option nor its value.
out="screenshots"
options=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --role | --screen) options+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --*) options+=("$1"); shift ;;
    *) out="$1"; shift ;;
  esac
done
[[ -x .venv/bin/flask ]] || scripts/setup.sh requirements-dev.txt

work="$(mktemp -d -t tt-screenshots-XXXXXX)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

export TRAINING_TRACKER_ENV=development
export DATABASE_URL="sqlite:///$work/demo.sqlite"
export UPLOAD_FOLDER="$work/uploads"
export MAIL_FILE_FOLDER="$work/mail"
port="$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export BASE_URL="http://127.0.0.1:$port"
flask=".venv/bin/flask --app wsgi"
password="shots-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(9))')"

failed() { echo "setting up the demo failed:" >&2; cat "$work/setup.log" >&2; exit 1; }
$flask db upgrade >"$work/setup.log" 2>&1 || failed
$flask catalog sync >>"$work/setup.log" 2>&1 || failed
$flask demo seed --employees "${DEMO_EMPLOYEES:-150}" --password "$password" \
  >"$work/accounts.tsv" 2>>"$work/setup.log" || failed

$flask run --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  if .venv/bin/python -c "import urllib.request, sys; urllib.request.urlopen('$BASE_URL/healthz', timeout=1)" 2>/dev/null; then break; fi
  sleep 0.2
done

.venv/bin/python scripts/screenshots.py --base-url "$BASE_URL" --accounts "$work/accounts.tsv" \
  --password "$password" --out "$out" "${options[@]}"

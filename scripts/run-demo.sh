#!/usr/bin/env bash
# Set everything up and run the app with fresh demo data on SQLite at http://127.0.0.1:5000.
# The demo database is instance/demo.sqlite and is made anew at every start.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh requirements.txt

export TRAINING_TRACKER_ENV=development
export DATABASE_URL="${DATABASE_URL:-sqlite:///$PWD/instance/demo.sqlite}"
export BASE_URL="${BASE_URL:-http://127.0.0.1:5000}"
flask=".venv/bin/flask --app wsgi"

if [[ "$DATABASE_URL" == sqlite:///*/instance/demo.sqlite ]]; then
  rm -f instance/demo.sqlite instance/demo.sqlite-wal instance/demo.sqlite-shm
fi
mkdir -p instance
$flask db upgrade
$flask catalog sync
password="${DEMO_PASSWORD:-$(.venv/bin/python -c 'import secrets; print("demo-" + secrets.token_urlsafe(9))')}"
echo
echo "Demo accounts (password: $password)"
$flask demo seed --employees "${DEMO_EMPLOYEES:-600}" --password "$password"
echo
echo "Open http://127.0.0.1:5000 and sign in with one of the accounts above. Ctrl+C stops."
exec $flask run --host 127.0.0.1 --port 5000

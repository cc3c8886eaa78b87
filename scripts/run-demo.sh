#!/usr/bin/env bash
# Set everything up and run the app with fresh demo data on SQLite at http://127.0.0.1:5000,
# with the scheduler beside it (its log: instance/scheduler.log).
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

# Sign-in through the municipality (issue #18): a TEST identity provider on port 5001 for
# Järfälla and Sigtuna, registered like a real one. Its page signs in whichever of the
# municipality's people is picked, without a password: it is for the demo only.
export DEMO_SSO_SECRET="${DEMO_SSO_SECRET:-$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(24))')}"
for pair in "Järfälla:jarfalla" "Sigtuna:sigtuna"; do
  name="${pair%%:*}"
  slug="${pair##*:}"
  $flask sso add-oidc --municipality "$name" --issuer "http://127.0.0.1:5001/$slug" \
    --client-id demo --client-secret-env DEMO_SSO_SECRET --domain "$slug.demo.example" \
    --label "$name kommun (testinloggning)" >/dev/null
done
PYTHONUNBUFFERED=1 $flask demo test-provider --port 5001 >instance/test-provider.log 2>&1 &
provider_pid=$!

# The scheduler (reminders, digests, the outbox) runs beside the server as its own process,
# as in production, and stops with it.
PYTHONUNBUFFERED=1 $flask scheduler >instance/scheduler.log 2>&1 &
scheduler_pid=$!
trap 'kill "$scheduler_pid" "$provider_pid" 2>/dev/null; wait "$scheduler_pid" "$provider_pid" 2>/dev/null || true' EXIT
echo
echo "The scheduler runs beside the server (process $scheduler_pid): reminders at"
echo "${REMINDER_PLAN_TIME:-05:30}, the outbox every minute. Its log, with the mails it sends:"
echo "instance/scheduler.log."
echo "A TEST identity provider (no password: it signs in whoever you pick) serves Järfälla and"
echo "Sigtuna on http://127.0.0.1:5001: click \"Logga in med Järfälla kommun (testinloggning)\"."
echo "Open http://127.0.0.1:5000 and sign in with one of the accounts above. Ctrl+C stops all."
$flask run --host 127.0.0.1 --port 5000

#!/usr/bin/env bash
# Create .venv with Python 3.11+, install the pinned requirements when they changed, and
# compile the translations. Sourced by run-demo.sh and test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

requirements="${1:-requirements.txt}"
python_bin="$(command -v python3.11 || command -v python3 || true)"
if [ -z "$python_bin" ]; then
  echo "Python 3.11 or newer is needed (python3.11 or python3 on PATH)." >&2
  exit 1
fi
"$python_bin" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
  echo "Python 3.11 or newer is needed; $python_bin is $("$python_bin" --version)." >&2
  exit 1
}
# SAML 2.0 sign-in checks signatures with the xmlsec1 program (pysaml2 calls it): Debian's
# package xmlsec1.
if ! command -v xmlsec1 >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> Installing Debian's xmlsec1 (SAML signatures)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1; } \
      >/tmp/xmlsec1-install.log 2>&1 || { cat /tmp/xmlsec1-install.log; exit 1; }
  else
    echo "xmlsec1 is missing: sudo apt-get install xmlsec1 (SAML sign-in needs it)" >&2
  fi
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> Creating .venv with $("$python_bin" --version)"
  "$python_bin" -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements.txt "$requirements" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "==> Installing $requirements"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$requirements"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# Untranslated strings fall back to the Swedish original; tests/test_i18n.py keeps English complete.
.venv/bin/pybabel compile --statistics -d training_tracker/translations 2>&1 | grep -v "^compiling" || true

#!/usr/bin/env bash
# Installs the Python OpAMP client (opentelemetry-opamp-client, pinned below) into a project-local
# virtual environment: ${OPAMP_COMMANDER_CACHE_DIR:-<repo>/.cache}/venv-opamp-python.
# stdout: only the venv's python path (last line). Progress goes to stderr.
# Exit 3: no python3 or no venv module (callers skip visibly); other non-zero: install failed.
set -euo pipefail

# The newest release the package index serves (pip index versions --pre opentelemetry-opamp-client).
OPAMP_PYTHON_VERSION="0.5b0"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${OPAMP_COMMANDER_CACHE_DIR:-$repo/.cache}"
venv="$cache/venv-opamp-python"
stamp="$venv/.opamp-client-$OPAMP_PYTHON_VERSION"

py="${PYTHON:-python3}"
if ! command -v "$py" >/dev/null 2>&1; then
  echo "python-opamp: no python3 on PATH" >&2
  exit 3
fi
if ! "$py" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 10) else 1)' >/dev/null 2>&1; then
  echo "python-opamp: $("$py" --version 2>&1) lacks venv/ensurepip or is older than 3.10" >&2
  exit 3
fi
mkdir -p "$cache"

# Parallel callers: one installs, the others wait.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/.venv-opamp-python.lock"
  flock 9
fi

if [ ! -f "$stamp" ] || [ ! -x "$venv/bin/python" ]; then
  echo "python-opamp: installing opentelemetry-opamp-client==$OPAMP_PYTHON_VERSION into $venv" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv" >&2
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q \
    "opentelemetry-opamp-client==$OPAMP_PYTHON_VERSION" >"$log" 2>&1; then
    cat "$log" >&2
    rm -rf "$venv"
    echo "python-opamp: install failed" >&2
    exit 1
  fi
  touch "$stamp"
else
  echo "python-opamp: up to date ($venv)" >&2
fi
echo "$venv/bin/python"

#!/usr/bin/env bash
# Installs schemathesis (the REST fuzzer of test/rest-fuzz.e2e-spec.ts) into a project-local virtual
# environment: $OPAMP_COMMANDER_CACHE_DIR/venv-schemathesis, else .cache/venv-schemathesis. Pinned, so that
# every machine fuzzes with the same checks; re-running with the pinned version in place does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=4.32.5
cache="${OPAMP_COMMANDER_CACHE_DIR:-$PWD/.cache}"
venv="$cache/venv-schemathesis"
st="$venv/bin/schemathesis"
if [ -x "$st" ] && "$venv/bin/python" -m pip show schemathesis 2>/dev/null | grep -qx "Version: $VERSION"; then
  echo "schemathesis $VERSION already in $venv"
  exit 0
fi
python=$(command -v python3 || true)
if [ -z "$python" ]; then
  echo "install-schemathesis: python3 (3.9 or later, with the venv module) is needed" >&2
  exit 1
fi
mkdir -p "$cache"
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$VERSION"
"$st" --version
echo "schemathesis $VERSION installed in $venv"

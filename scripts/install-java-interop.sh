#!/usr/bin/env bash
# Builds the Java interop agent (test/interop/java-agent: the OpenTelemetry Java contrib OpAMP
# client, pinned in its pom.xml) with Maven into ${OPAMP_COMMANDER_CACHE_DIR:-<repo>/.cache}/interop/java-agent/<hash>,
# where <hash> covers the pom and the sources: built once, reused until they change.
# Installs Maven from Debian's packages when java is present but mvn is not (and we are root).
# stdout: only the classpath to run it with (last line). Progress goes to stderr.
# Exit 3: no Java 17+ (callers skip visibly); other non-zero: build failed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$repo/test/interop/java-agent"
cache="${OPAMP_COMMANDER_CACHE_DIR:-$repo/.cache}/interop/java-agent"

if ! command -v java >/dev/null 2>&1 || ! command -v javac >/dev/null 2>&1; then
  echo "java-interop: no JDK (java + javac) on PATH" >&2
  exit 3
fi
major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
if [ "${major%%.*}" -lt 17 ] 2>/dev/null; then
  echo "java-interop: Java $major found, 17 or newer needed" >&2
  exit 3
fi
if ! command -v mvn >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "java-interop: installing Maven (apt-get install maven)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven; } >&2
  else
    echo "java-interop: no mvn on PATH (and cannot install it here)" >&2
    exit 3
  fi
fi

hash="$( (cat "$src/pom.xml"; find "$src/src" -type f -name '*.java' | LC_ALL=C sort | xargs cat) | sha256sum | cut -c1-16)"
out="$cache/$hash"
mkdir -p "$cache"

# Parallel callers: one builds, the others wait.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache/.lock"
  flock 9
fi

if [ ! -f "$out/.built" ]; then
  echo "java-interop: building $out (first build downloads the client and Maven plugins)" >&2
  rm -rf "$out"
  log="$(mktemp)"
  trap 'rm -f "$log"' EXIT
  # One thread, no tests: the machine is shared.
  if ! (cd "$src" && mvn -B -q -T 1 -Dinterop.buildDir="$out" package) >"$log" 2>&1; then
    cat "$log" >&2
    rm -rf "$out"
    echo "java-interop: build failed" >&2
    exit 1
  fi
  touch "$out/.built"
  # Older builds of other sources are of no further use.
  find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$hash" -exec rm -rf {} +
else
  echo "java-interop: up to date ($out)" >&2
fi
echo "$out/classes:$out/lib/*"

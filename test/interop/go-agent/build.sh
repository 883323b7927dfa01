#!/usr/bin/env bash
# Builds the opamp-go interop agent into <repo>/.cache/interop/go-agent.
# stdout: only the binary's absolute path (last line). Progress goes to stderr.
# Exit 3: no Go toolchain (callers may skip visibly); other non-zero: build failed.
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$src/../../.." && pwd)"
outdir="$repo/.cache/interop"
out="$outdir/go-agent"

if ! command -v go >/dev/null 2>&1; then
  echo "go-agent: no Go toolchain on PATH, cannot build the interop agent" >&2
  exit 3
fi
mkdir -p "$outdir"

# Parallel test workers may call this at once: one builds, the others wait.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$outdir/.go-agent.lock"
  flock 9
fi

# Up to date when no source (tests excluded) is newer than the binary.
stale() {
  [ -x "$out" ] || return 0
  [ -n "$(find "$src" -maxdepth 1 \( -name '*.go' ! -name '*_test.go' -o -name go.mod -o -name go.sum \) \
    -newer "$out" -print -quit)" ]
}

if stale; then
  echo "go-agent: building $out (go $(go env GOVERSION); first build fetches modules, ~30 s)" >&2
  tmp="$out.tmp.$$"
  log="$out.log.$$"
  trap 'rm -f "$tmp" "$log"' EXIT
  # Go's own build cache (GOCACHE) makes rebuilds fast; -mod=readonly keeps go.sum authoritative.
  # go's chatter ("go: downloading ...") is shown only when the build fails.
  if ! (cd "$src" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -o "$tmp" .) >"$log" 2>&1; then
    cat "$log" >&2
    echo "go-agent: build failed" >&2
    exit 1
  fi
  mv -f "$tmp" "$out" # atomic: a concurrent reader never sees half a binary
else
  echo "go-agent: up to date ($out)" >&2
fi
echo "$out"

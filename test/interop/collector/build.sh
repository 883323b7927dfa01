#!/usr/bin/env bash
# Builds, from the Go module proxy, the interop Collector (OpenTelemetry Collector Builder: opamp and
# health_check extensions, OTLP receiver, debug exporter; plus the nop receiver and exporter, which the
# supervisor's fallback "noop pipeline" needs, see below) and the contrib opampsupervisor, at the
# versions pinned in versions.env, into <repo>/.cache/interop/collector/<versions>/.
# A later run with the same versions finds both binaries and returns in well under a second.
#
# stdout: two lines, `collector=<path>` and `supervisor=<path>` (absolute). Progress goes to stderr.
# Exit 3: no Go toolchain (callers skip visibly); any other non-zero: the build failed.
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$src/../../.." && pwd)"
# shellcheck source=versions.env
. "$src/versions.env"
recipe=3 # bump when this script changes what it builds, to invalidate the cache

if ! command -v go >/dev/null 2>&1; then
  echo "collector-interop: no Go toolchain on PATH, cannot build the Collector and the supervisor" >&2
  exit 3
fi

key="builder-${OTELCOL_BUILDER_VERSION}_core-${OTELCOL_CORE_VERSION}_contrib-${OTELCOL_CONTRIB_VERSION}_supervisor-${OPAMP_SUPERVISOR_VERSION}_r${recipe}"
root="$repo/.cache/interop/collector"
out="$root/$key"
collector="$out/otelcol-interop"
supervisor="$out/opampsupervisor"
mkdir -p "$out"

# Parallel callers: one builds, the others wait and then find the binaries.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$root/.build.lock"
  flock 9
fi

log() { echo "collector-interop: $*" >&2; }
t0=$(date +%s)
# Go's chatter is kept in a log and shown only when a step fails.
run() {
  local what="$1"; shift
  local logf="$out/.$what.log"
  log "$what ..."
  local s; s=$(date +%s)
  if ! "$@" >"$logf" 2>&1; then
    tail -n 60 "$logf" >&2
    log "$what failed (full log: $logf)"
    exit 1
  fi
  log "$what done in $(( $(date +%s) - s )) s"
}
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false" GOTOOLCHAIN=local

if [ ! -x "$collector" ]; then
  log "building the Collector $OTELCOL_CORE_VERSION (contrib $OTELCOL_CONTRIB_VERSION) with the builder $OTELCOL_BUILDER_VERSION; first time: many minutes on 2 cores"
  work="$out/collector-src"
  rm -rf "$work"
  mkdir -p "$work"
  run builder-install env GOBIN="$out/tools" go install "go.opentelemetry.io/collector/cmd/builder@${OTELCOL_BUILDER_VERSION}"
  # nop receiver/exporter: before the first remote config (and after an empty one) the supervisor
  # runs the Collector on a "noop pipeline" unless it detected the feature gate service.AllowNoPipelines
  # by running `otelcol featuregate`. That detection is racy in v0.149.0 (its one-shot runner can lose
  # the output: "Error reading agent stdout ... file already closed"), and then the Collector must
  # know the nop components or it cannot even bootstrap.
  cat >"$work/manifest.yaml" <<YAML
dist:
  name: otelcol-interop
  description: OpAMP Commander interop Collector (test tooling)
  module: github.com/opamp-commander/interop/otelcol-interop
  version: ${OTELCOL_CORE_VERSION#v}-interop
  output_path: $work/build
extensions:
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/extension/opampextension ${OTELCOL_CONTRIB_VERSION}
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension ${OTELCOL_CONTRIB_VERSION}
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver ${OTELCOL_CORE_VERSION}
  - gomod: go.opentelemetry.io/collector/receiver/nopreceiver ${OTELCOL_CORE_VERSION}
exporters:
  - gomod: go.opentelemetry.io/collector/exporter/debugexporter ${OTELCOL_CORE_VERSION}
  - gomod: go.opentelemetry.io/collector/exporter/nopexporter ${OTELCOL_CORE_VERSION}
  - gomod: go.opentelemetry.io/collector/exporter/otlphttpexporter ${OTELCOL_CORE_VERSION}
YAML
  run collector-build "$out/tools/builder" --config "$work/manifest.yaml"
  mv -f "$work/build/otelcol-interop" "$collector.tmp"
  mv -f "$collector.tmp" "$collector"
  rm -rf "$work"
else
  log "Collector up to date ($collector)"
fi

if [ ! -x "$supervisor" ]; then
  log "building opampsupervisor $OPAMP_SUPERVISOR_VERSION"
  mod="github.com/open-telemetry/opentelemetry-collector-contrib/cmd/opampsupervisor"
  # The module's go.mod replaces its contrib siblings with paths inside the contrib repository, so
  # `go install mod@version` refuses it: copy its source, drop the replaces (the pinned versions of
  # those siblings then come from the proxy) and build it as a main module.
  run supervisor-download go mod download "$mod@$OPAMP_SUPERVISOR_VERSION"
  dir="$(go mod download -json "$mod@$OPAMP_SUPERVISOR_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  work="$out/supervisor-src"
  rm -rf "$work"
  cp -r "$dir" "$work"
  chmod -R u+w "$work"
  drops=$(cd "$work" && go mod edit -json | awk '/"Old": \{/ {old=1; next} old && /"Path":/ {gsub(/[",]/, "", $2); print "-dropreplace=" $2; old=0}')
  [ -n "$drops" ] && (cd "$work" && go mod edit $drops)
  if (cd "$work" && go mod edit -json) | grep -q '"Replace": \[$'; then log "could not drop the replace directives"; exit 1; fi
  run supervisor-build sh -c "cd '$work' && go build -mod=mod -trimpath -ldflags='-s -w' -o '$supervisor.tmp' ."
  mv -f "$supervisor.tmp" "$supervisor"
  rm -rf "$work"
else
  log "opampsupervisor up to date ($supervisor)"
fi

cp -f "$src/versions.env" "$out/versions.env"
# Builds of other versions are dead weight (about 60 MB each).
find "$root" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
log "ready in $(( $(date +%s) - t0 )) s"
echo "collector=$collector"
echo "supervisor=$supervisor"

#!/usr/bin/env bash
# Prints the path of a Helm 3 binary on its last stdout line.
# Uses `helm` from PATH when it is v3; otherwise builds the pinned version once with the Go
# toolchain into <repo>/.cache/tools/bin and reuses it afterwards. Progress goes to stderr.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
HELM_MODULE="helm.sh/helm/v3/cmd/helm"

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/../.." && pwd)"
tools_bin="${repo_root}/.cache/tools/bin"

log() { printf 'ensure-helm: %s\n' "$*" >&2; }

is_helm_v3() {
  local version
  version="$("$1" version --template '{{.Version}}' 2>/dev/null || true)"
  [[ "${version}" == v3.* ]]
}

if command -v helm >/dev/null 2>&1 && is_helm_v3 "$(command -v helm)"; then
  command -v helm
  exit 0
fi

cached="${tools_bin}/helm"
stamp="${tools_bin}/.helm-version"
# Bumped when the way the binary is built changes, so an older build is replaced.
build_id="${HELM_VERSION} build-2"
if [[ -x "${cached}" ]] && is_helm_v3 "${cached}" \
  && [[ "$(cat "${stamp}" 2>/dev/null || true)" == "${build_id}" ]]; then
  printf '%s\n' "${cached}"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  if [[ -x "${cached}" ]] && is_helm_v3 "${cached}"; then
    log "no Go toolchain to build ${HELM_VERSION}; using the Helm already in ${tools_bin}"
    printf '%s\n' "${cached}"
    exit 0
  fi
  log "no Helm 3 on PATH and no Go toolchain to build ${HELM_VERSION} with"
  exit 1
fi

mkdir -p "${tools_bin}"
log "building Helm ${HELM_VERSION} with $(go version) into ${tools_bin} (takes a few minutes the first time)"
start=$(date +%s)
# A lock keeps two concurrent callers (parallel test workers) from building at once.
exec 9>"${tools_bin}/.helm-build.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [[ -x "${cached}" ]] && is_helm_v3 "${cached}" \
  && [[ "$(cat "${stamp}" 2>/dev/null || true)" == "${build_id}" ]]; then
  printf '%s\n' "${cached}"
  exit 0
fi

# Stamp the version and the Kubernetes minor version the way Helm's own Makefile does; without
# these `helm version` says "v3.22" and `helm template` assumes Kubernetes v1.20.
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
gomod="$(cd / && go mod download -json "helm.sh/helm/v3@${HELM_VERSION}" 2>/dev/null \
  | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p' | head -n 1 || true)"
if [[ -n "${gomod}" && -f "${gomod}" ]]; then
  k8s_minor="$(sed -n 's/^[[:space:]]*k8s\.io\/client-go v0\.\([0-9][0-9]*\)\..*/\1/p' "${gomod}" | head -n 1)"
  if [[ -n "${k8s_minor}" ]]; then
    for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
      ldflags+=" -X ${pkg}.k8sVersionMajor=1 -X ${pkg}.k8sVersionMinor=${k8s_minor}"
    done
  fi
fi
GOBIN="${tools_bin}" GOFLAGS="${GOFLAGS:-} -trimpath" CGO_ENABLED=0 \
  go install -ldflags "${ldflags}" "${HELM_MODULE}@${HELM_VERSION}" 1>&2
printf '%s\n' "${build_id}" >"${stamp}"
log "built $("${cached}" version --short 2>/dev/null) in $(( $(date +%s) - start ))s"
printf '%s\n' "${cached}"

#!/usr/bin/env bash
# Installs nats-server (the event bus between replicas, used by the scale-out tests) from Debian's
# packages when it is missing. Idempotent; needs root (CI runs as root).
set -euo pipefail
if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; then
  echo "nats-server: $(nats-server --version 2>/dev/null || /usr/sbin/nats-server --version)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq nats-server >/dev/null
# The package starts a system service; the tests run their own servers on free ports.
(systemctl disable --now nats-server >/dev/null 2>&1 || service nats-server stop >/dev/null 2>&1) || true
echo "nats-server: $(nats-server --version)"

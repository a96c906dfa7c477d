#!/bin/bash
# setup.sh -- everything hvagent needs on a fresh Debian 12 host, as root, with or without
# systemd: hypervisor packages, libvirtd started (by hand where there is no systemd),
# Node dependencies, the built agent, the directories of the configured pools and of the
# template catalogue; then the agent's main job on its default connection.
#
#   scripts/setup.sh            install, start, build, then `agent/hvagent host info`
#   scripts/setup.sh --no-run   the same without the final call
#   HVAGENT_TEST_DEPS=1         also install what the test suite drives (MCollective fleet,
#                               the tools that build the Debian cloud image)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[setup] $*"; }

command -v node >/dev/null || { echo "[setup] ERROR: Node.js 20 is required" >&2; exit 1; }
scripts/libvirt-setup.sh install start
if [ "${HVAGENT_TEST_DEPS:-0}" = 1 ]; then test/fleet/fleet.sh install; scripts/cloud-image.sh install; fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
node scripts/build.mjs
log "agent built: $(agent/hvagent --version)"
scripts/prepare-host.sh
if [ "${HVAGENT_START_SERVER:-0}" = 1 ]; then scripts/start-server.sh; fi
if [ "${1:-}" != --no-run ]; then agent/hvagent host info; fi

#!/bin/bash
# setup.sh -- everything hvagent needs on a fresh Debian 12 host, as root, with or without
# systemd: Node.js (Debian's own nodejs 18 and npm where there is none: node-setup.sh),
# hypervisor packages, libvirtd started (by hand where there is no systemd), Node
# dependencies, the built agent, the directories of the configured pools and of the
# template catalogue; then the agent's main job on its default connection.
#
#   scripts/setup.sh            install, start, build, then `agent/hvagent host info`
#   scripts/setup.sh --no-run   the same without the final call
#   HVAGENT_TEST_DEPS=1         also install what the test suite drives (MCollective fleet,
#                               the tools that build the Debian cloud image, zsh and tmux)
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[setup] $*"; }

scripts/node-setup.sh
scripts/libvirt-setup.sh install start
if [ "${HVAGENT_TEST_DEPS:-0}" = 1 ]; then
  test/fleet/fleet.sh install
  scripts/cloud-image.sh install
  scripts/debian-root.sh install         # debootstrap: the clean Debian root the package test installs into
  scripts/install-packages.sh zsh tmux   # the shell-completion tests drive real bash and zsh
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
node scripts/build.mjs
log "agent built: $(agent/hvagent --version)"
scripts/prepare-host.sh
if [ "${HVAGENT_START_SERVER:-0}" = 1 ]; then scripts/start-server.sh; fi
if [ "${1:-}" != --no-run ]; then agent/hvagent host info; fi

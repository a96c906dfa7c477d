#!/bin/bash
# node-setup.sh -- Node.js 18.19 or later and npm, as root on Debian 12: Debian's own nodejs
# (18.20 in bookworm) and npm when there is no Node or an older one; a Node from elsewhere
# (20, 22) that is new enough is used as it is. Only Debian's packages: no other source.
set -euo pipefail
cd "$(dirname "$0")/.."

node_ok() {
  command -v node >/dev/null &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 18 || (a === 18 && b >= 19) ? 0 : 1)'
}
if ! node_ok; then
  echo "[setup] installing Debian's nodejs and npm" >&2
  scripts/install-packages.sh nodejs npm
  node_ok || { echo "[setup] ERROR: Node.js 18.19 or later is required; found $(node --version 2>/dev/null || echo none)" >&2; exit 1; }
fi
command -v npm >/dev/null || scripts/install-packages.sh npm

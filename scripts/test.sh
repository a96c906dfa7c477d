#!/bin/bash
# The whole test suite: type-check, build, make sure libvirtd runs, then jest (unit and
# integration: real libvirtd, qemu-img, MCollective fleet). Extra arguments go to jest.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit -p .
npm run --silent check:layers
node scripts/build.mjs
node build/generate.mjs . --check
# Guest assets, test templates, the Debian cloud image and the Debian root of the package
# test are cached: cheap when up to date, built on a fresh machine (the cloud image and the
# root take 2-3 minutes each).
scripts/libvirt-setup.sh start assets >/dev/null
scripts/test-templates.sh >/dev/null
scripts/test-templates.sh iso >/dev/null
scripts/cloud-image.sh >/dev/null
scripts/debian-root.sh >/dev/null
exec node --experimental-vm-modules node_modules/jest/bin/jest.js "$@"

#!/bin/bash
# install-packages.sh PACKAGE... -- install those Debian packages that are not installed yet
# (apt-get, no recommends; `apt-get update` first only when there are no package lists).
# Quiet and quick when all are installed; all output goes to stderr. Run as root.
set -euo pipefail
export LC_ALL=C DEBIAN_FRONTEND=noninteractive

die() { echo "[install-packages] ERROR: $*" >&2; exit 1; }

missing=()
for p in "$@"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "[install-packages] installing ${missing[*]}" >&2
compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null \
  || apt-get -o DPkg::Lock::Timeout=600 update -q >&2 || die "apt-get update failed"
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >&2 \
  || die "apt-get install ${missing[*]} failed"

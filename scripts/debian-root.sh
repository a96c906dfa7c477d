#!/bin/bash
# debian-root.sh -- a clean Debian 12 (bookworm) root for the package test
# (test/package/deb.test.ts): debootstrap's minbase variant plus what the hvagent package
# depends on (the Depends line of packaging/debian/control, so `dpkg -i` of the package
# proves its Depends are enough), built from Debian's packages only. Beside it, not
# installed, the .debs of MCollective (server and client) and what they need beyond that
# root, so that a test can make MCollective present without the network.
#
#   scripts/debian-root.sh            build it (or confirm it is up to date); print its path
#   scripts/debian-root.sh install    only install the host packages the build needs
#
# The root: ${HVAGENT_ASSETS:-/var/lib/hvagent/test-assets}/debian-root/root (tests use it as
# the read-only lower layer of an overlay, never change it); the MCollective packages in
# debian-root/mcollective/. Cache: debian-root.key holds the sha256 of this script, of
# debootstrap-lib.sh and of the Depends line; the root is rebuilt when it differs. Builds are
# serialised by a lock and made in a .build.* directory renamed into place, so a killed
# build never leaves a half-made root under the final name.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SELF=$HERE/$(basename "$0")
ASSETS=${HVAGENT_ASSETS:-/var/lib/hvagent/test-assets}
DIR=$ASSETS/debian-root
KEY_FILE=$DIR/debian-root.key
CONTROL=$HERE/../packaging/debian/control
SUITE=bookworm
PACKAGES=(debootstrap)
LOCK_FILE=/run/hvagent-debian-root.lock

export LC_ALL=C DEBIAN_FRONTEND=noninteractive

log() { echo "[debian-root] $*" >&2; }
die() { echo "[debian-root] ERROR: $*" >&2; exit 1; }
# shellcheck source=debootstrap-lib.sh
. "$HERE/debootstrap-lib.sh"

# The package's Depends as debootstrap --include wants them (names only, first
# alternatives), and ca-certificates, which apt installs with nodejs (a Recommends): without
# it Debian's node warns on every start that it cannot load the system's certificates.
depends() {
  { sed -n 's/^Depends:[[:space:]]*//p' "$CONTROL" | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | grep .; echo ca-certificates; } | paste -sd, -
}

build() {
  local work root mirror t0=$SECONDS
  mirror=$(debian_mirror)
  export_apt_proxy
  work=$(mktemp -d "$DIR/.build.XXXXXX")
  # shellcheck disable=SC2064 # expand $work now
  trap "release_work '$work'" EXIT
  trap 'exit 130' INT TERM
  root=$work/root
  log "debootstrap $SUITE from $mirror (minbase + $(depends))"
  if ! debootstrap --variant=minbase --components=main --include="$(depends)" "$SUITE" "$root" "$mirror" > "$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  # MCollective's packages, downloaded into their own directory, not installed.
  echo "deb $mirror $SUITE main" > "$root/etc/apt/sources.list"
  mkdir -p "$work/mcollective"
  mount --bind "$work/mcollective" "$root/var/cache/apt/archives" 2>/dev/null || die "cannot bind-mount the download directory"
  if ! { chroot "$root" apt-get -q update && chroot "$root" apt-get -q -y --no-install-recommends --download-only install mcollective mcollective-client; } > "$work/apt.log" 2>&1; then
    tail -n 30 "$work/apt.log" >&2
    die "downloading mcollective failed"
  fi
  umount "$root/var/cache/apt/archives"
  rm -rf "$work/mcollective/partial" "$work/mcollective/lock" "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  chroot "$root" apt-get clean
  rm -rf "$DIR/root" "$DIR/mcollective"
  mv "$root" "$DIR/root"
  mv "$work/mcollective" "$DIR/mcollective"
  echo "$KEY" > "$KEY_FILE.tmp" && mv "$KEY_FILE.tmp" "$KEY_FILE"
  log "built $DIR/root ($(du -sh "$DIR/root" | cut -f1)), $(ls "$DIR/mcollective" | wc -l) MCollective packages beside it, in $((SECONDS - t0)) s"
}

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"
case ${1:-build} in
  install) "$HERE/install-packages.sh" "${PACKAGES[@]}"; exit 0 ;;
  build) ;;
  *) die "usage: $0 [build|install]" ;;
esac
KEY=$( { cat "$SELF" "$HERE/debootstrap-lib.sh"; depends; } | sha256sum | cut -d' ' -f1)
root_up_to_date() { [ -d "$DIR/root" ] && [ "$(cat "$KEY_FILE" 2>/dev/null)" = "$KEY" ]; }
install_packages() { "$HERE/install-packages.sh" "${PACKAGES[@]}"; }
build_cached "$DIR/root" "$LOCK_FILE" root_up_to_date install_packages build

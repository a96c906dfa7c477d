# debootstrap-lib.sh -- sourced by the scripts that debootstrap Debian 12 and cache the
# result (cloud-image.sh, debian-root.sh): the mirror and the HTTP proxy apt uses, so that
# debootstrap reaches Debian's packages the way apt on this machine does; the release of
# a build's work directory; the cached, locked build. The caller defines log and die.
#
# Environment: HVAGENT_DEBIAN_MIRROR   Debian mirror URL (default: the one apt uses for $SUITE)

# The mirror apt uses for the bookworm suite's main component: one-line sources first, then
# deb822 .sources stanzas (Types deb, Suites bookworm, Components main, not Enabled: no).
debian_mirror() {
  local SUITE=${SUITE:-bookworm}
  local uri
  if [ -n "${HVAGENT_DEBIAN_MIRROR:-}" ]; then echo "$HVAGENT_DEBIAN_MIRROR"; return; fi
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk -v suite="$SUITE" '
    { sub(/#.*/, "") }
    $1 == "deb" {
      i = 2
      if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      if ($(i + 1) != suite) next
      for (j = i + 2; j <= NF; j++) if ($j == "main") { print $i; exit }
    }')
  if [ -z "$uri" ]; then
    uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v suite="$SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = uris = suites = comps = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^#/ || !match($i, /^[A-Za-z-]+:/)) continue
          key = tolower(substr($i, 1, RLENGTH - 1)); val = " " substr($i, RLENGTH + 1) " "
          gsub(/[ \t]+/, " ", val)
          if (key == "types") types = val; else if (key == "uris") uris = val
          else if (key == "suites") suites = val; else if (key == "components") comps = val
          else if (key == "enabled") enabled = val
        }
        if (enabled ~ / no /) next
        if (types ~ / deb / && suites ~ (" " suite " ") && comps ~ / main /) {
          split(uris, u, " "); print u[1]; exit
        }
      }')
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# debootstrap fetches with wget: give it apt's proxy, if apt has one.
export_apt_proxy() {
  local proxy=
  eval "$(apt-config shell proxy Acquire::http::Proxy)"
  if [ -n "$proxy" ]; then export http_proxy=$proxy; fi
}

# release_work WORK: unmount everything under WORK, detach the loop devices of WORK/disk.raw,
# remove it. rm --one-file-system: never follows into a mount that could not be removed (a bind-mounted
# /dev or /proc of a killed debootstrap).
release_work() {
  local work=$1 m l
  [ -d "$work" ] || return 0
  for m in $(awk -v w="$work/" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "WARNING: cannot unmount $m"
  done
  if [ -e "$work/disk.raw" ]; then
    for l in $(losetup -n -O NAME -j "$work/disk.raw" 2>/dev/null); do losetup -d "$l" || true; done
  fi
  rm -rf --one-file-system "$work"
}

# build_cached PRODUCT LOCK_FILE IS_UP_TO_DATE INSTALL BUILD: prints PRODUCT's path, built
# unless IS_UP_TO_DATE says it is. One build at a time (LOCK_FILE; a second caller waits,
# then finds it built); what an interrupted build left (DIR/.build.*, DIR being PRODUCT's
# directory) is released first; INSTALL installs the host packages, BUILD makes PRODUCT.
build_cached() {
  local product=$1 lock=$2 up_to_date=$3 install=$4 build=$5 dir stale
  dir=$(dirname "$product")
  if "$up_to_date"; then
    log "up to date: $product"
    echo "$product"
    return 0
  fi
  mkdir -p "$dir"
  exec 9>"$lock" || die "cannot open $lock"
  if ! flock -n 9; then
    log "another build holds $lock; waiting"
    flock -w 1800 9 || die "timed out waiting for $lock"
  fi
  if "$up_to_date"; then
    log "built meanwhile by another run: $product"
    echo "$product"
    return 0
  fi
  for stale in "$dir"/.build.*; do
    [ -e "$stale" ] || continue
    log "removing what an interrupted build left: $stale"
    release_work "$stale"
  done
  "$install"
  "$build"
  echo "$product"
}

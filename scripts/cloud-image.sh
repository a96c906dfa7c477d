#!/bin/bash
# cloud-image.sh -- a real Debian 12 (bookworm) cloud image for the tests, built from Debian's
# packages only: debootstrap + cloud-init (NoCloud) + openssh-server + linux-image-cloud-amd64,
# booted by EXTLINUX from a DOS-labelled disk under SeaBIOS (q35 or pc). docs/CLOUD-IMAGE.md.
#
#   scripts/cloud-image.sh            build it (or confirm it is up to date); print its path
#   scripts/cloud-image.sh install    only install the host packages the build needs
#
# The image: ${HVAGENT_ASSETS:-/var/lib/hvagent/test-assets}/cloud-image/debian12-cloud.qcow2,
# a compressed qcow2 (2 GiB virtual). No password (root and the cloud-init user are locked), no
# SSH host key and no authorized key inside: cloud-init makes the host keys and the user
# `debian` (Debian's default) with the keys from the NoCloud seed at first boot. The kernel
# command line has console=tty0 console=ttyS0 (ttyS0 last: it is /dev/console, so the serial
# log shows systemd's and cloud-init's messages, "Cloud-init v. … finished at …" included).
#
# Cache: debian12-cloud.key beside the image holds the sha256 of this script (not of
# debootstrap-lib.sh, which picks the mirror and cleans up but adds nothing to the image,
# and test/helpers/cloud-image.ts checks the same key); the image is
# rebuilt when it differs, so any change to the recipe below invalidates it. Builds are
# serialised by a lock (a second caller waits, then finds the image built). A build works in
# a .build.* directory beside the image and renames the finished image into place: a failed
# or killed build never leaves a half-made image under the final name, and the next run
# unmounts and removes what a killed build left.
#
# Facts about the machines this runs on (Debian 12 Firecracker guests, no systemd, no
# modules, no device-mapper; measured there):
#  - loop devices work but partition scanning does not (`losetup -P` makes no loopNp1):
#    the root partition is reached with `losetup --offset`; ext4 mounts on it.
#  - vfat and iso9660 cannot be mounted on the host: nothing here mounts them.
#  - debootstrap does not resolve virtual packages: python3-cryptography (a cloud-init
#    dependency) fails to configure unless python3-cffi-backend is in --include.
#  - without the locales package, cloud-init's locale module fails and `cloud-init status`
#    reads "error"; en_US.UTF-8 (Debian cloud-init's default locale) is generated here.
#  - Debian's cloud kernel has virtio-blk, virtio-scsi, sr_mod and iso9660 but NO AHCI: a
#    NoCloud seed must be on a virtio-scsi CD-ROM, not on q35's default SATA bus.
#
# Environment:
#   HVAGENT_ASSETS          test assets directory   (default /var/lib/hvagent/test-assets)
#   HVAGENT_DEBIAN_MIRROR   Debian mirror URL       (default: the one apt uses for bookworm)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SELF=$HERE/$(basename "$0")
ASSETS=${HVAGENT_ASSETS:-/var/lib/hvagent/test-assets}
DIR=$ASSETS/cloud-image
IMAGE=$DIR/debian12-cloud.qcow2
KEY_FILE=$DIR/debian12-cloud.key
SUITE=bookworm
DISK_SIZE_MIB=2048
PART_START=2048 # sectors: the root partition starts at 1 MiB
# Host packages: debootstrap, extlinux (+ syslinux-common's mbr.bin), sfdisk (fdisk), mkfs.ext4
# (e2fsprogs), qemu-img (qemu-utils); genisoimage and ssh for the tests' NoCloud seed and login.
PACKAGES=(debootstrap extlinux syslinux-common fdisk e2fsprogs qemu-utils genisoimage openssh-client)
# What the image holds beyond debootstrap's minbase variant. qemu-guest-agent starts only
# where the domain has its virtio-serial channel (org.qemu.guest_agent.0).
INCLUDE=(
  linux-image-cloud-amd64 initramfs-tools systemd-sysv udev dbus kmod
  cloud-init cloud-guest-utils python3-cffi-backend locales
  openssh-server sudo ifupdown isc-dhcp-client iproute2 netbase e2fsprogs procps
  qemu-guest-agent
)
CMDLINE='console=tty0 console=ttyS0,115200n8'
LOCK_FILE=/run/hvagent-cloud-image.lock

export LC_ALL=C DEBIAN_FRONTEND=noninteractive

log() { echo "[cloud-image] $*" >&2; }
die() { echo "[cloud-image] ERROR: $*" >&2; exit 1; }
now_s() { date +%s; }
took() { echo "$(( $(now_s) - $1 )) s"; }

install_packages() { "$HERE/install-packages.sh" "${PACKAGES[@]}"; }
# shellcheck source=debootstrap-lib.sh
. "$HERE/debootstrap-lib.sh"

in_root() { chroot "$ROOT" "$@"; }

# Everything that makes a debootstrapped tree a cloud image.
configure_root() {
  local uuid=$1 kernel initrd
  echo debian > "$ROOT/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n::1\tlocalhost ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n' \
    > "$ROOT/etc/hosts"
  # debootstrap copies the host's resolv.conf: the guest gets its own from DHCP.
  rm -f "$ROOT/etc/resolv.conf"
  printf 'UUID=%s / ext4 rw,discard,errors=remount-ro 0 1\n' "$uuid" > "$ROOT/etc/fstab"
  # cloud-init writes the NIC stanzas into interfaces.d (its ENI renderer).
  printf 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n' \
    > "$ROOT/etc/network/interfaces"
  cat > "$ROOT/etc/apt/sources.list" <<EOF
deb http://deb.debian.org/debian $SUITE main
deb http://deb.debian.org/debian $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
  sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' "$ROOT/etc/locale.gen"
  in_root locale-gen >/dev/null
  echo 'LANG=en_US.UTF-8' > "$ROOT/etc/default/locale"
  # Only NoCloud (seed CD-ROM labelled cidata, or /var/lib/cloud/seed/nocloud), else None:
  # no probing of network metadata services that do not exist here.
  cat > "$ROOT/etc/cloud/cloud.cfg.d/90-hvagent-test.cfg" <<'EOF'
# hvagent test image (scripts/cloud-image.sh): NoCloud only.
datasource_list: [ NoCloud, None ]
EOF
  # No secrets inside: no host keys (cloud-init generates them), no authorized keys, every
  # account locked; a fresh machine-id per clone (systemd makes one on first boot).
  rm -f "$ROOT"/etc/ssh/ssh_host_*
  in_root usermod -p '*' root
  : > "$ROOT/etc/machine-id"
  rm -f "$ROOT/var/lib/dbus/machine-id"
  kernel=$(cd "$ROOT/boot" && ls vmlinuz-* | head -n 1)
  initrd=$(cd "$ROOT/boot" && ls initrd.img-* | head -n 1)
  [ -n "$kernel" ] && [ -n "$initrd" ] || die "no kernel or initramfs in $ROOT/boot"
  mkdir -p "$ROOT/boot/extlinux"
  cat > "$ROOT/boot/extlinux/extlinux.conf" <<EOF
DEFAULT debian
PROMPT 0
TIMEOUT 0
LABEL debian
  LINUX /boot/$kernel
  INITRD /boot/$initrd
  APPEND root=UUID=$uuid ro $CMDLINE
EOF
  in_root apt-get clean
  rm -rf "$ROOT"/var/lib/apt/lists/* "$ROOT"/var/cache/debconf/*-old "$ROOT"/var/lib/cloud/*
  find "$ROOT/var/log" -type f -delete
  log "configured: kernel $kernel, root UUID $uuid"
}

# Refuse an image with a secret in it.
check_root() {
  local f
  if awk -F: '$2 != "" && $2 !~ /^[*!]/ { found = 1; print "password hash for " $1 } END { exit !found }' \
       "$ROOT/etc/shadow" >&2; then die "an account has a password"; fi
  for f in "$ROOT"/etc/ssh/ssh_host_* "$ROOT"/root/.ssh/authorized_keys "$ROOT"/home/*/.ssh/authorized_keys; do
    [ ! -e "$f" ] || die "secret left in the image: ${f#"$ROOT"}"
  done
  [ -L "$ROOT/etc/systemd/system/cloud-init.target.wants/cloud-init.service" ] \
    || die "cloud-init.service is not enabled"
  [ -f "$ROOT/lib/systemd/system/ssh.service" ] || die "openssh-server is missing"
}

build() {
  local t0 t work raw size loop uuid mirror
  t0=$(now_s)
  mirror=$(debian_mirror)
  export_apt_proxy
  work=$(mktemp -d "$DIR/.build.XXXXXX")
  # shellcheck disable=SC2064 # expand $work now
  trap "release_work '$work'" EXIT
  trap 'exit 130' INT TERM
  raw=$work/disk.raw
  ROOT=$work/root
  mkdir -p "$ROOT"

  t=$(now_s)
  size=$(( DISK_SIZE_MIB * 1024 * 1024 ))
  truncate -s "$size" "$raw"
  echo "label: dos
start=$PART_START, type=83, bootable" | sfdisk --quiet "$raw" >/dev/null || die "sfdisk failed"
  loop=$(losetup --find --show --offset $(( PART_START * 512 )) --sizelimit $(( size - PART_START * 512 )) "$raw") \
    || die "losetup failed"
  uuid=$(cat /proc/sys/kernel/random/uuid)
  mkfs.ext4 -q -F -L debian-root -U "$uuid" "$loop" || die "mkfs.ext4 failed"
  mount -t ext4 "$loop" "$ROOT" || die "mounting the new root filesystem failed"
  log "disk: ${DISK_SIZE_MIB} MiB, DOS label, ext4 root on $loop ($(took "$t"))"

  t=$(now_s)
  log "debootstrap $SUITE from $mirror (minbase + ${#INCLUDE[@]} packages)"
  if ! debootstrap --variant=minbase --components=main --include="$(IFS=,; echo "${INCLUDE[*]}")" \
         "$SUITE" "$ROOT" "$mirror" > "$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    [ ! -f "$ROOT/debootstrap/debootstrap.log" ] || tail -n 30 "$ROOT/debootstrap/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  log "debootstrap: done ($(took "$t"))"

  t=$(now_s)
  configure_root "$uuid"
  check_root
  extlinux --install "$ROOT/boot/extlinux" >/dev/null 2>&1 || die "extlinux --install failed"
  fstrim "$ROOT" 2>/dev/null || true
  umount "$ROOT"
  losetup -d "$loop"
  dd if=/usr/lib/syslinux/mbr/mbr.bin of="$raw" bs=440 count=1 conv=notrunc status=none
  log "configured, boot loader installed ($(took "$t"))"

  t=$(now_s)
  qemu-img convert -q -c -f raw -O qcow2 "$raw" "$work/image.qcow2" || die "qemu-img convert failed"
  chmod 644 "$work/image.qcow2"
  mv "$work/image.qcow2" "$IMAGE"
  echo "$KEY" > "$KEY_FILE.tmp" && mv "$KEY_FILE.tmp" "$KEY_FILE"
  log "compressed: $(du -h "$IMAGE" | cut -f1) ($(took "$t"))"
  log "built $IMAGE in $(took "$t0")"
}

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, loop-mounts, chroots)"
case ${1:-build} in
  install) install_packages; exit 0 ;;
  build) ;;
  *) die "usage: $0 [build|install]" ;;
esac
KEY=$(sha256sum "$SELF" | cut -d' ' -f1)
image_up_to_date() { [ -f "$IMAGE" ] && [ "$(cat "$KEY_FILE" 2>/dev/null)" = "$KEY" ]; }
mkdir -p "$DIR"
chmod 755 "$ASSETS" "$DIR"
build_cached "$IMAGE" "$LOCK_FILE" image_up_to_date install_packages build

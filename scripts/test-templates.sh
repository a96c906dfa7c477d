#!/bin/bash
# test-templates.sh -- build the small, real template catalogue the tests provision from.
#
#   scripts/test-templates.sh          # build (or confirm up to date), print the catalogue path
#
# From the guest assets of `scripts/libvirt-setup.sh assets` (built first when missing) it
# makes, in ${HVAGENT_TEST_TEMPLATES:-/var/lib/hvagent/test-templates}:
#   image:tiny    images/tiny.qcow2   a FAT "superfloppy" booted by SYSLINUX: the test kernel
#                                     and initramfs, console=ttyS0; prints GUEST: READY
#   lxc:busybox   lxc/busybox.tar.gz  the busybox container root (its init touches /run/ready
#                 + lxc/busybox-overlay.tar.gz  and writes /run/firstboot-name), plus /etc/motd
#   tar:busybox   tar/busybox.tar.xz  the same root, as tar.xz
#   pxe:tiny      pxe/tiny/           pxelinux.0 + ldlinux.c32 + pxelinux.cfg/default booting
#                                     the test kernel and initramfs (network hv-pxe-tiny)
# Idempotent and fast when up to date (a stamp records the recipe and its inputs). Installs
# its packages (dosfstools, mtools, syslinux, syslinux-common, pxelinux) when missing.
# Nothing is loop-mounted: syslinux and mtools work on the image file itself.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ASSETS=${HVAGENT_ASSETS:-/var/lib/hvagent/test-assets}
OUT=${HVAGENT_TEST_TEMPLATES:-/var/lib/hvagent/test-templates}
# Bump when anything below changes what is built.
RECIPE=1
PACKAGES=(dosfstools mtools syslinux syslinux-common pxelinux xz-utils qemu-utils)
CMDLINE='console=ttyS0 panic=-1 quiet'
LOCK_FILE=/run/hvagent-test-templates.lock

export LC_ALL=C DEBIAN_FRONTEND=noninteractive

log() { echo "[test-templates] $*" >&2; }
die() { echo "[test-templates] ERROR: $*" >&2; exit 1; }

install_packages() { "$HERE/install-packages.sh" "${PACKAGES[@]}"; }

# What the catalogue is built from: when none of it changed, nothing is rebuilt.
inputs_stamp() {
  echo "recipe $RECIPE"
  stat -c '%n %s %Y' "$ASSETS/vmlinuz" "$ASSETS/initrd.img" "$ASSETS/recipe"
  sha256sum "$ASSETS/ct-rootfs/sbin/init"
}

syslinux_cfg() { # KERNEL INITRD: a config booting them at once, no prompt
  printf 'DEFAULT tiny\nPROMPT 0\nTIMEOUT 0\nLABEL tiny\n  LINUX %s\n  INITRD %s\n  APPEND %s\n' "$1" "$2" "$CMDLINE"
}

build_image() { # DIR
  local dir=$1 raw kib
  raw=$dir/images/tiny.raw
  mkdir -p "$dir/images"
  # Kernel + initramfs + 4 MiB for the FAT and SYSLINUX.
  kib=$(( ( $(stat -c %s "$ASSETS/vmlinuz") + $(stat -c %s "$ASSETS/initrd.img") ) / 1024 + 4096 ))
  mkfs.vfat -C -n HVTINY "$raw" "$kib" >/dev/null
  syslinux --install "$raw"
  syslinux_cfg /vmlinuz /initrd.img > "$dir/syslinux.cfg"
  mcopy -i "$raw" "$ASSETS/vmlinuz" "$ASSETS/initrd.img" "$dir/syslinux.cfg" ::/
  rm "$dir/syslinux.cfg"
  qemu-img convert -q -f raw -O qcow2 "$raw" "$dir/images/tiny.qcow2"
  rm "$raw"
}

build_archives() { # DIR
  local dir=$1 root overlay
  root=$(mktemp -d "$dir/rootfs.XXXXXX")
  cp -a "$ASSETS/ct-rootfs/." "$root/"
  rm -f "$root/run/ready"
  # The container's init records its first-boot name, then runs as before.
  { head -n 1 "$ASSETS/ct-rootfs/sbin/init"
    echo '[ -r /etc/hvagent/firstboot.conf ] && . /etc/hvagent/firstboot.conf && echo "$HVAGENT_NAME" > /run/firstboot-name'
    tail -n +2 "$ASSETS/ct-rootfs/sbin/init"
  } > "$root/sbin/init"
  chmod 755 "$root/sbin/init"
  overlay=$(mktemp -d "$dir/overlay.XXXXXX")
  mkdir -p "$overlay/etc"
  chmod 755 "$overlay" "$overlay/etc"
  echo 'Welcome to lxc:busybox, an hvagent test template.' > "$overlay/etc/motd"
  chmod 644 "$overlay/etc/motd"
  mkdir -p "$dir/lxc" "$dir/tar"
  tar --numeric-owner -C "$root" -czf "$dir/lxc/busybox.tar.gz" .
  tar --numeric-owner -C "$overlay" -czf "$dir/lxc/busybox-overlay.tar.gz" .
  tar --numeric-owner -C "$root" -cJf "$dir/tar/busybox.tar.xz" .
  rm -rf "$root" "$overlay"
}

build_pxe() { # DIR
  local tftp=$1/pxe/tiny
  mkdir -p "$tftp/pxelinux.cfg"
  cp /usr/lib/PXELINUX/pxelinux.0 /usr/lib/syslinux/modules/bios/ldlinux.c32 "$tftp/"
  # TFTP serves only what is inside its root: copies, not symlinks.
  cp "$ASSETS/vmlinuz" "$ASSETS/initrd.img" "$tftp/"
  syslinux_cfg vmlinuz initrd.img > "$tftp/pxelinux.cfg/default"
}

write_manifest() { # DIR
  cat > "$1/catalogue.yaml" <<'EOF'
# hvagent test template catalogue, built by scripts/test-templates.sh (docs/TEMPLATES.md).
version: 1
templates:
  - name: tiny
    type: image
    description: Test kernel and busybox initramfs on a SYSLINUX FAT disk; prints GUEST READY on ttyS0
    file: images/tiny.qcow2
    format: qcow2
    os: linux
  - name: busybox
    type: lxc
    description: Busybox container root whose init touches /run/ready and records its first-boot name
    archive: lxc/busybox.tar.gz
    overlay: lxc/busybox-overlay.tar.gz
    os: linux
    notes: The overlay adds /etc/motd.
  - name: busybox
    type: tar
    description: The busybox container root as a tar.xz archive
    archive: tar/busybox.tar.xz
    os: linux
  - name: tiny
    type: pxe
    description: PXELINUX booting the test kernel and busybox initramfs; prints GUEST READY on ttyS0
    network: hv-pxe-tiny
    tftp_root: pxe/tiny
    boot_file: pxelinux.0
    address: 10.233.71.1/24
    os: linux
EOF
}

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, keeps root-owned archives)"
exec 9>"$LOCK_FILE" || die "cannot open $LOCK_FILE"
flock -w 900 9 || die "timed out waiting for $LOCK_FILE"

if [ ! -f "$ASSETS/vmlinuz" ] || [ ! -f "$ASSETS/initrd.img" ] || [ ! -x "$ASSETS/ct-rootfs/sbin/init" ]; then
  "$HERE/libvirt-setup.sh" assets >&2
fi
stamp=$(inputs_stamp)
if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$stamp" ]; then
  log "up to date"
  echo "$OUT"
  exit 0
fi
install_packages
mkdir -p "$(dirname "$OUT")"
work=$(mktemp -d "$OUT.new.XXXXXX")
trap 'rm -rf "$work"' EXIT
build_image "$work"
build_archives "$work"
build_pxe "$work"
write_manifest "$work"
echo "$stamp" > "$work/.stamp"
# QEMU (libvirt-qemu) reads the image, dnsmasq (libvirt-dnsmasq) the TFTP tree.
chmod -R a+rX "$work"
chmod 755 "$work"
rm -rf "$OUT.old"
[ ! -e "$OUT" ] || mv "$OUT" "$OUT.old"
mv "$work" "$OUT"
rm -rf "$OUT.old"
trap - EXIT
log "built $(du -sh "$OUT" | cut -f1) in $OUT"
echo "$OUT"

#!/bin/bash
# test-templates.sh -- build the small, real template catalogue the tests provision from.
#
#   scripts/test-templates.sh          # build (or confirm up to date), print the catalogue path
#   scripts/test-templates.sh iso      # the same for the installer ISO (below), print its path
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
#
# `iso` builds ${HVAGENT_TEST_ISO_DIR:-/var/lib/hvagent/test-installer}/installer.iso, which
# the tests import as an iso: template (it is no catalogue entry): an El Torito ISO
# (ISOLINUX, no emulation) booting the test kernel with an installer initramfs, the test
# initramfs plus a second cpio archive whose /init writes "the installed system" onto
# /dev/vda, prints INSTALLER: DONE on ttyS0 and waits for the power button, as an installer
# waits for its medium to be removed. The installed system is a 2 MiB FAT disk booted by
# SYSLINUX, whose cat.c32 prints INSTALLED SYSTEM: BOOTED FROM DISK on the serial port:
# seeing it proves the VM booted from what the installer wrote. It has a stamp of its own
# (ISO_RECIPE) and also installs isolinux and xorriso.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ASSETS=${HVAGENT_ASSETS:-/var/lib/hvagent/test-assets}
OUT=${HVAGENT_TEST_TEMPLATES:-/var/lib/hvagent/test-templates}
ISO_OUT=${HVAGENT_TEST_ISO_DIR:-/var/lib/hvagent/test-installer}
# Bump when anything below changes what is built (ISO_RECIPE: the installer ISO).
RECIPE=1
ISO_RECIPE=1
PACKAGES=(dosfstools mtools syslinux syslinux-common pxelinux xz-utils qemu-utils)
ISO_PACKAGES=(isolinux xorriso)
CMDLINE='console=ttyS0 panic=-1 quiet'
LOCK_FILE=/run/hvagent-test-templates.lock

export LC_ALL=C DEBIAN_FRONTEND=noninteractive

log() { echo "[test-templates] $*" >&2; }
die() { echo "[test-templates] ERROR: $*" >&2; exit 1; }

install_packages() { # PACKAGE...
  "$HERE/install-packages.sh" "$@"
}

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

# The installed system: SYSLINUX on a FAT "superfloppy", saying so on the serial port and
# then waiting at its prompt.
build_installed_disk() { # FILE
  local file=$1 tmp modules=/usr/lib/syslinux/modules/bios
  mkfs.vfat -C -n HVINSTALLED "$file" 2048 >/dev/null
  syslinux --install "$file"
  tmp=$(mktemp -d)
  # cat.c32 prints the marker through the serial console (SAY and DISPLAY do not reach it).
  printf 'SERIAL 0 115200\nDEFAULT marker\nPROMPT 0\nTIMEOUT 0\nLABEL marker\n  COM32 cat.c32\n  APPEND booted.txt\n' > "$tmp/syslinux.cfg"
  printf 'INSTALLED SYSTEM: BOOTED FROM DISK\n' > "$tmp/booted.txt"
  mcopy -i "$file" "$tmp/syslinux.cfg" "$tmp/booted.txt" "$modules/cat.c32" "$modules/libcom32.c32" "$modules/libutil.c32" ::/
  rm -rf "$tmp"
}

build_installer_initrd() { # DIR FILE: the test initramfs, then the installer over it
  local dir=$1 file=$2 over=$1/over
  mkdir -p "$over"
  build_installed_disk "$over/payload.img"
  cat > "$over/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk evdev button; do
  insmod /lib/modules/$m.ko 2>/dev/null || echo "INSTALLER: insmod $m failed"; done
echo "INSTALLER: BOOTED"
i=0; while [ ! -b /dev/vda ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if [ -b /dev/vda ] && dd if=/payload.img of=/dev/vda bs=64k conv=fsync 2>/dev/null; then
  sync; echo "INSTALLER: DONE (remove the medium, then power off)"
else
  echo "INSTALLER: FAILED (no /dev/vda, or it is too small)"
fi
acpid -d -c /etc/acpi >/dev/null 2>&1 &
while true; do sleep 3600; done
EOF
  chmod 755 "$over/init"
  # A second cpio archive after the first: the kernel unpacks both, the later /init wins.
  { cat "$ASSETS/initrd.img"; (cd "$over" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1); } > "$file"
}

build_iso() { # DIR
  local dir=$1 tree=$1/tree
  mkdir -p "$tree/isolinux"
  cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$tree/isolinux/"
  cp "$ASSETS/vmlinuz" "$tree/vmlinuz"
  build_installer_initrd "$dir" "$tree/installer.img"
  printf 'SERIAL 0 115200\nDEFAULT install\nPROMPT 0\nTIMEOUT 0\nLABEL install\n  LINUX /vmlinuz\n  INITRD /installer.img\n  APPEND console=ttyS0 panic=-1 quiet\n' \
    > "$tree/isolinux/isolinux.cfg"
  xorriso -as mkisofs -quiet -o "$dir/installer.iso" -V HVINSTALLER -J -R \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$tree"
}

build_installer_iso() {
  local stamp work
  stamp="iso recipe $ISO_RECIPE
$(stat -c '%n %s %Y' "$ASSETS/vmlinuz" "$ASSETS/initrd.img" "$ASSETS/recipe")"
  if [ -f "$ISO_OUT/.stamp" ] && [ "$(cat "$ISO_OUT/.stamp")" = "$stamp" ] && [ -f "$ISO_OUT/installer.iso" ]; then
    log "installer ISO up to date"
    echo "$ISO_OUT/installer.iso"
    return
  fi
  install_packages "${PACKAGES[@]}" "${ISO_PACKAGES[@]}"
  mkdir -p "$ISO_OUT"
  work=$(mktemp -d "$ISO_OUT/build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  build_iso "$work"
  chmod 644 "$work/installer.iso"
  mv "$work/installer.iso" "$ISO_OUT/installer.iso"
  echo "$stamp" > "$ISO_OUT/.stamp"
  chmod 755 "$ISO_OUT"
  rm -rf "$work"
  trap - EXIT
  log "built $ISO_OUT/installer.iso ($(du -h "$ISO_OUT/installer.iso" | cut -f1))"
  echo "$ISO_OUT/installer.iso"
}

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, keeps root-owned archives)"
exec 9>"$LOCK_FILE" || die "cannot open $LOCK_FILE"
flock -w 900 9 || die "timed out waiting for $LOCK_FILE"

if [ ! -f "$ASSETS/vmlinuz" ] || [ ! -f "$ASSETS/initrd.img" ] || [ ! -x "$ASSETS/ct-rootfs/sbin/init" ]; then
  "$HERE/libvirt-setup.sh" assets >&2
fi
if [ "${1:-}" = iso ]; then
  build_installer_iso
  exit 0
fi
stamp=$(inputs_stamp)
if [ -f "$OUT/.stamp" ] && [ "$(cat "$OUT/.stamp")" = "$stamp" ]; then
  log "up to date"
  echo "$OUT"
  exit 0
fi
install_packages "${PACKAGES[@]}"
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

#!/bin/bash
# private-libvirtd.sh - a libvirtd of a test's own, so that what it counts (domains,
# memory given out) is the test's alone while other suites use the shared qemu:///system.
#
#   private-libvirtd.sh start DIR   start it; prints its QEMU and LXC URIs (unix socket in DIR/sock)
#   private-libvirtd.sh stop DIR    destroy and undefine every domain it holds, then stop it
#   private-libvirtd.sh restart DIR kill its libvirtd (SIGKILL: mid-request, as a crash) and start it again
#
# Like scripts/libvirt-setup.sh's host2, it runs in a mount namespace of its own where
# /etc/libvirt, /var/lib/libvirt and /var/log/libvirt are DIR's copies and /run/libvirt a
# fresh tmpfs (the QEMU driver's lock, virtlogd's socket); it shares the network, the
# filesystem and the CPUs. Its socket directory is DIR/sock, outside the namespace, so
# clients reach it as qemu+unix:///system?socket=DIR/sock/libvirt-sock. No network is
# autostarted and no domain or pool copied: it starts empty. Needs root.
set -euo pipefail

die() { echo "[private-libvirtd] ERROR: $*" >&2; exit 1; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
uri() { echo "$1+unix:///system?socket=$2/sock/libvirt-sock"; }

cmd_start() {
  local h=$1 i
  [ "$(id -u)" = 0 ] || die "needs root"
  alive "$h/run/libvirtd.pid" && die "already running in $h"
  mkdir -p "$h"/{etc,varlib,log/qemu,sock,run}
  cp -a /etc/libvirt/. "$h/etc/"
  rm -f "$h"/etc/qemu/*.xml "$h"/etc/qemu/networks/*.xml "$h"/etc/qemu/networks/autostart/*.xml \
        "$h"/etc/storage/*.xml "$h"/etc/storage/autostart/*.xml "$h"/etc/lxc/*.xml "$h"/etc/lxc/autostart/*.xml
  printf 'unix_sock_dir = "%s/sock"\nhost_uuid = "%s"\n' "$h" "$(cat /proc/sys/kernel/random/uuid)" >> "$h/etc/libvirtd.conf"
  mkdir -p "$h"/varlib/{qemu/save,qemu/snapshot,qemu/dump,qemu/ram,qemu/nvram,qemu/checkpoint,dnsmasq,images,boot,network,lxc}
  chown -R libvirt-qemu:libvirt-qemu "$h/varlib/qemu"
  chmod 751 "$h/varlib/qemu"
  chmod 755 "$h"
  unshare -m --propagation private "$0" inner "$h" 9>&- || die "libvirtd did not start (see $h/log)"
  for ((i = 0; i < 600; i++)); do
    virsh -c "$(uri qemu "$h")" version >/dev/null 2>&1 && { uri qemu "$h"; uri lxc "$h"; return 0; }
    alive "$h/run/libvirtd.pid" || die "libvirtd exited (see $h/log)"
    sleep 0.1
  done
  die "libvirtd in $h did not answer within 60 s"
}

# Runs inside the new mount namespace.
cmd_inner() {
  local h=$1
  mount --bind "$h/etc" /etc/libvirt
  mount --bind "$h/varlib" /var/lib/libvirt
  mount --bind "$h/log" /var/log/libvirt
  mount -t tmpfs tmpfs /run/libvirt
  virtlogd -d -p "$h/run/virtlogd.pid"
  exec libvirtd -d -p "$h/run/libvirtd.pid"
}

cmd_stop() {
  local h=$1 driver name pid i
  if alive "$h/run/libvirtd.pid"; then
    # QEMU outlives a killed libvirtd: every guest goes first.
    for driver in qemu lxc; do
      while read -r name; do
        [ -n "$name" ] || continue
        virsh -c "$(uri "$driver" "$h")" destroy "$name" >/dev/null 2>&1 || true
        virsh -c "$(uri "$driver" "$h")" undefine "$name" --managed-save --snapshots-metadata --nvram >/dev/null 2>&1 \
          || virsh -c "$(uri "$driver" "$h")" undefine "$name" >/dev/null 2>&1 || true
      done < <(virsh -c "$(uri "$driver" "$h")" list --all --name 2>/dev/null || true)
    done
  fi
  for pidfile in "$h/run/libvirtd.pid" "$h/run/virtlogd.pid"; do
    alive "$pidfile" || continue
    pid=$(cat "$pidfile")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

# A crash and a restart, as a service manager would do it; returns once it answers again.
# libvirtd is started in the namespace its virtlogd still holds.
cmd_restart() {
  local h=$1 pid i
  alive "$h/run/libvirtd.pid" || die "not running in $h"
  alive "$h/run/virtlogd.pid" || die "its virtlogd is gone in $h"
  pid=$(cat "$h/run/libvirtd.pid")
  kill -KILL "$pid"
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  rm -f "$h/run/libvirtd.pid"
  nsenter --mount="/proc/$(cat "$h/run/virtlogd.pid")/ns/mnt" libvirtd -d -p "$h/run/libvirtd.pid" 9>&-
  for ((i = 0; i < 600; i++)); do
    virsh -c "$(uri qemu "$h")" version >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "libvirtd in $h did not answer within 60 s of its restart"
}

case "${1:-}" in
  start) cmd_start "${2:?DIR}" ;;
  restart) cmd_restart "${2:?DIR}" ;;
  inner) cmd_inner "${2:?DIR}" ;;
  stop) cmd_stop "${2:?DIR}" ;;
  *) echo "usage: $0 start|stop|restart DIR" >&2; exit 2 ;;
esac

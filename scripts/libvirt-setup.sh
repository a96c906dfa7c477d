#!/bin/bash
# libvirt-setup.sh -- bring up the real libvirt backends hvagent is tested against,
# on a Debian 12 machine as root, WITHOUT systemd (PID 1 may not even reap orphans).
#
#   scripts/libvirt-setup.sh install   # apt packages (skipped when already installed)
#   scripts/libvirt-setup.sh start     # virtlogd + libvirtd by hand, default network
#   scripts/libvirt-setup.sh assets    # guest kernel + busybox initramfs + LXC rootfs (cached)
#   scripts/libvirt-setup.sh host2     # second libvirtd in its own netns (migration peer)
#   scripts/libvirt-setup.sh status    # what is running; exit 0 only when qemu:///system answers
#   scripts/libvirt-setup.sh stop      # tear down what start/host2 brought up
#
# Several steps may be given in one call: `libvirt-setup.sh install start assets`.
# Every step is idempotent and may run from any working directory.
#
# Environment:
#   HVAGENT_ASSETS   where guest assets go     (default /var/lib/hvagent/test-assets)
#   HVAGENT_HOST2    state of the 2nd libvirtd (default /var/lib/hvagent/host2)
set -euo pipefail

ASSETS=${HVAGENT_ASSETS:-/var/lib/hvagent/test-assets}
HOST2_DIR=${HVAGENT_HOST2:-/var/lib/hvagent/host2}
HOST2_URI=qemu+tcp://10.99.0.2/system
SYSTEM_URI=qemu:///system
# Bump when the initramfs or rootfs recipe below changes, so cached assets are rebuilt.
# 2: virtio_balloon; the ACPI poweroff line reaches the serial console; guest_noacpid.
# 3: guest_netwatch (NICs plugged in or out later are reported, and get a DHCP lease).
# 4: guest_listen=PORT,… (an HTTP server per port) and guest_probe=HOST:PORT:SPOOF (UDP
#    probes to the host, from the guest's own address and from a spoofed one): firewall tests.
ASSETS_RECIPE=4
# genisoimage makes the cloud-init seeds (NoCloud ISO) of vm create; ssh-keygen (openssh-client)
# the guests' SSH host keys it gives them.
PACKAGES=(libvirt-daemon-system libvirt-clients libvirt-daemon-driver-lxc qemu-system-x86
          qemu-utils dnsmasq-base iptables iproute2 busybox-static genisoimage openssh-client)
# Guest kernel modules in load order (virtio_ring must come before virtio).
GUEST_MODULES=(drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko
               drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci_modern_dev.ko
               drivers/virtio/virtio_pci.ko drivers/virtio/virtio_balloon.ko
               drivers/block/virtio_blk.ko net/core/failover.ko
               drivers/net/net_failover.ko drivers/net/virtio_net.ko drivers/input/evdev.ko
               drivers/acpi/button.ko)
LOCK_FILE=/run/hvagent-libvirt-setup.lock

export LC_ALL=C DEBIAN_FRONTEND=noninteractive

log() { echo "[libvirt-setup] $*"; }
die() { echo "[libvirt-setup] ERROR: $*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
elapsed() { echo "$(( $(now_ms) - $1 )) ms"; }

# alive PIDFILE: the process exists and is not a zombie. PID 1 here does not reap orphans,
# so exited daemons linger as <defunct>; pgrep would report them as running.
alive() {
  local pid state
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

answers() { virsh -c "$1" uri >/dev/null 2>&1; }

# Probe host2 only through its own veth: without it, 10.99.0.2 would route out of the
# machine's default gateway, to a host that is not ours.
host2_answers() {
  [ -e /run/netns/hvagent-host2 ] && ip link show hv-veth1 >/dev/null 2>&1 && answers "$HOST2_URI"
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.1 s until it succeeds.
wait_for() {
  local deadline=$(( $(now_ms) + $1 * 1000 )) what=$2
  shift 2
  until "$@"; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
  log "ready: $what"
}

missing_packages() {
  local p status
  for p in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = installed ] || echo "$p"
  done
}

apt_lists_present() { compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; }

do_install() {
  local t missing
  t=$(now_ms)
  missing=$(missing_packages)
  if [ -z "$missing" ]; then
    log "install: all ${#PACKAGES[@]} packages already installed ($(elapsed "$t"))"
    return
  fi
  log "install: missing: $(echo $missing)"
  apt_lists_present || apt-get -o DPkg::Lock::Timeout=600 update -q \
    || die "apt-get update failed"
  # Keep maintainer scripts from starting libvirtd through /etc/init.d: it would run
  # without the LXC workaround below, and `start` would then find it "already running".
  local policy_added=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    policy_added=1
  fi
  local rc=0
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing || rc=$?
  [ -z "$policy_added" ] || rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get install failed (exit $rc) for: $(echo $missing)"
  missing=$(missing_packages)
  [ -z "$missing" ] || die "still not installed after apt-get: $(echo $missing)"
  log "install: done ($(elapsed "$t"))"
}

require() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || die "'$c' not found; run: $0 install"
  done
}

# Without udev, /dev/kvm stays root:root 0600. libvirt then finds KVM "not usable" by the
# libvirt-qemu user yet recorded as present by its QEMU probe, declares its capabilities
# cache outdated on EVERY lookup and re-probes QEMU: `virsh capabilities` takes ~8 s instead
# of ~10 ms. Apply what Debian's udev rule would (group kvm, mode 0660).
fix_kvm_device_permissions() {
  [ -c /dev/kvm ] || return 0
  getent group kvm >/dev/null || return 0
  if [ "$(stat -c '%G %a' /dev/kvm)" != "kvm 660" ]; then
    chgrp kvm /dev/kvm && chmod 660 /dev/kvm || die "cannot set group kvm, mode 0660 on /dev/kvm"
    log "/dev/kvm set to group kvm, mode 0660 (as udev would; keeps libvirt's caps cache valid)"
  fi
}

do_start() {
  local t
  t=$(now_ms)
  require virtlogd libvirtd virsh unshare mountpoint
  if alive /run/virtlogd.pid; then
    log "virtlogd already running (pid $(cat /run/virtlogd.pid))"
  else
    # qemu.conf's default stdio_handler is "logd": QEMU guests cannot start without it.
    virtlogd -d 9>&- || die "virtlogd -d failed"
    log "virtlogd started"
  fi
  fix_kvm_device_permissions
  if alive /run/libvirtd.pid; then
    log "libvirtd already running (pid $(cat /run/libvirtd.pid))"
    if mountpoint -q /sys/fs/cgroup/unified \
       && grep -q ' /sys/fs/cgroup/unified ' "/proc/$(cat /run/libvirtd.pid)/mountinfo"; then
      log "WARNING: this libvirtd sees /sys/fs/cgroup/unified, so lxc:/// guests will not start;" \
          "run '$0 stop start' to restart it with the workaround"
    fi
  elif mountpoint -q /sys/fs/cgroup/unified; then
    # On the hybrid cgroup v1+v2 layout the LXC driver fails with "Unable to create
    # directory /sys/fs/cgroup/unified". Hiding the cgroup2 mount in libvirtd's own mount
    # namespace fixes LXC; QEMU does not care. Slave propagation keeps host mounts visible.
    unshare -m --propagation slave sh -c 'umount /sys/fs/cgroup/unified && exec libvirtd -d' 9>&- \
      || die "libvirtd (in cgroup-workaround mount namespace) failed to start"
    log "libvirtd started (mount namespace without /sys/fs/cgroup/unified, for LXC)"
  else
    libvirtd -d 9>&- || die "libvirtd -d failed"
    log "libvirtd started"
  fi
  wait_for 60 "$SYSTEM_URI answers" answers "$SYSTEM_URI" \
    || die "$SYSTEM_URI did not answer within 60 s (see /var/log/libvirt/libvirtd.log)"
  local net_info
  # Captured, not piped into grep -q: with pipefail, grep's early exit fails the pipeline.
  if net_info=$(virsh -c "$SYSTEM_URI" net-info default 2>/dev/null); then
    if [[ $net_info =~ Active:[[:space:]]+yes ]]; then
      log "network default already active"
    else
      virsh -c "$SYSTEM_URI" net-start default >/dev/null || die "virsh net-start default failed"
      log "network default started"
    fi
  else
    log "network default is not defined; leaving networks alone"
  fi
  log "start: done ($(elapsed "$t"))"
}

download_kernel() { # DIR: leaves DIR/vmlinuz and DIR/modules/*.ko
  local dir=$1 pkg work m
  pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null \
        | awk '/Depends: linux-image-/{print $2; exit}')
  if [ -z "$pkg" ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -q || die "apt-get update failed"
    pkg=$(apt-cache depends linux-image-cloud-amd64 \
          | awk '/Depends: linux-image-/{print $2; exit}')
  fi
  [ -n "$pkg" ] || die "cannot resolve the Debian cloud kernel package (linux-image-cloud-amd64)"
  work=$(mktemp -d "$dir/kernel.XXXXXX")
  # Root downloads directly: _apt cannot write into this root-owned directory.
  (cd "$work" && apt-get -o APT::Sandbox::User=root download -q "$pkg") || die "apt-get download $pkg failed"
  # Unpack without installing: no postinst, no initramfs-tools, host /boot untouched.
  dpkg-deb -x "$work"/*.deb "$work/x" || die "dpkg-deb -x failed for $pkg"
  mkdir -p "$dir/modules"
  for m in "${GUEST_MODULES[@]}"; do
    cp "$work"/x/lib/modules/*/kernel/"$m" "$dir/modules/" || die "module $m missing in $pkg"
  done
  cp "$work"/x/boot/vmlinuz-* "$dir/vmlinuz.tmp" && mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
  echo "$pkg" > "$dir/kernel-package"
  rm -rf "$work"
}

modules_cached() { # DIR: every module of GUEST_MODULES is in DIR/modules
  local m
  for m in "${GUEST_MODULES[@]}"; do [ -f "$1/modules/$(basename "$m")" ] || return 1; done
}

install_busybox() { # ROOT
  local root=$1 bb a
  bb=$(command -v busybox) || die "busybox not found; run: $0 install"
  mkdir -p "$root/bin"
  cp "$bb" "$root/bin/busybox"
  for a in $("$bb" --list); do
    [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
  done
}

build_initrd() { # DIR: DIR/initrd.img from busybox + DIR/modules
  local dir=$1 r m
  r=$(mktemp -d "$dir/initrd.XXXXXX")
  mkdir -p "$r"/{etc/acpi/PWRF,proc,sys,dev,tmp,lib/modules}
  install_busybox "$r"
  for m in "${GUEST_MODULES[@]}"; do cp "$dir/modules/$(basename "$m")" "$r/lib/modules/"; done
  # acpid's output goes to /dev/null: the handler writes to the console itself.
  printf '#!/bin/sh\necho "GUEST: ACPI power button -> poweroff" >/dev/console\nsync\npoweroff -f\n' \
    > "$r/etc/acpi/PWRF/00000080"
  cat > "$r/etc/udhcpc.sh" <<'EOF'
#!/bin/sh
case "$1" in bound|renew)
  ip addr flush dev $interface; ip addr add $ip/${mask:-24} dev $interface
  [ -n "$router" ] && ip route add default via ${router%% *} dev $interface ;;
esac
EOF
  cat > "$r/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_balloon virtio_blk failover net_failover virtio_net evdev button; do
  insmod /lib/modules/$m.ko || echo "GUEST: insmod $m failed"; done
echo "GUEST: BOOT OK kernel=$(uname -r) uptime=$(cut -d' ' -f1 /proc/uptime)"
echo "GUEST: block devices: $(ls /sys/block | tr '\n' ' ')"
echo "GUEST: net: $(ls /sys/class/net | tr '\n' ' ')"
# Foreground-mode acpid in the background: the daemonised form never completed a shutdown.
# guest_noacpid on the kernel command line: a guest that ignores the ACPI power button.
if grep -q guest_noacpid /proc/cmdline; then echo "GUEST: acpid not started (guest_noacpid)"
else acpid -d -c /etc/acpi >/dev/null 2>&1 & fi
ip link set lo up
if [ -e /sys/class/net/eth0 ]; then ip link set eth0 up
  # TCG guests are slow: a short udhcpc timeout gives up before the lease arrives.
  (udhcpc -i eth0 -n -q -t 20 -T 2 -s /etc/udhcpc.sh >/dev/null 2>&1 && echo "GUEST: dhcp ok $(ip -4 -o addr show eth0 | awk '{print $4}')") &
fi
# guest_netwatch: report NICs that appear (hot-plugged) or disappear later, and run
# udhcpc on each new one. Polling /sys: this initramfs has no udev or mdev hotplug helper.
if grep -q guest_netwatch /proc/cmdline; then
  (known=" $(ls /sys/class/net | tr '\n' ' ')"
   while true; do
     now=" $(ls /sys/class/net | tr '\n' ' ')"
     for i in $now; do case "$known" in *" $i "*) ;; *)
       echo "GUEST: nic $i $(cat /sys/class/net/$i/address)"; ip link set "$i" up
       (udhcpc -i "$i" -n -q -t 20 -T 2 -s /etc/udhcpc.sh >/dev/null 2>&1 \
          && echo "GUEST: dhcp ok $i $(ip -4 -o addr show "$i" | awk '{print $4}')") & ;; esac; done
     for i in $known; do case "$now" in *" $i "*) ;; *) echo "GUEST: nic gone $i" ;; esac; done
     known=$now; sleep 1
   done) &
fi
# Firewall tests (docs/NETWORKS.md): guest_listen=P1,P2 serves "GUEST PORT P" over HTTP on
# each port; guest_probe=HOST:PORT:SPOOF sends, every second, one UDP probe to HOST:PORT from
# the address eth0 leased and one from SPOOF (added to eth0 for the purpose), so the host
# can tell which of them the NIC's filter lets through.
for arg in $(cat /proc/cmdline); do case "$arg" in
  guest_listen=*)
    for p in $(echo "${arg#guest_listen=}" | tr ',' ' '); do
      mkdir -p "/www/$p" && echo "GUEST PORT $p" > "/www/$p/index.html"
      httpd -p "$p" -h "/www/$p" && echo "GUEST: listening on $p"
    done ;;
  guest_probe=*)
    set -- $(echo "${arg#guest_probe=}" | tr ':' ' ')
    (until ip -4 -o addr show eth0 2>/dev/null | grep -q inet; do sleep 1; done
     ip addr add "$3/32" dev eth0
     echo "GUEST: probing $1:$2 from $3 too"
     # traceroute sends its first probe to the base port + 1.
     while true; do
       traceroute -n -m 1 -q 1 -w 1 -s "$3" -p $(($2 - 1)) "$1" >/dev/null 2>&1
       traceroute -n -m 1 -q 1 -w 1 -p $(($2 - 1)) "$1" >/dev/null 2>&1
       sleep 1
     done) & ;;
esac; done
echo "GUEST: READY"
if grep -q guest_tick /proc/cmdline; then while true; do echo "GUEST: tick uptime=$(cut -d' ' -f1 /proc/uptime)"; sleep 2; done; fi
while true; do sleep 3600; done
EOF
  chmod +x "$r/init" "$r/etc/udhcpc.sh" "$r/etc/acpi/PWRF/00000080"
  # Debian has no cpio binary by default; busybox has one.
  (cd "$r" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$dir/initrd.img.tmp" \
    || die "building initramfs failed"
  mv "$dir/initrd.img.tmp" "$dir/initrd.img"
  rm -rf "$r"
}

build_ct_rootfs() { # DIR: DIR/ct-rootfs, a busybox root for libvirt LXC
  local dir=$1 c
  c=$(mktemp -d "$dir/ct-rootfs.XXXXXX")
  chmod 755 "$c"
  mkdir -p "$c"/{sbin,etc,proc,sys,dev,tmp,root,run}
  install_busybox "$c"
  # PID 1 ignores signals it has no handler for, so `virsh shutdown --mode signal` needs the
  # trap; /run/ready tells callers the trap is installed.
  cat > "$c/sbin/init" <<'EOF'
#!/bin/sh
exec sh -c 'trap "rm -f /run/ready; exit 0" TERM; touch /run/ready; while true; do sleep 1 & wait; done'
EOF
  chmod +x "$c/sbin/init"
  rm -rf "$dir/ct-rootfs"
  mv "$c" "$dir/ct-rootfs"
}

do_assets() {
  local t
  t=$(now_ms)
  require apt-get dpkg-deb gzip
  mkdir -p "$ASSETS" || die "cannot create $ASSETS"
  if [ -f "$ASSETS/vmlinuz" ] && modules_cached "$ASSETS"; then
    log "assets: kernel cached ($(cat "$ASSETS/kernel-package" 2>/dev/null || echo unknown))"
  else
    download_kernel "$ASSETS"
    log "assets: kernel $(cat "$ASSETS/kernel-package") downloaded"
  fi
  if [ "$(cat "$ASSETS/recipe" 2>/dev/null)" = "$ASSETS_RECIPE" ] \
     && [ -f "$ASSETS/initrd.img" ] && [ -x "$ASSETS/ct-rootfs/sbin/init" ]; then
    log "assets: initramfs and LXC rootfs cached"
  else
    build_initrd "$ASSETS"
    build_ct_rootfs "$ASSETS"
    echo "$ASSETS_RECIPE" > "$ASSETS/recipe"
    log "assets: initramfs and LXC rootfs built"
  fi
  # QEMU runs as libvirt-qemu and must read the kernel and initramfs.
  chmod 755 "$ASSETS"
  chmod 644 "$ASSETS/vmlinuz" "$ASSETS/initrd.img"
  log "assets: $ASSETS ready: vmlinuz $(du -h "$ASSETS/vmlinuz" | cut -f1)," \
      "initrd.img $(du -h "$ASSETS/initrd.img" | cut -f1), ct-rootfs ($(elapsed "$t"))"
}

do_host2() {
  local t h=$HOST2_DIR
  t=$(now_ms)
  require ip nsenter unshare libvirtd virtlogd
  if host2_answers; then
    log "host2 already answers at $HOST2_URI"
    return
  fi
  [ -e /run/netns/hvagent-host2 ] || ip netns add hvagent-host2 || die "ip netns add failed"
  if ! ip link show hv-veth1 >/dev/null 2>&1; then
    ip link add hv-veth1 type veth peer name hv-veth2 || die "creating veth pair failed"
    ip link set hv-veth2 netns hvagent-host2
    ip addr add 10.99.0.1/24 dev hv-veth1
    ip link set hv-veth1 up
    ip -n hvagent-host2 addr add 10.99.0.2/24 dev hv-veth2
    ip -n hvagent-host2 link set hv-veth2 up
    ip -n hvagent-host2 link set lo up
  fi
  mkdir -p "$h"/{etc,varlib,log/qemu}
  cp -a /etc/libvirt/. "$h/etc/"
  # host2 must start empty: no domains, pools or autostarted networks copied from host1.
  rm -f "$h"/etc/qemu/*.xml "$h"/etc/qemu/networks/autostart/* "$h"/etc/storage/*.xml \
        "$h"/etc/storage/autostart/*
  cat >> "$h/etc/libvirtd.conf" <<'EOF'
listen_tls = 0
listen_tcp = 1
listen_addr = "10.99.0.2"
auth_tcp = "none"
# Must differ from host1's, or libvirt refuses migration as same-host.
host_uuid = "22222222-2222-4222-8222-222222222222"
EOF
  mkdir -p "$h"/varlib/{qemu/save,qemu/snapshot,qemu/dump,qemu/ram,qemu/nvram,qemu/checkpoint,dnsmasq,images,boot,network}
  chown -R libvirt-qemu:libvirt-qemu "$h/varlib/qemu"
  chmod 751 "$h/varlib/qemu"
  cat > "$h/start.sh" <<EOF
#!/bin/sh
set -e
hostname hvagent-host2
mount --bind $h/etc /etc/libvirt
mount --bind $h/varlib /var/lib/libvirt
mount --bind $h/log /var/log/libvirt
mount -t tmpfs tmpfs /run/libvirt
# -p: /run/virtlogd.pid belongs to host1's virtlogd.
virtlogd -d -p /run/libvirt/virtlogd.pid
exec libvirtd -d -l -p /run/libvirt/libvirtd.pid
EOF
  chmod +x "$h/start.sh"
  # nsenter rather than `ip netns exec`: the latter remounts /sys and hides the cgroup mounts.
  nsenter --net=/run/netns/hvagent-host2 unshare -m -u --propagation private "$h/start.sh" 9>&- \
    || die "starting host2 libvirtd failed"
  wait_for 60 "$HOST2_URI answers" answers "$HOST2_URI" \
    || die "host2 did not answer at $HOST2_URI within 60 s"
  log "host2: up as $(virsh -c "$HOST2_URI" hostname) ($(elapsed "$t"))"
}

# stop_pidfile FILE NAME: SIGTERM, then wait until the process is gone or a zombie.
stop_pidfile() {
  local pid
  if ! alive "$1"; then
    log "$2 not running"
    return
  fi
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  wait_for 30 "$2 (pid $pid) exited" eval "! alive $1" || {
    kill -9 "$pid" 2>/dev/null || true
    log "$2 (pid $pid) killed with SIGKILL after 30 s"
  }
}

do_stop() {
  local t d pid
  t=$(now_ms)
  if [ -e /run/netns/hvagent-host2 ]; then
    for pid in $(ip netns pids hvagent-host2); do kill "$pid" 2>/dev/null || true; done
    wait_for 30 "host2 processes exited" eval '[ -z "$(ip netns pids hvagent-host2)" ]' || true
    ip netns del hvagent-host2 || true
    log "host2 stopped"
  fi
  ip link del hv-veth1 2>/dev/null || true
  if answers "$SYSTEM_URI"; then
    # libvirtd leaves QEMU guests and dnsmasq running when it exits; stop means stop.
    for d in $(virsh -c "$SYSTEM_URI" list --name); do
      virsh -c "$SYSTEM_URI" destroy "$d" >/dev/null && log "destroyed qemu domain $d"
    done
    for d in $(virsh -c lxc:/// list --name 2>/dev/null); do
      virsh -c lxc:/// destroy "$d" >/dev/null && log "destroyed lxc domain $d"
    done
    virsh -c "$SYSTEM_URI" net-destroy default >/dev/null 2>&1 && log "network default stopped"
  fi
  stop_pidfile /run/libvirtd.pid libvirtd
  stop_pidfile /run/virtlogd.pid virtlogd
  log "stop: done ($(elapsed "$t"))"
}

do_status() {
  local rc=0 s
  for s in virtlogd libvirtd; do
    if alive "/run/$s.pid"; then log "$s: running (pid $(cat "/run/$s.pid"))"
    else log "$s: not running"; fi
  done
  if answers "$SYSTEM_URI"; then
    log "$SYSTEM_URI: answers ($(virsh -c "$SYSTEM_URI" version 2>/dev/null | grep hypervisor: | sed 's/.*: //'))"
    log "network default: $(virsh -c "$SYSTEM_URI" net-info default 2>/dev/null \
                             | awk '/^Active:/{print ($2=="yes" ? "active" : "inactive")}' || true)"
  else
    log "$SYSTEM_URI: does not answer"
    rc=3
  fi
  if answers lxc:///; then log "lxc:///: answers"; else log "lxc:///: does not answer"; fi
  if host2_answers; then log "host2: answers at $HOST2_URI"; else log "host2: not running"; fi
  if [ -f "$ASSETS/vmlinuz" ] && [ -f "$ASSETS/initrd.img" ]; then log "assets: present in $ASSETS"
  else log "assets: missing in $ASSETS"; fi
  return $rc
}

[ $# -gt 0 ] || die "usage: $0 install|start|assets|host2|status|stop ..."
[ "$(id -u)" = 0 ] || die "must run as root (starts system daemons, installs packages)"
# Serialise steps across concurrent callers (parallel test runs share one libvirtd).
# Daemons are started with 9>&- so they do not inherit, and hold forever, this lock.
exec 9>"$LOCK_FILE" || die "cannot open lock file $LOCK_FILE"
flock -w 900 9 || die "timed out waiting for $LOCK_FILE held by another libvirt-setup run"
for step in "$@"; do
  case $step in
    install) do_install ;;
    start) do_start ;;
    assets) do_assets ;;
    host2) do_host2 ;;
    stop) do_stop ;;
    status) do_status ;;
    *) die "unknown step '$step' (expected install|start|assets|host2|status|stop)" ;;
  esac
done

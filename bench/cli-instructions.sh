#!/bin/bash
# P4 (small host) in instructions: `hvagent vm list` through the command line against `node
# -e 0` plus `virsh list --all`, each process counted by valgrind (callgrind). Wall time on a
# shared machine moves with its load; instruction counts do not. They leave out the time
# spent in libvirtd, which answers both sides alike. The agent is counted without its
# children (valgrind makes them slow, and the agent's idle V8 threads then do more work
# than they would), and the two virsh processes it starts (in parallel) are counted as it
# runs them. An empty environment, as the other benches use (NODE_EXTRA_CA_CERTS alone
# would add 330 million instructions to every Node process).
#
#   bench/cli-instructions.sh [runs]      (default 3; needs valgrind, a built checkout and libvirtd)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=$(mktemp -d /tmp/hv-p4i-XXXXXX)
trap 'rm -rf "$work"' EXIT

# count COMMAND...: the instructions COMMAND ran (not its children).
count() {
  env -i PATH="$PATH" valgrind --tool=callgrind --callgrind-out-file=/dev/null --log-file="$work/log" "$@" >/dev/null 2>&1
  sed -n 's/.*Collected : //p' "$work/log"
}
m() { awk -v n="$1" 'BEGIN { printf "%.1fM", n / 1e6 }'; }

for _ in $(seq "$runs"); do
  node=$(count node -e 0)
  virsh=$(count virsh -c qemu:///system list --all)
  agent=$(count node dist/hvagent.cjs vm list)
  domstats=$(count virsh -c qemu:///system domstats --raw --state --balloon --vcpu)
  lxc=$(count virsh -c lxc:///system list --all --name)
  awk -v n="$node" -v v="$virsh" -v a="$agent" -v d="$domstats" -v l="$lxc" 'BEGIN {
    printf "node -e 0 %.1fM + virsh list --all %.1fM = %.1fM | hvagent vm list %.1fM + its virsh domstats %.1fM and lxc list %.1fM | ratio: agent + one virsh %.3f, all three %.3f\n",
      n / 1e6, v / 1e6, (n + v) / 1e6, a / 1e6, d / 1e6, l / 1e6, (a + d) / (n + v), (a + d + l) / (n + v) }'
done

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
# Then the same `vm list` with a private `hvagent serve` running (HVAGENT_SOCKET names its
# socket; its jobs and locks under the scratch directory): the command line hands the
# request to it and starts no virsh. Counted is the command line's own process only: the
# server's work (its virsh, its dispatch) is not the command line's, and a server answers
# every caller with what it already has loaded. That line leaves out V8's hash-seed
# primality tests (`detail::sprp`, ±5 M between identical runs) on both sides, as
# bench/startup-instructions.sh does.
#
#   bench/cli-instructions.sh [runs]      (default 3; needs valgrind, a built checkout and libvirtd)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=$(mktemp -d /tmp/hv-p4i-XXXXXX)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# count COMMAND...: the instructions COMMAND ran (not its children).
count() {
  env -i PATH="$PATH" valgrind --tool=callgrind --callgrind-out-file=/dev/null --log-file="$work/log" "$@" >/dev/null 2>&1
  sed -n 's/.*Collected : //p' "$work/log"
}
# count_without_sprp COMMAND...: the same, less V8's hash-seed primality tests.
count_without_sprp() {
  local total sprp
  env -i PATH="$PATH" "${server_env[@]}" valgrind --tool=callgrind --callgrind-out-file="$work/cg" --log-file="$work/log" "$@" >"$work/out" 2>&1
  total=$(sed -n 's/.*Collected : //p' "$work/log")
  sprp=$(callgrind_annotate "$work/cg" 2>/dev/null | awk '/detail::sprp/ { gsub(",", "", $1); print $1 }')
  rm -f "$work/cg"
  echo $((total - ${sprp:-0}))
}

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

# With `hvagent serve` running: started once, its stdout read until it says it listens.
printf 'paths: { jobs_dir: %s/jobs, lock_dir: %s/locks }\n' "$work" "$work" >"$work/hvagent.yaml"
env -i PATH="$PATH" HVAGENT_CONFIG="$work/hvagent.yaml" node dist/hvagent.cjs serve --listen "unix:$work/s.sock" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 600); do
  grep -q 'listening on' "$work/serve.log" && break
  kill -0 "$server" 2>/dev/null || { echo "hvagent serve exited: $(cat "$work/serve.log")" >&2; exit 1; }
  sleep 0.1
done
grep -q 'listening on' "$work/serve.log" || { echo "hvagent serve did not listen within 60 s" >&2; exit 1; }
server_env=()
for _ in $(seq "$runs"); do
  node=$(count_without_sprp node -e 0)
  virsh=$(count_without_sprp virsh -c qemu:///system list --all)
  server_env=(HVAGENT_SOCKET="$work/s.sock" HVAGENT_CONFIG="$work/hvagent.yaml")
  agent=$(count_without_sprp node dist/hvagent.cjs vm list)
  server_env=()
  # The server answered it (it ran no virsh of its own): the table's header came back.
  grep -q '^NAME' "$work/out" || { echo "unexpected output of vm list handed to the server: $(cat "$work/out")" >&2; exit 1; }
  awk -v n="$node" -v v="$virsh" -v a="$agent" 'BEGIN {
    printf "without detail::sprp: node -e 0 %.1fM + virsh list --all %.1fM = %.1fM | hvagent vm list handed to hvagent serve %.1fM (the command line only) | ratio %.3f\n",
      n / 1e6, v / 1e6, (n + v) / 1e6, a / 1e6, a / (n + v) }'
done

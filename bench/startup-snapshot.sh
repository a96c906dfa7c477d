#!/bin/bash
# P1 and P4 (CLI) through a trial V8 start-up snapshot of the agent (bench/snapshot-entry.cjs)
# against today's loader (scripts/loader.cjs with its code caches) and `node -e 0`: a
# measurement of a lever that was tried and not kept (docs/PERFORMANCE.md, P1).
#
# Instructions (callgrind, empty environment): raw, V8's hash-seed prime search
# (detail::sprp, under HashSeed::InitializeRoots: 5-26 M, different in every process, paid by
# every Node process) and the rest. A blob is refused by a Node whose V8 flags differ from
# the builder's, and valgrind's CPU changes them, so the blobs counted here are built under
# valgrind (`--tool=none`); run natively they would exit 14 at once, which is what an
# instruction count of a natively built blob under valgrind measures (17 M). Wall: the
# natively built blobs, alternated with the others in each round (order reversed every other
# round), median of the per-round ratios to `node -e 0`, with the load average.
#
#   bench/startup-snapshot.sh [runs] [rounds]   (default 2 counted runs, 100 wall rounds;
#                                                valgrind, a built checkout, libvirtd for vm list)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runs=${1:-2}
rounds=${2:-100}
work=$(mktemp -d /tmp/hv-snapshot-XXXXXX)
trap 'rm -rf "$work"' EXIT
printf '%s' '{"protocol":"io.choria.mcorpc.external.v1.rpc_request","agent":"host","action":"info","requestid":"b","data":{"bogus":1}}' >"$work/request"
echo "require('node:v8').startupSnapshot.setDeserializeMainFunction(() => {});" >"$work/trivial.cjs"
choria=(CHORIA_EXTERNAL_REQUEST="$work/request" CHORIA_EXTERNAL_REPLY="$work/reply" CHORIA_EXTERNAL_PROTOCOL=io.choria.mcorpc.external.v1.rpc_request)

# blob NAME [ENV...]: the agent's snapshot NAME.blob (native) and NAME.vg.blob (built under valgrind).
blob() {
  local name=$1
  shift
  env -i PATH="$PATH" HVAGENT_SNAPSHOT_DIST="$repo/dist" "$@" node --snapshot-blob "$work/$name.blob" --build-snapshot "$repo/bench/snapshot-entry.cjs" 2>/dev/null
  env -i PATH="$PATH" HVAGENT_SNAPSHOT_DIST="$repo/dist" "$@" valgrind --tool=none --log-file=/dev/null node --snapshot-blob "$work/$name.vg.blob" --build-snapshot "$repo/bench/snapshot-entry.cjs" 2>/dev/null
}
node --snapshot-blob "$work/trivial.blob" --build-snapshot "$work/trivial.cjs"
valgrind --tool=none --log-file=/dev/null node --snapshot-blob "$work/trivial.vg.blob" --build-snapshot "$work/trivial.cjs"
blob refusal HVAGENT_SNAPSHOT_DDL=agent-host HVAGENT_SNAPSHOT_WARM=1
blob list HVAGENT_SNAPSHOT_DDL=agent-host,agent-vm HVAGENT_SNAPSHOT_ACTIONS=1 HVAGENT_SNAPSHOT_WARM=1
ls -l "$work"/*.blob | awk '{ printf "%s %.2f MB\n", $NF, $5 / 1e6 }' | sed "s|$work/||"

# count LABEL [NAME=VALUE...] COMMAND...: raw instructions, the sprp part, the rest (the process only, not its children).
count() {
  local label=$1 total sprp
  local -a vars=()
  shift
  while [[ $1 == *=* ]]; do vars+=("$1"); shift; done
  env -i PATH="$PATH" "${vars[@]}" valgrind --tool=callgrind --callgrind-out-file="$work/cg" --log-file="$work/log" "$@" >"$work/out" 2>&1 ||
    { echo "$label failed: $(tail -3 "$work/out")" >&2; exit 1; }
  total=$(sed -n 's/.*Collected : //p' "$work/log")
  sprp=$(callgrind_annotate "$work/cg" 2>/dev/null | awk '/detail::sprp/ { gsub(",", "", $1); print $1 }')
  awk -v l="$label" -v t="$total" -v s="${sprp:-0}" 'BEGIN { printf "%-28s raw %6.1fM  sprp %5.1fM  net %6.1fM\n", l, t / 1e6, s / 1e6, (t - s) / 1e6 }'
}
listed() { grep -q '^NAME ' "$work/out" || { echo "vm list printed no table: $(cat "$work/out")" >&2; exit 1; }; }
refused() { grep -q INPUT_UNDECLARED "$work/reply" || { echo "unexpected reply: $(cat "$work/reply")" >&2; exit 1; }; rm -f "$work/reply"; }

for _ in $(seq "$runs"); do
  count 'node -e 0' node -e 0
  count 'trivial snapshot' node --snapshot-blob "$work/trivial.vg.blob"
  count 'refusal, loader' "${choria[@]}" node dist/hvagent.cjs && refused
  count 'refusal, snapshot' "${choria[@]}" node --snapshot-blob "$work/refusal.vg.blob" - && refused
  count 'vm list, loader' node dist/hvagent.cjs vm list && listed
  count 'vm list, snapshot' node --snapshot-blob "$work/list.vg.blob" - vm list && listed
done

echo "wall, $rounds rounds; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
WORK="$work" ROUNDS="$rounds" node --input-type=module - <<'EOF'
import { spawnSync } from 'node:child_process';
const work = process.env.WORK;
const env = { PATH: process.env.PATH, CHORIA_EXTERNAL_REQUEST: `${work}/request`, CHORIA_EXTERNAL_REPLY: `${work}/reply`, CHORIA_EXTERNAL_PROTOCOL: 'io.choria.mcorpc.external.v1.rpc_request' };
const runs = [
  ['node -e 0', ['-e', '0']],
  ['trivial snapshot', ['--snapshot-blob', `${work}/trivial.blob`]],
  ['refusal, loader', ['dist/hvagent.cjs']],
  ['refusal, snapshot', ['--snapshot-blob', `${work}/refusal.blob`, '-']],
];
const times = runs.map(() => []);
for (let round = 0; round < Number(process.env.ROUNDS); round++) {
  const order = round % 2 ? [...runs.keys()].reverse() : [...runs.keys()];
  for (const i of order) {
    const start = process.hrtime.bigint();
    const result = spawnSync('node', runs[i][1], { env, stdio: 'ignore' });
    times[i].push(Number(process.hrtime.bigint() - start) / 1e6);
    if (result.status !== 0) throw new Error(`${runs[i][0]} exited ${result.status ?? result.signal}`);
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const [i, [label]] of runs.entries()) {
  console.log(`${label.padEnd(28)} median ${median(times[i]).toFixed(1)} ms, ÷ node -e 0 ${median(times[i].map((t, round) => t / times[0][round])).toFixed(3)}`);
}
EOF
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

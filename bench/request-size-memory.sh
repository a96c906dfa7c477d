#!/bin/sh
# Peak resident memory (VmHWM) of the agent answering a 600 MB request on each protocol:
# stdio (one request, and a stream line), the MCollective and Choria request files (sparse:
# no disk used), beside a small request for comparison. Usage: bench/request-size-memory.sh [DIST]
# (DIST: the directory holding hvagent.cjs, default dist/ of this checkout).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
dist=${1:-$here/dist}
preload=$here/test/fixtures/peak-memory.cjs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
megabytes=600
agent() { HVAGENT_TEST_PEAK_FILE=$work/peak node --require "$preload" "$dist/hvagent.cjs" "$@"; }
oversized() {
  node -e '
    const out = process.stdout.on("error", () => {}), block = Buffer.alloc(1 << 20, "A");
    let left = Number(process.argv[1]);
    out.write(process.argv[2]);
    const more = () => { while (left > 0) { left -= 1; if (!out.write(block)) return out.once("drain", more); } out.end(process.argv[3]); };
    more();' "$megabytes" "$1" "$2"
}
report() { printf '%-32s %8s kB  %s\n' "$1" "$(cat "$work/peak" 2>/dev/null || echo none)" "$(head -c 120 "$work/out" | tr '\n' ' ')"; rm -f "$work/peak"; }

echo '{"agent":"host","action":"nope"}' | agent rpc > "$work/out" 2>&1 || true
report 'stdio, a small request' 
oversized '{"agent":"host","action":"info","data":{"x":"' '"}}' | agent rpc > "$work/out" 2>&1 || true
report "stdio, ${megabytes} MB"
oversized '{"agent":"host","action":"info","data":{"x":"' '"}}
{"agent":"host","action":"nope"}
' | agent rpc --stream > "$work/out" 2>&1 || true
report "stdio --stream, a ${megabytes} MB line"
printf '{"agent":"host","action":"info","data":{"x":"' > "$work/request"
truncate -s "${megabytes}M" "$work/request"
: > "$work/reply"
MCOLLECTIVE_REQUEST_FILE=$work/request MCOLLECTIVE_REPLY_FILE=$work/reply agent "$work/request" "$work/reply" > "$work/out" 2>&1 || true
report "MCollective file, ${megabytes} MB"
env -i PATH="$PATH" HVAGENT_TEST_PEAK_FILE="$work/peak" CHORIA_EXTERNAL_PROTOCOL=io.choria.mcorpc.external.v1.rpc_request \
  CHORIA_EXTERNAL_REQUEST="$work/request" CHORIA_EXTERNAL_REPLY="$work/reply" \
  node --require "$preload" "$dist/hvagent.cjs" "$work/request" "$work/reply" io.choria.mcorpc.external.v1.rpc_request > "$work/out" 2>&1 || true
cat "$work/reply" >> "$work/out"
report "Choria file, ${megabytes} MB"

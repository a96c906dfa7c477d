#!/bin/bash
# P1 in instructions: one external-agent request refused by validation (the installed agent,
# invoked as Choria invokes it) against `node -e 0`, counted by valgrind (callgrind). Wall
# time on a shared machine moves with its load; instruction counts do not. V8 seeds its hash
# tables with random primes and tests them (detail::sprp), which varies by millions of
# instructions between identical runs: those are left out, and what remains repeats to ~0.1%.
#
#   bench/startup-instructions.sh [runs]      (default 3; needs valgrind; a built checkout)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
work=$(mktemp -d /tmp/hv-p1i-XXXXXX)
trap 'rm -rf "$work"' EXIT
agent/hvagent install choria "$work/install" >/dev/null
printf '%s' '{"protocol":"io.choria.mcorpc.external.v1.rpc_request","agent":"host","action":"info","requestid":"b","data":{"bogus":1}}' >"$work/request"

count() {
  local out="$work/cg" total sprp=0 file each
  total=$(valgrind --trace-children=yes --tool=callgrind --callgrind-out-file="$out.%p" "$@" 2>&1 | sed -n 's/.*Collected : //p' | tail -1)
  for file in "$out".*; do
    each=$(callgrind_annotate "$file" 2>/dev/null | awk '/detail::sprp/ { gsub(",", "", $1); print $1 }')
    sprp=$((sprp + ${each:-0}))
  done
  rm -f "$out".*
  echo $((total - sprp))
}

for _ in $(seq "$runs"); do
  node=$(count env -i PATH="$PATH" node -e 0)
  agent=$(count env -i PATH="$PATH" CHORIA_EXTERNAL_REQUEST="$work/request" CHORIA_EXTERNAL_REPLY="$work/reply" \
    CHORIA_EXTERNAL_PROTOCOL=io.choria.mcorpc.external.v1.rpc_request "$work/install/mcollective/agent/host" "$work/request" "$work/reply" x)
  grep -q INPUT_UNDECLARED "$work/reply" || { echo "unexpected reply: $(cat "$work/reply")" >&2; exit 1; }
  awk -v n="$node" -v a="$agent" 'BEGIN { printf "node -e 0 %d  agent %d  ratio %.3f\n", n, a, a / n }'
done

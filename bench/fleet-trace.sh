#!/bin/bash
# P6, traced: where a handed-over request's milliseconds go, stage by stage. A private fleet
# (test/fleet/fleet.sh) whose runner copy carries bench/fleet-trace/runner-timing.rb
# (timestamps around Runner#agentmsg and #reply, the runner's run and its HTTP exchange), a
# private `hvagent serve` with bench/fleet-trace/server-timing.cjs (request to its reply: res.end, or the hand-over's reply line), and
# one mco client process alternating rpcutil ping, host agent_info, host info and vm list
# (bench/fleet-trace/client-loop.rb). Prints the client's medians per host, the stages'
# medians in mcollectived (rpcutil vs hvagent) and the server's.
#
#   bench/fleet-trace.sh [rounds] [checkout]     (default 40, this checkout; the checkout must be built)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
rounds=${1:-40}
checkout=$(cd "${2:-$repo}" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/hv-fleet-trace-XXXXXX")
export FLEET=$work/fleet NODES="hv1 hv2" PLUGIN_SRC=$work/plugin HVAGENT_SOCKET=$work/hvagent.sock
export STOMP_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server=
cleanup() {
  [ -z "$server" ] || kill "$server" 2>/dev/null || true
  "$repo/test/fleet/fleet.sh" stop --purge >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$checkout/agent/hvagent" install mcollective "$work/plugin" >/dev/null
cat "$here/fleet-trace/runner-timing.rb" >> "$work/plugin/mcollective/util/hvagent_runner.rb"
echo "paths: { jobs_dir: $work/jobs, lock_dir: $work/locks }" > "$work/hvagent.yaml"
env -i PATH="$PATH" HVAGENT_CONFIG="$work/hvagent.yaml" node -r "$here/fleet-trace/server-timing.cjs" \
  "$checkout/agent/hvagent" serve --listen "unix:$HVAGENT_SOCKET" > "$work/serve.log" 2>&1 &
server=$!
until [ -S "$HVAGENT_SOCKET" ]; do kill -0 "$server" || { cat "$work/serve.log"; exit 1; }; sleep 0.1; done
"$repo/test/fleet/fleet.sh" start >/dev/null
RUBYOPT=-W0 ruby "$here/fleet-trace/client-loop.rb" "$FLEET/client/client.cfg" "$rounds" "$work/client-walls.txt"
grep -h HVTIMING "$FLEET/hv1/mcollectived.log" "$FLEET/hv2/mcollectived.log" | sed 's/.*HVTIMING //' | python3 -c '
import collections, statistics, sys
stages = collections.defaultdict(list)
for line in sys.stdin:
    fields = line.split()
    agent = fields[0].split("=")[1]
    for pair in fields[1:]:
        name, value = pair.split("=")
        stages[("rpcutil" if agent == "rpcutil" else "hvagent", name)].append(float(value))
for (agent, name), values in sorted(stages.items()):
    print("mcollectived %-7s %-18s median %.2f ms (%d)" % (agent, name, statistics.median(values), len(values)))
'
# One request's path on the wall clock: client published -> agent got it -> reply published ->
# client received it -> client done with it (the batch's next request or the end).
grep -h HVWALL "$FLEET/hv1/mcollectived.log" "$FLEET/hv2/mcollectived.log" | sed 's/.*HVWALL //' > "$work/server-walls.txt"
python3 - "$work/client-walls.txt" "$work/server-walls.txt" <<'PY'
import collections, statistics, sys
server = {}
for line in open(sys.argv[2]):
    fields = dict(pair.split("=") for pair in line.split())
    server[(fields["id"], fields["sender"])] = (float(fields["agentmsg"]), float(fields["replied"]))
legs = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    requestid, sender, published, received, done, action = line.split()
    if (requestid, sender) not in server:
        continue
    agentmsg, replied = server[(requestid, sender)]
    kind = "rpcutil" if action.startswith("rpcutil") else action
    for name, value in (("client->agent", agentmsg - float(published)), ("agent->replied", replied - agentmsg),
                        ("replied->client", float(received) - replied), ("client processing", float(done) - float(received))):
        legs[kind][name].append(value * 1000)
for kind, named in sorted(legs.items()):
    print("%-16s %s" % (kind, "  ".join("%s %.2f" % (name, statistics.median(values)) for name, values in named.items())))
PY
kill "$server"; wait "$server" 2>/dev/null || true; server=
grep 'request to reply' "$work/serve.log"

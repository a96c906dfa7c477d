#!/bin/bash
# prepare-host.sh -- the directories hvagent's configuration names, made on a fresh host, so
# that `host usage` reports every pool as ok and templates can be imported at once: the
# directory of each file pool (dir, raw, qcow2; an LVM volume group is the operator's to
# make) and the template catalogue. Idempotent; nothing that exists is changed.
#
# It asks the built agent (agent/hvagent) for the configuration it reads itself
# (HVAGENT_CONFIG, else /etc/hvagent/hvagent.yaml, else the defaults): the pools `default`
# (/var/lib/hvagent/volumes) and `containers` (/var/lib/hvagent/containers), and the
# catalogue /var/lib/hvagent/templates.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[prepare-host] $*"; }

# Each line: MODE PATH. Pool directories 0711: QEMU (another user) opens the volumes in
# them, nobody else need list them. The catalogue 0755: its images are backing files.
wanted=$(
  { agent/hvagent host usage --json; echo; agent/hvagent template list --json; } | node -e '
    const replies = require("fs").readFileSync(0, "utf8").trim().split(/\n(?=\{)/).map((text) => JSON.parse(text));
    for (const reply of replies) if (reply.statuscode !== 0) { console.error(reply.statusmsg); process.exit(1); }
    const [usage, templates] = replies.map((reply) => reply.data);
    for (const pool of usage.storage_pools) {
      if (pool.plugin !== "lvm" && pool.location && pool.status === "missing") console.log(`0711 ${pool.location}`);
    }
    console.log(`0755 ${templates.catalogue}`);
  '
)
while read -r mode path; do
  [ -n "$path" ] || continue
  if [ -d "$path" ]; then continue; fi
  mkdir -p "$path"
  chmod "$mode" "$path"
  log "made $path"
done <<< "$wanted"

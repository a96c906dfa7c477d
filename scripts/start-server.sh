#!/bin/bash
# start-server.sh -- starts `hvagent serve` from this checkout (scripts/setup.sh runs it when
# HVAGENT_START_SERVER=1). Where systemd runs: packaging/hvagent.service, ExecStart pointed at
# this checkout, enabled and started. Elsewhere (containers, CI): in the background, detached,
# unless a server already answers; it returns once the server listens.
#
#   HVAGENT_SERVER_LISTEN    --listen value (default unix:/run/hvagent/hvagent.sock)
#   HVAGENT_SERVER_PIDFILE   default /run/hvagent/serve.pid
#   HVAGENT_SERVER_LOG       default /var/log/hvagent/serve.log
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[start-server] $*"; }
agent="$PWD/agent/hvagent"
listen="${HVAGENT_SERVER_LISTEN:-unix:/run/hvagent/hvagent.sock}"
pidfile="${HVAGENT_SERVER_PIDFILE:-/run/hvagent/serve.pid}"
logfile="${HVAGENT_SERVER_LOG:-/var/log/hvagent/serve.log}"

if [ -d /run/systemd/system ] && [ -z "${HVAGENT_SERVER_LISTEN:-}" ]; then
  sed "s|^ExecStart=.*|ExecStart=$agent serve|" packaging/hvagent.service > /etc/systemd/system/hvagent.service
  systemctl daemon-reload
  systemctl enable --now hvagent.service
  log "hvagent.service enabled and started"
  exit 0
fi

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  log "already running (pid $(cat "$pidfile"))"
  exit 0
fi
mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
setsid "$agent" serve --listen "$listen" >>"$logfile" 2>&1 < /dev/null &
echo $! > "$pidfile"
for _ in $(seq 1 100); do
  if grep -q "listening on ${listen}" "$logfile" 2>/dev/null; then log "listening on $listen (pid $(cat "$pidfile"), log $logfile)"; exit 0; fi
  kill -0 "$(cat "$pidfile")" 2>/dev/null || break
  sleep 0.1
done
log "ERROR: the server did not start; the end of $logfile:" >&2
tail -n 20 "$logfile" >&2 || true
exit 1

#!/bin/bash
# fleet.sh - a real MCollective 2.12 fleet on one machine, for hvagent's end-to-end tests:
# one ActiveMQ broker (STOMP, localhost only) + N stock mcollectived servers, psk security.
#
#   fleet.sh install   apt-get the packages (Debian 12, root); no-op when already installed
#   fleet.sh start     start broker + servers; returns once every server answers a directed ping
#   fleet.sh stop      stop what `start` started, by pid file only; --purge also deletes $FLEET
#   fleet.sh status    show what runs; exit 0 only if broker and every server are alive
#
# Environment:
#   FLEET=${TMPDIR:-/tmp}/hvagent-fleet   state directory (configs, logs, pids, libdirs)
#   NODES="hv1 hv2"                       server identities
#   PLUGIN_SRC=dir[:dir...]               each dir holds mcollective/{agent,util}/...; merged in
#                                         order into $FLEET/plugins = every server's libdir and
#                                         the client's libdir (required by start)
#   STOMP_PORT                            broker port; default: first free port from 61613
#   PSK=hvagent-fleet-psk                 psk shared secret
#   READY_TIMEOUT=120                     seconds to wait for broker / servers
#   NODE_ENV_<identity>="KEY=VALUE ..."   extra environment of that server alone (its agents
#                                         inherit it), e.g. its own HVAGENT_CONFIG
#
# mcollectived runs as shipped (/usr/sbin/mcollectived, no `ruby -r` shim, RUBYOPT unset), so
# the tests prove that hvagent's runner works on stock MCollective with Ruby 3.
# Client: mco <app> ... --config $FLEET/client/client.cfg   (or $FLEET/bin/mco)
set -euo pipefail

FLEET=${FLEET:-${TMPDIR:-/tmp}/hvagent-fleet}
NODES=${NODES:-"hv1 hv2"}
PSK=${PSK:-hvagent-fleet-psk}
READY_TIMEOUT=${READY_TIMEOUT:-120}
MQ_USER=mcollective
MQ_PASS=marionette
NODEFILE=$FLEET/client/nodes.txt
CLIENT_CFG=$FLEET/client/client.cfg
AMQ=$FLEET/activemq

now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }
log() { echo "[fleet] $*"; }
die() { echo "[fleet] ERROR: $*" >&2; exit 1; }
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# mco must never get an open stdin: its stdin discovery check blocks until EOF.
client() { env -u MCOLLECTIVE_EXTRA_OPTS RUBYOPT=-W0 /usr/bin/mco "$@" --config "$CLIENT_CFG" </dev/null; }

cmd_install() {
  local pkgs=(mcollective mcollective-client activemq) missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "installing ${missing[*]} needs root"
    # The packages start their boot services on install; we run our own instances under
    # $FLEET, so forbid service starts meanwhile (policy-rc.d exit 101 = action forbidden).
    local policy=/usr/sbin/policy-rc.d own_policy=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; own_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}"
    if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi
  fi
  command -v node >/dev/null || die "node (>= 20) is required for hvagent and the test fixtures"
  log "installed: $(dpkg-query -W -f='${Package} ${Version}  ' "${pkgs[@]}")"
}

write_activemq_conf() {
  mkdir -p "$AMQ/conf" "$AMQ/log" "$AMQ/data"
  # Non-persistent, no JMX, STOMP on localhost only. The mcollective 'activemq' connector
  # uses /topic/mcollective.<agent>.agent, /queue/mcollective.nodes (selector mc_identity)
  # and /queue/mcollective.reply.*; nothing has to be created in advance.
  cat > "$AMQ/conf/activemq.xml" <<EOF
<beans xmlns="http://www.springframework.org/schema/beans"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
       http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <bean class="org.springframework.beans.factory.config.PropertyPlaceholderConfigurer"/>
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="hvagent-fleet" useJmx="false"
          persistent="false" schedulerSupport="false" advisorySupport="false"
          dataDirectory="\${activemq.data}">
    <plugins>
      <simpleAuthenticationPlugin>
        <users>
          <authenticationUser username="$MQ_USER" password="$MQ_PASS" groups="mcollective,everyone"/>
        </users>
      </simpleAuthenticationPlugin>
    </plugins>
    <systemUsage><systemUsage>
      <memoryUsage><memoryUsage limit="32 mb"/></memoryUsage>
      <tempUsage><tempUsage limit="64 mb"/></tempUsage>
    </systemUsage></systemUsage>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:$STOMP_PORT"/>
    </transportConnectors>
  </broker>
</beans>
EOF
  # Debian's activemq uses log4j 1.2; without this it logs nothing.
  cat > "$AMQ/conf/log4j.properties" <<EOF
log4j.rootLogger=INFO, logfile
log4j.logger.org.apache.activemq.spring=WARN
log4j.logger.org.springframework=WARN
log4j.logger.org.apache.xbean=WARN
log4j.appender.logfile=org.apache.log4j.FileAppender
log4j.appender.logfile.file=$AMQ/log/activemq.log
log4j.appender.logfile.layout=org.apache.log4j.PatternLayout
log4j.appender.logfile.layout.ConversionPattern=%d | %-5p | %m | %c | %t%n
EOF
}

# ActiveMQ answers STOMP CONNECT with CONNECTED once it accepts clients (the port alone may
# open before authentication is wired up).
stomp_ready() (
  exec 3<>"/dev/tcp/127.0.0.1/$STOMP_PORT" || exit 1
  printf 'CONNECT\naccept-version:1.0,1.1\nhost:localhost\nlogin:%s\npasscode:%s\n\n\0' "$MQ_USER" "$MQ_PASS" >&3
  IFS= read -r -t 5 reply <&3 || reply=
  printf 'DISCONNECT\n\n\0' >&3 || true
  [ "$reply" = CONNECTED ]
) 2>/dev/null

start_activemq() {
  [ -f /usr/share/activemq/bin/activemq.jar ] || die "activemq not installed: run '$0 install'"
  write_activemq_conf
  # java directly instead of /usr/bin/activemq: no su, small heap, our own paths. The
  # --add-opens flags are those Debian's script passes on Java > 8; C1 + SerialGC start fastest.
  ( cd "$AMQ" && exec setsid java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
      --add-reads=java.xml=java.logging \
      --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/java.util=ALL-UNNAMED \
      --add-opens java.base/java.util.concurrent=ALL-UNNAMED --add-opens java.naming/javax.naming.spi=ALL-UNNAMED \
      -Dlog4j.configuration="file:$AMQ/conf/log4j.properties" \
      -Dactivemq.classpath="$AMQ/conf" -Dactivemq.home=/usr/share/activemq -Dactivemq.base="$AMQ" \
      -Dactivemq.conf="$AMQ/conf" -Dactivemq.data="$AMQ/data" \
      -jar /usr/share/activemq/bin/activemq.jar start "xbean:file:$AMQ/conf/activemq.xml" \
      > "$AMQ/log/stdout.log" 2>&1 < /dev/null ) &
  echo $! > "$AMQ/activemq.pid"
  local deadline=$(( $(date +%s) + READY_TIMEOUT ))
  until stomp_ready; do
    alive "$AMQ/activemq.pid" || die "activemq died, see $AMQ/log/"
    [ "$(date +%s)" -lt "$deadline" ] || die "activemq not ready after ${READY_TIMEOUT}s, see $AMQ/log/"
    sleep 0.1
  done
}

connector_cfg() {
  cat <<EOF
connector = activemq
plugin.activemq.pool.size = 1
plugin.activemq.pool.1.host = 127.0.0.1
plugin.activemq.pool.1.port = $STOMP_PORT
plugin.activemq.pool.1.user = $MQ_USER
plugin.activemq.pool.1.password = $MQ_PASS
plugin.activemq.initial_reconnect_delay = 0.1
plugin.activemq.max_reconnect_delay = 2.0
EOF
}

write_client() {
  mkdir -p "$FLEET/client" "$FLEET/bin"
  : > "$NODEFILE"; for n in $NODES; do echo "$n" >> "$NODEFILE"; done
  { cat <<EOF
# MCollective client config (generated by fleet.sh)
identity = hvagent-fleet-client
main_collective = mcollective
collectives = mcollective
libdir = $FLEET/plugins
logfile = $FLEET/client/client.log
loglevel = warn
color = 0
securityprovider = psk
plugin.psk = $PSK
EOF
    connector_cfg; } > "$CLIENT_CFG"
  cat > "$FLEET/bin/mco" <<EOF
#!/bin/sh
# mco against this fleet. -W0 hides Ruby 3's ERB deprecation warnings.
RUBYOPT=-W0 exec /usr/bin/mco "\$@" --config "$CLIENT_CFG"
EOF
  chmod 755 "$FLEET/bin/mco"
}

start_server() {  # $1 = identity
  local n=$1 d=$FLEET/$1
  mkdir -p "$d/etc" "$d/tmp"
  rm -rf "$d/lib" && cp -a "$FLEET/plugins" "$d/lib"
  printf '%s_class\nhvagent_fleet\n' "$n" > "$d/classes.txt"
  # No facts: Debian's yaml facts plugin cannot parse YAML on Ruby 3.1 (Psych 4) without a
  # shim, and the tests select servers by identity (-I) or class (-C) only.
  { cat <<EOF
# mcollectived config for $n (generated by fleet.sh)
identity = $n
main_collective = mcollective
collectives = mcollective
libdir = $d/lib
logfile = $d/mcollectived.log
loglevel = info
daemonize = 0
securityprovider = psk
plugin.psk = $PSK
classesfile = $d/classes.txt
registerinterval = 0
EOF
    connector_cfg; } > "$d/etc/server.cfg"
  rm -f "$d/mcollectived.log"
  local own_var="NODE_ENV_$n" own=()
  read -r -a own <<<"${!own_var:-}"
  # Stock daemon, no RUBYOPT: nothing may patch MCollective::Shell/systemu. TMPDIR gives each
  # server its own Dir.tmpdir (request/reply files); MCOLLECTIVE_IDENTITY is for test fixtures.
  ( cd "$d" && exec env -u RUBYOPT "${own[@]}" MCOLLECTIVE_IDENTITY="$n" TMPDIR="$d/tmp" \
      setsid /usr/sbin/mcollectived --config "$d/etc/server.cfg" --no-daemonize \
      > "$d/stdout.log" 2>&1 < /dev/null ) &
  echo $! > "$d/mcollectived.pid"
}

# Ready = every server answers a directed rpcutil ping, i.e. it has loaded its agents and
# subscribed. Waiting for "Connected to" first avoids wasting pings sent before that.
wait_servers() {
  local n got total deadline=$(( $(date +%s) + READY_TIMEOUT ))
  total=$(wc -w <<<"$NODES")
  for n in $NODES; do
    until grep -q 'Connected to' "$FLEET/$n/mcollectived.log" 2>/dev/null; do
      alive "$FLEET/$n/mcollectived.pid" || die "$n died, see $FLEET/$n/stdout.log and mcollectived.log"
      [ "$(date +%s)" -lt "$deadline" ] || die "$n did not connect to the broker within ${READY_TIMEOUT}s"
      sleep 0.05
    done
  done
  while :; do
    for n in $NODES; do
      alive "$FLEET/$n/mcollectived.pid" || die "$n died, see $FLEET/$n/stdout.log and mcollectived.log"
    done
    got=$(client rpc rpcutil ping --nodes "$NODEFILE" -t 2 --json 2>/dev/null |
          grep -o '"sender":"[^"]*"' | sort -u | wc -l) || got=0
    [ "$got" -ge "$total" ] && return 0
    [ "$(date +%s)" -lt "$deadline" ] || die "only $got/$total servers answered after ${READY_TIMEOUT}s"
  done
}

cmd_start() {
  local t0 t n src
  t0=$(now)
  [ -n "${PLUGIN_SRC:-}" ] || die "PLUGIN_SRC is required (dir[:dir...] holding mcollective/agent, mcollective/util)"
  command -v /usr/sbin/mcollectived >/dev/null || die "mcollective not installed: run '$0 install'"
  alive "$AMQ/activemq.pid" && die "fleet already running under $FLEET; run '$0 stop' first"
  for n in $NODES; do alive "$FLEET/$n/mcollectived.pid" && die "$n already running under $FLEET"; done
  if [ -z "${STOMP_PORT:-}" ]; then
    STOMP_PORT=61613
    while port_open "$STOMP_PORT"; do STOMP_PORT=$((STOMP_PORT + 1)); done
  elif port_open "$STOMP_PORT"; then
    die "port $STOMP_PORT already in use"
  fi
  mkdir -p "$FLEET/run"
  echo "$STOMP_PORT" > "$FLEET/run/stomp_port"
  echo "$NODES" > "$FLEET/run/nodes"

  rm -rf "$FLEET/plugins"; mkdir -p "$FLEET/plugins"
  IFS=: read -r -a srcs <<<"$PLUGIN_SRC"
  for src in "${srcs[@]}"; do
    [ -d "$src/mcollective" ] || die "PLUGIN_SRC entry $src has no mcollective/ directory"
    cp -a "$src/mcollective" "$FLEET/plugins/"
  done
  write_client

  t=$(now); start_activemq
  log "activemq ready on stomp://127.0.0.1:$STOMP_PORT after $(ms_since "$t") ms"
  t=$(now)
  for n in $NODES; do start_server "$n"; done
  wait_servers
  log "mcollectived $NODES answering after $(ms_since "$t") ms; fleet up in $(ms_since "$t0") ms"
  log "client: $FLEET/bin/mco rpc rpcutil ping --nodes $NODEFILE"
}

stop_pid() {  # $1 = pid file, $2 = label, $3 = grace seconds before SIGKILL
  local f=$1 label=$2 grace=$3 pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$label (pid $pid) ignored SIGTERM for ${grace}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $label (pid $pid)"
  fi
  rm -f "$f"
}

cmd_stop() {
  local pf
  # servers first, in parallel (each takes 1-2 s after SIGTERM), then the broker
  for pf in "$FLEET"/*/mcollectived.pid; do
    [ -e "$pf" ] && stop_pid "$pf" "mcollectived $(basename "$(dirname "$pf")")" 10 &
  done
  wait
  stop_pid "$AMQ/activemq.pid" activemq 20
  if [ "${1:-}" = --purge ]; then
    rm -rf "$FLEET"
    log "removed $FLEET"
  fi
}

cmd_status() {
  local ok=0 n
  if alive "$AMQ/activemq.pid"; then
    log "activemq running (pid $(cat "$AMQ/activemq.pid"), stomp port $(cat "$FLEET/run/stomp_port"))"
  else
    log "activemq not running"; ok=3
  fi
  for n in $(cat "$FLEET/run/nodes" 2>/dev/null || echo "$NODES"); do
    if alive "$FLEET/$n/mcollectived.pid"; then
      log "$n running (pid $(cat "$FLEET/$n/mcollectived.pid"))"
    else
      log "$n not running"; ok=3
    fi
  done
  return $ok
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) shift; cmd_stop "$@" ;;
  status) cmd_status ;;
  *) echo "usage: $0 install|start|stop [--purge]|status   (see the header for the environment)" >&2; exit 2 ;;
esac

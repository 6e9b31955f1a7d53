#!/usr/bin/env bash
# eroom-monitor quickstart: installs what it needs, builds, and runs eroom-sim
# (an ERoom stand-in), eroom-collector and eroom-agent on 127.0.0.1, with TLS
# (development certificates) and tokens, then shows `eroomctl status`.
#
#   deploy/quickstart.sh          start (restarts cleanly if already running)
#   deploy/quickstart.sh stop     stop what it started
#
# Ports: EROOM_SIM_PORT (default 18080), EROOM_COLLECTOR_PORT (default 17443).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state=$root/.quickstart
bin=${EROOM_BUILD_DIR:-$root/build}/bin
sim_port=${EROOM_SIM_PORT:-18080}
collector_port=${EROOM_COLLECTOR_PORT:-17443}
collector_address=127.0.0.1:$collector_port

stop_all() {
  for name in agent sim collector; do
    local pidfile=$state/$name.pid
    [[ -f $pidfile ]] || continue
    local pid
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        echo "$name (pid $pid) did not stop within 10 s; killing it" >&2
        kill -KILL "$pid"
      fi
    fi
    rm -f "$pidfile"
  done
}

start_daemon() {  # name, command...
  local name=$1
  shift
  setsid "$@" >>"$state/$name.log" 2>&1 </dev/null &
  echo $! >"$state/$name.pid"
}

case "${1:-start}" in
  stop)
    stop_all
    echo "eroom-monitor quickstart stopped (data kept in $state)"
    exit 0
    ;;
  start) ;;
  *)
    echo "usage: $0 [start|stop]" >&2
    exit 2
    ;;
esac

stop_all
"$root/deploy/install-deps.sh"
echo "building..."
"$root/deploy/build.sh" eroom-agent eroom-collector eroomctl eroom-sim

mkdir -p "$state/eroom" "$state/collector"
[[ -f $state/api-key ]] || openssl rand -hex 16 >"$state/api-key"
export EROOM_PRIVATE_KEY=$(cat "$state/api-key")

# TLS with a development CA, and random tokens of which the collector's
# config gets only the SHA-256 digests.
"$root/deploy/make-dev-certs.sh" "$state/tls" >/dev/null
for name in agent admin; do
  [[ -f $state/$name.token ]] || (umask 077 && openssl rand -hex 32 >"$state/$name.token")
done
EROOM_AGENT_TOKEN_SHA256=$("$root/deploy/hash-token.sh" <"$state/agent.token")
EROOM_ADMIN_TOKEN_SHA256=$("$root/deploy/hash-token.sh" <"$state/admin.token")
EROOM_AGENT_TOKEN=$(cat "$state/agent.token")
export EROOM_TLS_DIR=$state/tls EROOM_AGENT_TOKEN_SHA256 EROOM_ADMIN_TOKEN_SHA256 EROOM_AGENT_TOKEN
(
  umask 077
  cat >"$state/eroomctl.yaml" <<EOF_CTL
collector: $collector_address
ca: $state/tls/ca.crt
token: $(cat "$state/admin.token")
EOF_CTL
)
ctl=("$bin/eroomctl" --config "$state/eroomctl.yaml")
# The example configs serve every host; these variables fill them in.
export EROOM_ENV=quickstart
export EROOM_HOME=$state/eroom
export EROOM_AGENT_STATE=$state/agent
export EROOM_URL=http://127.0.0.1:$sim_port
export EROOM_COLLECTOR=$collector_address
export EROOM_COLLECTOR_LISTEN=$collector_address
export EROOM_COLLECTOR_DB=$state/collector/eroom.db

start_daemon collector "$bin/eroom-collector" --config "$root/deploy/collector.example.yaml"
# The agent starts before the sim so it reads the new log from its first line.
start_daemon agent "$bin/eroom-agent" --config "$root/deploy/agent.example.yaml"
start_daemon sim "$bin/eroom-sim" --dir "$state/eroom" --port "$sim_port" \
  --speed 60 --rooms-per-minute 3 --failure-rate 0.2

echo "waiting for the first samples and probes to reach the collector..."
ready=""
for _ in $(seq 120); do
  # grep reads it all: with -q it could exit first, and pipefail would
  # count eroomctl's SIGPIPE as a failure.
  if "${ctl[@]}" -o json hosts 2>/dev/null |
    grep '"latest_queue"' >/dev/null; then
    ready=yes
    break
  fi
  sleep 0.5
done
if [[ -z $ready ]]; then
  echo "eroom-monitor did not come up within 60 s; logs:" >&2
  tail -n 20 "$state"/*.log >&2
  exit 1
fi
sleep 6  # one more probe and sample round, so the dashboard has CPU figures
"${ctl[@]}" status

cat <<EOF2

eroom-monitor is running on 127.0.0.1 (logs and data in $state):
  eroom-sim        http://127.0.0.1:$sim_port   (API key in $state/api-key)
  eroom-collector  $collector_address (TLS: $state/tls; tokens: $state/*.token)
  eroom-agent      following $state/eroom/logs/server.log

Explore (eroomctl.yaml holds the collector's address, CA and the admin token):
  alias eroomctl="$bin/eroomctl --config $state/eroomctl.yaml"
  eroomctl hosts
  eroomctl status
  eroomctl logs --since 10m
  eroomctl logs --type room_failed
  eroomctl logs --level ERROR --grep 429
  eroomctl metrics eroom.rss_bytes --since 5m
  eroomctl queue

Stop:
  deploy/quickstart.sh stop
EOF2

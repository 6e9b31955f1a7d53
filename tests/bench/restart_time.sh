#!/usr/bin/env bash
# Issue 11's figures for the safe restart, beside a reference measured on
# the same server in the same run, because a figure from another machine
# says little:
#   reference  the server's own restart as the runbook does it by hand,
#              without the blind sleep: scripts/stop.sh, scripts/start.sh,
#              then /health polled every 50 ms until it answers 200;
#   ours       `eroomctl restart HOST --yes` through eroom-collector and
#              eroom-agent (safe_restart with the same scripts, health
#              checked every 50 ms), from the command line until eroomctl
#              exits after SUCCEEDED, with no room running;
#   gap        the longest time between two progress updates of the restart.
# Goal: ours at most the reference plus 1 s. Runs alternate reference and
# ours; medians are printed with the machine's load.
#
#   tests/bench/restart_time.sh [--bin DIR] [--runs N]
#
#   --bin DIR   the built binaries (default: $EROOM_BIN_DIR or build/bin)
#   --runs N    restarts of each kind (3)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/bench/script_support.sh"
bin=${EROOM_BIN_DIR:-$root/build/bin}
runs=3
while (($#)); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h | --help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--bin DIR] [--runs N]" >&2; exit 2 ;;
  esac
done
require_programs "$bin"/{eroom-agent,eroom-collector,eroomctl,eroom-sim}

work=$(mktemp -d /tmp/restart-time.XXXXXX)
pids=()  # started here, stopped at exit
cleanup() {
  for pid in "${pids[@]}"; do
    if kill "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; fi
  done
  [[ -x $work/eroom/scripts/stop.sh ]] && "$work/eroom/scripts/stop.sh" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

now_ms() { date +%s%3N; }
seconds() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }

export EROOM_PRIVATE_KEY=bench-key
sim_port=$(free_port)
healthy() {
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
    -H "Authorization: $EROOM_PRIVATE_KEY" "http://127.0.0.1:$sim_port/health") == 200 ]]
}

# --- collector, sim (its scripts manage it from here on), agent -------------
cat >"$work/collector.yaml" <<EOF
listen: 127.0.0.1:0
storage: {path: $work/collector.db}
tls: {mode: insecure}
auth: {mode: none}
EOF
: >"$work/collector.log"
"$bin/eroom-collector" --config "$work/collector.yaml" >"$work/collector.log" 2>&1 &
pids+=($!)
port=
for _ in $(seq 300); do
  port=$(sed -n 's/.*listening on .*(port \([0-9]*\),.*/\1/p' "$work/collector.log")
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { cat "$work/collector.log" >&2; echo "collector did not start" >&2; exit 1; }
address=127.0.0.1:$port
ctl() { "$bin/eroomctl" --insecure --collector "$address" --timeout 300s "$@"; }

# The first start lays out the directory and its scripts; then the scripts
# own the server.
"$bin/eroom-sim" --dir "$work/eroom" --port "$sim_port" --rooms-per-minute 0 \
  >"$work/sim-first.log" 2>&1 &
wait_for 30 healthy || { echo "eroom-sim did not start" >&2; exit 1; }
"$work/eroom/scripts/stop.sh" >/dev/null
"$work/eroom/scripts/start.sh" >/dev/null
wait_for 30 healthy || { echo "eroom-sim did not start from its script" >&2; exit 1; }

cat >"$work/agent.yaml" <<EOF
agent: {id: bench-host, state_dir: $work/agent-state}
eroom: {dir: $work/eroom, url: "http://127.0.0.1:$sim_port"}
collector: {address: "$address", insecure: true, reconnect_initial: 50ms}
commands:
  safe_restart:
    enabled: true
    stop_command: [scripts/stop.sh]
    start_command: [scripts/start.sh]
    health_interval: 50ms
EOF
"$bin/eroom-agent" --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
pids+=($!)
connected() { ctl -o json hosts 2>/dev/null | grep '"connected": *true' >/dev/null; }
wait_for 30 connected || { cat "$work/agent.log" >&2; echo "agent did not connect" >&2; exit 1; }

# --- the runs -----------------------------------------------------------------
echo "restart of an idle eroom-sim, $runs runs each; load before: $(load_average)"
references=() ours=() gaps=()
for run in $(seq "$runs"); do
  start=$(now_ms)
  "$work/eroom/scripts/stop.sh" >/dev/null
  "$work/eroom/scripts/start.sh" >/dev/null
  wait_for 60 healthy || { echo "reference restart never became healthy" >&2; exit 1; }
  references+=($(($(now_ms) - start)))

  start=$(now_ms)
  ctl -o json restart bench-host --yes >"$work/restart.json" 2>"$work/restart.err" ||
    { cat "$work/restart.json" "$work/restart.err" >&2; echo "restart failed" >&2; exit 1; }
  ours+=($(($(now_ms) - start)))
  healthy || { echo "not healthy after eroomctl restart returned" >&2; exit 1; }
  gaps+=($(sed -n 's/.*"time_unix_ms": *"\{0,1\}\([0-9]*\)"\{0,1\}.*/\1/p' "$work/restart.json" |
    awk 'NR > 1 && $1 - last > max { max = $1 - last } { last = $1 } END { print max + 0 }'))
  echo "run $run: reference $(seconds "${references[-1]}") s, eroomctl restart" \
    "$(seconds "${ours[-1]}") s, longest progress gap $(seconds "${gaps[-1]}") s"
done

reference=$(echo "${references[*]}" | median)
our=$(echo "${ours[*]}" | median)
gap=$(echo "${gaps[*]}" | median)
echo "=== restart_time (medians of $runs; load after: $(load_average)) ==="
echo "reference stop+start+health   $(seconds "$reference") s"
echo "eroomctl restart              $(seconds "$our") s"
awk -v a="$our" -v b="$reference" 'BEGIN { printf "overhead                      %+.2f s (ratio %.2fx; goal <= +1.00 s)\n", (a - b) / 1000, a / b }'
echo "longest progress gap          $(seconds "$gap") s"

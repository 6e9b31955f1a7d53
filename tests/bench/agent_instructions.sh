#!/usr/bin/env bash
# Counts the instructions eroom-agent spends per log line, under callgrind,
# beside `grep -c ERROR` on the same file counted the same way. Instruction
# counts barely depend on the machine or its load, where CPU seconds vary by
# a fifth between runs on a shared one: they tell whether a change made the
# agent cheaper. The agent reads a generated ERoom log from its beginning,
# spools it and streams it to a collector on loopback (plaintext, no auth),
# and is stopped once the collector has stored the last line. Prints the
# instructions per line of the whole agent and of its two busy threads (the
# tailer and the uplink), and their ratio to grep's.
#
#   tests/bench/agent_instructions.sh [--bin DIR] [--agent FILE] [--lines N]
#
#   --bin DIR     the built binaries (default: $EROOM_BIN_DIR or build/bin)
#   --agent FILE  the agent to count (default: DIR/eroom-agent)
#   --lines N     lines in the log (100000)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/bench/script_support.sh"
bin=${EROOM_BIN_DIR:-$root/build/bin}
agent=""
lines=100000
while (($#)); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --agent) agent=$2; shift 2 ;;
    --lines) lines=$2; shift 2 ;;
    -h | --help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--bin DIR] [--agent FILE] [--lines N]" >&2; exit 2 ;;
  esac
done
agent=${agent:-$bin/eroom-agent}
require_programs "$bin"/{eroom-collector,eroom-loggen} "$agent"
for program in valgrind callgrind_annotate sqlite3; do
  command -v "$program" >/dev/null ||
    { echo "no $program (deploy/install-deps.sh installs it)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/agent-instructions.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$bin/eroom-loggen" --lines "$lines" --out "$work/server.log" >/dev/null
last_offset=$(last_line_offset "$work/server.log")

# The instructions of callgrind output files: the sum of their totals.
instructions() {  # file...
  awk '/^totals:/ { sum += $2 } END { printf "%.0f", sum }' "$@"
}

valgrind --tool=callgrind --callgrind-out-file="$work/grep.out" \
  grep -c ERROR "$work/server.log" >/dev/null 2>&1 || true
grep_instructions=$(instructions "$work/grep.out")

address=127.0.0.1:$(free_port)
cat >"$work/collector.yaml" <<EOF
listen: $address
storage:
  path: $work/eroom.db
tls:
  mode: insecure
auth:
  mode: none
EOF
mkdir -p "$work/eroom/logs"
cat >"$work/agent.yaml" <<EOF
agent:
  id: counted
  state_dir: $work/agent-state
eroom:
  dir: $work/eroom
logs:
  start_at: beginning
collector:
  address: $address
  insecure: true
EOF
"$bin/eroom-collector" --config "$work/collector.yaml" >"$work/collector.log" 2>&1 &
pids+=($!)
cp "$work/server.log" "$work/eroom/logs/server.log"
valgrind --tool=callgrind --separate-threads=yes \
  --callgrind-out-file="$work/agent.out" \
  "$agent" --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")
wait_for 1800 newest_event_starts_at "$work/eroom.db" "$last_offset" || {
  echo "the agent did not deliver every line; its log:" >&2
  tail -n 20 "$work/agent.log" >&2
  exit 1
}
# Stopped, callgrind writes one file per thread.
kill -TERM "$agent_pid"
wait "$agent_pid" 2>/dev/null || true

# The instructions of the busiest thread that ran `function`.
thread_instructions() {  # function-pattern
  local file count most=0
  for file in "$work"/agent.out-*; do
    callgrind_annotate --inclusive=yes "$file" >"$work/annotated" 2>/dev/null
    grep -q "$1" "$work/annotated" || continue
    count=$(instructions "$file")
    ((count > most)) && most=$count
  done
  echo "$most"
}
agent_instructions=$(instructions "$work"/agent.out-*)
tailer=$(thread_instructions 'LogTailerImpl::PollOnce')
uplink=$(thread_instructions 'eroom::agent::Uplink::Run(')
per_line() { awk -v n="$1" -v l="$lines" 'BEGIN { printf "%.0f", n / l }'; }
printf 'grep -c ERROR  %8s instructions/line\n' "$(per_line "$grep_instructions")"
printf 'eroom-agent    %8s instructions/line (%.1fx grep): tailer %s, uplink %s\n' \
  "$(per_line "$agent_instructions")" \
  "$(awk -v a="$agent_instructions" -v g="$grep_instructions" 'BEGIN { printf "%.1f", a / g }')" \
  "$(per_line "$tailer")" "$(per_line "$uplink")"

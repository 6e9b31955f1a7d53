#!/usr/bin/env bash
# Counts the instructions eroom-agent spends per log line and eroom-collector
# per stored event, both under callgrind, beside `grep -c ERROR` on the same
# file counted the same way. Instruction counts barely depend on the machine
# or its load, where CPU seconds vary by a fifth between runs on a shared
# one: they tell whether a change made either cheaper. The agent reads a
# generated ERoom log from its beginning, spools it and streams it to the
# collector on loopback (plaintext, no auth); both are stopped once the
# collector has stored the last line and its search index has caught up.
# Prints the instructions per line of the whole agent and of its two busy
# threads (the tailer and the uplink), of the whole collector and of its
# ingest and search index threads, and their ratios to grep's.
#
#   tests/bench/pipeline_instructions.sh [--bin DIR] [--agent FILE]
#                                        [--collector FILE] [--lines N]
#
#   --bin DIR         the built binaries (default: $EROOM_BIN_DIR or build/bin)
#   --agent FILE      the agent to count (default: DIR/eroom-agent)
#   --collector FILE  the collector to count (default: DIR/eroom-collector)
#   --lines N         lines in the log (100000)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/bench/script_support.sh"
bin=${EROOM_BIN_DIR:-$root/build/bin}
agent=""
collector=""
lines=100000
while (($#)); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --agent) agent=$2; shift 2 ;;
    --collector) collector=$2; shift 2 ;;
    --lines) lines=$2; shift 2 ;;
    -h | --help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--bin DIR] [--agent FILE] [--collector FILE] [--lines N]" >&2
       exit 2 ;;
  esac
done
agent=${agent:-$bin/eroom-agent}
collector=${collector:-$bin/eroom-collector}
require_programs "$bin/eroom-loggen" "$agent" "$collector"
for program in valgrind callgrind_annotate sqlite3; do
  command -v "$program" >/dev/null ||
    { echo "no $program (deploy/install-deps.sh installs it)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/pipeline-instructions.XXXXXX)
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
valgrind --tool=callgrind --separate-threads=yes \
  --callgrind-out-file="$work/collector.out" \
  "$collector" --config "$work/collector.yaml" >"$work/collector.log" 2>&1 &
collector_pid=$!
pids+=("$collector_pid")
cp "$work/server.log" "$work/eroom/logs/server.log"
valgrind --tool=callgrind --separate-threads=yes \
  --callgrind-out-file="$work/agent.out" \
  "$agent" --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")
wait_for 3600 newest_event_starts_at "$work/eroom.db" "$last_offset" || {
  echo "the agent did not deliver every line; its log:" >&2
  tail -n 20 "$work/agent.log" >&2
  exit 1
}
# Stopped, callgrind writes one file per thread.
kill -TERM "$agent_pid"
wait "$agent_pid" 2>/dev/null || true
newest=$(sqlite3 -readonly "$work/eroom.db" "SELECT max(id) FROM log_events")
wait_for 3600 search_index_caught_up "$work/eroom.db" "$newest" || {
  echo "the collector's search index did not catch up; its log:" >&2
  tail -n 20 "$work/collector.log" >&2
  exit 1
}
kill -TERM "$collector_pid"
wait "$collector_pid" 2>/dev/null || true

# The instructions of the busiest thread among `files` that ran `function`.
thread_instructions() {  # function-pattern file...
  local pattern=$1 file count most=0
  shift
  for file; do
    callgrind_annotate --inclusive=yes "$file" >"$work/annotated" 2>/dev/null
    grep -q "$pattern" "$work/annotated" || continue
    count=$(instructions "$file")
    ((count > most)) && most=$count
  done
  echo "$most"
}
agent_instructions=$(instructions "$work"/agent.out-*)
tailer=$(thread_instructions 'LogTailerImpl::PollOnce' "$work"/agent.out-*)
uplink=$(thread_instructions 'eroom::agent::Uplink::Run(' "$work"/agent.out-*)
collector_instructions=$(instructions "$work"/collector.out-*)
ingest=$(thread_instructions 'IngestPipeline::Run(' "$work"/collector.out-*)
indexer=$(thread_instructions 'SearchIndexer::Run(' "$work"/collector.out-*)
per_line() { awk -v n="$1" -v l="$lines" 'BEGIN { printf "%.0f", n / l }'; }
to_grep() { awk -v n="$1" -v g="$grep_instructions" 'BEGIN { printf "%.1f", n / g }'; }
printf 'grep -c ERROR    %8s instructions/line\n' "$(per_line "$grep_instructions")"
printf 'eroom-agent      %8s instructions/line (%sx grep): tailer %s, uplink %s\n' \
  "$(per_line "$agent_instructions")" "$(to_grep "$agent_instructions")" \
  "$(per_line "$tailer")" "$(per_line "$uplink")"
printf 'eroom-collector  %8s instructions/line (%sx grep): ingest %s, search index %s, other threads %s\n' \
  "$(per_line "$collector_instructions")" "$(to_grep "$collector_instructions")" \
  "$(per_line "$ingest")" "$(per_line "$indexer")" \
  "$(per_line "$((collector_instructions - ingest - indexer))")"

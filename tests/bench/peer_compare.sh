#!/usr/bin/env bash
# Ships one realistic ERoom log through each of these, one after the other,
# on this machine in this run, because a figure from another machine says
# little:
#   grep      `grep -c ERROR` on the file (the floor: reading it once);
#   rsyslog   how a team ships logs today: rsyslogd with imfile reads the
#             file and forwards each line over TCP (omfwd) to a second
#             rsyslogd (imtcp) that writes it to a file;
#   ours      eroom-agent reads, parses, classifies and spools the file and
#             streams it to eroom-collector, which stores every event in
#             SQLite with fsync: plaintext, then TLS with a token.
# Each prints wall time (first line read to last line stored), lines/s, the
# CPU seconds of every process involved, their peak RSS, and our ratios to
# rsyslog; for ours also the page faults per 1,000 lines of each daemon and
# the collector's CPU per event once its search index (which lags at idle
# priority) has caught up. rsyslog is installed from Debian if missing.
# Rsyslog's own speed varies between runs on one machine by up to twice
# (its queue fills or does not), so the three run in turn, round after
# round, and the medians of the rounds close the output, with the median of
# each round's ratios and how many rounds we were ahead on both counts.
#
#   tests/bench/peer_compare.sh [--bin DIR] [--lines N] [--runs N]
#
#   --bin DIR   the built binaries (default: $EROOM_BIN_DIR or build/bin)
#   --lines N   lines in the log (1000000)
#   --runs N    rounds of rsyslog, ours plaintext and ours TLS (3)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/bench/script_support.sh"
bin=${EROOM_BIN_DIR:-$root/build/bin}
lines=1000000
runs=3
while (($#)); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --lines) lines=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h | --help) sed -n '2,26s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--bin DIR] [--lines N] [--runs N]" >&2; exit 2 ;;
  esac
done
((runs >= 1)) || { echo "--runs must be at least 1" >&2; exit 2; }
require_programs "$bin"/{eroom-agent,eroom-collector,eroomctl,eroom-loggen}
command -v sqlite3 >/dev/null ||
  { echo "no sqlite3 shell (deploy/install-deps.sh installs it)" >&2; exit 2; }
ensure_rsyslog

work=$(mktemp -d /tmp/peer-compare.XXXXXX)
pids=()  # started here, stopped at exit
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

clock_ticks=$(getconf CLK_TCK)
cpu_seconds() {  # pid: user + system CPU so far
  awk -v ticks="$(cpu_ticks "/proc/$1/stat")" -v hz="$clock_ticks" \
    'BEGIN { printf "%.2f", ticks / hz }'
}
peak_rss_mib() {  # pid
  awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"
}
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }  # a floating-point expression

log_dir=$work/eroom/logs
mkdir -p "$log_dir"
"$bin/eroom-loggen" --lines "$lines" --out "$work/server.log" >/dev/null
size_mib=$(du -m "$work/server.log" | cut -f1)
echo "load at start: $(load_average), $(nproc) cores;" \
  "log: $lines lines, $size_mib MiB (eroom-loggen)"

# --- grep
start=$(now)
# Into a variable: GNU grep writing to /dev/null stops at the first match.
errors=$(grep -c ERROR "$work/server.log" || true)
grep_s=$(calc "$(now) - $start")
printf 'grep -c ERROR   %7.3f s  %9.0f lines/s  (%s lines)\n' "$grep_s" \
  "$(calc "$lines / $grep_s")" "$errors"

# --- rsyslog: imfile -> omfwd TCP -> imtcp -> file
last_line=$(tail -n 1 "$work/server.log")
log_bytes=$(stat -c %s "$work/server.log")
run_rsyslog() {  # sets rsyslog_s and rsyslog_cpu
  rsyslog_dir=$work/rsyslog
  rm -rf "$rsyslog_dir"
  mkdir -p "$rsyslog_dir/sender"
  local port start sender receiver received
  port=$(free_port)
  cat >"$rsyslog_dir/sender.conf" <<EOF
global(workDirectory="$rsyslog_dir/sender")
module(load="imfile")
input(type="imfile" file="$log_dir/server.log" tag="eroom" readMode="0")
action(type="omfwd" target="127.0.0.1" port="$port" protocol="tcp")
EOF
  start_rsyslog_receiver "$rsyslog_dir" "$port" "$rsyslog_dir/received.log"
  receiver=$receiver_pid
  pids+=("$receiver")
  # Polls must cost little beside what they time, on a machine whose cores
  # the runs need: the newest line alone is read (the sink receives in
  # order nearly always), and the lines are counted once the clock has
  # stopped. In one run of many rsyslog delivered the last lines out of
  # order: the lines are counted too once the sink holds as many bytes as
  # the log and a space for each line (%msg% begins with one).
  received_all() {
    local received=$rsyslog_dir/received.log
    [[ -f $received ]] || return 1
    [[ $(tail -n 1 "$received") == *"${last_line: -40}" ]] ||
      { (($(stat -c %s "$received") >= log_bytes + lines)) &&
        (($(wc -l <"$received") >= lines)); }
  }
  # The log is in place before the sender starts, which imfile (without a
  # state file) reads from its beginning: no wait for imfile to see it come.
  # The sender's start-up is timed with the rest.
  cp "$work/server.log" "$log_dir/server.log"
  start=$(now)
  rsyslogd -n -f "$rsyslog_dir/sender.conf" -i "$rsyslog_dir/sender.pid" \
    >"$rsyslog_dir/sender.log" 2>&1 &
  sender=$!
  pids+=("$sender")
  wait_for 600 received_all || { echo "rsyslog did not deliver every line" >&2; exit 1; }
  rsyslog_s=$(calc "$(now) - $start")
  received=$(wc -l <"$rsyslog_dir/received.log")
  ((received == lines)) ||
    { echo "rsyslog delivered $received of $lines lines" >&2; exit 1; }
  rsyslog_cpu=$(calc "$(cpu_seconds "$sender") + $(cpu_seconds "$receiver")")
  printf 'rsyslog         %7.2f s  %9.0f lines/s  CPU %.2f s (sender %s, receiver %s)  peak RSS %s + %s MiB\n' \
    "$rsyslog_s" "$(calc "$lines / $rsyslog_s")" "$rsyslog_cpu" \
    "$(cpu_seconds "$sender")" "$(cpu_seconds "$receiver")" \
    "$(peak_rss_mib "$sender")" "$(peak_rss_mib "$receiver")"
  kill "$sender" "$receiver"
  wait "$sender" "$receiver" 2>/dev/null || true
  rm -f "$log_dir/server.log"
  # Each run leaves hundreds of MB for the kernel to write back; left to the
  # next run, that writeback cost the second of ours 1.5-2 us of collector
  # CPU per event, whichever mode ran second.
  sync
  echo "rsyslog $(calc "$lines / $rsyslog_s") $rsyslog_cpu" >>"$work/results"
}

# --- ours, plaintext then TLS
"$root/deploy/make-dev-certs.sh" "$work/tls" >/dev/null
agent_token=$(openssl rand -hex 32)
viewer_token=$(openssl rand -hex 32)
last_offset=$(last_line_offset "$work/server.log")

run_ours() {  # plaintext|tls
  local mode=$1 dir=$work/ours-$1 address
  address=127.0.0.1:$(free_port)
  mkdir -p "$dir/eroom/logs"
  local collector_tls agent_tls ctl_security
  if [[ $mode == tls ]]; then
    collector_tls="tls:
  cert: $work/tls/collector.crt
  key: $work/tls/collector.key
auth:
  mode: tokens
  agents:
    - id: peer
      token_sha256: $(printf '%s' "$agent_token" | "$root/deploy/hash-token.sh")
  users:
    - name: bench
      role: viewer
      token_sha256: $(printf '%s' "$viewer_token" | "$root/deploy/hash-token.sh")"
    agent_tls="  ca: $work/tls/ca.crt
  token: $agent_token"
    ctl_security=(--ca "$work/tls/ca.crt" --token "$viewer_token")
  else
    collector_tls="tls:
  mode: insecure
auth:
  mode: none"
    agent_tls="  insecure: true"
    ctl_security=(--insecure)
  fi
  cat >"$dir/collector.yaml" <<EOF
listen: $address
storage:
  path: $dir/eroom.db
$collector_tls
EOF
  cat >"$dir/agent.yaml" <<EOF
agent:
  id: peer
  state_dir: $dir/agent-state
eroom:
  dir: $dir/eroom
logs:
  start_at: beginning
collector:
  address: $address
$agent_tls
EOF
  "$bin/eroom-collector" --config "$dir/collector.yaml" >"$dir/collector.log" 2>&1 &
  local collector=$!
  pids+=("$collector")
  local ctl=("$bin/eroomctl" --collector "$address" "${ctl_security[@]}")
  wait_for 30 "${ctl[@]}" hosts >/dev/null 2>&1 || {
    echo "the collector did not answer:" >&2
    cat "$dir/collector.log" >&2
    exit 1
  }
  "$bin/eroom-agent" --config "$dir/agent.yaml" >"$dir/agent.log" 2>&1 &
  local agent=$!
  pids+=("$agent")
  local start
  start=$(now)
  cp "$work/server.log" "$dir/eroom/logs/server.log"
  wait_for 900 newest_event_starts_at "$dir/eroom.db" "$last_offset" || {
    echo "ours ($mode) did not store every line; agent log:" >&2
    tail -n 20 "$dir/agent.log" >&2
    exit 1
  }
  local seconds agent_cpu collector_cpu
  seconds=$(calc "$(now) - $start")
  agent_cpu=$(cpu_seconds "$agent")
  collector_cpu=$(cpu_seconds "$collector")
  local cpu
  cpu=$(calc "$agent_cpu + $collector_cpu")
  printf 'ours %-10s %7.2f s  %9.0f lines/s  CPU %.2f s (agent %s, collector %s)  peak RSS %s + %s MiB\n' \
    "$mode" "$seconds" "$(calc "$lines / $seconds")" "$cpu" \
    "$agent_cpu" "$collector_cpu" "$(peak_rss_mib "$agent")" "$(peak_rss_mib "$collector")"
  printf '  ratio to rsyslog: %.2fx the lines/s, %.2fx the CPU per line; agent %.2f us/line, collector %.2f us/line\n' \
    "$(calc "$rsyslog_s / $seconds")" "$(calc "$cpu / $rsyslog_cpu")" \
    "$(calc "$agent_cpu * 1000000 / $lines")" \
    "$(calc "$collector_cpu * 1000000 / $lines")"
  printf '  page faults per 1,000 lines: agent %.1f, collector %.1f\n' \
    "$(calc "$(minor_faults "$agent") * 1000 / $lines")" \
    "$(calc "$(minor_faults "$collector") * 1000 / $lines")"
  # The search index follows at idle priority and is still behind here:
  # the collector's CPU is read again once it has caught up.
  local newest
  newest=$(sqlite3 -readonly "$dir/eroom.db" "SELECT max(id) FROM log_events")
  wait_for 600 search_index_caught_up "$dir/eroom.db" "$newest" || {
    echo "ours ($mode): the search index did not catch up" >&2
    exit 1
  }
  local index_ticks=0 task
  for task in /proc/"$collector"/task/*; do
    [[ $(<"$task/comm") == search-index ]] &&
      index_ticks=$((index_ticks + $(cpu_ticks "$task/stat")))
  done
  local caught_up_us
  caught_up_us=$(calc "$(cpu_seconds "$collector") * 1000000 / $lines")
  printf '  collector with its search index caught up: %.2f us/event, of which the index %.2f\n' \
    "$caught_up_us" "$(calc "$index_ticks / $clock_ticks * 1000000 / $lines")"
  echo "$mode $(calc "$lines / $seconds") $cpu $(calc "$rsyslog_s / $seconds")" \
    "$(calc "$cpu / $rsyslog_cpu")" "$(calc "$agent_cpu * 1000000 / $lines")" \
    "$caught_up_us" >>"$work/results"
  kill "$agent" "$collector"
  wait "$agent" "$collector" 2>/dev/null || true
  rm -rf "$dir"
  sync
}
for ((run = 1; run <= runs; ++run)); do
  ((runs == 1)) || echo "round $run of $runs"
  run_rsyslog
  run_ours plaintext
  run_ours tls
done
echo "load at end: $(load_average)"
((runs > 1)) || exit 0
# Medians of the rounds: of each figure, and of each round's ratios.
round_medians() {  # name field...: the median of each field of name's rounds
  local field
  for field in "${@:2}"; do
    awk -v name="$1" -v field="$field" '$1 == name { print $field }' \
      "$work/results" | median
  done
}
echo "medians of $runs rounds:"
printf 'rsyslog         %9.0f lines/s  CPU %.2f s\n' $(round_medians rsyslog 2 3)
for mode in plaintext tls; do
  printf 'ours %-10s %9.0f lines/s  CPU %.2f s; agent %.2f us/line, collector %.2f us/event with its index caught up\n' \
    "$mode" $(round_medians "$mode" 2 3 6 7)
  printf '  ratio to rsyslog in the same round: %.2fx the lines/s, %.2fx the CPU per line; ahead on both in %d of %d rounds\n' \
    $(round_medians "$mode" 4 5) \
    "$(awk -v name="$mode" '$1 == name && $4 >= 1 && $5 <= 1' "$work/results" | wc -l)" \
    "$runs"
done

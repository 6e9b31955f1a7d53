#!/usr/bin/env bash
# Measures eroom-agent's memory and CPU against issue 3's targets (idle:
# at most 10 MB and under 1 % of one core; tailing at full speed: at most
# 20 MB), with a collector and the agent on loopback (plaintext, no auth).
#
#   tests/bench/agent_memory.sh [--bin DIR] [--agent FILE] [--lines N]
#                               [IDLE_SECONDS]
#
#   --bin DIR     the built binaries (default: $EROOM_BIN_DIR or build/bin)
#   --agent FILE  the agent to measure (default: DIR/eroom-agent)
#   --lines N     lines of the generated log read at full speed (1000000)
#   IDLE_SECONDS  how long the idle agent is watched (60)
#
# Memory is printed three ways, because RSS counts every resident page of
# the shared libraries even though other processes share them:
#   RSS   resident pages mapped (what `ps` and top show; VmHWM is its peak)
#   PSS   each shared page divided among the processes mapping it
#   anon  the agent's own heap, stacks and relocated library data
#         (RssAnon): the part that grows with load and is never shared
# The rest of RSS is file-backed and clean: code and constants of the
# binary and its libraries, every page touched since the start plus its
# neighbours (a page fault maps 64 KB or more), which the kernel may drop
# and read again.
# The peak while tailing is VmHWM (exact, the kernel's high-water mark,
# reset before the load starts); PSS and anon peaks are sampled every
# 250 ms. Throughput runs from the moment the file appears until the
# collector's last_sequence covers every event in it.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${EROOM_BIN_DIR:-$root/build/bin}
agent=
lines=1000000
idle_seconds=60
while (($#)); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --agent) agent=$2; shift 2 ;;
    --lines) lines=$2; shift 2 ;;
    -h | --help) sed -n '2,27s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) idle_seconds=$1; shift ;;
  esac
done
agent=${agent:-$bin/eroom-agent}
for program in "$agent" "$bin"/{eroom-collector,eroomctl,eroom-loggen}; do
  [[ -x $program ]] || { echo "no $program (--bin DIR, --agent FILE)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/agent-memory.XXXXXX)
collector_pid=
agent_pid=
cleanup() {
  for pid in $agent_pid $collector_pid; do
    if kill "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

# kB value of KEY in a /proc status-like file (0 if absent).
kb() { awk -v key="$1:" '$1 == key { print $2; found = 1 } END { if (!found) print 0 }' "$2"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f MB", kb / 1024 }'; }
# utime + stime of a process, in clock ticks (fields after "pid (comm) ").
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# --- a collector on a free loopback port -----------------------------------
mkdir -p "$work/eroom/logs" "$work/agent-state"
cat >"$work/collector.yaml" <<EOF
listen: 127.0.0.1:0
log_level: info
stats_interval: 1s
storage: {path: $work/collector.db}
tls: {mode: insecure}
auth: {mode: none}
EOF
: >"$work/collector.log"  # Read below before the collector may open it.
"$bin/eroom-collector" --config "$work/collector.yaml" >"$work/collector.log" 2>&1 &
collector_pid=$!
port=
for _ in $(seq 300); do
  port=$(sed -n 's/.*listening on .*(port \([0-9]*\),.*/\1/p' "$work/collector.log")
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { cat "$work/collector.log" >&2; echo "collector did not start" >&2; exit 1; }
address=127.0.0.1:$port

last_sequence() {
  "$bin/eroomctl" --insecure --collector "$address" -o json hosts 2>/dev/null |
    sed -n 's/.*"last_sequence": *"\{0,1\}\([0-9]*\)"\{0,1\}.*/\1/p' | head -1
}

# --- the agent: one empty log, probes to a closed port ----------------------
: >"$work/eroom/logs/server.log"
cat >"$work/agent.yaml" <<EOF
agent: {id: mem-bench, state_dir: $work/agent-state, log_level: info}
eroom: {dir: $work/eroom, url: "http://127.0.0.1:1"}
logs: {start_at: beginning}
collector: {address: "$address", insecure: true}
EOF
"$agent" --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 300); do
  [[ $(last_sequence) =~ ^[1-9] ]] && break
  sleep 0.1
done
[[ $(last_sequence) =~ ^[1-9] ]] || { cat "$work/agent.log" >&2; echo "agent did not connect" >&2; exit 1; }

echo "$agent: $(readelf -d "$agent" | grep -c NEEDED) shared libraries needed, $(kb Threads "/proc/$agent_pid/status") threads"

# --- idle --------------------------------------------------------------------
sleep 5  # Startup (schema, first scan, connection) is not idling.
ticks_before=$(cpu_ticks "$agent_pid")
start=$(now)
sleep "$idle_seconds"
ticks_after=$(cpu_ticks "$agent_pid")
idle_elapsed=$(elapsed "$start" "$(now)")
cp "/proc/$agent_pid/smaps_rollup" "$work/idle.smaps"
cp "/proc/$agent_pid/status" "$work/idle.status"
cpu=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" -v s="$idle_elapsed" \
  'BEGIN { printf "%.2f %%", 100 * t / hz / s }')
echo
echo "idle, over ${idle_elapsed} s:"
echo "  CPU           $cpu of one core (target < 1 %)"
echo "  RSS           $(mb "$(kb VmRSS "$work/idle.status")")  (target 10 MB; file-backed $(mb "$(kb RssFile "$work/idle.status")"), anon $(mb "$(kb RssAnon "$work/idle.status")"))"
echo "  PSS           $(mb "$(kb Pss "$work/idle.smaps")")  (anon $(mb "$(kb Pss_Anon "$work/idle.smaps")"), file $(mb "$(kb Pss_File "$work/idle.smaps")"))"
echo "  shared clean  $(mb "$(kb Shared_Clean "$work/idle.smaps")")  private dirty $(mb "$(kb Private_Dirty "$work/idle.smaps")")"

# --- tailing at full speed ---------------------------------------------------
"$bin/eroom-loggen" --lines "$lines" --out "$work/generated.log"
# Events are the lines that start with a header (either ERoom pattern); the
# rest are stack frames. The collector's count below checks it.
events=$(grep -cE '^([0-9]{4}-[0-9]{2}-[0-9]{2} )?[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} \[' \
  "$work/generated.log")
bytes=$(stat -c %s "$work/generated.log")
target=$(($(last_sequence) + events))
echo 5 >"/proc/$agent_pid/clear_refs"  # Resets VmHWM to the current RSS.
peak_pss=0
peak_pss_anon=0
peak_anon=0
load_ticks=$(cpu_ticks "$agent_pid")
start=$(now)
mv "$work/generated.log" "$work/eroom/logs/server.2025-01-01.log"
while :; do
  for _ in 1 2; do  # Memory every 250 ms, the collector every 500 ms.
    pss=$(kb Pss "/proc/$agent_pid/smaps_rollup")
    pss_anon=$(kb Pss_Anon "/proc/$agent_pid/smaps_rollup")
    anon=$(kb RssAnon "/proc/$agent_pid/status")
    ((pss > peak_pss)) && peak_pss=$pss
    ((pss_anon > peak_pss_anon)) && peak_pss_anon=$pss_anon
    ((anon > peak_anon)) && peak_anon=$anon
    sleep 0.25
  done
  sequence=$(last_sequence)
  ((${sequence:-0} >= target)) && break
  kill -0 "$agent_pid" 2>/dev/null || { tail "$work/agent.log" >&2; echo "the agent died" >&2; exit 1; }
  if (($(date +%s) - ${start%.*} > 600)); then
    tail "$work/agent.log" >&2
    echo "the collector has sequence ${sequence:-none} after 600 s, not $target" >&2
    exit 1
  fi
done
load_elapsed=$(elapsed "$start" "$(now)")
load_ticks=$(($(cpu_ticks "$agent_pid") - load_ticks))
cp "/proc/$agent_pid/status" "$work/load.status"
echo
echo "tailing $lines lines ($events events, $(mb $((bytes / 1024)))) to the collector:"
echo "  end to end    ${load_elapsed} s: $(awk -v n="$lines" -v s="$load_elapsed" 'BEGIN { printf "%.0f", n / s }') lines/s, $(awk -v n="$events" -v s="$load_elapsed" 'BEGIN { printf "%.0f", n / s }') events/s (0.5 s resolution)"
echo "  agent CPU     $(awk -v t="$load_ticks" -v hz="$(getconf CLK_TCK)" -v n="$lines" \
  'BEGIN { printf "%.1f s, %.1f us a line", t / hz, 1e6 * t / hz / n }') (user + system: less sensitive than wall time to other load)"
echo "  peak RSS      $(mb "$(kb VmHWM "$work/load.status")")  (VmHWM; target 20 MB)"
echo "  peak PSS      $(mb "$peak_pss")  (anon $(mb "$peak_pss_anon"); sampled)"
echo "  peak anon     $(mb "$peak_anon")  (RssAnon; sampled)"

sleep 5
echo "  5 s later     RSS $(mb "$(kb VmRSS "/proc/$agent_pid/status")"), anon $(mb "$(kb RssAnon "/proc/$agent_pid/status")"), PSS $(mb "$(kb Pss "/proc/$agent_pid/smaps_rollup")")"
# The collector logs what it stored every second.
stored=$(awk '/log events/ { for (i = 1; i < NF; i++) if ($(i + 1) == "log") n += $i } END { print n + 0 }' \
  "$work/collector.log")
echo "  collector     $stored log events stored (expected $events)"

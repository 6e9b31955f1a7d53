#!/usr/bin/env bash
# Measures eroom-agent's memory and CPU against issue 9's targets (idle with
# logs, samples and probes running: RSS at most 16 MB, anonymous at most
# 4 MB, CPU under 0.5 % of one core; tailing at full speed: RSS at most
# 22 MB), beside reference processes measured in the same run, because a
# figure from another machine or another day says little.
#
#   tests/bench/agent_memory.sh [--bin DIR] [--agent FILE] [--lines N]
#                               [--runs N] [IDLE_SECONDS]
#
#   --bin DIR     the built binaries (default: $EROOM_BIN_DIR or build/bin)
#   --agent FILE  the agent to measure (default: DIR/eroom-agent)
#   --lines N     lines of the generated log read at full speed (1000000)
#   --runs N      agents started one after the other; medians are printed (3)
#   IDLE_SECONDS  how long each idle agent is watched (60)
#
# Around the agent run a collector (loopback, plaintext, no auth) and
# eroom-sim, which answers the probes and runs a room a minute at ERoom's
# pace, so "idle" is an agent that samples, probes and tails a live log.
# The references run for the whole script: `sleep` (the smallest
# dynamically linked process) and, where their Debian packages are
# installed, prometheus-node-exporter and zabbix-agent2 (the agents an
# ERoom host would otherwise run; neither ships logs). Each run prints the
# agent's figures over theirs.
#
# Memory is printed three ways, because RSS counts every resident page of
# the shared libraries even though other processes share them:
#   RSS   resident pages mapped (what `ps` and top show; VmHWM is its peak)
#   PSS   each shared page divided among the processes mapping it
#   anon  the process's own heap, stacks and relocated library data
#         (RssAnon): the part that grows with load and is never shared
# and RSS is split by mapping: the executable, TLS (libssl, libcrypto), the
# C/C++ runtime (libc, libm, libstdc++, libgcc_s, the loader), other
# shared libraries, the heap (every anonymous mapping: malloc's arenas and
# the threads' stacks) and the rest (the main stack, vDSO).
# The peak while tailing is VmHWM (exact, the kernel's high-water mark,
# reset before the load starts); PSS and anon peaks are sampled every
# 250 ms. Throughput runs from the moment the file appears until the
# collector's last_sequence covers every event in it.
# Before the runs, the agent reads a CP949 log: its decoding (glibc's iconv
# loads its converters at run time) must work in the binary as linked.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/tests/bench/script_support.sh"
bin=${EROOM_BIN_DIR:-$root/build/bin}
agent=
lines=1000000
runs=3
idle_seconds=60
while (($#)); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --agent) agent=$2; shift 2 ;;
    --lines) lines=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h | --help) sed -n '2,40s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) idle_seconds=$1; shift ;;
  esac
done
agent=$(realpath "${agent:-$bin/eroom-agent}")
for program in "$agent" "$bin"/{eroom-collector,eroomctl,eroom-loggen,eroom-sim}; do
  [[ -x $program ]] || { echo "no $program (--bin DIR, --agent FILE)" >&2; exit 2; }
done

work=$(mktemp -d /tmp/agent-memory.XXXXXX)
pids=()     # everything started here, stopped at exit
agent_pid=
cleanup() {
  for pid in $agent_pid "${pids[@]}"; do
    if kill "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

# kB value of KEY in a /proc status-like file (0 if absent).
kb() { awk -v key="$1:" '$1 == key { print $2; found = 1 } END { if (!found) print 0 }' "$2"; }
mb() { awk -v kb="$1" 'BEGIN { printf "%.1f", kb / 1024 }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# RSS (kB) of an smaps file by mapping: exe tls runtime libraries heap rest.
rss_by_mapping() {  # smaps-file executable
  awk -v exe="$2" '
    /^[0-9a-f]+-[0-9a-f]+ / { name = $6; next }
    $1 == "Rss:" {
      if (name == exe) kind = "exe"
      else if (name ~ /\/lib(ssl|crypto)\.so/) kind = "tls"
      else if (name ~ /\/(libc|libm|libstdc\+\+|libgcc_s|ld-linux-x86-64)\.so/) kind = "runtime"
      else if (name ~ /\.so/) kind = "libraries"
      else if (name == "" || name == "[heap]" || name ~ /^\[anon/) kind = "heap"
      else kind = "rest"
      rss[kind] += $2
    }
    END { printf "%d %d %d %d %d %d\n", rss["exe"], rss["tls"], rss["runtime"], rss["libraries"], rss["heap"], rss["rest"] }
  ' "$1"
}

# One line of memory figures of a live process: RSS anon PSS and the split.
memory_of() {  # pid
  local status=$work/status.$1 smaps=$work/smaps.$1
  cp "/proc/$1/status" "$status"
  cp "/proc/$1/smaps" "$smaps"
  echo "$(kb VmRSS "$status") $(kb RssAnon "$status")" \
    "$(awk '$1 == "Pss:" { s += $2 } END { print s + 0 }' "$smaps")" \
    "$(rss_by_mapping "$smaps" "$(readlink "/proc/$1/exe")")"
}

# --- a collector and eroom-sim on free loopback ports ------------------------
mkdir -p "$work/eroom" "$work/agent-state"
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
pids+=($!)
port=
for _ in $(seq 300); do
  port=$(sed -n 's/.*listening on .*(port \([0-9]*\),.*/\1/p' "$work/collector.log")
  [[ -n $port ]] && break
  sleep 0.1
done
[[ -n $port ]] || { cat "$work/collector.log" >&2; echo "collector did not start" >&2; exit 1; }
address=127.0.0.1:$port

sim_port=$(free_port)
export EROOM_PRIVATE_KEY=bench-key
"$bin/eroom-sim" --dir "$work/eroom" --port "$sim_port" --rooms-per-minute 1 \
  >"$work/sim.log" 2>&1 &
pids+=($!)

last_sequence() {
  "$bin/eroomctl" --insecure --collector "$address" -o json hosts 2>/dev/null |
    sed -n 's/.*"last_sequence": *"\{0,1\}\([0-9]*\)"\{0,1\}.*/\1/p' | head -1
}
stored_events_matching() {  # grep text
  "$bin/eroomctl" --insecure --collector "$address" -o json logs --since 1h \
    --grep "$1" 2>/dev/null | grep -c '"message"' || true
}

# --- the references ----------------------------------------------------------
references=()  # "name pid"
sleep infinity &
pids+=($!)
references+=("sleep $!")
if [[ -x /usr/bin/prometheus-node-exporter ]]; then
  /usr/bin/prometheus-node-exporter --web.listen-address="127.0.0.1:$(free_port)" \
    >"$work/node_exporter.log" 2>&1 &
  pids+=($!)
  references+=("node_exporter $!")
fi
if [[ -x /usr/sbin/zabbix_agent2 ]]; then
  cat >"$work/zabbix_agent2.conf" <<EOF
LogType=console
PidFile=$work/zabbix_agent2.pid
ControlSocket=$work/zabbix_agent2.sock
Server=127.0.0.1
ServerActive=
ListenIP=127.0.0.1
ListenPort=$(free_port)
Hostname=bench
EOF
  /usr/sbin/zabbix_agent2 -c "$work/zabbix_agent2.conf" >"$work/zabbix_agent2.log" 2>&1 &
  pids+=($!)
  references+=("zabbix_agent2 $!")
fi
sleep 1
for reference in "${references[@]}"; do
  read -r name pid <<<"$reference"
  if ! kill -0 "$pid" 2>/dev/null; then
    cat "$work/$name.log" >&2
    echo "the reference $name did not start" >&2
    exit 1
  fi
done

# --- the agent ---------------------------------------------------------------
cat >"$work/agent.yaml" <<EOF
agent: {id: mem-bench, state_dir: $work/agent-state, log_level: info}
eroom: {dir: $work/eroom, url: "http://127.0.0.1:$sim_port"}
logs:
  paths: [logs/server.log, logs/server.*.log, logs/legacy-*.log]
  start_at: beginning
  encodings: [{glob: logs/legacy-*.log, encoding: cp949}]
collector: {address: "$address", insecure: true}
EOF
start_agent() {
  "$agent" --config "$work/agent.yaml" >>"$work/agent.log" 2>&1 &
  agent_pid=$!
  local first
  first=$(last_sequence)
  for _ in $(seq 300); do
    [[ $(last_sequence) =~ ^[0-9]+$ && $(last_sequence) != "${first:-none}" ]] && return
    sleep 0.1
  done
  cat "$work/agent.log" >&2
  echo "agent did not connect" >&2
  exit 1
}
stop_agent() {
  kill "$agent_pid"
  wait "$agent_pid" 2>/dev/null || true
  agent_pid=
}

# CP949: "결과 성공" in EUC-KR/CP949 bytes, stored as UTF-8.
start_agent
printf '2025-01-01 10:00:00.000 [main] INFO  c.e.Bench - cp949 \xb0\xe1\xb0\xfa \xbc\xba\xb0\xf8\n' \
  >"$work/eroom/logs/legacy-1.log"
cp949=0
for _ in $(seq 100); do
  cp949=$(stored_events_matching 'cp949 결과 성공')
  ((cp949 > 0)) && break
  sleep 0.1
done
((cp949 > 0)) || { tail "$work/agent.log" >&2; echo "the agent did not decode a CP949 log" >&2; exit 1; }
stop_agent
echo "$agent: $(readelf -d "$agent" | grep -c NEEDED) shared libraries needed;" \
  "CP949 log decoded and stored"

"$bin/eroom-loggen" --lines "$lines" --out "$work/generated.log"
# Events are the lines that start with a header (either ERoom pattern); the
# rest are stack frames.
events=$(grep -cE '^([0-9]{4}-[0-9]{2}-[0-9]{2} )?[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} \[' \
  "$work/generated.log")
bytes=$(stat -c %s "$work/generated.log")

columns="RSS anon PSS | exe TLS runtime libs heap rest"
declare -A figures  # "name field" => values of every run
record() {  # name values...
  local name=$1 field
  shift
  for field in rss anon pss exe tls runtime libraries heap rest; do
    figures[$name $field]+="$1 "
    shift
  done
}
print_memory() {  # label values... (kB)
  local label=$1
  shift
  printf '  %-15s %6s %6s %6s | %5s %5s %5s %5s %5s %5s MB\n' "$label" \
    "$(mb "$1")" "$(mb "$2")" "$(mb "$3")" "$(mb "$4")" "$(mb "$5")" \
    "$(mb "$6")" "$(mb "$7")" "$(mb "$8")" "$(mb "$9")"
}

tick_hz=$(getconf CLK_TCK)
for run in $(seq "$runs"); do
  echo
  echo "run $run of $runs (load $(load_average), $(nproc) cores)"
  start_agent
  sleep 5  # Startup (schema, first scan, connection) is not idling.
  ticks_before=$(cpu_ticks "/proc/$agent_pid/stat")
  start=$(now)
  sleep "$idle_seconds"
  ticks_after=$(cpu_ticks "/proc/$agent_pid/stat")
  idle_elapsed=$(elapsed "$start" "$(now)")
  cpu=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$tick_hz" -v s="$idle_elapsed" \
    'BEGIN { printf "%.2f", 100 * t / hz / s }')
  figures[cpu]+="$cpu "
  echo "  idle over ${idle_elapsed} s: CPU $cpu % of one core, $(kb Threads "/proc/$agent_pid/status") threads"
  echo "                  $columns"
  read -r -a values <<<"$(memory_of "$agent_pid")"
  record agent "${values[@]}"
  print_memory "agent idle" "${values[@]}"
  for reference in "${references[@]}"; do
    read -r name pid <<<"$reference"
    read -r -a values <<<"$(memory_of "$pid")"
    record "$name" "${values[@]}"
    print_memory "$name" "${values[@]}"
  done

  # Tailing at full speed: a renamed copy appears as a new daily file.
  # Each run's begins with a line of its own: a file that begins as one
  # already read is taken for a copy of it (as rotation by copy leaves) and
  # is not read again.
  {
    echo "2025-06-16 09:12:00.000 [main] INFO  agent_memory.sh : run $run"
    cat "$work/generated.log"
  } >"$work/load.log"
  target=$(($(last_sequence) + events + 1))
  echo 5 >"/proc/$agent_pid/clear_refs"  # Resets VmHWM to the current RSS.
  peak_pss=0
  peak_anon=0
  load_ticks=$(cpu_ticks "/proc/$agent_pid/stat")
  start=$(now)
  mv "$work/load.log" "$work/eroom/logs/server.2025-01-0$run.log"
  while :; do
    for _ in 1 2; do  # Memory every 250 ms, the collector every 500 ms.
      pss=$(kb Pss "/proc/$agent_pid/smaps_rollup")
      anon=$(kb RssAnon "/proc/$agent_pid/status")
      ((pss > peak_pss)) && peak_pss=$pss
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
  load_ticks=$(($(cpu_ticks "/proc/$agent_pid/stat") - load_ticks))
  peak_rss=$(kb VmHWM "/proc/$agent_pid/status")
  figures[peak_rss]+="$peak_rss "
  figures[peak_anon]+="$peak_anon "
  figures[peak_pss]+="$peak_pss "
  lines_per_s=$(awk -v n="$lines" -v s="$load_elapsed" 'BEGIN { printf "%.0f", n / s }')
  figures[lines_per_s]+="$lines_per_s "
  echo "  tailing $lines lines ($events events, $(mb $((bytes / 1024))) MB): ${load_elapsed} s," \
    "$lines_per_s lines/s, agent CPU $(awk -v t="$load_ticks" -v hz="$tick_hz" -v n="$lines" \
      'BEGIN { printf "%.1f us a line", 1e6 * t / hz / n }')"
  echo "  peak            RSS $(mb "$peak_rss") MB (VmHWM), anon $(mb "$peak_anon") MB," \
    "PSS $(mb "$peak_pss") MB (sampled)"
  stop_agent
done

echo
echo "medians of $runs runs (load $(load_average), $(nproc) cores):"
echo "                  $columns"
for name in agent $(for reference in "${references[@]}"; do echo "${reference%% *}"; done); do
  values=()
  for field in rss anon pss exe tls runtime libraries heap rest; do
    values+=("$(median <<<"${figures[$name $field]}")")
  done
  print_memory "$([[ $name == agent ]] && echo "agent idle" || echo "$name")" "${values[@]}"
done
agent_rss=$(median <<<"${figures[agent rss]}")
agent_anon=$(median <<<"${figures[agent anon]}")
echo "  agent idle      RSS $(mb "$agent_rss") MB (target 16), anon $(mb "$agent_anon") MB (target 4)," \
  "CPU $(median <<<"${figures[cpu]}") % of one core (target 0.5)"
echo "  agent tailing   peak RSS $(mb "$(median <<<"${figures[peak_rss]}")") MB (target 22)," \
  "anon $(mb "$(median <<<"${figures[peak_anon]}")") MB, PSS $(mb "$(median <<<"${figures[peak_pss]}")") MB," \
  "$(median <<<"${figures[lines_per_s]}") lines/s"
for reference in "${references[@]}"; do
  name=${reference%% *}
  rss=$(median <<<"${figures[$name rss]}")
  echo "  agent idle RSS / $name RSS = $(awk -v a="$agent_rss" -v b="$rss" 'BEGIN { printf "%.2f", a / b }')"
done

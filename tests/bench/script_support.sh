# Helpers the benchmark scripts source.

# A loopback port nothing listens on now (under 32768: zabbix_agent2
# refuses higher ones).
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 12000))
    [[ -z $(ss -Hltn "sport = :$port") ]] && { echo "$port"; return; }
  done
}

# Runs `command` every 50 ms until it succeeds (0) or `seconds` passed (1).
wait_for() {  # seconds command...
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@"; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.05
  done
}

# Exits 2 naming the first of the program paths that is not executable.
require_programs() {  # path...
  local program
  for program; do
    [[ -x $program ]] || { echo "no $program (--bin DIR)" >&2; exit 2; }
  done
}

# utime + stime so far, in clock ticks, of a /proc/PID/stat or
# /proc/PID/task/TID/stat file; fails if it cannot be read.
cpu_ticks() {  # stat-file
  local stat fields
  stat=$(<"$1") || return 1
  read -r -a fields <<<"${stat##*) }"  # Field 3 of stat(5) is [0].
  echo $((fields[11] + fields[12]))
}

# The machine's load averages over 1, 5 and 15 minutes.
load_average() { cut -d' ' -f1-3 /proc/loadavg; }

# The median of the numbers on standard input (space or newline separated).
median() {
  tr ' ' '\n' | sed '/^$/d' | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

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
  local fields
  stat_fields "$1" || return 1
  echo $((fields[11] + fields[12]))
}

# Page faults a process took that read nothing from disk (minflt): where a
# page fault is costly, as in a VM that shadows page tables, they can take a
# third of a process's CPU.
minor_faults() {  # pid
  local fields
  stat_fields "/proc/$1/stat" || return 1
  echo "${fields[7]}"
}

# Splits stat(5) file `stat-file` into the caller's array `fields`, field 3
# at [0]: the command name before it may hold spaces.
stat_fields() {  # stat-file
  local stat
  stat=$(<"$1") || return 1
  read -r -a fields <<<"${stat##*) }"
}

# The machine's load averages over 1, 5 and 15 minutes.
load_average() { cut -d' ' -f1-3 /proc/loadavg; }

# The median of the numbers on standard input (space or newline separated).
median() {
  tr ' ' '\n' | sed '/^$/d' | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Installs rsyslog from Debian if it is missing.
ensure_rsyslog() {
  command -v rsyslogd >/dev/null && return
  echo "installing rsyslog from Debian..."
  apt-get install -y rsyslog >/dev/null
}

# Starts an rsyslogd that receives syslog over TCP on 127.0.0.1:PORT (imtcp,
# up to SESSIONS connections) and appends each message's text to OUT, with
# its config, pid file, state and output log in DIR; sets receiver_pid and
# returns once the port takes connections.
start_rsyslog_receiver() {  # dir port out [sessions]
  local dir=$1 port=$2 out=$3 sessions=${4:-200}
  mkdir -p "$dir/state"
  cat >"$dir/receiver.conf" <<CONF
global(workDirectory="$dir/state")
module(load="imtcp" maxSessions="$sessions")
input(type="imtcp" address="127.0.0.1" port="$port")
template(name="raw" type="string" string="%msg%\n")
action(type="omfile" file="$out" template="raw")
CONF
  rsyslogd -n -f "$dir/receiver.conf" -i "$dir/receiver.pid" \
    >"$dir/receiver.log" 2>&1 &
  receiver_pid=$!
  wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
}

# The byte offset where `file`'s last line starts: a log is stored whole
# once the collector's newest event starts there.
last_line_offset() {  # file
  echo $(($(stat -c %s "$1") - $(tail -n 1 "$1" | wc -c)))
}

# Whether the newest log event in the collector database `db` starts at
# `offset`. Read from the database, not asked of the collector, which would
# count answering the polls as storing: a row other connections see is
# durable (the collector syncs its write-ahead log before publishing a
# commit).
newest_event_starts_at() {  # db offset
  [[ $(sqlite3 -readonly "$1" \
    "SELECT file_offset FROM log_events ORDER BY id DESC LIMIT 1" \
    2>/dev/null) == "$2" ]]
}

# Whether the search index beside the collector database `db` holds every
# log event up to id `newest`.
search_index_caught_up() {  # db newest
  local through
  through=$(sqlite3 -readonly "$1.search" \
    "SELECT indexed_through FROM index_state" 2>/dev/null) || return 1
  ((through >= $2))
}

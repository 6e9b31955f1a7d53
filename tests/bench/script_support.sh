# Helpers the benchmark scripts source.

# A loopback port nothing listens on now.
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

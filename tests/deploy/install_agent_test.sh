#!/usr/bin/env bash
# deploy/install-agent.sh into a temporary root: the agent's user, its
# group membership, the files and their modes, the sudoers rule, and a unit
# that runs as that user with no option that would break sudo. Needs root
# (useradd --root); exits 77 (skipped) without it.
set -euo pipefail

source_dir=$(cd "$(dirname "$0")/../.." && pwd)
[[ $(id -u) == 0 ]] || { echo "needs root: skipped"; exit 77; }
root=$(mktemp -d /tmp/install-agent-test.XXXXXX)
trap 'rm -rf "$root"' EXIT
failures=0
check() {  # description command...
  local description=$1
  shift
  if "$@"; then echo "ok    $description"; else echo "FAIL  $description"; failures=$((failures + 1)); fi
}
mode_owner() { stat -c '%a %u:%g' "$root/$1"; }

# A host where ERoom runs as eroom (group eroom, gid 1001).
mkdir -p "$root/etc" "$root/srv/eroom/scripts"
printf 'root:x:0:0:root:/root:/bin/bash\neroom:x:1001:1001::/home/eroom:/bin/bash\n' >"$root/etc/passwd"
printf 'root:x:0:\neroom:x:1001:\n' >"$root/etc/group"
printf 'root:*:19000:0:99999:7:::\neroom:*:19000:0:99999:7:::\n' >"$root/etc/shadow"
printf 'root:*::\neroom:!::\n' >"$root/etc/gshadow"
chmod 0640 "$root/etc/shadow" "$root/etc/gshadow"
printf '#!/bin/sh\n' >"$root/agent-binary"
chmod 0755 "$root/agent-binary"

install_agent() {
  "$source_dir/deploy/install-agent.sh" --root "$root" --binary "$root/agent-binary" \
    --eroom-dir /srv/eroom --eroom-user eroom >"$root/install.out" 2>&1 ||
    { cat "$root/install.out"; return 1; }
}
install_agent

uid=$(awk -F: '$1 == "eroom-agent" { print $3 }' "$root/etc/passwd")
gid=$(awk -F: '$1 == "eroom-agent" { print $4 }' "$root/etc/passwd")
check "eroom-agent is a system user" test -n "$uid" -a "${uid:-1000}" -lt 1000
check "it cannot log in" grep -q '^eroom-agent:.*:/usr/sbin/nologin$' "$root/etc/passwd"
check "it is in ERoom's group, to read the logs" \
  grep -Eq '^eroom:x:1001:(.*,)?eroom-agent(,.*)?$' "$root/etc/group"
check "binary 0755 root" test "$(mode_owner usr/local/bin/eroom-agent)" = "755 0:0"
check "config dir 0750 root:eroom-agent" test "$(mode_owner etc/eroom-monitor)" = "750 0:$gid"
check "agent.env (token, API key) 0640 root:eroom-agent" \
  test "$(mode_owner etc/eroom-monitor/agent.env)" = "640 0:$gid"
check "agent.yaml 0640 root:eroom-agent" \
  test "$(mode_owner etc/eroom-monitor/agent.yaml)" = "640 0:$gid"
check "sudoers drop-in 0440 root" test "$(mode_owner etc/sudoers.d/eroom-agent)" = "440 0:0"
rules=$(grep -v '^#' "$root/etc/sudoers.d/eroom-agent")
check "sudoers: exactly the two scripts, no arguments, as eroom, no password" test "$rules" = \
  'eroom-agent ALL=(eroom) NOPASSWD: /srv/eroom/scripts/start.sh "", /srv/eroom/scripts/stop.sh ""'
if command -v visudo >/dev/null; then
  check "visudo accepts the drop-in" visudo -cqf "$root/etc/sudoers.d/eroom-agent"
fi

unit=$root/etc/systemd/system/eroom-agent.service
check "unit 0644 root" test "$(mode_owner etc/systemd/system/eroom-agent.service)" = "644 0:0"
for line in User=eroom-agent Group=eroom-agent NoNewPrivileges=false KillMode=process \
  ProtectSystem=strict ProtectHome=true PrivateTmp=true StateDirectoryMode=0700 \
  ReadWritePaths=-/srv/eroom; do
  check "unit: $line" grep -qx "$line" "$unit"
done
# Each of these implies NoNewPrivileges for a service without CAP_SYS_ADMIN,
# and sudo would then refuse to run ERoom's scripts.
check "unit: nothing implies NoNewPrivileges" bash -c "! grep -Eq \
  '^(SystemCallFilter|SystemCallArchitectures|RestrictAddressFamilies|RestrictNamespaces|PrivateDevices|ProtectKernel[A-Za-z]*|ProtectClock|MemoryDenyWriteExecute|RestrictRealtime|RestrictSUIDSGID|LockPersonality|DynamicUser|CapabilityBoundingSet)=' '$unit'"
if command -v systemd-analyze >/dev/null; then
  # The binary is not installed on this machine: only that may be missing.
  verify=$(systemd-analyze verify "$unit" 2>&1 | grep -v 'eroom-agent is not executable' || true)
  check "systemd-analyze verify${verify:+: $verify}" test -z "$verify"
fi

# Again, with an operator's edits: same user, the edits kept.
echo "EROOM_AGENT_TOKEN=edited" >"$root/etc/eroom-monitor/agent.env"
check "a second install succeeds" install_agent
check "one eroom-agent user" test "$(grep -c '^eroom-agent:' "$root/etc/passwd")" = 1
check "agent.env kept" grep -qx "EROOM_AGENT_TOKEN=edited" "$root/etc/eroom-monitor/agent.env"

if command -v shellcheck >/dev/null; then
  check "shellcheck deploy/install-agent.sh" shellcheck "$source_dir/deploy/install-agent.sh"
fi
((failures == 0)) || { echo "$failures checks failed"; exit 1; }

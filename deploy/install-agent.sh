#!/usr/bin/env bash
# Installs eroom-agent as a systemd service running as its own user, with
# only the access it needs (README: "Installing the agent"):
#   - the system user and group eroom-agent (no login, no home);
#   - eroom-agent in ERoom's user's group, to read ERoom's logs;
#   - /etc/sudoers.d/eroom-agent: ERoom's start and stop scripts, exactly
#     those two and with no arguments, as ERoom's user, without a password;
#   - /etc/eroom-monitor/agent.{yaml,env} readable by the agent only
#     (the env file holds its token and ERoom's API key), kept if present;
#   - the binary in /usr/local/bin and the unit in /etc/systemd/system.
#
#   deploy/install-agent.sh [--root DIR] [--binary FILE] [--eroom-dir DIR]
#                           [--eroom-user USER]
#
#   --root DIR        install into DIR instead of / (packaging, tests)
#   --binary FILE     the agent to install (default: build/bin/eroom-agent)
#   --eroom-dir DIR   ERoom's directory (default: /opt/eroom)
#   --eroom-user USER the user ERoom runs as (default: eroom)
# Run as root. Idempotent.
set -euo pipefail

source_dir=$(cd "$(dirname "$0")/.." && pwd)
root=/
binary=${EROOM_BUILD_DIR:-$source_dir/build}/bin/eroom-agent
eroom_dir=/opt/eroom
eroom_user=eroom
while (($#)); do
  case $1 in
    --root) root=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --eroom-dir) eroom_dir=$2; shift 2 ;;
    --eroom-user) eroom_user=$2; shift 2 ;;
    -h | --help) sed -n '2,19s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (--help)" >&2; exit 2 ;;
  esac
done
fail() { echo "install-agent: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || fail "run as root"
[[ -x $binary ]] || fail "no agent at $binary (deploy/build.sh eroom-agent, or --binary FILE)"
[[ $eroom_dir == /* ]] || fail "--eroom-dir must be absolute: $eroom_dir"
# sudoers and the unit take the names as they are: nothing to quote.
[[ $eroom_dir =~ ^[A-Za-z0-9_./-]+$ ]] || fail "--eroom-dir has characters sudoers would read: $eroom_dir"
[[ $eroom_user =~ ^[a-z_][a-z0-9_-]*$ ]] || fail "not a user name: $eroom_user"
root=${root%/}
etc=$root/etc

# Field FIELD of NAME's line in the colon-separated FILE under the root.
field_of() { awk -F: -v name="$2" -v field="$3" '$1 == name { print $field }' "$etc/$1"; }

if [[ -z $(field_of passwd eroom-agent 1) ]]; then
  useradd --root "$root" --system --user-group --no-create-home \
    --home-dir /var/lib/eroom-agent --shell /usr/sbin/nologin \
    --comment "eroom-agent (ERoom monitoring)" eroom-agent
fi
uid=$(field_of passwd eroom-agent 3)
gid=$(field_of passwd eroom-agent 4)

eroom_gid=$(field_of passwd "$eroom_user" 4)
if [[ -n $eroom_gid ]]; then
  eroom_group=$(awk -F: -v gid="$eroom_gid" '$3 == gid { print $1 }' "$etc/group")
  usermod --root "$root" --append --groups "$eroom_group" eroom-agent
else
  echo "install-agent: no user $eroom_user yet: add eroom-agent to ERoom's group" \
    "later (usermod -aG GROUP eroom-agent)" >&2
fi

install -D -m 0755 -o 0 -g 0 "$binary" "$root/usr/local/bin/eroom-agent"
install -d -m 0750 -o 0 -g "$gid" "$etc/eroom-monitor"
for file in agent.yaml:agent.example.yaml agent.env:agent.env.example; do
  target=$etc/eroom-monitor/${file%%:*}
  if [[ ! -e $target ]]; then
    install -m 0640 -o 0 -g "$gid" "$source_dir/deploy/${file#*:}" "$target"
  fi
done
staging=$(mktemp -d)
trap 'rm -rf "$staging"' EXIT
sed "s|^ReadWritePaths=-/opt/eroom\$|ReadWritePaths=-$eroom_dir|" \
  "$source_dir/deploy/systemd/eroom-agent.service" >"$staging/unit"
install -D -m 0644 -o 0 -g 0 "$staging/unit" "$etc/systemd/system/eroom-agent.service"

sudoers=$staging/sudoers
cat >"$sudoers" <<EOF
# Installed by eroom-monitor's deploy/install-agent.sh: eroom-agent may run
# ERoom's start and stop scripts, without arguments, as $eroom_user.
eroom-agent ALL=($eroom_user) NOPASSWD: $eroom_dir/scripts/start.sh "", $eroom_dir/scripts/stop.sh ""
EOF
if command -v visudo >/dev/null; then
  visudo -cqf "$sudoers" || fail "visudo refuses the sudoers rule"
else
  echo "install-agent: sudo is not installed: the agent cannot run ERoom's scripts" >&2
fi
install -D -m 0440 -o 0 -g 0 "$sudoers" "$etc/sudoers.d/eroom-agent"

if [[ $root == "" ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
fi
echo "eroom-agent installed (user eroom-agent, uid $uid)${root:+ under $root}." \
  "Edit $etc/eroom-monitor/agent.env, then: systemctl enable --now eroom-agent"

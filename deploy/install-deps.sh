#!/usr/bin/env bash
# Installs the Debian 12 packages eroom-monitor builds with. Idempotent: does
# nothing when everything is already there.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libgrpc-dev libc-ares-dev  # static archives eroom-agent links (agent/CMakeLists.txt)
  libabsl-dev libsqlitecpp-dev libsqlite3-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libre2-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev zlib1g-dev libcpp-httplib-dev
  libssl-dev
  libxxhash-dev  # header-only in eroom-agent: its spool's checksums
  libcurl4-openssl-dev  # eroom-collector's notifications (never the agent)
  libboost-dev  # header-only Boost.Beast: eroom-agent's probes
  clang-14 libclang-rt-14-dev  # tests/run.sh, tests/fuzz: clang, libFuzzer, sanitizers
  clang-format ccache  # tests/run.sh: the format check; every build dir's cache
  openssl curl procps iproute2  # tests and benchmarks: ss finds free ports
  prometheus  # tests/integration/prometheus_test: a real Prometheus scrapes /metrics
  rsyslog  # tests/bench/peer_compare.sh: the peer our log shipping is measured against
  sqlite3  # tests/bench: the sqlite3 shell reads the collector's database from outside
  valgrind  # tests/bench/pipeline_instructions.sh counts instructions with callgrind
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
sudo=""
if [[ $(id -u) != 0 ]]; then sudo="sudo"; fi
echo "installing: ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"

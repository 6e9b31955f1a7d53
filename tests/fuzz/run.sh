#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer and UBSan) in a
# build dir of their own and runs each for a while, starting from the seeds
# in tests/fuzz/corpus/<name>/ (text protos, encoded here). Fails on any
# crash, sanitizer report, leak or violated property; the input is kept as
# $build/artifacts/<target>-crash-* and reproduces with
# `$build/fuzz/<target> FILE`.
# Usage: tests/fuzz/run.sh [seconds per target, default 20]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${EROOM_FUZZ_BUILD_DIR:-${EROOM_BUILD_DIR:-$root/build}/fuzz-clang}
seconds=${1:-20}
# target -> the message type its input is.
declare -A message_types=(
  [agent_message_fuzz]=eroom.monitor.v1.AgentMessage
  [command_fuzz]=eroom.monitor.v1.Command
)

CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEROOM_FUZZ=ON >/dev/null
ninja -C "$build" -j"$(nproc)" "${!message_types[@]}"

mkdir -p "$build/artifacts"
for target in "${!message_types[@]}"; do
  name=${target%_fuzz}
  corpus="$build/corpus/$name"  # Grows from run to run.
  mkdir -p "$corpus"
  for seed in "$root/tests/fuzz/corpus/$name"/*.textproto; do
    protoc --proto_path="$root/proto" --encode="${message_types[$target]}" \
      eroom/monitor/v1/monitor.proto <"$seed" \
      >"$corpus/seed-$(basename "$seed" .textproto)"
  done
  log="$build/$target.log"
  echo "fuzzing $target for ${seconds} s from $(find "$corpus" -type f | wc -l) inputs"
  if ! "$build/fuzz/$target" "$corpus" -max_total_time="$seconds" \
    -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$target-" >"$log" 2>&1; then
    tail -n 80 "$log"
    echo "FAILED: $target (full log: $log)" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  echo "$target: ok, $execs runs ($rate/s), corpus $(find "$corpus" -type f | wc -l)" \
    "inputs, $(grep -o 'cov: [0-9]*' "$log" | tail -n 1)"
done

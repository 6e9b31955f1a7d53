#!/usr/bin/env bash
# Installs what eroom-monitor needs, builds everything, and runs every test
# with ctest (unit, integration, and each benchmark as a quick smoke run),
# then each fuzz target briefly (tests/fuzz/run.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${EROOM_BUILD_DIR:-$root/build}
"$root/deploy/install-deps.sh"
start=$(date +%s)
"$root/deploy/build.sh"
echo "build took $(($(date +%s) - start)) s"
start=$(date +%s)
cd "$build"
ctest --output-on-failure -j"$(nproc)" --timeout 600 "$@"
echo "tests took $(($(date +%s) - start)) s"
start=$(date +%s)
"$root/tests/fuzz/run.sh" 20
echo "fuzzing (clang build included) took $(($(date +%s) - start)) s"

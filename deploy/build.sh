#!/usr/bin/env bash
# Configures and builds eroom-monitor into build/ (or $EROOM_BUILD_DIR).
# Usage: deploy/build.sh [ninja targets...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${EROOM_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" -j"$(nproc)" "$@"

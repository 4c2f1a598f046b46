#!/usr/bin/env bash
# Configures (once) and builds effrobust into build/ with Ninja and ccache.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${EFFROBUST_BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
start=$(date +%s)
ninja -C "$BUILD_DIR" -j"$(nproc)"
echo "[build] done in $(( $(date +%s) - start )) s"

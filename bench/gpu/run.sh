#!/usr/bin/env bash
# Runs on a GPU machine that has CUDA, cmake, ninja and pip's torch (no Debian
# packages of ours): builds bench_cuda against the LibTorch inside the torch
# package, then runs it. Everything goes to $OUT/gpu.log (build output also to
# $OUT/build.log). Layout (see pack.sh): this script's folder holds src/ (the
# effrobust sources bench_cuda compiles) and models/ (optional trained weights).
#   OUT=/tmp/out bash run.sh [extra bench_cuda args]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/bench-cuda-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu.log") 2>&1
SRC=$HERE/src
BUILD=${BUILD:-/tmp/build}
JOBS=${JOBS:-16}
T0=$(date +%s)
stamp() { echo "[run.sh +$(( $(date +%s) - T0 )) s] $*"; }

stamp "host"
echo "nproc $(nproc); $(uname -srm)"
g++ --version | head -1; cmake --version | head -1; ninja --version
[ -d /usr/local/cuda/bin ] && export PATH=/usr/local/cuda/bin:$PATH
command -v nvcc && nvcc --version | tail -2
nvidia-smi
PY=python3
TORCH_PREFIX=$($PY -c 'import torch; print(torch.utils.cmake_prefix_path)')
TORCH_ROOT=$($PY -c 'import torch, os; print(os.path.dirname(torch.__file__))')
ABI=$($PY -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
$PY -c 'import torch; print("python torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
echo "torch cmake prefix $TORCH_PREFIX; CXX11 ABI $ABI"
STD=17
# Newer torch headers stop C++17 builds with an #error naming C++20.
if grep -rqE '^[[:space:]]*#[[:space:]]*error.*C\+\+ ?20' "$TORCH_ROOT/include/c10" \
    "$TORCH_ROOT/include/ATen" "$TORCH_ROOT/include/torch/csrc/api/include/torch" 2>/dev/null; then
  STD=20
fi
echo "C++ standard for this torch: $STD"
export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}

configure() {  # $1 = auto | manual
  rm -rf "$BUILD"
  local extra=()
  if [ "$1" = manual ]; then
    extra=(-DEFFROBUST_TORCH_MANUAL=ON -DTORCH_ROOT="$TORCH_ROOT" -DTORCH_CXX11_ABI="$ABI")
  else
    extra=(-DCMAKE_PREFIX_PATH="$TORCH_PREFIX")
    command -v nvcc >/dev/null && extra+=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)")
    [ -d /usr/local/cuda ] && extra+=(-DCUDAToolkit_ROOT=/usr/local/cuda)
  fi
  stamp "configure ($1)"
  cmake -S "$SRC/bench/gpu" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_STANDARD=$STD -DEFFROBUST_ROOT="$SRC" "${extra[@]}"
}
build() {
  stamp "build"
  set -o pipefail
  ninja -C "$BUILD" -j"$JOBS" bench_cuda 2>&1 | tee -a "$OUT/build.log"
  local rc=$?
  set +o pipefail
  return $rc
}

mode=auto
if ! configure auto; then
  stamp "find_package(Torch) failed; linking LibTorch by hand"
  mode=manual
  configure manual || { stamp "configure failed"; exit 1; }
fi
if ! build; then
  if [ $mode = auto ] && ! grep -q ' error: ' "$OUT/build.log"; then
    stamp "link failed with torch's CMake config; retrying with manual linking"
    mode=manual
    configure manual && build || { stamp "build failed"; exit 1; }
  else
    stamp "build failed"; exit 1
  fi
fi
stamp "built ($mode)"
ldd "$BUILD/bench_cuda" | grep -E 'torch|c10|cuda' | head
stamp "bench_cuda"
timeout "${BENCH_TIMEOUT:-300}" "$BUILD/bench_cuda" --models "$HERE/models" "$@"
rc=$?
stamp "bench_cuda exit $rc"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
exit $rc

#!/usr/bin/env bash
# One device call for bench_cuda --cuda-paths (run from the repository root
# after `bash bench/gpu/pack.sh .gpu`): builds and runs it on the fixed
# sources (run.sh; log $OUT/gpu.log), then, if .gpu/orig holds the files as
# they were before the device fixes (same relative paths, listed in
# .gpu/orig/LIST), rebuilds with those in the same build folder and runs the
# paths again (log $OUT/unfixed.log): InferGathered's host reads of CUDA
# memory may crash the process, so adaptive_token/infer_one runs on its own.
set -u
OUT=${OUT:-/tmp/bench-cuda-out}
mkdir -p "$OUT"
export BENCH_TIMEOUT=${BENCH_TIMEOUT:-150}
bash .gpu/run.sh --cuda-paths
rc=$?
echo "fixed sources: bench_cuda --cuda-paths exit $rc" | tee -a "$OUT/gpu.log"
[ -f .gpu/orig/LIST ] || exit $rc
{
  echo "== unfixed sources (before the device fixes): $(tr '\n' ' ' < .gpu/orig/LIST)"
  while read -r f; do cp ".gpu/orig/$f" ".gpu/src/$f"; done < .gpu/orig/LIST
  ninja -C "${BUILD:-/tmp/build}" -j16 bench_cuda 2>&1 | tail -3
  B="${BUILD:-/tmp/build}/bench_cuda"
  BENCH_SKIP_PATHS=adaptive_token/infer_one timeout 120 "$B" --cuda-paths --models .gpu/models
  echo "unfixed, all but adaptive_token/infer_one: exit $?"
  BENCH_PATHS=adaptive_token/infer_one timeout 60 "$B" --cuda-paths --models .gpu/models
  echo "unfixed, adaptive_token/infer_one alone: exit $?"
} > "$OUT/unfixed.log" 2>&1
grep -E '^(PATH|  compare|unfixed|==)' "$OUT/unfixed.log" | grep -v 'skipped' | head -80
exit $rc

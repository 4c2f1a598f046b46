#!/usr/bin/env bash
# Copies what run.sh needs into DEST (default: .gpu of the repository the
# device tool sends): DEST/run.sh, DEST/src/<the source folders bench_cuda
# compiles, bench/gpu included>, DEST/models/<sdn-fmnist.pt, captioner-lstm.pt,
# skipnet-fmnist.pt, avit-fmnist.pt if runs/models has them>.
#   bash bench/gpu/pack.sh /work/main/.gpu
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DEST=${1:?usage: pack.sh DEST}
rm -rf "$DEST"
mkdir -p "$DEST/src/bench" "$DEST/models"
for d in common models attacks data evaluation workers orchestrator results; do
  cp -r "$ROOT/$d" "$DEST/src/$d"
done
cp -r "$ROOT/bench/gpu" "$DEST/src/bench/gpu"
cp "$ROOT/bench/gpu/run.sh" "$DEST/run.sh"
MODELS=${MODELS:-$ROOT/runs/models}
for m in sdn-fmnist.pt captioner-lstm.pt skipnet-fmnist.pt avit-fmnist.pt; do
  [ -f "$MODELS/$m" ] && cp "$MODELS/$m" "$DEST/models/"
done
du -sh "$DEST"

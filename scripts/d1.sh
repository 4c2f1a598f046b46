#!/usr/bin/env bash
# Issue 4's D1 experiment end to end: build, train the D1 models if they
# are missing (multi-exit CNN, gated skip network, adaptive-token ViTs at
# patch 4 and 7), run experiments/d1.yaml under mpirun with 3 ranks, print
# the tables.
# Assumes scripts/install-deps.sh has run (the quickstart does it).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bash scripts/build.sh
./build/effrobust train --arch multi_exit_cnn --out runs/models/sdn-fmnist.pt --if-missing
./build/effrobust train --arch skip_net --out runs/models/skipnet-fmnist.pt --if-missing
./build/effrobust train --arch adaptive_vit --out runs/models/avit-fmnist.pt --if-missing \
  --max-train 10000 --epochs 4 --threads 1
./build/effrobust train --arch adaptive_vit --out runs/models/avit7-fmnist.pt --if-missing \
  --name avit7-fmnist --patch 7 --ponder-weight 0.15 --gate-scale 10 --gate-center 10 \
  --max-train 6400 --epochs 2 --threads 1
mpirun --oversubscribe --bind-to none -np 3 ./build/effrobust run experiments/d1.yaml
echo
./build/effrobust tables runs/d1

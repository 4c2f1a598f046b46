#!/usr/bin/env bash
# The main job, end to end: install what is missing, build, train the
# quickstart model if it is missing, run experiments/quickstart.yaml under
# mpirun with 3 ranks (rank 0 coordinates, ranks 1-2 work), print the table.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bash scripts/install-deps.sh
bash scripts/build.sh
./build/effrobust train --out runs/models/sdn-fmnist.pt --if-missing
mpirun --oversubscribe --bind-to none -np 3 ./build/effrobust run experiments/quickstart.yaml
echo
./build/effrobust tables runs/quickstart

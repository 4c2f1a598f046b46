#!/usr/bin/env bash
# Issue 6's D3 experiment end to end: build, train the grid detector if it
# is missing, run experiments/d3.yaml under mpirun with 3 ranks (rank 0
# coordinates, two workers), print the tables.
# Assumes scripts/install-deps.sh has run (the quickstart does it).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bash scripts/build.sh
./build/effrobust train --arch detector --out runs/models/detector-fmnist.pt --if-missing
mpirun --oversubscribe --bind-to none -np 3 ./build/effrobust run experiments/d3.yaml
echo
./build/effrobust tables runs/d3

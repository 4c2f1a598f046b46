#!/usr/bin/env bash
# Issue 5's D2 experiment end to end: build, train the D2 models if they are
# missing (attention captioners with an LSTM and a GRU cell on Fashion-MNIST
# scenes, the character-level English->German translator on FreeDict
# pairs), run experiments/d2.yaml under mpirun with 3 ranks, print the
# tables.
# Assumes scripts/install-deps.sh has run (the quickstart does it).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bash scripts/build.sh
./build/effrobust train --arch captioner --cell lstm --name captioner-lstm \
  --out runs/models/captioner-lstm.pt --if-missing
./build/effrobust train --arch captioner --cell gru --name captioner-gru \
  --out runs/models/captioner-gru.pt --if-missing
./build/effrobust train --arch translator --name translator \
  --out runs/models/translator.pt --if-missing
mpirun --oversubscribe --bind-to none -np 3 ./build/effrobust run experiments/d2.yaml
echo
./build/effrobust tables runs/d2

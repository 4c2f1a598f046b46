#!/usr/bin/env bash
# Issue 7's paper evaluation end to end: build, train the models experiments/paper.yaml lists if
# they are missing (the standard victims as scripts/d1.sh, d2.sh and d3.sh train them; the
# multi-exit CNN also after PGD and after DeepSloth-aware adversarial training, on 10 000 training
# images), run the grid under mpirun with 3 ranks (rank 0 coordinates, two workers) at the scale
# given as the first argument (default: --samples 200; "full" runs every input the YAML lists),
# and print the paper's tables.
# Assumes scripts/install-deps.sh has run (the quickstart does it).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
samples="${1:-200}"
bash scripts/build.sh
train() { ./build/effrobust train "$@" --if-missing; }
train --arch multi_exit_cnn --out runs/models/sdn-fmnist.pt
train --arch multi_exit_cnn --name sdn-fmnist-at-pgd --out runs/models/sdn-fmnist-at-pgd.pt \
  --adversarial pgd --max-train 10000 --epochs 2
train --arch multi_exit_cnn --name sdn-fmnist-at-eff --out runs/models/sdn-fmnist-at-eff.pt \
  --adversarial efficiency --max-train 10000 --epochs 2
train --arch captioner --cell lstm --name captioner-lstm --out runs/models/captioner-lstm.pt
train --arch captioner --cell gru --name captioner-gru --out runs/models/captioner-gru.pt
train --arch detector --out runs/models/detector-fmnist.pt
if [ "$samples" = full ]; then
  mpirun --oversubscribe --bind-to none -np 3 ./build/effrobust run experiments/paper.yaml
  out=runs/paper
else
  mpirun --oversubscribe --bind-to none -np 3 ./build/effrobust run experiments/paper.yaml \
    --samples "$samples"
  out="runs/paper-samples$samples"
fi
echo
./build/effrobust tables "$out" --paper

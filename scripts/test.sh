#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
bash scripts/install-deps.sh
bash scripts/build.sh
bash slurm/local-cluster.sh start  # the slurm-labelled tests submit real jobs to it
cd "${EFFROBUST_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 1200

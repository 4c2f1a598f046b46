#!/usr/bin/env bash
# Installs the Debian 12 packages effrobust needs; does nothing when they are
# all present (idempotent). Run as root.
set -euo pipefail
PACKAGES=(
  g++ cmake ninja-build ccache git pkg-config
  libtorch-dev
  # Python with the same LibTorch 1.13 (libtorch1.13), for the Python reference benches
  # (bench/reference/, run with /usr/bin/python3) and the tests that compare against them.
  python3-torch
  # Debian's libtorch links libblas.so.3; the default alternative is the reference BLAS, 5x slower
  # on our ViT than OpenBLAS (docs/performance.md). The OpenMP build follows torch::set_num_threads.
  libopenblas0-openmp
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools
  libyaml-cpp-dev libsqlite3-dev sqlite3 zlib1g-dev
  # OpenCV: resizing Fashion-MNIST items into scenes (data/scenes.cpp); JPEG (imgcodecs) and
  # non-local means (photo) for the input-transform defenses (defenses/transforms.cpp).
  libopencv-imgproc-dev libopencv-imgcodecs-dev libopencv-photo-dev
  # nlohmann/json, header-only: the Karpathy-style captions JSON reader (data/caption_json.cpp).
  nlohmann-json3-dev
  # dlib, header-only parts: Hungarian assignment and small matrices for the tracker (models/
  # byte_tracker.cpp) and MOTA (evaluation/mota.cpp).
  libdlib-dev
  # libsvm: the RBF SVM of the input-validation detectors (defenses/svm_detector.cpp).
  libsvm-dev
  libgtest-dev
  dataset-fashion-mnist
  # English->German FreeDict dictionary (dictd format) for the translation model (data/freedict.cpp).
  dict-freedict-eng-deu
  # Slurm for `effrobust submit` and the local test cluster (slurm/local-cluster.sh). Slurm's
  # mpi_pmix plugin (srun --mpi=pmix) dlopens pmix2/lib/libpmix.so, which only libpmix-dev ships.
  slurmctld slurmd slurm-client munge libpmix-dev
)
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[install] all ${#PACKAGES[@]} packages present"
  exit 0
fi
echo "[install] installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

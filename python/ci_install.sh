#!/usr/bin/env bash
# Installs what the Python package's build and tests need into a virtual environment under
# build/ (default build/python-venv; override with UPS_PY_VENV), leaving the system Python alone.
#   torch from PyPI (its Linux wheel pulls the nvidia-* CUDA 13 wheels: about 3 GB downloaded,
#   5.4 GB installed, ~1.5 min on this network with an empty pip cache), numpy, pytest, pillow
#   (the example), scikit-build-core (the build backend, so the package builds without isolation)
#   and nvidia-cuda-runtime (libcudart.so.13 for libupsample.so).
# Idempotent: a venv whose stamp matches this script's requirements is reused as is.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${UPS_PY_VENV:-$ROOT/build/python-venv}"
PYTHON="${PYTHON:-python3}"
REQS=(
  "torch==2.15.*"
  "numpy>=1.22"
  "pytest>=7"
  "pillow"
  "scikit-build-core>=0.10"
  "nvidia-cuda-runtime>=13.0,<14"
)
STAMP="$VENV/.ups-requirements"
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "${REQS[*]}" ]]; then
  echo "ci_install: reusing $VENV"
  exit 0
fi
start=$(date +%s)
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --upgrade --quiet pip
"$VENV/bin/python" -m pip install --quiet "${REQS[@]}"
echo "${REQS[*]}" > "$STAMP"
echo "ci_install: installed into $VENV in $(( $(date +%s) - start )) s ($(du -sh "$VENV" | cut -f1))"
"$VENV/bin/python" -c "import torch, numpy; print('ci_install: torch', torch.__version__, 'numpy', numpy.__version__)"

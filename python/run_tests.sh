#!/usr/bin/env bash
# Builds the Python package (wheel with libupsample.so, via scikit-build-core from the project's
# CMake) into the test venv and runs its pytest suite. Exits non-zero on any failure, and when
# pytest collected no test (its exit status 5).
#   UPS_PY_VENV     the venv (default build/python-venv; made by ci_install.sh if missing)
#   UPS_PY_LIBRARY  a libupsample.so already built (CI: build/test's): test the source package on
#                   it instead of building the wheel
#   UPS_PY_ARCHS    CMAKE_CUDA_ARCHITECTURES for this build (default 75: one arch, a fast build;
#                   tests without a GPU only need the library to load)
#   extra arguments go to pytest (e.g. -k conv -x)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${UPS_PY_VENV:-$ROOT/build/python-venv}"
ARCHS="${UPS_PY_ARCHS:-75}"
export UPS_PY_VENV="$VENV"
bash "$ROOT/python/ci_install.sh"
PY="$VENV/bin/python"

if [[ -z "${CUDACXX:-}" ]] && ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export CUDACXX=/usr/local/cuda/bin/nvcc
fi

if [[ -n "${UPS_PY_LIBRARY:-}" ]]; then
  # CI: the library the C++ workflow already built (UPS_PY_LIBRARY=build/test/libupsample.so), with
  # the package from the source folder — the same Python code, without compiling the library a
  # second time (the wheel build below takes minutes on two cores; `pip install ./python` is the
  # user's command and is what this script does without UPS_PY_LIBRARY).
  export UPSAMPLE_LIBRARY="$(cd "$(dirname "$UPS_PY_LIBRARY")" && pwd)/$(basename "$UPS_PY_LIBRARY")"
  export PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}"
  "$PY" -m pip uninstall --quiet --yes upsample >/dev/null 2>&1 || true
  echo "run_tests: package from $ROOT/python, library $UPSAMPLE_LIBRARY"
else
  start=$(date +%s)
  # build-dir kept under build/ so a second run rebuilds incrementally.
  "$PY" -m pip install --quiet --no-build-isolation --no-deps --force-reinstall "$ROOT/python" \
    -C build-dir="$ROOT/build/python-wheel" \
    -C cmake.define.CMAKE_CUDA_ARCHITECTURES="$ARCHS"
  echo "run_tests: built and installed the wheel in $(( $(date +%s) - start )) s"
fi

# Run from outside python/ so `import upsample` is the installed package (or PYTHONPATH's).
cd "$ROOT/build"
set +e
"$PY" -m pytest "$ROOT/python/tests" -p no:cacheprovider -ra "$@"
rc=$?
set -e
if [[ $rc -eq 5 ]]; then
  echo "run_tests: pytest collected no test: failing" >&2
  exit 1
fi
exit $rc

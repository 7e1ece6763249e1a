#!/usr/bin/env bash
# bench/gpu_check.sh OUT_DIR: everything to run on the day a GPU is lent, in one go (README
# "Benchmarks"). From the repository root or anywhere:
#   1. build for the GPU present only (its compute capability from nvidia-smi, or CUDA's own
#      __nvcc_device_query), Release, the tests and the benchmark;
#   2. ctest -L "gpu|cudnn" (the library against the real CUDA runtime, and against cuDNN), plus
#      the plan query's check against this device's own choice (ConvTransposePlan.*);
#   3. the benchmark subset below, on the FULL shapes: every op and every algorithm;
#   4. the roofline picture of both benchmark runs.
# Writes into OUT_DIR: gpu.txt (nvidia-smi), build.log, ctest.log, plan_test.log, rows.txt (the
# --list counts), bench_forward.{log,json}, bench_backward.{log,json}, roofline.png (roofline.svg
# without matplotlib), summary.txt. Exits non-zero if any step fails: the build, a test, a
# benchmark row (validation failure or error), or the picture.
#
# Environment: UPS_GPU_CHECK_BUILD (build directory, default build/gpu-check: kept out of OUT_DIR,
# which may be copied back), CUDACXX (default /usr/local/cuda/bin/nvcc), JOBS (default nproc).
#
# NOTE [ GPU check budget ]
# Target: the benchmark part under 8 minutes on an H100 (the whole script about 10 with the build).
# Rows, from `upsample_bench <filters> --list` (its last line counts the rows a GPU run has):
#   forward  (--direction=forward, f32 f16 bf16, nchw nhwc):      394 rows
#       13 transposed-convolution shapes x 2 layouts x (f32: gather, scatter_atomic, implicit_gemm,
#       implicit_gemm_tf32, cudnn, cudnn_tf32 = 6; f16 and bf16: gather, scatter_atomic,
#       implicit_gemm, cudnn = 4 each) = 13 x 2 x 14 = 364, plus nearest (3 shapes), bed_of_nails
#       and max_unpool (1 each) x 3 dtypes x 2 layouts = 30. Every forward algorithm in every dtype
#       and layout: the rows issue 10's performance target is judged on.
#   backward (--direction=backward, f32 bf16, nhwc):              246 rows
#       13 shapes x (data: gather, cudnn, cudnn_tf32 | gather, cudnn = 5; weight: gather,
#       scatter_atomic, cudnn, cudnn_tf32 | 3 = 7; bias: gather, scatter_atomic, cudnn | 3 = 6)
#       = 13 x 18 = 234, plus nearest_backward (3), bed_of_nails_backward, max_unpool_backward,
#       max_pool_backward (1 each) x 2 dtypes = 12. Every gradient and its algorithms once; f16
#       runs the same kernels as bf16, and nchw the same algorithms.
# Cost of a row, estimated (no GPU has run this yet): tensors allocated and filled on the device
# (~10 ms), validation on the reduced copy (a CPU reference of <= 16384 outputs, cached per
# problem, ~10 ms), a graph with enough buffer sets to exceed 2x L2 for ops under 50 us (~30 ms),
# then Google Benchmark's iterations: about 2.5x --min-time of measured time, each iteration behind
# an L2 flush, ~0.05-0.1 s at --min-time=0.02 (forward) / 0.01 (backward). About 0.2 s a row;
# a cuDNN row adds its own search over every algorithm on the full shape, ~0.3-1 s (the 3-D U-Net
# shapes are the slowest: ~60 GFLOP of direct convolution per f32 call). The slowest upsample rows
# are the 3-D U-Net's f32 gather and scatter_atomic (~10-20 ms a call), a few iterations each.
#   forward:  104 cuDNN rows x ~0.6 s + 290 rows x ~0.25 s ~ 135 s
#   backward: 104 cuDNN rows x ~0.6 s + 142 rows x ~0.2 s  ~ 90 s
#   plus the peaks measured at the start of each run (~5 s each): about 4 minutes, half the
#   8-minute target. Each run is still bounded by `timeout` (BENCH_FORWARD_LIMIT_S,
#   BENCH_BACKWARD_LIMIT_S: 300 s and 200 s) so that a surprise cannot eat a lent GPU's whole time;
#   a run that hits its limit is a failure of the check and its log says how far it got.
set -uo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
OUT=$(mkdir -p "$1" && cd "$1" && pwd) || { echo "gpu_check: cannot create $1" >&2; exit 2; }
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${UPS_GPU_CHECK_BUILD:-$REPO/build/gpu-check}
NVCC=${CUDACXX:-/usr/local/cuda/bin/nvcc}
JOBS=${JOBS:-$(nproc)}
FORWARD_LIMIT=${BENCH_FORWARD_LIMIT_S:-300}
BACKWARD_LIMIT=${BENCH_BACKWARD_LIMIT_S:-200}
START=$(date +%s)
FAILED=()

say() { echo "[gpu_check $(($(date +%s) - START))s] $*" | tee -a "$OUT/summary.txt"; }
: >"$OUT/summary.txt"

# --- 1. the GPU and its compute capability ------------------------------------------------------
nvidia-smi >"$OUT/gpu.txt" 2>&1 || true
CC=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d ' .')
if [[ ! "$CC" =~ ^[0-9]+$ ]]; then
  # Drivers before 510 have no compute_cap field: CUDA's own query (what CMake's "native" uses).
  QUERY=$(dirname "$NVCC")/__nvcc_device_query
  CC=$("$QUERY" 2>/dev/null | tr ';' '\n' | head -n 1 | tr -d ' ')
fi
if [[ ! "$CC" =~ ^[0-9]+$ ]]; then
  say "FAILED: no GPU found (nvidia-smi and __nvcc_device_query give no compute capability); see gpu.txt"
  exit 1
fi
say "GPU: $(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1), compute capability $CC"

# --- 2. build: this GPU's architecture only, Release, tests and benchmark ------------------------
GENERATOR=()
command -v ninja >/dev/null && GENERATOR=(-G Ninja)
if ! cmake -S "$REPO" -B "$BUILD" "${GENERATOR[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER="$NVCC" \
  -DCMAKE_CUDA_ARCHITECTURES="$CC" -DUPS_BUILD_TESTS=ON -DUPS_BUILD_BENCH=ON >"$OUT/build.log" 2>&1; then
  say "FAILED: configure (build.log)"
  exit 1
fi
# Only what the check runs: the CUDA and cuDNN suites, the reference suite (the plan test), the
# benchmark; by the names this tree has (upsample_tests before the tests were split by suite). The
# cuDNN suite exists only where CMake found cuDNN.
HELP=$(cmake --build "$BUILD" --target help 2>/dev/null)
TARGETS=()
for target in upsample_cuda_tests upsample_reference_tests upsample_tests upsample_cudnn_tests; do
  grep -qw "$target" <<<"$HELP" && TARGETS+=("$target")
done
TARGETS+=(upsample_bench)
if ! grep -qE '^CUDNN_LIBRARY:FILEPATH=.+' "$BUILD/CMakeCache.txt" || grep -q 'CUDNN_LIBRARY-NOTFOUND' "$BUILD/CMakeCache.txt"; then
  say "note: cuDNN was not found: no cudnn suite, and the benchmark's cuDNN rows will be unavailable"
fi
if ! cmake --build "$BUILD" -j "$JOBS" --target "${TARGETS[@]}" >>"$OUT/build.log" 2>&1; then
  say "FAILED: build (build.log)"
  exit 1
fi
say "built ${TARGETS[*]} for sm_$CC"

# --- 3. test suites -------------------------------------------------------------------------------
if (cd "$BUILD" && ctest -L "gpu|cudnn" --output-on-failure) >"$OUT/ctest.log" 2>&1; then
  say "ctest -L \"gpu|cudnn\": passed ($(grep -E 'tests passed' "$OUT/ctest.log" | tail -n 1))"
else
  FAILED+=("ctest")
  say "FAILED: ctest -L \"gpu|cudnn\" (ctest.log)"
fi
# The device-free plan query against this device's own choice (skipped without a GPU in CI).
PLAN_TESTS=""
for binary in "$BUILD/tests/upsample_reference_tests" "$BUILD/tests/upsample_tests"; do
  [[ -x "$binary" ]] && PLAN_TESTS=$binary && break
done
if [[ -z "$PLAN_TESTS" ]]; then
  FAILED+=("plan_test")
  say "FAILED: no reference test executable for ConvTransposePlan.*"
elif "$PLAN_TESTS" --gtest_filter='ConvTransposePlan.*' >"$OUT/plan_test.log" 2>&1; then
  if grep -qE 'PASSED.* [1-9][0-9]* test' "$OUT/plan_test.log"; then
    say "ConvTransposePlan.*: passed ($(grep -cE '^\[       OK \]' "$OUT/plan_test.log") tests)"
  else
    say "note: ConvTransposePlan.* is not built into $(basename "$PLAN_TESTS") in this tree (plan_test.log)"
  fi
else
  FAILED+=("plan_test")
  say "FAILED: ConvTransposePlan.* (plan_test.log)"
fi

# --- 4. benchmark subset (NOTE [ GPU check budget ]) ----------------------------------------------
BENCH="$BUILD/bench/upsample_bench"
FORWARD=(--direction=forward --dtype=f32,f16,bf16 --layout=nchw,nhwc --min-time=0.02)
BACKWARD=(--direction=backward --dtype=f32,bf16 --layout=nhwc --min-time=0.01)
{
  echo "forward:  $("$BENCH" "${FORWARD[@]}" --list | tail -n 1)"
  echo "backward: $("$BENCH" "${BACKWARD[@]}" --list | tail -n 1)"
} >"$OUT/rows.txt" 2>&1
say "rows: $(tr '\n' ' ' <"$OUT/rows.txt")"

run_bench() {  # name limit_s args...
  local name=$1 limit=$2
  shift 2
  timeout "$limit" "$BENCH" "$@" --json "$OUT/bench_$name.json" >"$OUT/bench_$name.log" 2>&1
  local rc=$?
  case $rc in
    0) say "benchmark $name: $(grep -E 'rows timed' "$OUT/bench_$name.log" | tail -n 1)" ;;
    124) FAILED+=("bench_$name"); say "FAILED: benchmark $name ran past ${limit}s (bench_$name.log)" ;;
    *) FAILED+=("bench_$name"); say "FAILED: benchmark $name exited $rc: $(grep -E 'rows timed' "$OUT/bench_$name.log" | tail -n 1) (bench_$name.log)" ;;
  esac
}
run_bench forward "$FORWARD_LIMIT" "${FORWARD[@]}"
run_bench backward "$BACKWARD_LIMIT" "${BACKWARD[@]}"

# --- 5. the picture of both runs ------------------------------------------------------------------
JSONS=()
for name in forward backward; do
  [[ -s "$OUT/bench_$name.json" ]] && JSONS+=("$OUT/bench_$name.json")
done
if [[ ${#JSONS[@]} -gt 0 ]]; then
  if python3 "$REPO/bench/roofline.py" "${JSONS[@]}" -o "$OUT/roofline.png" --fallback-svg >>"$OUT/summary.txt" 2>&1; then
    say "picture: $(ls "$OUT"/roofline.* 2>/dev/null | tr '\n' ' ')"
  else
    FAILED+=("roofline")
    say "FAILED: roofline.py (summary.txt)"
  fi
fi

if [[ ${#FAILED[@]} -gt 0 ]]; then
  say "FAILED: ${FAILED[*]}"
  exit 1
fi
say "all passed"

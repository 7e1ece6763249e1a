// upsample_bench: which upsample algorithm is fastest for each layer of real generative models on
// this GPU, how far each is from what the hardware allows, and how it compares with cuDNN.
//
//   upsample_bench [--op=...] [--direction=...] [--shape=...] [--dtype=...] [--layout=...]
//                  [--algorithm=...] [--add-shape=SPEC] [--shapes-file=PATH] [--json=PATH] [--quick] ...
//
// With a CUDA device: measure the device's peaks, then for every selected row validate on a
// reduced copy, time with CUDA events, and report. Without one: say so, list the plan with its
// nominal H100 floors, and time the CPU REFERENCE backend on reduced copies so that the table,
// the JSON and the roofline picture are produced end to end.
#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "options.h"
#include "peaks.h"
#include "report.h"
#include "suite.h"

namespace {

using namespace upsample::bench;

constexpr double kGpuMinTime = 0.1, kGpuQuickMinTime = 0.01;
// No-GPU mode: shapes are cut down hard and each row is timed briefly, so that the whole default
// set (forward and gradient rows, ~380) takes about 10 s on a two-core machine and --quick, for
// CI, about 3 s. Each row costs a warm-up call plus Google Benchmark's ~2.5x min-time, and the
// reference's transposed convolutions (about 0.5 GFLOP/s) cost ~10 ms a call at these limits.
constexpr double kHostMinTime = 0.01, kHostQuickMinTime = 0.002;
constexpr ReduceLimits kHostLimits{2, 32, 8, 50000};
constexpr ReduceLimits kHostQuickLimits{1, 16, 4, 20000};

// Google Benchmark calls this for --help, then exits.
void print_help() {
  print_usage(stdout);
  std::exit(0);
}

// Whether the CUDA backend can run here; if not, the library's reason.
bool cuda_usable(std::string* why) {
  upsHandle_t handle = nullptr;
  if (upsCreate(&handle, UPS_BACKEND_CUDA) == UPS_STATUS_SUCCESS) {
    upsDestroy(handle);
    return true;
  }
  *why = upsGetLastErrorString();
  return false;
}

int run(const Options& options, const std::string& command_line) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<Shape> shapes;
  std::string error;
  if (!select_shapes(options, &shapes, &error)) {
    std::fprintf(stderr, "upsample_bench: %s\n", error.c_str());
    return 2;
  }

  RunInfo info;
  info.command_line = command_line;
  info.nominal = nominal_h100_sxm();
  info.seed = options.seed;
  info.quick = options.quick;
  if (options.no_gpu)
    info.no_gpu_reason = "--no-gpu was given";
  else
    info.gpu = cuda_usable(&info.no_gpu_reason);
  info.host_limits = options.quick ? kHostQuickLimits : kHostLimits;
  info.timing.graph = options.graph;
  info.timing.graph_below = options.graph_below_us * 1e-6;
  info.timing.min_time = options.min_time >= 0 ? options.min_time
                         : info.gpu            ? (options.quick ? kGpuQuickMinTime : kGpuMinTime)
                                               : (options.quick ? kHostQuickMinTime : kHostMinTime);

  const std::vector<Problem> plan = plan_problems(shapes, options);
  std::vector<Row> rows = plan_rows(plan, options, info.gpu);
  if (!info.gpu) {
    std::printf(
        "No CUDA device found: %s\n"
        "Listing the plan with the floors each shape would have on an H100 SXM, then timing the CPU REFERENCE backend\n"
        "on reduced copies of the shapes (batch <= %lld, <= %lld channels per group, <= %lld outputs) so that the\n"
        "table, the JSON and the roofline picture are produced end to end. On a machine with a GPU the same command\n"
        "validates and times the GPU kernels and cuDNN on the full shapes.\n\n",
        info.no_gpu_reason.c_str(), static_cast<long long>(info.host_limits.max_batch),
        static_cast<long long>(info.host_limits.max_channels_per_group),
        static_cast<long long>(info.host_limits.max_output_elements));
  }
  if (!info.gpu || options.list_only) print_plan(stdout, plan, info.nominal);
  if (options.list_only) {
    std::printf("%zu rows%s:\n", rows.size(), info.gpu ? "" : " (no GPU: the REFERENCE backend)");
    for (const Row& row : rows) std::printf("  %s\n", row.label().c_str());
    // The count a GPU run of the same filters has, by implementation, so that a GPU run can be
    // budgeted on a machine without one (bench/gpu_check.sh).
    const std::vector<Row> gpu_rows = info.gpu ? rows : plan_rows(plan, options, true);
    std::vector<std::pair<Impl, int>> per_impl;
    for (const Row& row : gpu_rows) {
      auto it = std::find_if(per_impl.begin(), per_impl.end(), [&](const auto& e) { return e.first == row.impl; });
      if (it == per_impl.end())
        per_impl.emplace_back(row.impl, 1);
      else
        ++it->second;
    }
    std::printf("On a GPU: %zu rows", gpu_rows.size());
    for (size_t i = 0; i < per_impl.size(); ++i)
      std::printf("%s%s %d", i == 0 ? " (" : ", ", impl_name(per_impl[i].first), per_impl[i].second);
    std::printf("%s\n", per_impl.empty() ? "" : ")");
    return 0;
  }
  if (rows.empty()) {
    std::fprintf(stderr, "upsample_bench: the filters select no rows%s\n",
                 info.gpu ? "" : " (without a GPU only --algorithm=reference rows can run)");
    return 2;
  }

  std::unique_ptr<Suite> suite;
  if (info.gpu) {
    int device = 0;
    cudaDeviceProp prop{};
    if (cudaGetDevice(&device) == cudaSuccess && cudaGetDeviceProperties(&prop, device) == cudaSuccess)
      info.device = prop.name;
    std::fprintf(stderr, "[upsample_bench] measuring %s: copy bandwidth and FMA peaks...\n", info.device.c_str());
    info.peaks = measure_device_peaks();
    suite = make_gpu_suite(info.peaks, info.timing, options.seed, &info.cudnn);
  } else {
    info.device = "none";
    info.peaks = info.nominal;
    info.cudnn = "not run: no GPU";
    suite = make_host_suite(info.peaks, info.timing, options.seed, info.host_limits);
  }

  Progress progress(rows.size(), options.progress);
  for (size_t i = 0; i < rows.size(); ++i) {
    progress.begin(i, rows[i].label());
    suite->run(rows[i]);
  }
  progress.finish();
  suite.reset();
  compare_with_cudnn(rows);

  print_table(stdout, info, rows);
  if (info.gpu) print_fastest(stdout, rows);

  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!write_json(options.json_path, info, plan, rows, &error)) {
    std::fprintf(stderr, "upsample_bench: cannot write the JSON: %s\n", error.c_str());
    return 2;
  }
  int ok = 0, failed = 0, unavailable = 0;
  for (const Row& row : rows) {
    if (row.status == RowStatus::kOk)
      ++ok;
    else if (row.status == RowStatus::kUnavailable)
      ++unavailable;
    else
      ++failed;
  }
  std::printf("%d rows timed, %d failed (validation or error), %d unavailable; %.1f s.\n", ok, failed, unavailable,
              info.seconds);
  std::printf("JSON: %s\nPicture: python3 %s %s -o roofline.png\n", options.json_path.c_str(),
              UPS_BENCH_ROOFLINE_SCRIPT, options.json_path.c_str());
  return failed > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  benchmark::Initialize(&argc, argv, print_help);  // takes out --benchmark_* flags (and --help)
  Options options;
  std::string error;
  if (!parse_options(argc, argv, &options, &error)) {
    std::fprintf(stderr, "upsample_bench: %s\n\n", error.c_str());
    print_usage(stderr);
    return 2;
  }
  try {
    return run(options, command_line);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "upsample_bench: %s\n", e.what());
    return 2;
  }
}

// How a row is timed. Google Benchmark drives the iterations (how many reach --min-time of
// measured time, its --benchmark_* flags); each iteration is timed by us: CUDA events on a GPU,
// the host clock for the REFERENCE backend.
//
// NOTE [ Timing method ]
// - Warm-up apart from the timed loop: a few launches (and one graph launch) whose times are
//   discarded, so first-call costs and clock ramp-up stay out of the samples.
// - Cold caches: before every timed iteration a buffer of twice the L2 size is written, so the
//   launch reads its inputs from DRAM as one layer of a network would after the others.
// - "single": one launch between two events per iteration. An op whose single launch takes less
//   than --graph-below (default 50 us) is instead timed as a "graph": a CUDA graph captured from
//   the handle's stream holding K back-to-back launches (K ~ 1 ms of work), so host launch gaps do
//   not dominate; its launches rotate through enough copies of the tensors ("buffer sets") to
//   exceed twice the L2 size, so launch k+1 does not find launch k's data in L2. The sample is
//   the graph's time / K. Ops that cannot be captured (max-unpooling synchronizes) stay "single".
// - No allocation and no copies inside the timed loop: tensors, workspaces and graphs are made
//   before it.
// - The reported time is the median over all samples (one per iteration).
#pragma once

#include <cuda_runtime_api.h>

#include <string>
#include <vector>

#include "gpu_timer.h"
#include "runner.h"

namespace upsample::bench {

enum class GraphMode { kAuto, kAlways, kNever };

struct TimingOptions {
  double min_time = 0.1;  // seconds of measured time per row (Google Benchmark's MinTime)
  GraphMode graph = GraphMode::kAuto;
  double graph_below = 50e-6;  // kAuto: capture a graph when one launch takes less than this
};

struct Timing {
  std::string method = "single";  // "single", "graph" or "host"
  int launches_per_sample = 1;
  int buffer_sets = 1;
  bool l2_flushed = false;
  double single_launch = 0;     // GPU: median of the probe's single launches (L2 flushed), to
                                // compare with a graph's per-launch time
  std::string note;             // why a graph was not used, and the like
  std::vector<double> samples;  // seconds per launch

  double median() const;
  double quantile(double q) const;  // 0 = fastest, 1 = slowest
  std::string describe() const;     // "graph x128, 9 sets, L2 flushed"
};

// The GPU path: runner enqueues on `stream`; tensors may grow extra sets for graphs.
Timing time_on_gpu(Runner& runner, ProblemTensors& tensors, cudaStream_t stream, L2Flusher& flusher,
                   const TimingOptions& options, const std::string& name);

// The REFERENCE backend on host memory: host clock around each (synchronous) call.
Timing time_on_host(Runner& runner, ProblemTensors& tensors, const TimingOptions& options, const std::string& name);

}  // namespace upsample::bench

// What the user sees: a progress bar on stderr while rows run, the plan, the results table and
// the fastest implementation per layer on stdout, and everything in a JSON file for roofline.py.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "measure.h"
#include "peaks.h"
#include "problems.h"
#include "results.h"

namespace upsample::bench {

// Everything about the run that is not a row.
struct RunInfo {
  bool gpu = false;
  std::string device;         // the GPU's name, or "none"
  std::string no_gpu_reason;  // why there is no GPU (no-GPU mode)
  Peaks peaks;                // what the rows' floors use
  Peaks nominal;              // the plan's reference GPU (H100 SXM)
  std::string cudnn;          // "9.19.0", or why cuDNN rows are unavailable
  TimingOptions timing;
  ReduceLimits host_limits{};  // no-GPU mode: how shapes were reduced for timing
  uint64_t seed = 0;
  bool quick = false;
  std::string command_line;
  double seconds = 0;  // wall time of the whole run
};

// A bar on stderr redrawn in place on a terminal; one line per tenth of the rows otherwise (logs).
class Progress {
 public:
  Progress(size_t total, bool enabled);
  void begin(size_t index, const std::string& label);  // row `index` (0-based) starts
  void finish();                                       // all rows done: clears the bar

 private:
  size_t total_;
  bool enabled_;
  bool terminal_;
  size_t last_tenth_ = 0;
};

// Every planned problem (shape and op, suite.h plan_problems) with its FLOPs, minimal bytes and
// floors on the nominal GPU.
void print_plan(FILE* out, const std::vector<Problem>& plan, const Peaks& nominal);
// Part of the plan: per forward transposed-convolution shape, the algorithm AUTO would run on the
// nominal GPU (sm_90) in each dtype, math mode and layout, and why (NOTE [ AUTO in the plan ]).
void print_auto_plan(FILE* out, const std::vector<Problem>& plan);
// The rows, one line each, with a header naming the peaks used.
void print_table(FILE* out, const RunInfo& info, const std::vector<Row>& rows);
// For each layer and op (shape, op, dtype, layout): the fastest validated row and upsample's best
// against cuDNN.
void print_fastest(FILE* out, const std::vector<Row>& rows);

bool write_json(const std::string& path, const RunInfo& info, const std::vector<Problem>& plan,
                const std::vector<Row>& rows, std::string* error);

std::string format_seconds(double seconds);

}  // namespace upsample::bench

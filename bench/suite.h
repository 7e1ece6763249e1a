// Running the rows: which rows the options select, and the two ways of running one.
//   GPU:    validate on a reduced copy (NOTE [ Validation ]), then time the full shape on the GPU
//           (NOTE [ Timing method ]), against this GPU's measured peaks.
//   no GPU: time the REFERENCE backend on the CPU on a reduced copy, against nominal H100 peaks,
//           so that the table, the JSON and the picture are produced end to end.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <vector>

#include "measure.h"
#include "options.h"
#include "peaks.h"
#include "results.h"

namespace upsample::bench {

// What the plan lists: each selected shape with each of its ops the --op and --direction filters
// select (the layer's forward op first, then its gradients), in f32 and channels-first.
std::vector<Problem> plan_problems(const std::vector<Shape>& shapes, const Options& options);

// Rows in table order: the plan's problems (shape, then op), dtype, layout, then implementation.
// On a GPU every GPU implementation that applies (gpu_impls_for); without one, the REFERENCE
// backend.
std::vector<Row> plan_rows(const std::vector<Problem>& plan, const Options& options, bool gpu);

class Suite {
 public:
  virtual ~Suite() = default;
  // Validates (GPU), times and fills the row's metrics. Never throws: a failure becomes the row's
  // status and message.
  virtual void run(Row& row) = 0;
};

// `cudnn_note` receives cuDNN's version, or why cuDNN rows will be unavailable.
std::unique_ptr<Suite> make_gpu_suite(const Peaks& peaks, const TimingOptions& timing, uint64_t seed,
                                      std::string* cudnn_note);
std::unique_ptr<Suite> make_host_suite(const Peaks& peaks, const TimingOptions& timing, uint64_t seed,
                                       const ReduceLimits& limits);

// Fills speedup_vs_cudnn (and _tf32) of every timed row from the cuDNN rows of the same op, shape,
// dtype and layout.
void compare_with_cudnn(std::vector<Row>& rows);

}  // namespace upsample::bench

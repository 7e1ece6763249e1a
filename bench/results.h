// One row of the results: what was asked, what was measured, and how it compares.
#pragma once

#include <string>

#include "cudnn_runner.h"
#include "measure.h"
#include "peaks.h"
#include "problems.h"

namespace upsample::bench {

enum class RowStatus {
  kOk,                // validated and timed
  kValidationFailed,  // wrong on the reduced copy: never timed
  kUnavailable,       // this implementation cannot run it here (cuDNN missing or rejecting the problem)
  kError              // setup or a call failed (the message says which)
};
inline const char* status_name(RowStatus status) {
  switch (status) {
    case RowStatus::kOk:
      return "ok";
    case RowStatus::kValidationFailed:
      return "validation_failed";
    case RowStatus::kUnavailable:
      return "unavailable";
    case RowStatus::kError:
      return "error";
  }
  return "?";
}

struct Validation {
  bool ran = false;
  bool passed = false;
  std::string shape;          // the reduced copy that was checked
  double relative_error = 0;  // ||out - ref||_2 / ||ref||_2
  double max_abs_error = 0;
  int64_t non_finite = 0;  // NaN/inf where the reference is finite (e.g. an unwritten element)
  double tolerance = 0;    // on relative_error; 0 = bit-exact values required
  std::string note;
};

struct Row {
  Problem problem;  // as requested: the op on the full-size shape
  Impl impl = Impl::kGather;
  Shape timed_shape;  // what was timed: the problem's shape on a GPU, a reduced copy without one
  RowStatus status = RowStatus::kOk;
  std::string message;

  Validation validation;
  CudnnChoice cudnn;  // cuDNN rows: the search and the algorithm run
  Timing timing;

  // Metrics of timed_shape (NOTE [ Useful work ], NOTE [ The floor ]).
  Work work;
  Floor floor;
  std::string floor_peak;  // which arithmetic peak the floor used
  double median = 0;       // seconds
  double gbps = 0;
  double gflops = 0;
  double pct_of_floor = 0;
  double speedup_vs_cudnn = 0;       // cuDNN's median / this median; 0 when there is nothing to compare
  double speedup_vs_cudnn_tf32 = 0;  // the same against the TF32 cuDNN row (fp32 rows)
  // Against cuDNN in the same math: cudnn_tf32 for implicit_gemm_tf32, cudnn otherwise (the table's
  // "vs cuDNN").
  double speedup_vs_matching_cudnn = 0;
  // Forward transposed convolution: what AUTO would run (on this GPU, or without one on the plan's
  // sm_90) with the row's math mode.
  AutoChoice auto_choice;

  std::string label() const {
    return problem.shape.name + " " + op_name(problem.op) + " " + dtype_name(problem.dtype) + " " +
           layout_name(problem.layout) + " " + impl_name(impl);
  }
  bool timed() const { return status == RowStatus::kOk; }
};

}  // namespace upsample::bench

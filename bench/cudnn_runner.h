// cuDNN as the baseline for transposed convolution.
//
// NOTE [ Transposed convolution as cuDNN's backward data ]
// A transposed convolution is the data gradient of the forward convolution with the same
// geometry, so cudnnConvolutionBackwardData computes it: the forward filter is our weight with
// K = our C_in and C = our C_out/groups (the same bytes in either layout), "dy" is our x and "dx"
// is our y. Padding is symmetric (cuDNN's descriptor has one value per axis), groups go through
// cudnnSetConvolutionGroupCount, output_padding is expressed by dx's shape, a 1-D problem is a
// 2-D one with H = 1. No bias (dgrad has none; upsample rows run without one too). This is the
// descriptor setup of tests/cudnn_test.cpp, which checks it against upsample on every geometry.
//
// Math: fp32 rows run with CUDNN_FMA_MATH (no TF32: a like-for-like fp32 comparison); the
// `cudnn_tf32` rows run the same fp32 problem with CUDNN_DEFAULT_MATH, which lets cuDNN use TF32
// tensor cores (PyTorch's choice with allow_tf32), and are labelled so; f16 and bf16 rows use
// CUDNN_TENSOR_OP_MATH. Accumulation is float throughout. The algorithm is the fastest one of
// cuDNN's own search (cudnnFindConvolutionBackwardDataAlgorithmEx on the row's tensors), run with
// the math type cuDNN reports for it; every algorithm's search time is kept for the JSON.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <vector>

#include "runner.h"

namespace upsample::bench {

// One entry of cuDNN's search.
struct CudnnAlgorithm {
  std::string name;     // "CUDNN_CONVOLUTION_BWD_DATA_ALGO_1"
  std::string status;   // "CUDNN_STATUS_SUCCESS", or why it could not run
  double seconds = -1;  // cuDNN's own measurement; negative when it did not run
  size_t workspace_bytes = 0;
  std::string math;  // the math type it ran with
  bool deterministic = false;
};

struct CudnnChoice {
  std::string math_requested;
  std::vector<CudnnAlgorithm> searched;  // fastest first, as cuDNN returns them
  std::string chosen;                    // name of the algorithm the runner runs
  int chosen_id = -1;
};

class CudnnSession {
 public:
  // A cuDNN handle bound to `stream`; null (with *why) when the suite was built without cuDNN or
  // cuDNN cannot start.
  static std::unique_ptr<CudnnSession> open(cudaStream_t stream, std::string* why);
  virtual ~CudnnSession() = default;

  virtual std::string version() const = 0;
  // A runner for a transposed-convolution problem. Searches with `search_set` (its y is
  // overwritten) and runs the fastest algorithm, or `preferred` (an algorithm id, -1 for none)
  // when the search found it runnable: validation runs the algorithm the timing chose. Throws
  // when cuDNN cannot express or run the problem.
  virtual std::unique_ptr<Runner> make_runner(const Problem& problem, bool allow_tf32, const TensorSet& search_set,
                                              int preferred, CudnnChoice* choice) = 0;
};

}  // namespace upsample::bench

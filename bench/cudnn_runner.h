// cuDNN as the baseline for transposed convolution and its gradients.
//
// NOTE [ Transposed convolution in cuDNN's terms ]
// A transposed convolution is the data gradient of the forward convolution with the same
// geometry. Call that convolution C: it maps tensors of our y's shape to tensors of our x's shape,
// with our weight as its filter (K = our C_in, C = our C_out/groups: the same bytes in either
// layout). Each row is one cuDNN call on C, with our tensors in these roles:
//   conv_transpose                  cudnnConvolutionBackwardData   (dy := our x,  dx := our y)
//   conv_transpose_backward_data    cudnnConvolutionForward        (x := our dy,  y := our dx)
//   conv_transpose_backward_weight  cudnnConvolutionBackwardFilter (x := our dy,  dy := our x,
//                                                                   dw := our dw)
//   conv_transpose_backward_bias    cudnnConvolutionBackwardBias   (dy := our dy, db := our db)
// Padding is symmetric (cuDNN's descriptor has one value per axis), groups go through
// cudnnSetConvolutionGroupCount, a 1-D problem is a 2-D one with H = 1, and C's own output
// extent floor((out + 2*pad - dilation*(k-1) - 1) / stride) + 1 must be our input extent: true
// whenever output_padding < stride (every built-in shape), checked before each convolution row,
// which is unavailable otherwise. The forward rows have no bias (dgrad has none; upsample rows run
// without one too). tests/conv_transpose/conv_transpose_cudnn_test.cpp checks these mappings
// against upsample on every geometry.
//
// Math: fp32 rows run with CUDNN_FMA_MATH (no TF32: a like-for-like fp32 comparison); the
// `cudnn_tf32` rows run the same fp32 problem with CUDNN_DEFAULT_MATH, which lets cuDNN use TF32
// tensor cores (PyTorch's choice with allow_tf32), and are labelled so; f16 and bf16 rows use
// CUDNN_TENSOR_OP_MATH. Accumulation is float throughout. The algorithm is the fastest one of
// cuDNN's own search (cudnnFindConvolution{BackwardData,Forward,BackwardFilter}AlgorithmEx on the
// row's tensors), run with the math type cuDNN reports for it; every algorithm's search time is
// kept for the JSON. The bias gradient has neither an algorithm nor a math type: one call, no
// search, and no `cudnn_tf32` row.
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <vector>

#include "runner.h"

namespace upsample::bench {

// One entry of cuDNN's search.
struct CudnnAlgorithm {
  std::string name;     // "CUDNN_CONVOLUTION_BWD_DATA_ALGO_1", "CUDNN_CONVOLUTION_FWD_ALGO_GEMM", ...
  std::string status;   // "CUDNN_STATUS_SUCCESS", or why it could not run
  double seconds = -1;  // cuDNN's own measurement; negative when it did not run
  size_t workspace_bytes = 0;
  std::string math;  // the math type it ran with
  bool deterministic = false;
};

struct CudnnChoice {
  std::string math_requested;
  std::vector<CudnnAlgorithm> searched;  // fastest first, as cuDNN returns them
  std::string chosen;                    // name of the algorithm the runner runs (or of the call)
  int chosen_id = -1;                    // -1 for a call without algorithms
};

class CudnnSession {
 public:
  // A cuDNN handle bound to `stream`; null (with *why) when the suite was built without cuDNN or
  // cuDNN cannot start.
  static std::unique_ptr<CudnnSession> open(cudaStream_t stream, std::string* why);
  virtual ~CudnnSession() = default;

  virtual std::string version() const = 0;
  // A runner for a transposed convolution or one of its gradients (see the NOTE). Searches with
  // `search_set` (its output is overwritten) and runs the fastest algorithm, or `preferred` (an
  // algorithm id, -1 for none) when the search found it runnable: validation runs the algorithm
  // the timing chose. Throws when cuDNN cannot express or run the problem.
  virtual std::unique_ptr<Runner> make_runner(const Problem& problem, bool allow_tf32, const TensorSet& search_set,
                                              int preferred, CudnnChoice* choice) = 0;
};

}  // namespace upsample::bench

// Checking a GPU implementation against the REFERENCE backend before it is timed.
//
// NOTE [ Validation ]
// Every GPU row first runs its implementation on a reduced copy of its shape (reduce_shape with
// kValidationLimits: the same op and geometry, batch <= 2, <= 20 channels per group so channel
// tiles have tails (16 where the full count is a multiple of 8, so that the implicit GEMM reads
// the same operand path as on the full shape), <= 4 groups, <= 16384 forward outputs), on the
// inputs the REFERENCE backend
// gets (random_fill.h: same seed, same bits), with the output poisoned with NaN first. The row
// passes when no element is NaN/inf where the reference is finite and
//   data movement (nearest, bed_of_nails, max_unpool, bed_of_nails_backward,
//   max_unpool_backward, max_pool_backward: NOTE [ Useful work ]): every value equal;
//   arithmetic (transposed convolution and its gradients, nearest_backward's sums):
//   f32: ||out - ref|| / ||ref|| <= 1e-5 (gather, scatter_atomic, implicit_gemm: exact-f32
//        products, only the order of the sums differs), or 1e-4 for cuDNN (its FFT and Winograd
//        algorithms round differently from a direct sum; a wrong descriptor gives errors of order 1);
//   TF32 (implicit_gemm_tf32, cudnn_tf32): 5e-3: each input rounded to 10 mantissa bits (relative
//        error <= 2^-11 ~ 4.9e-4 per operand, ~1e-3 per product) with f32 accumulation;
//   f16, bf16: 1e-2 (bf16 inputs and outputs keep 8 bits: 2^-9 ~ 2e-3 per rounding).
// A row that fails is reported as failed and never timed. cuDNN rows are validated with the
// algorithm their full-size search chose when cuDNN can run it on the reduced copy.
// Reference outputs are cached per reduced problem: the rows of one op, shape, dtype and layout
// share.
#pragma once

#include <cuda_runtime_api.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "results.h"
#include "runner.h"

namespace upsample::bench {

inline constexpr ReduceLimits kValidationLimits{2, 20, 4, 16384};

class Validator {
 public:
  // Makes the implementation under test for a (reduced) problem whose device tensors are `set`.
  using RunnerFactory = std::function<std::unique_ptr<Runner>(const Problem& problem, const TensorSet& set)>;

  Validator(uint64_t seed, cudaStream_t stream) : seed_(seed), stream_(stream) {}
  Validation check(const Problem& problem, Impl impl, const RunnerFactory& make_runner);

 private:
  const std::vector<unsigned char>& reference_output(const Problem& reduced);

  uint64_t seed_;
  cudaStream_t stream_;
  std::map<std::string, std::vector<unsigned char>> cache_;
};

double validation_tolerance(Op op, upsDataType_t dtype, Impl impl);

}  // namespace upsample::bench

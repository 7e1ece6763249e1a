// The transposed-convolution family's CUDA launchers (forward, data, weight and bias gradients),
// called by src/ops/conv_transpose after validation and algorithm choice. The gradients' problems
// are the forward's with the gradients in the forward tensors' places: input = dx (or x),
// weight = w (or dw), output = dy.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/problem.h"
#include "cuda/runtime.h"

namespace upsample::cuda {

// algorithm: GATHER or SCATTER_ATOMIC (AUTO resolved by dispatch).
size_t conv_transpose_workspace_bytes(const detail::ConvTransposeProblem& problem, upsAlgorithm_t algorithm);
upsStatus_t conv_transpose_forward(const detail::ConvTransposeProblem& problem, upsAlgorithm_t algorithm,
                                   const void* x, const void* w, const void* bias, void* y, const ExecContext& exec);

upsStatus_t conv_transpose_backward_data(const detail::ConvTransposeProblem& problem, const void* dy, const void* w,
                                         void* dx, const ExecContext& exec);

size_t conv_transpose_backward_weight_workspace_bytes(const detail::ConvTransposeProblem& problem,
                                                      upsAlgorithm_t algorithm);
upsStatus_t conv_transpose_backward_weight(const detail::ConvTransposeProblem& problem, upsAlgorithm_t algorithm,
                                           const void* x, const void* dy, void* dw, const ExecContext& exec);

size_t conv_transpose_backward_bias_workspace_bytes(const detail::TensorGeometry& dy_geometry,
                                                    upsAlgorithm_t algorithm);
upsStatus_t conv_transpose_backward_bias(const detail::TensorGeometry& dy_geometry, upsAlgorithm_t algorithm,
                                         const void* dy, void* db, const ExecContext& exec);

}  // namespace upsample::cuda

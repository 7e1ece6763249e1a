// The max-pooling family's CUDA launchers (with indices; forward and backward), called by
// src/ops/max_pool after validation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/problem.h"
#include "cuda/runtime.h"

namespace upsample::cuda {

upsStatus_t max_pool_forward(const detail::MaxPoolProblem& problem, const void* x, void* y, void* indices,
                             const ExecContext& exec);
upsStatus_t max_pool_backward(const detail::MaxPoolProblem& problem, const void* dy, const void* indices, void* dx,
                              const ExecContext& exec);

}  // namespace upsample::cuda

// The unpooling family's CUDA launchers (nearest, bed-of-nails; forward and backward), called by
// src/ops/unpool after validation. Each returns a status with its message recorded.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/problem.h"
#include "cuda/runtime.h"

namespace upsample::cuda {

upsStatus_t unpool_forward(const detail::UnpoolProblem& problem, const void* x, void* y, const ExecContext& exec);
upsStatus_t unpool_backward(const detail::UnpoolProblem& problem, const void* dy, void* dx, const ExecContext& exec);

}  // namespace upsample::cuda

// The interpolation family's CUDA launchers (every mode, forward and backward), called by
// src/ops/interpolate after validation. Each returns a status with its message recorded.
#pragma once

#include "core/problem.h"
#include "cuda/runtime.h"

namespace upsample::cuda {

upsStatus_t interpolate_forward(const detail::InterpolateProblem& problem, const void* x, void* y,
                                const ExecContext& exec);
upsStatus_t interpolate_backward(const detail::InterpolateProblem& problem, const void* dy, void* dx,
                                 const ExecContext& exec);

}  // namespace upsample::cuda

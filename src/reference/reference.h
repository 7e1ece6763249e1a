// The CPU reference of every op: plain loops written from the definitions in upsample.h,
// accumulating in double, on host memory. It shares no code with cuda/ (by design: it is what the
// kernels are checked against). Problems arrive validated; see src/problem.h.
#pragma once

#include "../problem.h"

namespace upsample::reference {

upsStatus_t unpool_forward(const detail::UnpoolProblem& problem, const void* x, void* y);
upsStatus_t max_pool_forward(const detail::MaxPoolProblem& problem, const void* x, void* y, int64_t* indices);
upsStatus_t max_unpool_forward(const detail::MaxUnpoolProblem& problem, const void* x, const int64_t* indices,
                               void* y);
upsStatus_t conv_transpose_forward(const detail::ConvTransposeProblem& problem, const void* x, const void* w,
                                   const void* bias, void* y);

}  // namespace upsample::reference

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

// Gradients (backward passes), from the definitions in upsample.h's "Gradients" section. The
// problems are the forward ops' with the gradients in the forward tensors' places: input = dx
// (or x), weight = w (or dw), output = dy. Sums accumulate in double and round once.
namespace upsample::reference {

upsStatus_t unpool_backward(const detail::UnpoolProblem& problem, const void* dy, void* dx);
upsStatus_t max_pool_backward(const detail::MaxPoolProblem& problem, const void* dy, const int64_t* indices, void* dx);
upsStatus_t max_unpool_backward(const detail::MaxUnpoolProblem& problem, const void* dy, const int64_t* indices,
                                void* dx);
upsStatus_t conv_transpose_backward_data(const detail::ConvTransposeProblem& problem, const void* dy, const void* w,
                                         void* dx);
upsStatus_t conv_transpose_backward_weight(const detail::ConvTransposeProblem& problem, const void* x, const void* dy,
                                           void* dw);
// db[c] = sum of dy[n, c, o]: C = dy.c values of dy's dtype.
upsStatus_t conv_transpose_backward_bias(const detail::TensorGeometry& dy_geometry, const void* dy, void* db);

}  // namespace upsample::reference

// Max-pooling with indices, host side: validation, output shapes and the CPU reference, forward and
// backward. Entry points: api.cpp; kernels: cuda/max_pool/.
#pragma once

#include <cstdint>

#include "core/problem.h"
#include "upsample/upsample.h"

namespace upsample::detail {

upsStatus_t max_pool_output_desc(const upsPoolDesc_t* desc, const upsTensorDesc_t* x, upsTensorDesc_t* y,
                                 upsTensorDesc_t* indices);
upsStatus_t validate_max_pool(const upsPoolDesc_t* desc, const upsTensorDesc_t* x, const upsTensorDesc_t* y,
                              const upsTensorDesc_t* indices, MaxPoolProblem* problem);

// Backward: the problem is the forward's with dx as input and dy as output.
upsStatus_t validate_max_pool_backward(const upsPoolDesc_t* desc, const upsTensorDesc_t* dy,
                                       const upsTensorDesc_t* indices, const upsTensorDesc_t* dx,
                                       MaxPoolProblem* problem);

}  // namespace upsample::detail

// The CPU reference: plain loops written from the definitions in upsample.h, accumulating in
// double, on host memory. It shares no code with cuda/ (by design: it is what the kernels are
// checked against). Problems arrive validated.
namespace upsample::reference {

upsStatus_t max_pool_forward(const detail::MaxPoolProblem& problem, const void* x, void* y, void* indices);
upsStatus_t max_pool_backward(const detail::MaxPoolProblem& problem, const void* dy, const void* indices, void* dx);

}  // namespace upsample::reference

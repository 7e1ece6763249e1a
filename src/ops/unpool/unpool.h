// Unpooling (nearest-neighbour and bed-of-nails), host side: validation, output shapes and the CPU
// reference, forward and backward. Entry points: api.cpp; kernels: cuda/unpool/.
#pragma once

#include <cstdint>

#include "core/problem.h"
#include "upsample/upsample.h"

namespace upsample::detail {

upsStatus_t unpool_output_desc(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* x, upsTensorDesc_t* y);
upsStatus_t validate_unpool(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* x, const upsTensorDesc_t* y,
                            UnpoolProblem* problem);

// Backward: the problem is the forward's with dx as input and dy as output.
upsStatus_t unpool_backward_output_desc(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* dy, upsTensorDesc_t* dx);
upsStatus_t validate_unpool_backward(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* dy, const upsTensorDesc_t* dx,
                                     UnpoolProblem* problem);

}  // namespace upsample::detail

// The CPU reference: plain loops written from the definitions in upsample.h, accumulating in
// double, on host memory. It shares no code with cuda/ (by design: it is what the kernels are
// checked against). Problems arrive validated.
namespace upsample::reference {

upsStatus_t unpool_forward(const detail::UnpoolProblem& problem, const void* x, void* y);
upsStatus_t unpool_backward(const detail::UnpoolProblem& problem, const void* dy, void* dx);

}  // namespace upsample::reference

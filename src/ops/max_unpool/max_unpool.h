// Max-unpooling, host side: validation, output shapes and the CPU reference, forward and backward.
// Entry points: api.cpp; kernels: cuda/max_unpool/.
#pragma once

#include <cstdint>

#include "core/problem.h"
#include "upsample/upsample.h"

namespace upsample::detail {

upsStatus_t max_unpool_output_desc(const upsPoolDesc_t* desc, const upsTensorDesc_t* x,
                                   const int64_t* output_size, upsTensorDesc_t* y);
upsStatus_t validate_max_unpool(const upsPoolDesc_t* desc, const upsTensorDesc_t* x,
                                const upsTensorDesc_t* indices, const upsTensorDesc_t* y,
                                MaxUnpoolProblem* problem);

// Backward: the problem is the forward's with dx as input and dy as output.
upsStatus_t max_unpool_backward_output_desc(const upsPoolDesc_t* desc, const upsTensorDesc_t* dy,
                                            const upsTensorDesc_t* indices, upsTensorDesc_t* dx);
upsStatus_t validate_max_unpool_backward(const upsPoolDesc_t* desc, const upsTensorDesc_t* dy,
                                         const upsTensorDesc_t* indices, const upsTensorDesc_t* dx,
                                         MaxUnpoolProblem* problem);

}  // namespace upsample::detail

// The CPU reference: plain loops written from the definitions in upsample.h, accumulating in
// double, on host memory. It shares no code with cuda/ (by design: it is what the kernels are
// checked against). Problems arrive validated.
namespace upsample::reference {

upsStatus_t max_unpool_forward(const detail::MaxUnpoolProblem& problem, const void* x, const void* indices, void* y);
upsStatus_t max_unpool_backward(const detail::MaxUnpoolProblem& problem, const void* dy, const void* indices, void* dx);

}  // namespace upsample::reference

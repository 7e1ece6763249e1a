// Interpolation (PyTorch's F.interpolate: nearest, nearest-exact, linear/bilinear/trilinear,
// bicubic, area; antialias), host side: validation, output shapes and the CPU reference, forward
// and backward. Entry points: api.cpp; kernels: cuda/interpolate/.
#pragma once

#include <cstddef>

#include "core/problem.h"
#include "upsample/upsample.h"

namespace upsample::detail {

upsStatus_t interpolate_desc_init(upsInterpolateDesc_t* desc, size_t struct_size, upsInterpolateMode_t mode,
                                  int spatial_dims);
upsStatus_t interpolate_output_desc(const upsInterpolateDesc_t* desc, const upsTensorDesc_t* x, upsTensorDesc_t* y);
upsStatus_t validate_interpolate(const upsInterpolateDesc_t* desc, const upsTensorDesc_t* x, const upsTensorDesc_t* y,
                                 InterpolateProblem* problem);
// Backward: the problem is the forward's with dx as input and dy as output.
upsStatus_t validate_interpolate_backward(const upsInterpolateDesc_t* desc, const upsTensorDesc_t* dy,
                                          const upsTensorDesc_t* dx, InterpolateProblem* problem);

}  // namespace upsample::detail

// The CPU reference: the per-axis stencils written from PyTorch's definitions (coordinates in
// PyTorch's types, see upsample.h), values accumulated in double. Shares no code with cuda/.
namespace upsample::reference {

upsStatus_t interpolate_forward(const detail::InterpolateProblem& problem, const void* x, void* y);
// The adjoint, as a scatter of every output's stencil (the kernels gather; this is the other side).
upsStatus_t interpolate_backward(const detail::InterpolateProblem& problem, const void* dy, void* dx);

}  // namespace upsample::reference

// Transposed convolution, host side: validation, output shapes and the CPU reference, forward and
// gradients. Entry points: api.cpp; algorithm choice: src/dispatch; kernels: cuda/conv_transpose/.
#pragma once

#include <cstdint>

#include "core/problem.h"
#include "upsample/upsample.h"

namespace upsample::detail {

upsStatus_t validate_conv_params(const upsConvTransposeDesc_t* desc);
upsStatus_t conv_transpose_output_desc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                       const upsTensorDesc_t* w, upsTensorDesc_t* y);
upsStatus_t validate_conv_transpose(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                    const upsTensorDesc_t* w, const upsTensorDesc_t* y,
                                    ConvTransposeProblem* problem);

// Gradients: each problem is the forward's with the gradients in the forward tensors' places:
// input = dx (or x), weight = w (or dw), output = dy. A gradient whose shape disagrees with the
// forward geometry is UPS_STATUS_GRADIENT_SHAPE_MISMATCH.
upsStatus_t conv_transpose_backward_data_output_desc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* dy,
                                                     const upsTensorDesc_t* w, upsTensorDesc_t* dx);
upsStatus_t conv_transpose_backward_weight_output_desc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                                       const upsTensorDesc_t* dy, upsTensorDesc_t* dw);
// Also refuses SCATTER_ATOMIC: the data gradient has GATHER only.
upsStatus_t validate_conv_transpose_backward_data(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* dy,
                                                  const upsTensorDesc_t* w, const upsTensorDesc_t* dx,
                                                  ConvTransposeProblem* problem);
upsStatus_t validate_conv_transpose_backward_weight(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                                    const upsTensorDesc_t* dy, const upsTensorDesc_t* dw,
                                                    ConvTransposeProblem* problem);
// The bias gradient needs only dy (db holds dy.c values of dy's dtype) and the desc's rank and
// algorithm (returned from the validated copy); the whole desc is validated all the same.
upsStatus_t validate_conv_transpose_backward_bias(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* dy,
                                                  TensorGeometry* dy_geometry, upsAlgorithm_t* algorithm);

}  // namespace upsample::detail

// The CPU reference: plain loops written from the definitions in upsample.h, accumulating in
// double, on host memory. It shares no code with cuda/ (by design: it is what the kernels are
// checked against). Problems arrive validated.
namespace upsample::reference {

upsStatus_t conv_transpose_forward(const detail::ConvTransposeProblem& problem, const void* x, const void* w,
                                   const void* bias, void* y);
upsStatus_t conv_transpose_backward_data(const detail::ConvTransposeProblem& problem, const void* dy, const void* w,
                                         void* dx);
upsStatus_t conv_transpose_backward_weight(const detail::ConvTransposeProblem& problem, const void* x, const void* dy,
                                           void* dw);
// db[c] = sum of dy[n, c, o]: C = dy.c values of dy's dtype.
upsStatus_t conv_transpose_backward_bias(const detail::TensorGeometry& dy_geometry, const void* dy, void* db);

}  // namespace upsample::reference

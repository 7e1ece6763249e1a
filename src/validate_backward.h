// Every argument check and every gradient-shape formula of the backward ops, in one place (the
// forward ops' are in validate.h, whose checks these reuse).
//
// The forward operands (x, w, indices) fix the geometry, and each gradient must have exactly the
// shape the forward op implies: dx is x's shape, dw is w's, dy is the shape the forward op gives
// y. A gradient that disagrees is UPS_STATUS_GRADIENT_SHAPE_MISMATCH, named with the shape that was
// expected. Each validated backward problem is the forward op's problem (src/problem.h) with the
// gradients in the forward tensors' places: input = dx (or x), weight = w (or dw), output = dy.
// The *_output_desc functions compute dx (dw) from dy and the other operands, then run the same
// validation, so the shape a caller is told to allocate is exactly the shape the op accepts.
#pragma once

#include "problem.h"
#include "upsample/upsample.h"

namespace upsample::detail {

// Gradient shapes from dy (and the other operands).
upsStatus_t unpool_backward_output_desc(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* dy, upsTensorDesc_t* dx);
upsStatus_t max_unpool_backward_output_desc(const upsPoolDesc_t* desc, const upsTensorDesc_t* dy,
                                            const upsTensorDesc_t* indices, upsTensorDesc_t* dx);
upsStatus_t conv_transpose_backward_data_output_desc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* dy,
                                                     const upsTensorDesc_t* w, upsTensorDesc_t* dx);
upsStatus_t conv_transpose_backward_weight_output_desc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                                       const upsTensorDesc_t* dy, upsTensorDesc_t* dw);

// Whole-problem validation of descriptors (no pointers: see api_backward.cpp for those).
upsStatus_t validate_unpool_backward(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* dy, const upsTensorDesc_t* dx,
                                     UnpoolProblem* problem);
upsStatus_t validate_max_pool_backward(const upsPoolDesc_t* desc, const upsTensorDesc_t* dy,
                                       const upsTensorDesc_t* indices, const upsTensorDesc_t* dx,
                                       MaxPoolProblem* problem);
upsStatus_t validate_max_unpool_backward(const upsPoolDesc_t* desc, const upsTensorDesc_t* dy,
                                         const upsTensorDesc_t* indices, const upsTensorDesc_t* dx,
                                         MaxUnpoolProblem* problem);
// Also refuses SCATTER_ATOMIC: the data gradient has GATHER only.
upsStatus_t validate_conv_transpose_backward_data(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* dy,
                                                  const upsTensorDesc_t* w, const upsTensorDesc_t* dx,
                                                  ConvTransposeProblem* problem);
upsStatus_t validate_conv_transpose_backward_weight(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                                    const upsTensorDesc_t* dy, const upsTensorDesc_t* dw,
                                                    ConvTransposeProblem* problem);
// The bias gradient needs only dy (db holds dy.c values of dy's dtype) and the desc's rank,
// algorithm and deterministic flag; the whole desc is validated all the same.
upsStatus_t validate_conv_transpose_backward_bias(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* dy,
                                                  TensorGeometry* dy_geometry);

}  // namespace upsample::detail

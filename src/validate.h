// Every argument check and every output-shape formula, in one place.
//
// Each op has one function that turns the public descriptors into a validated problem
// (src/problem.h) or returns a status with a message naming the argument and what was expected.
// The output-shape entry points and the op entry points share these functions, so the shape a
// caller is told to allocate is exactly the shape the op accepts.
#pragma once

#include <cstddef>
#include <string>

#include "problem.h"
#include "upsample/upsample.h"

namespace upsample::detail {

int64_t dtype_size(upsDataType_t dtype);
const char* dtype_name(upsDataType_t dtype);

// Validates one descriptor on its own (dtype, layout, spatial_dims, extents, overflow) and
// fills its canonical geometry. `name` is the argument's name for messages.
upsStatus_t make_geometry(const upsTensorDesc_t* desc, const char* name, TensorGeometry* geometry);

// Output descriptors: validate the op's parameters and the input(s), then fill *y.
upsStatus_t unpool_output_desc(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* x, upsTensorDesc_t* y);
upsStatus_t max_pool_output_desc(const upsPoolDesc_t* desc, const upsTensorDesc_t* x, upsTensorDesc_t* y,
                                 upsTensorDesc_t* indices);
upsStatus_t max_unpool_output_desc(const upsPoolDesc_t* desc, const upsTensorDesc_t* x,
                                   const int64_t* output_size, upsTensorDesc_t* y);
upsStatus_t conv_transpose_output_desc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                       const upsTensorDesc_t* w, upsTensorDesc_t* y);

// Whole-problem validation of descriptors (no pointers: see api.cpp for those).
upsStatus_t validate_unpool(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* x, const upsTensorDesc_t* y,
                            UnpoolProblem* problem);
upsStatus_t validate_max_pool(const upsPoolDesc_t* desc, const upsTensorDesc_t* x, const upsTensorDesc_t* y,
                              const upsTensorDesc_t* indices, MaxPoolProblem* problem);
upsStatus_t validate_max_unpool(const upsPoolDesc_t* desc, const upsTensorDesc_t* x,
                                const upsTensorDesc_t* indices, const upsTensorDesc_t* y,
                                MaxUnpoolProblem* problem);
upsStatus_t validate_conv_transpose(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                    const upsTensorDesc_t* w, const upsTensorDesc_t* y,
                                    ConvTransposeProblem* problem);

// Checks shared with validate_backward.cpp (defined in validate.cpp).
bool checked_mul(int64_t a, int64_t b, int64_t* out);
bool checked_add(int64_t a, int64_t b, int64_t* out);
std::string shape_string(const upsTensorDesc_t& d);
upsStatus_t check_spatial_dims(int spatial_dims, const char* name);
upsStatus_t check_positive(const int64_t* v, int dims, const char* what);
upsStatus_t check_same_rank(const upsTensorDesc_t* t, const char* name, int op_dims, const char* op_name);
upsStatus_t check_spatial_non_empty(const upsTensorDesc_t* t, const char* name, const char* op_name);
upsStatus_t check_float_dtype(const upsTensorDesc_t* t, const char* name, const char* op_name);
upsStatus_t check_same_dtype_layout(const upsTensorDesc_t* t, const char* name, const upsTensorDesc_t* ref,
                                    const char* ref_name);
void to_canonical(const int64_t* v, int dims, int64_t fill, int64_t out[kDims]);
upsTensorDesc_t like(const upsTensorDesc_t& x, upsDataType_t dtype, int64_t n, int64_t c, const int64_t* spatial);
upsStatus_t validate_conv_params(const upsConvTransposeDesc_t* desc);

}  // namespace upsample::detail

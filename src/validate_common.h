// The checks every op family's validation shares (src/ops/<family>/validate.cpp hold the rules of
// each op). Each family turns the public descriptors into a validated problem (core/problem.h) or
// returns a status with a message naming the argument and what was expected; its output-shape
// entry points and its op entry points share those functions, so the shape a caller is told to
// allocate is exactly the shape the op accepts.
#pragma once

#include <cstdint>
#include <string>

#include "core/problem.h"
#include "upsample/upsample.h"

namespace upsample::detail {

// Validates one descriptor on its own (dtype, layout, spatial_dims, extents, overflow) and
// fills its canonical geometry. `name` is the argument's name for messages.
upsStatus_t make_geometry(const upsTensorDesc_t* desc, const char* name, TensorGeometry* geometry);

bool checked_mul(int64_t a, int64_t b, int64_t* out);
bool checked_add(int64_t a, int64_t b, int64_t* out);
// "(N=2, C=3, H=4, W=4)" in the descriptor's own spatial rank; "(4, 4)" for a parameter list.
std::string shape_string(const upsTensorDesc_t& d);
std::string extents_string(const int64_t* v, int dims);

upsStatus_t check_spatial_dims(int spatial_dims, const char* name);
upsStatus_t check_positive(const int64_t* v, int dims, const char* what);
upsStatus_t check_non_negative(const int64_t* v, int dims, const char* what);
upsStatus_t check_same_rank(const upsTensorDesc_t* t, const char* name, int op_dims, const char* op_name);
upsStatus_t check_spatial_non_empty(const upsTensorDesc_t* t, const char* name, const char* op_name);
upsStatus_t check_float_dtype(const upsTensorDesc_t* t, const char* name, const char* op_name);
upsStatus_t check_same_dtype_layout(const upsTensorDesc_t* t, const char* name, const upsTensorDesc_t* ref,
                                    const char* ref_name);
// The operand `given` has exactly `expected`'s extents (SHAPE_MISMATCH naming `why` otherwise).
upsStatus_t check_shape(const upsTensorDesc_t* given, const char* name, const upsTensorDesc_t& expected,
                        const char* why);
// Same comparison with the caller's status: GRADIENT_SHAPE_MISMATCH for a gradient.
upsStatus_t check_extents(upsStatus_t status, const upsTensorDesc_t* given, const char* name,
                          const upsTensorDesc_t& expected, const char* why);
// A floating-point tensor of the op's rank: its own checks, then the rank and dtype rules.
upsStatus_t check_float_tensor(const upsTensorDesc_t* t, const char* name, int op_dims, const char* desc_name,
                               const char* op_name, TensorGeometry* geometry);
// Switch indices are I64 or I32 (NOT_SUPPORTED otherwise).
upsStatus_t check_index_dtype(const upsTensorDesc_t* indices);
// The switch indices of a pooling op that reads them: dtype, the reference tensor's layout, then
// the shape.
upsStatus_t check_indices(const upsTensorDesc_t* indices, const upsTensorDesc_t& expected, const char* why,
                          TensorGeometry* geometry);

// Spatial extents of a public descriptor, padded to canonical D, H, W with leading `fill`s.
void to_canonical(const int64_t* v, int dims, int64_t fill, int64_t out[kDims]);
// A descriptor with x's layout and rank and the given dtype and extents.
upsTensorDesc_t like(const upsTensorDesc_t& x, upsDataType_t dtype, int64_t n, int64_t c, const int64_t* spatial);
// Kernel, stride and padding (and, for max-pooling, dilation) of a pooling descriptor.
upsStatus_t validate_pool_params(const upsPoolDesc_t* desc, bool for_max_pool);

}  // namespace upsample::detail

// Checks every op's validation shares: descriptors to canonical geometry, overflow-safe
// arithmetic, shapes in messages, and the per-argument checks. Each op family's own rules live in
// src/ops/<family>/validate.cpp.
#include "src/validate_common.h"

#include <sstream>
#include <string>

#include "core/dtype.h"
#include "core/status.h"
#include "src/descriptor.h"

namespace upsample::detail {

bool checked_mul(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }
bool checked_add(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }

// "(N=2, C=3, H=4, W=4)" in the descriptor's own spatial rank.
std::string shape_string(const upsTensorDesc_t& d) {
  static const char* kAxisNames[3][3] = {{"W", "", ""}, {"H", "W", ""}, {"D", "H", "W"}};
  std::ostringstream s;
  s << "(N=" << d.n << ", C=" << d.c;
  if (d.spatial_dims >= 1 && d.spatial_dims <= 3)
    for (int i = 0; i < d.spatial_dims; ++i) s << ", " << kAxisNames[d.spatial_dims - 1][i] << "=" << d.spatial[i];
  s << ")";
  return s.str();
}

std::string extents_string(const int64_t* v, int dims) {
  std::ostringstream s;
  s << "(";
  for (int i = 0; i < dims; ++i) s << (i ? ", " : "") << v[i];
  s << ")";
  return s.str();
}

upsStatus_t check_spatial_dims(int spatial_dims, const char* name) {
  if (spatial_dims < 1 || spatial_dims > UPS_MAX_SPATIAL_DIMS)
    return fail(UPS_STATUS_BAD_EXTENT, name, ".spatial_dims: expected 1, 2 or 3, got ", spatial_dims);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t check_same_rank(const upsTensorDesc_t* t, const char* name, int op_dims, const char* op_name) {
  if (t->spatial_dims != op_dims)
    return fail(UPS_STATUS_SHAPE_MISMATCH, name, ".spatial_dims: expected ", op_dims, " (from ", op_name,
                "), got ", t->spatial_dims);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t check_positive(const int64_t* v, int dims, const char* what) {
  for (int i = 0; i < dims; ++i)
    if (v[i] < 1)
      return fail(UPS_STATUS_BAD_PARAMETER, what, "[", i, "]: expected >= 1, got ", v[i], " (", what, " = ",
                  extents_string(v, dims), ")");
  return UPS_STATUS_SUCCESS;
}

upsStatus_t check_non_negative(const int64_t* v, int dims, const char* what) {
  for (int i = 0; i < dims; ++i)
    if (v[i] < 0)
      return fail(UPS_STATUS_BAD_PARAMETER, what, "[", i, "]: expected >= 0, got ", v[i], " (", what, " = ",
                  extents_string(v, dims), ")");
  return UPS_STATUS_SUCCESS;
}

upsStatus_t check_spatial_non_empty(const upsTensorDesc_t* t, const char* name, const char* op_name) {
  for (int i = 0; i < t->spatial_dims; ++i)
    if (t->spatial[i] < 1)
      return fail(UPS_STATUS_BAD_EXTENT, name, ": ", op_name, " needs spatial extents >= 1, got ", shape_string(*t));
  return UPS_STATUS_SUCCESS;
}

upsStatus_t check_float_dtype(const upsTensorDesc_t* t, const char* name, const char* op_name) {
  if (!is_float_dtype(t->dtype))
    return fail(UPS_STATUS_NOT_SUPPORTED, name, ".dtype: ", op_name, " supports f32, f64, f16 and bf16, got ",
                dtype_name(t->dtype));
  return UPS_STATUS_SUCCESS;
}

upsStatus_t check_same_dtype_layout(const upsTensorDesc_t* t, const char* name, const upsTensorDesc_t* ref,
                                    const char* ref_name) {
  if (t->dtype != ref->dtype)
    return fail(UPS_STATUS_NOT_SUPPORTED, name, ".dtype: expected ", dtype_name(ref->dtype), " like ", ref_name,
                ", got ", dtype_name(t->dtype));
  if (t->layout != ref->layout)
    return fail(UPS_STATUS_NOT_SUPPORTED, name, ".layout: expected ", layout_name(ref->layout), " like ", ref_name,
                ", got ", layout_name(t->layout));
  return UPS_STATUS_SUCCESS;
}

// Compares a given descriptor's extents with the expected ones (same dtype/layout already checked).
upsStatus_t check_shape(const upsTensorDesc_t* given, const char* name, const upsTensorDesc_t& expected,
                        const char* why) {
  bool same = given->spatial_dims == expected.spatial_dims && given->n == expected.n && given->c == expected.c;
  for (int i = 0; same && i < expected.spatial_dims; ++i) same = given->spatial[i] == expected.spatial[i];
  if (!same)
    return fail(UPS_STATUS_SHAPE_MISMATCH, name, ": expected shape ", shape_string(expected), " (", why, "), got ",
                shape_string(*given));
  return UPS_STATUS_SUCCESS;
}

// Spatial extents of a public descriptor, padded to canonical D, H, W with leading 1s.
void to_canonical(const int64_t* v, int dims, int64_t fill, int64_t out[kDims]) {
  for (int i = 0; i < kDims; ++i) out[i] = fill;
  for (int i = 0; i < dims; ++i) out[kDims - dims + i] = v[i];
}

upsTensorDesc_t like(const upsTensorDesc_t& x, upsDataType_t dtype, int64_t n, int64_t c, const int64_t* spatial) {
  upsTensorDesc_t d = x;
  d.dtype = dtype;
  d.n = n;
  d.c = c;
  for (int i = 0; i < UPS_MAX_SPATIAL_DIMS; ++i) d.spatial[i] = i < x.spatial_dims ? spatial[i] : 0;
  return d;
}

// Max-pool output extent, PyTorch's pooling_output_shape.
upsStatus_t validate_pool_params(const upsPoolDesc_t* desc, bool for_max_pool) {
  UPS_RETURN_IF_ERROR(check_spatial_dims(desc->spatial_dims, "pool desc"));
  const int dims = desc->spatial_dims;
  UPS_RETURN_IF_ERROR(check_positive(desc->kernel, dims, "kernel"));
  UPS_RETURN_IF_ERROR(check_positive(desc->stride, dims, "stride"));
  UPS_RETURN_IF_ERROR(check_non_negative(desc->padding, dims, "padding"));
  for (int i = 0; i < dims; ++i) {
    // Bounds keep every later product far from int64 overflow; no real pooling comes near them.
    if (desc->kernel[i] > (int64_t{1} << 31) || desc->stride[i] > (int64_t{1} << 31))
      return fail(UPS_STATUS_BAD_PARAMETER, "kernel/stride[", i, "]: expected <= 2^31, got kernel ", desc->kernel[i],
                  ", stride ", desc->stride[i]);
  }
  if (for_max_pool) {
    // MaxPool's rule only: PyTorch's MaxUnpool takes any padding >= 0 (its extent may then be small).
    for (int i = 0; i < dims; ++i)
      if (desc->padding[i] > desc->kernel[i] / 2)
        return fail(UPS_STATUS_BAD_PARAMETER, "padding[", i, "]: expected <= kernel/2 = ", desc->kernel[i] / 2,
                    " (PyTorch's rule), got ", desc->padding[i]);
    UPS_RETURN_IF_ERROR(check_positive(desc->dilation, dims, "dilation"));
    for (int i = 0; i < dims; ++i)
      if (desc->dilation[i] > (int64_t{1} << 31))
        return fail(UPS_STATUS_BAD_PARAMETER, "dilation[", i, "]: expected <= 2^31, got ", desc->dilation[i]);
  }
  return UPS_STATUS_SUCCESS;
}

upsStatus_t make_geometry(const upsTensorDesc_t* user_desc, const char* name, TensorGeometry* g) {
  // Every tensor descriptor passes through here: read_desc checks its struct_size (and that it is
  // not null) even where a caller's validation has not read it yet (NOTE [ Descriptor versions ]).
  upsTensorDesc_t copy;
  UPS_RETURN_IF_ERROR(read_desc(user_desc, name, &copy));
  const upsTensorDesc_t* desc = &copy;
  const int dtype = raw_enum(desc->dtype), layout = raw_enum(desc->layout);
  if (dtype < UPS_DTYPE_F32 || dtype > UPS_DTYPE_I32)
    return fail(UPS_STATUS_NOT_SUPPORTED, name, ".dtype: unknown value ", dtype);
  if (layout != UPS_LAYOUT_CHANNELS_FIRST && layout != UPS_LAYOUT_CHANNELS_LAST)
    return fail(UPS_STATUS_NOT_SUPPORTED, name, ".layout: unknown value ", layout);
  UPS_RETURN_IF_ERROR(check_spatial_dims(desc->spatial_dims, name));
  bool non_negative = desc->n >= 0 && desc->c >= 0;
  for (int i = 0; i < desc->spatial_dims; ++i) non_negative = non_negative && desc->spatial[i] >= 0;
  if (!non_negative)
    return fail(UPS_STATUS_BAD_EXTENT, name, ": extents must be >= 0, got ", shape_string(*desc));

  TensorGeometry geometry;
  geometry.dtype = static_cast<upsDataType_t>(dtype);
  geometry.layout = static_cast<upsLayout_t>(layout);
  geometry.n = desc->n;
  geometry.c = desc->c;
  to_canonical(desc->spatial, desc->spatial_dims, 1, geometry.extent);

  // Overflow: the byte count, and every partial product the strides and offsets are made of,
  // must fit in int64. Taking each extent as at least 1 makes one product bound them all, also
  // for an empty tensor (n = 0 with C*D*H*W beyond int64 is rejected, not silently wrapped).
  int64_t span = dtype_size(geometry.dtype);
  bool fits = true;
  for (int64_t e : {desc->n, desc->c, geometry.extent[0], geometry.extent[1], geometry.extent[2]})
    fits = fits && checked_mul(span, e > 1 ? e : 1, &span);
  if (!fits)
    return fail(UPS_STATUS_OVERFLOW, name, ": ", shape_string(*desc), " of ", dtype_name(geometry.dtype),
                " has more elements or bytes than int64 can count");

  const int64_t d = geometry.extent[0], h = geometry.extent[1], w = geometry.extent[2], c = geometry.c;
  if (geometry.layout == UPS_LAYOUT_CHANNELS_FIRST) {
    geometry.stride[2] = 1;
    geometry.stride[1] = w;
    geometry.stride[0] = h * w;
    geometry.stride_c = d * h * w;
    geometry.stride_n = c * d * h * w;
  } else {
    geometry.stride_c = 1;
    geometry.stride[2] = c;
    geometry.stride[1] = w * c;
    geometry.stride[0] = h * w * c;
    geometry.stride_n = d * h * w * c;
  }
  *g = geometry;
  return UPS_STATUS_SUCCESS;
}


// --- shared by the gradients' validation ------------------------------------------------------


// Compares a given descriptor's extents with the expected ones (dtype/layout checked before);
// `status` says whether the tensor is a gradient (GRADIENT_SHAPE_MISMATCH) or an operand.
upsStatus_t check_extents(upsStatus_t status, const upsTensorDesc_t* given, const char* name,
                          const upsTensorDesc_t& expected, const char* why) {
  bool same = given->spatial_dims == expected.spatial_dims && given->n == expected.n && given->c == expected.c;
  for (int i = 0; same && i < expected.spatial_dims; ++i) same = given->spatial[i] == expected.spatial[i];
  if (!same)
    return fail(status, name, ": expected shape ", shape_string(expected), " (", why, "), got ", shape_string(*given));
  return UPS_STATUS_SUCCESS;
}

// A floating-point tensor of the op's rank: its own checks, then the rank and dtype rules.
upsStatus_t check_float_tensor(const upsTensorDesc_t* t, const char* name, int op_dims, const char* desc_name,
                               const char* op_name, TensorGeometry* geometry) {
  UPS_RETURN_IF_ERROR(make_geometry(t, name, geometry));
  UPS_RETURN_IF_ERROR(check_same_rank(t, name, op_dims, desc_name));
  return check_float_dtype(t, name, op_name);
}

upsStatus_t check_index_dtype(const upsTensorDesc_t* indices) {
  if (!is_index_dtype(indices->dtype))
    return fail(UPS_STATUS_NOT_SUPPORTED, "indices.dtype: expected i64 or i32, got ", dtype_name(indices->dtype));
  return UPS_STATUS_SUCCESS;
}

// The switch indices (I64 or I32) of a pooling op that reads them: dtype, the reference tensor's
// layout, then the shape. Any plane is fine: an I32 index just cannot name a position past 2^31.
upsStatus_t check_indices(const upsTensorDesc_t* indices, const upsTensorDesc_t& expected, const char* why,
                          TensorGeometry* geometry) {
  UPS_RETURN_IF_ERROR(make_geometry(indices, "indices", geometry));
  UPS_RETURN_IF_ERROR(check_index_dtype(indices));
  upsTensorDesc_t layout_ref = expected;
  layout_ref.dtype = indices->dtype;
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(indices, "indices", &layout_ref, "dx"));
  return check_extents(UPS_STATUS_SHAPE_MISMATCH, indices, "indices", layout_ref, why);
}


}  // namespace upsample::detail

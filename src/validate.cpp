#include "validate.h"

#include <sstream>
#include <string>

#include "status.h"

namespace upsample::detail {
// The checks below are shared with validate_backward.cpp through validate.h.

bool checked_mul(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }
bool checked_add(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }

bool is_float_dtype(upsDataType_t dtype) {
  return dtype == UPS_DTYPE_F32 || dtype == UPS_DTYPE_F64 || dtype == UPS_DTYPE_F16 || dtype == UPS_DTYPE_BF16;
}

const char* layout_name(upsLayout_t layout) {
  return layout == UPS_LAYOUT_CHANNELS_FIRST ? "channels-first" : "channels-last";
}

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
int64_t pooled_extent(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil_mode) {
  const int64_t numerator = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  // floor division (numerator may be negative when the window is larger than the padded input)
  int64_t out = (numerator >= 0 ? numerator / s : -((-numerator + s - 1) / s)) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

// The first output whose window has no tap inside the input, or -1. With PyTorch's padding rule
// (pad <= kernel/2) every window reaches the input when in >= dilation: the gaps between taps
// (dilation - 1) are narrower than the input, and the output formula keeps each window's span
// overlapping it. Only in < dilation needs a look, and then the output is a few windows long
// (for kernel 2, padding 1, in = dilation - 1, the single window straddles the whole input).
int64_t first_empty_window(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, int64_t out) {
  if (in >= d) return -1;
  for (int64_t o = 0; o < out && o < (int64_t{1} << 20); ++o) {
    const int64_t first = o * s - p;                              // first tap's input position
    const int64_t k0 = first >= 0 ? 0 : (-first + d - 1) / d;     // first tap at or after 0
    if (!(k0 < k && first + k0 * d < in)) return o;
  }
  return -1;
}

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
    if (desc->padding[i] > desc->kernel[i] / 2)
      return fail(UPS_STATUS_BAD_PARAMETER, "padding[", i, "]: expected <= kernel/2 = ", desc->kernel[i] / 2,
                  " (PyTorch's rule), got ", desc->padding[i]);
  }
  if (for_max_pool) {
    UPS_RETURN_IF_ERROR(check_positive(desc->dilation, dims, "dilation"));
    for (int i = 0; i < dims; ++i)
      if (desc->dilation[i] > (int64_t{1} << 31))
        return fail(UPS_STATUS_BAD_PARAMETER, "dilation[", i, "]: expected <= 2^31, got ", desc->dilation[i]);
  }
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_conv_params(const upsConvTransposeDesc_t* desc) {
  UPS_RETURN_IF_ERROR(check_spatial_dims(desc->spatial_dims, "conv desc"));
  const int dims = desc->spatial_dims;
  UPS_RETURN_IF_ERROR(check_positive(desc->stride, dims, "stride"));
  UPS_RETURN_IF_ERROR(check_positive(desc->dilation, dims, "dilation"));
  UPS_RETURN_IF_ERROR(check_non_negative(desc->pad_begin, dims, "pad_begin"));
  UPS_RETURN_IF_ERROR(check_non_negative(desc->pad_end, dims, "pad_end"));
  for (int i = 0; i < dims; ++i) {
    const int64_t limit = int64_t{1} << 31;
    if (desc->stride[i] > limit || desc->dilation[i] > limit || desc->pad_begin[i] > limit || desc->pad_end[i] > limit)
      return fail(UPS_STATUS_BAD_PARAMETER, "stride/dilation/padding[", i, "]: expected <= 2^31, got stride ",
                  desc->stride[i], ", dilation ", desc->dilation[i], ", pad_begin ", desc->pad_begin[i],
                  ", pad_end ", desc->pad_end[i]);
    const int64_t op = desc->output_padding[i];
    const int64_t bound = desc->stride[i] > desc->dilation[i] ? desc->stride[i] : desc->dilation[i];
    if (op < 0 || op >= bound)
      return fail(UPS_STATUS_BAD_OUTPUT_PADDING, "output_padding[", i, "]: expected 0 <= output_padding < max(stride=",
                  desc->stride[i], ", dilation=", desc->dilation[i], ") = ", bound, ", got ", op);
  }
  if (desc->groups < 1) return fail(UPS_STATUS_BAD_GROUPS, "groups: expected >= 1, got ", desc->groups);
  const int algorithm = raw_enum(desc->algorithm);
  if (algorithm != UPS_ALGO_AUTO && algorithm != UPS_ALGO_SCATTER_ATOMIC && algorithm != UPS_ALGO_GATHER)
    return fail(UPS_STATUS_BAD_PARAMETER, "algorithm: expected AUTO, SCATTER_ATOMIC or GATHER, got ", algorithm);
  if (desc->deterministic && desc->algorithm == UPS_ALGO_SCATTER_ATOMIC)
    return fail(UPS_STATUS_NOT_SUPPORTED,
                "algorithm: SCATTER_ATOMIC accumulates with atomics and is not run-to-run deterministic, but the "
                "deterministic flag is set (use GATHER or AUTO)");
  return UPS_STATUS_SUCCESS;
}

int64_t dtype_size(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F32: return 4;
    case UPS_DTYPE_F64: return 8;
    case UPS_DTYPE_F16: return 2;
    case UPS_DTYPE_BF16: return 2;
    case UPS_DTYPE_I64: return 8;
  }
  return 0;
}

const char* dtype_name(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F32: return "f32";
    case UPS_DTYPE_F64: return "f64";
    case UPS_DTYPE_F16: return "f16";
    case UPS_DTYPE_BF16: return "bf16";
    case UPS_DTYPE_I64: return "i64";
  }
  return "unknown dtype";
}

upsStatus_t make_geometry(const upsTensorDesc_t* desc, const char* name, TensorGeometry* g) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, name, ": descriptor is null");
  const int dtype = raw_enum(desc->dtype), layout = raw_enum(desc->layout);
  if (dtype < UPS_DTYPE_F32 || dtype > UPS_DTYPE_I64)
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

// ---------------------------------------------------------------------------------------------
// Unpooling
// ---------------------------------------------------------------------------------------------
upsStatus_t unpool_output_desc(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* x, upsTensorDesc_t* y) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "unpool desc is null");
  if (y == nullptr) return fail(UPS_STATUS_NULL_POINTER, "y: output descriptor is null");
  const int mode = raw_enum(desc->mode);
  if (mode != UPS_UNPOOL_NEAREST && mode != UPS_UNPOOL_BED_OF_NAILS)
    return fail(UPS_STATUS_BAD_PARAMETER, "mode: expected NEAREST or BED_OF_NAILS, got ", mode);
  UPS_RETURN_IF_ERROR(check_spatial_dims(desc->spatial_dims, "unpool desc"));
  UPS_RETURN_IF_ERROR(check_positive(desc->scale, desc->spatial_dims, "scale"));
  TensorGeometry xg;
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &xg));
  UPS_RETURN_IF_ERROR(check_same_rank(x, "x", desc->spatial_dims, "the unpool desc"));
  UPS_RETURN_IF_ERROR(check_float_dtype(x, "x", "unpooling"));
  int64_t out[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  for (int i = 0; i < desc->spatial_dims; ++i)
    if (!checked_mul(x->spatial[i], desc->scale[i], &out[i]))
      return fail(UPS_STATUS_OVERFLOW, "y: spatial extent ", x->spatial[i], " * scale ", desc->scale[i],
                  " overflows int64");
  const upsTensorDesc_t result = like(*x, x->dtype, x->n, x->c, out);
  TensorGeometry yg;
  UPS_RETURN_IF_ERROR(make_geometry(&result, "y", &yg));
  *y = result;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_unpool(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* x, const upsTensorDesc_t* y,
                            UnpoolProblem* problem) {
  upsTensorDesc_t expected;
  UPS_RETURN_IF_ERROR(unpool_output_desc(desc, x, &expected));
  TensorGeometry yg;
  UPS_RETURN_IF_ERROR(make_geometry(y, "y", &yg));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(y, "y", x, "x"));
  UPS_RETURN_IF_ERROR(check_shape(y, "y", expected, "x's extents times scale"));
  problem->mode = desc->mode;
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &problem->input));
  problem->output = yg;
  to_canonical(desc->scale, desc->spatial_dims, 1, problem->scale);
  return UPS_STATUS_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// Max-pooling and max-unpooling
// ---------------------------------------------------------------------------------------------
upsStatus_t max_pool_output_desc(const upsPoolDesc_t* desc, const upsTensorDesc_t* x, upsTensorDesc_t* y,
                                 upsTensorDesc_t* indices) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "pool desc is null");
  if (y == nullptr) return fail(UPS_STATUS_NULL_POINTER, "y: output descriptor is null");
  UPS_RETURN_IF_ERROR(validate_pool_params(desc, true));
  TensorGeometry xg;
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &xg));
  UPS_RETURN_IF_ERROR(check_same_rank(x, "x", desc->spatial_dims, "the pool desc"));
  UPS_RETURN_IF_ERROR(check_float_dtype(x, "x", "max-pooling"));
  UPS_RETURN_IF_ERROR(check_spatial_non_empty(x, "x", "max-pooling"));
  int64_t out[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  for (int i = 0; i < desc->spatial_dims; ++i) {
    if (x->spatial[i] > (int64_t{1} << 62))
      return fail(UPS_STATUS_OVERFLOW, "x: spatial extent ", x->spatial[i], " is too large to pool");
    out[i] = pooled_extent(x->spatial[i], desc->kernel[i], desc->stride[i], desc->padding[i], desc->dilation[i],
                           desc->ceil_mode != 0);
    if (out[i] < 1)
      return fail(UPS_STATUS_BAD_PARAMETER, "pool desc: output extent on axis ", i, " would be ", out[i],
                  " (input ", x->spatial[i], ", kernel ", desc->kernel[i], ", stride ", desc->stride[i], ", padding ",
                  desc->padding[i], ", dilation ", desc->dilation[i], "): the window is larger than the padded input");
    const int64_t empty = first_empty_window(x->spatial[i], desc->kernel[i], desc->stride[i], desc->padding[i],
                                             desc->dilation[i], out[i]);
    if (empty >= 0)
      return fail(UPS_STATUS_BAD_PARAMETER, "pool desc: on axis ", i, " the window of output ", empty,
                  " has every tap in the padding (input ", x->spatial[i], ", kernel ", desc->kernel[i], ", stride ",
                  desc->stride[i], ", padding ", desc->padding[i], ", dilation ", desc->dilation[i],
                  "), so it has no maximum");
  }
  const upsTensorDesc_t result = like(*x, x->dtype, x->n, x->c, out);
  TensorGeometry yg;
  UPS_RETURN_IF_ERROR(make_geometry(&result, "y", &yg));
  const upsTensorDesc_t result_indices = like(*x, UPS_DTYPE_I64, x->n, x->c, out);
  UPS_RETURN_IF_ERROR(make_geometry(&result_indices, "indices", &yg));
  *y = result;
  if (indices != nullptr) *indices = result_indices;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_max_pool(const upsPoolDesc_t* desc, const upsTensorDesc_t* x, const upsTensorDesc_t* y,
                              const upsTensorDesc_t* indices, MaxPoolProblem* problem) {
  upsTensorDesc_t expected, expected_indices;
  UPS_RETURN_IF_ERROR(max_pool_output_desc(desc, x, &expected, &expected_indices));
  UPS_RETURN_IF_ERROR(make_geometry(y, "y", &problem->output));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(y, "y", x, "x"));
  UPS_RETURN_IF_ERROR(check_shape(y, "y", expected, "max-pool of x"));
  UPS_RETURN_IF_ERROR(make_geometry(indices, "indices", &problem->indices));
  if (indices->dtype != UPS_DTYPE_I64)
    return fail(UPS_STATUS_NOT_SUPPORTED, "indices.dtype: expected i64, got ", dtype_name(indices->dtype));
  if (indices->layout != x->layout)
    return fail(UPS_STATUS_NOT_SUPPORTED, "indices.layout: expected ", layout_name(x->layout), " like x, got ",
                layout_name(indices->layout));
  UPS_RETURN_IF_ERROR(check_shape(indices, "indices", expected_indices, "same as y"));
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &problem->input));
  to_canonical(desc->kernel, desc->spatial_dims, 1, problem->kernel);
  to_canonical(desc->stride, desc->spatial_dims, 1, problem->stride);
  to_canonical(desc->padding, desc->spatial_dims, 0, problem->padding);
  to_canonical(desc->dilation, desc->spatial_dims, 1, problem->dilation);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t max_unpool_output_desc(const upsPoolDesc_t* desc, const upsTensorDesc_t* x, const int64_t* output_size,
                                   upsTensorDesc_t* y) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "pool desc is null");
  if (y == nullptr) return fail(UPS_STATUS_NULL_POINTER, "y: output descriptor is null");
  UPS_RETURN_IF_ERROR(validate_pool_params(desc, false));
  TensorGeometry xg;
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &xg));
  UPS_RETURN_IF_ERROR(check_same_rank(x, "x", desc->spatial_dims, "the pool desc"));
  UPS_RETURN_IF_ERROR(check_float_dtype(x, "x", "max-unpooling"));
  UPS_RETURN_IF_ERROR(check_spatial_non_empty(x, "x", "max-unpooling"));
  int64_t out[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  for (int i = 0; i < desc->spatial_dims; ++i) {
    int64_t scaled = 0, extent = 0;
    if (!checked_mul(x->spatial[i] - 1, desc->stride[i], &scaled) ||
        !checked_add(scaled, desc->kernel[i] - 2 * desc->padding[i], &extent))
      return fail(UPS_STATUS_OVERFLOW, "y: default max-unpool extent on axis ", i, " overflows int64");
    if (output_size == nullptr) {
      if (extent < 1)
        return fail(UPS_STATUS_BAD_PARAMETER, "pool desc: default max-unpool extent on axis ", i, " would be ", extent);
      out[i] = extent;
    } else {
      // PyTorch's rule for an explicit output_size: strictly within one stride of the default.
      if (!(output_size[i] > extent - desc->stride[i] && output_size[i] < extent + desc->stride[i]) ||
          output_size[i] < 1)
        return fail(UPS_STATUS_BAD_PARAMETER, "output_size[", i, "]: expected between ", extent - desc->stride[i],
                    " and ", extent + desc->stride[i], " exclusive (default ", extent, " +- stride ", desc->stride[i],
                    "), got ", output_size[i]);
      out[i] = output_size[i];
    }
  }
  const upsTensorDesc_t result = like(*x, x->dtype, x->n, x->c, out);
  TensorGeometry yg;
  UPS_RETURN_IF_ERROR(make_geometry(&result, "y", &yg));
  *y = result;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_max_unpool(const upsPoolDesc_t* desc, const upsTensorDesc_t* x, const upsTensorDesc_t* indices,
                                const upsTensorDesc_t* y, MaxUnpoolProblem* problem) {
  upsTensorDesc_t default_y;
  UPS_RETURN_IF_ERROR(max_unpool_output_desc(desc, x, nullptr, &default_y));
  UPS_RETURN_IF_ERROR(make_geometry(indices, "indices", &problem->indices));
  if (indices->dtype != UPS_DTYPE_I64)
    return fail(UPS_STATUS_NOT_SUPPORTED, "indices.dtype: expected i64, got ", dtype_name(indices->dtype));
  if (indices->layout != x->layout)
    return fail(UPS_STATUS_NOT_SUPPORTED, "indices.layout: expected ", layout_name(x->layout), " like x, got ",
                layout_name(indices->layout));
  upsTensorDesc_t expected_indices = *x;
  expected_indices.dtype = UPS_DTYPE_I64;
  UPS_RETURN_IF_ERROR(check_shape(indices, "indices", expected_indices, "same as x"));
  UPS_RETURN_IF_ERROR(make_geometry(y, "y", &problem->output));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(y, "y", x, "x"));
  if (y->spatial_dims != x->spatial_dims || y->n != x->n || y->c != x->c)
    return fail(UPS_STATUS_SHAPE_MISMATCH, "y: expected N=", x->n, ", C=", x->c, " and ", x->spatial_dims,
                " spatial dims like x, got ", shape_string(*y));
  upsTensorDesc_t checked;
  if (max_unpool_output_desc(desc, x, y->spatial, &checked) != UPS_STATUS_SUCCESS)
    return fail(UPS_STATUS_SHAPE_MISMATCH, "y: spatial extents must be within one stride of the default ",
                shape_string(default_y), ", got ", shape_string(*y));
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &problem->input));
  return UPS_STATUS_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// Transposed convolution
// ---------------------------------------------------------------------------------------------
upsStatus_t conv_transpose_output_desc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                       const upsTensorDesc_t* w, upsTensorDesc_t* y) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "conv desc is null");
  if (y == nullptr) return fail(UPS_STATUS_NULL_POINTER, "y: output descriptor is null");
  UPS_RETURN_IF_ERROR(validate_conv_params(desc));
  const int dims = desc->spatial_dims;
  TensorGeometry xg, wg;
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &xg));
  UPS_RETURN_IF_ERROR(make_geometry(w, "w", &wg));
  UPS_RETURN_IF_ERROR(check_same_rank(x, "x", dims, "the conv desc"));
  UPS_RETURN_IF_ERROR(check_same_rank(w, "w", dims, "the conv desc"));
  UPS_RETURN_IF_ERROR(check_float_dtype(x, "x", "transposed convolution"));
  if (w->dtype != x->dtype)
    return fail(UPS_STATUS_NOT_SUPPORTED, "w.dtype: expected ", dtype_name(x->dtype), " like x, got ",
                dtype_name(w->dtype));
  UPS_RETURN_IF_ERROR(check_spatial_non_empty(x, "x", "transposed convolution"));
  for (int i = 0; i < dims; ++i)
    if (w->spatial[i] < 1)
      return fail(UPS_STATUS_BAD_EXTENT, "w: kernel extents must be >= 1, got ", shape_string(*w));
  if (w->n != x->c)
    return fail(UPS_STATUS_SHAPE_MISMATCH, "w: expected N = C_in = ", x->c,
                " (weights are (C_in, C_out/groups, k...)), got ", shape_string(*w));
  if (x->c % desc->groups != 0)
    return fail(UPS_STATUS_BAD_GROUPS, "groups: ", desc->groups, " does not divide C_in = ", x->c);
  int64_t out_channels = 0;
  if (!checked_mul(w->c, desc->groups, &out_channels))
    return fail(UPS_STATUS_OVERFLOW, "w: C_out = ", w->c, " * groups ", desc->groups, " overflows int64");
  int64_t out[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  for (int i = 0; i < dims; ++i) {
    int64_t span = 0, reach = 0, extent = 0;
    const bool fits = checked_mul(x->spatial[i] - 1, desc->stride[i], &span) &&
                      checked_mul(desc->dilation[i], w->spatial[i] - 1, &reach) && checked_add(span, reach, &extent) &&
                      checked_add(extent, desc->output_padding[i] + 1 - desc->pad_begin[i] - desc->pad_end[i], &extent);
    if (!fits) return fail(UPS_STATUS_OVERFLOW, "y: output extent on axis ", i, " overflows int64");
    if (extent < 1)
      return fail(UPS_STATUS_BAD_PARAMETER, "conv desc: output extent on axis ", i, " would be ", extent,
                  " = (", x->spatial[i], "-1)*", desc->stride[i], " - ", desc->pad_begin[i], " - ", desc->pad_end[i],
                  " + ", desc->dilation[i], "*(", w->spatial[i], "-1) + ", desc->output_padding[i],
                  " + 1: padding is too large");
    out[i] = extent;
  }
  const upsTensorDesc_t result = like(*x, x->dtype, x->n, out_channels, out);
  TensorGeometry yg;
  UPS_RETURN_IF_ERROR(make_geometry(&result, "y", &yg));
  *y = result;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_conv_transpose(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                    const upsTensorDesc_t* w, const upsTensorDesc_t* y,
                                    ConvTransposeProblem* problem) {
  upsTensorDesc_t expected;
  UPS_RETURN_IF_ERROR(conv_transpose_output_desc(desc, x, w, &expected));
  UPS_RETURN_IF_ERROR(make_geometry(y, "y", &problem->output));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(y, "y", x, "x"));
  UPS_RETURN_IF_ERROR(check_shape(y, "y", expected, "the transposed-convolution output of x and w"));
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &problem->input));
  UPS_RETURN_IF_ERROR(make_geometry(w, "w", &problem->weight));
  to_canonical(desc->stride, desc->spatial_dims, 1, problem->stride);
  to_canonical(desc->pad_begin, desc->spatial_dims, 0, problem->pad_begin);
  to_canonical(desc->dilation, desc->spatial_dims, 1, problem->dilation);
  problem->groups = desc->groups;
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::detail

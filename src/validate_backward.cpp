#include "validate_backward.h"

#include <string>

#include "status.h"
#include "validate.h"

namespace upsample::detail {
namespace {

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

// The I64 switch indices of a pooling op: dtype, the reference tensor's layout, then the shape.
upsStatus_t check_indices(const upsTensorDesc_t* indices, const upsTensorDesc_t& expected, const char* why,
                          TensorGeometry* geometry) {
  UPS_RETURN_IF_ERROR(make_geometry(indices, "indices", geometry));
  if (indices->dtype != UPS_DTYPE_I64)
    return fail(UPS_STATUS_NOT_SUPPORTED, "indices.dtype: expected i64, got ", dtype_name(indices->dtype));
  upsTensorDesc_t layout_ref = expected;
  layout_ref.dtype = UPS_DTYPE_I64;
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(indices, "indices", &layout_ref, "dx"));
  return check_extents(UPS_STATUS_SHAPE_MISMATCH, indices, "indices", layout_ref, why);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Unpooling
// ---------------------------------------------------------------------------------------------
upsStatus_t unpool_backward_output_desc(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* dy, upsTensorDesc_t* dx) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "unpool desc is null");
  if (dx == nullptr) return fail(UPS_STATUS_NULL_POINTER, "dx: output descriptor is null");
  UPS_RETURN_IF_ERROR(check_spatial_dims(desc->spatial_dims, "unpool desc"));
  UPS_RETURN_IF_ERROR(check_positive(desc->scale, desc->spatial_dims, "scale"));
  TensorGeometry dyg;
  UPS_RETURN_IF_ERROR(check_float_tensor(dy, "dy", desc->spatial_dims, "the unpool desc", "unpooling", &dyg));
  int64_t in[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  for (int i = 0; i < desc->spatial_dims; ++i) {
    if (dy->spatial[i] % desc->scale[i] != 0)
      return fail(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: spatial extent ", dy->spatial[i], " on axis ", i,
                  " is not a multiple of scale ", desc->scale[i], ": dy must have the unpooled shape (x's extents ",
                  "times scale), got ", shape_string(*dy));
    in[i] = dy->spatial[i] / desc->scale[i];
  }
  const upsTensorDesc_t candidate = like(*dy, dy->dtype, dy->n, dy->c, in);
  UnpoolProblem problem;
  UPS_RETURN_IF_ERROR(validate_unpool_backward(desc, dy, &candidate, &problem));
  *dx = candidate;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_unpool_backward(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* dy, const upsTensorDesc_t* dx,
                                     UnpoolProblem* problem) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "unpool desc is null");
  UPS_RETURN_IF_ERROR(check_spatial_dims(desc->spatial_dims, "unpool desc"));
  // dx stands where the forward's x does; checked first under its own name, so the forward's
  // shape function below (which would call it "x") can only fail on the desc.
  UPS_RETURN_IF_ERROR(check_float_tensor(dx, "dx", desc->spatial_dims, "the unpool desc", "unpooling", &problem->input));
  upsTensorDesc_t expected;
  UPS_RETURN_IF_ERROR(unpool_output_desc(desc, dx, &expected));
  UPS_RETURN_IF_ERROR(make_geometry(dy, "dy", &problem->output));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(dy, "dy", dx, "dx"));
  UPS_RETURN_IF_ERROR(check_extents(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, dy, "dy", expected,
                                    "the unpooled shape of dx: dx's extents times scale"));
  problem->mode = desc->mode;
  to_canonical(desc->scale, desc->spatial_dims, 1, problem->scale);
  return UPS_STATUS_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// Max-pooling and max-unpooling
// ---------------------------------------------------------------------------------------------
upsStatus_t validate_max_pool_backward(const upsPoolDesc_t* desc, const upsTensorDesc_t* dy,
                                       const upsTensorDesc_t* indices, const upsTensorDesc_t* dx,
                                       MaxPoolProblem* problem) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "pool desc is null");
  UPS_RETURN_IF_ERROR(check_spatial_dims(desc->spatial_dims, "pool desc"));
  UPS_RETURN_IF_ERROR(check_float_tensor(dx, "dx", desc->spatial_dims, "the pool desc", "max-pooling", &problem->input));
  UPS_RETURN_IF_ERROR(check_spatial_non_empty(dx, "dx", "max-pooling"));
  upsTensorDesc_t expected, expected_indices;
  UPS_RETURN_IF_ERROR(max_pool_output_desc(desc, dx, &expected, &expected_indices));
  UPS_RETURN_IF_ERROR(make_geometry(dy, "dy", &problem->output));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(dy, "dy", dx, "dx"));
  UPS_RETURN_IF_ERROR(check_extents(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, dy, "dy", expected,
                                    "the max-pool output shape of dx"));
  UPS_RETURN_IF_ERROR(check_indices(indices, expected_indices, "same as dy", &problem->indices));
  to_canonical(desc->kernel, desc->spatial_dims, 1, problem->kernel);
  to_canonical(desc->stride, desc->spatial_dims, 1, problem->stride);
  to_canonical(desc->padding, desc->spatial_dims, 0, problem->padding);
  to_canonical(desc->dilation, desc->spatial_dims, 1, problem->dilation);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t max_unpool_backward_output_desc(const upsPoolDesc_t* desc, const upsTensorDesc_t* dy,
                                            const upsTensorDesc_t* indices, upsTensorDesc_t* dx) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "pool desc is null");
  if (dx == nullptr) return fail(UPS_STATUS_NULL_POINTER, "dx: output descriptor is null");
  UPS_RETURN_IF_ERROR(check_spatial_dims(desc->spatial_dims, "pool desc"));
  TensorGeometry g;
  UPS_RETURN_IF_ERROR(check_float_tensor(dy, "dy", desc->spatial_dims, "the pool desc", "max-unpooling", &g));
  UPS_RETURN_IF_ERROR(make_geometry(indices, "indices", &g));
  if (indices->dtype != UPS_DTYPE_I64)
    return fail(UPS_STATUS_NOT_SUPPORTED, "indices.dtype: expected i64, got ", dtype_name(indices->dtype));
  if (indices->layout != dy->layout)
    return fail(UPS_STATUS_NOT_SUPPORTED, "indices.layout: expected the layout of dy (dx takes it)");
  // dx: the indices' shape (the forward x's) in dy's dtype.
  upsTensorDesc_t candidate = *indices;
  candidate.dtype = dy->dtype;
  MaxUnpoolProblem problem;
  UPS_RETURN_IF_ERROR(validate_max_unpool_backward(desc, dy, indices, &candidate, &problem));
  *dx = candidate;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_max_unpool_backward(const upsPoolDesc_t* desc, const upsTensorDesc_t* dy,
                                         const upsTensorDesc_t* indices, const upsTensorDesc_t* dx,
                                         MaxUnpoolProblem* problem) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "pool desc is null");
  UPS_RETURN_IF_ERROR(check_spatial_dims(desc->spatial_dims, "pool desc"));
  UPS_RETURN_IF_ERROR(
      check_float_tensor(dx, "dx", desc->spatial_dims, "the pool desc", "max-unpooling", &problem->input));
  UPS_RETURN_IF_ERROR(check_spatial_non_empty(dx, "dx", "max-unpooling"));
  upsTensorDesc_t default_y;
  UPS_RETURN_IF_ERROR(max_unpool_output_desc(desc, dx, nullptr, &default_y));
  UPS_RETURN_IF_ERROR(check_indices(indices, *dx, "same as dx", &problem->indices));
  UPS_RETURN_IF_ERROR(make_geometry(dy, "dy", &problem->output));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(dy, "dy", dx, "dx"));
  // dy has the forward output's shape: the default extents, or explicit ones within one stride.
  upsTensorDesc_t checked;
  const bool matches = dy->spatial_dims == dx->spatial_dims && dy->n == dx->n && dy->c == dx->c &&
                       max_unpool_output_desc(desc, dx, dy->spatial, &checked) == UPS_STATUS_SUCCESS;
  if (!matches)
    return fail(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: expected the max-unpool output shape of dx: N=", dx->n,
                ", C=", dx->c, " and spatial extents equal to the default ", shape_string(default_y),
                " or within one stride of it, got ", shape_string(*dy));
  return UPS_STATUS_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// Transposed convolution
// ---------------------------------------------------------------------------------------------
upsStatus_t validate_conv_transpose_backward_data(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* dy,
                                                  const upsTensorDesc_t* w, const upsTensorDesc_t* dx,
                                                  ConvTransposeProblem* problem) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "conv desc is null");
  UPS_RETURN_IF_ERROR(validate_conv_params(desc));
  if (desc->algorithm == UPS_ALGO_SCATTER_ATOMIC)
    return fail(UPS_STATUS_NOT_SUPPORTED,
                "algorithm: the transposed convolution's data gradient has no SCATTER_ATOMIC variant (it is a "
                "gather: each dx element sums its own terms, deterministically); use GATHER or AUTO");
  UPS_RETURN_IF_ERROR(check_float_tensor(dx, "dx", desc->spatial_dims, "the conv desc", "transposed convolution",
                                         &problem->input));
  UPS_RETURN_IF_ERROR(check_spatial_non_empty(dx, "dx", "transposed convolution"));
  upsTensorDesc_t expected;
  UPS_RETURN_IF_ERROR(conv_transpose_output_desc(desc, dx, w, &expected));
  UPS_RETURN_IF_ERROR(make_geometry(w, "w", &problem->weight));
  UPS_RETURN_IF_ERROR(make_geometry(dy, "dy", &problem->output));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(dy, "dy", dx, "dx"));
  UPS_RETURN_IF_ERROR(check_extents(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, dy, "dy", expected,
                                    "the transposed-convolution output shape of dx's shape and w"));
  to_canonical(desc->stride, desc->spatial_dims, 1, problem->stride);
  to_canonical(desc->pad_begin, desc->spatial_dims, 0, problem->pad_begin);
  to_canonical(desc->dilation, desc->spatial_dims, 1, problem->dilation);
  problem->groups = desc->groups;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t conv_transpose_backward_data_output_desc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* dy,
                                                     const upsTensorDesc_t* w, upsTensorDesc_t* dx) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "conv desc is null");
  if (dx == nullptr) return fail(UPS_STATUS_NULL_POINTER, "dx: output descriptor is null");
  UPS_RETURN_IF_ERROR(validate_conv_params(desc));
  const int dims = desc->spatial_dims;
  TensorGeometry g;
  UPS_RETURN_IF_ERROR(check_float_tensor(dy, "dy", dims, "the conv desc", "transposed convolution", &g));
  UPS_RETURN_IF_ERROR(make_geometry(w, "w", &g));
  UPS_RETURN_IF_ERROR(check_same_rank(w, "w", dims, "the conv desc"));
  for (int i = 0; i < dims; ++i)
    if (w->spatial[i] < 1)
      return fail(UPS_STATUS_BAD_EXTENT, "w: kernel extents must be >= 1, got ", shape_string(*w));
  int64_t out_channels = 0;
  if (!checked_mul(w->c, desc->groups, &out_channels) || dy->c != out_channels)
    return fail(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: expected C = C_out = w's C_out/groups (", w->c,
                ") x groups (", desc->groups, "), got ", shape_string(*dy));
  // Invert the output-extent formula; it must divide exactly.
  int64_t in[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  for (int i = 0; i < dims; ++i) {
    int64_t reach = 0, numerator = 0;
    const bool fits = checked_mul(desc->dilation[i], w->spatial[i] - 1, &reach) &&
                      checked_add(dy->spatial[i], desc->pad_begin[i] + desc->pad_end[i] - 1 - desc->output_padding[i],
                                  &numerator) &&
                      checked_add(numerator, -reach, &numerator);
    if (!fits || numerator < 0 || numerator % desc->stride[i] != 0)
      return fail(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: spatial extent ", dy->spatial[i], " on axis ", i,
                  " is no transposed-convolution output of this geometry: out - 1 - output_padding + pad_begin + "
                  "pad_end - dilation*(k-1) = ",
                  fits ? numerator : -1, " must be a non-negative multiple of stride ", desc->stride[i],
                  " (dy = ", shape_string(*dy), ")");
    in[i] = numerator / desc->stride[i] + 1;
  }
  const upsTensorDesc_t candidate = like(*dy, dy->dtype, dy->n, w->n, in);
  ConvTransposeProblem problem;
  UPS_RETURN_IF_ERROR(validate_conv_transpose_backward_data(desc, dy, w, &candidate, &problem));
  *dx = candidate;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_conv_transpose_backward_weight(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                                    const upsTensorDesc_t* dy, const upsTensorDesc_t* dw,
                                                    ConvTransposeProblem* problem) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "conv desc is null");
  UPS_RETURN_IF_ERROR(validate_conv_params(desc));
  const int dims = desc->spatial_dims;
  UPS_RETURN_IF_ERROR(check_float_tensor(x, "x", dims, "the conv desc", "transposed convolution", &problem->input));
  UPS_RETURN_IF_ERROR(check_spatial_non_empty(x, "x", "transposed convolution"));
  // dw stands where the forward's w does: its own checks first, under its own name.
  UPS_RETURN_IF_ERROR(make_geometry(dw, "dw", &problem->weight));
  UPS_RETURN_IF_ERROR(check_same_rank(dw, "dw", dims, "the conv desc"));
  if (dw->dtype != x->dtype)
    return fail(UPS_STATUS_NOT_SUPPORTED, "dw.dtype: expected ", dtype_name(x->dtype), " like x, got ",
                dtype_name(dw->dtype));
  for (int i = 0; i < dims; ++i)
    if (dw->spatial[i] < 1)
      return fail(UPS_STATUS_BAD_EXTENT, "dw: kernel extents must be >= 1, got ", shape_string(*dw));
  if (dw->n != x->c)
    return fail(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dw: expected N = C_in = ", x->c,
                " (dw has w's shape (C_in, C_out/groups, k...)), got ", shape_string(*dw));
  upsTensorDesc_t expected;
  UPS_RETURN_IF_ERROR(conv_transpose_output_desc(desc, x, dw, &expected));
  UPS_RETURN_IF_ERROR(make_geometry(dy, "dy", &problem->output));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(dy, "dy", x, "x"));
  UPS_RETURN_IF_ERROR(check_extents(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, dy, "dy", expected,
                                    "the transposed-convolution output shape of x and dw's shape"));
  to_canonical(desc->stride, dims, 1, problem->stride);
  to_canonical(desc->pad_begin, dims, 0, problem->pad_begin);
  to_canonical(desc->dilation, dims, 1, problem->dilation);
  problem->groups = desc->groups;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t conv_transpose_backward_weight_output_desc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                                       const upsTensorDesc_t* dy, upsTensorDesc_t* dw) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "conv desc is null");
  if (dw == nullptr) return fail(UPS_STATUS_NULL_POINTER, "dw: output descriptor is null");
  UPS_RETURN_IF_ERROR(validate_conv_params(desc));
  const int dims = desc->spatial_dims;
  TensorGeometry g;
  UPS_RETURN_IF_ERROR(check_float_tensor(x, "x", dims, "the conv desc", "transposed convolution", &g));
  UPS_RETURN_IF_ERROR(check_spatial_non_empty(x, "x", "transposed convolution"));
  UPS_RETURN_IF_ERROR(make_geometry(dy, "dy", &g));
  UPS_RETURN_IF_ERROR(check_same_rank(dy, "dy", dims, "the conv desc"));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(dy, "dy", x, "x"));
  if (x->c % desc->groups != 0)
    return fail(UPS_STATUS_BAD_GROUPS, "groups: ", desc->groups, " does not divide C_in = ", x->c);
  if (dy->n != x->n || dy->c % desc->groups != 0)
    return fail(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: expected N = ", x->n, " like x and C = C_out a multiple of ",
                "groups = ", desc->groups, ", got ", shape_string(*dy));
  // Invert the output-extent formula for the kernel extent; it must divide exactly.
  int64_t k[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  for (int i = 0; i < dims; ++i) {
    int64_t span = 0, numerator = 0;
    const bool fits = checked_mul(x->spatial[i] - 1, desc->stride[i], &span) &&
                      checked_add(dy->spatial[i], desc->pad_begin[i] + desc->pad_end[i] - 1 - desc->output_padding[i],
                                  &numerator) &&
                      checked_add(numerator, -span, &numerator);
    if (!fits || numerator < 0 || numerator % desc->dilation[i] != 0)
      return fail(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: spatial extent ", dy->spatial[i], " on axis ", i,
                  " is no transposed-convolution output of x's extent ", x->spatial[i], " for any kernel: out - 1 - ",
                  "output_padding + pad_begin + pad_end - (in-1)*stride = ", fits ? numerator : -1,
                  " must be a non-negative multiple of dilation ", desc->dilation[i], " (dy = ", shape_string(*dy), ")");
    k[i] = numerator / desc->dilation[i] + 1;
  }
  const upsTensorDesc_t candidate = like(*x, x->dtype, x->c, dy->c / desc->groups, k);
  ConvTransposeProblem problem;
  UPS_RETURN_IF_ERROR(validate_conv_transpose_backward_weight(desc, x, dy, &candidate, &problem));
  *dw = candidate;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_conv_transpose_backward_bias(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* dy,
                                                  TensorGeometry* dy_geometry) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "conv desc is null");
  UPS_RETURN_IF_ERROR(validate_conv_params(desc));
  UPS_RETURN_IF_ERROR(
      check_float_tensor(dy, "dy", desc->spatial_dims, "the conv desc", "transposed convolution", dy_geometry));
  // A transposed convolution's output has spatial extents >= 1, so dy does too (as the other
  // gradients' dy, whose shape the forward geometry fixes).
  return check_spatial_non_empty(dy, "dy", "the bias gradient of a transposed convolution");
}

}  // namespace upsample::detail

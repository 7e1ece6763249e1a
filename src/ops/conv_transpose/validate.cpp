// Transposed convolution: validation and output shapes, forward and gradients.
#include <string>

#include "core/dtype.h"
#include "core/status.h"
#include "src/descriptor.h"
#include "src/validate_common.h"
#include "src/ops/conv_transpose/conv_transpose.h"

namespace upsample::detail {

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
  if (algorithm != UPS_ALGO_AUTO && algorithm != UPS_ALGO_SCATTER_ATOMIC && algorithm != UPS_ALGO_GATHER &&
      algorithm != UPS_ALGO_IMPLICIT_GEMM)
    return fail(UPS_STATUS_BAD_PARAMETER, "algorithm: expected AUTO, SCATTER_ATOMIC, GATHER or IMPLICIT_GEMM, got ",
                algorithm);
  const int math_mode = raw_enum(desc->math_mode);
  if (math_mode != UPS_MATH_DEFAULT && math_mode != UPS_MATH_ALLOW_TF32)
    return fail(UPS_STATUS_BAD_PARAMETER, "math_mode: expected UPS_MATH_DEFAULT or UPS_MATH_ALLOW_TF32, got ",
                math_mode);
  if (desc->deterministic && desc->algorithm == UPS_ALGO_SCATTER_ATOMIC)
    return fail(UPS_STATUS_NOT_SUPPORTED,
                "algorithm: SCATTER_ATOMIC accumulates with atomics and is not run-to-run deterministic, but the "
                "deterministic flag is set (use GATHER or AUTO)");
  return UPS_STATUS_SUCCESS;
}

// The run options every transposed-convolution call carries, from the validated copy of the desc
// (never re-read from the caller's struct): the requested algorithm (AUTO until dispatch resolves
// it), the deterministic flag and the math mode.
void set_conv_options(const upsConvTransposeDesc_t& desc, ConvTransposeProblem* problem) {
  problem->algorithm = desc.algorithm;
  problem->deterministic = desc.deterministic != 0;
  problem->allow_tf32 = desc.math_mode == UPS_MATH_ALLOW_TF32;
}

upsStatus_t conv_transpose_output_desc(const upsConvTransposeDesc_t* desc_arg, const upsTensorDesc_t* x_arg,
                                       const upsTensorDesc_t* w_arg, upsTensorDesc_t* y) {
  DescArg<upsConvTransposeDesc_t> desc;
  DescArg<upsTensorDesc_t> x, w;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "conv desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
  UPS_RETURN_IF_ERROR(w.read(w_arg, "w"));
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
  write_desc(result, y);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_conv_transpose(const upsConvTransposeDesc_t* desc_arg, const upsTensorDesc_t* x_arg,
                                    const upsTensorDesc_t* w_arg, const upsTensorDesc_t* y_arg,
                                    ConvTransposeProblem* problem) {
  DescArg<upsConvTransposeDesc_t> desc;
  DescArg<upsTensorDesc_t> x, w, y;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "conv desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
  UPS_RETURN_IF_ERROR(w.read(w_arg, "w"));
  UPS_RETURN_IF_ERROR(y.read(y_arg, "y"));
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
  set_conv_options(*desc, problem);
  return UPS_STATUS_SUCCESS;
}


upsStatus_t validate_conv_transpose_backward_data(const upsConvTransposeDesc_t* desc_arg, const upsTensorDesc_t* dy_arg,
                                                  const upsTensorDesc_t* w_arg, const upsTensorDesc_t* dx_arg,
                                                  ConvTransposeProblem* problem) {
  DescArg<upsConvTransposeDesc_t> desc;
  DescArg<upsTensorDesc_t> dy, w, dx;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "conv desc"));
  UPS_RETURN_IF_ERROR(dy.read(dy_arg, "dy"));
  UPS_RETURN_IF_ERROR(w.read(w_arg, "w"));
  UPS_RETURN_IF_ERROR(dx.read(dx_arg, "dx"));
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
  set_conv_options(*desc, problem);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t conv_transpose_backward_data_output_desc(const upsConvTransposeDesc_t* desc_arg,
                                                     const upsTensorDesc_t* dy_arg,
                                                     const upsTensorDesc_t* w_arg, upsTensorDesc_t* dx) {
  DescArg<upsConvTransposeDesc_t> desc;
  DescArg<upsTensorDesc_t> dy, w;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "conv desc"));
  UPS_RETURN_IF_ERROR(dy.read(dy_arg, "dy"));
  UPS_RETURN_IF_ERROR(w.read(w_arg, "w"));
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
  write_desc(candidate, dx);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_conv_transpose_backward_weight(const upsConvTransposeDesc_t* desc_arg,
                                                    const upsTensorDesc_t* x_arg,
                                                    const upsTensorDesc_t* dy_arg, const upsTensorDesc_t* dw_arg,
                                                    ConvTransposeProblem* problem) {
  DescArg<upsConvTransposeDesc_t> desc;
  DescArg<upsTensorDesc_t> x, dy, dw;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "conv desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
  UPS_RETURN_IF_ERROR(dy.read(dy_arg, "dy"));
  UPS_RETURN_IF_ERROR(dw.read(dw_arg, "dw"));
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
  set_conv_options(*desc, problem);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t conv_transpose_backward_weight_output_desc(const upsConvTransposeDesc_t* desc_arg,
                                                       const upsTensorDesc_t* x_arg,
                                                       const upsTensorDesc_t* dy_arg, upsTensorDesc_t* dw) {
  DescArg<upsConvTransposeDesc_t> desc;
  DescArg<upsTensorDesc_t> x, dy;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "conv desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
  UPS_RETURN_IF_ERROR(dy.read(dy_arg, "dy"));
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
  write_desc(candidate, dw);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_conv_transpose_backward_bias(const upsConvTransposeDesc_t* desc_arg, const upsTensorDesc_t* dy_arg,
                                                  TensorGeometry* dy_geometry, upsAlgorithm_t* algorithm) {
  DescArg<upsConvTransposeDesc_t> desc;
  DescArg<upsTensorDesc_t> dy;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "conv desc"));
  UPS_RETURN_IF_ERROR(dy.read(dy_arg, "dy"));
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "conv desc is null");
  UPS_RETURN_IF_ERROR(validate_conv_params(desc));
  UPS_RETURN_IF_ERROR(
      check_float_tensor(dy, "dy", desc->spatial_dims, "the conv desc", "transposed convolution", dy_geometry));
  *algorithm = desc->algorithm;
  // A transposed convolution's output has spatial extents >= 1, so dy does too (as the other
  // gradients' dy, whose shape the forward geometry fixes).
  return check_spatial_non_empty(dy, "dy", "the bias gradient of a transposed convolution");
}

}  // namespace upsample::detail

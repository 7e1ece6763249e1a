// Max-pooling with indices: validation and output shapes, forward and backward.
#include <string>

#include "core/dtype.h"
#include "core/status.h"
#include "src/descriptor.h"
#include "src/validate_common.h"
#include "src/ops/max_pool/max_pool.h"

namespace upsample::detail {

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


upsStatus_t max_pool_output_desc(const upsPoolDesc_t* desc_arg, const upsTensorDesc_t* x_arg, upsTensorDesc_t* y,
                                 upsTensorDesc_t* indices) {
  DescArg<upsPoolDesc_t> desc;
  DescArg<upsTensorDesc_t> x;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "pool desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
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
  write_desc(result, y);
  if (indices != nullptr) write_desc(result_indices, indices);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_max_pool(const upsPoolDesc_t* desc_arg, const upsTensorDesc_t* x_arg, const upsTensorDesc_t* y_arg,
                              const upsTensorDesc_t* indices_arg, MaxPoolProblem* problem) {
  DescArg<upsPoolDesc_t> desc;
  DescArg<upsTensorDesc_t> x, y, indices;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "pool desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
  UPS_RETURN_IF_ERROR(y.read(y_arg, "y"));
  UPS_RETURN_IF_ERROR(indices.read(indices_arg, "indices"));
  upsTensorDesc_t expected, expected_indices;
  UPS_RETURN_IF_ERROR(max_pool_output_desc(desc, x, &expected, &expected_indices));
  UPS_RETURN_IF_ERROR(make_geometry(y, "y", &problem->output));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(y, "y", x, "x"));
  UPS_RETURN_IF_ERROR(check_shape(y, "y", expected, "max-pool of x"));
  UPS_RETURN_IF_ERROR(make_geometry(indices, "indices", &problem->indices));
  UPS_RETURN_IF_ERROR(check_index_dtype(indices));
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &problem->input));
  // An I32 switch holds a flat position of x's plane: [0, D*H*W) must fit.
  if (indices->dtype == UPS_DTYPE_I32 && problem->input.plane() > (int64_t{1} << 31))
    return fail(UPS_STATUS_NOT_SUPPORTED,
                "indices.dtype: i32 switches need x's plane (D*H*W) to be at most 2^31 "
                "elements, got ",
                problem->input.plane(), "; use i64");
  if (indices->layout != x->layout)
    return fail(UPS_STATUS_NOT_SUPPORTED, "indices.layout: expected ", layout_name(x->layout), " like x, got ",
                layout_name(indices->layout));
  expected_indices.dtype = indices->dtype;
  UPS_RETURN_IF_ERROR(check_shape(indices, "indices", expected_indices, "same as y"));
  to_canonical(desc->kernel, desc->spatial_dims, 1, problem->kernel);
  to_canonical(desc->stride, desc->spatial_dims, 1, problem->stride);
  to_canonical(desc->padding, desc->spatial_dims, 0, problem->padding);
  to_canonical(desc->dilation, desc->spatial_dims, 1, problem->dilation);
  return UPS_STATUS_SUCCESS;
}


upsStatus_t validate_max_pool_backward(const upsPoolDesc_t* desc_arg, const upsTensorDesc_t* dy_arg,
                                       const upsTensorDesc_t* indices_arg, const upsTensorDesc_t* dx_arg,
                                       MaxPoolProblem* problem) {
  DescArg<upsPoolDesc_t> desc;
  DescArg<upsTensorDesc_t> dy, indices, dx;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "pool desc"));
  UPS_RETURN_IF_ERROR(dy.read(dy_arg, "dy"));
  UPS_RETURN_IF_ERROR(indices.read(indices_arg, "indices"));
  UPS_RETURN_IF_ERROR(dx.read(dx_arg, "dx"));
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


}  // namespace upsample::detail

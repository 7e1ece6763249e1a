// Max-unpooling: validation and output shapes, forward and backward.
#include <string>

#include "core/dtype.h"
#include "core/status.h"
#include "src/descriptor.h"
#include "src/validate_common.h"
#include "src/ops/max_unpool/max_unpool.h"

namespace upsample::detail {

namespace {

// PyTorch's default MaxUnpool extent per axis, (in - 1)*stride - 2*padding + kernel: it may be 0 or
// negative (any padding >= 0 is allowed). OVERFLOW if it leaves int64.
upsStatus_t default_extents(const upsPoolDesc_t* desc, const upsTensorDesc_t* x, int64_t out[UPS_MAX_SPATIAL_DIMS]) {
  for (int i = 0; i < desc->spatial_dims; ++i) {
    int64_t scaled = 0, twice_padding = 0, extent = 0;
    if (!checked_mul(x->spatial[i] - 1, desc->stride[i], &scaled) ||
        !checked_mul(desc->padding[i], 2, &twice_padding) ||
        !checked_add(scaled, desc->kernel[i] - twice_padding, &extent))
      return fail(UPS_STATUS_OVERFLOW, "y: default max-unpool extent on axis ", i, " overflows int64");
    out[i] = extent;
  }
  return UPS_STATUS_SUCCESS;
}

// The op's check of a shape that the shape function accepts: a plane with no positions makes every
// index out of range, so a non-empty x cannot be unpooled into it (PyTorch: "Found an invalid max
// index"). Decided here from the shapes alone, before any data is read, on every backend.
upsStatus_t check_plane_reachable(const TensorGeometry& input, const TensorGeometry& output, const char* x_name,
                                  const char* y_name) {
  if (output.plane() == 0 && input.elements() > 0)
    return fail(UPS_STATUS_INDEX_OUT_OF_RANGE, "indices[n=0, c=0, d=0, h=0, w=0] is outside the output plane [0, 0): ",
                y_name, " has an empty (n, c) plane, so no index of the non-empty ", x_name,
                " can be valid (first offending position in (n, c, d, h, w) order); nothing was written");
  return UPS_STATUS_SUCCESS;
}

void copy_pool_params(const upsPoolDesc_t* desc, MaxUnpoolProblem* problem) {
  to_canonical(desc->kernel, desc->spatial_dims, 1, problem->kernel);
  to_canonical(desc->stride, desc->spatial_dims, 1, problem->stride);
  to_canonical(desc->padding, desc->spatial_dims, 0, problem->padding);
}

}  // namespace

// PyTorch's MaxUnpool{1,2,3}d shape rule (torch.nn.functional._unpool_output_size): the default
// extent per axis, or an explicit output_size strictly within one stride of it; an extent of 0 is
// a valid (empty) shape, a negative one is not (PyTorch fails to allocate it). The op entry points
// validate y through this same function, so they accept exactly these shapes.
upsStatus_t max_unpool_output_desc(const upsPoolDesc_t* desc_arg, const upsTensorDesc_t* x_arg,
                                   const int64_t* output_size,
                                   upsTensorDesc_t* y) {
  DescArg<upsPoolDesc_t> desc;
  DescArg<upsTensorDesc_t> x;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "pool desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "pool desc is null");
  if (y == nullptr) return fail(UPS_STATUS_NULL_POINTER, "y: output descriptor is null");
  UPS_RETURN_IF_ERROR(validate_pool_params(desc, false));
  TensorGeometry xg;
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &xg));
  UPS_RETURN_IF_ERROR(check_same_rank(x, "x", desc->spatial_dims, "the pool desc"));
  UPS_RETURN_IF_ERROR(check_float_dtype(x, "x", "max-unpooling"));
  UPS_RETURN_IF_ERROR(check_spatial_non_empty(x, "x", "max-unpooling"));
  int64_t defaults[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  UPS_RETURN_IF_ERROR(default_extents(desc, x, defaults));
  int64_t out[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  for (int i = 0; i < desc->spatial_dims; ++i) {
    const int64_t extent = defaults[i];
    if (output_size == nullptr) {
      if (extent < 0)
        return fail(UPS_STATUS_BAD_PARAMETER, "pool desc: default max-unpool extent on axis ", i, " is (", x->spatial[i],
                    " - 1)*stride ", desc->stride[i], " - 2*padding ", desc->padding[i], " + kernel ", desc->kernel[i],
                    " = ", extent, ", expected >= 0 (pass an explicit output_size, or less padding)");
      out[i] = extent;
    } else {
      // PyTorch's rule for an explicit output_size: strictly within one stride of the default.
      if (!(output_size[i] > extent - desc->stride[i] && output_size[i] < extent + desc->stride[i]) ||
          output_size[i] < 0)
        return fail(UPS_STATUS_BAD_PARAMETER, "output_size[", i, "]: expected >= 0 and between ",
                    extent - desc->stride[i], " and ", extent + desc->stride[i], " exclusive (default ", extent,
                    " +- stride ", desc->stride[i], "), got ", output_size[i]);
      out[i] = output_size[i];
    }
  }
  const upsTensorDesc_t result = like(*x, x->dtype, x->n, x->c, out);
  TensorGeometry yg;
  UPS_RETURN_IF_ERROR(make_geometry(&result, "y", &yg));
  write_desc(result, y);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_max_unpool(const upsPoolDesc_t* desc_arg, const upsTensorDesc_t* x_arg,
                                const upsTensorDesc_t* indices_arg,
                                const upsTensorDesc_t* y_arg, MaxUnpoolProblem* problem) {
  DescArg<upsPoolDesc_t> desc;
  DescArg<upsTensorDesc_t> x, indices, y;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "pool desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
  UPS_RETURN_IF_ERROR(indices.read(indices_arg, "indices"));
  UPS_RETURN_IF_ERROR(y.read(y_arg, "y"));
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "pool desc is null");
  UPS_RETURN_IF_ERROR(validate_pool_params(desc, false));
  TensorGeometry xg;
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &xg));
  UPS_RETURN_IF_ERROR(check_same_rank(x, "x", desc->spatial_dims, "the pool desc"));
  UPS_RETURN_IF_ERROR(check_float_dtype(x, "x", "max-unpooling"));
  UPS_RETURN_IF_ERROR(check_spatial_non_empty(x, "x", "max-unpooling"));
  int64_t defaults[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  UPS_RETURN_IF_ERROR(default_extents(desc, x, defaults));
  UPS_RETURN_IF_ERROR(make_geometry(indices, "indices", &problem->indices));
  UPS_RETURN_IF_ERROR(check_index_dtype(indices));
  if (indices->layout != x->layout)
    return fail(UPS_STATUS_NOT_SUPPORTED, "indices.layout: expected ", layout_name(x->layout), " like x, got ",
                layout_name(indices->layout));
  upsTensorDesc_t expected_indices = *x;
  expected_indices.dtype = indices->dtype;
  UPS_RETURN_IF_ERROR(check_shape(indices, "indices", expected_indices, "same as x"));
  UPS_RETURN_IF_ERROR(make_geometry(y, "y", &problem->output));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(y, "y", x, "x"));
  if (y->spatial_dims != x->spatial_dims || y->n != x->n || y->c != x->c)
    return fail(UPS_STATUS_SHAPE_MISMATCH, "y: expected N=", x->n, ", C=", x->c, " and ", x->spatial_dims,
                " spatial dims like x, got ", shape_string(*y));
  // y's extents are an explicit output_size: exactly the shapes upsMaxUnpoolOutputDesc gives.
  upsTensorDesc_t checked;
  if (max_unpool_output_desc(desc, x, y->spatial, &checked) != UPS_STATUS_SUCCESS)
    return fail(UPS_STATUS_SHAPE_MISMATCH, "y: spatial extents must be >= 0 and within one stride of the default ",
                extents_string(defaults, desc->spatial_dims), " (stride ", extents_string(desc->stride, desc->spatial_dims),
                "), got ", shape_string(*y));
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &problem->input));
  copy_pool_params(desc, problem);
  return check_plane_reachable(problem->input, problem->output, "x", "y");
}


upsStatus_t max_unpool_backward_output_desc(const upsPoolDesc_t* desc_arg, const upsTensorDesc_t* dy_arg,
                                            const upsTensorDesc_t* indices_arg, upsTensorDesc_t* dx) {
  DescArg<upsPoolDesc_t> desc;
  DescArg<upsTensorDesc_t> dy, indices;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "pool desc"));
  UPS_RETURN_IF_ERROR(dy.read(dy_arg, "dy"));
  UPS_RETURN_IF_ERROR(indices.read(indices_arg, "indices"));
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "pool desc is null");
  if (dx == nullptr) return fail(UPS_STATUS_NULL_POINTER, "dx: output descriptor is null");
  UPS_RETURN_IF_ERROR(check_spatial_dims(desc->spatial_dims, "pool desc"));
  TensorGeometry g;
  UPS_RETURN_IF_ERROR(check_float_tensor(dy, "dy", desc->spatial_dims, "the pool desc", "max-unpooling", &g));
  UPS_RETURN_IF_ERROR(make_geometry(indices, "indices", &g));
  UPS_RETURN_IF_ERROR(check_index_dtype(indices));
  if (indices->layout != dy->layout)
    return fail(UPS_STATUS_NOT_SUPPORTED, "indices.layout: expected the layout of dy (dx takes it)");
  // dx: the indices' shape (the forward x's) in dy's dtype.
  upsTensorDesc_t candidate = *indices;
  candidate.dtype = dy->dtype;
  MaxUnpoolProblem problem;
  UPS_RETURN_IF_ERROR(validate_max_unpool_backward(desc, dy, indices, &candidate, &problem));
  write_desc(candidate, dx);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_max_unpool_backward(const upsPoolDesc_t* desc_arg, const upsTensorDesc_t* dy_arg,
                                         const upsTensorDesc_t* indices_arg, const upsTensorDesc_t* dx_arg,
                                         MaxUnpoolProblem* problem) {
  DescArg<upsPoolDesc_t> desc;
  DescArg<upsTensorDesc_t> dy, indices, dx;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "pool desc"));
  UPS_RETURN_IF_ERROR(dy.read(dy_arg, "dy"));
  UPS_RETURN_IF_ERROR(indices.read(indices_arg, "indices"));
  UPS_RETURN_IF_ERROR(dx.read(dx_arg, "dx"));
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "pool desc is null");
  UPS_RETURN_IF_ERROR(check_spatial_dims(desc->spatial_dims, "pool desc"));
  UPS_RETURN_IF_ERROR(
      check_float_tensor(dx, "dx", desc->spatial_dims, "the pool desc", "max-unpooling", &problem->input));
  UPS_RETURN_IF_ERROR(check_spatial_non_empty(dx, "dx", "max-unpooling"));
  UPS_RETURN_IF_ERROR(validate_pool_params(desc, false));
  int64_t defaults[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  UPS_RETURN_IF_ERROR(default_extents(desc, dx, defaults));
  UPS_RETURN_IF_ERROR(check_indices(indices, *dx, "same as dx", &problem->indices));
  UPS_RETURN_IF_ERROR(make_geometry(dy, "dy", &problem->output));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(dy, "dy", dx, "dx"));
  // dy has the forward output's shape: the default extents, or explicit ones within one stride.
  upsTensorDesc_t checked;
  const bool matches = dy->spatial_dims == dx->spatial_dims && dy->n == dx->n && dy->c == dx->c &&
                       max_unpool_output_desc(desc, dx, dy->spatial, &checked) == UPS_STATUS_SUCCESS;
  if (!matches)
    return fail(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: expected the max-unpool output shape of dx: N=", dx->n,
                ", C=", dx->c, " and spatial extents >= 0 equal to the default ",
                extents_string(defaults, desc->spatial_dims), " or within one stride of it (stride ",
                extents_string(desc->stride, desc->spatial_dims), "), got ", shape_string(*dy));
  copy_pool_params(desc, problem);
  return check_plane_reachable(problem->input, problem->output, "dx", "dy");
}


}  // namespace upsample::detail

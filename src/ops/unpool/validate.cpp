// Unpooling (nearest, bed-of-nails): validation and output shapes, forward and backward.
#include <string>

#include "core/dtype.h"
#include "core/status.h"
#include "src/descriptor.h"
#include "src/validate_common.h"
#include "src/ops/unpool/unpool.h"

namespace upsample::detail {

upsStatus_t unpool_output_desc(const upsUnpoolDesc_t* desc_arg, const upsTensorDesc_t* x_arg, upsTensorDesc_t* y) {
  DescArg<upsUnpoolDesc_t> desc;
  DescArg<upsTensorDesc_t> x;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "unpool desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
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
  write_desc(result, y);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_unpool(const upsUnpoolDesc_t* desc_arg, const upsTensorDesc_t* x_arg, const upsTensorDesc_t* y_arg,
                            UnpoolProblem* problem) {
  DescArg<upsUnpoolDesc_t> desc;
  DescArg<upsTensorDesc_t> x, y;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "unpool desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
  UPS_RETURN_IF_ERROR(y.read(y_arg, "y"));
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


upsStatus_t unpool_backward_output_desc(const upsUnpoolDesc_t* desc_arg, const upsTensorDesc_t* dy_arg,
                                        upsTensorDesc_t* dx) {
  DescArg<upsUnpoolDesc_t> desc;
  DescArg<upsTensorDesc_t> dy;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "unpool desc"));
  UPS_RETURN_IF_ERROR(dy.read(dy_arg, "dy"));
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
  write_desc(candidate, dx);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_unpool_backward(const upsUnpoolDesc_t* desc_arg, const upsTensorDesc_t* dy_arg,
                                     const upsTensorDesc_t* dx_arg,
                                     UnpoolProblem* problem) {
  DescArg<upsUnpoolDesc_t> desc;
  DescArg<upsTensorDesc_t> dy, dx;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "unpool desc"));
  UPS_RETURN_IF_ERROR(dy.read(dy_arg, "dy"));
  UPS_RETURN_IF_ERROR(dx.read(dx_arg, "dx"));
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


}  // namespace upsample::detail

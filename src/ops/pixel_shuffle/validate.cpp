// Pixel shuffle and unshuffle: descriptor checks and output shapes.
#include <cstring>
#include <string>

#include "core/status.h"
#include "src/descriptor.h"
#include "src/ops/pixel_shuffle/pixel_shuffle.h"
#include "src/validate_common.h"

namespace upsample::detail {

// NOTE [ Descriptor versions ]: the pixel-shuffle descriptor's first layout is this release's.
template <>
struct DescTraits<upsPixelShuffleDesc_t> {
  static constexpr size_t kBaseSize = UPS_DESC_END(upsPixelShuffleDesc_t, factor);
  static constexpr const char* kInit = "upsPixelShuffleDescInit";
  static upsPixelShuffleDesc_t defaults() { return upsPixelShuffleDesc_t{}; }
};
static_assert(DescTraits<upsPixelShuffleDesc_t>::kBaseSize == sizeof(upsPixelShuffleDesc_t),
              "see NOTE [ Descriptor versions ]");

namespace {

upsStatus_t check_desc(const upsPixelShuffleDesc_t* desc) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "pixel shuffle desc is null");
  const int direction = raw_enum(desc->direction);
  if (direction != UPS_PIXEL_SHUFFLE && direction != UPS_PIXEL_UNSHUFFLE)
    return fail(UPS_STATUS_BAD_PARAMETER, "pixel shuffle desc.direction: expected SHUFFLE or UNSHUFFLE, got ",
                direction);
  UPS_RETURN_IF_ERROR(check_spatial_dims(desc->spatial_dims, "pixel shuffle desc"));
  if (desc->spatial_dims == 1)
    return fail(UPS_STATUS_NOT_SUPPORTED, "pixel shuffle desc.spatial_dims: pixel shuffle is 2-D or 3-D, got 1");
  if (desc->factor < 1)
    return fail(UPS_STATUS_BAD_PARAMETER, "pixel shuffle desc.factor: expected >= 1, got ", desc->factor);
  return UPS_STATUS_SUCCESS;
}

// y's descriptor for x, when x goes in the given direction.
upsStatus_t output_for(const upsPixelShuffleDesc_t* desc, bool shuffle, const upsTensorDesc_t* x, const char* x_name,
                       upsTensorDesc_t* y) {
  TensorGeometry xg;
  UPS_RETURN_IF_ERROR(check_float_tensor(x, x_name, desc->spatial_dims, "the pixel shuffle desc", "pixel shuffle", &xg));
  const int dims = desc->spatial_dims;
  const int64_t r = desc->factor;
  int64_t block = 1;  // r^k
  for (int i = 0; i < dims; ++i)
    if (!checked_mul(block, r, &block))
      return fail(UPS_STATUS_OVERFLOW, "pixel shuffle desc.factor: ", r, "^", dims, " overflows int64");
  int64_t spatial[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  int64_t channels = 0;
  if (shuffle) {
    if (x->c % block != 0)
      return fail(UPS_STATUS_SHAPE_MISMATCH, x_name, ".c: pixel shuffle needs channels divisible by factor^", dims,
                  " = ", block, ", got C = ", x->c, " in ", shape_string(*x));
    channels = x->c / block;
    for (int i = 0; i < dims; ++i)
      if (!checked_mul(x->spatial[i], r, &spatial[i]))
        return fail(UPS_STATUS_OVERFLOW, "y: spatial extent ", x->spatial[i], " * factor ", r, " overflows int64");
  } else {
    for (int i = 0; i < dims; ++i) {
      if (x->spatial[i] % r != 0)
        return fail(UPS_STATUS_SHAPE_MISMATCH, x_name, ": pixel unshuffle needs spatial extents divisible by factor ",
                    r, ", got ", shape_string(*x));
      spatial[i] = x->spatial[i] / r;
    }
    if (!checked_mul(x->c, block, &channels))
      return fail(UPS_STATUS_OVERFLOW, "y: channels ", x->c, " * factor^", dims, " overflows int64");
  }
  const upsTensorDesc_t result = like(*x, x->dtype, x->n, channels, spatial);
  TensorGeometry yg;
  UPS_RETURN_IF_ERROR(make_geometry(&result, "y", &yg));
  write_desc(result, y);
  return UPS_STATUS_SUCCESS;
}

void fill(const upsPixelShuffleDesc_t* desc, const TensorGeometry& packed, const TensorGeometry& spatial,
          bool to_spatial, PixelShuffleProblem* p) {
  p->packed = packed;
  p->spatial = spatial;
  p->factor = desc->factor;
  p->spatial_dims = desc->spatial_dims;
  p->to_spatial = to_spatial;
}

}  // namespace

upsStatus_t pixel_shuffle_desc_init(upsPixelShuffleDesc_t* desc, size_t struct_size,
                                    upsPixelShuffleDirection_t direction, int spatial_dims, int64_t factor) {
  upsPixelShuffleDesc_t d;
  UPS_RETURN_IF_ERROR(begin_init(desc, struct_size, &d));
  std::memcpy(&d.direction, &direction, sizeof direction);  // as bits: an unknown value is refused below
  d.spatial_dims = spatial_dims;
  d.factor = factor;
  UPS_RETURN_IF_ERROR(check_desc(&d));
  write_desc(d, desc);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t pixel_shuffle_output_desc(const upsPixelShuffleDesc_t* desc_arg, const upsTensorDesc_t* x_arg,
                                      upsTensorDesc_t* y) {
  DescArg<upsPixelShuffleDesc_t> desc;
  DescArg<upsTensorDesc_t> x;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "pixel shuffle desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
  UPS_RETURN_IF_ERROR(check_desc(desc));
  if (y == nullptr) return fail(UPS_STATUS_NULL_POINTER, "y: output descriptor is null");
  return output_for(desc, desc->direction == UPS_PIXEL_SHUFFLE, x, "x", y);
}

upsStatus_t validate_pixel_shuffle(const upsPixelShuffleDesc_t* desc_arg, const upsTensorDesc_t* x_arg,
                                   const upsTensorDesc_t* y_arg, PixelShuffleProblem* problem) {
  DescArg<upsPixelShuffleDesc_t> desc;
  DescArg<upsTensorDesc_t> x, y;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "pixel shuffle desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
  UPS_RETURN_IF_ERROR(y.read(y_arg, "y"));
  upsTensorDesc_t expected;
  UPS_RETURN_IF_ERROR(pixel_shuffle_output_desc(desc, x, &expected));
  TensorGeometry xg, yg;
  UPS_RETURN_IF_ERROR(make_geometry(y, "y", &yg));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(y, "y", x, "x"));
  UPS_RETURN_IF_ERROR(check_shape(y, "y", expected, "x pixel-shuffled by the desc"));
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &xg));
  const bool shuffle = desc->direction == UPS_PIXEL_SHUFFLE;
  fill(desc, shuffle ? xg : yg, shuffle ? yg : xg, shuffle, problem);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_pixel_shuffle_backward(const upsPixelShuffleDesc_t* desc_arg, const upsTensorDesc_t* dy_arg,
                                            const upsTensorDesc_t* dx_arg, PixelShuffleProblem* problem) {
  DescArg<upsPixelShuffleDesc_t> desc;
  DescArg<upsTensorDesc_t> dy, dx;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "pixel shuffle desc"));
  UPS_RETURN_IF_ERROR(dy.read(dy_arg, "dy"));
  UPS_RETURN_IF_ERROR(dx.read(dx_arg, "dx"));
  UPS_RETURN_IF_ERROR(check_desc(desc));
  const bool shuffle = desc->direction == UPS_PIXEL_SHUFFLE;
  upsTensorDesc_t expected;
  UPS_RETURN_IF_ERROR(output_for(desc, shuffle, dx, "dx", &expected));
  TensorGeometry dxg, dyg;
  UPS_RETURN_IF_ERROR(make_geometry(dx, "dx", &dxg));
  UPS_RETURN_IF_ERROR(make_geometry(dy, "dy", &dyg));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(dy, "dy", dx, "dx"));
  UPS_RETURN_IF_ERROR(check_extents(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, dy, "dy", expected,
                                    "the forward's output shape for dx (the forward's x)"));
  // The gradient moves back: shuffle's dy is spatial, its dx packed.
  fill(desc, shuffle ? dxg : dyg, shuffle ? dyg : dxg, !shuffle, problem);
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::detail

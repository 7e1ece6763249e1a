// Interpolation: descriptor checks, output shapes (PyTorch's rounding) and the coordinate scales.
#include <cmath>
#include <cstring>
#include <string>

#include "core/dtype.h"
#include "core/status.h"
#include "src/descriptor.h"
#include "src/ops/interpolate/interpolate.h"
#include "src/validate_common.h"

namespace upsample::detail {

// NOTE [ Descriptor versions ]: the interpolation descriptor's first layout is this release's.
template <>
struct DescTraits<upsInterpolateDesc_t> {
  static constexpr size_t kBaseSize = UPS_DESC_END(upsInterpolateDesc_t, recompute_scale_factor);
  static constexpr const char* kInit = "upsInterpolateDescInit";
  static upsInterpolateDesc_t defaults() { return upsInterpolateDesc_t{}; }
};
static_assert(DescTraits<upsInterpolateDesc_t>::kBaseSize == sizeof(upsInterpolateDesc_t),
              "see NOTE [ Descriptor versions ]");

namespace {

const char* mode_name(int mode) {
  switch (mode) {
    case UPS_INTERPOLATE_NEAREST: return "NEAREST";
    case UPS_INTERPOLATE_NEAREST_EXACT: return "NEAREST_EXACT";
    case UPS_INTERPOLATE_LINEAR: return "LINEAR";
    case UPS_INTERPOLATE_BICUBIC: return "BICUBIC";
    case UPS_INTERPOLATE_AREA: return "AREA";
    default: return "?";
  }
}

bool any_nonzero(const int64_t* v, int dims) {
  for (int i = 0; i < dims; ++i)
    if (v[i] != 0) return true;
  return false;
}

bool any_nonzero(const double* v, int dims) {
  for (int i = 0; i < dims; ++i)
    if (v[i] != 0.0) return true;  // NaN counts as given (and is then rejected as non-finite)
  return false;
}

// The descriptor on its own: everything that does not need x.
upsStatus_t check_desc(const upsInterpolateDesc_t* desc) {
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "interpolate desc is null");
  const int mode = raw_enum(desc->mode);
  if (mode < UPS_INTERPOLATE_NEAREST || mode > UPS_INTERPOLATE_AREA)
    return fail(UPS_STATUS_BAD_PARAMETER,
                "interpolate desc.mode: expected NEAREST, NEAREST_EXACT, LINEAR, BICUBIC or AREA, got ", mode);
  UPS_RETURN_IF_ERROR(check_spatial_dims(desc->spatial_dims, "interpolate desc"));
  const int dims = desc->spatial_dims;
  if (mode == UPS_INTERPOLATE_BICUBIC && dims != 2)
    return fail(UPS_STATUS_NOT_SUPPORTED, "interpolate desc.spatial_dims: BICUBIC is 2-D only (as in PyTorch), got ",
                dims);
  const bool interpolating = mode == UPS_INTERPOLATE_LINEAR || mode == UPS_INTERPOLATE_BICUBIC;
  if (desc->align_corners != 0 && !interpolating)
    return fail(UPS_STATUS_BAD_PARAMETER, "interpolate desc.align_corners: only LINEAR and BICUBIC have corners to ",
                "align, got align_corners with ", mode_name(mode));
  if (desc->antialias != 0 && !((mode == UPS_INTERPOLATE_LINEAR && dims == 2) || mode == UPS_INTERPOLATE_BICUBIC))
    return fail(UPS_STATUS_BAD_PARAMETER, "interpolate desc.antialias: only 2-D LINEAR (bilinear) and BICUBIC have ",
                "an antialias filter, got antialias with ", mode_name(mode), " in ", dims, "-D");
  const bool has_size = any_nonzero(desc->output_size, dims);
  const bool has_scale = any_nonzero(desc->scale_factor, dims);
  if (has_size && has_scale)
    return fail(UPS_STATUS_BAD_PARAMETER, "interpolate desc: output_size ", extents_string(desc->output_size, dims),
                " and scale_factor are both set; set exactly one (the other all 0)");
  if (!has_size && !has_scale)
    return fail(UPS_STATUS_BAD_PARAMETER,
                "interpolate desc: neither output_size nor scale_factor is set; set exactly one of them");
  if (has_size) {
    for (int i = 0; i < dims; ++i)
      if (desc->output_size[i] < 1)
        return fail(UPS_STATUS_BAD_EXTENT, "interpolate desc.output_size[", i, "]: expected >= 1, got ",
                    desc->output_size[i], " (output_size = ", extents_string(desc->output_size, dims), ")");
  } else {
    for (int i = 0; i < dims; ++i) {
      const double s = desc->scale_factor[i];
      if (!std::isfinite(s))
        return fail(UPS_STATUS_BAD_PARAMETER, "interpolate desc.scale_factor[", i, "]: expected a finite value, got ", s);
      if (!(s > 0.0))
        return fail(UPS_STATUS_BAD_PARAMETER, "interpolate desc.scale_factor[", i, "]: expected > 0, got ", s);
    }
  }
  return UPS_STATUS_SUCCESS;
}

// Output extents for x: explicit, or floor(in * scale) in double (PyTorch's compute_output_size).
upsStatus_t output_extents(const upsInterpolateDesc_t* desc, const upsTensorDesc_t* x, int64_t out[3]) {
  const int dims = desc->spatial_dims;
  const bool has_size = any_nonzero(desc->output_size, dims);
  for (int i = 0; i < dims; ++i) {
    if (has_size) {
      out[i] = desc->output_size[i];
      continue;
    }
    const double product = std::floor(static_cast<double>(x->spatial[i]) * desc->scale_factor[i]);
    if (!(product < 9.2233720368547758e18))
      return fail(UPS_STATUS_OVERFLOW, "y: spatial extent ", x->spatial[i], " * scale_factor[", i, "] = ",
                  desc->scale_factor[i], " overflows int64");
    out[i] = static_cast<int64_t>(product);
    if (out[i] < 1)
      return fail(UPS_STATUS_BAD_EXTENT, "y: output extent floor(", x->spatial[i], " * scale_factor[", i, "] = ",
                  desc->scale_factor[i], ") is ", out[i], "; PyTorch needs output extents >= 1");
  }
  return UPS_STATUS_SUCCESS;
}

upsStatus_t check_input(const upsInterpolateDesc_t* desc, const upsTensorDesc_t* x, const char* name,
                        TensorGeometry* geometry) {
  UPS_RETURN_IF_ERROR(check_float_tensor(x, name, desc->spatial_dims, "the interpolate desc", "interpolation", geometry));
  return check_spatial_non_empty(x, name, "interpolation");
}

// The problem's per-axis facts, given validated x and y descriptors.
upsStatus_t fill_problem(const upsInterpolateDesc_t* desc, const upsTensorDesc_t* x, const upsTensorDesc_t* y,
                         InterpolateProblem* p) {
  const int dims = desc->spatial_dims;
  p->mode = desc->mode;
  p->align_corners = desc->align_corners != 0;
  p->antialias = desc->antialias != 0;
  const bool has_scale = any_nonzero(desc->scale_factor, dims);
  const bool maps_by_scale = has_scale && desc->recompute_scale_factor == 0 && desc->mode != UPS_INTERPOLATE_AREA;
  bool downscales = false;
  for (int i = 0; i < dims; ++i) {
    const int a = kDims - dims + i;
    const int64_t in = x->spatial[i], out = y->spatial[i];
    downscales = downscales || out < in;
    p->active[a] = true;
    // PyTorch's area_pixel_compute_scale / compute_scales_value, once per type.
    if (p->align_corners) {
      p->scale_f32[a] = out > 1 ? static_cast<float>(in - 1) / static_cast<float>(out - 1) : 0.0f;
      p->scale_f64[a] = out > 1 ? static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
    } else if (maps_by_scale) {
      p->scale_f32[a] = static_cast<float>(1.0 / desc->scale_factor[i]);
      p->scale_f64[a] = 1.0 / desc->scale_factor[i];
    } else {
      p->scale_f32[a] = static_cast<float>(in) / static_cast<float>(out);
      p->scale_f64[a] = static_cast<double>(in) / static_cast<double>(out);
    }
  }
  if (p->antialias && !downscales)
    return fail(UPS_STATUS_BAD_PARAMETER, "interpolate desc.antialias: antialiasing filters a downscale, but no axis ",
                "of ", shape_string(*x), " -> ", shape_string(*y), " downscales");
  return UPS_STATUS_SUCCESS;
}

}  // namespace

upsStatus_t interpolate_desc_init(upsInterpolateDesc_t* desc, size_t struct_size, upsInterpolateMode_t mode,
                                  int spatial_dims) {
  upsInterpolateDesc_t d;
  UPS_RETURN_IF_ERROR(begin_init(desc, struct_size, &d));
  std::memcpy(&d.mode, &mode, sizeof mode);  // as bits: an unknown value is refused below, not cast
  const int raw_mode = raw_enum(d.mode);
  if (raw_mode < UPS_INTERPOLATE_NEAREST || raw_mode > UPS_INTERPOLATE_AREA)
    return fail(UPS_STATUS_BAD_PARAMETER, "mode: expected NEAREST, NEAREST_EXACT, LINEAR, BICUBIC or AREA, got ",
                raw_mode);
  UPS_RETURN_IF_ERROR(check_spatial_dims(spatial_dims, "interpolate desc"));
  d.spatial_dims = spatial_dims;
  write_desc(d, desc);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t interpolate_output_desc(const upsInterpolateDesc_t* desc_arg, const upsTensorDesc_t* x_arg,
                                    upsTensorDesc_t* y) {
  DescArg<upsInterpolateDesc_t> desc;
  DescArg<upsTensorDesc_t> x;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "interpolate desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
  UPS_RETURN_IF_ERROR(check_desc(desc));
  if (y == nullptr) return fail(UPS_STATUS_NULL_POINTER, "y: output descriptor is null");
  TensorGeometry xg;
  UPS_RETURN_IF_ERROR(check_input(desc, x, "x", &xg));
  int64_t out[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  UPS_RETURN_IF_ERROR(output_extents(desc, x, out));
  const upsTensorDesc_t result = like(*x, x->dtype, x->n, x->c, out);
  TensorGeometry yg;
  UPS_RETURN_IF_ERROR(make_geometry(&result, "y", &yg));
  InterpolateProblem scratch;
  UPS_RETURN_IF_ERROR(fill_problem(desc, x, &result, &scratch));
  write_desc(result, y);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t validate_interpolate(const upsInterpolateDesc_t* desc_arg, const upsTensorDesc_t* x_arg,
                                 const upsTensorDesc_t* y_arg, InterpolateProblem* problem) {
  DescArg<upsInterpolateDesc_t> desc;
  DescArg<upsTensorDesc_t> x, y;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "interpolate desc"));
  UPS_RETURN_IF_ERROR(x.read(x_arg, "x"));
  UPS_RETURN_IF_ERROR(y.read(y_arg, "y"));
  upsTensorDesc_t expected;
  UPS_RETURN_IF_ERROR(interpolate_output_desc(desc, x, &expected));
  UPS_RETURN_IF_ERROR(make_geometry(y, "y", &problem->output));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(y, "y", x, "x"));
  UPS_RETURN_IF_ERROR(check_shape(y, "y", expected, "x's extents interpolated by the desc"));
  UPS_RETURN_IF_ERROR(make_geometry(x, "x", &problem->input));
  return fill_problem(desc, x, y, problem);
}

upsStatus_t validate_interpolate_backward(const upsInterpolateDesc_t* desc_arg, const upsTensorDesc_t* dy_arg,
                                          const upsTensorDesc_t* dx_arg, InterpolateProblem* problem) {
  DescArg<upsInterpolateDesc_t> desc;
  DescArg<upsTensorDesc_t> dy, dx;
  UPS_RETURN_IF_ERROR(desc.read(desc_arg, "interpolate desc"));
  UPS_RETURN_IF_ERROR(dy.read(dy_arg, "dy"));
  UPS_RETURN_IF_ERROR(dx.read(dx_arg, "dx"));
  UPS_RETURN_IF_ERROR(check_desc(desc));
  // dx stands where the forward's x does; checked first under its own name.
  UPS_RETURN_IF_ERROR(check_input(desc, dx, "dx", &problem->input));
  upsTensorDesc_t expected;
  UPS_RETURN_IF_ERROR(interpolate_output_desc(desc, dx, &expected));
  UPS_RETURN_IF_ERROR(make_geometry(dy, "dy", &problem->output));
  UPS_RETURN_IF_ERROR(check_same_dtype_layout(dy, "dy", dx, "dx"));
  UPS_RETURN_IF_ERROR(check_extents(UPS_STATUS_GRADIENT_SHAPE_MISMATCH, dy, "dy", expected,
                                    "the interpolated shape of dx (the forward's x)"));
  return fill_problem(desc, dx, dy, problem);
}

}  // namespace upsample::detail

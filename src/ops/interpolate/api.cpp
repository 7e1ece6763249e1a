// The interpolation family's C entry points: one Op row per entry point, run by the one entry path
// (NOTE [ Entry path ] in src/entry.h).
#include "cuda/interpolate/interpolate.h"
#include "src/entry.h"
#include "src/ops/interpolate/interpolate.h"

namespace upsample::detail {
namespace {

struct InterpolateForwardOp : OpDefaults {
  using Problem = InterpolateProblem;
  struct Args {
    const upsInterpolateDesc_t* desc;
    const upsTensorDesc_t* x_desc;
    const void* x;
    const upsTensorDesc_t* y_desc;
    void* y;
  };
  static upsStatus_t validate(const Args& a, Problem* p) { return validate_interpolate(a.desc, a.x_desc, a.y_desc, p); }
  static DataArgs data(const Args& a, const Problem& p) {
    return {{"x", a.x, &p.input, false}, {"y", a.y, &p.output, true}};
  }
  static upsStatus_t reference(const Args& a, const Problem& p) { return reference::interpolate_forward(p, a.x, a.y); }
  static upsStatus_t cuda(const Args& a, const Problem& p, const cuda::ExecContext& exec) {
    return cuda::interpolate_forward(p, a.x, a.y, exec);
  }
};

struct InterpolateBackwardOp : OpDefaults {
  using Problem = InterpolateProblem;
  struct Args {
    const upsInterpolateDesc_t* desc;
    const upsTensorDesc_t* dy_desc;
    const void* dy;
    const upsTensorDesc_t* dx_desc;
    void* dx;
  };
  static upsStatus_t validate(const Args& a, Problem* p) {
    return validate_interpolate_backward(a.desc, a.dy_desc, a.dx_desc, p);
  }
  static DataArgs data(const Args& a, const Problem& p) {
    return {{"dy", a.dy, &p.output, false}, {"dx", a.dx, &p.input, true}};
  }
  static upsStatus_t reference(const Args& a, const Problem& p) {
    return reference::interpolate_backward(p, a.dy, a.dx);
  }
  static upsStatus_t cuda(const Args& a, const Problem& p, const cuda::ExecContext& exec) {
    return cuda::interpolate_backward(p, a.dy, a.dx, exec);
  }
};

}  // namespace
}  // namespace upsample::detail

using namespace upsample::detail;  // NOLINT: this file is the C API's implementation

extern "C" {

upsStatus_t upsInterpolateDescInitSized(upsInterpolateDesc_t* desc, size_t struct_size, upsInterpolateMode_t mode,
                                        int spatial_dims) {
  clear_last_error();
  return interpolate_desc_init(desc, struct_size, mode, spatial_dims);
}

upsStatus_t upsInterpolateOutputDesc(const upsInterpolateDesc_t* desc, const upsTensorDesc_t* x, upsTensorDesc_t* y) {
  clear_last_error();
  return interpolate_output_desc(desc, x, y);
}

upsStatus_t upsInterpolateForward(upsHandle_t handle, const upsInterpolateDesc_t* desc, const upsTensorDesc_t* x_desc,
                                  const void* x, const upsTensorDesc_t* y_desc, void* y) {
  return run_op<InterpolateForwardOp>(handle, {desc, x_desc, x, y_desc, y});
}

upsStatus_t upsInterpolateBackward(upsHandle_t handle, const upsInterpolateDesc_t* desc,
                                   const upsTensorDesc_t* dy_desc, const void* dy, const upsTensorDesc_t* dx_desc,
                                   void* dx) {
  return run_op<InterpolateBackwardOp>(handle, {desc, dy_desc, dy, dx_desc, dx});
}

}  // extern "C"

// The unpooling family's C entry points: one Op row per entry point, run by the one entry path
// (NOTE [ Entry path ] in src/entry.h).
#include <cstring>

#include "cuda/unpool/unpool.h"
#include "src/descriptor.h"
#include "src/entry.h"
#include "src/ops/unpool/unpool.h"
#include "src/validate_common.h"

namespace upsample::detail {
namespace {

struct UnpoolForwardOp : OpDefaults {
  using Problem = UnpoolProblem;
  struct Args {
    const upsUnpoolDesc_t* desc;
    const upsTensorDesc_t* x_desc;
    const void* x;
    const upsTensorDesc_t* y_desc;
    void* y;
  };
  static upsStatus_t validate(const Args& a, Problem* p) { return validate_unpool(a.desc, a.x_desc, a.y_desc, p); }
  static DataArgs data(const Args& a, const Problem& p) {
    return {{"x", a.x, &p.input, false}, {"y", a.y, &p.output, true}};
  }
  static upsStatus_t reference(const Args& a, const Problem& p) { return reference::unpool_forward(p, a.x, a.y); }
  static upsStatus_t cuda(const Args& a, const Problem& p, const cuda::ExecContext& exec) {
    return cuda::unpool_forward(p, a.x, a.y, exec);
  }
};

struct UnpoolBackwardOp : OpDefaults {
  using Problem = UnpoolProblem;
  struct Args {
    const upsUnpoolDesc_t* desc;
    const upsTensorDesc_t* dy_desc;
    const void* dy;
    const upsTensorDesc_t* dx_desc;
    void* dx;
  };
  static upsStatus_t validate(const Args& a, Problem* p) {
    return validate_unpool_backward(a.desc, a.dy_desc, a.dx_desc, p);
  }
  static DataArgs data(const Args& a, const Problem& p) {
    return {{"dy", a.dy, &p.output, false}, {"dx", a.dx, &p.input, true}};
  }
  static upsStatus_t reference(const Args& a, const Problem& p) { return reference::unpool_backward(p, a.dy, a.dx); }
  static upsStatus_t cuda(const Args& a, const Problem& p, const cuda::ExecContext& exec) {
    return cuda::unpool_backward(p, a.dy, a.dx, exec);
  }
};

}  // namespace
}  // namespace upsample::detail

using namespace upsample::detail;  // NOLINT: this file is the C API's implementation

extern "C" {

upsStatus_t upsUnpoolDescInitSized(upsUnpoolDesc_t* desc, size_t struct_size, upsUnpoolMode_t mode, int spatial_dims,
                                   const int64_t* scale) {
  clear_last_error();
  upsUnpoolDesc_t d;
  UPS_RETURN_IF_ERROR(begin_init(desc, struct_size, &d));
  if (scale == nullptr) return fail(UPS_STATUS_NULL_POINTER, "scale: array is null");
  UPS_RETURN_IF_ERROR(check_spatial_dims(spatial_dims, "desc"));
  UPS_RETURN_IF_ERROR(check_positive(scale, spatial_dims, "scale"));
  std::memcpy(&d.mode, &mode, sizeof mode);  // as bits: an unknown value is refused below, not cast
  const int raw_mode = raw_enum(d.mode);
  if (raw_mode != UPS_UNPOOL_NEAREST && raw_mode != UPS_UNPOOL_BED_OF_NAILS)
    return fail(UPS_STATUS_BAD_PARAMETER, "mode: expected NEAREST or BED_OF_NAILS, got ", raw_mode);
  d.spatial_dims = spatial_dims;
  for (int i = 0; i < spatial_dims; ++i) d.scale[i] = scale[i];
  write_desc(d, desc);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsUnpoolOutputDesc(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* x, upsTensorDesc_t* y) {
  clear_last_error();
  return unpool_output_desc(desc, x, y);
}

upsStatus_t upsUnpoolForward(upsHandle_t handle, const upsUnpoolDesc_t* desc, const upsTensorDesc_t* x_desc,
                             const void* x, const upsTensorDesc_t* y_desc, void* y) {
  return run_op<UnpoolForwardOp>(handle, {desc, x_desc, x, y_desc, y});
}

upsStatus_t upsUnpoolBackwardOutputDesc(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* dy, upsTensorDesc_t* dx) {
  clear_last_error();
  return unpool_backward_output_desc(desc, dy, dx);
}

upsStatus_t upsUnpoolBackward(upsHandle_t handle, const upsUnpoolDesc_t* desc, const upsTensorDesc_t* dy_desc,
                              const void* dy, const upsTensorDesc_t* dx_desc, void* dx) {
  return run_op<UnpoolBackwardOp>(handle, {desc, dy_desc, dy, dx_desc, dx});
}

}  // extern "C"

// The max-pooling family's C entry points: one Op row per entry point, run by the one entry path
// (NOTE [ Entry path ] in src/entry.h).
#include "cuda/max_pool/max_pool.h"
#include "src/descriptor.h"
#include "src/entry.h"
#include "src/ops/max_pool/max_pool.h"
#include "src/validate_common.h"

namespace upsample::detail {
namespace {

struct MaxPoolForwardOp : OpDefaults {
  using Problem = MaxPoolProblem;
  struct Args {
    const upsPoolDesc_t* desc;
    const upsTensorDesc_t* x_desc;
    const void* x;
    const upsTensorDesc_t* y_desc;
    void* y;
    const upsTensorDesc_t* indices_desc;
    void* indices;
  };
  static upsStatus_t validate(const Args& a, Problem* p) {
    return validate_max_pool(a.desc, a.x_desc, a.y_desc, a.indices_desc, p);
  }
  static DataArgs data(const Args& a, const Problem& p) {
    return {{"x", a.x, &p.input, false}, {"y", a.y, &p.output, true}, {"indices", a.indices, &p.indices, true}};
  }
  static upsStatus_t reference(const Args& a, const Problem& p) {
    return reference::max_pool_forward(p, a.x, a.y, a.indices);
  }
  static upsStatus_t cuda(const Args& a, const Problem& p, const cuda::ExecContext& exec) {
    return cuda::max_pool_forward(p, a.x, a.y, a.indices, exec);
  }
};

struct MaxPoolBackwardOp : OpDefaults {
  using Problem = MaxPoolProblem;
  struct Args {
    const upsPoolDesc_t* desc;
    const upsTensorDesc_t* dy_desc;
    const void* dy;
    const upsTensorDesc_t* indices_desc;
    const void* indices;
    const upsTensorDesc_t* dx_desc;
    void* dx;
  };
  static upsStatus_t validate(const Args& a, Problem* p) {
    return validate_max_pool_backward(a.desc, a.dy_desc, a.indices_desc, a.dx_desc, p);
  }
  static DataArgs data(const Args& a, const Problem& p) {
    return {{"dy", a.dy, &p.output, false}, {"indices", a.indices, &p.indices, false}, {"dx", a.dx, &p.input, true}};
  }
  static upsStatus_t reference(const Args& a, const Problem& p) {
    return reference::max_pool_backward(p, a.dy, a.indices, a.dx);
  }
  static upsStatus_t cuda(const Args& a, const Problem& p, const cuda::ExecContext& exec) {
    return cuda::max_pool_backward(p, a.dy, a.indices, a.dx, exec);
  }
};

}  // namespace
}  // namespace upsample::detail

using namespace upsample::detail;  // NOLINT: this file is the C API's implementation

extern "C" {

// The pooling descriptor serves max-pooling and max-unpooling; its Init lives with the first.
upsStatus_t upsPoolDescInitSized(upsPoolDesc_t* desc, size_t struct_size, int spatial_dims, const int64_t* kernel,
                                 const int64_t* stride, const int64_t* padding) {
  clear_last_error();
  upsPoolDesc_t d;
  UPS_RETURN_IF_ERROR(begin_init(desc, struct_size, &d));
  if (kernel == nullptr) return fail(UPS_STATUS_NULL_POINTER, "kernel: array is null");
  if (stride == nullptr) return fail(UPS_STATUS_NULL_POINTER, "stride: array is null");
  if (padding == nullptr) return fail(UPS_STATUS_NULL_POINTER, "padding: array is null");
  UPS_RETURN_IF_ERROR(check_spatial_dims(spatial_dims, "desc"));
  d.spatial_dims = spatial_dims;
  for (int i = 0; i < spatial_dims; ++i) {
    d.kernel[i] = kernel[i];
    d.stride[i] = stride[i];
    d.padding[i] = padding[i];
    d.dilation[i] = 1;
  }
  d.ceil_mode = 0;
  // The rules both pooling ops share; max-pooling's own (padding <= kernel/2) apply at its call.
  UPS_RETURN_IF_ERROR(validate_pool_params(&d, false));
  write_desc(d, desc);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsMaxPoolOutputDesc(const upsPoolDesc_t* desc, const upsTensorDesc_t* x, upsTensorDesc_t* y,
                                 upsTensorDesc_t* indices) {
  clear_last_error();
  return max_pool_output_desc(desc, x, y, indices);
}

upsStatus_t upsMaxPoolForward(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* x_desc,
                              const void* x, const upsTensorDesc_t* y_desc, void* y,
                              const upsTensorDesc_t* indices_desc, void* indices) {
  return run_op<MaxPoolForwardOp>(handle, {desc, x_desc, x, y_desc, y, indices_desc, indices});
}

upsStatus_t upsMaxPoolBackward(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* dy_desc,
                               const void* dy, const upsTensorDesc_t* indices_desc, const void* indices,
                               const upsTensorDesc_t* dx_desc, void* dx) {
  return run_op<MaxPoolBackwardOp>(handle, {desc, dy_desc, dy, indices_desc, indices, dx_desc, dx});
}

}  // extern "C"

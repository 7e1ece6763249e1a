// The max-unpooling family's C entry points: one Op row per entry point, run by the one entry
// path (NOTE [ Entry path ] in src/entry.h).
#include "cuda/max_unpool/max_unpool.h"
#include "src/descriptor.h"
#include "src/entry.h"
#include "src/ops/max_unpool/max_unpool.h"

namespace upsample::detail {
namespace {

// What the CUDA kernels cannot do, asked before anything is checked or launched.
upsStatus_t max_unpool_can_implement(const MaxUnpoolProblem& p, upsBackend_t backend) {
  return backend == UPS_BACKEND_CUDA ? cuda::max_unpool_can_implement(p) : UPS_STATUS_SUCCESS;
}

struct MaxUnpoolForwardOp : OpDefaults {
  using Problem = MaxUnpoolProblem;
  struct Args {
    const upsPoolDesc_t* desc;
    const upsTensorDesc_t* x_desc;
    const void* x;
    const upsTensorDesc_t* indices_desc;
    const void* indices;
    const upsTensorDesc_t* y_desc;
    void* y;
  };
  static upsStatus_t validate(const Args& a, Problem* p) {
    return validate_max_unpool(a.desc, a.x_desc, a.indices_desc, a.y_desc, p);
  }
  static upsStatus_t can_implement(const Problem& p, upsBackend_t backend) {
    return max_unpool_can_implement(p, backend);
  }
  static DataArgs data(const Args& a, const Problem& p) {
    return {{"x", a.x, &p.input, false}, {"indices", a.indices, &p.indices, false}, {"y", a.y, &p.output, true}};
  }
  static upsStatus_t reference(const Args& a, const Problem& p) {
    return reference::max_unpool_forward(p, a.x, a.indices, a.y);
  }
  static size_t workspace_bytes(const Problem& p) { return cuda::max_unpool_workspace_bytes(p); }
  static upsStatus_t cuda(const Args& a, const Problem& p, const cuda::ExecContext& exec) {
    return cuda::max_unpool_forward(p, a.x, a.indices, a.y, exec);
  }
};

struct MaxUnpoolBackwardOp : OpDefaults {
  using Problem = MaxUnpoolProblem;
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
    return validate_max_unpool_backward(a.desc, a.dy_desc, a.indices_desc, a.dx_desc, p);
  }
  static upsStatus_t can_implement(const Problem& p, upsBackend_t backend) {
    return max_unpool_can_implement(p, backend);
  }
  static DataArgs data(const Args& a, const Problem& p) {
    return {{"dy", a.dy, &p.output, false}, {"indices", a.indices, &p.indices, false}, {"dx", a.dx, &p.input, true}};
  }
  static upsStatus_t reference(const Args& a, const Problem& p) {
    return reference::max_unpool_backward(p, a.dy, a.indices, a.dx);
  }
  static size_t workspace_bytes(const Problem& p) { return cuda::max_unpool_backward_workspace_bytes(p); }
  static upsStatus_t cuda(const Args& a, const Problem& p, const cuda::ExecContext& exec) {
    return cuda::max_unpool_backward(p, a.dy, a.indices, a.dx, exec);
  }
};

// The workspace queries take no indices descriptor: it is implied (x's or dx's shape, I64; the
// workspace is the same for I32 switches), read
// from the caller's x or dx as every descriptor is (NOTE [ Descriptor versions ]).
upsStatus_t implied_indices(const upsTensorDesc_t* like, const char* name, upsTensorDesc_t* indices) {
  UPS_RETURN_IF_ERROR(read_desc(like, name, indices));
  indices->dtype = UPS_DTYPE_I64;
  return UPS_STATUS_SUCCESS;
}

}  // namespace
}  // namespace upsample::detail

using namespace upsample::detail;  // NOLINT: this file is the C API's implementation

extern "C" {

upsStatus_t upsMaxUnpoolOutputDesc(const upsPoolDesc_t* desc, const upsTensorDesc_t* x, const int64_t* output_size,
                                   upsTensorDesc_t* y) {
  clear_last_error();
  return max_unpool_output_desc(desc, x, output_size, y);
}

upsStatus_t upsMaxUnpoolWorkspaceSize(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* x_desc,
                                      const upsTensorDesc_t* y_desc, size_t* workspace_bytes) {
  clear_last_error();
  UPS_RETURN_IF_ERROR(check_handle(handle));
  upsTensorDesc_t indices_desc;
  UPS_RETURN_IF_ERROR(implied_indices(x_desc, "x", &indices_desc));
  return query_workspace<MaxUnpoolForwardOp>(handle, {desc, x_desc, nullptr, &indices_desc, nullptr, y_desc, nullptr},
                                             workspace_bytes);
}

upsStatus_t upsMaxUnpoolForward(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* x_desc,
                                const void* x, const upsTensorDesc_t* indices_desc, const void* indices,
                                const upsTensorDesc_t* y_desc, void* y) {
  return run_op<MaxUnpoolForwardOp>(handle, {desc, x_desc, x, indices_desc, indices, y_desc, y});
}

upsStatus_t upsMaxUnpoolBackwardOutputDesc(const upsPoolDesc_t* desc, const upsTensorDesc_t* dy,
                                           const upsTensorDesc_t* indices, upsTensorDesc_t* dx) {
  clear_last_error();
  return max_unpool_backward_output_desc(desc, dy, indices, dx);
}

upsStatus_t upsMaxUnpoolBackwardWorkspaceSize(upsHandle_t handle, const upsPoolDesc_t* desc,
                                              const upsTensorDesc_t* dy_desc, const upsTensorDesc_t* dx_desc,
                                              size_t* workspace_bytes) {
  clear_last_error();
  UPS_RETURN_IF_ERROR(check_handle(handle));
  upsTensorDesc_t indices_desc;
  UPS_RETURN_IF_ERROR(implied_indices(dx_desc, "dx", &indices_desc));
  return query_workspace<MaxUnpoolBackwardOp>(
      handle, {desc, dy_desc, nullptr, &indices_desc, nullptr, dx_desc, nullptr}, workspace_bytes);
}

upsStatus_t upsMaxUnpoolBackward(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* dy_desc,
                                 const void* dy, const upsTensorDesc_t* indices_desc, const void* indices,
                                 const upsTensorDesc_t* dx_desc, void* dx) {
  return run_op<MaxUnpoolBackwardOp>(handle, {desc, dy_desc, dy, indices_desc, indices, dx_desc, dx});
}

}  // extern "C"

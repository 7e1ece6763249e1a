// The C API's backward (gradient) entry points: validate everything, then hand the problem to one
// backend. The order of checks is api.cpp's: handle, descriptors and parameters
// (validate_backward.cpp), then data pointers (null, alignment, which memory, overlap). Nothing is
// written before all of them pass; an empty output then succeeds without launching anything.
#include <cstdint>
#include <initializer_list>

#include "../cuda/backend.h"
#include "handle.h"
#include "reference/reference.h"
#include "status.h"
#include "validate.h"
#include "validate_backward.h"

namespace upsample::detail {
namespace {

// The pointer checks of api.cpp (whose helpers are private to it), for the backward ops.
struct DataArg {
  const char* name;
  const void* pointer;
  const TensorGeometry* geometry;  // describes the buffer's size and element type
  bool is_output;
};

int64_t byte_size(const TensorGeometry& g) { return g.elements() * dtype_size(g.dtype); }

upsStatus_t check_pointer(const upsContext& handle, const DataArg& arg) {
  const int64_t bytes = byte_size(*arg.geometry);
  if (bytes == 0) return UPS_STATUS_SUCCESS;  // an empty tensor's pointer is never read
  if (arg.pointer == nullptr)
    return fail(UPS_STATUS_NULL_POINTER, arg.name, ": data pointer is null for a tensor of ", arg.geometry->elements(),
                " elements");
  const int64_t alignment = dtype_size(arg.geometry->dtype);
  if (reinterpret_cast<uintptr_t>(arg.pointer) % static_cast<uintptr_t>(alignment) != 0)
    return fail(UPS_STATUS_MISALIGNED, arg.name, ": pointer ", arg.pointer, " is not aligned to its ", alignment,
                "-byte ", dtype_name(arg.geometry->dtype), " elements");
  const cuda::MemoryKind kind = cuda::locate_pointer(arg.pointer);
  if (handle.backend == UPS_BACKEND_CUDA && kind == cuda::MemoryKind::kUnregisteredHost)
    return fail(UPS_STATUS_WRONG_BACKEND_MEMORY, arg.name, ": pointer ", arg.pointer,
                " is host memory; the CUDA backend needs device (or managed, or pinned) memory");
  if (handle.backend == UPS_BACKEND_REFERENCE && kind == cuda::MemoryKind::kDevice)
    return fail(UPS_STATUS_WRONG_BACKEND_MEMORY, arg.name, ": pointer ", arg.pointer,
                " is device memory; the reference backend runs on the CPU and needs host memory");
  return UPS_STATUS_SUCCESS;
}

bool overlaps(const DataArg& a, const DataArg& b) {
  const auto a_begin = reinterpret_cast<uintptr_t>(a.pointer), b_begin = reinterpret_cast<uintptr_t>(b.pointer);
  const auto a_end = a_begin + static_cast<uintptr_t>(byte_size(*a.geometry));
  const auto b_end = b_begin + static_cast<uintptr_t>(byte_size(*b.geometry));
  return a_begin < b_end && b_begin < a_end;
}

upsStatus_t check_data(const upsContext& handle, std::initializer_list<DataArg> args) {
  for (const DataArg& arg : args) UPS_RETURN_IF_ERROR(check_pointer(handle, arg));
  for (const DataArg& out : args) {
    if (!out.is_output || byte_size(*out.geometry) == 0) continue;
    for (const DataArg& other : args)
      if (&other != &out && byte_size(*other.geometry) != 0 && overlaps(out, other))
        return fail(UPS_STATUS_ALIASING, out.name, ": output buffer overlaps ", other.name,
                    "; outputs must not alias any other argument");
  }
  return UPS_STATUS_SUCCESS;
}

upsStatus_t make_exec(upsHandle_t handle, size_t workspace_bytes, cuda::ExecContext* exec) {
  exec->stream = handle->stream;
  return acquire_workspace(handle, workspace_bytes, &exec->workspace, &exec->workspace_bytes);
}

// db: C_out values of dy's dtype, for the pointer checks.
TensorGeometry channel_vector(const TensorGeometry& dy) {
  TensorGeometry g;
  g.dtype = dy.dtype;
  g.n = 1;
  g.c = dy.c;
  return g;
}

// AUTO for the weight and bias gradients: GATHER. Its blocked reduction differs from
// SCATTER_ATOMIC only in how chunk sums meet: a workspace and one combine pass, whose traffic the
// planner bounds (chunks are only added while the grid is below about 1024 blocks, so the partial
// sums number at most about 1024 block tiles), against atomics on the same sums. That saving is
// small beside the reduction itself, and GATHER is run-to-run deterministic, so AUTO never trades
// determinism for it; SCATTER_ATOMIC stays available to a caller who asks. The deterministic flag
// (which already rules SCATTER_ATOMIC out in validation) therefore changes nothing here.
upsAlgorithm_t choose_gradient_reduction_algorithm(upsAlgorithm_t requested, bool /*deterministic*/) {
  return requested == UPS_ALGO_AUTO ? UPS_ALGO_GATHER : requested;
}

upsStatus_t weight_grad_problem(upsHandle_t handle, const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x_desc,
                                const upsTensorDesc_t* dy_desc, const upsTensorDesc_t* dw_desc,
                                ConvTransposeProblem* problem, upsAlgorithm_t* algorithm) {
  UPS_RETURN_IF_ERROR(check_handle(handle));
  UPS_RETURN_IF_ERROR(validate_conv_transpose_backward_weight(desc, x_desc, dy_desc, dw_desc, problem));
  *algorithm = choose_gradient_reduction_algorithm(desc->algorithm, desc->deterministic != 0);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t bias_grad_problem(upsHandle_t handle, const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* dy_desc,
                              TensorGeometry* dy, upsAlgorithm_t* algorithm) {
  UPS_RETURN_IF_ERROR(check_handle(handle));
  UPS_RETURN_IF_ERROR(validate_conv_transpose_backward_bias(desc, dy_desc, dy));
  *algorithm = choose_gradient_reduction_algorithm(desc->algorithm, desc->deterministic != 0);
  return UPS_STATUS_SUCCESS;
}

}  // namespace
}  // namespace upsample::detail

using namespace upsample::detail;  // NOLINT: this file is the C API's implementation
namespace cuda = upsample::cuda;
namespace reference = upsample::reference;

extern "C" {

// ---------------------------------------------------------------------------------------------
// Unpooling
// ---------------------------------------------------------------------------------------------
upsStatus_t upsUnpoolBackwardOutputDesc(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* dy, upsTensorDesc_t* dx) {
  clear_last_error();
  return unpool_backward_output_desc(desc, dy, dx);
}

upsStatus_t upsUnpoolBackward(upsHandle_t handle, const upsUnpoolDesc_t* desc, const upsTensorDesc_t* dy_desc,
                              const void* dy, const upsTensorDesc_t* dx_desc, void* dx) {
  clear_last_error();
  UPS_RETURN_IF_ERROR(check_handle(handle));
  UnpoolProblem p;
  UPS_RETURN_IF_ERROR(validate_unpool_backward(desc, dy_desc, dx_desc, &p));
  UPS_RETURN_IF_ERROR(check_data(*handle, {{"dy", dy, &p.output, false}, {"dx", dx, &p.input, true}}));
  if (p.input.elements() == 0) return UPS_STATUS_SUCCESS;
  if (handle->backend == UPS_BACKEND_REFERENCE) return reference::unpool_backward(p, dy, dx);
  cuda::ExecContext exec;
  UPS_RETURN_IF_ERROR(make_exec(handle, 0, &exec));
  return cuda::unpool_backward(p, dy, dx, exec);
}

// ---------------------------------------------------------------------------------------------
// Max-pooling and max-unpooling
// ---------------------------------------------------------------------------------------------
upsStatus_t upsMaxPoolBackward(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* dy_desc,
                               const void* dy, const upsTensorDesc_t* indices_desc, const int64_t* indices,
                               const upsTensorDesc_t* dx_desc, void* dx) {
  clear_last_error();
  UPS_RETURN_IF_ERROR(check_handle(handle));
  MaxPoolProblem p;
  UPS_RETURN_IF_ERROR(validate_max_pool_backward(desc, dy_desc, indices_desc, dx_desc, &p));
  UPS_RETURN_IF_ERROR(check_data(*handle, {{"dy", dy, &p.output, false},
                                           {"indices", indices, &p.indices, false},
                                           {"dx", dx, &p.input, true}}));
  if (p.input.elements() == 0) return UPS_STATUS_SUCCESS;
  if (handle->backend == UPS_BACKEND_REFERENCE) return reference::max_pool_backward(p, dy, indices, dx);
  cuda::ExecContext exec;
  UPS_RETURN_IF_ERROR(make_exec(handle, 0, &exec));
  return cuda::max_pool_backward(p, dy, indices, dx, exec);
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
  if (workspace_bytes == nullptr) return fail(UPS_STATUS_NULL_POINTER, "workspace_bytes: output pointer is null");
  if (dx_desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "dx: descriptor is null");
  // The indices descriptor is implied by dx (same shape, I64).
  upsTensorDesc_t indices_desc = *dx_desc;
  indices_desc.dtype = UPS_DTYPE_I64;
  MaxUnpoolProblem p;
  UPS_RETURN_IF_ERROR(validate_max_unpool_backward(desc, dy_desc, &indices_desc, dx_desc, &p));
  *workspace_bytes = handle->backend == UPS_BACKEND_CUDA ? cuda::max_unpool_backward_workspace_bytes(p) : 0;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsMaxUnpoolBackward(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* dy_desc,
                                 const void* dy, const upsTensorDesc_t* indices_desc, const int64_t* indices,
                                 const upsTensorDesc_t* dx_desc, void* dx) {
  clear_last_error();
  UPS_RETURN_IF_ERROR(check_handle(handle));
  MaxUnpoolProblem p;
  UPS_RETURN_IF_ERROR(validate_max_unpool_backward(desc, dy_desc, indices_desc, dx_desc, &p));
  UPS_RETURN_IF_ERROR(check_data(*handle, {{"dy", dy, &p.output, false},
                                           {"indices", indices, &p.indices, false},
                                           {"dx", dx, &p.input, true}}));
  if (p.input.elements() == 0) return UPS_STATUS_SUCCESS;
  if (handle->backend == UPS_BACKEND_REFERENCE) return reference::max_unpool_backward(p, dy, indices, dx);
  cuda::ExecContext exec;
  UPS_RETURN_IF_ERROR(make_exec(handle, cuda::max_unpool_backward_workspace_bytes(p), &exec));
  return cuda::max_unpool_backward(p, dy, indices, dx, exec);
}

// ---------------------------------------------------------------------------------------------
// Transposed convolution
// ---------------------------------------------------------------------------------------------
upsStatus_t upsConvTransposeBackwardDataOutputDesc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* dy,
                                                   const upsTensorDesc_t* w, upsTensorDesc_t* dx) {
  clear_last_error();
  return conv_transpose_backward_data_output_desc(desc, dy, w, dx);
}

upsStatus_t upsConvTransposeBackwardData(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                         const upsTensorDesc_t* dy_desc, const void* dy, const upsTensorDesc_t* w_desc,
                                         const void* w, const upsTensorDesc_t* dx_desc, void* dx) {
  clear_last_error();
  UPS_RETURN_IF_ERROR(check_handle(handle));
  ConvTransposeProblem p;
  UPS_RETURN_IF_ERROR(validate_conv_transpose_backward_data(desc, dy_desc, w_desc, dx_desc, &p));
  UPS_RETURN_IF_ERROR(check_data(*handle, {{"dy", dy, &p.output, false},
                                           {"w", w, &p.weight, false},
                                           {"dx", dx, &p.input, true}}));
  if (p.input.elements() == 0) return UPS_STATUS_SUCCESS;
  if (handle->backend == UPS_BACKEND_REFERENCE) return reference::conv_transpose_backward_data(p, dy, w, dx);
  cuda::ExecContext exec;
  UPS_RETURN_IF_ERROR(make_exec(handle, 0, &exec));
  return cuda::conv_transpose_backward_data(p, dy, w, dx, exec);
}

upsStatus_t upsConvTransposeBackwardWeightOutputDesc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                                     const upsTensorDesc_t* dy, upsTensorDesc_t* dw) {
  clear_last_error();
  return conv_transpose_backward_weight_output_desc(desc, x, dy, dw);
}

upsStatus_t upsConvTransposeBackwardWeightWorkspaceSize(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                        const upsTensorDesc_t* x_desc, const upsTensorDesc_t* dy_desc,
                                                        const upsTensorDesc_t* dw_desc, size_t* workspace_bytes) {
  clear_last_error();
  if (workspace_bytes == nullptr) return fail(UPS_STATUS_NULL_POINTER, "workspace_bytes: output pointer is null");
  ConvTransposeProblem p;
  upsAlgorithm_t algorithm;
  UPS_RETURN_IF_ERROR(weight_grad_problem(handle, desc, x_desc, dy_desc, dw_desc, &p, &algorithm));
  *workspace_bytes =
      handle->backend == UPS_BACKEND_CUDA ? cuda::conv_transpose_backward_weight_workspace_bytes(p, algorithm) : 0;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsConvTransposeBackwardWeightChooseAlgorithm(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                          const upsTensorDesc_t* x_desc, const upsTensorDesc_t* dy_desc,
                                                          const upsTensorDesc_t* dw_desc, upsAlgorithm_t* algorithm) {
  clear_last_error();
  if (algorithm == nullptr) return fail(UPS_STATUS_NULL_POINTER, "algorithm: output pointer is null");
  ConvTransposeProblem p;
  return weight_grad_problem(handle, desc, x_desc, dy_desc, dw_desc, &p, algorithm);
}

upsStatus_t upsConvTransposeBackwardWeight(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                           const upsTensorDesc_t* x_desc, const void* x, const upsTensorDesc_t* dy_desc,
                                           const void* dy, const upsTensorDesc_t* dw_desc, void* dw) {
  clear_last_error();
  ConvTransposeProblem p;
  upsAlgorithm_t algorithm;
  UPS_RETURN_IF_ERROR(weight_grad_problem(handle, desc, x_desc, dy_desc, dw_desc, &p, &algorithm));
  UPS_RETURN_IF_ERROR(check_data(*handle, {{"x", x, &p.input, false},
                                           {"dy", dy, &p.output, false},
                                           {"dw", dw, &p.weight, true}}));
  if (p.weight.elements() == 0) return UPS_STATUS_SUCCESS;
  if (handle->backend == UPS_BACKEND_REFERENCE) return reference::conv_transpose_backward_weight(p, x, dy, dw);
  cuda::ExecContext exec;
  UPS_RETURN_IF_ERROR(make_exec(handle, cuda::conv_transpose_backward_weight_workspace_bytes(p, algorithm), &exec));
  return cuda::conv_transpose_backward_weight(p, algorithm, x, dy, dw, exec);
}

upsStatus_t upsConvTransposeBackwardBiasWorkspaceSize(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                      const upsTensorDesc_t* dy_desc, size_t* workspace_bytes) {
  clear_last_error();
  if (workspace_bytes == nullptr) return fail(UPS_STATUS_NULL_POINTER, "workspace_bytes: output pointer is null");
  TensorGeometry dy;
  upsAlgorithm_t algorithm;
  UPS_RETURN_IF_ERROR(bias_grad_problem(handle, desc, dy_desc, &dy, &algorithm));
  *workspace_bytes =
      handle->backend == UPS_BACKEND_CUDA ? cuda::conv_transpose_backward_bias_workspace_bytes(dy, algorithm) : 0;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsConvTransposeBackwardBias(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                         const upsTensorDesc_t* dy_desc, const void* dy, void* db) {
  clear_last_error();
  TensorGeometry dy_geometry;
  upsAlgorithm_t algorithm;
  UPS_RETURN_IF_ERROR(bias_grad_problem(handle, desc, dy_desc, &dy_geometry, &algorithm));
  const TensorGeometry db_geometry = channel_vector(dy_geometry);
  UPS_RETURN_IF_ERROR(check_data(*handle, {{"dy", dy, &dy_geometry, false}, {"db", db, &db_geometry, true}}));
  if (db_geometry.elements() == 0) return UPS_STATUS_SUCCESS;
  if (handle->backend == UPS_BACKEND_REFERENCE) return reference::conv_transpose_backward_bias(dy_geometry, dy, db);
  cuda::ExecContext exec;
  UPS_RETURN_IF_ERROR(
      make_exec(handle, cuda::conv_transpose_backward_bias_workspace_bytes(dy_geometry, algorithm), &exec));
  return cuda::conv_transpose_backward_bias(dy_geometry, algorithm, dy, db, exec);
}

}  // extern "C"

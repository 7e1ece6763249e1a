// The C API's backward (gradient) entry points: validate everything, then hand the problem to one
// backend. The order of checks is api.cpp's: handle, descriptors and parameters
// (validate_backward.cpp), then data pointers (null, alignment, which memory, overlap). Nothing is
// written before all of them pass; an empty output then succeeds without launching anything.
#include <cstdint>
#include <initializer_list>

#include "../cuda/backend.h"
#include "api_common.h"
#include "dispatch.h"
#include "handle.h"
#include "reference/reference.h"
#include "status.h"
#include "validate.h"
#include "validate_backward.h"

namespace upsample::detail {
namespace {

upsStatus_t weight_grad_problem(upsHandle_t handle, const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x_desc,
                                const upsTensorDesc_t* dy_desc, const upsTensorDesc_t* dw_desc,
                                ConvTransposeProblem* problem, upsAlgorithm_t* algorithm) {
  UPS_RETURN_IF_ERROR(check_handle(handle));
  UPS_RETURN_IF_ERROR(validate_conv_transpose_backward_weight(desc, x_desc, dy_desc, dw_desc, problem));
  *algorithm = choose_gradient_reduction_algorithm(desc->algorithm);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t bias_grad_problem(upsHandle_t handle, const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* dy_desc,
                              TensorGeometry* dy, upsAlgorithm_t* algorithm) {
  UPS_RETURN_IF_ERROR(check_handle(handle));
  UPS_RETURN_IF_ERROR(validate_conv_transpose_backward_bias(desc, dy_desc, dy));
  *algorithm = choose_gradient_reduction_algorithm(desc->algorithm);
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

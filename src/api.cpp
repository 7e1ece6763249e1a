// The C API's op entry points: validate everything, then hand the problem to one backend.
//
// Order of checks, the same for every op: handle, descriptors and parameters (validate.cpp),
// then data pointers (null, alignment, which memory, overlap). Nothing is written before all of
// them pass; an empty output then succeeds without launching anything.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>

#include "../cuda/backend.h"
#include "api_common.h"
#include "dispatch.h"
#include "handle.h"
#include "reference/reference.h"
#include "status.h"
#include "validate.h"

namespace upsample::detail {
namespace {

upsStatus_t conv_transpose_problem(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                   const upsTensorDesc_t* x_desc, const upsTensorDesc_t* w_desc,
                                   const upsTensorDesc_t* y_desc, ConvTransposeProblem* problem,
                                   upsAlgorithm_t* algorithm) {
  UPS_RETURN_IF_ERROR(check_handle(handle));
  UPS_RETURN_IF_ERROR(validate_conv_transpose(desc, x_desc, w_desc, y_desc, problem));
  *algorithm = choose_conv_transpose_algorithm(*problem, desc->algorithm, desc->deterministic != 0);
  return UPS_STATUS_SUCCESS;
}

}  // namespace
}  // namespace upsample::detail

using namespace upsample::detail;  // NOLINT: this file is the C API's implementation
namespace cuda = upsample::cuda;
namespace reference = upsample::reference;

extern "C" {

// ---------------------------------------------------------------------------------------------
// Tensor descriptors
// ---------------------------------------------------------------------------------------------
upsStatus_t upsTensorDescInit(upsTensorDesc_t* desc, upsDataType_t dtype, upsLayout_t layout, int spatial_dims,
                              int64_t n, int64_t c, const int64_t* spatial) {
  clear_last_error();
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "desc: descriptor to fill is null");
  if (spatial == nullptr) return fail(UPS_STATUS_NULL_POINTER, "spatial: extents array is null");
  upsTensorDesc_t d{};
  // Copied as bits: make_geometry validates them (see raw_enum).
  std::memcpy(&d.dtype, &dtype, sizeof dtype);
  std::memcpy(&d.layout, &layout, sizeof layout);
  d.spatial_dims = spatial_dims;
  d.n = n;
  d.c = c;
  if (spatial_dims >= 1 && spatial_dims <= UPS_MAX_SPATIAL_DIMS)
    for (int i = 0; i < spatial_dims; ++i) d.spatial[i] = spatial[i];
  TensorGeometry g;
  UPS_RETURN_IF_ERROR(make_geometry(&d, "desc", &g));
  *desc = d;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsTensorDescElementCount(const upsTensorDesc_t* desc, int64_t* elements) {
  clear_last_error();
  if (elements == nullptr) return fail(UPS_STATUS_NULL_POINTER, "elements: output pointer is null");
  TensorGeometry g;
  UPS_RETURN_IF_ERROR(make_geometry(desc, "desc", &g));
  *elements = g.elements();
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsTensorDescByteSize(const upsTensorDesc_t* desc, int64_t* bytes) {
  clear_last_error();
  if (bytes == nullptr) return fail(UPS_STATUS_NULL_POINTER, "bytes: output pointer is null");
  TensorGeometry g;
  UPS_RETURN_IF_ERROR(make_geometry(desc, "desc", &g));
  *bytes = byte_size(g);
  return UPS_STATUS_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// Unpooling
// ---------------------------------------------------------------------------------------------
upsStatus_t upsUnpoolOutputDesc(const upsUnpoolDesc_t* desc, const upsTensorDesc_t* x, upsTensorDesc_t* y) {
  clear_last_error();
  return unpool_output_desc(desc, x, y);
}

upsStatus_t upsUnpoolForward(upsHandle_t handle, const upsUnpoolDesc_t* desc, const upsTensorDesc_t* x_desc,
                             const void* x, const upsTensorDesc_t* y_desc, void* y) {
  clear_last_error();
  UPS_RETURN_IF_ERROR(check_handle(handle));
  UnpoolProblem p;
  UPS_RETURN_IF_ERROR(validate_unpool(desc, x_desc, y_desc, &p));
  UPS_RETURN_IF_ERROR(check_data(*handle, {{"x", x, &p.input, false}, {"y", y, &p.output, true}}));
  if (p.output.elements() == 0) return UPS_STATUS_SUCCESS;
  if (handle->backend == UPS_BACKEND_REFERENCE) return reference::unpool_forward(p, x, y);
  cuda::ExecContext exec;
  UPS_RETURN_IF_ERROR(make_exec(handle, 0, &exec));
  return cuda::unpool_forward(p, x, y, exec);
}

// ---------------------------------------------------------------------------------------------
// Max-pooling and max-unpooling
// ---------------------------------------------------------------------------------------------
upsStatus_t upsMaxPoolOutputDesc(const upsPoolDesc_t* desc, const upsTensorDesc_t* x, upsTensorDesc_t* y,
                                 upsTensorDesc_t* indices) {
  clear_last_error();
  return max_pool_output_desc(desc, x, y, indices);
}

upsStatus_t upsMaxPoolForward(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* x_desc,
                              const void* x, const upsTensorDesc_t* y_desc, void* y,
                              const upsTensorDesc_t* indices_desc, int64_t* indices) {
  clear_last_error();
  UPS_RETURN_IF_ERROR(check_handle(handle));
  MaxPoolProblem p;
  UPS_RETURN_IF_ERROR(validate_max_pool(desc, x_desc, y_desc, indices_desc, &p));
  UPS_RETURN_IF_ERROR(check_data(*handle, {{"x", x, &p.input, false},
                                           {"y", y, &p.output, true},
                                           {"indices", indices, &p.indices, true}}));
  if (p.output.elements() == 0) return UPS_STATUS_SUCCESS;
  if (handle->backend == UPS_BACKEND_REFERENCE) return reference::max_pool_forward(p, x, y, indices);
  cuda::ExecContext exec;
  UPS_RETURN_IF_ERROR(make_exec(handle, 0, &exec));
  return cuda::max_pool_forward(p, x, y, indices, exec);
}

upsStatus_t upsMaxUnpoolOutputDesc(const upsPoolDesc_t* desc, const upsTensorDesc_t* x, const int64_t* output_size,
                                   upsTensorDesc_t* y) {
  clear_last_error();
  return max_unpool_output_desc(desc, x, output_size, y);
}

upsStatus_t upsMaxUnpoolWorkspaceSize(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* x_desc,
                                      const upsTensorDesc_t* y_desc, size_t* workspace_bytes) {
  clear_last_error();
  UPS_RETURN_IF_ERROR(check_handle(handle));
  if (workspace_bytes == nullptr) return fail(UPS_STATUS_NULL_POINTER, "workspace_bytes: output pointer is null");
  if (x_desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "x: descriptor is null");
  // The indices descriptor is implied by x (same shape, I64).
  upsTensorDesc_t indices_desc = *x_desc;
  indices_desc.dtype = UPS_DTYPE_I64;
  MaxUnpoolProblem p;
  UPS_RETURN_IF_ERROR(validate_max_unpool(desc, x_desc, &indices_desc, y_desc, &p));
  *workspace_bytes = handle->backend == UPS_BACKEND_CUDA ? cuda::max_unpool_workspace_bytes(p) : 0;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsMaxUnpoolForward(upsHandle_t handle, const upsPoolDesc_t* desc, const upsTensorDesc_t* x_desc,
                                const void* x, const upsTensorDesc_t* indices_desc, const int64_t* indices,
                                const upsTensorDesc_t* y_desc, void* y) {
  clear_last_error();
  UPS_RETURN_IF_ERROR(check_handle(handle));
  MaxUnpoolProblem p;
  UPS_RETURN_IF_ERROR(validate_max_unpool(desc, x_desc, indices_desc, y_desc, &p));
  UPS_RETURN_IF_ERROR(check_data(*handle, {{"x", x, &p.input, false},
                                           {"indices", indices, &p.indices, false},
                                           {"y", y, &p.output, true}}));
  if (p.output.elements() == 0) return UPS_STATUS_SUCCESS;
  if (handle->backend == UPS_BACKEND_REFERENCE) return reference::max_unpool_forward(p, x, indices, y);
  cuda::ExecContext exec;
  UPS_RETURN_IF_ERROR(make_exec(handle, cuda::max_unpool_workspace_bytes(p), &exec));
  return cuda::max_unpool_forward(p, x, indices, y, exec);
}

// ---------------------------------------------------------------------------------------------
// Transposed convolution
// ---------------------------------------------------------------------------------------------
upsStatus_t upsConvTransposeDescInit(upsConvTransposeDesc_t* desc, int spatial_dims) {
  clear_last_error();
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "desc: descriptor to fill is null");
  if (spatial_dims < 1 || spatial_dims > UPS_MAX_SPATIAL_DIMS)
    return fail(UPS_STATUS_BAD_EXTENT, "spatial_dims: expected 1, 2 or 3, got ", spatial_dims);
  upsConvTransposeDesc_t d{};
  d.spatial_dims = spatial_dims;
  for (int i = 0; i < UPS_MAX_SPATIAL_DIMS; ++i) {
    d.stride[i] = 1;
    d.dilation[i] = 1;
  }
  d.groups = 1;
  d.algorithm = UPS_ALGO_AUTO;
  d.deterministic = 0;
  *desc = d;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsConvTransposeDescSetPadding(upsConvTransposeDesc_t* desc, const int64_t* padding) {
  clear_last_error();
  if (desc == nullptr) return fail(UPS_STATUS_NULL_POINTER, "desc: descriptor is null");
  if (padding == nullptr) return fail(UPS_STATUS_NULL_POINTER, "padding: array is null");
  if (desc->spatial_dims < 1 || desc->spatial_dims > UPS_MAX_SPATIAL_DIMS)
    return fail(UPS_STATUS_BAD_EXTENT, "desc.spatial_dims: expected 1, 2 or 3, got ", desc->spatial_dims);
  for (int i = 0; i < desc->spatial_dims; ++i) desc->pad_begin[i] = desc->pad_end[i] = padding[i];
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsConvTransposeOutputDesc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                       const upsTensorDesc_t* w, upsTensorDesc_t* y) {
  clear_last_error();
  return conv_transpose_output_desc(desc, x, w, y);
}

upsStatus_t upsConvTransposeWorkspaceSize(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                          const upsTensorDesc_t* x_desc, const upsTensorDesc_t* w_desc,
                                          const upsTensorDesc_t* y_desc, size_t* workspace_bytes) {
  clear_last_error();
  if (workspace_bytes == nullptr) return fail(UPS_STATUS_NULL_POINTER, "workspace_bytes: output pointer is null");
  ConvTransposeProblem p;
  upsAlgorithm_t algorithm;
  UPS_RETURN_IF_ERROR(conv_transpose_problem(handle, desc, x_desc, w_desc, y_desc, &p, &algorithm));
  *workspace_bytes =
      handle->backend == UPS_BACKEND_CUDA ? cuda::conv_transpose_workspace_bytes(p, algorithm) : 0;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsConvTransposeChooseAlgorithm(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                            const upsTensorDesc_t* x_desc, const upsTensorDesc_t* w_desc,
                                            const upsTensorDesc_t* y_desc, upsAlgorithm_t* algorithm) {
  clear_last_error();
  if (algorithm == nullptr) return fail(UPS_STATUS_NULL_POINTER, "algorithm: output pointer is null");
  ConvTransposeProblem p;
  return conv_transpose_problem(handle, desc, x_desc, w_desc, y_desc, &p, algorithm);
}

upsStatus_t upsConvTransposeForward(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                    const upsTensorDesc_t* x_desc, const void* x, const upsTensorDesc_t* w_desc,
                                    const void* w, const void* bias, const upsTensorDesc_t* y_desc, void* y) {
  clear_last_error();
  ConvTransposeProblem p;
  upsAlgorithm_t algorithm;
  UPS_RETURN_IF_ERROR(conv_transpose_problem(handle, desc, x_desc, w_desc, y_desc, &p, &algorithm));
  p.has_bias = bias != nullptr;
  const TensorGeometry bias_g = channel_vector(p.output);
  const TensorGeometry no_bias;  // zero elements: skipped by every pointer check
  UPS_RETURN_IF_ERROR(check_data(*handle, {{"x", x, &p.input, false},
                                           {"w", w, &p.weight, false},
                                           {"bias", bias, p.has_bias ? &bias_g : &no_bias, false},
                                           {"y", y, &p.output, true}}));
  if (p.output.elements() == 0) return UPS_STATUS_SUCCESS;
  if (handle->backend == UPS_BACKEND_REFERENCE) return reference::conv_transpose_forward(p, x, w, bias, y);
  cuda::ExecContext exec;
  UPS_RETURN_IF_ERROR(make_exec(handle, cuda::conv_transpose_workspace_bytes(p, algorithm), &exec));
  return cuda::conv_transpose_forward(p, algorithm, x, w, bias, y, exec);
}

}  // extern "C"

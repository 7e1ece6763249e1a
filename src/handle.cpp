#include "src/handle.h"

#include <mutex>
#include <new>
#include <unordered_set>

#include "core/status.h"
#include "cuda/runtime.h"

namespace upsample::detail {
namespace {

std::mutex g_registry_mutex;
std::unordered_set<upsHandle_t>& live_handles() {
  static std::unordered_set<upsHandle_t> handles;
  return handles;
}

bool is_live(upsHandle_t handle) {
  std::lock_guard<std::mutex> lock(g_registry_mutex);
  return live_handles().count(handle) != 0;
}

}  // namespace

upsStatus_t check_handle(upsHandle_t handle) {
  if (handle == nullptr) return fail(UPS_STATUS_INVALID_HANDLE, "handle is null (create one with upsCreate)");
  if (!is_live(handle))
    return fail(UPS_STATUS_INVALID_HANDLE, "handle ", static_cast<const void*>(handle),
                " is not a live handle (destroyed, or never created by upsCreate)");
  return UPS_STATUS_SUCCESS;
}

upsStatus_t acquire_workspace(upsHandle_t handle, size_t bytes, void** workspace, size_t* workspace_bytes) {
  *workspace = nullptr;
  *workspace_bytes = 0;
  if (bytes == 0) return UPS_STATUS_SUCCESS;
  if (handle->user_workspace != nullptr) {
    if (handle->user_workspace_bytes < bytes)
      return fail(UPS_STATUS_WORKSPACE_TOO_SMALL, "workspace: this op needs ", bytes,
                  " bytes, the workspace set with upsSetWorkspace has ", handle->user_workspace_bytes);
    *workspace = handle->user_workspace;
    *workspace_bytes = handle->user_workspace_bytes;
    return UPS_STATUS_SUCCESS;
  }
  if (handle->own_workspace_bytes < bytes) {
    if (handle->backend != UPS_BACKEND_CUDA)
      return fail(UPS_STATUS_INTERNAL_ERROR, "the reference backend asked for a workspace");
    // The old buffer may still be in use by work queued on the stream.
    if (handle->own_workspace != nullptr) {
      UPS_RETURN_IF_ERROR(cuda::synchronize_stream(handle->stream));
      cuda::free_workspace(handle->own_workspace);
      handle->own_workspace = nullptr;
      handle->own_workspace_bytes = 0;
    }
    UPS_RETURN_IF_ERROR(cuda::allocate_workspace(bytes, &handle->own_workspace));
    handle->own_workspace_bytes = bytes;
  }
  *workspace = handle->own_workspace;
  *workspace_bytes = handle->own_workspace_bytes;
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::detail

using upsample::detail::fail;

extern "C" {

upsStatus_t upsCreate(upsHandle_t* handle, upsBackend_t backend) {
  upsample::detail::clear_last_error();
  if (handle == nullptr) return fail(UPS_STATUS_NULL_POINTER, "handle: pointer to receive the handle is null");
  *handle = nullptr;
  const int raw_backend = upsample::detail::raw_enum(backend);
  if (raw_backend != UPS_BACKEND_CUDA && raw_backend != UPS_BACKEND_REFERENCE)
    return fail(UPS_STATUS_BAD_PARAMETER, "backend: expected UPS_BACKEND_CUDA or UPS_BACKEND_REFERENCE, got ",
                raw_backend);
  if (backend == UPS_BACKEND_CUDA) {
    const char* why = "";
    if (!upsample::cuda::device_available(&why))
      return fail(UPS_STATUS_BACKEND_UNAVAILABLE, "the CUDA backend needs a CUDA device: ", why);
  }
  upsContext* context = new (std::nothrow) upsContext;
  if (context == nullptr) return fail(UPS_STATUS_ALLOC_FAILED, "cannot allocate a handle");
  context->backend = backend;
  {
    std::lock_guard<std::mutex> lock(upsample::detail::g_registry_mutex);
    upsample::detail::live_handles().insert(context);
  }
  *handle = context;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsDestroy(upsHandle_t handle) {
  upsample::detail::clear_last_error();
  UPS_RETURN_IF_ERROR(upsample::detail::check_handle(handle));
  {
    std::lock_guard<std::mutex> lock(upsample::detail::g_registry_mutex);
    upsample::detail::live_handles().erase(handle);
  }
  upsStatus_t status = UPS_STATUS_SUCCESS;
  if (handle->own_workspace != nullptr) {
    status = upsample::cuda::synchronize_stream(handle->stream);
    upsample::cuda::free_workspace(handle->own_workspace);
  }
  delete handle;
  return status;
}

upsStatus_t upsGetBackend(upsHandle_t handle, upsBackend_t* backend) {
  upsample::detail::clear_last_error();
  UPS_RETURN_IF_ERROR(upsample::detail::check_handle(handle));
  if (backend == nullptr) return fail(UPS_STATUS_NULL_POINTER, "backend: output pointer is null");
  *backend = handle->backend;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsSetStream(upsHandle_t handle, upsStream_t stream) {
  upsample::detail::clear_last_error();
  UPS_RETURN_IF_ERROR(upsample::detail::check_handle(handle));
  handle->stream = stream;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsGetStream(upsHandle_t handle, upsStream_t* stream) {
  upsample::detail::clear_last_error();
  UPS_RETURN_IF_ERROR(upsample::detail::check_handle(handle));
  if (stream == nullptr) return fail(UPS_STATUS_NULL_POINTER, "stream: output pointer is null");
  *stream = handle->stream;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsSetWorkspace(upsHandle_t handle, void* workspace, size_t workspace_bytes) {
  upsample::detail::clear_last_error();
  UPS_RETURN_IF_ERROR(upsample::detail::check_handle(handle));
  if (workspace == nullptr && workspace_bytes != 0)
    return fail(UPS_STATUS_NULL_POINTER, "workspace: null with workspace_bytes = ", workspace_bytes);
  if (workspace != nullptr && handle->backend == UPS_BACKEND_CUDA) {
    const auto kind = upsample::cuda::locate_pointer(workspace);
    if (kind != upsample::cuda::MemoryKind::kDevice && kind != upsample::cuda::MemoryKind::kManaged)
      return fail(UPS_STATUS_WRONG_BACKEND_MEMORY, "workspace: the CUDA backend needs device memory");
  }
  if (workspace != nullptr && reinterpret_cast<uintptr_t>(workspace) % 256 != 0)
    return fail(UPS_STATUS_MISALIGNED, "workspace: expected 256-byte alignment (as cudaMalloc gives)");
  handle->user_workspace = workspace;
  handle->user_workspace_bytes = workspace == nullptr ? 0 : workspace_bytes;
  return UPS_STATUS_SUCCESS;
}

int upsCudaDeviceAvailable(void) {
  const char* why = "";
  return upsample::cuda::device_available(&why) ? 1 : 0;
}

}  // extern "C"

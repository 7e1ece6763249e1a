#include "src/handle.h"

#include <mutex>
#include <new>
#include <unordered_set>

#include "core/status.h"
#include "cuda/max_unpool/max_unpool.h"
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
    bool capturing = false;
    UPS_RETURN_IF_ERROR(cuda::stream_capturing(handle->stream, &capturing));
    if (capturing)
      return fail(UPS_STATUS_STREAM_CAPTURING, "workspace: this op needs ", bytes, " bytes and the handle holds ",
                  handle->own_workspace_bytes, ", but its stream is capturing a CUDA graph, where the handle may not "
                  "allocate: size a workspace with the op's *WorkspaceSize query and pass it with upsSetWorkspace "
                  "before capturing (or run the op once before capturing)");
    // Geometric growth keeps the retired buffers below the current one in total.
    size_t grown = handle->own_workspace_bytes + handle->own_workspace_bytes / 2;
    if (grown < bytes) grown = bytes;
    void* fresh = nullptr;
    UPS_RETURN_IF_ERROR(cuda::allocate_workspace(grown, &fresh));
    // The old buffer may be in use by queued work or by a graph captured earlier: kept, not freed
    // (and so no synchronization either) until upsDestroy.
    if (handle->own_workspace != nullptr) handle->retired_workspaces.push_back(handle->own_workspace);
    handle->own_workspace = fresh;
    handle->own_workspace_bytes = grown;
  }
  *workspace = handle->own_workspace;
  *workspace_bytes = handle->own_workspace_bytes;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t describe_error_checks(upsHandle_t handle, cuda::ExecContext* exec) {
  exec->error_record = handle->error_record;
  UPS_RETURN_IF_ERROR(cuda::stream_capturing(handle->stream, &exec->capturing));
  exec->async_index_check = handle->index_check == UPS_INDEX_CHECK_ASYNC ||
                            (handle->index_check == UPS_INDEX_CHECK_AUTO && exec->capturing);
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
  if (backend == UPS_BACKEND_CUDA) {
    // Allocated once here, so that no op ever allocates it (ops may run inside graph capture).
    const upsStatus_t status = upsample::cuda::create_error_record(&context->error_record);
    if (status != UPS_STATUS_SUCCESS) {
      delete context;
      return status;
    }
  }
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
  upsStatus_t status = UPS_STATUS_SUCCESS;
  if (handle->backend == UPS_BACKEND_CUDA) {
    // Freeing memory a capture may be recording into a graph (and synchronizing) is what capture
    // forbids: the handle stays alive and usable.
    // A query that fails (the caller destroyed the stream before the handle, say) means nothing
    // can be capturing on it: the handle is destroyed all the same, and the error returned.
    bool capturing = false;
    status = upsample::cuda::stream_capturing(handle->stream, &capturing);
    if (status == UPS_STATUS_SUCCESS && capturing)
      return fail(UPS_STATUS_STREAM_CAPTURING, "handle: its stream is capturing a CUDA graph, which may use the "
                  "handle's memory; destroy it after cudaStreamEndCapture (nothing was freed)");
  }
  {
    std::lock_guard<std::mutex> lock(upsample::detail::g_registry_mutex);
    upsample::detail::live_handles().erase(handle);
  }
  if (handle->backend == UPS_BACKEND_CUDA) {
    if (status == UPS_STATUS_SUCCESS) status = upsample::cuda::synchronize_stream(handle->stream);
    if (handle->own_workspace != nullptr) upsample::cuda::free_workspace(handle->own_workspace);
    for (void* retired : handle->retired_workspaces) upsample::cuda::free_workspace(retired);
    upsample::cuda::destroy_error_record(handle->error_record);
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

upsStatus_t upsSetIndexCheckMode(upsHandle_t handle, upsIndexCheckMode_t mode) {
  upsample::detail::clear_last_error();
  UPS_RETURN_IF_ERROR(upsample::detail::check_handle(handle));
  const int raw = upsample::detail::raw_enum(mode);
  if (raw != UPS_INDEX_CHECK_AUTO && raw != UPS_INDEX_CHECK_SYNC && raw != UPS_INDEX_CHECK_ASYNC)
    return fail(UPS_STATUS_BAD_PARAMETER, "mode: expected UPS_INDEX_CHECK_AUTO, _SYNC or _ASYNC, got ", raw);
  handle->index_check = mode;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsGetIndexCheckMode(upsHandle_t handle, upsIndexCheckMode_t* mode) {
  upsample::detail::clear_last_error();
  UPS_RETURN_IF_ERROR(upsample::detail::check_handle(handle));
  if (mode == nullptr) return fail(UPS_STATUS_NULL_POINTER, "mode: output pointer is null");
  *mode = handle->index_check;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsQueryRuntimeError(upsHandle_t handle, upsStatus_t* status, upsErrQueryMode_t mode) {
  upsample::detail::clear_last_error();
  UPS_RETURN_IF_ERROR(upsample::detail::check_handle(handle));
  if (status == nullptr) return fail(UPS_STATUS_NULL_POINTER, "status: output pointer is null");
  const int raw = upsample::detail::raw_enum(mode);
  if (raw != UPS_ERRQUERY_BLOCKING && raw != UPS_ERRQUERY_NONBLOCKING)
    return fail(UPS_STATUS_BAD_PARAMETER, "mode: expected UPS_ERRQUERY_BLOCKING or UPS_ERRQUERY_NONBLOCKING, got ",
                raw);
  *status = UPS_STATUS_SUCCESS;
  if (handle->backend != UPS_BACKEND_CUDA) return UPS_STATUS_SUCCESS;  // the reference checks synchronously
  bool capturing = false;
  UPS_RETURN_IF_ERROR(upsample::cuda::stream_capturing(handle->stream, &capturing));
  if (capturing)
    return fail(UPS_STATUS_STREAM_CAPTURING, "upsQueryRuntimeError: the handle's stream is capturing a CUDA graph, "
                "which reading the record back would break; query after cudaStreamEndCapture and a replay");
  if (mode == UPS_ERRQUERY_NONBLOCKING) {
    bool idle = false;
    UPS_RETURN_IF_ERROR(upsample::cuda::stream_idle(handle->stream, &idle));
    if (!idle) {
      *status = UPS_STATUS_NOT_READY;
      return UPS_STATUS_SUCCESS;
    }
  }
  // On a report, *status carries it and upsGetLastErrorString its message; the query succeeded.
  return upsample::cuda::take_error_record(handle->error_record, handle->stream, status);
}

int upsCudaDeviceAvailable(void) {
  const char* why = "";
  return upsample::cuda::device_available(&why) ? 1 : 0;
}

}  // extern "C"

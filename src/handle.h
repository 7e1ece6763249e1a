// The handle behind upsHandle_t: backend, stream and workspace. Live handles are kept in a
// registry so that a null, foreign or destroyed handle is reported (UPS_STATUS_INVALID_HANDLE)
// instead of being dereferenced.
#pragma once

#include <cstddef>
#include <vector>

#include "cuda/runtime.h"
#include "upsample/upsample.h"

struct upsContext {
  upsBackend_t backend = UPS_BACKEND_REFERENCE;
  upsStream_t stream = nullptr;
  void* user_workspace = nullptr;  // set by upsSetWorkspace; never freed by us
  size_t user_workspace_bytes = 0;
  void* own_workspace = nullptr;   // allocated on demand when no user workspace is set
  size_t own_workspace_bytes = 0;
  // Buffers the own workspace outgrew: a CUDA graph captured while one of them was current still
  // uses it, so they live until upsDestroy (growth is geometric: together less than twice the
  // current one).
  std::vector<void*> retired_workspaces;
  void* error_record = nullptr;  // CUDA backend: device-side index errors (upsQueryRuntimeError)
  upsIndexCheckMode_t index_check = UPS_INDEX_CHECK_AUTO;
};

namespace upsample::detail {

// UPS_STATUS_INVALID_HANDLE with a message unless `handle` is live.
upsStatus_t check_handle(upsHandle_t handle);

// A workspace of at least `bytes` for an op on this handle: the user's (or TOO_SMALL), or the
// handle's own, grown if needed — never while the stream is capturing a CUDA graph
// (STREAM_CAPTURING), and never freeing or synchronizing.
upsStatus_t acquire_workspace(upsHandle_t handle, size_t bytes, void** workspace, size_t* workspace_bytes);

// The error-reporting part of a CUDA op's context: the handle's record, whether the stream is
// capturing, and (from the index-check mode) whether kernels report bad indices asynchronously.
upsStatus_t describe_error_checks(upsHandle_t handle, cuda::ExecContext* exec);

}  // namespace upsample::detail

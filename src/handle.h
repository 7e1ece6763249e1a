// The handle behind upsHandle_t: backend, stream and workspace. Live handles are kept in a
// registry so that a null, foreign or destroyed handle is reported (UPS_STATUS_INVALID_HANDLE)
// instead of being dereferenced.
#pragma once

#include <cstddef>

#include "upsample/upsample.h"

struct upsContext {
  upsBackend_t backend = UPS_BACKEND_REFERENCE;
  upsStream_t stream = nullptr;
  void* user_workspace = nullptr;  // set by upsSetWorkspace; never freed by us
  size_t user_workspace_bytes = 0;
  void* own_workspace = nullptr;   // allocated on demand when no user workspace is set
  size_t own_workspace_bytes = 0;
};

namespace upsample::detail {

// UPS_STATUS_INVALID_HANDLE with a message unless `handle` is live.
upsStatus_t check_handle(upsHandle_t handle);

// A workspace of at least `bytes` for an op on this handle: the user's (or TOO_SMALL), or the
// handle's own, grown if needed.
upsStatus_t acquire_workspace(upsHandle_t handle, size_t bytes, void** workspace, size_t* workspace_bytes);

}  // namespace upsample::detail

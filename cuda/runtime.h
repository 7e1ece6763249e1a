// The CUDA backend's runtime services as the host side sees them: plain C++ (no CUDA types),
// implemented in cuda/runtime.cu. Each op family declares its launchers beside its kernels
// (cuda/<family>/<family>.h). Under the emulation layer the same functions run on the CPU.
#pragma once

#include <cstddef>

#include "upsample/upsample.h"

namespace upsample::cuda {

// Where the handle's op runs: its stream and the workspace the op may use.
struct ExecContext {
  upsStream_t stream = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  // Device-side errors (NOTE [ Device-side index errors ] in cuda/max_unpool/index_check.cuh): the
  // handle's record, whether the stream is capturing a CUDA graph, and whether an op that can find
  // a bad index records it there (true) or checks and reads back before writing (false).
  void* error_record = nullptr;
  bool capturing = false;
  bool async_index_check = false;
};

enum class MemoryKind { kUnregisteredHost, kPinnedHost, kDevice, kManaged };

// True when a CUDA device can run our kernels; otherwise *why says what is missing.
bool device_available(const char** why);
// The current device's compute capability (major * 10 + minor, e.g. 90), or 0 when no device can
// be queried. The one place the library asks: availability and every engine's support check.
int current_compute_capability();
// The current device's multiprocessor count, or 0 when no device can be queried.
int current_sm_count();
MemoryKind locate_pointer(const void* pointer);
upsStatus_t allocate_workspace(size_t bytes, void** pointer);
void free_workspace(void* pointer);
upsStatus_t synchronize_stream(upsStream_t stream);
// Whether `stream` is capturing a CUDA graph (an invalidated capture counts; so does the legacy
// stream while a blocking stream captures): nothing may then allocate, free or synchronize.
upsStatus_t stream_capturing(upsStream_t stream, bool* capturing);
// Whether all work queued on `stream` has finished (cudaStreamQuery), without waiting.
upsStatus_t stream_idle(upsStream_t stream, bool* idle);

}  // namespace upsample::cuda

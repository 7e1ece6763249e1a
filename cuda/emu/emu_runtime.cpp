// The CUDA runtime API functions that launcher code calls, defined on host memory for the
// emulation layer (see NOTE [ Emulation layer ] in emu_runtime.h): allocations with a registry
// that cudaPointerGetAttributes and cudaMemcpy consult, streams and events over synchronous
// execution, the emulated device's properties, per-kernel attributes, and the per-host-thread
// last error. The signatures are those cuda_runtime_api.h declares.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "emu/emu_internal.h"

namespace ups_emu::detail {
namespace {

thread_local cudaError_t t_last_error = cudaSuccess;

// ---- Allocations --------------------------------------------------------------------------------

struct Allocation {
  size_t size = 0;
  cudaMemoryType type = cudaMemoryTypeDevice;
};

// Process-wide state, never destroyed: cudaFree from a static destructor must still work.
struct Registry {
  std::mutex mutex;
  std::map<uintptr_t, Allocation> allocations;  // by base address; guarded by mutex
  size_t device_bytes = 0;                      // device + managed bytes in use; guarded by mutex
};

Registry& registry() {
  static Registry* const r = new Registry;
  return *r;
}

constexpr size_t kDeviceAlignment = 256;
constexpr unsigned char kDeviceMemoryPoison = 0xff;

size_t total_device_memory() {
  static const size_t total = [] {
    const size_t h100 = size_t{80} * 1024 * 1024 * 1024;
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return h100;
    return std::min(h100, static_cast<size_t>(pages) * static_cast<size_t>(page));
  }();
  return total;
}

cudaError_t allocate(void** ptr, size_t size, cudaMemoryType type) {
  if (ptr == nullptr) return record_error(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (size == 0) return cudaSuccess;  // as the real runtime: success, and a null pointer
  const bool counts = type != cudaMemoryTypeHost;
  if (counts) {
    std::lock_guard<std::mutex> lock(registry().mutex);
    if (size > total_device_memory() - registry().device_bytes) return record_error(cudaErrorMemoryAllocation);
  }
  void* p = nullptr;
  if (posix_memalign(&p, kDeviceAlignment, size) != 0 || p == nullptr) return record_error(cudaErrorMemoryAllocation);
  // Fresh device memory holds whatever was there before; 0xff bytes make reading it visible.
  if (type == cudaMemoryTypeDevice) std::memset(p, kDeviceMemoryPoison, size);
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    registry().allocations[reinterpret_cast<uintptr_t>(p)] = Allocation{size, type};
    if (counts) registry().device_bytes += size;
  }
  *ptr = p;
  return cudaSuccess;
}

// Frees `ptr` if it is the base of an allocation whose type is one of `types`.
cudaError_t deallocate(void* ptr, std::initializer_list<cudaMemoryType> types) {
  if (ptr == nullptr) return cudaSuccess;
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    auto it = registry().allocations.find(reinterpret_cast<uintptr_t>(ptr));
    if (it == registry().allocations.end()) return record_error(cudaErrorInvalidValue);
    if (std::find(types.begin(), types.end(), it->second.type) == types.end())
      return record_error(cudaErrorInvalidValue);
    if (it->second.type != cudaMemoryTypeHost) registry().device_bytes -= it->second.size;
    registry().allocations.erase(it);
  }
  std::free(ptr);
  return cudaSuccess;
}

// The allocation holding `ptr`, if any (the caller holds registry().mutex).
const std::pair<const uintptr_t, Allocation>* find_allocation(const void* ptr) {
  const uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  auto it = registry().allocations.upper_bound(p);
  if (it == registry().allocations.begin()) return nullptr;
  --it;
  if (p - it->first >= it->second.size) return nullptr;
  return &*it;
}

// Whether [ptr, ptr + count) lies inside one allocation the device can access (device, managed,
// or pinned host memory, which is mapped under unified addressing).
bool device_accessible(const void* ptr, size_t count) {
  std::lock_guard<std::mutex> lock(registry().mutex);
  const auto* a = find_allocation(ptr);
  if (a == nullptr) return false;
  return count <= a->second.size - (reinterpret_cast<uintptr_t>(ptr) - a->first);
}

// The argument checks of a copy (also run when a capture records one).
cudaError_t check_copy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  if (count == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return record_error(cudaErrorInvalidValue);
  switch (kind) {
    case cudaMemcpyHostToHost:
    case cudaMemcpyDefault:
      break;
    case cudaMemcpyHostToDevice:
      if (!device_accessible(dst, count)) return record_error(cudaErrorInvalidValue);
      break;
    case cudaMemcpyDeviceToHost:
      if (!device_accessible(src, count)) return record_error(cudaErrorInvalidValue);
      break;
    case cudaMemcpyDeviceToDevice:
      if (!device_accessible(dst, count) || !device_accessible(src, count)) return record_error(cudaErrorInvalidValue);
      break;
    default:
      return record_error(cudaErrorInvalidMemcpyDirection);
  }
  return cudaSuccess;
}

cudaError_t copy(void* dst, const void* src, size_t count, cudaMemcpyKind kind) {
  const cudaError_t invalid = check_copy(dst, src, count, kind);
  if (invalid != cudaSuccess || count == 0) return invalid;
  std::memmove(dst, src, count);
  return cudaSuccess;
}

cudaError_t fill(void* ptr, int value, size_t count) {
  if (count == 0) return cudaSuccess;
  if (ptr == nullptr || !device_accessible(ptr, count)) return record_error(cudaErrorInvalidValue);
  std::memset(ptr, value, count);
  return cudaSuccess;
}

// ---- Streams and events -------------------------------------------------------------------------

// NOTE [ Stream capture under the emulation ]
// cudaStreamBeginCapture turns a created stream into a recorder: kernel launches, cudaMemcpyAsync
// and cudaMemsetAsync submitted to it are checked as at submission (launch configuration, memory
// ranges) and appended to the capture instead of running; cudaStreamEndCapture hands them over as
// a graph, cudaGraphInstantiate copies them, and cudaGraphLaunch replays them in order on the
// stream it is given (a recorded launch keeps its own copy of its arguments). Work captured is one
// linear sequence per stream (the emulation runs everything in order anyway); events recorded
// during capture are accepted and add nothing to the graph.
// What the CUDA runtime refuses during capture is refused the same way, and invalidates the
// capture (cudaStreamEndCapture then returns cudaErrorStreamCaptureInvalidated and no graph):
//   - cudaStreamSynchronize / cudaStreamQuery of the capturing stream: cudaErrorStreamCaptureUnsupported;
//   - "potentially unsafe" calls (cudaMalloc*, cudaFree*, cudaHostAlloc, cudaDeviceSynchronize)
//     while the calling thread captures in global or thread-local mode, or any thread captures in
//     global mode: cudaErrorStreamCaptureUnsupported (relaxed mode allows them);
//   - work on the legacy default stream (launches, cudaMemcpy, cudaMemset, async calls with stream
//     0) while a blocking stream captures: cudaErrorStreamCaptureImplicit, as the legacy stream
//     would synchronize with it;
//   - cudaStreamEndCapture from another thread than the one that began a global or thread-local
//     capture: cudaErrorStreamCaptureWrongThread.
// Not modelled: capturing the built-in streams (refused with cudaErrorStreamCaptureUnsupported),
// cross-stream capture through events (fork/join), graph editing and node queries.
struct GraphNode {
  enum class Kind { kKernel, kCopy, kFill } kind = Kind::kKernel;
  // kKernel
  const void* kernel = nullptr;
  dim3 grid, block;
  size_t dynamic_shared_bytes = 0;
  ThreadEntry entry = nullptr;
  std::shared_ptr<void> closure;
  // kCopy / kFill
  void* dst = nullptr;
  const void* src = nullptr;
  size_t count = 0;
  cudaMemcpyKind copy_kind = cudaMemcpyDefault;
  int value = 0;
};

struct Graph {
  std::vector<GraphNode> nodes;
};

struct GraphExec {
  std::vector<GraphNode> nodes;
};

struct Capture {
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  std::thread::id owner;
  bool invalidated = false;
  std::vector<GraphNode> nodes;
};

struct Stream {
  unsigned flags = 0;
  std::unique_ptr<Capture> capture;  // guarded by handles().mutex
};

struct Event {
  unsigned flags = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point time;
};

struct Handles {
  std::mutex mutex;
  std::unordered_set<const Stream*> streams;  // guarded by mutex
  std::unordered_set<Event*> events;          // guarded by mutex
  std::unordered_set<Graph*> graphs;          // guarded by mutex
  std::unordered_set<GraphExec*> graph_execs; // guarded by mutex
};

Handles& handles() {
  static Handles* const h = new Handles;
  return *h;
}

bool is_builtin_stream(cudaStream_t stream) {
  return stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread;
}

Event* find_event(cudaEvent_t event) {  // the caller holds handles().mutex
  Event* e = reinterpret_cast<Event*>(event);
  return handles().events.count(e) != 0 ? e : nullptr;
}

// The created stream behind `stream`, or null (built-in or unknown). The caller holds handles().mutex.
Stream* find_stream(cudaStream_t stream) {
  Stream* s = reinterpret_cast<Stream*>(stream);
  return !is_builtin_stream(stream) && handles().streams.count(s) != 0 ? s : nullptr;
}

// The capture of `stream`, active or invalidated, or null. The caller holds handles().mutex.
Capture* capture_of(cudaStream_t stream) {
  Stream* s = find_stream(stream);
  return s != nullptr ? s->capture.get() : nullptr;
}

// A potentially unsafe call (allocation, free, device synchronization) on this thread: refused with
// cudaErrorStreamCaptureUnsupported, invalidating the captures that forbid it, when this thread
// captures in global or thread-local mode or any thread captures in global mode.
cudaError_t refuse_unsafe_call_during_capture() {
  std::lock_guard<std::mutex> lock(handles().mutex);
  const std::thread::id self = std::this_thread::get_id();
  bool refused = false;
  for (const Stream* s : handles().streams) {
    Capture* c = s->capture.get();
    if (c == nullptr || c->mode == cudaStreamCaptureModeRelaxed) continue;
    if (c->mode == cudaStreamCaptureModeGlobal || c->owner == self) {
      c->invalidated = true;
      refused = true;
    }
  }
  return refused ? record_error(cudaErrorStreamCaptureUnsupported) : cudaSuccess;
}

// Work on the legacy default stream synchronizes with every blocking stream: while one of them
// captures, that is cudaErrorStreamCaptureImplicit, and the capture is invalidated.
cudaError_t refuse_legacy_work_during_capture(cudaStream_t stream) {
  if (stream != nullptr && stream != cudaStreamLegacy) return cudaSuccess;
  std::lock_guard<std::mutex> lock(handles().mutex);
  bool refused = false;
  for (const Stream* s : handles().streams) {
    if (s->capture == nullptr || (s->flags & cudaStreamNonBlocking) != 0) continue;
    s->capture->invalidated = true;
    refused = true;
  }
  return refused ? record_error(cudaErrorStreamCaptureImplicit) : cudaSuccess;
}

// Appends `node` to the capture of `stream` if it has one (true), else leaves it (false).
bool record_node(cudaStream_t stream, GraphNode node) {
  std::lock_guard<std::mutex> lock(handles().mutex);
  Capture* c = capture_of(stream);
  if (c == nullptr) return false;
  c->nodes.push_back(std::move(node));
  return true;
}

// ---- Per-kernel attributes ----------------------------------------------------------------------

struct Functions {
  std::mutex mutex;
  std::unordered_map<const void*, int> max_dynamic_shared;  // guarded by mutex
  std::unordered_map<const void*, int> shared_carveout;     // guarded by mutex
};

Functions& functions() {
  static Functions* const f = new Functions;
  return *f;
}

}  // namespace

cudaError_t record_error(cudaError_t error) {
  if (error != cudaSuccess && error != cudaErrorNotReady) t_last_error = error;
  return error;
}

bool stream_is_valid(cudaStream_t stream) {
  if (is_builtin_stream(stream)) return true;
  std::lock_guard<std::mutex> lock(handles().mutex);
  return handles().streams.count(reinterpret_cast<const Stream*>(stream)) != 0;
}

int kernel_max_dynamic_shared(const void* kernel) {
  std::lock_guard<std::mutex> lock(functions().mutex);
  auto it = functions().max_dynamic_shared.find(kernel);
  return it == functions().max_dynamic_shared.end() ? kSharedPerBlockDefault : it->second;
}

CaptureRoute capture_route(cudaStream_t stream, cudaError_t* refused) {
  *refused = refuse_legacy_work_during_capture(stream);
  if (*refused != cudaSuccess) return CaptureRoute::kRefuse;
  std::lock_guard<std::mutex> lock(handles().mutex);
  return capture_of(stream) != nullptr ? CaptureRoute::kRecord : CaptureRoute::kRun;
}

cudaError_t capture_launch(const void* kernel, dim3 grid, dim3 block, size_t dynamic_shared_bytes, cudaStream_t stream,
                           ThreadEntry entry, std::shared_ptr<void> closure) {
  const cudaError_t invalid = check_launch(kernel, grid, block, dynamic_shared_bytes, stream, entry);
  if (invalid != cudaSuccess) return invalid;
  void* const arguments = closure.get();
  GraphNode node;
  node.kind = GraphNode::Kind::kKernel;
  node.kernel = kernel;
  node.grid = grid;
  node.block = block;
  node.dynamic_shared_bytes = dynamic_shared_bytes;
  node.entry = entry;
  node.closure = std::move(closure);
  // The capture may have ended on another thread since capture_route: then this launch runs now.
  if (!record_node(stream, node)) return launch_erased(kernel, grid, block, dynamic_shared_bytes, stream, entry, arguments);
  return cudaSuccess;
}

}  // namespace ups_emu::detail

using ups_emu::detail::record_error;
namespace emu = ups_emu::detail;

// The runtime API. UPS_EMU_API exports each function from a library built with hidden visibility.

// ---- Memory ---------------------------------------------------------------------------------------

// Allocation and free are "potentially unsafe" during stream capture: see NOTE [ Stream capture
// under the emulation ].
#define UPS_EMU_REFUSE_DURING_CAPTURE()                                             \
  do {                                                                              \
    const cudaError_t capture_error = emu::refuse_unsafe_call_during_capture();     \
    if (capture_error != cudaSuccess) return capture_error;                         \
  } while (0)

UPS_EMU_API cudaError_t CUDARTAPI cudaMalloc(void** devPtr, size_t size) {
  UPS_EMU_REFUSE_DURING_CAPTURE();
  return emu::allocate(devPtr, size, cudaMemoryTypeDevice);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaFree(void* devPtr) {
  UPS_EMU_REFUSE_DURING_CAPTURE();
  return emu::deallocate(devPtr, {cudaMemoryTypeDevice, cudaMemoryTypeManaged});
}

UPS_EMU_API cudaError_t CUDARTAPI cudaMallocHost(void** ptr, size_t size) {
  UPS_EMU_REFUSE_DURING_CAPTURE();
  return emu::allocate(ptr, size, cudaMemoryTypeHost);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaHostAlloc(void** pHost, size_t size, unsigned int flags) {
  const unsigned known = cudaHostAllocPortable | cudaHostAllocMapped | cudaHostAllocWriteCombined;
  if ((flags & ~known) != 0) return record_error(cudaErrorInvalidValue);
  UPS_EMU_REFUSE_DURING_CAPTURE();
  return emu::allocate(pHost, size, cudaMemoryTypeHost);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaFreeHost(void* ptr) {
  UPS_EMU_REFUSE_DURING_CAPTURE();
  return emu::deallocate(ptr, {cudaMemoryTypeHost});
}

UPS_EMU_API cudaError_t CUDARTAPI cudaMallocManaged(void** devPtr, size_t size, unsigned int flags) {
  if (flags != cudaMemAttachGlobal && flags != cudaMemAttachHost) return record_error(cudaErrorInvalidValue);
  UPS_EMU_REFUSE_DURING_CAPTURE();
  return emu::allocate(devPtr, size, cudaMemoryTypeManaged);
}

// The synchronous copy and fill run on the legacy default stream.
UPS_EMU_API cudaError_t CUDARTAPI cudaMemcpy(void* dst, const void* src, size_t count, enum cudaMemcpyKind kind) {
  const cudaError_t capture_error = emu::refuse_legacy_work_during_capture(nullptr);
  if (capture_error != cudaSuccess) return capture_error;
  return emu::copy(dst, src, count, kind);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaMemcpyAsync(void* dst, const void* src, size_t count, enum cudaMemcpyKind kind,
                                                  cudaStream_t stream) {
  if (!emu::stream_is_valid(stream)) return record_error(cudaErrorInvalidResourceHandle);
  cudaError_t refused = cudaSuccess;
  switch (emu::capture_route(stream, &refused)) {
    case emu::CaptureRoute::kRefuse: return refused;
    case emu::CaptureRoute::kRecord: {
      // Checked now, as a captured copy's arguments are; performed at every replay.
      const cudaError_t invalid = emu::check_copy(dst, src, count, kind);
      if (invalid != cudaSuccess) return invalid;
      emu::GraphNode node;
      node.kind = emu::GraphNode::Kind::kCopy;
      node.dst = dst;
      node.src = src;
      node.count = count;
      node.copy_kind = kind;
      if (emu::record_node(stream, node)) return cudaSuccess;
      break;
    }
    case emu::CaptureRoute::kRun: break;
  }
  return emu::copy(dst, src, count, kind);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaMemset(void* devPtr, int value, size_t count) {
  const cudaError_t capture_error = emu::refuse_legacy_work_during_capture(nullptr);
  if (capture_error != cudaSuccess) return capture_error;
  return emu::fill(devPtr, value, count);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaMemsetAsync(void* devPtr, int value, size_t count, cudaStream_t stream) {
  if (!emu::stream_is_valid(stream)) return record_error(cudaErrorInvalidResourceHandle);
  cudaError_t refused = cudaSuccess;
  switch (emu::capture_route(stream, &refused)) {
    case emu::CaptureRoute::kRefuse: return refused;
    case emu::CaptureRoute::kRecord: {
      if (count != 0 && (devPtr == nullptr || !emu::device_accessible(devPtr, count)))
        return record_error(cudaErrorInvalidValue);
      emu::GraphNode node;
      node.kind = emu::GraphNode::Kind::kFill;
      node.dst = devPtr;
      node.count = count;
      node.value = value;
      if (emu::record_node(stream, node)) return cudaSuccess;
      break;
    }
    case emu::CaptureRoute::kRun: break;
  }
  return emu::fill(devPtr, value, count);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaMemGetInfo(size_t* free, size_t* total) {
  if (free == nullptr || total == nullptr) return record_error(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(emu::registry().mutex);
  *total = emu::total_device_memory();
  *free = *total - emu::registry().device_bytes;
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaPointerGetAttributes(struct cudaPointerAttributes* attributes, const void* ptr) {
  if (attributes == nullptr) return record_error(cudaErrorInvalidValue);
  std::memset(attributes, 0, sizeof *attributes);
  void* p = const_cast<void*>(ptr);
  std::lock_guard<std::mutex> lock(emu::registry().mutex);
  const auto* a = emu::find_allocation(ptr);
  if (a == nullptr) {
    // CUDA >= 11: memory the runtime does not know is host memory, and the query succeeds.
    attributes->type = cudaMemoryTypeUnregistered;
    attributes->device = cudaInvalidDeviceId;
    attributes->hostPointer = p;
    return cudaSuccess;
  }
  attributes->type = a->second.type;
  attributes->device = 0;
  attributes->devicePointer = p;
  attributes->hostPointer = a->second.type == cudaMemoryTypeDevice ? nullptr : p;
  return cudaSuccess;
}

// ---- Streams --------------------------------------------------------------------------------------

UPS_EMU_API cudaError_t CUDARTAPI cudaStreamCreate(cudaStream_t* pStream) {
  return cudaStreamCreateWithFlags(pStream, 0);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaStreamCreateWithFlags(cudaStream_t* pStream, unsigned int flags) {
  if (pStream == nullptr || (flags & ~static_cast<unsigned>(cudaStreamNonBlocking)) != 0)
    return record_error(cudaErrorInvalidValue);
  auto* stream = new emu::Stream;
  stream->flags = flags;
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  emu::handles().streams.insert(stream);
  *pStream = reinterpret_cast<cudaStream_t>(stream);
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaStreamDestroy(cudaStream_t stream) {
  if (emu::is_builtin_stream(stream)) return record_error(cudaErrorInvalidResourceHandle);
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  auto* s = reinterpret_cast<emu::Stream*>(stream);
  if (emu::handles().streams.erase(s) == 0) return record_error(cudaErrorInvalidResourceHandle);
  delete s;
  return cudaSuccess;
}

namespace ups_emu::detail {
namespace {
// Synchronizing with or querying a capturing stream is refused and invalidates its capture.
cudaError_t check_stream_not_capturing(cudaStream_t stream) {
  if (!stream_is_valid(stream)) return record_error(cudaErrorInvalidResourceHandle);
  std::lock_guard<std::mutex> lock(handles().mutex);
  Capture* c = capture_of(stream);
  if (c == nullptr) return cudaSuccess;
  c->invalidated = true;
  return record_error(cudaErrorStreamCaptureUnsupported);
}
}  // namespace
}  // namespace ups_emu::detail

// Work is complete when its call returns: synchronizing and querying only check the handle (and
// that the stream is not capturing).
UPS_EMU_API cudaError_t CUDARTAPI cudaStreamSynchronize(cudaStream_t stream) {
  const cudaError_t capture_error = emu::refuse_legacy_work_during_capture(stream);
  if (capture_error != cudaSuccess) return capture_error;
  return emu::check_stream_not_capturing(stream);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaStreamQuery(cudaStream_t stream) {
  return emu::check_stream_not_capturing(stream);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  if (!emu::stream_is_valid(stream)) return record_error(cudaErrorInvalidResourceHandle);
  if (flags != 0 && flags != cudaEventWaitExternal) return record_error(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  return emu::find_event(event) != nullptr ? cudaSuccess : record_error(cudaErrorInvalidResourceHandle);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaDeviceSynchronize(void) {
  UPS_EMU_REFUSE_DURING_CAPTURE();
  return cudaSuccess;
}

// ---- Stream capture and graphs (NOTE [ Stream capture under the emulation ]) ---------------------

UPS_EMU_API cudaError_t CUDARTAPI cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode) {
  if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
      mode != cudaStreamCaptureModeRelaxed)
    return record_error(cudaErrorInvalidValue);
  if (emu::is_builtin_stream(stream)) return record_error(cudaErrorStreamCaptureUnsupported);
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  emu::Stream* s = emu::find_stream(stream);
  if (s == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  if (s->capture != nullptr) return record_error(cudaErrorIllegalState);
  s->capture = std::make_unique<emu::Capture>();
  s->capture->mode = mode;
  s->capture->owner = std::this_thread::get_id();
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* pGraph) {
  if (pGraph == nullptr) return record_error(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  emu::Stream* s = emu::find_stream(stream);
  if (s == nullptr && !emu::is_builtin_stream(stream)) return record_error(cudaErrorInvalidResourceHandle);
  if (s == nullptr || s->capture == nullptr) return record_error(cudaErrorIllegalState);
  if (s->capture->mode != cudaStreamCaptureModeRelaxed && s->capture->owner != std::this_thread::get_id())
    return record_error(cudaErrorStreamCaptureWrongThread);
  std::unique_ptr<emu::Capture> capture = std::move(s->capture);
  *pGraph = nullptr;
  if (capture->invalidated) return record_error(cudaErrorStreamCaptureInvalidated);
  auto* graph = new emu::Graph{std::move(capture->nodes)};
  emu::handles().graphs.insert(graph);
  *pGraph = reinterpret_cast<cudaGraph_t>(graph);
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaStreamIsCapturing(cudaStream_t stream,
                                                        enum cudaStreamCaptureStatus* pCaptureStatus) {
  if (pCaptureStatus == nullptr) return record_error(cudaErrorInvalidValue);
  if (!emu::stream_is_valid(stream)) return record_error(cudaErrorInvalidResourceHandle);
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  if (stream == nullptr || stream == cudaStreamLegacy) {
    // Asking about the legacy stream while a blocking stream captures is an implicit synchronization.
    for (const emu::Stream* s : emu::handles().streams)
      if (s->capture != nullptr && (s->flags & cudaStreamNonBlocking) == 0)
        return record_error(cudaErrorStreamCaptureImplicit);
  }
  const emu::Capture* c = emu::capture_of(stream);
  *pCaptureStatus = c == nullptr ? cudaStreamCaptureStatusNone
                    : c->invalidated ? cudaStreamCaptureStatusInvalidated
                                     : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaGraphInstantiate(cudaGraphExec_t* pGraphExec, cudaGraph_t graph,
                                                       unsigned long long flags) {
  (void)flags;  // auto-free, upload, device launch, priorities: nothing to model
  if (pGraphExec == nullptr) return record_error(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  auto* g = reinterpret_cast<emu::Graph*>(graph);
  if (emu::handles().graphs.count(g) == 0) return record_error(cudaErrorInvalidValue);
  auto* exec = new emu::GraphExec{g->nodes};
  emu::handles().graph_execs.insert(exec);
  *pGraphExec = reinterpret_cast<cudaGraphExec_t>(exec);
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaGraphInstantiateWithFlags(cudaGraphExec_t* pGraphExec, cudaGraph_t graph,
                                                                unsigned long long flags) {
  return cudaGraphInstantiate(pGraphExec, graph, flags);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaGraphLaunch(cudaGraphExec_t graphExec, cudaStream_t stream) {
  if (!emu::stream_is_valid(stream)) return record_error(cudaErrorInvalidResourceHandle);
  std::vector<emu::GraphNode> nodes;
  {
    std::lock_guard<std::mutex> lock(emu::handles().mutex);
    auto* exec = reinterpret_cast<emu::GraphExec*>(graphExec);
    if (emu::handles().graph_execs.count(exec) == 0) return record_error(cudaErrorInvalidValue);
    nodes = exec->nodes;  // a copy: the exec may be destroyed by another thread while this replays
    // A graph launched into a capturing stream becomes part of that capture.
    if (emu::Capture* c = emu::capture_of(stream)) {
      c->nodes.insert(c->nodes.end(), nodes.begin(), nodes.end());
      return cudaSuccess;
    }
  }
  const cudaError_t capture_error = emu::refuse_legacy_work_during_capture(stream);
  if (capture_error != cudaSuccess) return capture_error;
  for (const emu::GraphNode& node : nodes) {
    cudaError_t error = cudaSuccess;
    switch (node.kind) {
      case emu::GraphNode::Kind::kKernel:
        error = emu::launch_erased(node.kernel, node.grid, node.block, node.dynamic_shared_bytes, stream, node.entry,
                                   node.closure.get());
        break;
      case emu::GraphNode::Kind::kCopy: error = emu::copy(node.dst, node.src, node.count, node.copy_kind); break;
      case emu::GraphNode::Kind::kFill: error = emu::fill(node.dst, node.value, node.count); break;
    }
    if (error != cudaSuccess) return error;
  }
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaGraphExecDestroy(cudaGraphExec_t graphExec) {
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  auto* exec = reinterpret_cast<emu::GraphExec*>(graphExec);
  if (emu::handles().graph_execs.erase(exec) == 0) return record_error(cudaErrorInvalidValue);
  delete exec;
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaGraphDestroy(cudaGraph_t graph) {
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  auto* g = reinterpret_cast<emu::Graph*>(graph);
  if (emu::handles().graphs.erase(g) == 0) return record_error(cudaErrorInvalidValue);
  delete g;
  return cudaSuccess;
}

// ---- Events ---------------------------------------------------------------------------------------

UPS_EMU_API cudaError_t CUDARTAPI cudaEventCreate(cudaEvent_t* event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  const unsigned known = cudaEventBlockingSync | cudaEventDisableTiming | cudaEventInterprocess;
  if (event == nullptr || (flags & ~known) != 0) return record_error(cudaErrorInvalidValue);
  if ((flags & cudaEventInterprocess) != 0 && (flags & cudaEventDisableTiming) == 0)
    return record_error(cudaErrorInvalidValue);
  auto* e = new emu::Event;
  e->flags = flags;
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  emu::handles().events.insert(e);
  *event = reinterpret_cast<cudaEvent_t>(e);
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaEventDestroy(cudaEvent_t event) {
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  emu::Event* e = emu::find_event(event);
  if (e == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  emu::handles().events.erase(e);
  delete e;
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!emu::stream_is_valid(stream)) return record_error(cudaErrorInvalidResourceHandle);
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  emu::Event* e = emu::find_event(event);
  if (e == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  e->recorded = true;
  e->time = std::chrono::steady_clock::now();
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaEventSynchronize(cudaEvent_t event) {
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  return emu::find_event(event) != nullptr ? cudaSuccess : record_error(cudaErrorInvalidResourceHandle);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaEventQuery(cudaEvent_t event) {
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  return emu::find_event(event) != nullptr ? cudaSuccess : record_error(cudaErrorInvalidResourceHandle);
}

UPS_EMU_API cudaError_t CUDARTAPI cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (ms == nullptr) return record_error(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lock(emu::handles().mutex);
  emu::Event* s = emu::find_event(start);
  emu::Event* e = emu::find_event(end);
  if (s == nullptr || e == nullptr) return record_error(cudaErrorInvalidResourceHandle);
  // As the real runtime: events without timing, or never recorded, are invalid for this query.
  if (((s->flags | e->flags) & cudaEventDisableTiming) != 0 || !s->recorded || !e->recorded)
    return record_error(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(e->time - s->time).count();
  return cudaSuccess;
}

// ---- Errors ---------------------------------------------------------------------------------------

UPS_EMU_API cudaError_t CUDARTAPI cudaGetLastError(void) {
  const cudaError_t error = emu::t_last_error;
  emu::t_last_error = cudaSuccess;
  return error;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaPeekAtLastError(void) { return emu::t_last_error; }

namespace ups_emu::detail {
namespace {

struct ErrorText {
  cudaError_t code;
  const char* name;
  const char* text;
};

#define UPS_EMU_ERROR(code, text) \
  { code, #code, text }
constexpr ErrorText kErrorTexts[] = {
    UPS_EMU_ERROR(cudaSuccess, "no error"),
    UPS_EMU_ERROR(cudaErrorInvalidValue, "invalid argument"),
    UPS_EMU_ERROR(cudaErrorMemoryAllocation, "out of memory"),
    UPS_EMU_ERROR(cudaErrorInitializationError, "initialization error"),
    UPS_EMU_ERROR(cudaErrorCudartUnloading, "driver shutting down"),
    UPS_EMU_ERROR(cudaErrorInvalidConfiguration, "invalid configuration argument"),
    UPS_EMU_ERROR(cudaErrorInvalidPitchValue, "invalid pitch argument"),
    UPS_EMU_ERROR(cudaErrorInvalidSymbol, "invalid device symbol"),
    UPS_EMU_ERROR(cudaErrorInvalidHostPointer, "invalid host pointer"),
    UPS_EMU_ERROR(cudaErrorInvalidDevicePointer, "invalid device pointer"),
    UPS_EMU_ERROR(cudaErrorInvalidMemcpyDirection, "invalid copy direction for memcpy"),
    UPS_EMU_ERROR(cudaErrorMissingConfiguration, "__global__ function call is not configured"),
    UPS_EMU_ERROR(cudaErrorInsufficientDriver, "CUDA driver version is insufficient for CUDA runtime version"),
    UPS_EMU_ERROR(cudaErrorDevicesUnavailable, "CUDA-capable device(s) is/are busy or unavailable"),
    UPS_EMU_ERROR(cudaErrorInvalidDeviceFunction, "invalid device function"),
    UPS_EMU_ERROR(cudaErrorNoDevice, "no CUDA-capable device is detected"),
    UPS_EMU_ERROR(cudaErrorInvalidDevice, "invalid device ordinal"),
    UPS_EMU_ERROR(cudaErrorInvalidKernelImage, "device kernel image is invalid"),
    UPS_EMU_ERROR(cudaErrorNoKernelImageForDevice, "no kernel image is available for execution on the device"),
    UPS_EMU_ERROR(cudaErrorInvalidResourceHandle, "invalid resource handle"),
    UPS_EMU_ERROR(cudaErrorNotReady, "device not ready"),
    UPS_EMU_ERROR(cudaErrorIllegalAddress, "an illegal memory access was encountered"),
    UPS_EMU_ERROR(cudaErrorLaunchOutOfResources, "too many resources requested for launch"),
    UPS_EMU_ERROR(cudaErrorLaunchTimeout, "the launch timed out and was terminated"),
    UPS_EMU_ERROR(cudaErrorAssert, "device-side assert triggered"),
    UPS_EMU_ERROR(cudaErrorIllegalInstruction, "an illegal instruction was encountered"),
    UPS_EMU_ERROR(cudaErrorMisalignedAddress, "misaligned address"),
    UPS_EMU_ERROR(cudaErrorLaunchFailure, "unspecified launch failure"),
    UPS_EMU_ERROR(cudaErrorCooperativeLaunchTooLarge, "too many blocks in cooperative launch"),
    UPS_EMU_ERROR(cudaErrorNotPermitted, "operation not permitted"),
    UPS_EMU_ERROR(cudaErrorNotSupported, "operation not supported"),
    UPS_EMU_ERROR(cudaErrorIllegalState, "the operation is not permitted in the current state"),
    UPS_EMU_ERROR(cudaErrorStreamCaptureUnsupported, "operation not permitted when stream is capturing"),
    UPS_EMU_ERROR(cudaErrorStreamCaptureInvalidated, "operation failed due to a previous error during capture"),
    UPS_EMU_ERROR(cudaErrorStreamCaptureImplicit,
                  "operation would make the legacy stream depend on a capturing blocking stream"),
    UPS_EMU_ERROR(cudaErrorStreamCaptureWrongThread, "attempt to terminate a thread-local capture sequence from another thread"),
    UPS_EMU_ERROR(cudaErrorUnknown, "unknown error"),
};
#undef UPS_EMU_ERROR

const ErrorText* find_error(cudaError_t error) {
  for (const ErrorText& e : kErrorTexts)
    if (e.code == error) return &e;
  return nullptr;
}

}  // namespace
}  // namespace ups_emu::detail

UPS_EMU_API const char* CUDARTAPI cudaGetErrorName(cudaError_t error) {
  const auto* e = emu::find_error(error);
  return e != nullptr ? e->name : "unrecognized error code";
}

UPS_EMU_API const char* CUDARTAPI cudaGetErrorString(cudaError_t error) {
  const auto* e = emu::find_error(error);
  return e != nullptr ? e->text : "unrecognized error code";
}

// ---- Device ---------------------------------------------------------------------------------------

UPS_EMU_API cudaError_t CUDARTAPI cudaGetDeviceCount(int* count) {
  if (count == nullptr) return record_error(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaGetDevice(int* device) {
  if (device == nullptr) return record_error(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : record_error(cudaErrorInvalidDevice);
}

// Under CUDA 12 the header renames this to cudaGetDeviceProperties_v2 with a macro; this definition
// follows whichever name the header declares.
UPS_EMU_API cudaError_t CUDARTAPI cudaGetDeviceProperties(struct cudaDeviceProp* prop, int device) {
  if (prop == nullptr) return record_error(cudaErrorInvalidValue);
  if (device != 0) return record_error(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof *prop);
  std::strncpy(prop->name, emu::kDeviceName, sizeof prop->name - 1);
  prop->totalGlobalMem = emu::total_device_memory();
  prop->sharedMemPerBlock = emu::kSharedPerBlockDefault;
  prop->regsPerBlock = emu::kRegistersPerBlock;
  prop->warpSize = emu::kWarpSize;
  prop->memPitch = 2147483647;
  prop->maxThreadsPerBlock = emu::kMaxThreadsPerBlock;
  prop->maxThreadsDim[0] = emu::kMaxBlockDimX;
  prop->maxThreadsDim[1] = emu::kMaxBlockDimY;
  prop->maxThreadsDim[2] = emu::kMaxBlockDimZ;
  prop->maxGridSize[0] = emu::kMaxGridDimX;
  prop->maxGridSize[1] = emu::kMaxGridDimY;
  prop->maxGridSize[2] = emu::kMaxGridDimZ;
  prop->totalConstMem = emu::kTotalConstantMemory;
  prop->major = emu::kComputeMajor;
  prop->minor = emu::kComputeMinor;
  prop->textureAlignment = 512;
  prop->texturePitchAlignment = 32;
  prop->multiProcessorCount = emu::kMultiprocessorCount;
  prop->canMapHostMemory = 1;
  prop->concurrentKernels = 1;
  prop->asyncEngineCount = 3;
  prop->unifiedAddressing = 1;
  prop->memoryBusWidth = emu::kMemoryBusWidth;
  prop->l2CacheSize = emu::kL2CacheBytes;
  prop->maxThreadsPerMultiProcessor = emu::kMaxThreadsPerMultiprocessor;
  prop->streamPrioritiesSupported = 1;
  prop->globalL1CacheSupported = 1;
  prop->localL1CacheSupported = 1;
  prop->sharedMemPerMultiprocessor = emu::kSharedPerMultiprocessor;
  prop->regsPerMultiprocessor = emu::kRegistersPerMultiprocessor;
  prop->managedMemory = 1;
  prop->concurrentManagedAccess = 1;
  prop->computePreemptionSupported = 1;
  prop->cooperativeLaunch = 1;
  prop->sharedMemPerBlockOptin = emu::kSharedPerBlockOptin;
  prop->maxBlocksPerMultiProcessor = emu::kMaxBlocksPerMultiprocessor;
  prop->reservedSharedMemPerBlock = emu::kReservedSharedPerBlock;
  prop->memoryPoolsSupported = 1;
  prop->clusterLaunch = 1;
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaDeviceGetAttribute(int* value, enum cudaDeviceAttr attr, int device) {
  if (value == nullptr) return record_error(cudaErrorInvalidValue);
  if (device != 0) return record_error(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock:
      *value = emu::kMaxThreadsPerBlock;
      break;
    case cudaDevAttrMaxBlockDimX:
      *value = emu::kMaxBlockDimX;
      break;
    case cudaDevAttrMaxBlockDimY:
      *value = emu::kMaxBlockDimY;
      break;
    case cudaDevAttrMaxBlockDimZ:
      *value = emu::kMaxBlockDimZ;
      break;
    case cudaDevAttrMaxGridDimX:
      *value = emu::kMaxGridDimX;
      break;
    case cudaDevAttrMaxGridDimY:
      *value = emu::kMaxGridDimY;
      break;
    case cudaDevAttrMaxGridDimZ:
      *value = emu::kMaxGridDimZ;
      break;
    case cudaDevAttrMaxSharedMemoryPerBlock:
      *value = emu::kSharedPerBlockDefault;
      break;
    case cudaDevAttrTotalConstantMemory:
      *value = emu::kTotalConstantMemory;
      break;
    case cudaDevAttrWarpSize:
      *value = emu::kWarpSize;
      break;
    case cudaDevAttrMaxPitch:
      *value = 2147483647;
      break;
    case cudaDevAttrMaxRegistersPerBlock:
      *value = emu::kRegistersPerBlock;
      break;
    case cudaDevAttrClockRate:
      *value = emu::kClockRateKHz;
      break;
    case cudaDevAttrTextureAlignment:
      *value = 512;
      break;
    case cudaDevAttrGpuOverlap:
      *value = 1;
      break;
    case cudaDevAttrMultiProcessorCount:
      *value = emu::kMultiprocessorCount;
      break;
    case cudaDevAttrKernelExecTimeout:
      *value = 0;
      break;
    case cudaDevAttrIntegrated:
      *value = 0;
      break;
    case cudaDevAttrCanMapHostMemory:
      *value = 1;
      break;
    case cudaDevAttrComputeMode:
      *value = cudaComputeModeDefault;
      break;
    case cudaDevAttrConcurrentKernels:
      *value = 1;
      break;
    case cudaDevAttrEccEnabled:
      *value = 0;
      break;
    case cudaDevAttrPciBusId:
      *value = 0;
      break;
    case cudaDevAttrPciDeviceId:
      *value = 0;
      break;
    case cudaDevAttrPciDomainId:
      *value = 0;
      break;
    case cudaDevAttrTccDriver:
      *value = 0;
      break;
    case cudaDevAttrMemoryClockRate:
      *value = emu::kMemoryClockRateKHz;
      break;
    case cudaDevAttrGlobalMemoryBusWidth:
      *value = emu::kMemoryBusWidth;
      break;
    case cudaDevAttrL2CacheSize:
      *value = emu::kL2CacheBytes;
      break;
    case cudaDevAttrMaxThreadsPerMultiProcessor:
      *value = emu::kMaxThreadsPerMultiprocessor;
      break;
    case cudaDevAttrAsyncEngineCount:
      *value = 3;
      break;
    case cudaDevAttrUnifiedAddressing:
      *value = 1;
      break;
    case cudaDevAttrComputeCapabilityMajor:
      *value = emu::kComputeMajor;
      break;
    case cudaDevAttrComputeCapabilityMinor:
      *value = emu::kComputeMinor;
      break;
    case cudaDevAttrStreamPrioritiesSupported:
      *value = 1;
      break;
    case cudaDevAttrGlobalL1CacheSupported:
      *value = 1;
      break;
    case cudaDevAttrLocalL1CacheSupported:
      *value = 1;
      break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor:
      *value = emu::kSharedPerMultiprocessor;
      break;
    case cudaDevAttrMaxRegistersPerMultiprocessor:
      *value = emu::kRegistersPerMultiprocessor;
      break;
    case cudaDevAttrManagedMemory:
      *value = 1;
      break;
    case cudaDevAttrIsMultiGpuBoard:
      *value = 0;
      break;
    case cudaDevAttrMultiGpuBoardGroupID:
      *value = 0;
      break;
    case cudaDevAttrHostNativeAtomicSupported:
      *value = 0;
      break;
    case cudaDevAttrSingleToDoublePrecisionPerfRatio:
      *value = 2;
      break;
    case cudaDevAttrPageableMemoryAccess:
      *value = 0;
      break;
    case cudaDevAttrConcurrentManagedAccess:
      *value = 1;
      break;
    case cudaDevAttrComputePreemptionSupported:
      *value = 1;
      break;
    case cudaDevAttrCanUseHostPointerForRegisteredMem:
      *value = 1;
      break;
    case cudaDevAttrCooperativeLaunch:
      *value = 1;
      break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin:
      *value = emu::kSharedPerBlockOptin;
      break;
    case cudaDevAttrMaxBlocksPerMultiprocessor:
      *value = emu::kMaxBlocksPerMultiprocessor;
      break;
    case cudaDevAttrReservedSharedMemoryPerBlock:
      *value = emu::kReservedSharedPerBlock;
      break;
    case cudaDevAttrMemoryPoolsSupported:
      *value = 1;
      break;
    case cudaDevAttrClusterLaunch:
      *value = 1;
      break;
    default:
      return record_error(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaDriverGetVersion(int* driverVersion) {
  if (driverVersion == nullptr) return record_error(cudaErrorInvalidValue);
  *driverVersion = CUDART_VERSION;
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaRuntimeGetVersion(int* runtimeVersion) {
  if (runtimeVersion == nullptr) return record_error(cudaErrorInvalidValue);
  *runtimeVersion = CUDART_VERSION;
  return cudaSuccess;
}

// ---- Kernels --------------------------------------------------------------------------------------

UPS_EMU_API cudaError_t CUDARTAPI cudaFuncSetAttribute(const void* func, enum cudaFuncAttribute attr, int value) {
  if (func == nullptr) return record_error(cudaErrorInvalidDeviceFunction);
  std::lock_guard<std::mutex> lock(emu::functions().mutex);
  switch (attr) {
    case cudaFuncAttributeMaxDynamicSharedMemorySize:
      // Static shared memory is not known to the emulation; the whole opt-in size is available.
      if (value < 0 || value > emu::kSharedPerBlockOptin) return record_error(cudaErrorInvalidValue);
      emu::functions().max_dynamic_shared[func] = value;
      return cudaSuccess;
    case cudaFuncAttributePreferredSharedMemoryCarveout:
      if (value < -1 || value > 100) return record_error(cudaErrorInvalidValue);
      emu::functions().shared_carveout[func] = value;
      return cudaSuccess;
    case cudaFuncAttributeClusterDimMustBeSet:
    case cudaFuncAttributeRequiredClusterWidth:
    case cudaFuncAttributeRequiredClusterHeight:
    case cudaFuncAttributeRequiredClusterDepth:
    case cudaFuncAttributeNonPortableClusterSizeAllowed:
    case cudaFuncAttributeClusterSchedulingPolicyPreference:
      return cudaSuccess;  // clusters are not emulated; accepted and ignored
    default:
      return record_error(cudaErrorInvalidValue);
  }
}

UPS_EMU_API cudaError_t CUDARTAPI cudaFuncGetAttributes(struct cudaFuncAttributes* attr, const void* func) {
  if (attr == nullptr) return record_error(cudaErrorInvalidValue);
  if (func == nullptr) return record_error(cudaErrorInvalidDeviceFunction);
  std::memset(attr, 0, sizeof *attr);
  attr->maxThreadsPerBlock = emu::kMaxThreadsPerBlock;
  attr->numRegs = 32;  // unknown to the emulation; a typical value
  attr->ptxVersion = emu::kComputeMajor * 10 + emu::kComputeMinor;
  attr->binaryVersion = attr->ptxVersion;
  attr->maxDynamicSharedSizeBytes = emu::kernel_max_dynamic_shared(func);
  std::lock_guard<std::mutex> lock(emu::functions().mutex);
  auto it = emu::functions().shared_carveout.find(func);
  attr->preferredShmemCarveout = it == emu::functions().shared_carveout.end() ? -1 : it->second;
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(
    int* numBlocks, const void* func, int blockSize, size_t dynamicSMemSize, unsigned int flags) {
  if (numBlocks == nullptr || blockSize <= 0 || blockSize > emu::kMaxThreadsPerBlock ||
      (flags & ~static_cast<unsigned>(cudaOccupancyDisableCachingOverride)) != 0)
    return record_error(cudaErrorInvalidValue);
  if (func == nullptr) return record_error(cudaErrorInvalidDeviceFunction);
  if (dynamicSMemSize > static_cast<size_t>(emu::kernel_max_dynamic_shared(func))) {
    *numBlocks = 0;
    return cudaSuccess;
  }
  // Threads (in whole warps), the per-SM block limit, and shared memory (with the driver's 1 KiB
  // reservation per block); registers are unknown to the emulation and not counted.
  const int warps = (blockSize + emu::kWarpSize - 1) / emu::kWarpSize;
  int blocks = emu::kMaxThreadsPerMultiprocessor / (warps * emu::kWarpSize);
  blocks = std::min(blocks, emu::kMaxBlocksPerMultiprocessor);
  const size_t per_block = dynamicSMemSize + emu::kReservedSharedPerBlock;
  blocks = std::min(blocks, static_cast<int>(emu::kSharedPerMultiprocessor / per_block));
  *numBlocks = blocks;
  return cudaSuccess;
}

UPS_EMU_API cudaError_t CUDARTAPI cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* numBlocks, const void* func,
                                                                                int blockSize, size_t dynamicSMemSize) {
  return cudaOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(numBlocks, func, blockSize, dynamicSMemSize,
                                                                cudaOccupancyDefault);
}

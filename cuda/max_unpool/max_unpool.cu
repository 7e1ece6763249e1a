// Launchers of max-unpooling, forward and backward (kernels in max_unpool.cuh), and the handle's
// device-side index-error record (NOTE [ Device-side index errors ] in index_check.cuh).
//
// Asynchronous checking (ExecContext::sync_index_check false) enqueues the op's kernels and one
// commit kernel, and nothing else: no host round trip, no allocation, so the op can be captured
// in a CUDA graph. Synchronous checking first runs the check pass into the record's scratch slot
// and reads it back (synchronizing the stream): a bad index is returned from the call with nothing
// written, in the reference backend's words.
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/dtype.h"
#include "cuda/common/check.cuh"
#include "cuda/common/element.cuh"
#include "cuda/common/launch.cuh"
#include "cuda/common/pool_tile.cuh"
#include "cuda/common/vector.cuh"
#include "cuda/max_unpool/max_unpool.cuh"
#include "cuda/max_unpool/max_unpool.h"

namespace upsample::cuda {
namespace {

constexpr int kBlockThreads = 256;
constexpr size_t kFlagBytes = 256;  // the escaped flag, padded to keep the winners aligned

IndexErrorSlot* slot_of(const ExecContext& exec, int slot) {
  return static_cast<IndexErrorRecord*>(exec.error_record)->slot + slot;
}

IndexErrorSlot clean_slot() {
  IndexErrorSlot s;
  std::memset(&s, 0, sizeof s);
  s.first_bad = ~0ull;
  s.op = kIndexErrorNone;
  return s;
}

// The message of a committed report; `suffix` says what the caller may assume about the output.
upsStatus_t report(const IndexErrorSlot& s, const char* suffix) {
  return detail::fail(UPS_STATUS_INDEX_OUT_OF_RANGE, "indices[n=", s.n, ", c=", s.c, ", d=", s.d, ", h=", s.h,
                      ", w=", s.w, "] = ", s.value, " is outside the output plane [0, ", s.plane,
                      ") (first offending position in (n, c, d, h, w) order); ", suffix);
}

upsStatus_t launch_commit(const detail::MaxUnpoolProblem& problem, const void* indices, int slot, unsigned long long op,
                          unsigned int* reset, const ExecContext& exec) {
  IndexCommitParams p;
  p.indices = indices;
  p.switches_32bit = problem.indices.dtype == UPS_DTYPE_I32;
  p.tensor = make_device_tensor<int64_t>(problem.indices);
  p.plane = problem.output.plane();
  p.slot = slot_of(exec, slot);
  p.op = op;
  p.reset = reset;
  UPS_CUDA_CHECK(launch_kernel(max_unpool_commit_kernel, dim3(1), dim3(32), 0,
                               reinterpret_cast<cudaStream_t>(exec.stream), p));
  return UPS_STATUS_SUCCESS;
}

// Synchronous checking: the check pass into the scratch slot, read back at once.
template <typename IndexT, typename SwitchT>
upsStatus_t check_synchronously(const detail::MaxUnpoolProblem& problem, const SwitchT* indices,
                                const ExecContext& exec) {
  if (exec.capturing)
    return detail::fail(UPS_STATUS_STREAM_CAPTURING, "indices: synchronous index checking (UPS_INDEX_CHECK_SYNC) reads "
                        "the check back, which a stream that is capturing a CUDA graph cannot do: use "
                        "UPS_INDEX_CHECK_AUTO or UPS_INDEX_CHECK_ASYNC and upsQueryRuntimeError after the replay");
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  IndexCheckParams<IndexT, SwitchT> p;
  p.indices = indices;
  p.tensor = make_device_tensor<IndexT>(problem.indices);
  p.plane = problem.output.plane();
  p.slot = slot_of(exec, kSyncSlot);
  p.work = problem.indices.elements();
  UPS_CUDA_CHECK(launch_kernel(max_unpool_check_kernel<IndexT, SwitchT>, grid_for(p.work, kBlockThreads),
                               dim3(kBlockThreads), 0, stream, p));
  UPS_RETURN_IF_ERROR(launch_commit(problem, indices, kSyncSlot, kIndexErrorForward, nullptr, exec));
  IndexErrorSlot verdict;
  UPS_CUDA_CHECK(cudaMemcpyAsync(&verdict, p.slot, sizeof verdict, cudaMemcpyDeviceToHost, stream));
  UPS_CUDA_CHECK(cudaStreamSynchronize(stream));
  if (verdict.op == kIndexErrorNone) return UPS_STATUS_SUCCESS;
  const IndexErrorSlot clean = clean_slot();
  UPS_CUDA_CHECK(cudaMemcpyAsync(p.slot, &clean, sizeof clean, cudaMemcpyHostToDevice, stream));
  UPS_CUDA_CHECK(cudaStreamSynchronize(stream));  // `clean` is a host temporary
  return report(verdict, "nothing was written");
}

bool windows_tile(const detail::MaxUnpoolProblem& p) {
  for (int a = 0; a < detail::kDims; ++a)
    if (p.kernel[a] != p.stride[a]) return false;
  return true;
}

template <typename StorageT, typename IndexT, typename SwitchT>
upsStatus_t launch_forward(const detail::MaxUnpoolProblem& problem, const void* x, const SwitchT* indices, void* y,
                           const ExecContext& exec) {
  if (!exec.async_index_check) UPS_RETURN_IF_ERROR(check_synchronously<IndexT>(problem, indices, exec));
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  auto* escaped = static_cast<unsigned int*>(exec.workspace);
  auto* winners = reinterpret_cast<unsigned int*>(static_cast<char*>(exec.workspace) + kFlagBytes);
  IndexErrorSlot* slot = slot_of(exec, kAsyncSlot);
  const DeviceTensor<IndexT> input = make_device_tensor<IndexT>(problem.input);
  const DeviceTensor<IndexT> output = make_device_tensor<IndexT>(problem.output);
  const int64_t inputs = problem.input.elements();
  const bool tiled = windows_tile(problem);

  if (tiled) {
    // The flag the tiled kernel raises for an index outside its own window (read by the general
    // path behind it, cleared again by the commit kernel; set here too, since a workspace the
    // caller passes starts with anything).
    UPS_CUDA_CHECK(cudaMemsetAsync(escaped, 0, sizeof(unsigned int), stream));
    MaxUnpoolTiledParams<StorageT, IndexT, SwitchT> p;
    p.x = static_cast<const StorageT*>(x);
    p.indices = indices;
    p.y = static_cast<StorageT*>(y);
    p.input = input;
    p.output = output;
    for (int a = 0; a < detail::kDims; ++a) {
      p.stride[a] = static_cast<IndexT>(problem.stride[a]);
      p.padding[a] = static_cast<IndexT>(problem.padding[a]);
    }
    p.plane = problem.output.plane();
    p.slot = slot;
    p.escaped = escaped;
    p.work = inputs;
    constexpr int kLanes = Vector16<StorageT>::kLanes;
    const bool vectorizable = problem.input.layout == UPS_LAYOUT_CHANNELS_LAST && problem.input.c % kLanes == 0 &&
                              vector_aligned(x, 16) && vector_aligned(y, 16);
    if (vectorizable) {
      p.work = inputs / kLanes;
      p.c_vectors_div = FastDivmod<IndexT>(problem.input.c / kLanes);
      UPS_CUDA_CHECK(launch_kernel(max_unpool_tiled_vec16_kernel<StorageT, IndexT, SwitchT>,
                                   grid_for(p.work, kBlockThreads), dim3(kBlockThreads), 0, stream, p));
    } else if (const int scale_w = tiled_cf_vector_scale_w(
                   problem.input.layout == UPS_LAYOUT_CHANNELS_FIRST, problem.stride[2], problem.padding[2],
                   problem.output.extent[2], problem.input.extent[2], static_cast<int>(sizeof(StorageT)), y, x);
               scale_w != 0) {
      const int group = kLanes / scale_w;
      p.w_groups_div = FastDivmod<IndexT>(problem.input.extent[2] / group);
      p.work = inputs / group;
      auto kernel = max_unpool_tiled_cf_vec16_kernel<StorageT, IndexT, SwitchT, 2>;
      if constexpr (kLanes % 4 == 0)  // 8-byte words have 2 lanes: W stride 2 only
        if (scale_w == 4) kernel = max_unpool_tiled_cf_vec16_kernel<StorageT, IndexT, SwitchT, 4>;
      UPS_CUDA_CHECK(launch_kernel(kernel, grid_for(p.work, kBlockThreads), dim3(kBlockThreads), 0, stream, p));
    } else {
      UPS_CUDA_CHECK(launch_kernel(max_unpool_tiled_kernel<StorageT, IndexT, SwitchT>, grid_for(p.work, kBlockThreads),
                                   dim3(kBlockThreads), 0, stream, p));
    }
  }

  // The general path: always for overlapping windows; behind the tiled kernel, only if it escaped.
  MaxUnpoolElectParams<IndexT, SwitchT> elect;
  elect.indices = indices;
  elect.input = input;
  elect.plane = problem.output.plane();
  elect.winners = winners;
  elect.winner_count = problem.output.elements();
  elect.slot = slot;
  elect.escaped = tiled ? escaped : nullptr;
  elect.work = inputs;
  UPS_CUDA_CHECK(launch_kernel(max_unpool_clear_kernel, grid_for(elect.winner_count, kBlockThreads),
                               dim3(kBlockThreads), 0, stream, winners, elect.winner_count, elect.escaped));
  UPS_CUDA_CHECK(launch_kernel(max_unpool_elect_kernel<IndexT, SwitchT>, grid_for(elect.work, kBlockThreads),
                               dim3(kBlockThreads), 0, stream, elect));
  MaxUnpoolWriteParams<StorageT, IndexT> write;
  write.x = static_cast<const StorageT*>(x);
  write.y = static_cast<StorageT*>(y);
  write.winners = winners;
  write.input = input;
  write.output = output;
  write.escaped = elect.escaped;
  write.work = problem.output.elements();
  UPS_CUDA_CHECK(launch_kernel(max_unpool_write_kernel<StorageT, IndexT>, grid_for(write.work, kBlockThreads),
                               dim3(kBlockThreads), 0, stream, write));
  return launch_commit(problem, indices, kAsyncSlot, kIndexErrorForward, tiled ? escaped : nullptr, exec);
}

template <typename StorageT, typename IndexT, typename SwitchT>
upsStatus_t launch_backward(const detail::MaxUnpoolProblem& problem, const void* dy, const SwitchT* indices, void* dx,
                            const ExecContext& exec) {
  if (!exec.async_index_check) UPS_RETURN_IF_ERROR(check_synchronously<IndexT>(problem, indices, exec));
  MaxUnpoolBackwardParams<StorageT, IndexT, SwitchT> p;
  p.dy = static_cast<const StorageT*>(dy);
  p.indices = indices;
  p.dx = static_cast<StorageT*>(dx);
  p.input = make_device_tensor<IndexT>(problem.input);
  p.output = make_device_tensor<IndexT>(problem.output);
  p.plane = problem.output.plane();
  p.slot = slot_of(exec, kAsyncSlot);
  p.work = problem.input.elements();
  constexpr int kLanes = Vector16<StorageT>::kLanes;
  // dy is gathered lane by lane: only dx's layout and alignment matter.
  const bool channels_last = problem.input.layout == UPS_LAYOUT_CHANNELS_LAST;
  const int64_t in_plane = problem.input.plane();
  const bool vectorizable =
      vector_aligned(dx, 16) && (channels_last ? problem.input.c % kLanes == 0 : in_plane % kLanes == 0);
  if (vectorizable) {
    p.work /= kLanes;
    p.c_vectors_div = FastDivmod<IndexT>(problem.input.c / kLanes);
    p.plane_div = FastDivmod<IndexT>(channels_last ? in_plane : in_plane / kLanes);
    const auto kernel = channels_last ? max_unpool_backward_vec16_kernel<StorageT, IndexT, SwitchT, true>
                                      : max_unpool_backward_vec16_kernel<StorageT, IndexT, SwitchT, false>;
    UPS_CUDA_CHECK(launch_kernel(kernel, grid_for(p.work, kBlockThreads), dim3(kBlockThreads), 0,
                                 reinterpret_cast<cudaStream_t>(exec.stream), p));
  } else {
    UPS_CUDA_CHECK(launch_kernel(max_unpool_backward_kernel<StorageT, IndexT, SwitchT>, grid_for(p.work, kBlockThreads),
                                 dim3(kBlockThreads), 0, reinterpret_cast<cudaStream_t>(exec.stream), p));
  }
  return launch_commit(problem, indices, kAsyncSlot, kIndexErrorBackward, nullptr, exec);
}

// Data movement only: dispatch on the storage width, not the float type; then the switches'
// type and the index width.
template <template <typename, typename, typename> class Launch>
upsStatus_t dispatch(const detail::MaxUnpoolProblem& problem, const void* in, const void* indices, void* out,
                     const ExecContext& exec, const char* what) {
  if (exec.error_record == nullptr)
    return detail::fail(UPS_STATUS_INTERNAL_ERROR, what, ": the handle has no device-side error record");
  const bool narrow = detail::max_unpool_use_32bit_indexing(problem);
  const int64_t width = detail::dtype_size(problem.input.dtype);
  return dispatch_switch_dtype(problem.indices.dtype, [&](auto switch_tag) {
    using SwitchT = typename decltype(switch_tag)::type;
    const auto* switches = static_cast<const SwitchT*>(indices);
    switch (width) {
      case 2:
        return narrow ? Launch<uint16_t, int32_t, SwitchT>::run(problem, in, switches, out, exec)
                      : Launch<uint16_t, int64_t, SwitchT>::run(problem, in, switches, out, exec);
      case 4:
        return narrow ? Launch<uint32_t, int32_t, SwitchT>::run(problem, in, switches, out, exec)
                      : Launch<uint32_t, int64_t, SwitchT>::run(problem, in, switches, out, exec);
      case 8:
        return narrow ? Launch<uint64_t, int32_t, SwitchT>::run(problem, in, switches, out, exec)
                      : Launch<uint64_t, int64_t, SwitchT>::run(problem, in, switches, out, exec);
      default:
        break;
    }
    return detail::fail(UPS_STATUS_INTERNAL_ERROR, what, ": unexpected dtype ", static_cast<int>(problem.input.dtype));
  });
}

template <typename StorageT, typename IndexT, typename SwitchT>
struct Forward {
  static upsStatus_t run(const detail::MaxUnpoolProblem& p, const void* x, const SwitchT* i, void* y,
                         const ExecContext& e) {
    return launch_forward<StorageT, IndexT>(p, x, i, y, e);
  }
};
template <typename StorageT, typename IndexT, typename SwitchT>
struct Backward {
  static upsStatus_t run(const detail::MaxUnpoolProblem& p, const void* dy, const SwitchT* i, void* dx,
                         const ExecContext& e) {
    return launch_backward<StorageT, IndexT>(p, dy, i, dx, e);
  }
};

}  // namespace

upsStatus_t max_unpool_can_implement(const detail::MaxUnpoolProblem& problem) {
  // Winners are elected as input plane position + 1 in 32 bits. An empty x elects nothing (and
  // the op then launches nothing): any plane is fine, as on the reference backend.
  if (problem.input.elements() > 0 &&
      problem.input.plane() >= static_cast<int64_t>(std::numeric_limits<unsigned int>::max()))
    return detail::fail(UPS_STATUS_NOT_SUPPORTED, "x: the CUDA max-unpool supports input planes (D*H*W) below 2^32 - 1 "
                        "elements, got ", problem.input.plane());
  return UPS_STATUS_SUCCESS;
}

size_t max_unpool_workspace_bytes(const detail::MaxUnpoolProblem& problem) {
  return kFlagBytes + sizeof(unsigned int) * static_cast<size_t>(problem.output.elements());
}

upsStatus_t max_unpool_forward(const detail::MaxUnpoolProblem& problem, const void* x, const void* indices, void* y,
                               const ExecContext& exec) {
  if (exec.workspace_bytes < max_unpool_workspace_bytes(problem))
    return detail::fail(UPS_STATUS_INTERNAL_ERROR, "max-unpool: workspace smaller than its query");
  return dispatch<Forward>(problem, x, indices, y, exec, "max-unpool");
}

size_t max_unpool_backward_workspace_bytes(const detail::MaxUnpoolProblem&) { return 0; }

upsStatus_t max_unpool_backward(const detail::MaxUnpoolProblem& problem, const void* dy, const void* indices, void* dx,
                                const ExecContext& exec) {
  return dispatch<Backward>(problem, dy, indices, dx, exec, "max-unpool backward");
}

// ---- The handle's record ----------------------------------------------------------------------

upsStatus_t create_error_record(void** record) {
  *record = nullptr;
  void* pointer = nullptr;
  UPS_RETURN_IF_ERROR(allocate_workspace(sizeof(IndexErrorRecord), &pointer));
  IndexErrorRecord clean;
  clean.slot[kAsyncSlot] = clean_slot();
  clean.slot[kSyncSlot] = clean_slot();
  const cudaError_t error = cudaMemcpy(pointer, &clean, sizeof clean, cudaMemcpyHostToDevice);
  if (error != cudaSuccess) {
    cudaGetLastError();
    free_workspace(pointer);
    return detail::fail(UPS_STATUS_CUDA_ERROR, "the handle's error record: cudaMemcpy failed: ",
                        cudaGetErrorString(error));
  }
  *record = pointer;
  return UPS_STATUS_SUCCESS;
}

void destroy_error_record(void* record) {
  if (record != nullptr) free_workspace(record);
}

upsStatus_t take_error_record(void* record, upsStream_t stream_handle, upsStatus_t* status) {
  const auto stream = reinterpret_cast<cudaStream_t>(stream_handle);
  IndexErrorSlot* slot = static_cast<IndexErrorRecord*>(record)->slot + kAsyncSlot;
  IndexErrorSlot seen;
  UPS_CUDA_CHECK(cudaMemcpyAsync(&seen, slot, sizeof seen, cudaMemcpyDeviceToHost, stream));
  UPS_CUDA_CHECK(cudaStreamSynchronize(stream));
  *status = UPS_STATUS_SUCCESS;
  if (seen.op == kIndexErrorNone) return UPS_STATUS_SUCCESS;
  const IndexErrorSlot clean = clean_slot();
  UPS_CUDA_CHECK(cudaMemcpyAsync(slot, &clean, sizeof clean, cudaMemcpyHostToDevice, stream));
  UPS_CUDA_CHECK(cudaStreamSynchronize(stream));  // `clean` is a host temporary
  *status = report(seen, seen.op == kIndexErrorForward
                             ? "found on the device by max-unpool forward, which wrote nothing out of range "
                               "(the bad input was skipped)"
                             : "found on the device by max-unpool backward, which wrote nothing out of range "
                               "(its dx element is 0)");
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::cuda

// The max-unpool index check: one device function used by every max-unpool kernel (forward,
// backward, and the standalone check pass of synchronous checking), and the device-side error
// record it writes.
//
// NOTE [ Device-side index errors ]
// An index outside [0, plane) is an error PyTorch raises from the kernel; upsample.h promises the
// first offending position in (n, c, d, h, w) order and the index's value. Kernels never stop for
// it and never synchronize: a thread that reads a bad index lowers the slot's `first_bad` to its
// logical position with atomicMin (the smallest position wins whatever the thread timing, so the
// result is deterministic), writes nothing out of range, and goes on. After the op's kernels,
// one single-thread commit kernel turns `first_bad` into the committed report (position decoded,
// value read back from the indices) if the slot holds none yet, and resets `first_bad` for the
// next op. The handle owns the record (two slots, below) in device memory, allocated once at
// upsCreate: nothing is allocated, copied back or waited for per op, so the ops can be captured in
// a CUDA graph, and a replay reports through the same record. upsQueryRuntimeError reads and clears
// slot 0; synchronous checking runs the check pass into slot 1, reads it back at once and clears it,
// so an unqueried asynchronous error is never attributed to a later synchronous call.
#pragma once

#include <cstdint>

#include "cuda/common/platform.cuh"
#include "cuda/common/tensor.cuh"

namespace upsample::cuda {

// Which op committed a report (0: none).
enum : unsigned long long { kIndexErrorNone = 0, kIndexErrorForward = 1, kIndexErrorBackward = 2 };

struct IndexErrorSlot {
  unsigned long long first_bad;  // smallest bad logical position of the running op; ~0 when none
  unsigned long long op;         // kIndexError*: the op of the committed report
  long long value;               // the committed report: the index, its position, the plane size
  long long n, c, d, h, w;
  long long plane;
};

struct IndexErrorRecord {
  IndexErrorSlot slot[2];  // [0] asynchronous (kept until queried); [1] a synchronous check's scratch
};
inline constexpr int kAsyncSlot = 0;
inline constexpr int kSyncSlot = 1;

// Logical (n, c, d, h, w) position of an element: the order upsample.h reports bad indices in.
template <typename IndexT>
__device__ __forceinline__ unsigned long long logical_position(const DeviceTensor<IndexT>& t,
                                                               const Coordinates<IndexT>& q) {
  return ((((static_cast<unsigned long long>(q.n) * t.c + q.c) * t.extent[0] + q.d) * t.extent[1] + q.h) *
          t.extent[2]) + q.w;
}

// The check. True when `index` names a position of the plane; otherwise records the position of
// the index (element `linear` of the dense indices tensor `t`) and returns false. The position is
// decomposed only on this (error) path.
template <typename IndexT>
__device__ __forceinline__ bool check_index(int64_t index, int64_t plane, const DeviceTensor<IndexT>& t, IndexT linear,
                                            IndexErrorSlot* slot) {
  if (index >= 0 && index < plane) return true;
  // Inline on purpose: an out-of-line error path costs a CALL and a stack frame in every loop that
  // checks (tried: the decode then lives in local memory); the inlined one is skipped by a branch.
  atomicMin(&slot->first_bad, logical_position(t, coordinates_of(t, linear)));
  return false;
}

template <typename IndexT, typename SwitchT>
struct IndexCheckParams {
  const SwitchT* indices;       // int64_t or int32_t
  DeviceTensor<IndexT> tensor;  // the indices' geometry (dense)
  int64_t plane;                // valid indices are [0, plane)
  IndexErrorSlot* slot;
  int64_t work;  // index count
};

// The standalone pass of synchronous checking: the same check, nothing else.
template <typename IndexT, typename SwitchT>
__global__ void max_unpool_check_kernel(IndexCheckParams<IndexT, SwitchT> p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.work; i += step)
    check_index(p.indices[i], p.plane, p.tensor, static_cast<IndexT>(i), p.slot);
}

struct IndexCommitParams {
  const void* indices;  // int64_t, or int32_t where switches_32bit
  bool switches_32bit;
  DeviceTensor<int64_t> tensor;  // the indices' geometry
  int64_t plane;
  IndexErrorSlot* slot;
  unsigned long long op;
  unsigned int* reset;  // a flag of the op's workspace cleared here for the next call (or null)
};

// One thread, after the op's kernels: see NOTE [ Device-side index errors ].
__global__ void max_unpool_commit_kernel(IndexCommitParams p) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  if (p.reset != nullptr) *p.reset = 0u;
  IndexErrorSlot* s = p.slot;
  if (s->first_bad == ~0ull) return;
  if (s->op == kIndexErrorNone) {
    unsigned long long rest = s->first_bad;
    const DeviceTensor<int64_t>& t = p.tensor;
    const long long w = static_cast<long long>(rest % static_cast<unsigned long long>(t.extent[2]));
    rest /= static_cast<unsigned long long>(t.extent[2]);
    const long long h = static_cast<long long>(rest % static_cast<unsigned long long>(t.extent[1]));
    rest /= static_cast<unsigned long long>(t.extent[1]);
    const long long d = static_cast<long long>(rest % static_cast<unsigned long long>(t.extent[0]));
    rest /= static_cast<unsigned long long>(t.extent[0]);
    const long long c = static_cast<long long>(rest % static_cast<unsigned long long>(t.c));
    const long long n = static_cast<long long>(rest / static_cast<unsigned long long>(t.c));
    const int64_t at = t.offset(n, c, d, h, w);
    s->value =
        p.switches_32bit ? static_cast<const int32_t*>(p.indices)[at] : static_cast<const int64_t*>(p.indices)[at];
    s->n = n;
    s->c = c;
    s->d = d;
    s->h = h;
    s->w = w;
    s->plane = p.plane;
    s->op = p.op;
  }
  s->first_bad = ~0ull;
}

}  // namespace upsample::cuda

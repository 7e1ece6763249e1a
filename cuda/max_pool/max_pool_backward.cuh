// Max-pooling backward and max-unpooling backward.
//
// max_pool_backward_kernel: output-stationary over dx, deterministic, no atomics. A thread owns
// one dx element i and visits, in scan order (d, h, w), the pooled positions p whose window
// contains i (per axis: o*stride - padding + k*dilation = i for some 0 <= k < kernel; see
// window_axis); it adds dy[p] when indices[p] names i.
// Windows that overlap therefore sum in a fixed order, and an index that names no position of its
// own window is never matched (it contributes nothing, as upsample.h says). The sum is in the
// accumulation type, rounded once (NOTE [ Accumulation types ]).
//
// Max-unpooling backward takes two steps:
//   1. The index check, without atomics: index_check_partial_kernel reduces, per block, the
//      smallest logical (n, c, d, h, w) position of an index outside [0, plane) with a fixed
//      shared-memory tree, and index_check_combine_kernel (one block) reduces the block results
//      the same way. The launcher reads the verdict back before anything is written (the
//      forward's promise: a bad call leaves dx untouched), so the op synchronizes.
//   2. max_unpool_backward_kernel: a gather, one thread per dx element, dx[p] = dy[indices[p]],
//      moving storage words (bit-exact).
#pragma once

#include "cuda/common/element.cuh"
#include "cuda/common/tensor.cuh"
#include "cuda/max_pool/max_pool_forward.cuh"  // logical_position

namespace upsample::cuda {

// ---------------------------------------------------------------------------------------------
// Max-pooling backward
// ---------------------------------------------------------------------------------------------
template <typename ElementT, typename IndexT>
struct MaxPoolBackwardParams {
  const ElementT* dy;
  const int64_t* indices;  // dy's geometry
  ElementT* dx;
  DeviceTensor<IndexT> input;   // dx
  DeviceTensor<IndexT> output;  // dy and indices
  IndexT kernel[3], stride[3], padding[3], dilation[3];
  int64_t work;  // dx elements
};

// The pooled positions o, on one axis, whose window holds input position i: o*stride - padding +
// k*dilation = i for some 0 <= k < kernel. With shifted = i + padding they lie in
// [first, last] = [ceil((shifted - (kernel-1)*dilation) / stride), floor(shifted / stride)] (within
// the pooled extent), and only those where dilation divides shifted - o*stride qualify. Candidates
// are enumerated either over that range or over the taps k, whichever is shorter, so a huge
// stride or dilation never means a long loop; both enumerations visit o in ascending order.
template <typename IndexT>
struct WindowAxis {
  IndexT shifted, first, last, stride, dilation, kernel;
  IndexT count;  // candidates
  bool by_tap;   // candidate j is tap kernel-1-j; else o = first + j
};

template <typename IndexT>
__device__ __forceinline__ WindowAxis<IndexT> window_axis(IndexT shifted, IndexT kernel, IndexT stride, IndexT dilation,
                                                          IndexT pooled) {
  WindowAxis<IndexT> a;
  a.shifted = shifted;
  a.stride = stride;
  a.dilation = dilation;
  a.kernel = kernel;
  const IndexT reach = (kernel - 1) * dilation;
  a.first = shifted <= reach ? 0 : (shifted - reach + stride - 1) / stride;
  const IndexT high = shifted / stride;
  a.last = high < pooled - 1 ? high : pooled - 1;
  const IndexT range = a.last >= a.first ? a.last - a.first + 1 : 0;
  a.by_tap = kernel < range;
  a.count = a.by_tap ? kernel : range;
  return a;
}

// The pooled position of candidate j, or -1 when its window does not hold i.
template <typename IndexT>
__device__ __forceinline__ IndexT window_candidate(const WindowAxis<IndexT>& a, IndexT j) {
  if (!a.by_tap) {
    const IndexT o = a.first + j;
    return (a.shifted - o * a.stride) % a.dilation == 0 ? o : IndexT(-1);
  }
  const IndexT t = a.shifted - (a.kernel - 1 - j) * a.dilation;  // = o*stride for tap kernel-1-j
  if (t < 0 || t % a.stride != 0) return -1;
  const IndexT o = t / a.stride;
  return o >= a.first && o <= a.last ? o : IndexT(-1);
}

template <typename ElementT, typename IndexT>
__global__ void max_pool_backward_kernel(MaxPoolBackwardParams<ElementT, IndexT> p) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < p.work; item += step) {
    const IndexT linear = static_cast<IndexT>(item);
    const Coordinates<IndexT> i = coordinates_of(p.input, linear);
    // The switch value that names i: its flat position in the (n, c) input plane.
    const int64_t flat = (static_cast<int64_t>(i.d) * p.input.extent[1] + i.h) * p.input.extent[2] + i.w;
    const WindowAxis<IndexT> ad =
        window_axis(i.d + p.padding[0], p.kernel[0], p.stride[0], p.dilation[0], p.output.extent[0]);
    const WindowAxis<IndexT> ah =
        window_axis(i.h + p.padding[1], p.kernel[1], p.stride[1], p.dilation[1], p.output.extent[1]);
    const WindowAxis<IndexT> aw =
        window_axis(i.w + p.padding[2], p.kernel[2], p.stride[2], p.dilation[2], p.output.extent[2]);
    AccumT sum = 0;
    for (IndexT jd = 0; jd < ad.count; ++jd) {
      const IndexT od = window_candidate(ad, jd);
      if (od < 0) continue;
      for (IndexT jh = 0; jh < ah.count; ++jh) {
        const IndexT oh = window_candidate(ah, jh);
        if (oh < 0) continue;
        for (IndexT jw = 0; jw < aw.count; ++jw) {
          const IndexT ow = window_candidate(aw, jw);
          if (ow < 0) continue;
          const IndexT q = p.output.offset(i.n, i.c, od, oh, ow);
          if (p.indices[q] == flat) sum += Traits::to_accum(p.dy[q]);
        }
      }
    }
    p.dx[linear] = Traits::from_accum(sum);
  }
}

// ---------------------------------------------------------------------------------------------
// Max-unpooling backward
// ---------------------------------------------------------------------------------------------
inline constexpr int kIndexCheckThreads = 256;
inline constexpr int kIndexCheckBlocks = 256;  // the most blocks: their results have a fixed home

template <typename IndexT>
struct IndexCheckParams {
  const int64_t* indices;
  DeviceTensor<IndexT> tensor;     // the indices' geometry
  int64_t limit;                   // valid indices are [0, limit)
  unsigned long long* partial;     // `blocks` block results; the verdict at [kIndexCheckBlocks] (~0: none bad)
  int blocks;                      // blocks of the partial pass, at most kIndexCheckBlocks
  int64_t work;                    // index count
};

// Smallest of the block's values with a fixed tree; every thread of the block must call it.
__device__ __forceinline__ unsigned long long block_min(unsigned long long value, unsigned long long* scratch) {
  const int tid = static_cast<int>(threadIdx.x);
  scratch[tid] = value;
  __syncthreads();
  for (int half = kIndexCheckThreads / 2; half > 0; half /= 2) {
    if (tid < half && scratch[tid + half] < scratch[tid]) scratch[tid] = scratch[tid + half];
    __syncthreads();
  }
  return scratch[0];
}

template <typename IndexT>
__global__ void index_check_partial_kernel(IndexCheckParams<IndexT> p) {
  __shared__ unsigned long long scratch[kIndexCheckThreads];
  unsigned long long first_bad = ~0ull;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < p.work; item += step) {
    const int64_t index = p.indices[item];
    if (index < 0 || index >= p.limit) {
      const unsigned long long position =
          logical_position(p.tensor, coordinates_of(p.tensor, static_cast<IndexT>(item)));
      if (position < first_bad) first_bad = position;
    }
  }
  const unsigned long long block_first = block_min(first_bad, scratch);
  if (threadIdx.x == 0) p.partial[blockIdx.x] = block_first;
}

template <typename IndexT>
__global__ void index_check_combine_kernel(IndexCheckParams<IndexT> p) {
  __shared__ unsigned long long scratch[kIndexCheckThreads];
  unsigned long long first_bad = ~0ull;
  for (int b = static_cast<int>(threadIdx.x); b < p.blocks; b += kIndexCheckThreads)
    if (p.partial[b] < first_bad) first_bad = p.partial[b];
  const unsigned long long verdict = block_min(first_bad, scratch);
  if (threadIdx.x == 0) p.partial[kIndexCheckBlocks] = verdict;
}

template <typename StorageT, typename IndexT>
struct MaxUnpoolBackwardParams {
  const StorageT* dy;
  const int64_t* indices;  // dx's geometry
  StorageT* dx;
  DeviceTensor<IndexT> input;   // dx and indices
  DeviceTensor<IndexT> output;  // dy
  int64_t work;                 // dx elements
};

template <typename StorageT, typename IndexT>
__global__ void max_unpool_backward_kernel(MaxUnpoolBackwardParams<StorageT, IndexT> p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const IndexT out_hw = p.output.extent[1] * p.output.extent[2];
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < p.work; item += step) {
    const IndexT linear = static_cast<IndexT>(item);
    const Coordinates<IndexT> q = coordinates_of(p.input, linear);
    const IndexT index = static_cast<IndexT>(p.indices[linear]);  // checked: inside dy's plane
    const IndexT od = index / out_hw, oh = (index / p.output.extent[2]) % p.output.extent[1],
                 ow = index % p.output.extent[2];
    p.dx[linear] = p.dy[p.output.offset(q.n, q.c, od, oh, ow)];
  }
}

}  // namespace upsample::cuda

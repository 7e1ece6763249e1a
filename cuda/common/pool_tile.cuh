// Pooling windows that tile: kernel == stride and dilation 1 on an axis, so the windows
// [o*stride - padding, +stride) of the pooled positions o cover the unpooled axis once each.
// Max-pool backward (cuda/max_pool/) and max-unpool forward (cuda/max_unpool/) then write the
// unpooled tensor in one pass, each pooled position its own tile, zeros included.
#pragma once

#include <cstdint>

#include "platform.cuh"
#include "vector.cuh"

namespace upsample::cuda {

// Pooled position o's tile on one axis of `extent` unpooled positions: its window [begin,
// window_end), clipped to the axis, and the span [begin, end) it writes, which for the last pooled
// position also covers the tail past its window (positions no window holds: with floor rounding,
// or an explicit max-unpool output_size, the axis may outrun the windows). begin <= window_end <=
// end, so an empty window writes nothing. IndexT must hold o*stride + stride and extent.
template <typename IndexT>
struct PoolTile {
  IndexT begin, window_end, end;
};

template <typename IndexT>
__device__ __forceinline__ PoolTile<IndexT> pool_tile(IndexT o, IndexT pooled, IndexT extent, IndexT stride,
                                                      IndexT padding) {
  const IndexT first = o * stride - padding;
  PoolTile<IndexT> t;
  t.begin = first < 0 ? IndexT(0) : first;
  t.window_end = first + stride < extent ? first + stride : extent;
  if (t.window_end < t.begin) t.window_end = t.begin;
  t.end = o + 1 == pooled && extent > t.window_end ? extent : t.window_end;
  return t;
}

// The pooled values of a tiled vector kernel's thread and their switches (plane positions, as
// max-pool writes them and max-unpool reads them): kCount consecutive pooled positions from
// `first` on. The values are one aligned load of kCount elements; all kCount + 1 loads are issued
// before the caller's first store. SwitchT is the switches' type (int64_t or int32_t).
template <typename T, int kCount, typename SwitchT>
struct SwitchedGroup {
  LaneVector<T, kCount> value;
  SwitchT index[kCount];
};

template <int kCount, typename T, typename SwitchT, typename IndexT>
__device__ __forceinline__ SwitchedGroup<T, kCount, SwitchT> load_switched_group(const T* values,
                                                                                 const SwitchT* indices, IndexT first) {
  SwitchedGroup<T, kCount, SwitchT> group;
  group.value = load_lanes<LaneVector<T, kCount>>(values + first);
#pragma unroll
  for (int j = 0; j < kCount; ++j) group.index[j] = indices[first + j];
  return group;
}

// Host: the W stride of the channels-first tiled 16-byte kernels (2 or 4, a template argument of
// theirs), or 0 where they cannot run. They need the W windows to tile the fine (unpooled) W
// exactly (no W padding, fine W = coarse W * stride), fine W a multiple of the 16-byte lanes, the
// fine tensor 16-byte aligned and the coarse one aligned to a group of lanes / stride elements
// (NOTE [ Vector access alignment ]). Max-pool backward's fine tensor is dx and its coarse one dy;
// max-unpool forward's are y and x.
inline int tiled_cf_vector_scale_w(bool channels_first, int64_t stride_w, int64_t padding_w, int64_t fine_w,
                                   int64_t coarse_w, int element_bytes, const void* fine, const void* coarse) {
  const int lanes = vector_lanes(16, element_bytes);
  if (!channels_first || (stride_w != 2 && stride_w != 4) || lanes % stride_w != 0 || padding_w != 0 ||
      fine_w != coarse_w * stride_w || fine_w % lanes != 0 || !vector_aligned(fine, 16) ||
      !vector_aligned(coarse, element_bytes * lanes / static_cast<int>(stride_w)))
    return 0;
  return static_cast<int>(stride_w);
}

}  // namespace upsample::cuda

// Pooling windows that tile: kernel == stride and dilation 1 on an axis, so the windows
// [o*stride - padding, +stride) of the pooled positions o cover the unpooled axis once each.
// Max-pool backward (cuda/max_pool/) and max-unpool forward (cuda/max_unpool/) then write the
// unpooled tensor in one pass, each pooled position its own tile, zeros included.
#pragma once

#include "platform.cuh"

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

}  // namespace upsample::cuda

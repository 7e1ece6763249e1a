// Tensor geometry on the device, and the index-width choice.
//
// NOTE [ Index width ]
// Kernels are templated on IndexT (int32_t or int64_t), the type of every coordinate and offset
// they compute. 32-bit division and multiplication are several times cheaper on the GPU, so a
// launcher picks int32_t when, for every tensor of the problem, the product of its extents (each
// taken as at least 1) is below 2^31 — then every offset, and every coordinate product formed on
// the way, fits — and the op's own coordinates (stride, padding, dilation reach) fit as well, and
// int64_t otherwise.
// Grid-stride loop counters are always int64_t, so `i += gridDim.x * blockDim.x` cannot wrap;
// the counter is narrowed to IndexT once it is known to be in range.
// set_force_64bit_indexing() (backend.h) forces the 64-bit path so tests exercise it on small
// tensors.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>

#include "../../src/problem.h"
#include "../backend.h"
#include "platform.cuh"

namespace upsample::cuda {

template <typename IndexT>
struct DeviceTensor {
  IndexT n, c;
  IndexT extent[3];  // D, H, W
  IndexT stride_n, stride_c;
  IndexT stride[3];
  bool channels_last;

  __host__ __device__ __forceinline__ IndexT offset(IndexT in, IndexT ic, IndexT id, IndexT ih, IndexT iw) const {
    return in * stride_n + ic * stride_c + id * stride[0] + ih * stride[1] + iw * stride[2];
  }
};

template <typename IndexT>
DeviceTensor<IndexT> make_device_tensor(const detail::TensorGeometry& g) {
  DeviceTensor<IndexT> t;
  t.n = static_cast<IndexT>(g.n);
  t.c = static_cast<IndexT>(g.c);
  t.stride_n = static_cast<IndexT>(g.stride_n);
  t.stride_c = static_cast<IndexT>(g.stride_c);
  for (int a = 0; a < 3; ++a) {
    t.extent[a] = static_cast<IndexT>(g.extent[a]);
    t.stride[a] = static_cast<IndexT>(g.stride[a]);
  }
  t.channels_last = g.layout == UPS_LAYOUT_CHANNELS_LAST;
  return t;
}

// Logical coordinates of the element at linear position `i` of a dense tensor, in its memory
// order: for a dense tensor the element at memory offset i has these coordinates.
template <typename IndexT>
struct Coordinates {
  IndexT n, c, d, h, w;
};

template <typename IndexT>
__device__ __forceinline__ Coordinates<IndexT> coordinates_of(const DeviceTensor<IndexT>& t, IndexT i) {
  Coordinates<IndexT> q;
  if (t.channels_last) {
    q.c = i % t.c;
    i /= t.c;
    q.w = i % t.extent[2];
    i /= t.extent[2];
    q.h = i % t.extent[1];
    i /= t.extent[1];
    q.d = i % t.extent[0];
    q.n = i / t.extent[0];
  } else {
    q.w = i % t.extent[2];
    i /= t.extent[2];
    q.h = i % t.extent[1];
    i /= t.extent[1];
    q.d = i % t.extent[0];
    i /= t.extent[0];
    q.c = i % t.c;
    q.n = i / t.c;
  }
  return q;
}

// True when every listed tensor lets a kernel use 32-bit indices (NOTE [ Index width ]).
// Extents are taken as at least 1, so an empty tensor (n = 0) with a plane of 2^31 positions
// still gets 64-bit indices: kernels form plane-sized products even when there is no element.
inline bool use_32bit_indexing(std::initializer_list<const detail::TensorGeometry*> tensors) {
  if (force_64bit_indexing()) return false;
  constexpr int64_t kLimit = std::numeric_limits<int32_t>::max();
  for (const detail::TensorGeometry* t : tensors) {
    int64_t span = 1;
    for (int64_t e : {t->n, t->c, t->extent[0], t->extent[1], t->extent[2]}) {
      span *= e > 1 ? e : 1;  // validation bounds this product by int64 (validate.cpp)
      if (span >= kLimit) return false;
    }
  }
  return true;
}

// Grid for a grid-stride loop over `work` items: enough blocks to cover it, capped at a
// number that keeps every SM busy for several waves (more blocks only add scheduling cost).
inline dim3 grid_for(int64_t work, int threads_per_block) {
  constexpr int64_t kMaxBlocks = int64_t{1} << 20;
  int64_t blocks = (work + threads_per_block - 1) / threads_per_block;
  if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  if (blocks < 1) blocks = 1;
  return dim3(static_cast<unsigned>(blocks));
}

}  // namespace upsample::cuda

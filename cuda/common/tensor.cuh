// Tensor geometry on the device, and the index-width choice.
//
// Which width a launcher picks: see NOTE [ Index width ] in core/index_width.h.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>

#include "core/index_width.h"
#include "core/problem.h"
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

using detail::use_32bit_indexing;

}  // namespace upsample::cuda

// Tensor geometry on the device, and the index-width choice.
//
// Which width a launcher picks: see NOTE [ Index width ] in core/index_width.h.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>

#include "core/index_width.h"
#include "core/problem.h"
#include "fast_divmod.cuh"
#include "platform.cuh"

namespace upsample::cuda {

template <typename IndexT>
struct DeviceTensor {
  IndexT n, c;
  IndexT extent[3];  // D, H, W
  IndexT stride_n, stride_c;
  IndexT stride[3];
  bool channels_last;
  // c and extent as fast divisors (NOTE [ Fast division ]): coordinates_of divides by them for
  // every element. Filled by make_device_tensor, the only way a DeviceTensor is built.
  FastDivmod<IndexT> c_div;
  FastDivmod<IndexT> extent_div[3];

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
  t.c_div = FastDivmod<IndexT>(g.c);
  for (int a = 0; a < 3; ++a) t.extent_div[a] = FastDivmod<IndexT>(g.extent[a]);
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
  // i >= 0 (a linear position), so every dividend below is too. An extent of 0 never reaches
  // here (no element has coordinates), and FastDivmod treats it as 1.
  Coordinates<IndexT> q;
  if (t.channels_last) {
    q.c = t.c_div.divmod(i, &i);
    q.w = t.extent_div[2].divmod(i, &i);
    q.h = t.extent_div[1].divmod(i, &i);
    q.d = t.extent_div[0].divmod(i, &q.n);
  } else {
    q.w = t.extent_div[2].divmod(i, &i);
    q.h = t.extent_div[1].divmod(i, &i);
    q.d = t.extent_div[0].divmod(i, &i);
    q.c = t.c_div.divmod(i, &q.n);
  }
  return q;
}

using detail::use_32bit_indexing;

}  // namespace upsample::cuda

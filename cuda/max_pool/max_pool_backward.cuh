// Max-pooling backward (max-unpooling backward: cuda/max_unpool/).
//
// max_pool_backward_kernel: output-stationary over dx, deterministic, no atomics. A thread owns
// one dx element i and visits, in scan order (d, h, w), the pooled positions p whose window
// contains i (per axis: o*stride - padding + k*dilation = i for some 0 <= k < kernel; see
// window_axis); it adds dy[p] when indices[p] names i.
// Windows that overlap therefore sum in a fixed order, and an index that names no position of its
// own window is never matched (it contributes nothing, as upsample.h says). The sum is in the
// accumulation type, rounded once (NOTE [ Accumulation types ]).
#pragma once

#include "cuda/common/element.cuh"
#include "cuda/common/tensor.cuh"

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
  // stride and dilation as fast divisors (NOTE [ Fast division ]): window_axis and
  // window_candidate divide by them per element and per candidate; every dividend is >= 0.
  FastDivmod<IndexT> stride_div[3], dilation_div[3];
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
  FastDivmod<IndexT> stride_div, dilation_div;
  IndexT count;  // candidates
  bool by_tap;   // candidate j is tap kernel-1-j; else o = first + j
};

template <typename IndexT>
__device__ __forceinline__ WindowAxis<IndexT> window_axis(IndexT shifted, IndexT kernel, IndexT stride, IndexT dilation,
                                                          const FastDivmod<IndexT>& stride_div,
                                                          const FastDivmod<IndexT>& dilation_div, IndexT pooled) {
  WindowAxis<IndexT> a;
  a.shifted = shifted;
  a.stride = stride;
  a.dilation = dilation;
  a.kernel = kernel;
  a.stride_div = stride_div;
  a.dilation_div = dilation_div;
  const IndexT reach = (kernel - 1) * dilation;
  a.first = shifted <= reach ? 0 : stride_div.div(shifted - reach + stride - 1);
  const IndexT high = stride_div.div(shifted);
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
    const IndexT o = a.first + j;  // <= shifted / stride: the dividend below is >= 0
    return a.dilation_div.mod(a.shifted - o * a.stride) == 0 ? o : IndexT(-1);
  }
  const IndexT t = a.shifted - (a.kernel - 1 - j) * a.dilation;  // = o*stride for tap kernel-1-j
  if (t < 0) return -1;
  IndexT o;
  if (a.stride_div.divmod(t, &o) != 0) return -1;
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
    const WindowAxis<IndexT> ad = window_axis(i.d + p.padding[0], p.kernel[0], p.stride[0], p.dilation[0],
                                              p.stride_div[0], p.dilation_div[0], p.output.extent[0]);
    const WindowAxis<IndexT> ah = window_axis(i.h + p.padding[1], p.kernel[1], p.stride[1], p.dilation[1],
                                              p.stride_div[1], p.dilation_div[1], p.output.extent[1]);
    const WindowAxis<IndexT> aw = window_axis(i.w + p.padding[2], p.kernel[2], p.stride[2], p.dilation[2],
                                              p.stride_div[2], p.dilation_div[2], p.output.extent[2]);
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

}  // namespace upsample::cuda

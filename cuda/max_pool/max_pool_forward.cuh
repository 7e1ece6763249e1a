// Max-pooling with indices (max-unpooling: cuda/max_unpool/).
//
// max_pool_kernel: output-stationary, one thread per pooled element. It scans its window in
// (d, h, w) order over in-bounds positions only and keeps PyTorch's rule: a strictly greater
// value wins (so the first of equal maxima stays), and any NaN wins (so the last NaN stays).
// Values are compared in the accumulation type, which represents every f16/bf16 value exactly.
#pragma once

#include "cuda/common/element.cuh"
#include "cuda/common/tensor.cuh"

namespace upsample::cuda {

template <typename ElementT, typename IndexT>
struct MaxPoolParams {
  const ElementT* x;
  ElementT* y;
  int64_t* indices;
  DeviceTensor<IndexT> input;
  DeviceTensor<IndexT> output;  // indices share output's geometry
  IndexT kernel[3], stride[3], padding[3], dilation[3];
  int64_t work;
};

// The taps k of a window starting at input position `first` (spacing `dilation`) with
// 0 <= first + k*dilation < extent: k in [in_bounds_tap_begin, in_bounds_tap_end).
template <typename IndexT>
__device__ __forceinline__ IndexT in_bounds_tap_begin(IndexT first, IndexT dilation) {
  return first >= 0 ? IndexT(0) : (-first + dilation - 1) / dilation;
}
template <typename IndexT>
__device__ __forceinline__ IndexT in_bounds_tap_end(IndexT first, IndexT dilation, IndexT kernel, IndexT extent) {
  if (first >= extent) return 0;
  const IndexT past = (extent - 1 - first) / dilation + 1;  // taps with position <= extent - 1
  return past < kernel ? past : kernel;
}

template <typename ElementT, typename IndexT>
__global__ void max_pool_kernel(MaxPoolParams<ElementT, IndexT> p) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.work; i += step) {
    const IndexT linear = static_cast<IndexT>(i);
    const Coordinates<IndexT> o = coordinates_of(p.output, linear);
    const IndexT d0 = o.d * p.stride[0] - p.padding[0];
    const IndexT h0 = o.h * p.stride[1] - p.padding[1];
    const IndexT w0 = o.w * p.stride[2] - p.padding[2];
    AccumT best = 0;
    ElementT best_element = ElementT();  // stored as read, so the output keeps the input's bits (NaN payloads too)
    int64_t best_index = -1;
    // Only the taps that land inside the input are visited: a window may be far wider than the
    // input (kernel 2^20 with padding 2^19 on a small axis is valid), and padding never wins.
    const IndexT kd_end = in_bounds_tap_end(d0, p.dilation[0], p.kernel[0], p.input.extent[0]);
    const IndexT kh_end = in_bounds_tap_end(h0, p.dilation[1], p.kernel[1], p.input.extent[1]);
    const IndexT kw_end = in_bounds_tap_end(w0, p.dilation[2], p.kernel[2], p.input.extent[2]);
    for (IndexT kd = in_bounds_tap_begin(d0, p.dilation[0]); kd < kd_end; ++kd) {
      const IndexT id = d0 + kd * p.dilation[0];
      for (IndexT kh = in_bounds_tap_begin(h0, p.dilation[1]); kh < kh_end; ++kh) {
        const IndexT ih = h0 + kh * p.dilation[1];
        for (IndexT kw = in_bounds_tap_begin(w0, p.dilation[2]); kw < kw_end; ++kw) {
          const IndexT iw = w0 + kw * p.dilation[2];
          const ElementT element = p.x[p.input.offset(o.n, o.c, id, ih, iw)];
          const AccumT value = Traits::to_accum(element);
          // The first in-bounds position starts the window (a window of -inf answers with it).
          if (best_index < 0 || value > best || value != value) {
            best = value;
            best_element = element;
            best_index = (static_cast<int64_t>(id) * p.input.extent[1] + ih) * p.input.extent[2] + iw;
          }
        }
      }
    }
    p.y[linear] = best_element;
    p.indices[linear] = best_index;
  }
}

}  // namespace upsample::cuda

// Max-pooling with indices (max-unpooling: cuda/max_unpool/).
//
// max_pool_kernel: output-stationary, one thread per pooled element. It scans its window in
// (d, h, w) order over in-bounds positions only and keeps PyTorch's rule: a strictly greater
// value wins (so the first of equal maxima stays), and any NaN wins (so the last NaN stays).
// Values are compared in the accumulation type, which represents every f16/bf16 value exactly.
#pragma once

#include "cuda/common/element.cuh"
#include "cuda/common/fast_divmod.cuh"
#include "cuda/common/tensor.cuh"

namespace upsample::cuda {

// SwitchT: the switch indices' type, int64_t or int32_t (whose plane validation has checked fits).
template <typename ElementT, typename IndexT, typename SwitchT>
struct MaxPoolParams {
  const ElementT* x;
  ElementT* y;
  SwitchT* indices;
  DeviceTensor<IndexT> input;
  DeviceTensor<IndexT> output;  // indices share output's geometry
  IndexT kernel[3], stride[3], padding[3], dilation[3];
  FastDivmod<IndexT> dilation_div[3];
  int64_t work;
};

// The taps k of one window axis that land inside the input: the window starts at input position
// `first` with taps `dilation` apart, and k in [begin, end) has 0 <= first + k*dilation < extent.
// Both ends divide by the dilation through its precomputed divisor (NOTE [ Fast division ]):
// every dividend is >= 0 (first < 0 for the first, first < extent for the second).
template <typename IndexT>
struct TapRange {
  IndexT begin, end;
};

template <typename IndexT>
__device__ __forceinline__ TapRange<IndexT> in_bounds_taps(IndexT first, IndexT kernel, IndexT extent, IndexT dilation,
                                                           const FastDivmod<IndexT>& dilation_div) {
  TapRange<IndexT> t;
  t.begin = first >= 0 ? IndexT(0) : dilation_div.div(-first + dilation - 1);
  if (first >= extent) {
    t.end = 0;
  } else {
    const IndexT past = dilation_div.div(extent - 1 - first) + 1;  // taps with position <= extent - 1
    t.end = past < kernel ? past : kernel;
  }
  return t;
}

template <typename ElementT, typename IndexT, typename SwitchT>
__global__ void max_pool_kernel(MaxPoolParams<ElementT, IndexT, SwitchT> p) {
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
    const TapRange<IndexT> td = in_bounds_taps(d0, p.kernel[0], p.input.extent[0], p.dilation[0], p.dilation_div[0]);
    const TapRange<IndexT> th = in_bounds_taps(h0, p.kernel[1], p.input.extent[1], p.dilation[1], p.dilation_div[1]);
    const TapRange<IndexT> tw = in_bounds_taps(w0, p.kernel[2], p.input.extent[2], p.dilation[2], p.dilation_div[2]);
    for (IndexT kd = td.begin; kd < td.end; ++kd) {
      const IndexT id = d0 + kd * p.dilation[0];
      for (IndexT kh = th.begin; kh < th.end; ++kh) {
        const IndexT ih = h0 + kh * p.dilation[1];
        for (IndexT kw = tw.begin; kw < tw.end; ++kw) {
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
    p.indices[linear] = static_cast<SwitchT>(best_index);
  }
}

}  // namespace upsample::cuda

// Max-pooling with indices, and max-unpooling.
//
// max_pool_kernel: output-stationary, one thread per pooled element. It scans its window in
// (d, h, w) order over in-bounds positions only and keeps PyTorch's rule: a strictly greater
// value wins (so the first of equal maxima stays), and any NaN wins (so the last NaN stays).
// Values are compared in the accumulation type, which represents every f16/bf16 value exactly.
//
// Max-unpooling runs three passes (max_unpool.cu explains why a scatter alone cannot keep the
// promises of upsample.h):
//   1. max_unpool_check_kernel: every index is range-checked; the smallest logical position of
//      an offending index (in (n, c, d, h, w) order) is recorded with atomicMin. Nothing else is
//      written, so a bad call leaves y untouched.
//   2. max_unpool_elect_kernel: for every output element, the winner among the inputs that name
//      it is elected with atomicMax on (position within the input plane + 1): the latest input in
//      scan order wins — the documented duplicate rule, independent of thread timing.
//   3. max_unpool_write_kernel: output-stationary; each output element reads its winner (or
//      writes zero), so every element of y is written exactly once.
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

template <typename IndexT>
struct MaxUnpoolIndexParams {
  const int64_t* indices;
  DeviceTensor<IndexT> input;  // indices share the input's geometry
  int64_t output_plane;        // D_out * H_out * W_out
  unsigned int* winners;       // one per output element: 0 = none, else input plane position + 1
  unsigned long long* first_bad;  // smallest logical position of a bad index, ~0 if none
  int64_t work;
};

// Logical (n, c, d, h, w) position of an element: the order upsample.h reports bad indices in.
template <typename IndexT>
__device__ __forceinline__ unsigned long long logical_position(const DeviceTensor<IndexT>& t,
                                                               const Coordinates<IndexT>& q) {
  return ((((static_cast<unsigned long long>(q.n) * t.c + q.c) * t.extent[0] + q.d) * t.extent[1] + q.h) *
          t.extent[2]) + q.w;
}

template <typename IndexT>
__global__ void max_unpool_check_kernel(MaxUnpoolIndexParams<IndexT> p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.work; i += step) {
    const int64_t index = p.indices[i];
    if (index < 0 || index >= p.output_plane) {
      const Coordinates<IndexT> q = coordinates_of(p.input, static_cast<IndexT>(i));
      atomicMin(p.first_bad, logical_position(p.input, q));
    }
  }
}

template <typename IndexT>
__global__ void max_unpool_elect_kernel(MaxUnpoolIndexParams<IndexT> p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.work; i += step) {
    const Coordinates<IndexT> q = coordinates_of(p.input, static_cast<IndexT>(i));
    const IndexT plane_position = (q.d * p.input.extent[1] + q.h) * p.input.extent[2] + q.w;
    const int64_t plane_base = (static_cast<int64_t>(q.n) * p.input.c + q.c) * p.output_plane;
    atomicMax(p.winners + plane_base + p.indices[i], static_cast<unsigned int>(plane_position) + 1u);
  }
}

template <typename ElementT, typename IndexT>
struct MaxUnpoolWriteParams {
  const ElementT* x;
  ElementT* y;
  const unsigned int* winners;  // in canonical (n, c, plane) order
  DeviceTensor<IndexT> input;
  DeviceTensor<IndexT> output;
  int64_t work;
};

template <typename ElementT, typename IndexT>
__global__ void max_unpool_write_kernel(MaxUnpoolWriteParams<ElementT, IndexT> p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const IndexT input_hw = p.input.extent[1] * p.input.extent[2];
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.work; i += step) {
    const IndexT linear = static_cast<IndexT>(i);
    const Coordinates<IndexT> o = coordinates_of(p.output, linear);
    const int64_t canonical =
        ((static_cast<int64_t>(o.n) * p.output.c + o.c) * p.output.extent[0] + o.d) * p.output.extent[1] * p.output.extent[2] +
        static_cast<int64_t>(o.h) * p.output.extent[2] + o.w;
    const unsigned int winner = p.winners[canonical];
    ElementT value = ElementTraits<ElementT>::from_accum(0);
    if (winner != 0u) {
      const IndexT position = static_cast<IndexT>(winner - 1u);
      const IndexT d = position / input_hw, h = (position / p.input.extent[2]) % p.input.extent[1],
                   w = position % p.input.extent[2];
      value = p.x[p.input.offset(o.n, o.c, d, h, w)];
    }
    p.y[linear] = value;
  }
}

}  // namespace upsample::cuda

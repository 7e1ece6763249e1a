// Interpolation kernels, forward and backward, every mode (see interpolate_stencil.cuh for the
// per-axis rules). Both are output-stationary gathers written once per element, so nothing is
// zeroed first and nothing is atomic.
//
// - interpolate_forward_kernel: one thread computes kLanes consecutive elements of y in memory
//   order. Channels-first: kLanes = 1, one output element per thread, the flat index running over
//   N*C*D*H*W (parallel over N*C as well as space: a small grid with many channels still fills
//   the GPU). Channels-last: kLanes = 16 bytes of channels at one position when C is a multiple of
//   it and both pointers are 16-byte aligned (one stencil per vector, one 16-byte load per tap),
//   else kLanes = 1. y = sum over taps d, h, w of wd * (wh * (sum over w taps of ww * x)), in the
//   accumulation type (NOTE [ Accumulation types ]).
// - interpolate_backward_kernel: one thread per kLanes consecutive elements of dx. Per axis it
//   finds the outputs whose stencils touch its input index exactly (NOTE [ Exact inverse ranges ]),
//   then sums weight * dy over them in ascending (d, h, w) order: a fixed order, so the result is
//   bit-identical run to run (PyTorch's CUDA backward scatters with atomics instead).
#pragma once

#include "cuda/common/element.cuh"
#include "cuda/common/tensor.cuh"
#include "cuda/common/vector.cuh"
#include "cuda/interpolate/interpolate_stencil.cuh"

namespace upsample::cuda {

template <typename ElementT, typename IndexT>
struct InterpolateParams {
  using CoordT = typename ElementTraits<ElementT>::AccumT;
  const ElementT* source;  // forward: x; backward: dy
  ElementT* destination;   // forward: y; backward: dx
  DeviceTensor<IndexT> input;   // x / dx
  DeviceTensor<IndexT> output;  // y / dy
  InterpAxis<CoordT, IndexT> axis[3];
  int64_t work;  // destination vectors of kLanes elements
};

template <typename ElementT, typename IndexT, int kLanes>
__global__ void interpolate_forward_kernel(InterpolateParams<ElementT, IndexT> p) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  using Vec = LaneVector<ElementT, kLanes>;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    const IndexT first = static_cast<IndexT>(v) * kLanes;
    const Coordinates<IndexT> o = coordinates_of(p.output, first);
    const auto sd = make_stencil(p.axis[0], o.d);
    const auto sh = make_stencil(p.axis[1], o.h);
    const auto sw = make_stencil(p.axis[2], o.w);
    AccumT acc[kLanes];
#pragma unroll
    for (int l = 0; l < kLanes; ++l) acc[l] = 0;
    for (IndexT jd = 0; jd < sd.count; ++jd) {
      const AccumT wd = tap_weight(p.axis[0], sd, jd);
      const IndexT id = tap_index(p.axis[0], sd, jd);
      for (IndexT jh = 0; jh < sh.count; ++jh) {
        const AccumT wdh = wd * tap_weight(p.axis[1], sh, jh);
        const ElementT* row = p.source + p.input.offset(o.n, o.c, id, tap_index(p.axis[1], sh, jh), 0);
        AccumT partial[kLanes];
#pragma unroll
        for (int l = 0; l < kLanes; ++l) partial[l] = 0;
        for (IndexT jw = 0; jw < sw.count; ++jw) {
          const AccumT ww = tap_weight(p.axis[2], sw, jw);
          const Vec value = load_lanes<Vec>(row + tap_index(p.axis[2], sw, jw) * p.input.stride[2]);
#pragma unroll
          for (int l = 0; l < kLanes; ++l) partial[l] = fused_multiply_add(ww, Traits::to_accum(value.lane[l]), partial[l]);
        }
#pragma unroll
        for (int l = 0; l < kLanes; ++l) acc[l] = fused_multiply_add(wdh, partial[l], acc[l]);
      }
    }
    Vec out;
#pragma unroll
    for (int l = 0; l < kLanes; ++l) out.lane[l] = Traits::from_accum(acc[l]);
    store_lanes(p.destination + first, out);  // dense y: the linear position is the offset
  }
}

template <typename ElementT, typename IndexT, int kLanes>
__global__ void interpolate_backward_kernel(InterpolateParams<ElementT, IndexT> p) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  using Vec = LaneVector<ElementT, kLanes>;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    const IndexT first = static_cast<IndexT>(v) * kLanes;
    const Coordinates<IndexT> i = coordinates_of(p.input, first);
    IndexT d_begin, d_end, h_begin, h_end, w_begin, w_end;
    touching_outputs(p.axis[0], i.d, &d_begin, &d_end);
    touching_outputs(p.axis[1], i.h, &h_begin, &h_end);
    touching_outputs(p.axis[2], i.w, &w_begin, &w_end);
    AccumT acc[kLanes];
#pragma unroll
    for (int l = 0; l < kLanes; ++l) acc[l] = 0;
    for (IndexT od = d_begin; od < d_end; ++od) {
      const AccumT wd = weight_to(p.axis[0], make_stencil(p.axis[0], od), i.d);
      for (IndexT oh = h_begin; oh < h_end; ++oh) {
        const AccumT wdh = wd * weight_to(p.axis[1], make_stencil(p.axis[1], oh), i.h);
        const ElementT* row = p.source + p.output.offset(i.n, i.c, od, oh, 0);
        AccumT partial[kLanes];
#pragma unroll
        for (int l = 0; l < kLanes; ++l) partial[l] = 0;
        for (IndexT ow = w_begin; ow < w_end; ++ow) {
          const AccumT ww = weight_to(p.axis[2], make_stencil(p.axis[2], ow), i.w);
          const Vec g = load_lanes<Vec>(row + ow * p.output.stride[2]);
#pragma unroll
          for (int l = 0; l < kLanes; ++l) partial[l] = fused_multiply_add(ww, Traits::to_accum(g.lane[l]), partial[l]);
        }
#pragma unroll
        for (int l = 0; l < kLanes; ++l) acc[l] = fused_multiply_add(wdh, partial[l], acc[l]);
      }
    }
    Vec out;
#pragma unroll
    for (int l = 0; l < kLanes; ++l) out.lane[l] = Traits::from_accum(acc[l]);
    store_lanes(p.destination + first, out);  // dense dx: the linear position is the offset
  }
}

}  // namespace upsample::cuda

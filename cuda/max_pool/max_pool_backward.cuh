// Max-pooling backward (max-unpooling backward: cuda/max_unpool/).
//
// max_pool_backward_kernel: output-stationary over dx, deterministic, no atomics. A thread owns
// one dx element i and visits, in scan order (d, h, w), the pooled positions p whose window
// contains i (per axis: o*stride - padding + k*dilation = i for some 0 <= k < kernel; see
// window_axis); it adds dy[p] when indices[p] names i.
// Windows that overlap therefore sum in a fixed order, and an index that names no position of its
// own window is never matched (it contributes nothing, as upsample.h says). The sum is in the
// accumulation type, rounded once (NOTE [ Accumulation types ]).
//
// Where the windows tile dx (kernel == stride and dilation 1 on every axis, the common 2x2/2 of
// U-Nets and SegNet: cuda/common/pool_tile.cuh), each dx element has at most one contributor, the
// pooled position whose tile holds it, and the pass turns around (input-stationary over dy):
//   max_pool_backward_tiled_kernel — one thread per pooled position p reads dy[p] and its index
//     once and writes its whole tile of dx: dy[p] where the index names that position of its
//     window, 0 elsewhere (the tail past the last window, which no window holds, included). No
//     coordinate search per dx element, no division outside the position decode; every dx element
//     written exactly once. An index outside its own window matches nothing, as above.
//   max_pool_backward_tiled_vec16_kernel — the same for channels-last with C a multiple of the
//     16-byte lane count and dy, dx 16-byte aligned: one thread per 16 bytes of channels of one
//     pooled position; one 16-byte load of dy and the lanes' indices (all in flight before the
//     first store), then one 16-byte store per tile position, each lane dy or 0 by its own index.
//   max_pool_backward_tiled_cf_vec16_kernel — the same for channels-first with the W stride 2 or
//     4 fixed at compile time and windows that tile W exactly: one thread per lanes/stride
//     consecutive pooled positions of a dy row, whose windows are one 16-byte vector of each dx
//     row of the tile; one load of dy and their indices, then one 16-byte store per dx row.
// Both store dy[p] as the general kernel's one-term sum rounds it (0 + dy in the accumulation type:
// -0 becomes +0, a NaN stays NaN), so the two paths agree bit for bit.
#pragma once

#include "cuda/common/element.cuh"
#include "cuda/common/pool_tile.cuh"
#include "cuda/common/tensor.cuh"
#include "cuda/common/vector.cuh"

namespace upsample::cuda {

// ---------------------------------------------------------------------------------------------
// Max-pooling backward
// ---------------------------------------------------------------------------------------------
template <typename ElementT, typename IndexT, typename SwitchT>
struct MaxPoolBackwardParams {
  const ElementT* dy;
  const SwitchT* indices;  // dy's geometry; int64_t or int32_t
  ElementT* dx;
  DeviceTensor<IndexT> input;   // dx
  DeviceTensor<IndexT> output;  // dy and indices
  IndexT kernel[3], stride[3], padding[3], dilation[3];
  // stride and dilation as fast divisors (NOTE [ Fast division ]): window_axis and
  // window_candidate divide by them per element and per candidate; every dividend is >= 0.
  FastDivmod<IndexT> stride_div[3], dilation_div[3];
  FastDivmod<IndexT> c_vectors_div;  // C / 16-byte lanes: the tiled channels-last vec16 kernel's decode
  FastDivmod<IndexT> w_groups_div;   // dy W / kGroup: the tiled channels-first vec16 kernel's decode
  int64_t work;  // dx elements (general), dy elements (tiled), dy vectors (tiled cl) or groups (tiled cf)
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

template <typename ElementT, typename IndexT, typename SwitchT>
__global__ void max_pool_backward_kernel(MaxPoolBackwardParams<ElementT, IndexT, SwitchT> p) {
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

// ---------------------------------------------------------------------------------------------
// Max-pooling backward where the windows tile dx (stride == kernel, dilation 1)
// ---------------------------------------------------------------------------------------------
// What the general kernel stores for a dx element with the single contribution `g`: its sum
// 0 + g in the accumulation type, rounded.
template <typename ElementT>
__device__ __forceinline__ ElementT one_term_sum(ElementT g) {
  using Traits = ElementTraits<ElementT>;
  return Traits::from_accum(typename Traits::AccumT(0) + Traits::to_accum(g));
}

// Visits the dx rows of pooled position (od, oh)'s tile in (d, h) order: visit(dx row at w = 0,
// the row's flat position in the (n, c) plane, whether the row lies in the window). Rows of the
// tail past the last window are visited with `false`: a switch names a position of its own window
// only inside it. `origin` is dx at (n, c, 0, 0, 0).
template <typename ElementT, typename IndexT, typename SwitchT, typename Visit>
__device__ __forceinline__ void for_each_tile_row(const MaxPoolBackwardParams<ElementT, IndexT, SwitchT>& p,
                                                  ElementT* origin, IndexT od, IndexT oh, Visit&& visit) {
  const IndexT in_h = p.input.extent[1], in_w = p.input.extent[2];
  const PoolTile<IndexT> td = pool_tile(od, p.output.extent[0], p.input.extent[0], p.stride[0], p.padding[0]);
  const PoolTile<IndexT> th = pool_tile(oh, p.output.extent[1], in_h, p.stride[1], p.padding[1]);
  for (IndexT id = td.begin; id < td.end; ++id)
    for (IndexT ih = th.begin; ih < th.end; ++ih)
      visit(origin + id * p.input.stride[0] + ih * p.input.stride[1], (static_cast<int64_t>(id) * in_h + ih) * in_w,
            id < td.window_end && ih < th.window_end);
}

// The same per dx position of the tile of (od, oh, ow): visit(dx element, its flat plane position,
// whether it lies in the window).
template <typename ElementT, typename IndexT, typename SwitchT, typename Visit>
__device__ __forceinline__ void for_each_tile_position(const MaxPoolBackwardParams<ElementT, IndexT, SwitchT>& p,
                                                       ElementT* origin, IndexT od, IndexT oh, IndexT ow,
                                                       Visit&& visit) {
  const PoolTile<IndexT> tw = pool_tile(ow, p.output.extent[2], p.input.extent[2], p.stride[2], p.padding[2]);
  for_each_tile_row(p, origin, od, oh, [&](ElementT* dx_row, int64_t row, bool row_in_window) {
    for (IndexT iw = tw.begin; iw < tw.end; ++iw)
      visit(dx_row + iw * p.input.stride[2], row + iw, row_in_window && iw < tw.window_end);
  });
}

template <typename ElementT, typename IndexT, typename SwitchT>
__global__ void max_pool_backward_tiled_kernel(MaxPoolBackwardParams<ElementT, IndexT, SwitchT> p) {
  const ElementT zero = ElementTraits<ElementT>::from_accum(0);
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < p.work; item += step) {
    const IndexT linear = static_cast<IndexT>(item);
    const int64_t index = p.indices[linear];
    const ElementT value = one_term_sum(p.dy[linear]);
    const Coordinates<IndexT> o = coordinates_of(p.output, linear);
    for_each_tile_position(
        p, p.dx + p.input.offset(o.n, o.c, 0, 0, 0), o.d, o.h, o.w,
        [&](ElementT* at, int64_t position, bool in_window) { *at = in_window && position == index ? value : zero; });
  }
}

template <typename ElementT, typename IndexT, typename SwitchT>
__global__ void max_pool_backward_tiled_vec16_kernel(MaxPoolBackwardParams<ElementT, IndexT, SwitchT> p) {
  using Vector = Vector16<ElementT>;
  constexpr int kLanes = Vector::kLanes;
  const ElementT zero = ElementTraits<ElementT>::from_accum(0);
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    // Dense channels-last dy: vector v is channels [cv*kLanes, +kLanes) of pooled position
    // (n, od, oh, ow); its lane l is dy element v*kLanes + l.
    const auto dy = load_switched_group<kLanes>(p.dy, p.indices, static_cast<IndexT>(v) * kLanes);
    IndexT rest, n;
    const IndexT cv = p.c_vectors_div.divmod(static_cast<IndexT>(v), &rest);
    const IndexT ow = p.output.extent_div[2].divmod(rest, &rest);
    const IndexT oh = p.output.extent_div[1].divmod(rest, &rest);
    const IndexT od = p.output.extent_div[0].divmod(rest, &n);
    Vector value;
#pragma unroll
    for (int l = 0; l < kLanes; ++l) value.lane[l] = one_term_sum(dy.value.lane[l]);
    for_each_tile_position(p, p.dx + p.input.offset(n, cv * kLanes, 0, 0, 0), od, oh, ow,
                           [&](ElementT* at, int64_t position, bool in_window) {
                             Vector out;
#pragma unroll
                             for (int l = 0; l < kLanes; ++l)
                               out.lane[l] = in_window && dy.index[l] == position ? value.lane[l] : zero;
                             store_lanes(at, out);
                           });
  }
}

// Channels-first, W stride kScaleW (2 or 4) fixed at compile time with no W padding and no W tail
// (W_dx = W_dy * kScaleW), W_dx a multiple of the 16-byte lane count, dx 16-byte aligned and dy
// aligned to its group's bytes: one thread per kGroup = kLanes / kScaleW consecutive pooled
// positions of one dy row, whose windows span exactly one 16-byte vector of each dx row of the
// tile. One kGroup-element load of dy and kGroup index loads, then one 16-byte store per dx row:
// lane l belongs to pooled position l / kScaleW (a constant) and is its dy where its switch names
// that position, else 0.
template <typename ElementT, typename IndexT, typename SwitchT, int kScaleW>
__global__ void max_pool_backward_tiled_cf_vec16_kernel(MaxPoolBackwardParams<ElementT, IndexT, SwitchT> p) {
  using Vector = Vector16<ElementT>;
  constexpr int kLanes = Vector::kLanes;
  constexpr int kGroup = kLanes / kScaleW;
  static_assert(kGroup >= 1 && kGroup * kScaleW == kLanes, "kScaleW must divide the lane count");
  const ElementT zero = ElementTraits<ElementT>::from_accum(0);
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    // Dense channels-first dy: group v is pooled w in [g*kGroup, +kGroup) of dy row (n*C + c, od, oh).
    const auto dy = load_switched_group<kGroup>(p.dy, p.indices, static_cast<IndexT>(v) * kGroup);
    IndexT row, plane;
    const IndexT g = p.w_groups_div.divmod(static_cast<IndexT>(v), &row);
    const IndexT oh = p.output.extent_div[1].divmod(row, &row);
    const IndexT od = p.output.extent_div[0].divmod(row, &plane);  // plane = n*C + c
    ElementT value[kGroup];
#pragma unroll
    for (int j = 0; j < kGroup; ++j) value[j] = one_term_sum(dy.value.lane[j]);
    const IndexT w0 = g * kLanes;  // the group's first dx w
    for_each_tile_row(p, p.dx + plane * p.input.stride_c, od, oh,
                      [&](ElementT* dx_row, int64_t row_position, bool row_in_window) {
                        const int64_t base = row_position + w0;
                        Vector out;
#pragma unroll
                        for (int l = 0; l < kLanes; ++l)
                          out.lane[l] = row_in_window && dy.index[l / kScaleW] == base + l ? value[l / kScaleW] : zero;
                        store_lanes(dx_row + w0, out);
                      });
  }
}

}  // namespace upsample::cuda

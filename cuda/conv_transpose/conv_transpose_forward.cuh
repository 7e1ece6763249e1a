// Transposed-convolution kernels (1-, 2- and 3-D through the canonical 3-D geometry: see
// NOTE [ Canonical 3-D geometry ] in core/problem.h).
//
//   y[n, g*Cog + co, o] = bias[g*Cog + co] + sum_{ci in group g, k : o = i*stride - pad + k*dilation}
//                                            x[n, ci, i] * w[ci, co, k]
//
// Variants, picked by conv_transpose_forward.cu:
// - conv_transpose_scatter_kernel (SCATTER_ATOMIC): input-stationary. A thread takes one input
//   element and one output channel of its group and adds value * w into every output its kernel
//   copy lands on, with atomicAdd. The launcher first fills the accumulator with the bias (or
//   zero), because atomics can only add to what is there. f16/bf16 accumulate into a float
//   workspace (exact float additions, no packed half2 rounding), and a finalize pass converts.
// - conv_transpose_gather_tiled_kernel (GATHER): output-stationary and deterministic, see
//   NOTE [ Stride phases ]. A block owns one stride phase, a box of that phase's outputs and a
//   tile of output channels of one group; it stages a chunk of input channels' input box and
//   their weights (only the taps of its phase) in shared memory, and each thread accumulates one
//   output position for TileCo channels in registers.
// - conv_transpose_gather_direct_kernel (GATHER): the same sums in the same order, one output
//   element per thread reading global memory directly. It is the always-applicable path (any
//   kernel size, any tap count) taken when the tiled kernel's tiles would not fit.
// Both gather kernels add, for each output, ci ascending then taps (kd, kh, kw) ascending, with
// one fused multiply-add per term, so they are bit-identical to each other and run to run.
//
// NOTE [ Stride phases ]
// Per axis, an output o receives tap k from input i = (o + pad - k*dilation) / stride, only when
// that division is exact. Write o + pad = q*stride + r. For a fixed phase r, the taps that land
// are those with k*dilation = r (mod stride) — the same set for every output of the phase — and
// the input they read is i = q - m_k with m_k = (k*dilation - r) / stride. So each phase is an
// ordinary (stride-1) correlation over q with the sub-kernel of its taps: enumerating only those
// taps multiplies no inserted zero, and consecutive q read consecutive inputs, so a box of q
// positions needs one box of inputs, extended by m_max - m_min, which a block stages once.
#pragma once

#include "cuda/common/element.cuh"
#include "cuda/common/fast_divmod.cuh"
#include "cuda/common/index_math.cuh"
#include "cuda/common/tensor.cuh"
#include "cuda/conv_transpose/conv_transpose_geometry.cuh"

namespace upsample::cuda {

// Most taps of one phase on one axis the tiled kernel keeps in its tables.
inline constexpr int kMaxPhaseTaps = 32;

template <typename ElementT, typename IndexT>
struct ConvTransposeParams {
  const ElementT* x;
  const ElementT* w;
  ElementT* y;
  ConvTransposeGeometry<IndexT> geometry;
  int64_t work;
};

// ---------------------------------------------------------------------------------------------
// SCATTER_ATOMIC
// ---------------------------------------------------------------------------------------------

// Adds value * w[ci, co, k] into every output the kernel copy of input i lands on.
template <typename ElementT, typename AccumOutT, typename IndexT>
__device__ __forceinline__ void scatter_one_input(const ConvTransposeGeometry<IndexT>& g, const ElementT* w,
                                                  const Coordinates<IndexT>& i, IndexT co, IndexT out_channel,
                                                  typename ElementTraits<ElementT>::AccumT value,
                                                  AccumOutT* accumulator) {
  using Traits = ElementTraits<ElementT>;
  for (IndexT kd = 0; kd < g.weight.extent[0]; ++kd) {
    const IndexT od = i.d * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
    if (od < 0 || od >= g.output.extent[0]) continue;
    for (IndexT kh = 0; kh < g.weight.extent[1]; ++kh) {
      const IndexT oh = i.h * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
      if (oh < 0 || oh >= g.output.extent[1]) continue;
      for (IndexT kw = 0; kw < g.weight.extent[2]; ++kw) {
        const IndexT ow = i.w * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
        if (ow < 0 || ow >= g.output.extent[2]) continue;
        const auto weight = Traits::to_accum(w[g.weight.offset(i.c, co, kd, kh, kw)]);
        atomicAdd(accumulator + g.output.offset(i.n, out_channel, od, oh, ow), static_cast<AccumOutT>(value * weight));
      }
    }
  }
}

// AccumOutT is the type atomics add into: ElementT itself for f32/f64, float for f16/bf16
// (a workspace with y's geometry). `work` = input elements x C_out/groups, which may pass 2^31
// on the 32-bit path, hence the 64-bit divisor.
template <typename ElementT, typename AccumOutT, typename IndexT>
__global__ void conv_transpose_scatter_kernel(ConvTransposeParams<ElementT, IndexT> p, FastDivmodU64 cout_per_group,
                                              AccumOutT* accumulator) {
  using Traits = ElementTraits<ElementT>;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < p.work; item += step) {
    // Consecutive threads take consecutive output channels of one input element: x is read once
    // per warp and channels-last outputs are contiguous.
    uint64_t input_item;
    const IndexT co = static_cast<IndexT>(cout_per_group.divmod(static_cast<uint64_t>(item), &input_item));
    const IndexT input_linear = static_cast<IndexT>(input_item);
    const Coordinates<IndexT> i = coordinates_of(g.input, input_linear);
    const IndexT out_channel = g.cin_per_group_div.div(i.c) * g.cout_per_group + co;
    scatter_one_input<ElementT, AccumOutT, IndexT>(g, p.w, i, co, out_channel, Traits::to_accum(p.x[input_linear]),
                                                   accumulator);
  }
}

// y[i] = bias[c]: the starting value of a scatter that accumulates in y itself.
template <typename ElementT, typename IndexT>
__global__ void conv_transpose_fill_bias_kernel(ConvTransposeParams<ElementT, IndexT> p, const ElementT* bias) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.work; i += step) {
    const IndexT linear = static_cast<IndexT>(i);
    p.y[linear] = bias[coordinates_of(p.geometry.output, linear).c];
  }
}

// y[i] = narrow(epilogue(accumulator[i], c)): the end of an f16/bf16 scatter.
template <typename ElementT, typename IndexT, typename Epilogue>
__global__ void conv_transpose_finalize_kernel(ConvTransposeParams<ElementT, IndexT> p, Epilogue epilogue,
                                               const float* accumulator) {
  using Traits = ElementTraits<ElementT>;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.work; i += step) {
    const IndexT linear = static_cast<IndexT>(i);
    p.y[linear] = Traits::from_accum(epilogue.apply(accumulator[linear], coordinates_of(p.geometry.output, linear).c));
  }
}

// ---------------------------------------------------------------------------------------------
// GATHER, direct
// ---------------------------------------------------------------------------------------------

// The first tap k >= 0 with k*dilation = (o + pad) (mod stride), or `kernel` if there is none;
// the taps after it follow every stride/gcd(stride, dilation). See NOTE [ Stride phases ]. Both
// searches stop at `kernel`: only taps below it matter, and a stride of 2^31 must not mean 2^31
// iterations. o + pad and k*dilation are >= 0, as FastDivmod needs.
template <typename IndexT>
__device__ __forceinline__ IndexT first_phase_tap(IndexT o_plus_pad, const FastDivmod<IndexT>& stride,
                                                  IndexT dilation, IndexT kernel, IndexT* tap_step) {
  const IndexT r = stride.mod(o_plus_pad);
  IndexT k = 0;
  while (k < kernel && stride.mod(k * dilation) != r) ++k;
  IndexT step = 1;
  while (k + step < kernel && stride.mod((k + step) * dilation) != r) ++step;
  *tap_step = step;  // if k + step reaches kernel, the loop using it ends after k anyway
  return k;
}

// The taps of one output position's phase on each axis: the first one and the step between them.
template <typename IndexT>
struct PhaseTaps {
  IndexT o_plus_pad[3];
  IndexT first[3];
  IndexT step[3];
};

template <typename IndexT>
__device__ __forceinline__ PhaseTaps<IndexT> phase_taps_of(const ConvTransposeGeometry<IndexT>& g,
                                                          const Coordinates<IndexT>& o) {
  PhaseTaps<IndexT> t;
  const IndexT position[3] = {o.d, o.h, o.w};
#pragma unroll
  for (int a = 0; a < 3; ++a) {
    t.o_plus_pad[a] = position[a] + g.pad_begin[a];
    t.first[a] = first_phase_tap(t.o_plus_pad[a], g.stride_div[a], g.dilation[a], g.weight.extent[a], &t.step[a]);
  }
  return t;
}

// One output's sum over the input channels of its group and its phase's taps, in the order of
// NOTE [ Stride phases ]'s header comment (ci, then kd, kh, kw ascending), one FMA per term.
template <typename ElementT, typename IndexT>
__device__ __forceinline__ typename ElementTraits<ElementT>::AccumT gather_direct_sum(
    const ConvTransposeParams<ElementT, IndexT>& p, const Coordinates<IndexT>& o, IndexT group, IndexT co,
    const PhaseTaps<IndexT>& t) {
  using Traits = ElementTraits<ElementT>;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  typename Traits::AccumT sum = 0;
  for (IndexT cl = 0; cl < g.cin_per_group; ++cl) {
    const IndexT ci = group * g.cin_per_group + cl;
    // Within a phase, larger k reads smaller i: stop once i < 0, skip while i >= extent.
    for (IndexT kd = t.first[0]; kd < g.weight.extent[0]; kd += t.step[0]) {
      const IndexT td = t.o_plus_pad[0] - kd * g.dilation[0];
      if (td < 0) break;
      const IndexT id = g.stride_div[0].div(td);
      if (id >= g.input.extent[0]) continue;
      for (IndexT kh = t.first[1]; kh < g.weight.extent[1]; kh += t.step[1]) {
        const IndexT th = t.o_plus_pad[1] - kh * g.dilation[1];
        if (th < 0) break;
        const IndexT ih = g.stride_div[1].div(th);
        if (ih >= g.input.extent[1]) continue;
        for (IndexT kw = t.first[2]; kw < g.weight.extent[2]; kw += t.step[2]) {
          const IndexT tw = t.o_plus_pad[2] - kw * g.dilation[2];
          if (tw < 0) break;
          const IndexT iw = g.stride_div[2].div(tw);
          if (iw >= g.input.extent[2]) continue;
          sum = fused_multiply_add(Traits::to_accum(p.x[g.input.offset(o.n, ci, id, ih, iw)]),
                                   Traits::to_accum(p.w[g.weight.offset(ci, co, kd, kh, kw)]), sum);
        }
      }
    }
  }
  return sum;
}

template <typename ElementT, typename IndexT, typename Epilogue>
__global__ void conv_transpose_gather_direct_kernel(ConvTransposeParams<ElementT, IndexT> p, Epilogue epilogue) {
  using Traits = ElementTraits<ElementT>;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < p.work; item += step) {
    const IndexT linear = static_cast<IndexT>(item);
    const Coordinates<IndexT> o = coordinates_of(g.output, linear);
    IndexT group;
    const IndexT co = g.cout_per_group_div.divmod(o.c, &group);
    const auto sum = gather_direct_sum(p, o, group, co, phase_taps_of(g, o));
    p.y[linear] = Traits::from_accum(epilogue.apply(sum, o.c));
  }
}

// ---------------------------------------------------------------------------------------------
// GATHER, tiled
// ---------------------------------------------------------------------------------------------

// The tiled kernel's launch-time plan (all block-uniform; chosen by conv_transpose_forward.cu).
// The staged tiles have the plan's bounds as their fixed shapes (max_input_box, max_taps,
// cin_chunk), whatever the phase and chunk: so every index a thread decodes while staging is a
// division by a launch-time constant, done with the host-built divisors below
// (NOTE [ Fast division ]); a phase or chunk that fills less of a tile leaves the rest unread.
struct GatherTilePlan {
  int tile[3];           // output-box extent per axis, in q (phase sub-grid) units; blockDim.x = positions x co_groups
  int tiles[3];          // boxes per axis (the most any phase needs)
  int phases[3];         // = stride per axis
  int max_input_box[3];  // bound on tile + m_max - m_min per axis: the staged input box's shape
  int max_taps[3];       // bound on taps per phase per axis: the staged weights' shape
  int cin_chunk;         // input channels staged per step
  int co_groups;         // thread groups per block, each owning TileCo output channels of the tile
  int co_tiles;          // tiles of TileCo * co_groups output channels per group
  int64_t groups;        // C_in / cin_per_group
  int64_t blocks;        // total block work units
  // Work-unit decoding (once per block): boxes, phases, co tiles, groups.
  FastDivmodU64 tiles_div[3], phases_div[3], co_tiles_div, groups_div;
  // Thread decoding (once per thread): positions = tile product, then the tile's axes.
  FastDivmodU32 positions_div, tile_div[3];
  // Staging (per staged element): the tiles' shapes.
  FastDivmodU32 cin_chunk_div, input_box_div[3], max_taps_div[3], co_span_div;
};

template <typename ElementT, typename IndexT, typename Epilogue>
struct GatherTiledParams {
  ConvTransposeParams<ElementT, IndexT> conv;
  GatherTilePlan plan;
  Epilogue epilogue;
};

// One block work unit: (n, group, co tile, phase, box), box w fastest.
template <typename IndexT>
struct GatherUnit {
  IndexT n, group, co_tile;
  int phase[3];
  int box[3];
};

template <typename IndexT>
__device__ __forceinline__ GatherUnit<IndexT> decode_gather_unit(uint64_t block, const GatherTilePlan& plan) {
  GatherUnit<IndexT> u;
  uint64_t rest = block;
  for (int a = 2; a >= 0; --a) u.box[a] = static_cast<int>(plan.tiles_div[a].divmod(rest, &rest));
  for (int a = 2; a >= 0; --a) u.phase[a] = static_cast<int>(plan.phases_div[a].divmod(rest, &rest));
  u.co_tile = static_cast<IndexT>(plan.co_tiles_div.divmod(rest, &rest));
  uint64_t n;
  u.group = static_cast<IndexT>(plan.groups_div.divmod(rest, &n));
  u.n = static_cast<IndexT>(n);
  return u;
}

// Shared tap tables of a block's phase, per axis: kernel index and input shift m.
struct PhaseTapTables {
  int k[3][kMaxPhaseTaps];
  int m[3][kMaxPhaseTaps];
  int count[3];
};

// Threads 0..2 fill axis a's table: the taps k with k*dilation = r (mod stride), and
// m = (k*dilation - r) / stride (NOTE [ Stride phases ]). k*dilation + stride - r is positive
// (r < stride) and below 2^31 (the plan keeps (K-1)*dilation < 2^30, stride <= 64), so the fast
// unsigned division applies: it is divisible by stride exactly when k*dilation - r is.
template <typename IndexT>
__device__ __forceinline__ void build_phase_taps(const ConvTransposeGeometry<IndexT>& g, const int phase[3],
                                                 PhaseTapTables* tables) {
  for (int a = static_cast<int>(threadIdx.x); a < 3; a += static_cast<int>(blockDim.x)) {
    const int r = a == 0 ? phase[0] : (a == 1 ? phase[1] : phase[2]);  // a select, not a local-memory array
    const int stride = static_cast<int>(g.stride[a]), dilation = static_cast<int>(g.dilation[a]);
    int count = 0;
    for (int k = 0; k < static_cast<int>(g.weight.extent[a]) && count < kMaxPhaseTaps; ++k) {
      IndexT quotient;
      if (g.stride_div[a].divmod(static_cast<IndexT>(k * dilation + stride - r), &quotient) == 0) {
        tables->k[a][count] = k;
        tables->m[a][count] = static_cast<int>(quotient) - 1;
        ++count;
      }
    }
    tables->count[a] = count;
  }
}

// Where a block's box and a thread's position lie in a phase's q grid (NOTE [ Stride phases ]).
template <typename IndexT>
struct GatherBox {
  IndexT q[3];             // this thread's position
  IndexT input_origin[3];  // input coordinate of the staged box's first element
  int input_box[3];        // extent of the staged box this phase reads (<= plan.max_input_box)
  bool box_has_outputs;
  bool thread_has_output;
};

template <typename IndexT>
__device__ __forceinline__ GatherBox<IndexT> locate_gather_box(const ConvTransposeGeometry<IndexT>& g,
                                                              const GatherTilePlan& plan, const GatherUnit<IndexT>& u,
                                                              const int t[3], const PhaseTapTables& tables) {
  GatherBox<IndexT> b;
  b.box_has_outputs = true;
  b.thread_has_output = true;
#pragma unroll
  for (int a = 0; a < 3; ++a) {
    // Per block, not per element: the signed helpers' divisions stay out of the inner loops.
    const IndexT s = g.stride[a];
    const IndexT q_first = ceil_div<IndexT>(g.pad_begin[a] - u.phase[a], s);
    const IndexT q_last = floor_div<IndexT>(g.output.extent[a] - 1 + g.pad_begin[a] - u.phase[a], s);
    const IndexT box_first = q_first + static_cast<IndexT>(u.box[a]) * plan.tile[a];
    b.box_has_outputs = b.box_has_outputs && box_first <= q_last;
    b.q[a] = box_first + t[a];
    b.thread_has_output = b.thread_has_output && b.q[a] <= q_last;
    const int count = tables.count[a];
    const int m_min = count > 0 ? tables.m[a][0] : 0;
    const int m_max = count > 0 ? tables.m[a][count - 1] : 0;
    b.input_origin[a] = box_first - m_max;
    b.input_box[a] = plan.tile[a] + m_max - m_min;
  }
  b.thread_has_output = b.thread_has_output && b.box_has_outputs;
  return b;
}

// Stages x[n, group's channels c0 .. c0+chunk, input box] as x_tile[cin_chunk][box d][box h][box w]
// (the plan's shape), in the order that keeps global reads coalesced for the layout. Positions
// outside the input read as zero; channels past `chunk` and positions past the phase's box are
// never read by the accumulation and are not loaded.
template <typename ElementT, typename IndexT>
__device__ __forceinline__ void stage_input_chunk(const ConvTransposeParams<ElementT, IndexT>& p,
                                                  const GatherTilePlan& plan, const GatherUnit<IndexT>& u,
                                                  const GatherBox<IndexT>& b, IndexT c0, int chunk,
                                                  typename ElementTraits<ElementT>::AccumT* x_tile) {
  using Traits = ElementTraits<ElementT>;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const uint32_t box_volume =
      static_cast<uint32_t>(plan.max_input_box[0] * plan.max_input_box[1] * plan.max_input_box[2]);
  const uint32_t elements = static_cast<uint32_t>(plan.cin_chunk) * box_volume;
  for (uint32_t e = threadIdx.x; e < elements; e += blockDim.x) {
    uint32_t ci_local, ed, eh, ew, rest;
    if (g.input.channels_last) {
      ci_local = plan.cin_chunk_div.divmod(e, &rest);
      ew = plan.input_box_div[2].divmod(rest, &rest);
      eh = plan.input_box_div[1].divmod(rest, &ed);
    } else {
      ew = plan.input_box_div[2].divmod(e, &rest);
      eh = plan.input_box_div[1].divmod(rest, &rest);
      ed = plan.input_box_div[0].divmod(rest, &ci_local);
    }
    const IndexT id = b.input_origin[0] + static_cast<IndexT>(ed), ih = b.input_origin[1] + static_cast<IndexT>(eh),
                 iw = b.input_origin[2] + static_cast<IndexT>(ew);
    typename Traits::AccumT value = 0;
    const bool read = static_cast<int>(ci_local) < chunk && static_cast<int>(ed) < b.input_box[0] &&
                      static_cast<int>(eh) < b.input_box[1] && static_cast<int>(ew) < b.input_box[2];
    if (read && id >= 0 && id < g.input.extent[0] && ih >= 0 && ih < g.input.extent[1] && iw >= 0 &&
        iw < g.input.extent[2])
      value = Traits::to_accum(
          p.x[g.input.offset(u.n, u.group * g.cin_per_group + c0 + static_cast<IndexT>(ci_local), id, ih, iw)]);
    x_tile[((ci_local * plan.max_input_box[0] + ed) * plan.max_input_box[1] + eh) * plan.max_input_box[2] + ew] = value;
  }
}

// Stages the weights of the phase's taps for `chunk` input channels and the block's output
// channels as w_tile[cin_chunk][tap d][tap h][tap w][co_span] (the plan's shape; co fastest).
template <typename ElementT, typename IndexT>
__device__ __forceinline__ void stage_weight_chunk(const ConvTransposeParams<ElementT, IndexT>& p,
                                                   const GatherTilePlan& plan, const GatherUnit<IndexT>& u,
                                                   const PhaseTapTables& tables, IndexT c0, int chunk,
                                                   IndexT block_co_base,
                                                   typename ElementTraits<ElementT>::AccumT* w_tile) {
  using Traits = ElementTraits<ElementT>;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const uint32_t co_span = static_cast<uint32_t>(plan.co_span_div.divisor);
  const uint32_t elements =
      static_cast<uint32_t>(plan.cin_chunk * plan.max_taps[0] * plan.max_taps[1] * plan.max_taps[2]) * co_span;
  for (uint32_t e = threadIdx.x; e < elements; e += blockDim.x) {
    uint32_t rest, jd, ci_local;
    const uint32_t co_local = plan.co_span_div.divmod(e, &rest);
    const uint32_t jw = plan.max_taps_div[2].divmod(rest, &rest);
    const uint32_t jh = plan.max_taps_div[1].divmod(rest, &rest);
    jd = plan.max_taps_div[0].divmod(rest, &ci_local);
    const IndexT co = block_co_base + static_cast<IndexT>(co_local);
    typename Traits::AccumT value = 0;
    const bool read = static_cast<int>(ci_local) < chunk && static_cast<int>(jd) < tables.count[0] &&
                      static_cast<int>(jh) < tables.count[1] && static_cast<int>(jw) < tables.count[2];
    if (read && co < g.cout_per_group)
      value = Traits::to_accum(p.w[g.weight.offset(u.group * g.cin_per_group + c0 + static_cast<IndexT>(ci_local), co,
                                                   tables.k[0][jd], tables.k[1][jh], tables.k[2][jw])]);
    w_tile[e] = value;
  }
}

// The accumulation over one staged chunk: for each of `chunk` channels, the phase's taps
// (jd, jh, jw ascending) whose input lies inside x, TileCo FMAs per tap. No division: the
// staged tiles are indexed by products of the plan's shape.
template <typename AccumT, typename IndexT, int TileCo>
__device__ __forceinline__ void accumulate_chunk(const ConvTransposeGeometry<IndexT>& g, const GatherTilePlan& plan,
                                                 const PhaseTapTables& tables, const GatherBox<IndexT>& b, int chunk,
                                                 const AccumT* x_tile, const AccumT* w_channels, AccumT sum[TileCo]) {
  const int box_d = plan.max_input_box[0], box_h = plan.max_input_box[1], box_w = plan.max_input_box[2];
  const int taps_h = plan.max_taps[1], taps_w = plan.max_taps[2];
  const int co_span = static_cast<int>(plan.co_span_div.divisor);
  const int x_channel_stride = box_d * box_h * box_w;
  const int w_channel_stride = plan.max_taps[0] * taps_h * taps_w * co_span;
  for (int ci_local = 0; ci_local < chunk; ++ci_local) {
    const AccumT* x_channel = x_tile + ci_local * x_channel_stride;
    const AccumT* w_channel = w_channels + ci_local * w_channel_stride;
    for (int jd = 0; jd < tables.count[0]; ++jd) {
      const IndexT id = b.q[0] - tables.m[0][jd];
      if (id < 0 || id >= g.input.extent[0]) continue;
      const int ed = static_cast<int>(id - b.input_origin[0]);
      for (int jh = 0; jh < tables.count[1]; ++jh) {
        const IndexT ih = b.q[1] - tables.m[1][jh];
        if (ih < 0 || ih >= g.input.extent[1]) continue;
        const int eh = static_cast<int>(ih - b.input_origin[1]);
        for (int jw = 0; jw < tables.count[2]; ++jw) {
          const IndexT iw = b.q[2] - tables.m[2][jw];
          if (iw < 0 || iw >= g.input.extent[2]) continue;
          const int ew = static_cast<int>(iw - b.input_origin[2]);
          const AccumT value = x_channel[(ed * box_h + eh) * box_w + ew];
          const AccumT* weights = w_channel + ((jd * taps_h + jh) * taps_w + jw) * co_span;
#pragma unroll
          for (int j = 0; j < TileCo; ++j) sum[j] = fused_multiply_add(value, weights[j], sum[j]);
        }
      }
    }
  }
}

// Writes a thread's TileCo sums through the epilogue to y at its output position.
template <typename ElementT, typename IndexT, int TileCo, typename Epilogue>
__device__ __forceinline__ void store_gather_outputs(const ConvTransposeParams<ElementT, IndexT>& p,
                                                     const Epilogue& epilogue, const GatherUnit<IndexT>& u,
                                                     const GatherBox<IndexT>& b, IndexT co_base,
                                                     const typename ElementTraits<ElementT>::AccumT sum[TileCo]) {
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  IndexT o[3];
  for (int a = 0; a < 3; ++a) o[a] = b.q[a] * g.stride[a] + u.phase[a] - g.pad_begin[a];
#pragma unroll
  for (int j = 0; j < TileCo; ++j) {
    const IndexT co = co_base + j;
    if (co >= g.cout_per_group) break;
    const IndexT out_channel = u.group * g.cout_per_group + co;
    p.y[g.output.offset(u.n, out_channel, o[0], o[1], o[2])] =
        ElementTraits<ElementT>::from_accum(epilogue.apply(sum[j], out_channel));
  }
}

// The tiled gather: decode a work unit, build its phase's tap tables, then per chunk of input
// channels stage x and w and accumulate, and finally store through the epilogue.
template <typename ElementT, typename IndexT, int TileCo, typename Epilogue>
__global__ void conv_transpose_gather_tiled_kernel(GatherTiledParams<ElementT, IndexT, Epilogue> params) {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  const ConvTransposeParams<ElementT, IndexT>& p = params.conv;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const GatherTilePlan& plan = params.plan;
  __shared__ PhaseTapTables tables;
  UPS_DYNAMIC_SHARED(AccumT, shared);

  // blockDim.x = positions x co_groups: a thread owns one position of the output box (w fastest)
  // and the TileCo output channels of its channel group. Small boxes get several channel groups,
  // which share the staged input box.
  uint32_t co_group, rest, t_d;
  const uint32_t position = plan.positions_div.divmod(threadIdx.x, &co_group);
  const uint32_t t_w = plan.tile_div[2].divmod(position, &rest);
  const uint32_t t_h = plan.tile_div[1].divmod(rest, &t_d);
  const int t[3] = {static_cast<int>(t_d), static_cast<int>(t_h), static_cast<int>(t_w)};
  const int co_span = static_cast<int>(plan.co_span_div.divisor);  // output channels per block
  AccumT* x_tile = shared;  // [cin_chunk][box d][box h][box w]
  AccumT* w_tile = shared + plan.cin_chunk * plan.max_input_box[0] * plan.max_input_box[1] *
                                plan.max_input_box[2];  // [cin_chunk][tap d][tap h][tap w][co_span]

  for (int64_t block = blockIdx.x; block < plan.blocks; block += gridDim.x) {
    const GatherUnit<IndexT> u = decode_gather_unit<IndexT>(static_cast<uint64_t>(block), plan);
    __syncthreads();  // the previous work unit is done reading the tables
    build_phase_taps(g, u.phase, &tables);
    __syncthreads();
    const GatherBox<IndexT> b = locate_gather_box(g, plan, u, t, tables);
    // A phase with no taps on some axis (possible when gcd(stride, dilation) > 1) gets only the epilogue.
    const bool box_has_work = b.box_has_outputs && tables.count[0] * tables.count[1] * tables.count[2] > 0;
    AccumT sum[TileCo];
#pragma unroll
    for (int j = 0; j < TileCo; ++j) sum[j] = 0;
    const IndexT block_co_base = u.co_tile * co_span;
    for (IndexT c0 = 0; box_has_work && c0 < g.cin_per_group; c0 += plan.cin_chunk) {
      const int chunk = static_cast<int>(g.cin_per_group - c0 < plan.cin_chunk ? g.cin_per_group - c0 : plan.cin_chunk);
      stage_input_chunk(p, plan, u, b, c0, chunk, x_tile);
      stage_weight_chunk(p, plan, u, tables, c0, chunk, block_co_base, w_tile);
      __syncthreads();
      if (b.thread_has_output)
        accumulate_chunk<AccumT, IndexT, TileCo>(g, plan, tables, b, chunk, x_tile,
                                                 w_tile + static_cast<int>(co_group) * TileCo, sum);
      __syncthreads();  // the tiles are overwritten by the next chunk
    }
    if (b.thread_has_output)
      store_gather_outputs<ElementT, IndexT, TileCo>(p, params.epilogue, u, b,
                                                     block_co_base + static_cast<IndexT>(co_group) * TileCo, sum);
  }
}

}  // namespace upsample::cuda

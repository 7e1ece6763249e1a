// Transposed-convolution backward kernels: the data, weight and bias gradients (1-, 2- and 3-D
// through the canonical 3-D geometry: see NOTE [ Canonical 3-D geometry ] in core/problem.h).
//
//   data:   dx[n, ci, i]  = sum_{co in group g, k : o = i*stride - pad + k*dilation in dy}  dy[n, g*Cog + co, o] * w[ci, co, k]
//   weight: dw[ci, co, k] = sum_{n, i : o = i*stride - pad + k*dilation in dy}            x[n, ci, i] * dy[n, g*Cog + co, o]
//   bias:   db[c]         = sum_{n, o} dy[n, c, o]
//
// The data gradient is an ordinary strided convolution: it reads dy at computed positions, so no
// inserted zero (NOTE [ Stride phases ]) is ever multiplied; neither does the weight gradient,
// which walks real input positions only (see NOTE [ Weight-gradient reduction ]).
//
// Variants, picked by conv_transpose_backward.cu:
// - conv_transpose_data_grad_tiled_kernel (the data gradient; GATHER, deterministic): a block owns
//   a box of dx positions and a tile of input channels of one group; per chunk of output channels
//   it stages in shared memory the dy box its positions read (extent (box-1)*stride +
//   (k-1)*dilation + 1 per axis) and the chunk's weights, and each thread accumulates TileCi input
//   channels of one position in registers. Picked whenever its plan fits in shared memory.
// - conv_transpose_data_grad_kernel (GATHER): one dx element per thread, reading dy and w from
//   global memory; the always-applicable path (huge dilations, huge kernels).
//   Both narrow the taps per axis to those that land inside dy, then sum co ascending, taps
//   (kd, kh, kw) ascending, one fused multiply-add per term: the same fixed order, so they are
//   bit-identical to each other and run to run.
// - conv_transpose_weight_grad_kernel (the weight gradient): the blocked reduction of
//   NOTE [ Weight-gradient reduction ]. GATHER writes chunk sums (or, with one chunk, dw itself);
//   SCATTER_ATOMIC adds the chunk sums into the accumulator with atomicAdd (not deterministic).
// - conv_transpose_bias_grad_kernel (the bias gradient): the same scheme over (n, o) per channel.
// - grad_combine_kernel: adds the chunk sums of one element in ascending chunk order and rounds
//   once to the output dtype (GATHER with more than one chunk; also the f16/bf16 finalize of
//   SCATTER_ATOMIC, with one "chunk": the float accumulator).
//
// NOTE [ Weight-gradient reduction ]
// For one tap k, the input positions i whose landing o = i*stride - pad + k*dilation lies inside
// dy form a box (per axis, a range of i). The reduction of dw[ci, co, k] runs over the positions
// r = (n, i in that box) in scan order (n, d, h, w), so it visits only real terms. The order of
// every addition is fixed by the problem's shape alone:
//   1. the positions are cut into `chunks` consecutive runs of `chunk_length` positions (the plan
//      depends on the shape only, never on the GPU or on timing);
//   2. one block sums one chunk for a tile of (ci, co) of one group and one tap: thread (ti, tj, tr)
//      sums positions r = tr, tr + threads_r, ... of the chunk in ascending order, one fused
//      multiply-add per term;
//   3. the block's threads_r partial sums combine in a fixed binary tree (halving strides);
//   4. the chunk sums are stored to a workspace, [chunk][dw element], and grad_combine_kernel adds
//      them in ascending chunk order.
// So GATHER is bit-identical run to run. With one chunk, step 4 is skipped and the block writes dw.
// Positions are staged in shared memory `stage` at a time: x as [stage][ci tile], dy as
// [stage][co tile], in the order that keeps the global reads coalesced for the layout.
#pragma once

#include "cuda/common/element.cuh"
#include "cuda/common/fast_divmod.cuh"
#include "cuda/common/index_math.cuh"
#include "cuda/common/tensor.cuh"
#include "cuda/conv_transpose/conv_transpose_geometry.cuh"

namespace upsample::cuda {

// ---------------------------------------------------------------------------------------------
// Data gradient
// ---------------------------------------------------------------------------------------------
template <typename ElementT, typename IndexT>
struct ConvDataGradParams {
  const ElementT* dy;
  const ElementT* w;
  ElementT* dx;
  ConvTransposeGeometry<IndexT> geometry;  // input = dx, weight = w, output = dy
  int64_t work;                            // dx elements
};

// The taps k in [0, kernel) whose landing i*stride - pad + k*dilation lies in [0, extent).
template <typename IndexT>
__device__ __forceinline__ void landing_taps(IndexT base, IndexT dilation, IndexT kernel, IndexT extent, IndexT* first,
                                             IndexT* last) {
  const IndexT lo = ceil_div<IndexT>(-base, dilation);
  const IndexT hi = floor_div<IndexT>(extent - 1 - base, dilation);
  *first = lo > 0 ? lo : 0;
  *last = hi < kernel - 1 ? hi : kernel - 1;
}

template <typename ElementT, typename IndexT>
__global__ void conv_transpose_data_grad_kernel(ConvDataGradParams<ElementT, IndexT> p) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < p.work; item += step) {
    const IndexT linear = static_cast<IndexT>(item);
    const Coordinates<IndexT> i = coordinates_of(g.input, linear);
    const IndexT group = g.cin_per_group_div.div(i.c);
    const IndexT base_d = i.d * g.stride[0] - g.pad_begin[0];
    const IndexT base_h = i.h * g.stride[1] - g.pad_begin[1];
    const IndexT base_w = i.w * g.stride[2] - g.pad_begin[2];
    IndexT kd0, kd1, kh0, kh1, kw0, kw1;
    landing_taps(base_d, g.dilation[0], g.weight.extent[0], g.output.extent[0], &kd0, &kd1);
    landing_taps(base_h, g.dilation[1], g.weight.extent[1], g.output.extent[1], &kh0, &kh1);
    landing_taps(base_w, g.dilation[2], g.weight.extent[2], g.output.extent[2], &kw0, &kw1);
    AccumT sum = 0;
    for (IndexT co = 0; co < g.cout_per_group; ++co) {
      const IndexT out_channel = group * g.cout_per_group + co;
      for (IndexT kd = kd0; kd <= kd1; ++kd) {
        const IndexT od = base_d + kd * g.dilation[0];
        for (IndexT kh = kh0; kh <= kh1; ++kh) {
          const IndexT oh = base_h + kh * g.dilation[1];
          if (kw0 > kw1) continue;
          // Offsets of the row's first landing tap (inside dy, so every offset formed is one).
          const IndexT dy_row = g.output.offset(i.n, out_channel, od, oh, base_w + kw0 * g.dilation[2]);
          const IndexT w_row = g.weight.offset(i.c, co, kd, kh, kw0);
          const IndexT dy_step = g.dilation[2] * g.output.stride[2];
          for (IndexT j = 0; j <= kw1 - kw0; ++j)
            sum = fused_multiply_add(Traits::to_accum(p.dy[dy_row + j * dy_step]),
                                     Traits::to_accum(p.w[w_row + j * g.weight.stride[2]]), sum);
        }
      }
    }
    p.dx[linear] = Traits::from_accum(sum);  // dense dx: the linear position is the memory offset
  }
}

// The tiled kernel's launch-time plan (all block-uniform; chosen by conv_transpose_backward.cu).
// The staged tiles have fixed shapes (co_chunk channels, box, all taps), so every index decoded
// while staging is a division by a launch-time constant, done with the host-built divisors below
// (NOTE [ Fast division ]); a last chunk with fewer channels leaves the rest of its tile unread.
struct DataGradTilePlan {
  int tile[3];     // dx box extent per axis (positions); blockDim.x = tile product x ci_groups
  int tiles[3];    // boxes per axis
  int box[3];      // staged dy box per axis: (tile - 1)*stride + (kernel - 1)*dilation + 1
  int co_chunk;    // output channels staged per step
  int ci_groups;   // thread groups per block, each owning TileCi input channels of every position
  int ci_tiles;    // tiles of TileCi * ci_groups input channels per group
  int64_t groups;  // C_in / cin_per_group
  int64_t blocks;  // work units: n x groups x ci_tiles x boxes
  // Work-unit decoding (once per block), thread decoding (once per thread), staging (per element).
  FastDivmodU64 tiles_div[3], ci_tiles_div, groups_div;
  FastDivmodU32 positions_div, tile_div[3];
  FastDivmodU32 co_chunk_div, box_div[3], taps_div, kernel_div[3];
};

template <typename ElementT, typename IndexT>
struct DataGradTiledParams {
  ConvDataGradParams<ElementT, IndexT> grad;
  DataGradTilePlan plan;
};

// One block work unit: (n, group, ci tile, box d, box h, box w), box w fastest.
template <typename IndexT>
struct DataGradUnit {
  IndexT n, group, ci_tile;
  int box[3];
};

template <typename IndexT>
__device__ __forceinline__ DataGradUnit<IndexT> decode_data_grad_unit(uint64_t unit, const DataGradTilePlan& plan) {
  DataGradUnit<IndexT> u;
  uint64_t rest = unit, n;
  for (int a = 2; a >= 0; --a) u.box[a] = static_cast<int>(plan.tiles_div[a].divmod(rest, &rest));
  u.ci_tile = static_cast<IndexT>(plan.ci_tiles_div.divmod(rest, &rest));
  u.group = static_cast<IndexT>(plan.groups_div.divmod(rest, &n));
  u.n = static_cast<IndexT>(n);
  return u;
}

// A thread's dx position in its block's box, the box's dy origin, and the taps landing inside dy.
template <typename IndexT>
struct DataGradBox {
  IndexT i[3], origin[3], k_first[3], k_last[3];
  bool has_output;
};

template <typename IndexT>
__device__ __forceinline__ DataGradBox<IndexT> locate_data_grad_box(const ConvTransposeGeometry<IndexT>& g,
                                                                   const DataGradTilePlan& plan,
                                                                   const DataGradUnit<IndexT>& u, const int t[3]) {
  DataGradBox<IndexT> b;
  b.has_output = true;
#pragma unroll
  for (int a = 0; a < 3; ++a) {
    const IndexT box_first = static_cast<IndexT>(u.box[a]) * plan.tile[a];
    b.i[a] = box_first + t[a];
    b.has_output = b.has_output && b.i[a] < g.input.extent[a];
    b.origin[a] = box_first * g.stride[a] - g.pad_begin[a];
    landing_taps(b.i[a] * g.stride[a] - g.pad_begin[a], g.dilation[a], g.weight.extent[a], g.output.extent[a],
                 &b.k_first[a], &b.k_last[a]);
  }
  return b;
}

// Stages dy[n, the group's channels co0 .. co0+chunk, box] as dy_tile[co_chunk][box d][box h][box w]
// (zeros outside dy, never read), coalesced for the layout.
template <typename ElementT, typename IndexT>
__device__ __forceinline__ void stage_dy_chunk(const ConvDataGradParams<ElementT, IndexT>& p,
                                               const DataGradTilePlan& plan, const DataGradUnit<IndexT>& u,
                                               const DataGradBox<IndexT>& b, IndexT co0, int chunk,
                                               typename ElementTraits<ElementT>::AccumT* dy_tile) {
  using Traits = ElementTraits<ElementT>;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const uint32_t elements = static_cast<uint32_t>(plan.co_chunk * plan.box[0] * plan.box[1] * plan.box[2]);
  for (uint32_t e = threadIdx.x; e < elements; e += blockDim.x) {
    uint32_t c, ed, eh, ew, rest;
    if (g.output.channels_last) {
      c = plan.co_chunk_div.divmod(e, &rest);
      ew = plan.box_div[2].divmod(rest, &rest);
      eh = plan.box_div[1].divmod(rest, &ed);
    } else {
      ew = plan.box_div[2].divmod(e, &rest);
      eh = plan.box_div[1].divmod(rest, &rest);
      ed = plan.box_div[0].divmod(rest, &c);
    }
    const IndexT od = b.origin[0] + static_cast<IndexT>(ed), oh = b.origin[1] + static_cast<IndexT>(eh),
                 ow = b.origin[2] + static_cast<IndexT>(ew);
    typename Traits::AccumT value = 0;
    if (static_cast<int>(c) < chunk && od >= 0 && od < g.output.extent[0] && oh >= 0 && oh < g.output.extent[1] &&
        ow >= 0 && ow < g.output.extent[2])
      value = Traits::to_accum(
          p.dy[g.output.offset(u.n, u.group * g.cout_per_group + co0 + static_cast<IndexT>(c), od, oh, ow)]);
    dy_tile[((c * plan.box[0] + ed) * plan.box[1] + eh) * plan.box[2] + ew] = value;
  }
}

// Stages the chunk's weights for the block's input channels as w_tile[co_chunk][tap][ci_span],
// read in the weight's memory order (taps fastest channels-first, output channels fastest
// channels-last).
template <typename ElementT, typename IndexT>
__device__ __forceinline__ void stage_data_grad_weights(const ConvDataGradParams<ElementT, IndexT>& p,
                                                        const DataGradTilePlan& plan, IndexT group_ci,
                                                        IndexT ci_local_first, int ci_span, IndexT co0, int chunk,
                                                        typename ElementTraits<ElementT>::AccumT* w_tile) {
  using Traits = ElementTraits<ElementT>;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const uint32_t taps = plan.taps_div.divisor;
  const uint32_t elements = static_cast<uint32_t>(plan.co_chunk) * taps * static_cast<uint32_t>(ci_span);
  for (uint32_t e = threadIdx.x; e < elements; e += blockDim.x) {
    uint32_t c, tap, ci, rest;
    if (g.weight.channels_last) {
      c = plan.co_chunk_div.divmod(e, &rest);
      tap = plan.taps_div.divmod(rest, &ci);
    } else {
      tap = plan.taps_div.divmod(e, &rest);
      c = plan.co_chunk_div.divmod(rest, &ci);
    }
    uint32_t kd, kh;
    const uint32_t kw = plan.kernel_div[2].divmod(tap, &rest);
    kh = plan.kernel_div[1].divmod(rest, &kd);
    typename Traits::AccumT value = 0;
    if (static_cast<int>(c) < chunk && ci_local_first + static_cast<IndexT>(ci) < g.cin_per_group)
      value = Traits::to_accum(p.w[g.weight.offset(group_ci + ci_local_first + static_cast<IndexT>(ci),
                                                   co0 + static_cast<IndexT>(c), kd, kh, kw)]);
    w_tile[(c * taps + tap) * static_cast<uint32_t>(ci_span) + ci] = value;
  }
}

// The accumulation over one staged chunk in conv_transpose_data_grad_kernel's order (co
// ascending, landing taps ascending, one FMA each), TileCi channels per term. No division.
template <typename AccumT, typename IndexT, int TileCi>
__device__ __forceinline__ void accumulate_data_grad_chunk(const ConvTransposeGeometry<IndexT>& g,
                                                           const DataGradTilePlan& plan, const DataGradBox<IndexT>& b,
                                                           const int t[3], int chunk, int ci_span,
                                                           const AccumT* dy_tile, const AccumT* w_channels,
                                                           AccumT acc[TileCi]) {
  const int box_volume = plan.box[0] * plan.box[1] * plan.box[2];
  const int kh_extent = static_cast<int>(g.weight.extent[1]), kw_extent = static_cast<int>(g.weight.extent[2]);
  const int taps = static_cast<int>(plan.taps_div.divisor);
  for (int c = 0; c < chunk; ++c) {
    const AccumT* dy_channel = dy_tile + c * box_volume;
    const AccumT* w_channel = w_channels + c * taps * ci_span;
    for (IndexT kd = b.k_first[0]; kd <= b.k_last[0]; ++kd) {
      const int ed = static_cast<int>(t[0] * g.stride[0] + kd * g.dilation[0]);
      for (IndexT kh = b.k_first[1]; kh <= b.k_last[1]; ++kh) {
        const int eh = static_cast<int>(t[1] * g.stride[1] + kh * g.dilation[1]);
        const AccumT* dy_row = dy_channel + (ed * plan.box[1] + eh) * plan.box[2];
        const AccumT* w_row = w_channel + static_cast<int>((kd * kh_extent + kh) * kw_extent) * ci_span;
        for (IndexT kw = b.k_first[2]; kw <= b.k_last[2]; ++kw) {
          const AccumT value = dy_row[t[2] * g.stride[2] + kw * g.dilation[2]];
          const AccumT* weights = w_row + static_cast<int>(kw) * ci_span;
#pragma unroll
          for (int j = 0; j < TileCi; ++j) acc[j] = fused_multiply_add(value, weights[j], acc[j]);
        }
      }
    }
  }
}

// The data gradient with dy and w staged in shared memory. A block owns a box of dx positions of
// one n and a tile of input channels of one group; per chunk of output channels it stages the dy
// box those positions read (every landing of every tap) and the chunk's weights for its input
// channels, and each thread accumulates TileCi channels of one position in registers. Its sums
// run in conv_transpose_data_grad_kernel's order, so the two kernels give the same bits.
template <typename ElementT, typename IndexT, int TileCi>
__global__ void conv_transpose_data_grad_tiled_kernel(DataGradTiledParams<ElementT, IndexT> params) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  const ConvDataGradParams<ElementT, IndexT>& p = params.grad;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const DataGradTilePlan& plan = params.plan;
  UPS_DYNAMIC_SHARED(AccumT, shared);

  uint32_t ci_group, rest, t_d;
  const uint32_t position = plan.positions_div.divmod(threadIdx.x, &ci_group);  // w fastest
  const uint32_t t_w = plan.tile_div[2].divmod(position, &rest);
  const uint32_t t_h = plan.tile_div[1].divmod(rest, &t_d);
  const int t[3] = {static_cast<int>(t_d), static_cast<int>(t_h), static_cast<int>(t_w)};
  const int ci_span = TileCi * plan.ci_groups;
  AccumT* dy_tile = shared;                                                            // [co_chunk][box d][box h][box w]
  AccumT* w_tile = shared + plan.co_chunk * plan.box[0] * plan.box[1] * plan.box[2];  // [co_chunk][tap][ci_span]

  for (int64_t unit = blockIdx.x; unit < plan.blocks; unit += gridDim.x) {
    const DataGradUnit<IndexT> u = decode_data_grad_unit<IndexT>(static_cast<uint64_t>(unit), plan);
    const DataGradBox<IndexT> b = locate_data_grad_box(g, plan, u, t);
    const IndexT ci_local_first = u.ci_tile * ci_span;  // the block's first channel within the group
    const IndexT group_ci = u.group * g.cin_per_group;
    AccumT acc[TileCi];
#pragma unroll
    for (int j = 0; j < TileCi; ++j) acc[j] = 0;
    for (IndexT co0 = 0; co0 < g.cout_per_group; co0 += plan.co_chunk) {
      const int chunk = static_cast<int>(g.cout_per_group - co0 < plan.co_chunk ? g.cout_per_group - co0 : plan.co_chunk);
      __syncthreads();  // the previous chunk's readers are done with the tiles
      stage_dy_chunk(p, plan, u, b, co0, chunk, dy_tile);
      stage_data_grad_weights(p, plan, group_ci, ci_local_first, ci_span, co0, chunk, w_tile);
      __syncthreads();
      if (b.has_output)
        accumulate_data_grad_chunk<AccumT, IndexT, TileCi>(g, plan, b, t, chunk, ci_span, dy_tile,
                                                           w_tile + static_cast<int>(ci_group) * TileCi, acc);
    }
    if (b.has_output) {
#pragma unroll
      for (int j = 0; j < TileCi; ++j) {
        const IndexT ci_local = ci_local_first + static_cast<IndexT>(ci_group) * TileCi + j;
        if (ci_local >= g.cin_per_group) break;
        p.dx[g.input.offset(u.n, group_ci + ci_local, b.i[0], b.i[1], b.i[2])] = Traits::from_accum(acc[j]);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Weight gradient: see NOTE [ Weight-gradient reduction ]
// ---------------------------------------------------------------------------------------------
// What a reduction block does with its sums (block-uniform; GATHER never reaches the atomic).
enum class GradEpilogue : int {
  kStore = 0,         // the only chunk: round and write the gradient itself
  kStorePartial = 1,  // GATHER: write the chunk sum to partial[chunk][element]
  kAtomicAdd = 2      // SCATTER_ATOMIC: atomicAdd the chunk sum into the accumulator
};

struct WeightGradPlan {
  int threads_ci;        // thread grid of a block, (ti, tj, tr) with tr fastest;
  int threads_co;        //   blockDim.x = threads_ci * threads_co * threads_r,
  int threads_r;         //   each a power of two
  int stage;             // positions staged in shared memory per step (a multiple of threads_r)
  int64_t ci_tiles;      // tiles of threads_ci * Micro input channels per group
  int64_t co_tiles;      // tiles of threads_co * Micro output channels per group
  int64_t taps;          // kd * kh * kw
  int64_t chunks;        // runs each tap's positions are cut into
  int64_t chunk_length;  // positions per run (a multiple of stage)
  int64_t blocks;        // work units: groups x ci_tiles x co_tiles x taps x chunks
  GradEpilogue epilogue;
  // Work-unit decoding (once per block) and staging (per staged value): NOTE [ Fast division ].
  FastDivmodU64 chunks_div, taps_div, co_tiles_div, ci_tiles_div, kernel_div[3];
  FastDivmodU32 stage_div, tile_ci_div, tile_co_div;  // tile_ci = threads_ci * Micro, tile_co likewise
};

template <typename ElementT, typename IndexT>
struct WeightGradParams {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  const ElementT* x;
  const ElementT* dy;
  ElementT* dw;     // kStore
  AccumT* partial;  // kStorePartial: [chunks][dw elements, dw's memory order]; kAtomicAdd: the accumulator
  ConvTransposeGeometry<IndexT> geometry;  // input = x, weight = dw, output = dy
  WeightGradPlan plan;
};

// Dynamic shared memory of the weight-gradient kernel, in bytes, for a plan and micro-tile.
template <typename AccumT, typename IndexT>
__host__ __device__ __forceinline__ int64_t weight_grad_shared_bytes(const WeightGradPlan& plan, int micro) {
  const int64_t threads = int64_t{plan.threads_ci} * plan.threads_co * plan.threads_r;
  const int64_t tiles = int64_t{plan.stage} * (int64_t{plan.threads_ci} + plan.threads_co) * micro;
  const int64_t tree = plan.threads_r > 1 ? threads * micro * micro : 0;
  return 2 * int64_t{plan.stage} * static_cast<int64_t>(sizeof(IndexT)) +
         (tiles + tree) * static_cast<int64_t>(sizeof(AccumT));
}

// One reduction block's work: a tap k, a chunk of its positions, a (ci, co) tile of one group.
template <typename IndexT>
struct WeightGradUnit {
  int64_t chunk;
  IndexT k[3];
  IndexT group, ci_tile, co_tile;
};

template <typename IndexT>
__device__ __forceinline__ WeightGradUnit<IndexT> decode_weight_grad_unit(uint64_t unit, const WeightGradPlan& plan) {
  // (group, ci tile, co tile, tap, chunk), chunk fastest; the tap as (kd, kh, kw), kw fastest.
  WeightGradUnit<IndexT> u;
  uint64_t rest = unit, tap, kd;
  u.chunk = static_cast<int64_t>(plan.chunks_div.divmod(rest, &rest));
  tap = plan.taps_div.divmod(rest, &rest);
  u.co_tile = static_cast<IndexT>(plan.co_tiles_div.divmod(rest, &rest));
  uint64_t group;
  u.ci_tile = static_cast<IndexT>(plan.ci_tiles_div.divmod(rest, &group));
  u.group = static_cast<IndexT>(group);
  u.k[2] = static_cast<IndexT>(plan.kernel_div[2].divmod(tap, &tap));
  u.k[1] = static_cast<IndexT>(plan.kernel_div[1].divmod(tap, &kd));
  u.k[0] = static_cast<IndexT>(kd);
  return u;
}

// The box of input positions whose landing for tap k lies inside dy, per axis, and the divisors
// that turn a position index of the box into (n, d, h, w).
template <typename IndexT>
struct WeightGradBox {
  IndexT first[3], extent[3], landing[3];  // o = i*stride + landing
  int64_t positions;                       // n x box volume
  FastDivmod<IndexT> extent_div[3];        // 32-bit path only: built per block
};

template <typename IndexT>
__device__ __forceinline__ WeightGradBox<IndexT> locate_weight_grad_box(const ConvTransposeGeometry<IndexT>& g,
                                                                       const IndexT k[3]) {
  WeightGradBox<IndexT> b;
  b.positions = g.input.n;
#pragma unroll
  for (int a = 0; a < 3; ++a) {
    b.landing[a] = k[a] * g.dilation[a] - g.pad_begin[a];
    IndexT first = ceil_div<IndexT>(-b.landing[a], g.stride[a]);
    IndexT last = floor_div<IndexT>(g.output.extent[a] - 1 - b.landing[a], g.stride[a]);
    if (first < 0) first = 0;
    if (last > g.input.extent[a] - 1) last = g.input.extent[a] - 1;
    b.first[a] = first;
    b.extent[a] = last >= first ? last - first + 1 : 0;
    b.positions *= b.extent[a];
    // Once per block (NOTE [ Fast division ]): the 32-bit divisor is built here, where the box
    // is known; the 64-bit path divides the rows with `/` below.
    if constexpr (sizeof(IndexT) == 4) b.extent_div[a] = FastDivmod<IndexT>(b.extent[a]);
  }
  return b;
}

// Position q of the box (scan order n, d, h, w) as (n, d, h, w) offsets into the box.
template <typename IndexT>
__device__ __forceinline__ void box_position(const WeightGradBox<IndexT>& b, int64_t q, IndexT* n, IndexT* d,
                                             IndexT* h, IndexT* w) {
  if constexpr (sizeof(IndexT) == 4) {
    IndexT rest;  // positions < 2^31 on the 32-bit path (they are input elements)
    *w = b.extent_div[2].divmod(static_cast<IndexT>(q), &rest);
    *h = b.extent_div[1].divmod(rest, &rest);
    *d = b.extent_div[0].divmod(rest, n);
  } else {
    *w = static_cast<IndexT>(q % b.extent[2]);
    q /= b.extent[2];
    *h = static_cast<IndexT>(q % b.extent[1]);
    q /= b.extent[1];
    *d = static_cast<IndexT>(q % b.extent[0]);
    *n = static_cast<IndexT>(q / b.extent[0]);
  }
}

__host__ __device__ __forceinline__ int stage_rows(const WeightGradPlan& plan) {
  return static_cast<int>(plan.stage_div.divisor);  // = plan.stage
}

// Shared memory of one reduction step: row offsets (x, dy) | x [stage][tile_ci] | dy [stage][tile_co] | tree.
template <typename AccumT, typename IndexT>
struct WeightGradShared {
  IndexT* x_row;
  IndexT* dy_row;
  AccumT* x_tile;
  AccumT* dy_tile;
  AccumT* tree;
};

// One staging step: the x and dy offsets (at channel 0) of `rows` positions from step_begin, then
// x [rows][tile_ci] and dy [rows][tile_co]: channel fastest in channels-last (those are
// contiguous), position fastest in channels-first. Channels past the group stay zero and are
// never written out.
template <typename ElementT, typename IndexT>
__device__ __forceinline__ void stage_weight_grad_step(
    const WeightGradParams<ElementT, IndexT>& p, const WeightGradBox<IndexT>& b, int64_t step_begin, int rows,
    int tile_ci, int tile_co, IndexT ci_first, IndexT co_first, IndexT ci_count, IndexT co_count,
    const WeightGradShared<typename ElementTraits<ElementT>::AccumT, IndexT>& sh) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const int threads = static_cast<int>(blockDim.x), tid = static_cast<int>(threadIdx.x);
  for (int r = tid; r < rows; r += threads) {
    IndexT n, d, h, w;
    box_position(b, step_begin + r, &n, &d, &h, &w);
    const IndexT id = b.first[0] + d, ih = b.first[1] + h, iw = b.first[2] + w;
    sh.x_row[r] = g.input.offset(n, 0, id, ih, iw);
    sh.dy_row[r] = g.output.offset(n, 0, id * g.stride[0] + b.landing[0], ih * g.stride[1] + b.landing[1],
                                   iw * g.stride[2] + b.landing[2]);
  }
  __syncthreads();
  // The tiles as [stage][channels], indexed through the plan's divisors; in the last step rows
  // past `rows` are skipped (never read).
  const bool channels_last = g.input.channels_last;
  const WeightGradPlan& plan = p.plan;
  for (uint32_t e = tid; e < static_cast<uint32_t>(stage_rows(plan) * tile_ci); e += threads) {
    uint32_t c, r;
    if (channels_last) c = plan.tile_ci_div.divmod(e, &r);
    else r = plan.stage_div.divmod(e, &c);
    if (static_cast<int>(r) >= rows) continue;
    sh.x_tile[r * tile_ci + c] = static_cast<IndexT>(c) < ci_count
                                     ? Traits::to_accum(p.x[sh.x_row[r] + (ci_first + static_cast<IndexT>(c)) * g.input.stride_c])
                                     : AccumT(0);
  }
  for (uint32_t e = tid; e < static_cast<uint32_t>(stage_rows(plan) * tile_co); e += threads) {
    uint32_t c, r;
    if (channels_last) c = plan.tile_co_div.divmod(e, &r);
    else r = plan.stage_div.divmod(e, &c);
    if (static_cast<int>(r) >= rows) continue;
    sh.dy_tile[r * tile_co + c] = static_cast<IndexT>(c) < co_count
                                      ? Traits::to_accum(p.dy[sh.dy_row[r] + (co_first + static_cast<IndexT>(c)) * g.output.stride_c])
                                      : AccumT(0);
  }
}

// A thread's Micro x Micro FMAs over the staged rows r = tr, tr + threads_r, ... (ascending).
template <typename AccumT, int Micro>
__device__ __forceinline__ void accumulate_weight_grad_step(const WeightGradPlan& plan, int rows, int ti, int tj,
                                                            int tr, int tile_ci, int tile_co, const AccumT* x_tile,
                                                            const AccumT* dy_tile, AccumT acc[Micro][Micro]) {
  for (int r = tr; r < rows; r += plan.threads_r) {
    AccumT a[Micro], b[Micro];
#pragma unroll
    for (int m = 0; m < Micro; ++m) a[m] = x_tile[r * tile_ci + ti + m * plan.threads_ci];
#pragma unroll
    for (int l = 0; l < Micro; ++l) b[l] = dy_tile[r * tile_co + tj + l * plan.threads_co];
#pragma unroll
    for (int m = 0; m < Micro; ++m)
#pragma unroll
      for (int l = 0; l < Micro; ++l) acc[m][l] = fused_multiply_add(a[m], b[l], acc[m][l]);
  }
}

// The threads_r partial sums of each (ti, tj) meet in a fixed tree (tr is fastest in tid).
template <typename AccumT, int Micro>
__device__ __forceinline__ void reduce_weight_grad_tree(const WeightGradPlan& plan, int tr, AccumT* tree,
                                                        AccumT acc[Micro][Micro]) {
  const int threads = static_cast<int>(blockDim.x), tid = static_cast<int>(threadIdx.x);
  __syncthreads();
#pragma unroll
  for (int m = 0; m < Micro; ++m)
#pragma unroll
    for (int l = 0; l < Micro; ++l) tree[(m * Micro + l) * threads + tid] = acc[m][l];
  __syncthreads();
  for (int half = plan.threads_r / 2; half > 0; half /= 2) {
    if (tr < half) {
#pragma unroll
      for (int m = 0; m < Micro; ++m)
#pragma unroll
        for (int l = 0; l < Micro; ++l)
          tree[(m * Micro + l) * threads + tid] += tree[(m * Micro + l) * threads + tid + half];
    }
    __syncthreads();
  }
#pragma unroll
  for (int m = 0; m < Micro; ++m)
#pragma unroll
    for (int l = 0; l < Micro; ++l) acc[m][l] = tree[(m * Micro + l) * threads + tid];
}

// The plan's epilogue for one finished dw element (NOTE [ Weight-gradient reduction ], step 4).
template <typename ElementT, typename IndexT>
__device__ __forceinline__ void finish_weight_grad_element(const WeightGradParams<ElementT, IndexT>& p,
                                                           int64_t chunk, IndexT element,
                                                           typename ElementTraits<ElementT>::AccumT value) {
  switch (p.plan.epilogue) {
    case GradEpilogue::kStore: p.dw[element] = ElementTraits<ElementT>::from_accum(value); break;
    case GradEpilogue::kStorePartial:
      p.partial[chunk * (static_cast<int64_t>(p.geometry.weight.n) * p.geometry.weight.stride_n) + element] = value;
      break;
    case GradEpilogue::kAtomicAdd: atomicAdd(p.partial + element, value); break;
  }
}

// Micro: each thread owns a Micro x Micro tile of (ci, co), strided by the thread grid.
template <typename ElementT, typename IndexT, int Micro>
__global__ void conv_transpose_weight_grad_kernel(WeightGradParams<ElementT, IndexT> p) {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const WeightGradPlan& plan = p.plan;
  const int tid = static_cast<int>(threadIdx.x);
  const int tr = tid % plan.threads_r;  // once per thread: the thread grid's coordinates
  const int tj = (tid / plan.threads_r) % plan.threads_co;
  const int ti = tid / (plan.threads_r * plan.threads_co);
  const int tile_ci = plan.threads_ci * Micro, tile_co = plan.threads_co * Micro;
  const int stage = plan.stage;
  UPS_DYNAMIC_SHARED(unsigned char, shared_bytes);
  WeightGradShared<AccumT, IndexT> sh;
  sh.x_row = reinterpret_cast<IndexT*>(shared_bytes);
  sh.dy_row = sh.x_row + stage;
  sh.x_tile = reinterpret_cast<AccumT*>(sh.dy_row + stage);
  sh.dy_tile = sh.x_tile + stage * tile_ci;
  sh.tree = sh.dy_tile + stage * tile_co;

  for (int64_t unit = blockIdx.x; unit < plan.blocks; unit += gridDim.x) {
    const WeightGradUnit<IndexT> u = decode_weight_grad_unit<IndexT>(static_cast<uint64_t>(unit), plan);
    const WeightGradBox<IndexT> b = locate_weight_grad_box(g, u.k);
    const int64_t begin = u.chunk * plan.chunk_length;
    const int64_t end = begin + plan.chunk_length < b.positions ? begin + plan.chunk_length : b.positions;
    const IndexT ci_first = u.group * g.cin_per_group + u.ci_tile * tile_ci;  // this tile's first channels
    const IndexT co_first_local = u.co_tile * tile_co;
    const IndexT ci_count = g.cin_per_group - u.ci_tile * tile_ci;  // channels left in the group
    const IndexT co_count = g.cout_per_group - co_first_local;
    AccumT acc[Micro][Micro];
#pragma unroll
    for (int m = 0; m < Micro; ++m)
#pragma unroll
      for (int l = 0; l < Micro; ++l) acc[m][l] = 0;
    for (int64_t step_begin = begin; step_begin < end; step_begin += stage) {
      const int rows = static_cast<int>(end - step_begin < stage ? end - step_begin : stage);
      __syncthreads();  // the previous step's readers are done with the tiles and offsets
      stage_weight_grad_step(p, b, step_begin, rows, tile_ci, tile_co, ci_first,
                             u.group * g.cout_per_group + co_first_local, ci_count, co_count, sh);
      __syncthreads();
      accumulate_weight_grad_step<AccumT, Micro>(plan, rows, ti, tj, tr, tile_ci, tile_co, sh.x_tile, sh.dy_tile, acc);
    }
    if (plan.threads_r > 1) reduce_weight_grad_tree<AccumT, Micro>(plan, tr, sh.tree, acc);
    if (tr != 0) continue;
#pragma unroll
    for (int m = 0; m < Micro; ++m) {
      const int ci_local = ti + m * plan.threads_ci;
      if (ci_local >= ci_count) continue;
#pragma unroll
      for (int l = 0; l < Micro; ++l) {
        const int co_local = tj + l * plan.threads_co;
        if (co_local >= co_count) continue;
        finish_weight_grad_element(p, u.chunk,
                                   g.weight.offset(ci_first + ci_local, co_first_local + co_local, u.k[0], u.k[1], u.k[2]),
                                   acc[m][l]);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Bias gradient: the NOTE [ Weight-gradient reduction ] scheme over (n, o) per channel
// ---------------------------------------------------------------------------------------------
inline constexpr int kBiasGradThreads = 256;

struct BiasGradPlan {
  int threads_c;         // channels per block (consecutive: coalesced in channels-last)
  int threads_r;         // positions per channel in flight; threads_c * threads_r = kBiasGradThreads
  int64_t c_tiles;       // tiles of threads_c channels
  int64_t chunks;        // runs the (n, o) positions are cut into
  int64_t chunk_length;  // positions per run
  int64_t blocks;        // work units: c_tiles x chunks
  GradEpilogue epilogue;
};

template <typename ElementT, typename IndexT>
struct BiasGradParams {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  const ElementT* dy;
  ElementT* db;     // kStore
  AccumT* partial;  // kStorePartial: [chunks][C]; kAtomicAdd: the accumulator
  DeviceTensor<IndexT> output;  // dy
  IndexT position_stride;       // memory distance of consecutive (d, h, w) positions: 1 or C
  FastDivmod<IndexT> plane_div;  // D * H * W of dy (NOTE [ Fast division ])
  BiasGradPlan plan;
};

template <typename ElementT, typename IndexT>
__global__ void conv_transpose_bias_grad_kernel(BiasGradParams<ElementT, IndexT> p) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  __shared__ AccumT tree[kBiasGradThreads];
  const BiasGradPlan& plan = p.plan;
  const int tid = static_cast<int>(threadIdx.x);
  const int tc = tid % plan.threads_c;  // channel fastest: a warp reads consecutive channels
  const int tr = tid / plan.threads_c;
  // Not plane_div's divisor: an empty plane (0) is a divisor of 1 there.
  const int64_t positions = static_cast<int64_t>(p.output.n) * p.output.extent[0] * p.output.extent[1] * p.output.extent[2];
  for (int64_t unit = blockIdx.x; unit < plan.blocks; unit += gridDim.x) {
    const int64_t chunk = unit % plan.chunks;
    const IndexT c = static_cast<IndexT>(unit / plan.chunks) * plan.threads_c + tc;
    const int64_t begin = chunk * plan.chunk_length;
    const int64_t end = begin + plan.chunk_length < positions ? begin + plan.chunk_length : positions;
    AccumT sum = 0;
    if (c < p.output.c)
      for (int64_t q = begin + tr; q < end; q += plan.threads_r) {
        IndexT n;  // q < N * plane, which fits IndexT (NOTE [ Index width ])
        const IndexT position = p.plane_div.divmod(static_cast<IndexT>(q), &n);
        sum += Traits::to_accum(p.dy[n * p.output.stride_n + c * p.output.stride_c + position * p.position_stride]);
      }
    __syncthreads();  // the previous unit's readers are done with the tree
    tree[tid] = sum;
    __syncthreads();
    for (int half = plan.threads_r / 2; half > 0; half /= 2) {
      if (tr < half) tree[tid] += tree[tid + half * plan.threads_c];
      __syncthreads();
    }
    if (tr == 0 && c < p.output.c) {
      const AccumT total = tree[tid];
      switch (plan.epilogue) {
        case GradEpilogue::kStore: p.db[c] = Traits::from_accum(total); break;
        case GradEpilogue::kStorePartial: p.partial[chunk * p.output.c + c] = total; break;
        case GradEpilogue::kAtomicAdd: atomicAdd(p.partial + c, total); break;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The fixed-order combine of chunk sums
// ---------------------------------------------------------------------------------------------
template <typename ElementT>
struct GradCombineParams {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  const AccumT* partial;  // [chunks][elements]
  ElementT* out;
  int64_t elements;
  int64_t chunks;
};

template <typename ElementT>
__global__ void grad_combine_kernel(GradCombineParams<ElementT> p) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < p.elements; e += step) {
    AccumT sum = p.partial[e];
    for (int64_t chunk = 1; chunk < p.chunks; ++chunk) sum += p.partial[chunk * p.elements + e];
    p.out[e] = Traits::from_accum(sum);
  }
}

}  // namespace upsample::cuda

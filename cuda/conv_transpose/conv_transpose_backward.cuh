// Transposed-convolution backward kernels: the data, weight and bias gradients (1-, 2- and 3-D
// through the canonical 3-D geometry: see NOTE [ Canonical 3-D geometry ] in src/problem.h).
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
#include "cuda/common/tensor.cuh"
#include "cuda/conv_transpose/conv_transpose_forward.cuh"  // ConvTransposeGeometry, floor_div, ceil_div

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
    const IndexT group = i.c / g.cin_per_group;
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
struct DataGradTilePlan {
  int tile[3];     // dx box extent per axis (positions); blockDim.x = tile product x ci_groups
  int tiles[3];    // boxes per axis
  int box[3];      // staged dy box per axis: (tile - 1)*stride + (kernel - 1)*dilation + 1
  int co_chunk;    // output channels staged per step
  int ci_groups;   // thread groups per block, each owning TileCi input channels of every position
  int ci_tiles;    // tiles of TileCi * ci_groups input channels per group
  int64_t blocks;  // work units: n x groups x ci_tiles x boxes
};

template <typename ElementT, typename IndexT>
struct DataGradTiledParams {
  ConvDataGradParams<ElementT, IndexT> grad;
  DataGradTilePlan plan;
};

// The data gradient with dy and w staged in shared memory. A block owns a box of dx positions of
// one n and a tile of input channels of one group; per chunk of output channels it stages the dy
// box those positions read (every landing of every tap) and the chunk's weights for its input
// channels, and each thread accumulates TileCi channels of one position in registers. Its sums
// run in conv_transpose_data_grad_kernel's order (co ascending, landing taps ascending, one fused
// multiply-add each), so the two kernels give the same bits.
template <typename ElementT, typename IndexT, int TileCi>
__global__ void conv_transpose_data_grad_tiled_kernel(DataGradTiledParams<ElementT, IndexT> params) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  const ConvDataGradParams<ElementT, IndexT>& p = params.grad;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const DataGradTilePlan& plan = params.plan;
  UPS_DYNAMIC_SHARED(AccumT, shared);

  const int threads = static_cast<int>(blockDim.x);
  const int tid = static_cast<int>(threadIdx.x);
  const int positions = plan.tile[0] * plan.tile[1] * plan.tile[2];
  const int position = tid % positions;  // w fastest: a warp covers consecutive positions
  const int ci_group = tid / positions;
  const int t[3] = {position / (plan.tile[2] * plan.tile[1]), (position / plan.tile[2]) % plan.tile[1],
                    position % plan.tile[2]};
  const int ci_span = TileCi * plan.ci_groups;
  const int box_volume = plan.box[0] * plan.box[1] * plan.box[2];
  const int kd_extent = static_cast<int>(g.weight.extent[0]), kh_extent = static_cast<int>(g.weight.extent[1]),
            kw_extent = static_cast<int>(g.weight.extent[2]);
  const int taps = kd_extent * kh_extent * kw_extent;
  AccumT* dy_tile = shared;                                            // [co_chunk][box d][box h][box w]
  AccumT* w_tile = shared + static_cast<int64_t>(plan.co_chunk) * box_volume;  // [co_chunk][tap][ci_span]
  const IndexT groups = g.input.c / g.cin_per_group;

  for (int64_t unit = blockIdx.x; unit < plan.blocks; unit += gridDim.x) {
    // Decode the work unit: (n, group, ci tile, box d, box h, box w), box w fastest.
    int64_t rest = unit;
    int box_index[3];
    box_index[2] = static_cast<int>(rest % plan.tiles[2]);
    rest /= plan.tiles[2];
    box_index[1] = static_cast<int>(rest % plan.tiles[1]);
    rest /= plan.tiles[1];
    box_index[0] = static_cast<int>(rest % plan.tiles[0]);
    rest /= plan.tiles[0];
    const IndexT ci_tile = static_cast<IndexT>(rest % plan.ci_tiles);
    rest /= plan.ci_tiles;
    const IndexT group = static_cast<IndexT>(rest % groups);
    const IndexT n = static_cast<IndexT>(rest / groups);

    // This thread's position, the box's dy origin, and the taps whose landing lies inside dy.
    IndexT i[3], origin[3], k_first[3], k_last[3];
    bool has_output = true;
#pragma unroll
    for (int a = 0; a < 3; ++a) {
      const IndexT box_first = static_cast<IndexT>(box_index[a]) * plan.tile[a];
      i[a] = box_first + t[a];
      has_output = has_output && i[a] < g.input.extent[a];
      origin[a] = box_first * g.stride[a] - g.pad_begin[a];
      landing_taps(i[a] * g.stride[a] - g.pad_begin[a], g.dilation[a], g.weight.extent[a], g.output.extent[a],
                   &k_first[a], &k_last[a]);
    }
    const IndexT ci_local_first = ci_tile * ci_span;  // the block's first channel within the group
    const IndexT group_ci = group * g.cin_per_group;
    AccumT acc[TileCi];
#pragma unroll
    for (int j = 0; j < TileCi; ++j) acc[j] = 0;

    for (IndexT co0 = 0; co0 < g.cout_per_group; co0 += plan.co_chunk) {
      const int chunk = static_cast<int>(g.cout_per_group - co0 < plan.co_chunk ? g.cout_per_group - co0 : plan.co_chunk);
      __syncthreads();  // the previous chunk's readers are done with the tiles
      // Stage the dy box of `chunk` channels (zeros outside dy, never read), coalesced for the layout.
      for (int e = tid; e < chunk * box_volume; e += threads) {
        int c, ed, eh, ew;
        if (g.output.channels_last) {
          c = e % chunk;
          const int spatial = e / chunk;
          ew = spatial % plan.box[2];
          eh = (spatial / plan.box[2]) % plan.box[1];
          ed = spatial / (plan.box[2] * plan.box[1]);
        } else {
          ew = e % plan.box[2];
          eh = (e / plan.box[2]) % plan.box[1];
          ed = (e / (plan.box[2] * plan.box[1])) % plan.box[0];
          c = e / box_volume;
        }
        const IndexT od = origin[0] + ed, oh = origin[1] + eh, ow = origin[2] + ew;
        AccumT value = 0;
        if (od >= 0 && od < g.output.extent[0] && oh >= 0 && oh < g.output.extent[1] && ow >= 0 &&
            ow < g.output.extent[2])
          value = Traits::to_accum(p.dy[g.output.offset(n, group * g.cout_per_group + co0 + c, od, oh, ow)]);
        dy_tile[((c * plan.box[0] + ed) * plan.box[1] + eh) * plan.box[2] + ew] = value;
      }
      // Stage the chunk's weights for the block's input channels: [c][tap][ci], read in the
      // weight's memory order (taps fastest channels-first, output channels fastest channels-last).
      for (int e = tid; e < chunk * taps * ci_span; e += threads) {
        int c, tap, ci;
        if (g.weight.channels_last) {
          c = e % chunk;
          tap = (e / chunk) % taps;
          ci = e / (chunk * taps);
        } else {
          tap = e % taps;
          c = (e / taps) % chunk;
          ci = e / (chunk * taps);
        }
        const int kw = tap % kw_extent, kh = (tap / kw_extent) % kh_extent, kd = tap / (kw_extent * kh_extent);
        AccumT value = 0;
        if (ci_local_first + ci < g.cin_per_group)
          value = Traits::to_accum(p.w[g.weight.offset(group_ci + ci_local_first + ci, co0 + c, kd, kh, kw)]);
        w_tile[(c * taps + tap) * ci_span + ci] = value;
      }
      __syncthreads();
      if (has_output) {
        for (int c = 0; c < chunk; ++c) {
          const AccumT* dy_channel = dy_tile + c * box_volume;
          const AccumT* w_channel = w_tile + c * taps * ci_span + ci_group * TileCi;
          for (IndexT kd = k_first[0]; kd <= k_last[0]; ++kd) {
            const int ed = static_cast<int>(t[0] * g.stride[0] + kd * g.dilation[0]);
            for (IndexT kh = k_first[1]; kh <= k_last[1]; ++kh) {
              const int eh = static_cast<int>(t[1] * g.stride[1] + kh * g.dilation[1]);
              const AccumT* dy_row = dy_channel + (ed * plan.box[1] + eh) * plan.box[2];
              const AccumT* w_row = w_channel + static_cast<int>((kd * kh_extent + kh) * kw_extent) * ci_span;
              for (IndexT kw = k_first[2]; kw <= k_last[2]; ++kw) {
                const AccumT value = dy_row[t[2] * g.stride[2] + kw * g.dilation[2]];
                const AccumT* weights = w_row + static_cast<int>(kw) * ci_span;
#pragma unroll
                for (int j = 0; j < TileCi; ++j) acc[j] = fused_multiply_add(value, weights[j], acc[j]);
              }
            }
          }
        }
      }
    }

    if (has_output) {
#pragma unroll
      for (int j = 0; j < TileCi; ++j) {
        const IndexT ci_local = ci_local_first + ci_group * TileCi + j;
        if (ci_local >= g.cin_per_group) break;
        p.dx[g.input.offset(n, group_ci + ci_local, i[0], i[1], i[2])] = Traits::from_accum(acc[j]);
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

// Micro: each thread owns a Micro x Micro tile of (ci, co), strided by the thread grid.
template <typename ElementT, typename IndexT, int Micro>
__global__ void conv_transpose_weight_grad_kernel(WeightGradParams<ElementT, IndexT> p) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const WeightGradPlan& plan = p.plan;
  const int threads = static_cast<int>(blockDim.x);
  const int tid = static_cast<int>(threadIdx.x);
  const int tr = tid % plan.threads_r;
  const int tj = (tid / plan.threads_r) % plan.threads_co;
  const int ti = tid / (plan.threads_r * plan.threads_co);
  const int tile_ci = plan.threads_ci * Micro, tile_co = plan.threads_co * Micro;
  const int stage = plan.stage;

  // Shared layout: row offsets (x, dy) | x tile [stage][tile_ci] | dy tile [stage][tile_co] | tree.
  UPS_DYNAMIC_SHARED(unsigned char, shared_bytes);
  IndexT* x_row = reinterpret_cast<IndexT*>(shared_bytes);
  IndexT* dy_row = x_row + stage;
  AccumT* x_tile = reinterpret_cast<AccumT*>(dy_row + stage);
  AccumT* dy_tile = x_tile + stage * tile_ci;
  AccumT* tree = dy_tile + stage * tile_co;

  const int64_t dw_elements = static_cast<int64_t>(g.weight.n) * g.weight.stride_n;
  for (int64_t unit = blockIdx.x; unit < plan.blocks; unit += gridDim.x) {
    // Decode the work unit: (group, ci tile, co tile, tap, chunk), chunk fastest.
    int64_t rest = unit;
    const int64_t chunk = rest % plan.chunks;
    rest /= plan.chunks;
    const IndexT tap = static_cast<IndexT>(rest % plan.taps);
    rest /= plan.taps;
    const IndexT co_tile = static_cast<IndexT>(rest % plan.co_tiles);
    rest /= plan.co_tiles;
    const IndexT ci_tile = static_cast<IndexT>(rest % plan.ci_tiles);
    const IndexT group = static_cast<IndexT>(rest / plan.ci_tiles);
    const IndexT k[3] = {tap / (g.weight.extent[1] * g.weight.extent[2]), (tap / g.weight.extent[2]) % g.weight.extent[1],
                         tap % g.weight.extent[2]};

    // The box of input positions whose landing for tap k lies inside dy, per axis.
    IndexT box_first[3], box_extent[3], landing[3];
    int64_t positions = g.input.n;
#pragma unroll
    for (int a = 0; a < 3; ++a) {
      landing[a] = k[a] * g.dilation[a] - g.pad_begin[a];  // o = i*stride + landing
      IndexT first = ceil_div<IndexT>(-landing[a], g.stride[a]);
      IndexT last = floor_div<IndexT>(g.output.extent[a] - 1 - landing[a], g.stride[a]);
      if (first < 0) first = 0;
      if (last > g.input.extent[a] - 1) last = g.input.extent[a] - 1;
      box_first[a] = first;
      box_extent[a] = last >= first ? last - first + 1 : 0;
      positions *= box_extent[a];
    }
    const int64_t begin = chunk * plan.chunk_length;
    const int64_t end = begin + plan.chunk_length < positions ? begin + plan.chunk_length : positions;

    const IndexT ci_first = group * g.cin_per_group + ci_tile * tile_ci;  // this tile's first channels
    const IndexT co_first_local = co_tile * tile_co;
    const IndexT co_first = group * g.cout_per_group + co_first_local;
    const IndexT ci_count = g.cin_per_group - ci_tile * tile_ci;  // channels left in the group
    const IndexT co_count = g.cout_per_group - co_first_local;

    AccumT acc[Micro][Micro];
#pragma unroll
    for (int m = 0; m < Micro; ++m)
#pragma unroll
      for (int l = 0; l < Micro; ++l) acc[m][l] = 0;

    for (int64_t step_begin = begin; step_begin < end; step_begin += stage) {
      const int rows = static_cast<int>(end - step_begin < stage ? end - step_begin : stage);
      __syncthreads();  // the previous step's readers are done with the tiles and offsets
      for (int r = tid; r < rows; r += threads) {
        // Position -> (n, i in the box) in scan order, then the x and dy offsets at channel 0.
        int64_t q = step_begin + r;
        const IndexT w_ = static_cast<IndexT>(q % box_extent[2]);
        q /= box_extent[2];
        const IndexT h_ = static_cast<IndexT>(q % box_extent[1]);
        q /= box_extent[1];
        const IndexT d_ = static_cast<IndexT>(q % box_extent[0]);
        const IndexT n = static_cast<IndexT>(q / box_extent[0]);
        const IndexT id = box_first[0] + d_, ih = box_first[1] + h_, iw = box_first[2] + w_;
        x_row[r] = g.input.offset(n, 0, id, ih, iw);
        dy_row[r] = g.output.offset(n, 0, id * g.stride[0] + landing[0], ih * g.stride[1] + landing[1],
                                    iw * g.stride[2] + landing[2]);
      }
      __syncthreads();
      // Stage x [rows][tile_ci] and dy [rows][tile_co]: channel fastest in channels-last (those
      // are contiguous), position fastest in channels-first. Channels past the group stay zero
      // and are never written out.
      const bool channels_last = g.input.channels_last;
      for (int e = tid; e < rows * tile_ci; e += threads) {
        const int c = channels_last ? e % tile_ci : e / rows;
        const int r = channels_last ? e / tile_ci : e % rows;
        x_tile[r * tile_ci + c] =
            c < ci_count ? Traits::to_accum(p.x[x_row[r] + (ci_first + c) * g.input.stride_c]) : AccumT(0);
      }
      for (int e = tid; e < rows * tile_co; e += threads) {
        const int c = channels_last ? e % tile_co : e / rows;
        const int r = channels_last ? e / tile_co : e % rows;
        dy_tile[r * tile_co + c] =
            c < co_count ? Traits::to_accum(p.dy[dy_row[r] + (co_first + c) * g.output.stride_c]) : AccumT(0);
      }
      __syncthreads();
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
    if (plan.threads_r > 1) {
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

    if (tr == 0) {
#pragma unroll
      for (int m = 0; m < Micro; ++m) {
        const int ci_local = ti + m * plan.threads_ci;
        if (ci_local >= ci_count) continue;
#pragma unroll
        for (int l = 0; l < Micro; ++l) {
          const int co_local = tj + l * plan.threads_co;
          if (co_local >= co_count) continue;
          const IndexT element = g.weight.offset(ci_first + ci_local, co_first_local + co_local, k[0], k[1], k[2]);
          switch (plan.epilogue) {
            case GradEpilogue::kStore: p.dw[element] = Traits::from_accum(acc[m][l]); break;
            case GradEpilogue::kStorePartial: p.partial[chunk * dw_elements + element] = acc[m][l]; break;
            case GradEpilogue::kAtomicAdd: atomicAdd(p.partial + element, acc[m][l]); break;
          }
        }
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
  const IndexT plane = p.output.extent[0] * p.output.extent[1] * p.output.extent[2];
  const int64_t positions = static_cast<int64_t>(p.output.n) * plane;
  for (int64_t unit = blockIdx.x; unit < plan.blocks; unit += gridDim.x) {
    const int64_t chunk = unit % plan.chunks;
    const IndexT c = static_cast<IndexT>(unit / plan.chunks) * plan.threads_c + tc;
    const int64_t begin = chunk * plan.chunk_length;
    const int64_t end = begin + plan.chunk_length < positions ? begin + plan.chunk_length : positions;
    AccumT sum = 0;
    if (c < p.output.c)
      for (int64_t q = begin + tr; q < end; q += plan.threads_r) {
        const IndexT n = static_cast<IndexT>(q / plane), position = static_cast<IndexT>(q % plane);
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

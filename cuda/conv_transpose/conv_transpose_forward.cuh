// Transposed-convolution kernels (1-, 2- and 3-D through the canonical 3-D geometry: see
// NOTE [ Canonical 3-D geometry ] in src/problem.h).
//
//   y[n, g*Cog + co, o] = bias[g*Cog + co] + sum_{ci in group g, k : o = i*stride - pad + k*dilation}
//                                            x[n, ci, i] * w[ci, co, k]
//
// Variants, picked by conv_transpose.cu:
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
#include "cuda/common/tensor.cuh"

namespace upsample::cuda {

// Most taps of one phase on one axis the tiled kernel keeps in its tables.
inline constexpr int kMaxPhaseTaps = 32;

template <typename IndexT>
struct ConvTransposeGeometry {
  DeviceTensor<IndexT> input;
  DeviceTensor<IndexT> weight;  // n = C_in, c = C_out/groups, extent = kernel
  DeviceTensor<IndexT> output;
  IndexT stride[3];
  IndexT pad_begin[3];
  IndexT dilation[3];
  IndexT cin_per_group;
  IndexT cout_per_group;
};

template <typename ElementT, typename IndexT>
struct ConvTransposeParams {
  const ElementT* x;
  const ElementT* w;
  const ElementT* bias;  // null: no bias
  ElementT* y;
  ConvTransposeGeometry<IndexT> geometry;
  int64_t work;
};

// ---------------------------------------------------------------------------------------------
// SCATTER_ATOMIC
// ---------------------------------------------------------------------------------------------

// AccumOutT is the type atomics add into: ElementT itself for f32/f64, float for f16/bf16
// (a workspace with y's geometry).
template <typename ElementT, typename AccumOutT, typename IndexT>
__global__ void conv_transpose_scatter_kernel(ConvTransposeParams<ElementT, IndexT> p, AccumOutT* accumulator) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < p.work; item += step) {
    // Consecutive threads take consecutive output channels of one input element: x is read once
    // per warp and channels-last outputs are contiguous.
    const IndexT co = static_cast<IndexT>(item % g.cout_per_group);
    const IndexT input_linear = static_cast<IndexT>(item / g.cout_per_group);
    const Coordinates<IndexT> i = coordinates_of(g.input, input_linear);
    const IndexT out_channel = (i.c / g.cin_per_group) * g.cout_per_group + co;
    const AccumT value = Traits::to_accum(p.x[input_linear]);
    for (IndexT kd = 0; kd < g.weight.extent[0]; ++kd) {
      const IndexT od = i.d * g.stride[0] - g.pad_begin[0] + kd * g.dilation[0];
      if (od < 0 || od >= g.output.extent[0]) continue;
      for (IndexT kh = 0; kh < g.weight.extent[1]; ++kh) {
        const IndexT oh = i.h * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
        if (oh < 0 || oh >= g.output.extent[1]) continue;
        for (IndexT kw = 0; kw < g.weight.extent[2]; ++kw) {
          const IndexT ow = i.w * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
          if (ow < 0 || ow >= g.output.extent[2]) continue;
          const AccumT weight = Traits::to_accum(p.w[g.weight.offset(i.c, co, kd, kh, kw)]);
          atomicAdd(accumulator + g.output.offset(i.n, out_channel, od, oh, ow), static_cast<AccumOutT>(value * weight));
        }
      }
    }
  }
}

// y[i] = bias[c]: the starting value of a scatter that accumulates in y itself.
template <typename ElementT, typename IndexT>
__global__ void conv_transpose_fill_bias_kernel(ConvTransposeParams<ElementT, IndexT> p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.work; i += step) {
    const IndexT linear = static_cast<IndexT>(i);
    p.y[linear] = p.bias[coordinates_of(p.geometry.output, linear).c];
  }
}

// y[i] = narrow(accumulator[i] + bias[c]): the end of an f16/bf16 scatter.
template <typename ElementT, typename IndexT>
__global__ void conv_transpose_finalize_kernel(ConvTransposeParams<ElementT, IndexT> p, const float* accumulator) {
  using Traits = ElementTraits<ElementT>;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.work; i += step) {
    const IndexT linear = static_cast<IndexT>(i);
    float sum = accumulator[linear];
    if (p.bias != nullptr) sum += Traits::to_accum(p.bias[coordinates_of(p.geometry.output, linear).c]);
    p.y[linear] = Traits::from_accum(sum);
  }
}

// ---------------------------------------------------------------------------------------------
// GATHER
// ---------------------------------------------------------------------------------------------

// The first tap k >= 0 with k*dilation = (o + pad) (mod stride), or `kernel` if there is none;
// the taps after it follow every stride/gcd(stride, dilation). See NOTE [ Stride phases ]. Both
// searches stop at `kernel`: only taps below it matter, and a stride of 2^31 must not mean 2^31
// iterations.
template <typename IndexT>
__device__ __forceinline__ IndexT first_phase_tap(IndexT o_plus_pad, IndexT stride, IndexT dilation, IndexT kernel,
                                                  IndexT* tap_step) {
  const IndexT r = o_plus_pad % stride;
  IndexT k = 0;
  while (k < kernel && (k * dilation) % stride != r) ++k;
  IndexT step = 1;
  while (k + step < kernel && ((k + step) * dilation) % stride != r) ++step;
  *tap_step = step;  // if k + step reaches kernel, the loop using it ends after k anyway
  return k;
}

template <typename ElementT, typename IndexT>
__global__ void conv_transpose_gather_direct_kernel(ConvTransposeParams<ElementT, IndexT> p) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < p.work; item += step) {
    const IndexT linear = static_cast<IndexT>(item);
    const Coordinates<IndexT> o = coordinates_of(g.output, linear);
    const IndexT group = o.c / g.cout_per_group;
    const IndexT co = o.c % g.cout_per_group;
    const IndexT od = o.d + g.pad_begin[0], oh = o.h + g.pad_begin[1], ow = o.w + g.pad_begin[2];
    IndexT step_d, step_h, step_w;
    const IndexT kd0 = first_phase_tap(od, g.stride[0], g.dilation[0], g.weight.extent[0], &step_d);
    const IndexT kh0 = first_phase_tap(oh, g.stride[1], g.dilation[1], g.weight.extent[1], &step_h);
    const IndexT kw0 = first_phase_tap(ow, g.stride[2], g.dilation[2], g.weight.extent[2], &step_w);
    AccumT sum = 0;
    for (IndexT cl = 0; cl < g.cin_per_group; ++cl) {
      const IndexT ci = group * g.cin_per_group + cl;
      // Within a phase, larger k reads smaller i: stop once i < 0, skip while i >= extent.
      for (IndexT kd = kd0; kd < g.weight.extent[0]; kd += step_d) {
        const IndexT td = od - kd * g.dilation[0];
        if (td < 0) break;
        const IndexT id = td / g.stride[0];
        if (id >= g.input.extent[0]) continue;
        for (IndexT kh = kh0; kh < g.weight.extent[1]; kh += step_h) {
          const IndexT th = oh - kh * g.dilation[1];
          if (th < 0) break;
          const IndexT ih = th / g.stride[1];
          if (ih >= g.input.extent[1]) continue;
          for (IndexT kw = kw0; kw < g.weight.extent[2]; kw += step_w) {
            const IndexT tw = ow - kw * g.dilation[2];
            if (tw < 0) break;
            const IndexT iw = tw / g.stride[2];
            if (iw >= g.input.extent[2]) continue;
            sum = fused_multiply_add(Traits::to_accum(p.x[g.input.offset(o.n, ci, id, ih, iw)]),
                                     Traits::to_accum(p.w[g.weight.offset(ci, co, kd, kh, kw)]), sum);
          }
        }
      }
    }
    if (p.bias != nullptr) sum += Traits::to_accum(p.bias[o.c]);
    p.y[linear] = Traits::from_accum(sum);
  }
}

// The tiled kernel's launch-time plan (all block-uniform; chosen by conv_transpose.cu).
struct GatherTilePlan {
  int tile[3];          // output-box extent per axis, in q (phase sub-grid) units; blockDim.x = product
  int tiles[3];         // boxes per axis (the most any phase needs)
  int phases[3];        // = stride per axis
  int max_input_box[3];  // bound on tile + m_max - m_min per axis: sizes the staged input box
  int max_taps[3];      // bound on taps per phase per axis: sizes the staged weights
  int cin_chunk;        // input channels staged per step
  int co_groups;        // thread groups per block, each owning TileCo output channels of the tile
  int co_tiles;         // tiles of TileCo * co_groups output channels per group
  int64_t blocks;       // total block work units
};

template <typename ElementT, typename IndexT>
struct GatherTiledParams {
  ConvTransposeParams<ElementT, IndexT> conv;
  GatherTilePlan plan;
};

// Floor and ceiling division for a possibly negative numerator and positive divisor.
template <typename IndexT>
__device__ __forceinline__ IndexT floor_div(IndexT a, IndexT b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
template <typename IndexT>
__device__ __forceinline__ IndexT ceil_div(IndexT a, IndexT b) {
  return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

template <typename ElementT, typename IndexT, int TileCo>
__global__ void conv_transpose_gather_tiled_kernel(GatherTiledParams<ElementT, IndexT> params) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  const ConvTransposeParams<ElementT, IndexT>& p = params.conv;
  const ConvTransposeGeometry<IndexT>& g = p.geometry;
  const GatherTilePlan& plan = params.plan;

  // Tap tables of this block's phase, per axis: kernel index and input shift m (NOTE [ Stride phases ]).
  __shared__ int tap_k[3][kMaxPhaseTaps];
  __shared__ int tap_m[3][kMaxPhaseTaps];
  __shared__ int tap_count[3];
  UPS_DYNAMIC_SHARED(AccumT, shared);

  const int threads = static_cast<int>(blockDim.x);
  const int tid = static_cast<int>(threadIdx.x);
  // blockDim.x = positions x co_groups: a thread owns one position of the output box (w fastest)
  // and the TileCo output channels of its channel group. Small boxes get several channel groups,
  // which share the staged input box.
  const int positions = plan.tile[0] * plan.tile[1] * plan.tile[2];
  const int position = tid % positions;
  const int co_group = tid / positions;
  const int co_span = TileCo * plan.co_groups;  // output channels per block
  const int t_w = position % plan.tile[2];
  const int t_h = (position / plan.tile[2]) % plan.tile[1];
  const int t_d = position / (plan.tile[2] * plan.tile[1]);

  for (int64_t block = blockIdx.x; block < plan.blocks; block += gridDim.x) {
    // Decode the block's work unit: (n, group, co tile, phase, box).
    int64_t rest = block;
    const int box_w = static_cast<int>(rest % plan.tiles[2]);
    rest /= plan.tiles[2];
    const int box_h = static_cast<int>(rest % plan.tiles[1]);
    rest /= plan.tiles[1];
    const int box_d = static_cast<int>(rest % plan.tiles[0]);
    rest /= plan.tiles[0];
    const int r_w = static_cast<int>(rest % plan.phases[2]);
    rest /= plan.phases[2];
    const int r_h = static_cast<int>(rest % plan.phases[1]);
    rest /= plan.phases[1];
    const int r_d = static_cast<int>(rest % plan.phases[0]);
    rest /= plan.phases[0];
    const IndexT co_tile = static_cast<IndexT>(rest % plan.co_tiles);
    rest /= plan.co_tiles;
    const IndexT group = static_cast<IndexT>(rest % (g.input.c / g.cin_per_group));
    const IndexT n = static_cast<IndexT>(rest / (g.input.c / g.cin_per_group));
    const int phase[3] = {r_d, r_h, r_w};
    const int box[3] = {box_d, box_h, box_w};
    const int t[3] = {t_d, t_h, t_w};

    // Per axis: the q range of this phase, the box origin, and the tap table.
    IndexT q_first[3], q_last[3], q[3], input_origin[3];
    int input_box[3];
    bool box_has_outputs = true;
    bool thread_has_output = true;
    __syncthreads();  // the previous work unit is done reading the tables
    for (int a = tid; a < 3; a += threads) {
      const int r = a == 0 ? r_d : (a == 1 ? r_h : r_w);  // a select, not a local-memory array
      int count = 0;
      for (int k = 0; k < static_cast<int>(g.weight.extent[a]); ++k) {
        const int shifted = k * static_cast<int>(g.dilation[a]) - r;
        if (shifted % static_cast<int>(g.stride[a]) == 0 && count < kMaxPhaseTaps) {
          tap_k[a][count] = k;
          tap_m[a][count] = shifted / static_cast<int>(g.stride[a]);
          ++count;
        }
      }
      tap_count[a] = count;
    }
    __syncthreads();
#pragma unroll
    for (int a = 0; a < 3; ++a) {
      const IndexT s = g.stride[a];
      q_first[a] = ceil_div<IndexT>(g.pad_begin[a] - phase[a], s);
      q_last[a] = floor_div<IndexT>(g.output.extent[a] - 1 + g.pad_begin[a] - phase[a], s);
      const IndexT box_first = q_first[a] + static_cast<IndexT>(box[a]) * plan.tile[a];
      box_has_outputs = box_has_outputs && box_first <= q_last[a];
      q[a] = box_first + t[a];
      thread_has_output = thread_has_output && q[a] <= q_last[a];
      const int m_min = tap_count[a] > 0 ? tap_m[a][0] : 0;
      const int m_max = tap_count[a] > 0 ? tap_m[a][tap_count[a] - 1] : 0;
      input_origin[a] = box_first - m_max;
      input_box[a] = plan.tile[a] + m_max - m_min;
    }
    thread_has_output = thread_has_output && box_has_outputs;
    // A phase with no taps on some axis (possible when gcd(stride, dilation) > 1) gets only the bias.
    const int taps_d = tap_count[0], taps_h = tap_count[1], taps_w = tap_count[2];
    const int taps = taps_d * taps_h * taps_w;
    const bool box_has_work = box_has_outputs && taps > 0;
    const int input_box_volume = input_box[0] * input_box[1] * input_box[2];
    AccumT* x_tile = shared;                                                 // [chunk][box d][box h][box w]
    AccumT* w_tile = shared + static_cast<int64_t>(plan.cin_chunk) * input_box_volume;  // [chunk][tap][co_span]

    AccumT sum[TileCo];
#pragma unroll
    for (int j = 0; j < TileCo; ++j) sum[j] = 0;

    const IndexT block_co_base = co_tile * co_span;
    const IndexT co_base = block_co_base + co_group * TileCo;  // this thread's first output channel
    for (IndexT c0 = 0; box_has_work && c0 < g.cin_per_group; c0 += plan.cin_chunk) {
      const int chunk = static_cast<int>(g.cin_per_group - c0 < plan.cin_chunk ? g.cin_per_group - c0 : plan.cin_chunk);
      // Stage the input box of `chunk` channels, in the order that keeps global reads coalesced.
      const int x_elements = chunk * input_box_volume;
      for (int e = tid; e < x_elements; e += threads) {
        int ci_local, ed, eh, ew;
        if (g.input.channels_last) {
          ci_local = e % chunk;
          int spatial = e / chunk;
          ew = spatial % input_box[2];
          eh = (spatial / input_box[2]) % input_box[1];
          ed = spatial / (input_box[2] * input_box[1]);
        } else {
          ew = e % input_box[2];
          eh = (e / input_box[2]) % input_box[1];
          ed = (e / (input_box[2] * input_box[1])) % input_box[0];
          ci_local = e / input_box_volume;
        }
        const IndexT id = input_origin[0] + ed, ih = input_origin[1] + eh, iw = input_origin[2] + ew;
        AccumT value = 0;
        if (id >= 0 && id < g.input.extent[0] && ih >= 0 && ih < g.input.extent[1] && iw >= 0 &&
            iw < g.input.extent[2])
          value = Traits::to_accum(p.x[g.input.offset(n, group * g.cin_per_group + c0 + ci_local, id, ih, iw)]);
        x_tile[((ci_local * input_box[0] + ed) * input_box[1] + eh) * input_box[2] + ew] = value;
      }
      // Stage the weights of this phase's taps for `chunk` input channels and the block's outputs.
      const int w_elements = chunk * taps * co_span;
      for (int e = tid; e < w_elements; e += threads) {
        const int co_local = e % co_span;
        const int tap = (e / co_span) % taps;
        const int ci_local = e / (co_span * taps);
        const int kw = tap_k[2][tap % taps_w];
        const int kh = tap_k[1][(tap / taps_w) % taps_h];
        const int kd = tap_k[0][tap / (taps_w * taps_h)];
        const IndexT co = block_co_base + co_local;
        AccumT value = 0;
        if (co < g.cout_per_group)
          value = Traits::to_accum(p.w[g.weight.offset(group * g.cin_per_group + c0 + ci_local, co, kd, kh, kw)]);
        w_tile[e] = value;
      }
      __syncthreads();
      if (thread_has_output) {
        for (int ci_local = 0; ci_local < chunk; ++ci_local) {
          const AccumT* x_channel = x_tile + ci_local * input_box_volume;
          const AccumT* w_channel = w_tile + ci_local * taps * co_span + co_group * TileCo;
          for (int jd = 0; jd < taps_d; ++jd) {
            const IndexT id = q[0] - tap_m[0][jd];
            if (id < 0 || id >= g.input.extent[0]) continue;
            const int ed = static_cast<int>(id - input_origin[0]);
            for (int jh = 0; jh < taps_h; ++jh) {
              const IndexT ih = q[1] - tap_m[1][jh];
              if (ih < 0 || ih >= g.input.extent[1]) continue;
              const int eh = static_cast<int>(ih - input_origin[1]);
              for (int jw = 0; jw < taps_w; ++jw) {
                const IndexT iw = q[2] - tap_m[2][jw];
                if (iw < 0 || iw >= g.input.extent[2]) continue;
                const int ew = static_cast<int>(iw - input_origin[2]);
                const AccumT value = x_channel[(ed * input_box[1] + eh) * input_box[2] + ew];
                const AccumT* weights = w_channel + ((jd * taps_h + jh) * taps_w + jw) * co_span;
#pragma unroll
                for (int j = 0; j < TileCo; ++j) sum[j] = fused_multiply_add(value, weights[j], sum[j]);
              }
            }
          }
        }
      }
      __syncthreads();  // the tiles are overwritten by the next chunk
    }

    if (thread_has_output) {
      IndexT o[3];
      for (int a = 0; a < 3; ++a) o[a] = q[a] * g.stride[a] + phase[a] - g.pad_begin[a];
#pragma unroll
      for (int j = 0; j < TileCo; ++j) {
        const IndexT co = co_base + j;
        if (co >= g.cout_per_group) break;
        const IndexT out_channel = group * g.cout_per_group + co;
        AccumT value = sum[j];
        if (p.bias != nullptr) value += Traits::to_accum(p.bias[out_channel]);
        p.y[g.output.offset(n, out_channel, o[0], o[1], o[2])] = Traits::from_accum(value);
      }
    }
  }
}

}  // namespace upsample::cuda

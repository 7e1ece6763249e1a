// Launchers for transposed convolution (kernels in conv_transpose.cuh).
//
// SCATTER_ATOMIC: fill the accumulator (bias or zero), scatter, and for f16/bf16 finalize from
// the float workspace. GATHER: the tiled kernel when its plan fits in shared memory, else the
// direct kernel; both produce the same bits (see the header).
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <type_traits>

#include "cuda/conv_transpose/conv_transpose.h"
#include "cuda/common/check.cuh"
#include "cuda/common/launch.cuh"
#include "cuda/conv_transpose/conv_transpose_forward.cuh"

namespace upsample::cuda {
namespace {

constexpr int kThreadsPerBlock = 256;
// Threads per tiled block (output positions x channel groups): 128 threads, each with TileCo
// accumulators, keep several blocks resident per SM with room for the staged tiles.
constexpr int kTiledPositions = 128;
// Dynamic shared memory the tiled kernel plans for. A block may use 48 KiB in all (static plus
// dynamic) without an opt-in attribute on every architecture; the kernel's static tap tables take
// under 1 KiB of that, and 2 KiB are left for them. Staying under the default limit also keeps
// several blocks resident per SM.
constexpr int64_t kTiledSharedBytes = 48 * 1024 - 2 * 1024;

template <typename IndexT>
ConvTransposeGeometry<IndexT> make_geometry(const detail::ConvTransposeProblem& problem) {
  ConvTransposeGeometry<IndexT> g;
  g.input = make_device_tensor<IndexT>(problem.input);
  g.weight = make_device_tensor<IndexT>(problem.weight);
  g.output = make_device_tensor<IndexT>(problem.output);
  for (int a = 0; a < 3; ++a) {
    g.stride[a] = static_cast<IndexT>(problem.stride[a]);
    g.pad_begin[a] = static_cast<IndexT>(problem.pad_begin[a]);
    g.dilation[a] = static_cast<IndexT>(problem.dilation[a]);
  }
  g.cin_per_group = static_cast<IndexT>(problem.in_channels_per_group());
  g.cout_per_group = static_cast<IndexT>(problem.out_channels_per_group());
  return g;
}

template <typename ElementT, typename IndexT>
ConvTransposeParams<ElementT, IndexT> make_params(const detail::ConvTransposeProblem& problem, const void* x,
                                                  const void* w, const void* bias, void* y) {
  ConvTransposeParams<ElementT, IndexT> p;
  p.x = static_cast<const ElementT*>(x);
  p.w = static_cast<const ElementT*>(w);
  p.bias = static_cast<const ElementT*>(bias);
  p.y = static_cast<ElementT*>(y);
  p.geometry = make_geometry<IndexT>(problem);
  p.work = problem.output.elements();
  return p;
}

// Besides offsets (NOTE [ Index width ]), the kernels form coordinates such as
// i*stride - pad_begin + k*dilation and o + pad_begin: with 32-bit indices every such value must
// fit too. Valid geometries may use paddings and dilations near 2^31 on tiny tensors.
bool coordinates_fit_32bit(const detail::ConvTransposeProblem& p) {
  constexpr int64_t kLimit = int64_t{1} << 30;
  for (int a = 0; a < 3; ++a) {
    const int64_t reach = (p.input.extent[a] - 1) * p.stride[a] + (p.weight.extent[a] - 1) * p.dilation[a];
    if (reach >= kLimit || p.pad_begin[a] >= kLimit || p.output.extent[a] >= kLimit || p.stride[a] >= kLimit)
      return false;
  }
  return true;
}

bool needs_float_workspace(upsDataType_t dtype) { return dtype == UPS_DTYPE_F16 || dtype == UPS_DTYPE_BF16; }

// ---------------------------------------------------------------------------------------------
// SCATTER_ATOMIC
// ---------------------------------------------------------------------------------------------
template <typename ElementT, typename IndexT>
upsStatus_t launch_scatter(const detail::ConvTransposeProblem& problem, const void* x, const void* w,
                           const void* bias, void* y, const ExecContext& exec) {
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  ConvTransposeParams<ElementT, IndexT> p = make_params<ElementT, IndexT>(problem, x, w, bias, y);
  const int64_t output_elements = problem.output.elements();
  // Fits int64: conv_transpose_can_implement (src/dispatch.cpp) refused the call otherwise.
  const int64_t scatter_work = problem.input.elements() * problem.out_channels_per_group();
  const dim3 output_grid = grid_for(output_elements, kThreadsPerBlock);
  const dim3 scatter_grid = grid_for(scatter_work, kThreadsPerBlock);

  if constexpr (std::is_same_v<ElementT, __half> || std::is_same_v<ElementT, __nv_bfloat16>) {
    // Accumulate in a float workspace shaped like y, then narrow once (NOTE [ Accumulation types ]).
    auto* accumulator = static_cast<float*>(exec.workspace);
    UPS_CUDA_CHECK(cudaMemsetAsync(accumulator, 0, sizeof(float) * static_cast<size_t>(output_elements), stream));
    if (scatter_work > 0) {
      ConvTransposeParams<ElementT, IndexT> scatter = p;
      scatter.work = scatter_work;
      UPS_CUDA_CHECK(launch_kernel(conv_transpose_scatter_kernel<ElementT, float, IndexT>, scatter_grid,
                                   dim3(kThreadsPerBlock), 0, stream, scatter, accumulator));
    }
    UPS_CUDA_CHECK(launch_kernel(conv_transpose_finalize_kernel<ElementT, IndexT>, output_grid,
                                 dim3(kThreadsPerBlock), 0, stream, p, static_cast<const float*>(accumulator)));
  } else {
    // Atomics add onto what y holds, so y starts as the bias (or zero).
    if (bias != nullptr) {
      UPS_CUDA_CHECK(launch_kernel(conv_transpose_fill_bias_kernel<ElementT, IndexT>, output_grid,
                                   dim3(kThreadsPerBlock), 0, stream, p));
    } else {
      UPS_CUDA_CHECK(cudaMemsetAsync(y, 0, sizeof(ElementT) * static_cast<size_t>(output_elements), stream));
    }
    if (scatter_work > 0) {
      ConvTransposeParams<ElementT, IndexT> scatter = p;
      scatter.work = scatter_work;
      UPS_CUDA_CHECK(launch_kernel(conv_transpose_scatter_kernel<ElementT, ElementT, IndexT>, scatter_grid,
                                   dim3(kThreadsPerBlock), 0, stream, scatter, static_cast<ElementT*>(y)));
    }
  }
  return UPS_STATUS_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// GATHER
// ---------------------------------------------------------------------------------------------
int pow2_at_least(int64_t value, int cap) {
  int result = 1;
  while (result < value && result < cap) result *= 2;
  return result;
}

// Output channels per tiled block: the largest tile that wastes at most a quarter of its
// accumulators on a group's last tile (so depthwise and RGB outputs do not pay for 16).
int choose_tile_co(int64_t cout_per_group) {
  if (cout_per_group >= 12) return 16;
  if (cout_per_group >= 3) return 4;
  return 1;
}

// Plans the tiled kernel; false when it cannot run this problem (then the direct kernel does).
bool plan_gather_tiled(const detail::ConvTransposeProblem& problem, int tile_co, int64_t accum_bytes,
                       GatherTilePlan* plan) {
  const int64_t cin_per_group = problem.in_channels_per_group();
  if (cin_per_group == 0) return false;  // nothing to stage: the direct kernel writes the bias
  int64_t positions_left = kTiledPositions;
  // Box extents, innermost axis first so a warp covers consecutive w positions.
  for (int a = 2; a >= 0; --a) {
    const int64_t s = problem.stride[a], k = problem.weight.extent[a], dil = problem.dilation[a];
    // Keep the kernel's int tap arithmetic (k * dilation) far from overflow.
    if ((k - 1) * dil >= (int64_t{1} << 30) || problem.pad_begin[a] >= (int64_t{1} << 30)) return false;
    const int64_t step = s / std::gcd(s, dil);
    const int64_t max_taps = (k + step - 1) / step;
    if (max_taps > kMaxPhaseTaps) return false;
    // One block per phase: many-phase (large-stride) problems leave most phases nearly empty.
    if (s > 64) return false;
    const int64_t q_extent = (problem.output.extent[a] + s - 1) / s;  // q count of the fullest phase
    plan->tile[a] = pow2_at_least(q_extent, static_cast<int>(positions_left));
    positions_left /= plan->tile[a];
    plan->phases[a] = static_cast<int>(s);
    plan->max_taps[a] = static_cast<int>(max_taps);
    plan->max_input_box[a] = plan->tile[a] + static_cast<int>(((k - 1) * dil) / s);
    plan->tiles[a] = static_cast<int>((q_extent + plan->tile[a] - 1) / plan->tile[a]);
  }
  // A box smaller than kTiledPositions leaves room for several output-channel groups per block.
  const int64_t positions = int64_t{plan->tile[0]} * plan->tile[1] * plan->tile[2];
  const int64_t channel_tiles = (problem.out_channels_per_group() + tile_co - 1) / tile_co;
  int64_t co_groups = std::max<int64_t>(1, std::min<int64_t>(kTiledPositions / positions, channel_tiles));
  const int64_t box_volume =
      int64_t{plan->max_input_box[0]} * plan->max_input_box[1] * plan->max_input_box[2];
  const int64_t taps = int64_t{plan->max_taps[0]} * plan->max_taps[1] * plan->max_taps[2];
  // Fit the staged tiles: fewer input channels per chunk first, then fewer channel groups.
  int64_t chunk = 0;
  for (;;) {
    const int64_t per_channel_bytes = (box_volume + taps * tile_co * co_groups) * accum_bytes;
    chunk = std::min<int64_t>(cin_per_group, 32);
    while (chunk > 1 && chunk * per_channel_bytes > kTiledSharedBytes) chunk /= 2;
    if (chunk * per_channel_bytes <= kTiledSharedBytes) break;
    if (co_groups == 1) return false;
    co_groups /= 2;
  }
  plan->co_groups = static_cast<int>(co_groups);
  const int64_t co_span = int64_t{tile_co} * co_groups;
  plan->cin_chunk = static_cast<int>(chunk);
  plan->co_tiles = static_cast<int>((problem.out_channels_per_group() + co_span - 1) / co_span);
  // Work units: n x groups x co tiles x phases x boxes; must fit the kernel's int decoding.
  const int64_t phases = int64_t{plan->phases[0]} * plan->phases[1] * plan->phases[2];
  const int64_t boxes = int64_t{plan->tiles[0]} * plan->tiles[1] * plan->tiles[2];
  plan->blocks = problem.input.n * problem.groups * plan->co_tiles * phases * boxes;
  return boxes < (int64_t{1} << 31) && phases < (int64_t{1} << 31);
}

template <typename ElementT, typename IndexT, int TileCo>
upsStatus_t launch_gather_tiled(const ConvTransposeParams<ElementT, IndexT>& p, const GatherTilePlan& plan,
                                cudaStream_t stream) {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  GatherTiledParams<ElementT, IndexT> params{p, plan};
  const int threads = plan.tile[0] * plan.tile[1] * plan.tile[2] * plan.co_groups;
  const int64_t box_volume = int64_t{plan.max_input_box[0]} * plan.max_input_box[1] * plan.max_input_box[2];
  const int64_t taps = int64_t{plan.max_taps[0]} * plan.max_taps[1] * plan.max_taps[2];
  const int64_t co_span = int64_t{TileCo} * plan.co_groups;
  const size_t shared_bytes = static_cast<size_t>(plan.cin_chunk * (box_volume + taps * co_span)) * sizeof(AccumT);
  const int64_t max_grid = int64_t{1} << 20;  // a block-stride loop covers the rest
  const dim3 grid(static_cast<unsigned>(std::min(plan.blocks, max_grid)));
  UPS_CUDA_CHECK(launch_kernel(conv_transpose_gather_tiled_kernel<ElementT, IndexT, TileCo>, grid, dim3(threads),
                               shared_bytes, stream, params));
  return UPS_STATUS_SUCCESS;
}

template <typename ElementT, typename IndexT>
upsStatus_t launch_gather(const detail::ConvTransposeProblem& problem, const void* x, const void* w,
                          const void* bias, void* y, const ExecContext& exec) {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  const ConvTransposeParams<ElementT, IndexT> p = make_params<ElementT, IndexT>(problem, x, w, bias, y);
  const int tile_co = choose_tile_co(problem.out_channels_per_group());
  GatherTilePlan plan{};
  if (plan_gather_tiled(problem, tile_co, sizeof(AccumT), &plan) && plan.blocks > 0) {
    switch (tile_co) {
      case 16: return launch_gather_tiled<ElementT, IndexT, 16>(p, plan, stream);
      case 4: return launch_gather_tiled<ElementT, IndexT, 4>(p, plan, stream);
      default: return launch_gather_tiled<ElementT, IndexT, 1>(p, plan, stream);
    }
  }
  UPS_CUDA_CHECK(launch_kernel(conv_transpose_gather_direct_kernel<ElementT, IndexT>,
                               grid_for(p.work, kThreadsPerBlock), dim3(kThreadsPerBlock), 0, stream, p));
  return UPS_STATUS_SUCCESS;
}

}  // namespace

size_t conv_transpose_workspace_bytes(const detail::ConvTransposeProblem& problem, upsAlgorithm_t algorithm) {
  if (algorithm == UPS_ALGO_SCATTER_ATOMIC && needs_float_workspace(problem.output.dtype))
    return sizeof(float) * static_cast<size_t>(problem.output.elements());
  return 0;
}

upsStatus_t conv_transpose_forward(const detail::ConvTransposeProblem& problem, upsAlgorithm_t algorithm,
                                   const void* x, const void* w, const void* bias, void* y, const ExecContext& exec) {
  if (exec.workspace_bytes < conv_transpose_workspace_bytes(problem, algorithm))
    return detail::fail(UPS_STATUS_INTERNAL_ERROR, "conv-transpose: workspace smaller than its query");
  const bool narrow =
      use_32bit_indexing({&problem.input, &problem.weight, &problem.output}) && coordinates_fit_32bit(problem);
  return dispatch_float_dtype(problem.output.dtype, [&](auto tag) {
    using ElementT = typename decltype(tag)::type;
    if (algorithm == UPS_ALGO_SCATTER_ATOMIC)
      return narrow ? launch_scatter<ElementT, int32_t>(problem, x, w, bias, y, exec)
                    : launch_scatter<ElementT, int64_t>(problem, x, w, bias, y, exec);
    return narrow ? launch_gather<ElementT, int32_t>(problem, x, w, bias, y, exec)
                  : launch_gather<ElementT, int64_t>(problem, x, w, bias, y, exec);
  });
}

}  // namespace upsample::cuda

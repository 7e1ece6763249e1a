// Launchers for transposed convolution (kernels in conv_transpose_forward.cuh).
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
#include "cuda/conv_transpose/conv_transpose_tiling.h"

namespace upsample::cuda {
namespace {

// Threads per tiled block (output positions x channel groups): 128 threads, each with TileCo
// accumulators, keep several blocks resident per SM with room for the staged tiles.
constexpr int kTiledPositions = 128;
// Dynamic shared memory the tiled kernel plans for: the device's per-block limit without an
// opt-in (NOTE [ Launch configuration ]; 48 KiB on every supported GPU), less 2 KiB for the
// kernel's static tap tables (under 1 KiB). Staying under the default limit also keeps several
// blocks resident per SM.
constexpr int64_t kTiledStaticReserveBytes = 2 * 1024;

template <typename ElementT, typename IndexT>
ConvTransposeParams<ElementT, IndexT> make_params(const detail::ConvTransposeProblem& problem, const void* x,
                                                  const void* w, void* y) {
  ConvTransposeParams<ElementT, IndexT> p;
  p.x = static_cast<const ElementT*>(x);
  p.w = static_cast<const ElementT*>(w);
  p.y = static_cast<ElementT*>(y);
  p.geometry = make_conv_transpose_geometry<IndexT>(problem);
  p.work = problem.output.elements();
  return p;
}

bool needs_float_workspace(upsDataType_t dtype) { return dtype == UPS_DTYPE_F16 || dtype == UPS_DTYPE_BF16; }

// ---------------------------------------------------------------------------------------------
// SCATTER_ATOMIC
// ---------------------------------------------------------------------------------------------
template <typename ElementT, typename IndexT>
upsStatus_t launch_scatter(const detail::ConvTransposeProblem& problem, const void* x, const void* w,
                           const void* bias, void* y, const ExecContext& exec) {
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  ConvTransposeParams<ElementT, IndexT> p = make_params<ElementT, IndexT>(problem, x, w, y);
  const auto* bias_values = static_cast<const ElementT*>(bias);
  const FastDivmodU64 cout_per_group(static_cast<uint64_t>(problem.out_channels_per_group()));
  const int64_t output_elements = problem.output.elements();
  // Fits int64: conv_transpose_can_implement (src/dispatch.cpp) refused the call otherwise.
  const int64_t scatter_work = problem.input.elements() * problem.out_channels_per_group();
  const dim3 output_grid = grid_for(output_elements);
  const dim3 scatter_grid = grid_for(scatter_work);

  if constexpr (std::is_same_v<ElementT, __half> || std::is_same_v<ElementT, __nv_bfloat16>) {
    // Accumulate in a float workspace shaped like y, then narrow once (NOTE [ Accumulation types ]).
    auto* accumulator = static_cast<float*>(exec.workspace);
    UPS_CUDA_CHECK(cudaMemsetAsync(accumulator, 0, sizeof(float) * static_cast<size_t>(output_elements), stream));
    if (scatter_work > 0) {
      ConvTransposeParams<ElementT, IndexT> scatter = p;
      scatter.work = scatter_work;
      UPS_CUDA_CHECK(launch_kernel(conv_transpose_scatter_kernel<ElementT, float, IndexT>, scatter_grid,
                                   dim3(kThreadsPerBlock), 0, stream, scatter, cout_per_group, accumulator));
    }
    return with_bias_epilogue(bias_values, [&](auto epilogue) -> upsStatus_t {
      UPS_CUDA_CHECK(launch_kernel(conv_transpose_finalize_kernel<ElementT, IndexT, decltype(epilogue)>, output_grid,
                                   dim3(kThreadsPerBlock), 0, stream, p, epilogue,
                                   static_cast<const float*>(accumulator)));
      return UPS_STATUS_SUCCESS;
    });
  } else {
    // Atomics add onto what y holds, so y starts as the bias (or zero).
    if (bias != nullptr) {
      UPS_CUDA_CHECK(launch_kernel(conv_transpose_fill_bias_kernel<ElementT, IndexT>, output_grid,
                                   dim3(kThreadsPerBlock), 0, stream, p, bias_values));
    } else {
      UPS_CUDA_CHECK(cudaMemsetAsync(y, 0, sizeof(ElementT) * static_cast<size_t>(output_elements), stream));
    }
    if (scatter_work > 0) {
      ConvTransposeParams<ElementT, IndexT> scatter = p;
      scatter.work = scatter_work;
      UPS_CUDA_CHECK(launch_kernel(conv_transpose_scatter_kernel<ElementT, ElementT, IndexT>, scatter_grid,
                                   dim3(kThreadsPerBlock), 0, stream, scatter, cout_per_group,
                                   static_cast<ElementT*>(y)));
    }
  }
  return UPS_STATUS_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// GATHER
// ---------------------------------------------------------------------------------------------
// Box extents, innermost axis first so a warp covers consecutive w positions; false when an axis
// is beyond the tiled kernel (then the direct kernel runs).
bool plan_gather_axes(const detail::ConvTransposeProblem& problem, GatherTilePlan* plan) {
  int64_t positions_left = kTiledPositions;
  for (int a = 2; a >= 0; --a) {
    const int64_t s = problem.stride[a], k = problem.weight.extent[a], dil = problem.dilation[a];
    // Keep the kernel's int tap arithmetic (k * dilation + stride) far from overflow.
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
  return true;
}

// The host-built divisors of NOTE [ Fast division ] for a finished plan.
void plan_gather_divisors(int tile_co, GatherTilePlan* plan) {
  for (int a = 0; a < 3; ++a) {
    plan->tiles_div[a] = FastDivmodU64(static_cast<uint64_t>(plan->tiles[a]));
    plan->phases_div[a] = FastDivmodU64(static_cast<uint64_t>(plan->phases[a]));
    plan->tile_div[a] = FastDivmodU32(static_cast<uint32_t>(plan->tile[a]));
    plan->input_box_div[a] = FastDivmodU32(static_cast<uint32_t>(plan->max_input_box[a]));
    plan->max_taps_div[a] = FastDivmodU32(static_cast<uint32_t>(plan->max_taps[a]));
  }
  plan->co_tiles_div = FastDivmodU64(static_cast<uint64_t>(plan->co_tiles));
  plan->groups_div = FastDivmodU64(static_cast<uint64_t>(plan->groups));
  plan->positions_div = FastDivmodU32(static_cast<uint32_t>(plan->tile[0] * plan->tile[1] * plan->tile[2]));
  plan->cin_chunk_div = FastDivmodU32(static_cast<uint32_t>(plan->cin_chunk));
  plan->co_span_div = FastDivmodU32(static_cast<uint32_t>(tile_co * plan->co_groups));
}

// Plans the tiled kernel within `shared_bytes` of dynamic shared memory; false when it cannot run
// this problem (then the direct kernel does).
bool plan_gather_tiled(const detail::ConvTransposeProblem& problem, int tile_co, int64_t accum_bytes,
                       int64_t shared_bytes, GatherTilePlan* plan) {
  const int64_t cin_per_group = problem.in_channels_per_group();
  if (cin_per_group == 0) return false;  // nothing to stage: the direct kernel writes the epilogue of 0
  if (!plan_gather_axes(problem, plan)) return false;
  // A box smaller than kTiledPositions leaves room for several output-channel groups per block.
  const int64_t positions = int64_t{plan->tile[0]} * plan->tile[1] * plan->tile[2];
  const int64_t channel_tiles = (problem.out_channels_per_group() + tile_co - 1) / tile_co;
  int64_t co_groups = std::max<int64_t>(1, std::min<int64_t>(kTiledPositions / positions, channel_tiles));
  const int64_t box_volume =
      int64_t{plan->max_input_box[0]} * plan->max_input_box[1] * plan->max_input_box[2];
  const int64_t taps = int64_t{plan->max_taps[0]} * plan->max_taps[1] * plan->max_taps[2];
  // Fit the staged tiles: fewer input channels per chunk first, then fewer channel groups.
  int64_t chunk = 0;
  if (!fit_staged_chunk(cin_per_group, 32, box_volume, taps, tile_co, accum_bytes, shared_bytes, &co_groups, &chunk))
    return false;
  plan->co_groups = static_cast<int>(co_groups);
  const int64_t co_span = int64_t{tile_co} * co_groups;
  plan->cin_chunk = static_cast<int>(chunk);
  plan->co_tiles = static_cast<int>((problem.out_channels_per_group() + co_span - 1) / co_span);
  plan->groups = problem.groups;
  // Work units: n x groups x co tiles x phases x boxes.
  const int64_t phases = int64_t{plan->phases[0]} * plan->phases[1] * plan->phases[2];
  const int64_t boxes = int64_t{plan->tiles[0]} * plan->tiles[1] * plan->tiles[2];
  plan->blocks = problem.input.n * problem.groups * plan->co_tiles * phases * boxes;
  plan_gather_divisors(tile_co, plan);
  return boxes < (int64_t{1} << 31) && phases < (int64_t{1} << 31);
}

template <typename ElementT, typename IndexT, int TileCo, typename Epilogue>
upsStatus_t launch_gather_tiled(const ConvTransposeParams<ElementT, IndexT>& p, const GatherTilePlan& plan,
                                Epilogue epilogue, cudaStream_t stream) {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  GatherTiledParams<ElementT, IndexT, Epilogue> params{p, plan, epilogue};
  const int threads = plan.tile[0] * plan.tile[1] * plan.tile[2] * plan.co_groups;
  const int64_t box_volume = int64_t{plan.max_input_box[0]} * plan.max_input_box[1] * plan.max_input_box[2];
  const int64_t taps = int64_t{plan.max_taps[0]} * plan.max_taps[1] * plan.max_taps[2];
  const int64_t co_span = int64_t{TileCo} * plan.co_groups;
  const size_t shared_bytes = static_cast<size_t>(plan.cin_chunk * (box_volume + taps * co_span)) * sizeof(AccumT);
  UPS_CUDA_CHECK(launch_kernel(conv_transpose_gather_tiled_kernel<ElementT, IndexT, TileCo, Epilogue>,
                               grid_for_blocks(plan.blocks), dim3(threads), shared_bytes, stream, params));
  return UPS_STATUS_SUCCESS;
}

template <typename ElementT, typename IndexT>
upsStatus_t launch_gather(const detail::ConvTransposeProblem& problem, const void* x, const void* w,
                          const void* bias, void* y, const ExecContext& exec) {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  const ConvTransposeParams<ElementT, IndexT> p = make_params<ElementT, IndexT>(problem, x, w, y);
  SharedMemoryBudget budget;
  UPS_RETURN_IF_ERROR(shared_memory_budget(&budget));
  const int tile_co = choose_channel_tile(problem.out_channels_per_group());
  GatherTilePlan plan{};
  const bool tiled = plan_gather_tiled(problem, tile_co, sizeof(AccumT), budget.default_bytes - kTiledStaticReserveBytes,
                                       &plan) &&
                     plan.blocks > 0;
  return with_bias_epilogue(static_cast<const ElementT*>(bias), [&](auto epilogue) -> upsStatus_t {
    using Epilogue = decltype(epilogue);
    if (tiled) {
      switch (tile_co) {
        case 16: return launch_gather_tiled<ElementT, IndexT, 16>(p, plan, epilogue, stream);
        case 4: return launch_gather_tiled<ElementT, IndexT, 4>(p, plan, epilogue, stream);
        default: return launch_gather_tiled<ElementT, IndexT, 1>(p, plan, epilogue, stream);
      }
    }
    UPS_CUDA_CHECK(launch_kernel(conv_transpose_gather_direct_kernel<ElementT, IndexT, Epilogue>, grid_for(p.work),
                                 dim3(kThreadsPerBlock), 0, stream, p, epilogue));
    return UPS_STATUS_SUCCESS;
  });
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
  const bool narrow = detail::conv_transpose_use_32bit_indexing(problem);
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

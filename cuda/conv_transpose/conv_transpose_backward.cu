// Launchers for the transposed convolution's gradients (kernels in conv_transpose_backward.cuh).
//
// Data gradient (GATHER only): the tiled kernel when its plan fits in shared memory, else the
// direct kernel, one dx element per thread; both produce the same bits (see the header).
// Weight and bias gradients: a plan (shape-only, see NOTE [ Weight-gradient reduction ]), then
//   GATHER, one chunk:        the reduction kernel writes the gradient;
//   GATHER, several chunks:   the reduction kernel writes chunk sums to the workspace and
//                             grad_combine_kernel adds them in ascending chunk order;
//   SCATTER_ATOMIC:           the gradient (f32/f64) or a float workspace (f16/bf16) is zeroed,
//                             the reduction kernel atomically adds its chunk sums, and for
//                             f16/bf16 grad_combine_kernel (one chunk) rounds the floats once.
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "cuda/conv_transpose/conv_transpose.h"
#include "cuda/common/check.cuh"
#include "cuda/common/launch.cuh"
#include "cuda/conv_transpose/conv_transpose_backward.cuh"
#include "cuda/conv_transpose/conv_transpose_tiling.h"

namespace upsample::cuda {
namespace {

// Threads of a reduction block (weight and bias gradients).
constexpr int kReductionThreads = 256;
// Blocks a reduction aims for before it splits the positions into chunks: about eight resident
// 256-thread blocks on each of an H100's 132 SMs. More chunks would only grow the workspace and
// the combine pass. A plan depends on the problem's shape alone (not on the device), so the
// order of additions, and hence the bits, do not depend on where it runs.
constexpr int64_t kTargetBlocks = 1024;
// A chunk holds at least this many staging steps, so a block's fixed costs (decode, tree,
// epilogue) stay small next to its sums.
constexpr int64_t kMinStepsPerChunk = 8;
// Threads of a tiled data-gradient block (dx positions x input-channel groups), each with TileCi
// accumulators: as the forward's tiled gather.
constexpr int kTiledPositions = 128;
// Dynamic shared memory the tiled data-gradient kernel plans for: the device's per-block limit
// without an opt-in (NOTE [ Launch configuration ]), less 2 KiB, as the forward's tiled gather.
constexpr int64_t kTiledReserveBytes = 2 * 1024;
// Largest staged dy box extent on one axis (and reach (k-1)*dilation); beyond it the direct kernel
// runs (a box that long would leave no shared memory for channels anyway).
constexpr int64_t kMaxDataGradBox = 4096;

int64_t ceil_div64(int64_t a, int64_t b) { return ceil_div<int64_t>(a, b); }  // positive b

bool is_narrow_float(upsDataType_t dtype) { return dtype == UPS_DTYPE_F16 || dtype == UPS_DTYPE_BF16; }

int64_t accum_bytes(upsDataType_t dtype) { return dtype == UPS_DTYPE_F64 ? 8 : 4; }

// Cuts `positions` into chunks for a reduction of `base_blocks` blocks: as many as bring the
// total to kTargetBlocks, but none shorter than kMinStepsPerChunk steps of `stage`.
void plan_chunks(int64_t positions, int64_t base_blocks, int stage, int64_t* chunks, int64_t* chunk_length) {
  int64_t count = 1;
  if (positions > 0 && base_blocks < kTargetBlocks) {
    const int64_t wanted = ceil_div64(kTargetBlocks, base_blocks);
    const int64_t most = std::max<int64_t>(1, positions / (kMinStepsPerChunk * stage));
    count = std::min(wanted, most);
  }
  int64_t length = positions > 0 ? ceil_div64(positions, count) : stage;
  length = ceil_div64(length, stage) * stage;
  *chunk_length = length;
  *chunks = positions > 0 ? ceil_div64(positions, length) : 1;
}

bool narrow_indexing(const detail::ConvTransposeProblem& p) { return detail::conv_transpose_use_32bit_indexing(p); }

GradEpilogue epilogue_for(upsAlgorithm_t algorithm, int64_t chunks) {
  if (algorithm == UPS_ALGO_SCATTER_ATOMIC) return GradEpilogue::kAtomicAdd;
  return chunks == 1 ? GradEpilogue::kStore : GradEpilogue::kStorePartial;
}

// ---------------------------------------------------------------------------------------------
// Data gradient
// ---------------------------------------------------------------------------------------------
// The host-built divisors of NOTE [ Fast division ] for a finished data-gradient plan.
void plan_data_grad_divisors(const detail::ConvTransposeProblem& problem, DataGradTilePlan* plan) {
  for (int a = 0; a < 3; ++a) {
    plan->tiles_div[a] = FastDivmodU64(static_cast<uint64_t>(plan->tiles[a]));
    plan->tile_div[a] = FastDivmodU32(static_cast<uint32_t>(plan->tile[a]));
    plan->box_div[a] = FastDivmodU32(static_cast<uint32_t>(plan->box[a]));
    plan->kernel_div[a] = FastDivmodU32(static_cast<uint32_t>(problem.weight.extent[a]));
  }
  plan->ci_tiles_div = FastDivmodU64(static_cast<uint64_t>(plan->ci_tiles));
  plan->groups_div = FastDivmodU64(static_cast<uint64_t>(plan->groups));
  plan->positions_div = FastDivmodU32(static_cast<uint32_t>(plan->tile[0] * plan->tile[1] * plan->tile[2]));
  plan->co_chunk_div = FastDivmodU32(static_cast<uint32_t>(plan->co_chunk));
  plan->taps_div = FastDivmodU32(static_cast<uint32_t>(problem.weight.plane()));
}

// Plans the tiled data-gradient kernel; false when it cannot run this problem (then the direct
// kernel does).
bool plan_data_grad_tiled(const detail::ConvTransposeProblem& problem, int tile_ci, int64_t accum_bytes,
                          int64_t shared_bytes, DataGradTilePlan* plan) {
  const int64_t cin_per_group = problem.in_channels_per_group(), cout_per_group = problem.out_channels_per_group();
  if (cout_per_group == 0 || cin_per_group == 0) return false;  // nothing to stage: the direct kernel writes zeros
  int64_t positions_left = kTiledPositions;
  // Box extents, innermost axis first so a warp covers consecutive w positions.
  for (int a = 2; a >= 0; --a) {
    const int64_t in = problem.input.extent[a], s = problem.stride[a];
    const int64_t reach = (problem.weight.extent[a] - 1) * problem.dilation[a];
    if (reach > kMaxDataGradBox || s > kMaxDataGradBox) return false;
    plan->tile[a] = pow2_at_least(in, static_cast<int>(positions_left));
    positions_left /= plan->tile[a];
    const int64_t box = (plan->tile[a] - 1) * s + reach + 1;
    if (box > kMaxDataGradBox) return false;
    plan->box[a] = static_cast<int>(box);
    plan->tiles[a] = static_cast<int>(ceil_div64(in, plan->tile[a]));
  }
  const int64_t positions = int64_t{plan->tile[0]} * plan->tile[1] * plan->tile[2];
  const int64_t channel_tiles = ceil_div64(cin_per_group, tile_ci);
  int64_t ci_groups = std::max<int64_t>(1, std::min<int64_t>(kTiledPositions / positions, channel_tiles));
  const int64_t box_volume = int64_t{plan->box[0]} * plan->box[1] * plan->box[2];
  const int64_t taps = problem.weight.plane();
  // Fit the staged tiles: fewer output channels per chunk first, then fewer channel groups.
  int64_t chunk = 0;
  if (!fit_staged_chunk(cout_per_group, 16, box_volume, taps, tile_ci, accum_bytes, shared_bytes, &ci_groups, &chunk))
    return false;
  plan->co_chunk = static_cast<int>(chunk);
  plan->ci_groups = static_cast<int>(ci_groups);
  plan->ci_tiles = static_cast<int>(ceil_div64(cin_per_group, int64_t{tile_ci} * ci_groups));
  plan->groups = problem.groups;
  plan->blocks = problem.input.n * problem.groups * plan->ci_tiles * plan->tiles[0] * plan->tiles[1] * plan->tiles[2];
  plan_data_grad_divisors(problem, plan);
  return true;
}

template <typename ElementT, typename IndexT, int TileCi>
upsStatus_t launch_data_grad_tiled(const ConvDataGradParams<ElementT, IndexT>& p, const DataGradTilePlan& plan,
                                   cudaStream_t stream) {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  const DataGradTiledParams<ElementT, IndexT> params{p, plan};
  const int threads = plan.tile[0] * plan.tile[1] * plan.tile[2] * plan.ci_groups;
  const int64_t box_volume = int64_t{plan.box[0]} * plan.box[1] * plan.box[2];
  const int64_t taps = int64_t{p.geometry.weight.extent[0]} * p.geometry.weight.extent[1] * p.geometry.weight.extent[2];
  const size_t shared_bytes =
      static_cast<size_t>(plan.co_chunk * (box_volume + taps * TileCi * plan.ci_groups)) * sizeof(AccumT);
  UPS_CUDA_CHECK(launch_kernel(conv_transpose_data_grad_tiled_kernel<ElementT, IndexT, TileCi>,
                               grid_for_blocks(plan.blocks), dim3(threads),
                               shared_bytes, stream, params));
  return UPS_STATUS_SUCCESS;
}

template <typename ElementT, typename IndexT>
upsStatus_t launch_data_grad(const detail::ConvTransposeProblem& problem, const void* dy, const void* w, void* dx,
                             const ExecContext& exec) {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  ConvDataGradParams<ElementT, IndexT> p;
  p.dy = static_cast<const ElementT*>(dy);
  p.w = static_cast<const ElementT*>(w);
  p.dx = static_cast<ElementT*>(dx);
  p.geometry = make_conv_transpose_geometry<IndexT>(problem);
  p.work = problem.input.elements();
  SharedMemoryBudget budget;
  UPS_RETURN_IF_ERROR(shared_memory_budget(&budget));
  const int tile_ci = choose_channel_tile(problem.in_channels_per_group());
  DataGradTilePlan plan{};
  if (plan_data_grad_tiled(problem, tile_ci, sizeof(AccumT), budget.default_bytes - kTiledReserveBytes, &plan) &&
      plan.blocks > 0) {
    switch (tile_ci) {
      case 16: return launch_data_grad_tiled<ElementT, IndexT, 16>(p, plan, stream);
      case 4: return launch_data_grad_tiled<ElementT, IndexT, 4>(p, plan, stream);
      default: return launch_data_grad_tiled<ElementT, IndexT, 1>(p, plan, stream);
    }
  }
  UPS_CUDA_CHECK(launch_kernel(conv_transpose_data_grad_kernel<ElementT, IndexT>, grid_for(p.work),
                               dim3(kThreadsPerBlock), 0, stream, p));
  return UPS_STATUS_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// Weight gradient
// ---------------------------------------------------------------------------------------------
struct WeightGradChoice {
  WeightGradPlan plan;
  int micro;  // the kernel's Micro: 4 when both channel tiles are full 64-wide, else 1
};

WeightGradChoice plan_weight_grad(const detail::ConvTransposeProblem& problem, upsAlgorithm_t algorithm) {
  WeightGradChoice choice{};
  WeightGradPlan& plan = choice.plan;
  const int64_t cin_per_group = problem.in_channels_per_group(), cout_per_group = problem.out_channels_per_group();
  // A 4x4 tile per thread reuses each staged value four times; it pays only when a 64x64 tile of
  // (ci, co) is full, and then the reduction needs no tree (threads_r = 1).
  choice.micro = cin_per_group >= 64 && cout_per_group >= 64 ? 4 : 1;
  plan.threads_ci = pow2_at_least(ceil_div64(cin_per_group, choice.micro), 16);
  plan.threads_co = pow2_at_least(ceil_div64(cout_per_group, choice.micro), 16);
  // Narrow channel tiles (depthwise, RGB) give their threads to the positions instead.
  plan.threads_r = kReductionThreads / (plan.threads_ci * plan.threads_co);
  plan.stage = choice.micro == 4 ? 32 : std::max(64, 2 * plan.threads_r);
  plan.ci_tiles = ceil_div64(cin_per_group, int64_t{plan.threads_ci} * choice.micro);
  plan.co_tiles = ceil_div64(cout_per_group, int64_t{plan.threads_co} * choice.micro);
  plan.taps = problem.weight.plane();
  const int64_t base_blocks = problem.groups * plan.ci_tiles * plan.co_tiles * plan.taps;
  // Every tap's box lies inside the input: N * D * H * W positions bound them all.
  plan_chunks(problem.input.n * problem.input.plane(), base_blocks, plan.stage, &plan.chunks, &plan.chunk_length);
  plan.blocks = base_blocks * plan.chunks;
  plan.epilogue = epilogue_for(algorithm, plan.chunks);
  plan.chunks_div = FastDivmodU64(static_cast<uint64_t>(plan.chunks));
  plan.taps_div = FastDivmodU64(static_cast<uint64_t>(plan.taps));
  plan.co_tiles_div = FastDivmodU64(static_cast<uint64_t>(plan.co_tiles));
  plan.ci_tiles_div = FastDivmodU64(static_cast<uint64_t>(plan.ci_tiles));
  for (int a = 0; a < 3; ++a) plan.kernel_div[a] = FastDivmodU64(static_cast<uint64_t>(problem.weight.extent[a]));
  plan.stage_div = FastDivmodU32(static_cast<uint32_t>(plan.stage));
  plan.tile_ci_div = FastDivmodU32(static_cast<uint32_t>(plan.threads_ci * choice.micro));
  plan.tile_co_div = FastDivmodU32(static_cast<uint32_t>(plan.threads_co * choice.micro));
  return choice;
}

template <typename ElementT, typename IndexT, int Micro>
upsStatus_t launch_weight_grad_kernel(const WeightGradParams<ElementT, IndexT>& p, cudaStream_t stream) {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  // The plans use at most about 33 KiB (stage x tiles + tree); the check guards the planner
  // against the device's limit (NOTE [ Launch configuration ]), not the caller's input.
  const int64_t shared_bytes = weight_grad_shared_bytes<AccumT, IndexT>(p.plan, Micro);
  SharedMemoryBudget budget;
  UPS_RETURN_IF_ERROR(shared_memory_budget(&budget));
  if (shared_bytes > budget.default_bytes)
    return detail::fail(UPS_STATUS_INTERNAL_ERROR, "weight gradient: plan needs ", shared_bytes,
                        " bytes of shared memory, the device allows ", budget.default_bytes);
  UPS_CUDA_CHECK(launch_kernel(conv_transpose_weight_grad_kernel<ElementT, IndexT, Micro>, grid_for_blocks(p.plan.blocks),
                               dim3(kReductionThreads), static_cast<size_t>(shared_bytes), stream, p));
  return UPS_STATUS_SUCCESS;
}

template <typename ElementT>
upsStatus_t launch_combine(const void* partial, void* out, int64_t elements, int64_t chunks, cudaStream_t stream) {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  GradCombineParams<ElementT> p;
  p.partial = static_cast<const AccumT*>(partial);
  p.out = static_cast<ElementT*>(out);
  p.elements = elements;
  p.chunks = chunks;
  UPS_CUDA_CHECK(launch_kernel(grad_combine_kernel<ElementT>, grid_for(elements),
                               dim3(kThreadsPerBlock), 0, stream, p));
  return UPS_STATUS_SUCCESS;
}

template <typename ElementT, typename IndexT>
upsStatus_t launch_weight_grad(const detail::ConvTransposeProblem& problem, upsAlgorithm_t algorithm, const void* x,
                               const void* dy, void* dw, const ExecContext& exec) {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  const WeightGradChoice choice = plan_weight_grad(problem, algorithm);
  const int64_t elements = problem.weight.elements();
  WeightGradParams<ElementT, IndexT> p;
  p.x = static_cast<const ElementT*>(x);
  p.dy = static_cast<const ElementT*>(dy);
  p.dw = static_cast<ElementT*>(dw);
  p.partial = static_cast<AccumT*>(exec.workspace);
  p.geometry = make_conv_transpose_geometry<IndexT>(problem);
  p.plan = choice.plan;
  // Atomics add onto what the accumulator holds: dw itself (f32/f64) or the float workspace.
  const bool atomic = choice.plan.epilogue == GradEpilogue::kAtomicAdd;
  if (atomic) {
    if constexpr (std::is_same_v<AccumT, ElementT>) p.partial = reinterpret_cast<AccumT*>(dw);
    UPS_CUDA_CHECK(cudaMemsetAsync(p.partial, 0, sizeof(AccumT) * static_cast<size_t>(elements), stream));
  }
  const upsStatus_t launched = choice.micro == 4 ? launch_weight_grad_kernel<ElementT, IndexT, 4>(p, stream)
                                                : launch_weight_grad_kernel<ElementT, IndexT, 1>(p, stream);
  if (launched != UPS_STATUS_SUCCESS) return launched;
  if (choice.plan.epilogue == GradEpilogue::kStorePartial)
    return launch_combine<ElementT>(exec.workspace, dw, elements, choice.plan.chunks, stream);
  if (atomic && !std::is_same_v<AccumT, ElementT>) return launch_combine<ElementT>(exec.workspace, dw, elements, 1, stream);
  return UPS_STATUS_SUCCESS;
}

// ---------------------------------------------------------------------------------------------
// Bias gradient
// ---------------------------------------------------------------------------------------------
BiasGradPlan plan_bias_grad(const detail::TensorGeometry& dy, upsAlgorithm_t algorithm) {
  BiasGradPlan plan{};
  // Channels-last: a warp reads consecutive channels of one position; channels-first: one
  // channel per block, its threads reading consecutive positions.
  plan.threads_c = dy.layout == UPS_LAYOUT_CHANNELS_LAST ? pow2_at_least(dy.c, 32) : 1;
  plan.threads_r = kBiasGradThreads / plan.threads_c;
  plan.c_tiles = ceil_div64(dy.c, plan.threads_c);
  plan_chunks(dy.n * dy.plane(), plan.c_tiles, plan.threads_r, &plan.chunks, &plan.chunk_length);
  plan.blocks = plan.c_tiles * plan.chunks;
  plan.epilogue = epilogue_for(algorithm, plan.chunks);
  return plan;
}

template <typename ElementT, typename IndexT>
upsStatus_t launch_bias_grad(const detail::TensorGeometry& dy_geometry, upsAlgorithm_t algorithm, const void* dy,
                             void* db, const ExecContext& exec) {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  BiasGradParams<ElementT, IndexT> p;
  p.dy = static_cast<const ElementT*>(dy);
  p.db = static_cast<ElementT*>(db);
  p.partial = static_cast<AccumT*>(exec.workspace);
  p.output = make_device_tensor<IndexT>(dy_geometry);
  p.position_stride = dy_geometry.layout == UPS_LAYOUT_CHANNELS_LAST ? static_cast<IndexT>(dy_geometry.c) : 1;
  p.plan = plan_bias_grad(dy_geometry, algorithm);
  p.plane_div = FastDivmod<IndexT>(dy_geometry.plane());
  const int64_t channels = dy_geometry.c;
  const bool atomic = p.plan.epilogue == GradEpilogue::kAtomicAdd;
  if (atomic) {
    if constexpr (std::is_same_v<AccumT, ElementT>) p.partial = reinterpret_cast<AccumT*>(db);
    UPS_CUDA_CHECK(cudaMemsetAsync(p.partial, 0, sizeof(AccumT) * static_cast<size_t>(channels), stream));
  }
  UPS_CUDA_CHECK(launch_kernel(conv_transpose_bias_grad_kernel<ElementT, IndexT>, grid_for_blocks(p.plan.blocks),
                               dim3(kBiasGradThreads), 0,
                               stream, p));
  if (p.plan.epilogue == GradEpilogue::kStorePartial)
    return launch_combine<ElementT>(exec.workspace, db, channels, p.plan.chunks, stream);
  if (atomic && !std::is_same_v<AccumT, ElementT>) return launch_combine<ElementT>(exec.workspace, db, channels, 1, stream);
  return UPS_STATUS_SUCCESS;
}

}  // namespace

upsStatus_t conv_transpose_backward_data(const detail::ConvTransposeProblem& problem, const void* dy, const void* w,
                                         void* dx, const ExecContext& exec) {
  const bool narrow = narrow_indexing(problem);
  return dispatch_float_dtype(problem.input.dtype, [&](auto tag) {
    using ElementT = typename decltype(tag)::type;
    return narrow ? launch_data_grad<ElementT, int32_t>(problem, dy, w, dx, exec)
                  : launch_data_grad<ElementT, int64_t>(problem, dy, w, dx, exec);
  });
}

size_t conv_transpose_backward_weight_workspace_bytes(const detail::ConvTransposeProblem& problem,
                                                      upsAlgorithm_t algorithm) {
  const int64_t elements = problem.weight.elements();
  const WeightGradPlan plan = plan_weight_grad(problem, algorithm).plan;
  if (plan.epilogue == GradEpilogue::kStorePartial)
    return static_cast<size_t>(plan.chunks * elements * accum_bytes(problem.weight.dtype));
  if (plan.epilogue == GradEpilogue::kAtomicAdd && is_narrow_float(problem.weight.dtype))
    return sizeof(float) * static_cast<size_t>(elements);
  return 0;
}

upsStatus_t conv_transpose_backward_weight(const detail::ConvTransposeProblem& problem, upsAlgorithm_t algorithm,
                                           const void* x, const void* dy, void* dw, const ExecContext& exec) {
  if (exec.workspace_bytes < conv_transpose_backward_weight_workspace_bytes(problem, algorithm))
    return detail::fail(UPS_STATUS_INTERNAL_ERROR, "conv-transpose weight gradient: workspace smaller than its query");
  const bool narrow = narrow_indexing(problem);
  return dispatch_float_dtype(problem.weight.dtype, [&](auto tag) {
    using ElementT = typename decltype(tag)::type;
    return narrow ? launch_weight_grad<ElementT, int32_t>(problem, algorithm, x, dy, dw, exec)
                  : launch_weight_grad<ElementT, int64_t>(problem, algorithm, x, dy, dw, exec);
  });
}

size_t conv_transpose_backward_bias_workspace_bytes(const detail::TensorGeometry& dy_geometry,
                                                    upsAlgorithm_t algorithm) {
  const BiasGradPlan plan = plan_bias_grad(dy_geometry, algorithm);
  if (plan.epilogue == GradEpilogue::kStorePartial)
    return static_cast<size_t>(plan.chunks * dy_geometry.c * accum_bytes(dy_geometry.dtype));
  if (plan.epilogue == GradEpilogue::kAtomicAdd && is_narrow_float(dy_geometry.dtype))
    return sizeof(float) * static_cast<size_t>(dy_geometry.c);
  return 0;
}

upsStatus_t conv_transpose_backward_bias(const detail::TensorGeometry& dy_geometry, upsAlgorithm_t algorithm,
                                         const void* dy, void* db, const ExecContext& exec) {
  if (exec.workspace_bytes < conv_transpose_backward_bias_workspace_bytes(dy_geometry, algorithm))
    return detail::fail(UPS_STATUS_INTERNAL_ERROR, "conv-transpose bias gradient: workspace smaller than its query");
  const bool narrow = use_32bit_indexing({&dy_geometry});
  return dispatch_float_dtype(dy_geometry.dtype, [&](auto tag) {
    using ElementT = typename decltype(tag)::type;
    return narrow ? launch_bias_grad<ElementT, int32_t>(dy_geometry, algorithm, dy, db, exec)
                  : launch_bias_grad<ElementT, int64_t>(dy_geometry, algorithm, dy, db, exec);
  });
}

}  // namespace upsample::cuda

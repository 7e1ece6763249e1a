// Launcher of the transposed convolution's weight gradient on the implicit-GEMM engine (kernels in
// weight_gradient_kernel.cuh, NOTE [ Weight gradient on the engine ]; host interface in
// implicit_gemm.h).
//
// Per call: pack x and dy into channels-last, 16-byte-aligned operands where they are not already
// (the forward's pack kernel), run the split GEMMs into the f32 partial-sum workspace, then the
// combine pass into dw.
//
// NOTE [ Weight gradient split ]
// The reduction K = N x (input positions) is long while M x N (C_in/groups x C_out/groups) per
// group and tap can be small, so K is split. Both the number of splits and their length follow from
// the shape alone, never from the device, so that a given problem sums in the same order on every
// GPU and every run. Enough splits to give about two waves of CTAs over (M tiles x N tiles x groups
// x taps x splits) on a 132-SM H100 at the tile's occupancy — 1024 for 64 x 64 (four CTAs per SM),
// 264 for 128 x 128 (one) — and no more: every split writes its f32 partial tile to the workspace
// and the combine reads it back, so more splits than the GPU needs only add DRAM traffic (with
// four waves the 128 x 128 StyleGAN2 and VAE shapes wrote 64 MiB of partials, as much as the
// GEMM's own operands). No split is shorter than kMinSplitTiles K tiles (256 positions), so a
// partial tile (16 or 64 KiB) stays small beside the operand traffic of its split.
#include <algorithm>
#include <cstdint>

#include "core/dtype.h"
#include "core/status.h"
#include "cuda/common/check.cuh"
#include "cuda/common/launch.cuh"
#include "implicit_gemm.h"
#include "implicit_gemm_kernel.cuh"
#include "launch_common.cuh"
#include "weight_gradient_kernel.cuh"

namespace upsample::cuda {
namespace {

using implicit_gemm::align_up;
using implicit_gemm::kCoordinateLimit;
using implicit_gemm::round_up;
using implicit_gemm::WeightGradientLarge;
using implicit_gemm::WeightGradientSmall;
using ::upsample::detail::ConvTransposeProblem;
constexpr int64_t kBlockK = WeightGradientSmall::kBlockK;
static_assert(WeightGradientLarge::kBlockK == kBlockK, "one K tile for both configurations");

constexpr int64_t kTargetCtasSmall = 1024, kTargetCtasLarge = 264;  // NOTE [ Weight gradient split ]
constexpr int64_t kMinSplitTiles = 8;

struct WeightGradientPlan {
  int64_t cig = 0, cog = 0, taps = 1, positions = 0;
  int64_t cig_valid = 0, cog_valid = 0;  // channels per group in the operand rows
  bool pack_x = false, pack_dy = false;
  bool large_tile = false;  // 128 x 128, else 64 x 64 (NOTE [ Weight gradient tiles ])
  int64_t tiles_m = 0, tiles_n = 0, splits = 1, chunk = kBlockK;
  size_t partial_bytes = 0, x_packed_bytes = 0, dy_packed_bytes = 0;
  size_t workspace_bytes() const {
    return align_up(partial_bytes) + align_up(x_packed_bytes) + align_up(dy_packed_bytes);
  }
};

// The problem is the weight gradient's: input = x, weight = dw, output = dy.
ImplicitGemmSupport make_plan(const ConvTransposeProblem& p, WeightGradientPlan* plan) {
  const upsDataType_t dtype = p.input.dtype;
  if (dtype != UPS_DTYPE_F16 && dtype != UPS_DTYPE_BF16)
    return {UPS_STATUS_NOT_SUPPORTED,
            "implicit GEMM weight gradient: f16 and bf16 only (its fragments come from ldmatrix.trans, a 16-bit "
            "load); f32 and f64 run GATHER"};
  if (p.output.dtype != dtype || p.weight.dtype != dtype)
    return {UPS_STATUS_NOT_SUPPORTED, "implicit GEMM weight gradient: x, dy and dw share one dtype"};
  if (p.groups < 1 || p.input.c % p.groups != 0)
    return {UPS_STATUS_INTERNAL_ERROR, "implicit GEMM: groups do not divide C_in (validation should have said)"};
  int64_t taps = 1;
  for (int a = 0; a < 3; ++a) {
    if (p.input.extent[a] >= kCoordinateLimit || p.output.extent[a] >= kCoordinateLimit ||
        p.stride[a] >= kCoordinateLimit || p.pad_begin[a] >= kCoordinateLimit ||
        p.weight.extent[a] >= kCoordinateLimit || p.dilation[a] >= kCoordinateLimit ||
        (p.input.extent[a] - 1) * p.stride[a] + (p.weight.extent[a] - 1) * p.dilation[a] >= kCoordinateLimit)
      return {UPS_STATUS_OVERFLOW,
              "implicit GEMM weight gradient: a coordinate (input extent x stride + kernel "
              "reach, or an extent) of 2^30 or more"};
    // Bounded as it grows (extents below 2^30 could overflow the product): the grid's z extent
    // holds groups x taps.
    taps *= p.weight.extent[a];
    if (taps > 65535)
      return {UPS_STATUS_NOT_SUPPORTED, "implicit GEMM weight gradient: groups x kernel taps above 65535 (the grid's "
                                        "z extent)"};
  }
  plan->taps = taps;
  plan->positions = p.input.n * p.input.plane();
  if (plan->positions >= (int64_t{1} << 31) || p.output.n * p.output.plane() >= (int64_t{1} << 31))
    return {UPS_STATUS_OVERFLOW,
            "implicit GEMM weight gradient: N x input (or output) positions of 2^31 or more "
            "(its position indices are 32-bit)"};
  if (p.groups > 65535 || p.groups * taps > 65535)
    return {UPS_STATUS_NOT_SUPPORTED,
            "implicit GEMM weight gradient: groups x kernel taps above 65535 (the grid's "
            "z extent)"};
  plan->cig = p.in_channels_per_group();
  plan->cog = p.out_channels_per_group();
  constexpr int64_t kChunk = 8;  // f16/bf16 values per 16 bytes
  plan->pack_x = !(p.input.layout == UPS_LAYOUT_CHANNELS_LAST && plan->cig % kChunk == 0);
  plan->pack_dy = !(p.output.layout == UPS_LAYOUT_CHANNELS_LAST && plan->cog % kChunk == 0);
  plan->cig_valid = plan->pack_x ? round_up(plan->cig, kChunk) : plan->cig;
  plan->cog_valid = plan->pack_dy ? round_up(plan->cog, kChunk) : plan->cog;
  // NOTE [ Weight gradient tiles ]
  // 128 x 128 (8 warps of 64 x 32) issues 16 mma per warp per k16 step from 6 ldmatrix, and per K
  // tile the same two position decodes per thread as 64 x 64 (4 warps of 32 x 32: 8 mma from 4
  // ldmatrix): about twice the tensor work per instruction of addressing. It needs C_in/groups and
  // C_out/groups of 128 or more to fill; below that 64 x 64 pads less. Tests force either through
  // conv_transpose_implicit_gemm_force_tile (k128x128 or k64x64).
  const ImplicitGemmTile forced = implicit_gemm::forced_tile();
  plan->large_tile = forced == ImplicitGemmTile::k128x128 ||
                     (forced != ImplicitGemmTile::k64x64 && plan->cig >= 128 && plan->cog >= 128);
  const int64_t block = plan->large_tile ? WeightGradientLarge::kBlockM : WeightGradientSmall::kBlockM;
  plan->tiles_m = (plan->cig + block - 1) / block;
  plan->tiles_n = (plan->cog + block - 1) / block;
  if (plan->tiles_m * plan->tiles_n >= (int64_t{1} << 31))
    return {UPS_STATUS_NOT_SUPPORTED, "implicit GEMM weight gradient: more channel tiles than the grid's x extent"};

  // NOTE [ Weight gradient split ].
  const int64_t k_tiles = (plan->positions + kBlockK - 1) / kBlockK;
  // At least 1: with no input or output channels there are no tiles (and nothing to launch: dw is
  // empty), but the plan still divides by it.
  const int64_t ctas = std::max<int64_t>(1, plan->tiles_m * plan->tiles_n * p.groups * taps);
  const int64_t target = plan->large_tile ? kTargetCtasLarge : kTargetCtasSmall;
  int64_t splits = std::max<int64_t>(1, (target + ctas - 1) / ctas);
  splits = std::min({splits, std::max<int64_t>(1, k_tiles / kMinSplitTiles), int64_t{65535}});
  const int64_t chunk_tiles = std::max<int64_t>(1, (k_tiles + splits - 1) / splits);
  plan->chunk = chunk_tiles * kBlockK;
  plan->splits = std::max<int64_t>(1, (k_tiles + chunk_tiles - 1) / chunk_tiles);

  const int64_t slice = p.groups * taps * plan->cig * plan->cog;
  plan->partial_bytes = static_cast<size_t>(plan->splits * slice * int64_t{sizeof(float)});
  plan->x_packed_bytes = plan->pack_x ? static_cast<size_t>(plan->positions * p.groups * plan->cig_valid * 2) : 0;
  plan->dy_packed_bytes =
      plan->pack_dy ? static_cast<size_t>(p.output.n * p.output.plane() * p.groups * plan->cog_valid * 2) : 0;
  return {UPS_STATUS_SUCCESS, "implicit GEMM weight gradient: tensor-core path (mma.sync, ldmatrix.trans)"};
}

ImplicitGemmSupport support_at(int compute_capability) {
  if (compute_capability < 80)
    return {UPS_STATUS_NOT_SUPPORTED,
            "implicit GEMM weight gradient: the tensor-core path needs compute capability 8.0 or newer"};
  return {UPS_STATUS_SUCCESS, "implicit GEMM weight gradient: tensor-core path (mma.sync, ldmatrix.trans)"};
}

// The forward's pack kernel: a channels-last copy with each group's channels padded to `valid`.
template <typename ElementT>
upsStatus_t launch_pack(const ::upsample::detail::TensorGeometry& t, int64_t groups, int64_t per_group, int64_t valid,
                        const void* source, ElementT* packed, cudaStream_t stream) {
  implicit_gemm::PackInputGeometry g{};
  g.groups = static_cast<int>(groups);
  g.cig = static_cast<int>(per_group);
  g.cig_valid = static_cast<int>(valid);
  g.plane = t.plane();
  g.x_stride_n = t.stride_n;
  g.x_stride_c = t.stride_c;
  for (int a = 0; a < 3; ++a) {
    g.x_stride[a] = t.stride[a];
    g.extent[a] = static_cast<int>(t.extent[a]);
  }
  g.total = t.n * t.plane() * groups * valid;
  if (g.total == 0) return UPS_STATUS_SUCCESS;
  UPS_CUDA_CHECK(launch_kernel(implicit_gemm::implicit_gemm_pack_input_kernel<ElementT>, grid_for(g.total, 256),
                               dim3(256), 0, stream, static_cast<const ElementT*>(source), packed, g));
  return UPS_STATUS_SUCCESS;
}

template <typename ElementT, typename Config>
upsStatus_t launch_main(const dim3& grid, const implicit_gemm::WeightGradientParams<ElementT>& p, cudaStream_t stream) {
  auto* kernel = implicit_gemm::conv_transpose_weight_gradient_kernel<ElementT, Config>;
  if (Config::kSharedBytes > 48 * 1024)
    UPS_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, Config::kSharedBytes));
  UPS_CUDA_CHECK(launch_kernel(kernel, grid, dim3(Config::kThreads), Config::kSharedBytes, stream, p));
  return UPS_STATUS_SUCCESS;
}

template <typename ElementT>
upsStatus_t run(const ConvTransposeProblem& problem, const WeightGradientPlan& plan, const void* x, const void* dy,
                void* dw, const ExecContext& exec) {
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  auto* workspace = static_cast<unsigned char*>(exec.workspace);
  auto* partial = reinterpret_cast<float*>(workspace);
  auto* x_packed = reinterpret_cast<ElementT*>(workspace + align_up(plan.partial_bytes));
  auto* dy_packed =
      reinterpret_cast<ElementT*>(workspace + align_up(plan.partial_bytes) + align_up(plan.x_packed_bytes));

  implicit_gemm::WeightGradientParams<ElementT> p{};
  // Each operand in place, or packed into the workspace: its row pitch and group offset follow.
  auto place = [&](const ::upsample::detail::TensorGeometry& t, int64_t per_group, int64_t valid, bool pack,
                   const void* source, ElementT* packed, const ElementT** operand, int64_t* row,
                   int64_t* group) -> upsStatus_t {
    *operand = static_cast<const ElementT*>(source);
    *row = t.stride[2];
    *group = per_group;
    if (!pack) return UPS_STATUS_SUCCESS;
    *operand = packed;
    *row = problem.groups * valid;
    *group = valid;
    return launch_pack<ElementT>(t, problem.groups, per_group, valid, source, packed, stream);
  };
  if (upsStatus_t s = place(problem.input, plan.cig, plan.cig_valid, plan.pack_x, x, x_packed, &p.x, &p.x_row,
                            &p.x_group);
      s != UPS_STATUS_SUCCESS)
    return s;
  if (upsStatus_t s = place(problem.output, plan.cog, plan.cog_valid, plan.pack_dy, dy, dy_packed, &p.dy, &p.dy_row,
                            &p.dy_group);
      s != UPS_STATUS_SUCCESS)
    return s;
  p.partial = partial;
  for (int a = 0; a < 3; ++a) {
    p.stride[a] = static_cast<int>(problem.stride[a]);
    p.pad[a] = static_cast<int>(problem.pad_begin[a]);
    p.dilation[a] = static_cast<int>(problem.dilation[a]);
    p.kernel[a] = static_cast<int>(problem.weight.extent[a]);
    p.out_extent[a] = static_cast<int>(problem.output.extent[a]);
  }
  p.groups = static_cast<int>(problem.groups);
  p.taps = static_cast<int>(plan.taps);
  p.cig = static_cast<int>(plan.cig);
  p.cog = static_cast<int>(plan.cog);
  p.cig_valid = static_cast<int>(plan.cig_valid);
  p.cog_valid = static_cast<int>(plan.cog_valid);
  p.tiles_m = static_cast<int>(plan.tiles_m);
  p.positions = static_cast<uint32_t>(plan.positions);
  p.chunk = static_cast<uint32_t>(plan.chunk);
  p.in_w = FastDivmodU32(static_cast<uint32_t>(problem.input.extent[2]));
  p.in_h = FastDivmodU32(static_cast<uint32_t>(problem.input.extent[1]));
  p.in_d = FastDivmodU32(static_cast<uint32_t>(problem.input.extent[0]));

  const dim3 grid(static_cast<unsigned>(plan.tiles_m * plan.tiles_n), static_cast<unsigned>(plan.splits),
                  static_cast<unsigned>(problem.groups * plan.taps));
  if (upsStatus_t s = plan.large_tile ? launch_main<ElementT, WeightGradientLarge>(grid, p, stream)
                                      : launch_main<ElementT, WeightGradientSmall>(grid, p, stream);
      s != UPS_STATUS_SUCCESS)
    return s;

  implicit_gemm::WeightGradientCombineGeometry g{};
  g.groups = p.groups;
  g.taps = p.taps;
  g.cig = p.cig;
  g.cog = p.cog;
  g.splits = static_cast<int>(plan.splits);
  for (int a = 0; a < 3; ++a) {
    g.kernel[a] = p.kernel[a];
    g.w_stride[a] = problem.weight.stride[a];
  }
  g.cog_div = FastDivmod<int64_t>(g.cog);
  g.cig_div = FastDivmod<int64_t>(g.cig);
  g.taps_div = FastDivmod<int64_t>(g.taps);
  g.kernel_w_div = FastDivmod<int32_t>(g.kernel[2]);
  g.kernel_h_div = FastDivmod<int32_t>(g.kernel[1]);
  g.slice = problem.groups * plan.taps * plan.cig * plan.cog;
  g.w_stride_n = problem.weight.stride_n;
  g.w_stride_c = problem.weight.stride_c;
  UPS_CUDA_CHECK(launch_kernel(implicit_gemm::weight_gradient_combine_kernel<ElementT>, grid_for(g.slice, 256),
                               dim3(256), 0, stream, static_cast<const float*>(partial), static_cast<ElementT*>(dw),
                               g));
  return UPS_STATUS_SUCCESS;
}

}  // namespace

ImplicitGemmSupport conv_transpose_implicit_gemm_backward_weight_can_implement_on(const ConvTransposeProblem& problem,
                                                                                  int compute_capability) {
  WeightGradientPlan plan;
  const ImplicitGemmSupport support = make_plan(problem, &plan);
  if (support.status != UPS_STATUS_SUCCESS) return support;
  return support_at(compute_capability);
}

ImplicitGemmSupport conv_transpose_implicit_gemm_backward_weight_can_implement(const ConvTransposeProblem& problem) {
  WeightGradientPlan plan;
  const ImplicitGemmSupport support = make_plan(problem, &plan);
  if (support.status != UPS_STATUS_SUCCESS) return support;
  ImplicitGemmSupport failure{};
  const int compute_capability = implicit_gemm::device_compute_capability(&failure);
  if (compute_capability == 0) return failure;
  return support_at(compute_capability);
}

size_t conv_transpose_implicit_gemm_backward_weight_workspace_bytes(const ConvTransposeProblem& problem) {
  WeightGradientPlan plan;
  if (make_plan(problem, &plan).status != UPS_STATUS_SUCCESS) return 0;
  return plan.workspace_bytes();
}

bool conv_transpose_implicit_gemm_backward_weight_needs_aligned_inputs(const ConvTransposeProblem& problem) {
  WeightGradientPlan plan;
  return make_plan(problem, &plan).status == UPS_STATUS_SUCCESS && !(plan.pack_x && plan.pack_dy);
}

upsStatus_t conv_transpose_implicit_gemm_backward_weight(const ConvTransposeProblem& problem, const void* x,
                                                         const void* dy, void* dw, const ExecContext& exec) {
  WeightGradientPlan plan;
  ImplicitGemmSupport support = make_plan(problem, &plan);
  int compute_capability = 0;
  if (support.status == UPS_STATUS_SUCCESS) compute_capability = implicit_gemm::device_compute_capability(&support);
  if (support.status == UPS_STATUS_SUCCESS) support = support_at(compute_capability);
  if (support.status != UPS_STATUS_SUCCESS) return ::upsample::detail::fail(support.status, support.reason);
  if (problem.weight.elements() == 0) return UPS_STATUS_SUCCESS;
  const size_t needed = plan.workspace_bytes();
  if (exec.workspace_bytes < needed || (needed > 0 && exec.workspace == nullptr))
    return ::upsample::detail::fail(UPS_STATUS_WORKSPACE_TOO_SMALL, "implicit GEMM weight gradient: the workspace has ",
                                    exec.workspace_bytes, " bytes, it needs ", needed);
  if (reinterpret_cast<uintptr_t>(exec.workspace) % 16 != 0)
    return ::upsample::detail::fail(UPS_STATUS_MISALIGNED,
                                    "implicit GEMM weight gradient: the workspace must be 16-byte aligned");
  if ((!plan.pack_x && reinterpret_cast<uintptr_t>(x) % 16 != 0) ||
      (!plan.pack_dy && reinterpret_cast<uintptr_t>(dy) % 16 != 0))
    return ::upsample::detail::fail(UPS_STATUS_MISALIGNED,
                                    "implicit GEMM weight gradient: x and dy must be 16-byte "
                                    "aligned (channels-last, read in place)");
  return problem.input.dtype == UPS_DTYPE_F16 ? run<__half>(problem, plan, x, dy, dw, exec)
                                              : run<__nv_bfloat16>(problem, plan, x, dy, dw, exec);
}

}  // namespace upsample::cuda

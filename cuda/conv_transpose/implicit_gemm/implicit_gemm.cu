// Launcher of the implicit-GEMM transposed-convolution forward pass (kernels in
// implicit_gemm_kernel.cuh; the host interface in implicit_gemm.h).
//
// Per call: repack the weights into the phase-major B layout (workspace), pack the input into a
// channels-last, 16-byte-aligned A operand when it is not one already (workspace), then one launch
// of the main kernel over (M tiles, N tiles, groups x phases).
//
// Why channels-first inputs are transposed by a pre-pass rather than read natively: a K tile's A
// rows are shifted views x[n, q - m_t, ci..ci+7]. Channels-last, each is 16 contiguous, 16-byte
// aligned bytes whatever the shift, so it is one cp.async (LDGSTS.128) per row and chunk, and the
// fragments come from ldmatrix. Channels-first, the contiguous axis is W, and the shift m_t moves
// the start by any number of elements, so a 16-byte copy of eight positions is aligned for at most
// one tap in eight (f16): the rest would need 2-byte loads (8 LDG.U16 + 8 STS.U16 per chunk, 16x
// the instructions of one LDGSTS.128, with no asynchronous copy to overlap them) or ldmatrix.trans
// over a staged [k][m] tile whose own loads still split the same way. The pre-pass reads x once and
// writes it once (2 x |x| bytes), which for the generative-model shapes is a few percent of the
// main loop's traffic (x is reread once per tap and N tile), and keeps one main loop.
#include "implicit_gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <numeric>

#include "core/dtype.h"
#include "core/status.h"
#include "cuda/common/check.cuh"
#include "cuda/common/launch.cuh"
#include "cuda/common/tensor.cuh"
#include "implicit_gemm_kernel.cuh"
#include "launch_common.cuh"

namespace upsample::cuda {
namespace {

using implicit_gemm::kMaxAxisTaps;
using implicit_gemm::kMaxPhaseTaps;
using implicit_gemm::kMaxStride;

using implicit_gemm::align_up;
using implicit_gemm::device_compute_capability;
using implicit_gemm::kCoordinateLimit;
using implicit_gemm::round_up;

enum class Path { kTensorOp, kSimt };

// What the launcher derives from a problem, once.
struct Plan {
  Path path = Path::kSimt;
  int64_t element_bytes = 0;
  int num_phases = 1;
  int axis_taps_max[3] = {0, 0, 0};  // most taps any phase has on each axis
  int64_t taps_max = 0;               // most taps any phase has (product of the above)
  int64_t cig = 0, cog = 0, cig_pad = 0, cig_valid = 0;
  bool pack_input = false;
  int64_t m_tiles_128 = 0;  // CTAs of 128 x 128 tiles over all phases and groups (tile heuristic)
  int64_t max_m = 0;        // the most M any phase has
  size_t packed_weight_bytes = 0, packed_input_bytes = 0;
};

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

int axis_phase_taps(const ::upsample::detail::ConvTransposeProblem& p, int a, int64_t r) {
  int count = 0;
  for (int64_t k = 0; k < p.weight.extent[a]; ++k) {
    const int64_t shifted = k * p.dilation[a] - r;
    if (shifted >= 0 && shifted % p.stride[a] == 0) ++count;
  }
  return count;
}

int64_t phase_q_count(const ::upsample::detail::ConvTransposeProblem& p, int a, int64_t r) {
  const int64_t first = ceil_div(p.pad_begin[a] - r, p.stride[a]);
  const int64_t last = floor_div(p.output.extent[a] - 1 + p.pad_begin[a] - r, p.stride[a]);
  return last >= first ? last - first + 1 : 0;
}

// How the GEMM reads the caller's tensors: each A row's anchor in the A operand (q * a_scale +
// a_shift per axis) and the weight's addressing (RepackGeometry). forward_map is the identity
// view of the forward pass; NOTE [ Data gradient on the engine ] gives the data gradient's.
struct OperandMap {
  int a_scale[3] = {1, 1, 1}, a_shift[3] = {0, 0, 0};
  int64_t w_offset = 0, w_stride_g = 0, w_stride_n = 0, w_stride_c = 0, w_stride[3] = {0, 0, 0};
};

OperandMap forward_map(const ::upsample::detail::ConvTransposeProblem& p) {
  OperandMap map;
  map.w_stride_g = p.in_channels_per_group() * p.weight.stride_n;
  map.w_stride_n = p.weight.stride_n;
  map.w_stride_c = p.weight.stride_c;
  for (int a = 0; a < 3; ++a) map.w_stride[a] = p.weight.stride[a];
  return map;
}

// NOTE [ Data gradient on the engine ]
// The data gradient of a transposed convolution is an ordinary strided convolution of dy:
//   dx[n, i, ci] = sum over co < C_out/groups, taps k of dy[n, i*stride - pad_begin + k*dilation, co]
//                                                       * w[g*cig + ci, co, k]
// i.e. a GEMM with M = N x (input positions), N = C_in/groups, K = taps x C_out/groups. The engine
// runs it as a stride-1 "forward" problem of its own (one phase holding every tap, the M rows
// dense over dx's positions, the A operand dy and the output dx) with two changes of view:
// - Reversing the taps (k = K-1-j per axis) turns the gather into the engine's: tap j reads dy at
//   anchor - j*dilation with anchor = i*stride + (K-1)*dilation - pad_begin, so a row's anchor is
//   q * a_scale + a_shift with a_scale = stride and a_shift = (K-1)*dilation - pad_begin (the
//   forward's is q itself). The bounds test, the 16-byte cp.async rows and the zero fill of rows
//   outside dy are the forward's.
// - The repack reads w with C_in and C_out/groups exchanged and each spatial axis reversed
//   (w_offset at the last tap, negative strides): B[group][ci][j * cog_pad + co] = w[g*cig + ci, co, K-1-j].
// Output padding and pad_end do not enter: dy's extents are given. Every dx is written once (no
// scatter, no split-K), each sum in a fixed order: deterministic like the forward.
struct DataGradientView {
  ::upsample::detail::ConvTransposeProblem gemm;  // the engine's stride-1 problem: dy -> dx
  OperandMap map;
};

DataGradientView data_gradient_view(const ::upsample::detail::ConvTransposeProblem& p) {
  DataGradientView v;
  v.gemm.input = p.output;                      // dy: the A operand
  v.gemm.output = p.input;                      // dx
  v.gemm.weight = p.weight;                     // the kernel extents and dtype; channels as the GEMM sees them:
  v.gemm.weight.n = p.output.c;                 // "C_in" of the GEMM: dy's channels
  v.gemm.weight.c = p.in_channels_per_group();  // "C_out / groups": dx's channels per group
  v.gemm.groups = p.groups;
  v.gemm.allow_tf32 = p.allow_tf32;
  for (int a = 0; a < 3; ++a) {
    v.gemm.stride[a] = 1;
    v.gemm.pad_begin[a] = 0;
    v.gemm.dilation[a] = p.dilation[a];
    const int64_t last = p.weight.extent[a] - 1;
    v.map.a_scale[a] = static_cast<int>(p.stride[a]);
    v.map.a_shift[a] = static_cast<int>(last * p.dilation[a] - p.pad_begin[a]);
    v.map.w_offset += last * p.weight.stride[a];
    v.map.w_stride[a] = -p.weight.stride[a];
  }
  v.map.w_stride_g = p.in_channels_per_group() * p.weight.stride_n;
  v.map.w_stride_n = p.weight.stride_c;  // the GEMM's input channel is the op's output channel
  v.map.w_stride_c = p.weight.stride_n;
  return v;
}

bool uses_tensor_ops(upsDataType_t dtype, bool allow_tf32) {
  return dtype == UPS_DTYPE_F16 || dtype == UPS_DTYPE_BF16 || (dtype == UPS_DTYPE_F32 && allow_tf32);
}

// The checks of can_implement that need no device, and the plan. Status SUCCESS or why not.
ImplicitGemmSupport make_plan(const ::upsample::detail::ConvTransposeProblem& p, bool allow_tf32, Plan* plan) {
  const upsDataType_t dtype = p.output.dtype;
  if (dtype != UPS_DTYPE_F16 && dtype != UPS_DTYPE_BF16 && dtype != UPS_DTYPE_F32 && dtype != UPS_DTYPE_F64)
    return {UPS_STATUS_NOT_SUPPORTED, "implicit GEMM: f16, bf16, f32 and f64 only"};
  if (p.input.dtype != dtype || p.weight.dtype != dtype)
    return {UPS_STATUS_NOT_SUPPORTED, "implicit GEMM: input, weight and output share one dtype"};
  plan->path = uses_tensor_ops(dtype, allow_tf32) ? Path::kTensorOp : Path::kSimt;
  plan->element_bytes = ::upsample::detail::dtype_size(dtype);
  if (p.groups < 1 || p.input.c % p.groups != 0)
    return {UPS_STATUS_INTERNAL_ERROR, "implicit GEMM: groups do not divide C_in (validation should have said)"};

  int64_t phases = 1;
  for (int a = 0; a < 3; ++a) {
    if (p.stride[a] > kMaxStride)
      return {UPS_STATUS_NOT_SUPPORTED, "implicit GEMM: a stride above 16 (its phase tables cover 16 per axis)"};
    if (p.input.extent[a] >= kCoordinateLimit || p.output.extent[a] >= kCoordinateLimit ||
        p.pad_begin[a] >= kCoordinateLimit || (p.weight.extent[a] - 1) * p.dilation[a] >= kCoordinateLimit ||
        p.weight.extent[a] >= kCoordinateLimit)
      return {UPS_STATUS_OVERFLOW, "implicit GEMM: a spatial extent, padding or kernel reach of 2^30 or more"};
    phases *= p.stride[a];
    int most = 0;
    for (int64_t r = 0; r < p.stride[a]; ++r) most = std::max(most, axis_phase_taps(p, a, r));
    if (most > kMaxAxisTaps)
      return {UPS_STATUS_NOT_SUPPORTED, "implicit GEMM: more than 16 taps of one phase on one axis"};
    plan->axis_taps_max[a] = most;
  }
  plan->num_phases = static_cast<int>(phases);
  plan->taps_max = int64_t{plan->axis_taps_max[0]} * plan->axis_taps_max[1] * plan->axis_taps_max[2];
  if (plan->taps_max > kMaxPhaseTaps)
    return {UPS_STATUS_NOT_SUPPORTED, "implicit GEMM: more than 64 taps in one phase (its shared tap table)"};
  if (p.input.n >= (int64_t{1} << 31) || p.input.c >= kCoordinateLimit || p.output.c >= kCoordinateLimit)
    return {UPS_STATUS_OVERFLOW, "implicit GEMM: batch of 2^31 or channels of 2^30 or more"};
  // phases <= 16^3 here; groups is bounded first so that the product cannot overflow.
  if (p.groups > 65535 || p.groups * phases > 65535)
    return {UPS_STATUS_NOT_SUPPORTED, "implicit GEMM: groups x stride phases above 65535 (the grid's z extent)"};

  plan->cig = p.in_channels_per_group();
  plan->cog = p.out_channels_per_group();
  const int64_t tile_k = implicit_gemm::kStageRowBytes / plan->element_bytes;
  const int64_t chunk = 16 / plan->element_bytes;
  plan->cig_pad = round_up(plan->cig, tile_k);
  // The input is the A operand in place when it is channels-last and every group's channels start
  // on a 16-byte boundary; otherwise a pre-pass packs it (see the note at the top of this file).
  plan->pack_input = !(p.input.layout == UPS_LAYOUT_CHANNELS_LAST && plan->cig % chunk == 0);
  plan->cig_valid = plan->pack_input ? round_up(plan->cig, chunk) : plan->cig;
  if ((plan->cog + 63) / 64 > 65535)
    return {UPS_STATUS_NOT_SUPPORTED, "implicit GEMM: C_out/groups above 65535 x 64 (the grid's y extent)"};

  int64_t max_m = 0, tiles = 0;
  for (int64_t phase = 0; phase < phases; ++phase) {
    const int64_t r[3] = {phase / (p.stride[2] * p.stride[1]), (phase / p.stride[2]) % p.stride[1],
                          phase % p.stride[2]};
    int64_t m = p.input.n;
    for (int a = 0; a < 3; ++a) m *= phase_q_count(p, a, r[a]);
    max_m = std::max(max_m, m);
    tiles += (m + 127) / 128;
  }
  plan->max_m = max_m;
  plan->m_tiles_128 = tiles * ((plan->cog + 127) / 128) * p.groups;
  if ((max_m + 63) / 64 >= (int64_t{1} << 31))
    return {UPS_STATUS_OVERFLOW, "implicit GEMM: more M tiles in one phase than the grid's x extent"};

  plan->packed_weight_bytes = static_cast<size_t>(p.groups * phases * plan->cog * plan->taps_max * plan->cig_pad *
                                                  plan->element_bytes);
  plan->packed_input_bytes =
      plan->pack_input ? static_cast<size_t>(p.input.n * p.input.plane() * p.groups * plan->cig_valid *
                                             plan->element_bytes)
                       : 0;
  return {UPS_STATUS_SUCCESS, "supported"};
}

// NOTE [ Implicit GEMM tile choice ]
// Tensor cores: 128x128 (8 warps of 32x64, 4 along M by 2 along N) is the workhorse: each K tile's
// 16-byte operand chunks feed 16 mma per warp per k-step from 6 ldmatrix.x4. (2 x 4 warps of 64x32
// issue the same ldmatrix and mma but spilled 12 bytes in TF32 on sm_80 at the 128-register cap of
// two CTAs per SM; 4 x 2 fits every dtype in 128 registers on sm_80 and sm_90 without spilling.)
// A group with C_out/groups <= 32 or <= 64 would waste half or more of a 128-wide N tile, so it
// gets 128x32 or 128x64 (4 warps). When the 128x128 tiles of all phases, N tiles and groups are
// fewer than the GPU's SMs, 64x64 tiles (4 warps) give four times the CTAs. SIMT f32: 128x128 with
// an 8x8 register tile per thread (256 threads), 64x64 (64 threads, 8x8) under the same two
// conditions; f64, and f16/bf16 on the SIMT path, always 64x64 with 4x4 per thread (8x8 spills:
// f64 needs two registers a value, f16/bf16 widen 8-value chunks).
using Tile = ImplicitGemmTile;
std::atomic<Tile> forced_tile{Tile::kHeuristic};

Tile choose_implicit_gemm_tile(const Plan& plan, upsDataType_t dtype, int sm_count) {
  if (dtype == UPS_DTYPE_F64 || (plan.path == Path::kSimt && dtype != UPS_DTYPE_F32)) return Tile::k64x64;
  if (const Tile forced = forced_tile.load(); forced != Tile::kHeuristic) {
    if (plan.path == Path::kSimt && forced != Tile::k128x128) return Tile::k64x64;
    return forced;
  }
  if (plan.path == Path::kSimt)
    return plan.cog <= 64 || plan.m_tiles_128 < sm_count ? Tile::k64x64 : Tile::k128x128;
  if (plan.cog <= 32) return Tile::k128x32;
  if (plan.cog <= 64) return Tile::k128x64;
  if (plan.m_tiles_128 < sm_count) return Tile::k64x64;
  return Tile::k128x128;
}

std::atomic<bool> forced_simt{false};

// The path that runs: the dtype's (plan.path), or the SIMT twin for every dtype when a test forces
// it (conv_transpose_implicit_gemm_force_simt). The SIMT kernels for f16/bf16 (f32 accumulation)
// are what GPUs below sm_80 would run; dispatch's contract today (src/dispatch.cpp, the plan
// tests) is that f16/bf16/TF32 need sm_80 and fall back to GATHER below it, so support_at refuses
// them there. Accepting them on sm_75 is this rule plus that contract.
Path effective_path(const Plan& plan) {
  if (plan.path == Path::kTensorOp && forced_simt.load()) return Path::kSimt;
  return plan.path;
}

ImplicitGemmSupport support_at(const Plan& plan, int compute_capability) {
  if (compute_capability < 75)
    return {UPS_STATUS_NOT_SUPPORTED, "implicit GEMM: needs compute capability 7.5 or newer"};
  const Path path = effective_path(plan);
  if (path == Path::kTensorOp && compute_capability < 80)
    return {UPS_STATUS_NOT_SUPPORTED,
            "implicit GEMM: the tensor-core path (f16, bf16, TF32) needs compute capability 8.0 or newer"};
  return {UPS_STATUS_SUCCESS, path == Path::kTensorOp ? "implicit GEMM: tensor-core path (mma.sync)"
                                                      : "implicit GEMM: SIMT path (FFMA register tiles)"};
}

// The tile heuristic's SM count: an A100's 108 where the device cannot be queried.
int device_sm_count() {
  const int count = current_sm_count();
  return count > 0 ? count : 108;
}

template <typename Config, typename ElementT>
upsStatus_t launch_main(const ::upsample::detail::ConvTransposeProblem& problem, const Plan& plan,
                        const OperandMap& map, const ElementT* x_operand, const ElementT* w_packed, const void* bias,
                        void* y, cudaStream_t stream) {
  using EpilogueT = implicit_gemm::BiasEpilogue<ElementT>;
  implicit_gemm::ImplicitGemmParams<ElementT, EpilogueT> p{};
  p.x = x_operand;
  p.w_packed = w_packed;
  p.y = static_cast<ElementT*>(y);
  p.epilogue.bias = static_cast<const ElementT*>(bias);
  for (int a = 0; a < 3; ++a) {
    p.stride[a] = static_cast<int>(problem.stride[a]);
    p.pad[a] = static_cast<int>(problem.pad_begin[a]);
    p.dilation[a] = static_cast<int>(problem.dilation[a]);
    p.kernel[a] = static_cast<int>(problem.weight.extent[a]);
    p.in_extent[a] = static_cast<int>(problem.input.extent[a]);
    p.out_extent[a] = static_cast<int>(problem.output.extent[a]);
    p.y_stride[a] = problem.output.stride[a];
    p.a_scale[a] = map.a_scale[a];
    p.a_shift[a] = map.a_shift[a];
  }
  p.num_phases = plan.num_phases;
  p.batch = static_cast<int>(problem.input.n);
  p.cig_valid = static_cast<int>(plan.cig_valid);
  p.cig_pad = static_cast<int>(plan.cig_pad);
  p.cog = static_cast<int>(plan.cog);
  if (plan.pack_input) {
    p.x_row = problem.groups * plan.cig_valid;
    p.x_group = plan.cig_valid;
    p.x_stride_n = problem.input.plane() * p.x_row;
  } else {
    p.x_row = problem.input.stride[2];
    p.x_group = plan.cig;
    p.x_stride_n = problem.input.stride_n;
  }
  p.w_row = plan.taps_max * plan.cig_pad;
  p.w_phase = plan.cog * p.w_row;
  p.y_stride_n = problem.output.stride_n;
  p.y_stride_c = problem.output.stride_c;
  const int64_t chunk = 16 / plan.element_bytes;
  p.y_vector = problem.output.stride_c == 1 && problem.output.c % chunk == 0 && plan.cog % chunk == 0 &&
               reinterpret_cast<uintptr_t>(y) % 16 == 0;

  auto* kernel = implicit_gemm::conv_transpose_implicit_gemm_kernel<Config, EpilogueT>;
  constexpr int kShared = implicit_gemm::shared_bytes<Config>();
  if (kShared > 48 * 1024)
    UPS_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kShared));
  const dim3 grid(static_cast<unsigned>((plan.max_m + Config::kBlockM - 1) / Config::kBlockM),
                  static_cast<unsigned>((plan.cog + Config::kBlockN - 1) / Config::kBlockN),
                  static_cast<unsigned>(problem.groups * plan.num_phases));
  UPS_CUDA_CHECK(launch_kernel(kernel, grid, dim3(Config::kThreads), kShared, stream, p));
  return UPS_STATUS_SUCCESS;
}

template <typename ElementT, bool kRoundTf32>
upsStatus_t launch_repack(const ::upsample::detail::ConvTransposeProblem& problem, const Plan& plan,
                          const OperandMap& map, const void* w, ElementT* w_packed, cudaStream_t stream) {
  implicit_gemm::RepackGeometry g{};
  for (int a = 0; a < 3; ++a) {
    g.stride[a] = static_cast<int>(problem.stride[a]);
    g.dilation[a] = static_cast<int>(problem.dilation[a]);
    g.kernel[a] = static_cast<int>(problem.weight.extent[a]);
    g.w_stride[a] = map.w_stride[a];
  }
  g.num_phases = plan.num_phases;
  g.groups = static_cast<int>(problem.groups);
  g.cig = static_cast<int>(plan.cig);
  g.cog = static_cast<int>(plan.cog);
  g.cig_pad = static_cast<int>(plan.cig_pad);
  g.taps_max = static_cast<int>(plan.taps_max);
  g.w_offset = map.w_offset;
  g.w_stride_g = map.w_stride_g;
  g.w_stride_n = map.w_stride_n;
  g.w_stride_c = map.w_stride_c;
  g.total = static_cast<int64_t>(plan.packed_weight_bytes / plan.element_bytes);
  if (g.total == 0) return UPS_STATUS_SUCCESS;
  UPS_CUDA_CHECK(launch_kernel(implicit_gemm::implicit_gemm_repack_weights_kernel<ElementT, kRoundTf32>,
                               grid_for(g.total, 256), dim3(256), 0, stream, static_cast<const ElementT*>(w),
                               w_packed, g));
  return UPS_STATUS_SUCCESS;
}

template <typename ElementT>
upsStatus_t launch_pack_input(const ::upsample::detail::ConvTransposeProblem& problem, const Plan& plan, const void* x,
                              ElementT* x_packed, cudaStream_t stream) {
  implicit_gemm::PackInputGeometry g{};
  g.groups = static_cast<int>(problem.groups);
  g.cig = static_cast<int>(plan.cig);
  g.cig_valid = static_cast<int>(plan.cig_valid);
  g.plane = problem.input.plane();
  g.x_stride_n = problem.input.stride_n;
  g.x_stride_c = problem.input.stride_c;
  for (int a = 0; a < 3; ++a) {
    g.x_stride[a] = problem.input.stride[a];
    g.extent[a] = static_cast<int>(problem.input.extent[a]);
  }
  g.total = static_cast<int64_t>(plan.packed_input_bytes / plan.element_bytes);
  if (g.total == 0) return UPS_STATUS_SUCCESS;
  UPS_CUDA_CHECK(launch_kernel(implicit_gemm::implicit_gemm_pack_input_kernel<ElementT>, grid_for(g.total, 256),
                               dim3(256), 0, stream, static_cast<const ElementT*>(x), x_packed, g));
  return UPS_STATUS_SUCCESS;
}

template <typename ElementT, bool kTensorOp>
upsStatus_t run(const ::upsample::detail::ConvTransposeProblem& problem, const Plan& plan, const OperandMap& map,
                const void* x, const void* w, const void* bias, void* y, const ExecContext& exec) {
  using implicit_gemm::SimtConfig;
  using implicit_gemm::TensorOpConfig;
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  auto* workspace = static_cast<unsigned char*>(exec.workspace);
  auto* w_packed = reinterpret_cast<ElementT*>(workspace);
  auto* x_packed = reinterpret_cast<ElementT*>(workspace + align_up(plan.packed_weight_bytes));

  constexpr bool kRoundTf32 = kTensorOp && std::is_same_v<ElementT, float>;
  if (upsStatus_t s = launch_repack<ElementT, kRoundTf32>(problem, plan, map, w, w_packed, stream);
      s != UPS_STATUS_SUCCESS)
    return s;
  const ElementT* x_operand = static_cast<const ElementT*>(x);
  if (plan.pack_input) {
    if (upsStatus_t s = launch_pack_input<ElementT>(problem, plan, x, x_packed, stream); s != UPS_STATUS_SUCCESS)
      return s;
    x_operand = x_packed;
  }

  const Tile tile = choose_implicit_gemm_tile(plan, problem.output.dtype, device_sm_count());
  if constexpr (kTensorOp) {
    switch (tile) {
      case Tile::k128x32:
        return launch_main<TensorOpConfig<ElementT, 128, 32, 4, 1, 4>>(problem, plan, map, x_operand, w_packed, bias, y,
                                                                       stream);
      case Tile::k128x64:
        return launch_main<TensorOpConfig<ElementT, 128, 64, 2, 2, 4>>(problem, plan, map, x_operand, w_packed, bias, y,
                                                                       stream);
      case Tile::k64x64:
        return launch_main<TensorOpConfig<ElementT, 64, 64, 2, 2, 4>>(problem, plan, map, x_operand, w_packed, bias, y,
                                                                      stream);
      default:
        return launch_main<TensorOpConfig<ElementT, 128, 128, 4, 2, 4>>(problem, plan, map, x_operand, w_packed, bias,
                                                                        y, stream);
    }
  } else if constexpr (!std::is_same_v<ElementT, float>) {
    // f64, and f16/bf16 (16-byte chunks of 8 values, widened to f32): 4x4 per thread fits the
    // registers; 8x8 spills.
    return launch_main<SimtConfig<ElementT, 64, 64, 4, 4, 3>>(problem, plan, map, x_operand, w_packed, bias, y, stream);
  } else {
    if (tile == Tile::k64x64)
      return launch_main<SimtConfig<ElementT, 64, 64, 8, 8, 3>>(problem, plan, map, x_operand, w_packed, bias, y,
                                                                stream);
    return launch_main<SimtConfig<ElementT, 128, 128, 8, 8, 3>>(problem, plan, map, x_operand, w_packed, bias, y,
                                                                stream);
  }
}

// The data gradient's plan: the anchor (q * stride + (K-1) * dilation - pad_begin, minus a tap's
// j * dilation) must stay a 32-bit coordinate, then the engine's own rules on its view.
ImplicitGemmSupport make_data_gradient_plan(const ::upsample::detail::ConvTransposeProblem& p, bool allow_tf32,
                                            DataGradientView* view, Plan* plan) {
  for (int a = 0; a < 3; ++a) {
    if (p.stride[a] >= kCoordinateLimit || p.input.extent[a] >= kCoordinateLimit ||
        p.pad_begin[a] >= kCoordinateLimit || p.weight.extent[a] >= kCoordinateLimit ||
        p.dilation[a] >= kCoordinateLimit ||
        (p.input.extent[a] - 1) * p.stride[a] + (p.weight.extent[a] - 1) * p.dilation[a] >= kCoordinateLimit)
      return {UPS_STATUS_OVERFLOW,
              "implicit GEMM: a data-gradient coordinate (input extent x stride + kernel reach) "
              "of 2^30 or more"};
  }
  *view = data_gradient_view(p);
  return make_plan(view->gemm, allow_tf32, plan);
}

size_t workspace_bytes_of(const Plan& plan) {
  return align_up(plan.packed_weight_bytes) + align_up(plan.packed_input_bytes);
}

// The engine's call, for either pass: `support` is make_plan's verdict on `gemm`; `a` is the A
// operand (x forward, dy for the data gradient), named in the alignment message.
upsStatus_t execute(const ::upsample::detail::ConvTransposeProblem& gemm, const OperandMap& map, Plan plan,
                    ImplicitGemmSupport support, const void* a, const char* a_name, const void* w, const void* bias,
                    void* y, const ExecContext& exec) {
  int compute_capability = 0;
  if (support.status == UPS_STATUS_SUCCESS) compute_capability = device_compute_capability(&support);
  if (support.status == UPS_STATUS_SUCCESS) support = support_at(plan, compute_capability);
  if (support.status != UPS_STATUS_SUCCESS) return ::upsample::detail::fail(support.status, support.reason);
  if (gemm.output.elements() == 0) return UPS_STATUS_SUCCESS;
  const size_t needed = workspace_bytes_of(plan);
  if (exec.workspace_bytes < needed || (needed > 0 && exec.workspace == nullptr))
    return ::upsample::detail::fail(UPS_STATUS_WORKSPACE_TOO_SMALL, "implicit GEMM: the workspace has ",
                                    exec.workspace_bytes, " bytes, it needs ", needed);
  if (reinterpret_cast<uintptr_t>(exec.workspace) % 16 != 0)
    return ::upsample::detail::fail(UPS_STATUS_MISALIGNED, "implicit GEMM: the workspace must be 16-byte aligned");
  if (!plan.pack_input && reinterpret_cast<uintptr_t>(a) % 16 != 0)
    return ::upsample::detail::fail(UPS_STATUS_MISALIGNED, "implicit GEMM: ", a_name,
                                    " must be 16-byte aligned (channels-last, read in place)");
  plan.path = effective_path(plan);
  const bool tensor_op = plan.path == Path::kTensorOp;
  switch (gemm.output.dtype) {
    case UPS_DTYPE_F16:
      return tensor_op ? run<__half, true>(gemm, plan, map, a, w, bias, y, exec)
                       : run<__half, false>(gemm, plan, map, a, w, bias, y, exec);
    case UPS_DTYPE_BF16:
      return tensor_op ? run<__nv_bfloat16, true>(gemm, plan, map, a, w, bias, y, exec)
                       : run<__nv_bfloat16, false>(gemm, plan, map, a, w, bias, y, exec);
    case UPS_DTYPE_F32:
      return tensor_op ? run<float, true>(gemm, plan, map, a, w, bias, y, exec)
                       : run<float, false>(gemm, plan, map, a, w, bias, y, exec);
    case UPS_DTYPE_F64:
      return run<double, false>(gemm, plan, map, a, w, bias, y, exec);
    default:
      break;
  }
  return ::upsample::detail::fail(UPS_STATUS_INTERNAL_ERROR, "implicit GEMM: dtype reached the launcher unsupported");
}

}  // namespace

void conv_transpose_implicit_gemm_force_tile(ImplicitGemmTile tile) { forced_tile.store(tile); }

ImplicitGemmTile implicit_gemm::forced_tile() { return ::upsample::cuda::forced_tile.load(); }

void conv_transpose_implicit_gemm_force_simt(bool force) { forced_simt.store(force); }

ImplicitGemmSupport conv_transpose_implicit_gemm_can_implement(const ::upsample::detail::ConvTransposeProblem& problem,
                                                               bool allow_tf32) {
  Plan plan;
  const ImplicitGemmSupport support = make_plan(problem, allow_tf32, &plan);
  if (support.status != UPS_STATUS_SUCCESS) return support;
  ImplicitGemmSupport failure{};
  const int compute_capability = device_compute_capability(&failure);
  if (compute_capability == 0) return failure;
  return support_at(plan, compute_capability);
}

size_t conv_transpose_implicit_gemm_workspace_bytes(const ::upsample::detail::ConvTransposeProblem& problem, bool allow_tf32) {
  Plan plan;
  if (make_plan(problem, allow_tf32, &plan).status != UPS_STATUS_SUCCESS) return 0;
  return workspace_bytes_of(plan);
}

bool conv_transpose_implicit_gemm_needs_aligned_input(const ::upsample::detail::ConvTransposeProblem& problem,
                                                      bool allow_tf32) {
  Plan plan;
  return make_plan(problem, allow_tf32, &plan).status == UPS_STATUS_SUCCESS && !plan.pack_input;
}

upsStatus_t conv_transpose_implicit_gemm_forward(const ::upsample::detail::ConvTransposeProblem& problem, bool allow_tf32,
                                                 const void* x, const void* w, const void* bias, void* y,
                                                 const ExecContext& exec) {
  Plan plan;
  const ImplicitGemmSupport support = make_plan(problem, allow_tf32, &plan);
  return execute(problem, forward_map(problem), plan, support, x, "x", w, bias, y, exec);
}

ImplicitGemmSupport conv_transpose_implicit_gemm_backward_data_can_implement(
    const ::upsample::detail::ConvTransposeProblem& problem, bool allow_tf32) {
  DataGradientView view;
  Plan plan;
  const ImplicitGemmSupport support = make_data_gradient_plan(problem, allow_tf32, &view, &plan);
  if (support.status != UPS_STATUS_SUCCESS) return support;
  ImplicitGemmSupport failure{};
  const int compute_capability = device_compute_capability(&failure);
  if (compute_capability == 0) return failure;
  return support_at(plan, compute_capability);
}

size_t conv_transpose_implicit_gemm_backward_data_workspace_bytes(
    const ::upsample::detail::ConvTransposeProblem& problem, bool allow_tf32) {
  DataGradientView view;
  Plan plan;
  if (make_data_gradient_plan(problem, allow_tf32, &view, &plan).status != UPS_STATUS_SUCCESS) return 0;
  return workspace_bytes_of(plan);
}

bool conv_transpose_implicit_gemm_backward_data_needs_aligned_input(
    const ::upsample::detail::ConvTransposeProblem& problem, bool allow_tf32) {
  DataGradientView view;
  Plan plan;
  return make_data_gradient_plan(problem, allow_tf32, &view, &plan).status == UPS_STATUS_SUCCESS && !plan.pack_input;
}

upsStatus_t conv_transpose_implicit_gemm_backward_data(const ::upsample::detail::ConvTransposeProblem& problem,
                                                       bool allow_tf32, const void* dy, const void* w, void* dx,
                                                       const ExecContext& exec) {
  DataGradientView view;
  Plan plan;
  const ImplicitGemmSupport support = make_data_gradient_plan(problem, allow_tf32, &view, &plan);
  return execute(view.gemm, view.map, plan, support, dy, "dy", w, nullptr, dx, exec);
}

}  // namespace upsample::cuda

// Device-free can_implement (issue 10's benchmark plan, upsConvTransposePlanAlgorithm): make_plan's
// checks, then support_at's architecture rule at `compute_capability` (major * 10 + minor)
// instead of the current device's. On success the reason names the path that would run.
namespace upsample::cuda {
ImplicitGemmSupport conv_transpose_implicit_gemm_can_implement_on(const ::upsample::detail::ConvTransposeProblem& problem,
                                                                  bool allow_tf32, int compute_capability) {
  Plan plan;
  const ImplicitGemmSupport support = make_plan(problem, allow_tf32, &plan);
  if (support.status != UPS_STATUS_SUCCESS) return support;
  return support_at(plan, compute_capability);
}

ImplicitGemmSupport conv_transpose_implicit_gemm_backward_data_can_implement_on(
    const ::upsample::detail::ConvTransposeProblem& problem, bool allow_tf32, int compute_capability) {
  DataGradientView view;
  Plan plan;
  const ImplicitGemmSupport support = make_data_gradient_plan(problem, allow_tf32, &view, &plan);
  if (support.status != UPS_STATUS_SUCCESS) return support;
  return support_at(plan, compute_capability);
}
}  // namespace upsample::cuda

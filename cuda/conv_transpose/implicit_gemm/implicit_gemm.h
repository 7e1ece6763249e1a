// The implicit-GEMM engine for the transposed convolution's forward pass and data and weight
// gradients, as the host side sees it (plain C++, no CUDA types). Device code: implicit_gemm_*.cuh beside this file;
// launcher: implicit_gemm.cu. See NOTE [ Implicit GEMM over stride phases ] in
// implicit_gemm_kernel.cuh and NOTE [ Data gradient on the engine ] in implicit_gemm.cu.
//
// Call order (CUTLASS's host adapter): can_implement -> workspace_bytes -> forward. The workspace
// holds the weights repacked into the phase-major layout the main loop reads (every call), and
// for channels-first inputs (or channel counts that are not a multiple of 16 bytes) a
// channels-last copy of the input with each group's channels padded to 16 bytes.
#pragma once

#include <cstddef>

#include "core/problem.h"
#include "cuda/runtime.h"

namespace upsample::cuda {

// Whether the engine runs a problem, and if not, why: status is UPS_STATUS_SUCCESS or the
// specific status a forced call would return (NOT_SUPPORTED for a dtype, geometry or compute
// capability the engine does not cover, BACKEND_UNAVAILABLE when there is no device to ask,
// OVERFLOW for extents beyond its 32-bit coordinates); reason is a static string naming the rule,
// and on success names the path that runs (tensor cores or SIMT).
struct ImplicitGemmSupport {
  upsStatus_t status;
  const char* reason;
};

// allow_tf32: f32 problems run on the tensor cores with TF32 operands (10-bit mantissa, rounded
// to nearest) and f32 accumulation. Without it f32 runs the SIMT path in exact f32 arithmetic.
// f16/bf16 use the tensor cores (f32 accumulation), f64 the SIMT path, whatever allow_tf32 says.
// The tensor-core path needs compute capability 8.0 (mma.sync m16n8k16, cp.async); the SIMT path
// runs from 7.5 (synchronous staging there). The SIMT kernels also exist for f16/bf16 (f32
// accumulation, reached today only through conv_transpose_implicit_gemm_force_simt): below sm_80
// can_implement refuses f16/bf16/TF32 so that dispatch picks GATHER (see effective_path in
// implicit_gemm.cu to accept them there instead).
ImplicitGemmSupport conv_transpose_implicit_gemm_can_implement(const ::upsample::detail::ConvTransposeProblem& problem,
                                                               bool allow_tf32);

size_t conv_transpose_implicit_gemm_workspace_bytes(const ::upsample::detail::ConvTransposeProblem& problem, bool allow_tf32);

// True when the engine reads x in place (channels-last, C/groups a multiple of 16 bytes): x must
// then be 16-byte aligned. Callers that chose the engine themselves (AUTO) check this first.
bool conv_transpose_implicit_gemm_needs_aligned_input(const ::upsample::detail::ConvTransposeProblem& problem,
                                                      bool allow_tf32);

// x must be 16-byte aligned when the input is channels-last with C/groups a multiple of 16 bytes
// (it is then read in place; UPS_STATUS_MISALIGNED otherwise). w, bias and y need only their
// element alignment. Deterministic: every output is summed in a fixed order (taps, then input
// channels, ascending), so repeated calls give identical bits.
upsStatus_t conv_transpose_implicit_gemm_forward(const ::upsample::detail::ConvTransposeProblem& problem, bool allow_tf32,
                                                 const void* x, const void* w, const void* bias, void* y,
                                                 const ExecContext& exec);

// The data gradient dx = conv(dy, w) on the same engine, for the gradient's problem (input = dx,
// weight = w, output = dy, as validate_conv_transpose_backward_data fills it). The same dtype,
// architecture and TF32 rules as the forward, with dy in x's place: read in place (16-byte
// aligned) when channels-last with C_out/groups a multiple of 16 bytes, packed otherwise. Kernels
// up to 16 taps per axis and 64 in all (one phase holds every tap). Deterministic.
ImplicitGemmSupport conv_transpose_implicit_gemm_backward_data_can_implement(
    const ::upsample::detail::ConvTransposeProblem& problem, bool allow_tf32);
size_t conv_transpose_implicit_gemm_backward_data_workspace_bytes(
    const ::upsample::detail::ConvTransposeProblem& problem, bool allow_tf32);
bool conv_transpose_implicit_gemm_backward_data_needs_aligned_input(
    const ::upsample::detail::ConvTransposeProblem& problem, bool allow_tf32);
upsStatus_t conv_transpose_implicit_gemm_backward_data(const ::upsample::detail::ConvTransposeProblem& problem,
                                                       bool allow_tf32, const void* dy, const void* w, void* dx,
                                                       const ExecContext& exec);

// The weight gradient dw = x (*) dy on tensor cores (NOTE [ Weight gradient on the engine ] in
// weight_gradient_kernel.cuh), for the gradient's problem (input = x, weight = dw, output = dy):
// f16/bf16 on sm_80 and newer (f32 and f64 stay on GATHER). The reduction over N x positions is
// split into chunks fixed by the shape, summed into an f32 workspace and combined in a fixed order:
// deterministic. x and dy are read in place (16-byte aligned) when channels-last with their
// channels per group a multiple of 8, packed into the workspace otherwise.
ImplicitGemmSupport conv_transpose_implicit_gemm_backward_weight_can_implement(
    const ::upsample::detail::ConvTransposeProblem& problem);
ImplicitGemmSupport conv_transpose_implicit_gemm_backward_weight_can_implement_on(
    const ::upsample::detail::ConvTransposeProblem& problem, int compute_capability);
size_t conv_transpose_implicit_gemm_backward_weight_workspace_bytes(
    const ::upsample::detail::ConvTransposeProblem& problem);
bool conv_transpose_implicit_gemm_backward_weight_needs_aligned_inputs(
    const ::upsample::detail::ConvTransposeProblem& problem);
upsStatus_t conv_transpose_implicit_gemm_backward_weight(const ::upsample::detail::ConvTransposeProblem& problem,
                                                         const void* x, const void* dy, void* dw,
                                                         const ExecContext& exec);

// Testing aid: run every problem with one tile configuration, so that small problems exercise
// each one, or return to the heuristic (NOTE [ Implicit GEMM tile choice ] in implicit_gemm.cu).
// The SIMT path has 128x128 and 64x64 for f32 (any other choice means 64x64), 64x64 for f64, f16
// and bf16.
enum class ImplicitGemmTile { kHeuristic, k128x128, k128x64, k128x32, k64x64 };
void conv_transpose_implicit_gemm_force_tile(ImplicitGemmTile tile);
// Testing aid: run the SIMT path for every dtype (f16/bf16 with f32 accumulation, TF32 problems in
// exact f32), as a GPU below sm_80 could; false: back to normal.
void conv_transpose_implicit_gemm_force_simt(bool force);

}  // namespace upsample::cuda

// can_implement without a device, for plans (upsConvTransposePlanAlgorithm): the same rules with
// the architecture given as compute_capability = major * 10 + minor (e.g. 90). On success, reason
// names the path that would run (tensor cores or SIMT).
namespace upsample::cuda {
ImplicitGemmSupport conv_transpose_implicit_gemm_can_implement_on(const ::upsample::detail::ConvTransposeProblem& problem,
                                                                  bool allow_tf32, int compute_capability);
ImplicitGemmSupport conv_transpose_implicit_gemm_backward_data_can_implement_on(
    const ::upsample::detail::ConvTransposeProblem& problem, bool allow_tf32, int compute_capability);
}  // namespace upsample::cuda

#include "src/dispatch.h"

#include "core/status.h"
#include "cuda/conv_transpose/implicit_gemm/implicit_gemm.h"

namespace upsample::detail {

namespace {

// The engine's can_implement on the current device, or for a given compute capability.
cuda::ImplicitGemmSupport implicit_gemm_support(const ConvTransposeProblem& p, int compute_capability) {
  return compute_capability == kCurrentDevice
             ? cuda::conv_transpose_implicit_gemm_can_implement(p, p.allow_tf32)
             : cuda::conv_transpose_implicit_gemm_can_implement_on(p, p.allow_tf32, compute_capability);
}

cuda::ImplicitGemmSupport data_gradient_support(const ConvTransposeProblem& p, int compute_capability) {
  return compute_capability == kCurrentDevice
             ? cuda::conv_transpose_implicit_gemm_backward_data_can_implement(p, p.allow_tf32)
             : cuda::conv_transpose_implicit_gemm_backward_data_can_implement_on(p, p.allow_tf32, compute_capability);
}

// The engine pads the channels of its K side to its K tile (32 f16 channels per tap) and those of
// its N side to at least a 32-wide N tile: below 8 channels per group on either side (depthwise,
// small heads) more than 3/4 of every mma would multiply padding, while GATHER does only the real
// multiply-adds. The forward's and the data gradient's GEMMs exchange the two sides; the rule is
// symmetric.
bool few_channels_per_group(const ConvTransposeProblem& p) {
  constexpr int64_t kFewChannels = 8;
  return p.in_channels_per_group() < kFewChannels || p.out_channels_per_group() < kFewChannels;
}

cuda::ImplicitGemmSupport weight_gradient_support(const ConvTransposeProblem& p, int compute_capability) {
  return compute_capability == kCurrentDevice
             ? cuda::conv_transpose_implicit_gemm_backward_weight_can_implement(p)
             : cuda::conv_transpose_implicit_gemm_backward_weight_can_implement_on(p, compute_capability);
}

// A forced IMPLICIT_GEMM: the engine's own status and reason, or SUCCESS.
upsStatus_t engine_verdict(const cuda::ImplicitGemmSupport& support) {
  if (support.status != UPS_STATUS_SUCCESS) return fail(support.status, "algorithm IMPLICIT_GEMM: ", support.reason);
  return UPS_STATUS_SUCCESS;
}

// AUTO's last rules, for the forward and both GEMM gradients: the caller's explicit choice; else
// GATHER on the reference backend or with few channels per group; else the engine where its
// can_implement (`support()`, asked only then) accepts, GATHER where it refuses.
template <typename Support>
ConvTransposeChoice engine_or_gather(const ConvTransposeProblem& p, upsAlgorithm_t requested,
                                                     upsBackend_t backend, Support&& support, const char* accepted,
                                                     const char* refused) {
  if (requested != UPS_ALGO_AUTO) return {requested, "requested by the caller (desc.algorithm)", nullptr};
  if (backend != UPS_BACKEND_CUDA)
    return {UPS_ALGO_GATHER, "AUTO: the reference backend runs one CPU loop whatever the algorithm", nullptr};
  if (few_channels_per_group(p))
    return {UPS_ALGO_GATHER,
            "AUTO: fewer than 8 channels per group on one side: the implicit GEMM's tiles would be mostly padding",
            nullptr};
  const cuda::ImplicitGemmSupport engine = support();
  if (engine.status == UPS_STATUS_SUCCESS) return {UPS_ALGO_IMPLICIT_GEMM, accepted, engine.reason};
  return {UPS_ALGO_GATHER, refused, engine.reason};
}

}  // namespace

// AUTO for transposed convolution.
//
// IMPLICIT_GEMM first, wherever its can_implement accepts the problem on the device (or at the
// compute capability a plan names): dtype, channel alignment, architecture; see
// cuda/conv_transpose/implicit_gemm/implicit_gemm.h. It is
// the engine that reuses each staged input and weight tile across a whole CTA tile (tensor cores
// for f16/bf16 and opted-in TF32, a register-tiled FFMA twin otherwise), where GATHER re-reads
// them per output, and it is deterministic (no split-K), so the deterministic flag allows it.
//
// Before it, one exception kept from the CUDA-core design: when the output is too small to fill a
// large GPU while each output's reduction is long — the first layer of a generator, a 1x1 spatial
// input with many channels — the GEMM's M (batch x output positions of a phase) gives only a few
// CTAs and, without split-K, each walks the whole K serially; SCATTER_ATOMIC parallelizes over the
// inputs instead. Thresholds: fewer outputs than about two waves of an H100 (132 SMs x 2048
// threads ~ 270k) and a reduction of at least 256 terms. The deterministic flag rules it out.
// These thresholds are reasoned from the hardware, not yet measured (no GPU has run the suite).
//
// GATHER (output-stationary, each output summed once in registers in a fixed order) is the
// fallback for everything the engine does not take. The reference backend has no algorithms: it
// runs one loop whatever the choice says.
//
// The choice comes with its reason (ConvTransposeChoice), which upsConvTransposePlanAlgorithm
// reports: the same function decides for an op call (the current device) and for a plan made
// without a device (a given compute capability), so the plan cannot drift from the calls.
ConvTransposeChoice choose_conv_transpose_algorithm(const ConvTransposeProblem& p, upsAlgorithm_t requested,
                                                    bool deterministic, upsBackend_t backend, int compute_capability) {
  if (requested != UPS_ALGO_AUTO) return {requested, "requested by the caller (desc.algorithm)", nullptr};
  constexpr int64_t kFewOutputs = int64_t{1} << 18;
  constexpr int64_t kLongReduction = 256;
  int64_t taps_per_phase = 1;
  for (int a = 0; a < kDims; ++a) {
    // Taps landing on one output: about ceil(k * dilation / stride) / dilation, at least 1.
    const int64_t reach = (p.weight.extent[a] - 1) * p.dilation[a] + 1;
    int64_t taps = (reach + p.stride[a] - 1) / p.stride[a];
    if (taps > p.weight.extent[a]) taps = p.weight.extent[a];
    taps_per_phase *= taps < 1 ? 1 : taps;
  }
  const int64_t reduction = p.in_channels_per_group() * taps_per_phase;
  if (!deterministic && p.output.elements() < kFewOutputs && reduction >= kLongReduction)
    return {UPS_ALGO_SCATTER_ATOMIC,
            "AUTO: fewer than 2^18 outputs, each a reduction of 256 terms or more: without split-K the implicit "
            "GEMM would leave most SMs idle, SCATTER_ATOMIC spreads the inputs (not deterministic)",
            nullptr};
  return engine_or_gather(p, UPS_ALGO_AUTO, backend, [&] { return implicit_gemm_support(p, compute_capability); },
                          "AUTO: the implicit GEMM's can_implement accepts the problem",
                          "AUTO: the implicit GEMM's can_implement refuses the problem, GATHER runs any shape");
}

// AUTO for the data gradient: the forward's rule without its SCATTER_ATOMIC exception (the data
// gradient is a gather; it has no scatter variant). IMPLICIT_GEMM where the engine's data-gradient
// can_implement accepts the problem (NOTE [ Data gradient on the engine ] in
// cuda/conv_transpose/implicit_gemm/implicit_gemm.cu) and both sides have 8 channels per group or
// more; GATHER otherwise. Both are deterministic, so the deterministic flag changes nothing.
ConvTransposeChoice choose_conv_transpose_data_gradient_algorithm(const ConvTransposeProblem& p,
                                                                  upsAlgorithm_t requested, upsBackend_t backend,
                                                                  int compute_capability) {
  return engine_or_gather(p, requested, backend,
                                          [&] { return data_gradient_support(p, compute_capability); },
                                          "AUTO: the implicit GEMM's data-gradient can_implement accepts the problem",
                                          "AUTO: the implicit GEMM's data-gradient can_implement refuses the "
                                          "problem, GATHER runs any shape");
}

upsStatus_t conv_transpose_data_gradient_can_implement(const ConvTransposeProblem& p, upsBackend_t backend,
                                                       int compute_capability) {
  if (backend != UPS_BACKEND_CUDA || p.algorithm != UPS_ALGO_IMPLICIT_GEMM) return UPS_STATUS_SUCCESS;
  return engine_verdict(data_gradient_support(p, compute_capability));
}

// AUTO for the weight gradient: IMPLICIT_GEMM where the engine's weight-gradient can_implement
// accepts the problem (f16/bf16 on sm_80+, NOTE [ Weight gradient on the engine ] in
// cuda/conv_transpose/implicit_gemm/weight_gradient_kernel.cuh) and both sides have 8 or more
// channels per group; otherwise GATHER, the CUDA-core blocked reduction. Both are deterministic
// (fixed chunks combined in a fixed order), so AUTO never trades determinism for speed and the
// deterministic flag changes nothing; SCATTER_ATOMIC (atomics on the chunk sums) runs only when
// the caller asks for it.
ConvTransposeChoice choose_conv_transpose_weight_gradient_algorithm(const ConvTransposeProblem& p,
                                                                    upsAlgorithm_t requested, upsBackend_t backend,
                                                                    int compute_capability) {
  return engine_or_gather(
      p, requested, backend, [&] { return weight_gradient_support(p, compute_capability); },
      "AUTO: the implicit GEMM's weight-gradient can_implement accepts the problem",
      "AUTO: the implicit GEMM's weight-gradient can_implement refuses the problem, GATHER runs any shape");
}

upsStatus_t conv_transpose_weight_gradient_can_implement(const ConvTransposeProblem& p, upsBackend_t backend,
                                                         int compute_capability) {
  if (backend != UPS_BACKEND_CUDA || p.algorithm != UPS_ALGO_IMPLICIT_GEMM) return UPS_STATUS_SUCCESS;
  return engine_verdict(weight_gradient_support(p, compute_capability));
}

// The bias gradient is a reduction of dy over batch and positions, with no GEMM: AUTO and
// IMPLICIT_GEMM (a desc shared with the weight gradient, as frameworks pass it) both run GATHER's
// blocked reduction, which is deterministic; SCATTER_ATOMIC adds its chunk sums with atomics.
// Kept apart from the weight gradient's GEMM (not fused into its reading of dy): the engine reads
// dy once per tap and N tile through cp.async into shared memory, where a fused sum would cost the
// mma warps extra shared loads in every K tile, while the separate pass reads dy once (1/taps of
// the weight gradient's dy traffic) at full bandwidth; and the C API computes db in its own call.
upsAlgorithm_t choose_bias_gradient_algorithm(upsAlgorithm_t requested) {
  return requested == UPS_ALGO_SCATTER_ATOMIC ? UPS_ALGO_SCATTER_ATOMIC : UPS_ALGO_GATHER;
}

// can_implement for transposed convolution, one rule per algorithm, each with its reason.
//   GATHER: always (the direct kernel is the fallback for any shape the tiled one cannot stage).
//   IMPLICIT_GEMM (CUDA): the engine's own rules (dtype, alignment, architecture, 32-bit extents),
//     reported with their reason when the caller forced it.
//   SCATTER_ATOMIC (CUDA): one thread per (input element, output channel of its group): that count
//     must fit the int64 grid-stride counter. The reference backend has no algorithms: it ignores
//     the choice.
upsStatus_t conv_transpose_can_implement(const ConvTransposeProblem& p, upsBackend_t backend, int compute_capability) {
  if (backend != UPS_BACKEND_CUDA) return UPS_STATUS_SUCCESS;
  if (p.algorithm == UPS_ALGO_IMPLICIT_GEMM) {
    const cuda::ImplicitGemmSupport support = implicit_gemm_support(p, compute_capability);
    if (support.status != UPS_STATUS_SUCCESS) return fail(support.status, "algorithm IMPLICIT_GEMM: ", support.reason);
  }
  if (p.algorithm == UPS_ALGO_SCATTER_ATOMIC) {
    int64_t scatter_work = 0;
    if (__builtin_mul_overflow(p.input.elements(), p.out_channels_per_group(), &scatter_work))
      return fail(UPS_STATUS_OVERFLOW, "SCATTER_ATOMIC: input elements x C_out/groups overflows int64");
  }
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::detail

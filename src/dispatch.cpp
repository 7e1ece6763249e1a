#include "src/dispatch.h"

#include "core/status.h"

namespace upsample::detail {

// AUTO for transposed convolution.
//
// GATHER (output-stationary) is the default: each output element is summed once, in registers,
// in a fixed order, and written once — no zero-fill pass, no atomic read-modify-write traffic, and
// run-to-run deterministic. Its parallelism is the number of output elements, though, and each
// output's reduction (C_in/groups times the kernel taps of its stride phase) runs serially in one
// thread. When the output is too small to fill a large GPU while each reduction is long — the
// first layer of a generator, 1x1 spatial input with many channels, say — SCATTER_ATOMIC
// parallelizes over the inputs instead and wins. The thresholds: fewer outputs than about two
// waves of an H100 (132 SMs x 2048 threads ~ 270k), and a reduction of at least 256 terms.
// The deterministic flag rules SCATTER_ATOMIC out.
upsAlgorithm_t choose_conv_transpose_algorithm(const ConvTransposeProblem& p, upsAlgorithm_t requested,
                                               bool deterministic) {
  if (requested != UPS_ALGO_AUTO) return requested;
  if (deterministic) return UPS_ALGO_GATHER;
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
  if (p.output.elements() < kFewOutputs && reduction >= kLongReduction) return UPS_ALGO_SCATTER_ATOMIC;
  return UPS_ALGO_GATHER;
}

// AUTO for the weight and bias gradients: GATHER. Its blocked reduction differs from
// SCATTER_ATOMIC only in how chunk sums meet: a workspace and one combine pass, whose traffic the
// planner bounds (chunks are only added while the grid is below about 1024 blocks, so the partial
// sums number at most about 1024 block tiles), against atomics on the same sums. That saving is
// small beside the reduction itself, and GATHER is run-to-run deterministic, so AUTO never trades
// determinism for it; SCATTER_ATOMIC stays available to a caller who asks. The deterministic flag
// (which already rules SCATTER_ATOMIC out in validation) therefore changes nothing here.
upsAlgorithm_t choose_gradient_reduction_algorithm(upsAlgorithm_t requested) {
  return requested == UPS_ALGO_AUTO ? UPS_ALGO_GATHER : requested;
}

// can_implement for transposed convolution, one rule per algorithm, each with its reason.
//   GATHER: always (the direct kernel is the fallback for any shape the tiled one cannot stage).
//   SCATTER_ATOMIC (CUDA): one thread per (input element, output channel of its group): that count
//     must fit the int64 grid-stride counter. The reference backend has no algorithms: it ignores
//     the choice.
upsStatus_t conv_transpose_can_implement(const ConvTransposeProblem& p, upsBackend_t backend) {
  if (backend != UPS_BACKEND_CUDA) return UPS_STATUS_SUCCESS;
  if (p.algorithm == UPS_ALGO_SCATTER_ATOMIC) {
    int64_t scatter_work = 0;
    if (__builtin_mul_overflow(p.input.elements(), p.out_channels_per_group(), &scatter_work))
      return fail(UPS_STATUS_OVERFLOW, "SCATTER_ATOMIC: input elements x C_out/groups overflows int64");
  }
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::detail

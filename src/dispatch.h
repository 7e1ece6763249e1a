// Algorithm choice: every heuristic of the library lives here, each with its reason.
#pragma once

#include "core/problem.h"

namespace upsample::detail {

// Where a CUDA-backend choice is made: on the current device (what an op call does), or for a
// given compute capability, major * 10 + minor (e.g. 90 for an H100), without touching any device
// (upsConvTransposePlanAlgorithm).
inline constexpr int kCurrentDevice = 0;

// The algorithm a transposed convolution runs and why. `reason` names the rule that decided (a
// static string); `detail`, when not null, is the implicit-GEMM engine's own reason (a static
// string of its can_implement): which of its paths runs, or why it refused the problem.
struct ConvTransposeChoice {
  upsAlgorithm_t algorithm;
  const char* reason;
  const char* detail;
};

// The algorithm a transposed convolution runs: the caller's explicit choice, or AUTO resolved.
// See the comment in dispatch.cpp for the heuristic. The one decision function: op calls and the
// device-free plan query both take it.
ConvTransposeChoice choose_conv_transpose_algorithm(const ConvTransposeProblem& problem, upsAlgorithm_t requested,
                                                    bool deterministic, upsBackend_t backend,
                                                    int compute_capability = kCurrentDevice);

// The algorithm of a transposed convolution's data gradient (the problem as
// validate_conv_transpose_backward_data fills it): the caller's choice, or AUTO resolved to
// IMPLICIT_GEMM or GATHER (see dispatch.cpp), with the reason.
ConvTransposeChoice choose_conv_transpose_data_gradient_algorithm(const ConvTransposeProblem& problem,
                                                                  upsAlgorithm_t requested, upsBackend_t backend,
                                                                  int compute_capability = kCurrentDevice);
// Whether the data gradient's algorithm can run the problem: IMPLICIT_GEMM by the engine's rules,
// GATHER always.
upsStatus_t conv_transpose_data_gradient_can_implement(const ConvTransposeProblem& problem, upsBackend_t backend,
                                                       int compute_capability = kCurrentDevice);

// The weight gradient's algorithm (the problem as validate_conv_transpose_backward_weight fills
// it): the caller's choice, or AUTO resolved to IMPLICIT_GEMM or GATHER, with the reason; and
// whether it can run the problem (IMPLICIT_GEMM by the engine's rules).
ConvTransposeChoice choose_conv_transpose_weight_gradient_algorithm(const ConvTransposeProblem& problem,
                                                                    upsAlgorithm_t requested, upsBackend_t backend,
                                                                    int compute_capability = kCurrentDevice);
upsStatus_t conv_transpose_weight_gradient_can_implement(const ConvTransposeProblem& problem, upsBackend_t backend,
                                                         int compute_capability = kCurrentDevice);

// The bias gradient's algorithm: GATHER, or SCATTER_ATOMIC when the caller asks (see dispatch.cpp).
upsAlgorithm_t choose_bias_gradient_algorithm(upsAlgorithm_t requested);

// Whether `algorithm` can run this problem on `backend`: SUCCESS, or the specific status and a
// message saying why not, before anything is checked further or launched. See dispatch.cpp.
// compute_capability: as for choose_conv_transpose_algorithm.
upsStatus_t conv_transpose_can_implement(const ConvTransposeProblem& problem, upsBackend_t backend,
                                         int compute_capability = kCurrentDevice);

}  // namespace upsample::detail

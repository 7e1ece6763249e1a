// Algorithm choice: every heuristic of the library lives here, each with its reason.
#pragma once

#include "core/problem.h"

namespace upsample::detail {

// The algorithm a transposed convolution runs: the caller's explicit choice, or AUTO resolved.
// See the comment in dispatch.cpp for the heuristic.
upsAlgorithm_t choose_conv_transpose_algorithm(const ConvTransposeProblem& problem, upsAlgorithm_t requested,
                                               bool deterministic, upsBackend_t backend);

// The algorithm of a transposed convolution's weight or bias gradient: the caller's choice, or AUTO
// resolved (to GATHER; see dispatch.cpp).
upsAlgorithm_t choose_gradient_reduction_algorithm(upsAlgorithm_t requested);

// Whether `algorithm` can run this problem on `backend`: SUCCESS, or the specific status and a
// message saying why not, before anything is checked further or launched. See dispatch.cpp.
upsStatus_t conv_transpose_can_implement(const ConvTransposeProblem& problem, upsBackend_t backend);

// The same for a gradient of transposed convolution (data, weight or bias) run by `algorithm`.
upsStatus_t conv_transpose_gradient_can_implement(upsAlgorithm_t algorithm, const char* gradient);

}  // namespace upsample::detail

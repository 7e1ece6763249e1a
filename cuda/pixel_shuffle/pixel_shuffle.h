// The pixel-shuffle family's CUDA launcher (shuffle, unshuffle and their gradients are one data
// movement in one of two directions), called by src/ops/pixel_shuffle after validation.
#pragma once

#include "core/problem.h"
#include "cuda/runtime.h"

namespace upsample::cuda {

upsStatus_t pixel_shuffle(const detail::PixelShuffleProblem& problem, const void* source, void* destination,
                          const ExecContext& exec);

}  // namespace upsample::cuda

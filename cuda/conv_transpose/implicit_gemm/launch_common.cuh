// Host-side helpers the engine's launchers share (implicit_gemm.cu: forward and data gradient;
// weight_gradient.cu): workspace alignment, coordinate limits and the current device's compute
// capability.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/common/platform.cuh"
#include "cuda/runtime.h"
#include "implicit_gemm.h"

namespace upsample::cuda::implicit_gemm {

// Coordinates in the kernels are int: extents, paddings and kernel reaches stay below 2^30.
inline constexpr int64_t kCoordinateLimit = int64_t{1} << 30;
// Every workspace region starts on a 256-byte boundary (16 bytes is what cp.async needs).
inline constexpr size_t kWorkspaceAlignment = 256;

inline size_t align_up(size_t bytes) {
  return (bytes + kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment;
}
inline int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// The tile a test forced with conv_transpose_implicit_gemm_force_tile (kHeuristic: none).
ImplicitGemmTile forced_tile();

// The current device's compute capability (major * 10 + minor), or 0 with *failure set.
inline int device_compute_capability(ImplicitGemmSupport* failure) {
  const int compute_capability = current_compute_capability();
  if (compute_capability == 0) *failure = {UPS_STATUS_BACKEND_UNAVAILABLE, "implicit GEMM: no CUDA device to query"};
  return compute_capability;
}

}  // namespace upsample::cuda::implicit_gemm

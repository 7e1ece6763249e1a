// CUDA error handling for launchers: one macro turns a failing runtime call (or launch) into a
// returned UPS_STATUS_CUDA_ERROR whose message has the call's text and CUDA's own words.
#pragma once

#include "core/status.h"
#include "platform.cuh"

namespace upsample::cuda {

inline upsStatus_t cuda_failure(cudaError_t error, const char* what, const char* file, int line) {
  return detail::fail(UPS_STATUS_CUDA_ERROR, what, " failed: ", cudaGetErrorName(error), " (",
                      cudaGetErrorString(error), ") at ", file, ":", line);
}

}  // namespace upsample::cuda

#define UPS_CUDA_CHECK(expr)                                                            \
  do {                                                                                  \
    const cudaError_t ups_cuda_error_ = (expr);                                         \
    if (ups_cuda_error_ != cudaSuccess)                                                 \
      return ::upsample::cuda::cuda_failure(ups_cuda_error_, #expr, __FILE__, __LINE__); \
  } while (0)

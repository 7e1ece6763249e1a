// Shared by the max-unpool launchers (forward in max_pool.cu, backward in max_pool_backward.cu):
// both check every switch before anything is written and report the first bad one the same way.
#pragma once

#include "core/problem.h"
#include "cuda/common/platform.cuh"

namespace upsample::cuda {

// UPS_STATUS_INDEX_OUT_OF_RANGE naming the index at logical position `position` (in (n, c, d, h, w)
// order of the indices tensor) and its value, read back from the device, in the reference
// backend's words. Synchronizes `stream`.
upsStatus_t report_bad_index(const detail::MaxUnpoolProblem& problem, const int64_t* indices,
                             unsigned long long position, cudaStream_t stream);

}  // namespace upsample::cuda

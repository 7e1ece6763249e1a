// The max-unpooling family's CUDA launchers (forward and backward), called by src/ops/max_unpool
// after validation, and the handle's device-side error record they report to.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/problem.h"
#include "cuda/runtime.h"

namespace upsample::cuda {

// What the CUDA kernels cannot do (asked by the entry path before anything else): winners of the
// general (overlapping) path are elected as input plane position + 1 in 32 bits, so input planes
// must stay below 2^32 - 1.
upsStatus_t max_unpool_can_implement(const detail::MaxUnpoolProblem& problem);

size_t max_unpool_workspace_bytes(const detail::MaxUnpoolProblem& problem);
upsStatus_t max_unpool_forward(const detail::MaxUnpoolProblem& problem, const void* x, const void* indices, void* y,
                               const ExecContext& exec);

size_t max_unpool_backward_workspace_bytes(const detail::MaxUnpoolProblem& problem);
upsStatus_t max_unpool_backward(const detail::MaxUnpoolProblem& problem, const void* dy, const void* indices, void* dx,
                                const ExecContext& exec);

// The handle's device-side error record (NOTE [ Device-side index errors ] in index_check.cuh):
// allocated and cleared synchronously (at upsCreate, never during capture), freed at upsDestroy.
upsStatus_t create_error_record(void** record);
void destroy_error_record(void* record);
// Waits for `stream`, reads the asynchronous slot and clears it: *status is SUCCESS, or
// INDEX_OUT_OF_RANGE with the message of the first committed report. Not during capture.
upsStatus_t take_error_record(void* record, upsStream_t stream, upsStatus_t* status);

}  // namespace upsample::cuda

// The CUDA backend as the host side sees it: plain C++ (no CUDA types), implemented by the
// launchers in cuda/*.cu. The API layer calls these after validation; each returns a status with
// the message already recorded (src/status.h). Under the emulation layer the same functions run
// the same kernels on the CPU.
#pragma once

#include <cstddef>

#include "../src/problem.h"

namespace upsample::cuda {

// Where the handle's op runs: its stream and the workspace the op may use.
struct ExecContext {
  upsStream_t stream = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

// --- runtime services (runtime.cu) --------------------------------------------------------------
enum class MemoryKind { kUnregisteredHost, kPinnedHost, kDevice, kManaged };

// True when a CUDA device can run our kernels; otherwise *why says what is missing.
bool device_available(const char** why);
MemoryKind locate_pointer(const void* pointer);
upsStatus_t allocate_workspace(size_t bytes, void** pointer);
void free_workspace(void* pointer);
upsStatus_t synchronize_stream(upsStream_t stream);

// Testing aid: force every kernel onto its 64-bit index path (true) or back to the default choice.
void set_force_64bit_indexing(bool force);
bool force_64bit_indexing();

// --- ops -------------------------------------------------------------------------------------
upsStatus_t unpool_forward(const detail::UnpoolProblem& problem, const void* x, void* y, const ExecContext& exec);

upsStatus_t max_pool_forward(const detail::MaxPoolProblem& problem, const void* x, void* y, int64_t* indices,
                             const ExecContext& exec);

size_t max_unpool_workspace_bytes(const detail::MaxUnpoolProblem& problem);
upsStatus_t max_unpool_forward(const detail::MaxUnpoolProblem& problem, const void* x, const int64_t* indices,
                               void* y, const ExecContext& exec);

size_t conv_transpose_workspace_bytes(const detail::ConvTransposeProblem& problem, upsAlgorithm_t algorithm);
upsStatus_t conv_transpose_forward(const detail::ConvTransposeProblem& problem, upsAlgorithm_t algorithm,
                                   const void* x, const void* w, const void* bias, void* y, const ExecContext& exec);

}  // namespace upsample::cuda

// --- gradients (cuda/*_backward.cu) ----------------------------------------------------------
// The problems are the forward ops' with the gradients in the forward tensors' places: input =
// dx (or x), weight = w (or dw), output = dy (see src/validate_backward.h).
namespace upsample::cuda {

upsStatus_t unpool_backward(const detail::UnpoolProblem& problem, const void* dy, void* dx, const ExecContext& exec);

upsStatus_t max_pool_backward(const detail::MaxPoolProblem& problem, const void* dy, const int64_t* indices, void* dx,
                              const ExecContext& exec);

size_t max_unpool_backward_workspace_bytes(const detail::MaxUnpoolProblem& problem);
upsStatus_t max_unpool_backward(const detail::MaxUnpoolProblem& problem, const void* dy, const int64_t* indices,
                                void* dx, const ExecContext& exec);

upsStatus_t conv_transpose_backward_data(const detail::ConvTransposeProblem& problem, const void* dy, const void* w,
                                         void* dx, const ExecContext& exec);

// algorithm: GATHER or SCATTER_ATOMIC (AUTO resolved by the caller).
size_t conv_transpose_backward_weight_workspace_bytes(const detail::ConvTransposeProblem& problem,
                                                      upsAlgorithm_t algorithm);
upsStatus_t conv_transpose_backward_weight(const detail::ConvTransposeProblem& problem, upsAlgorithm_t algorithm,
                                           const void* x, const void* dy, void* dw, const ExecContext& exec);

size_t conv_transpose_backward_bias_workspace_bytes(const detail::TensorGeometry& dy_geometry,
                                                    upsAlgorithm_t algorithm);
upsStatus_t conv_transpose_backward_bias(const detail::TensorGeometry& dy_geometry, upsAlgorithm_t algorithm,
                                         const void* dy, void* db, const ExecContext& exec);

}  // namespace upsample::cuda

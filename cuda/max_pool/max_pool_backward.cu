// Launchers for max-pooling backward and max-unpooling backward (kernels in
// max_pool_backward.cuh).
//
// Max-unpooling backward checks every index before it writes (two no-atomic reduction passes
// whose verdict the host reads back: the op synchronizes the stream, like the forward), then
// gathers. Its workspace holds the per-block check results and the verdict.
#include <cstdint>
#include <limits>

#include "core/dtype.h"
#include "cuda/max_pool/max_pool.h"
#include "cuda/max_unpool/max_unpool.h"
#include "cuda/common/check.cuh"
#include "cuda/common/launch.cuh"
#include "cuda/max_pool/max_pool_backward.cuh"
#include "cuda/max_unpool/max_unpool_indices.h"

namespace upsample::cuda {
namespace {

constexpr int kThreadsPerBlock = 256;

template <typename ElementT, typename IndexT>
upsStatus_t launch_max_pool_backward(const detail::MaxPoolProblem& problem, const void* dy, const int64_t* indices,
                                     void* dx, const ExecContext& exec) {
  MaxPoolBackwardParams<ElementT, IndexT> p;
  p.dy = static_cast<const ElementT*>(dy);
  p.indices = indices;
  p.dx = static_cast<ElementT*>(dx);
  p.input = make_device_tensor<IndexT>(problem.input);
  p.output = make_device_tensor<IndexT>(problem.output);
  for (int a = 0; a < 3; ++a) {
    p.kernel[a] = static_cast<IndexT>(problem.kernel[a]);
    p.stride[a] = static_cast<IndexT>(problem.stride[a]);
    p.padding[a] = static_cast<IndexT>(problem.padding[a]);
    p.dilation[a] = static_cast<IndexT>(problem.dilation[a]);
  }
  p.work = problem.input.elements();
  UPS_CUDA_CHECK(launch_kernel(max_pool_backward_kernel<ElementT, IndexT>, grid_for(p.work, kThreadsPerBlock),
                               dim3(kThreadsPerBlock), 0, reinterpret_cast<cudaStream_t>(exec.stream), p));
  return UPS_STATUS_SUCCESS;
}

template <typename IndexT>
upsStatus_t check_indices(const detail::MaxUnpoolProblem& problem, const int64_t* indices, const ExecContext& exec) {
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  IndexCheckParams<IndexT> p;
  p.indices = indices;
  p.tensor = make_device_tensor<IndexT>(problem.indices);
  p.limit = problem.output.plane();
  p.partial = static_cast<unsigned long long*>(exec.workspace);
  p.work = problem.indices.elements();
  p.blocks = static_cast<int>(grid_for(p.work, kIndexCheckThreads).x);
  if (p.blocks > kIndexCheckBlocks) p.blocks = kIndexCheckBlocks;
  UPS_CUDA_CHECK(launch_kernel(index_check_partial_kernel<IndexT>, dim3(static_cast<unsigned>(p.blocks)),
                               dim3(kIndexCheckThreads), 0, stream, p));
  UPS_CUDA_CHECK(launch_kernel(index_check_combine_kernel<IndexT>, dim3(1), dim3(kIndexCheckThreads), 0, stream, p));
  unsigned long long first_bad = 0;
  UPS_CUDA_CHECK(cudaMemcpyAsync(&first_bad, p.partial + kIndexCheckBlocks, sizeof first_bad, cudaMemcpyDeviceToHost,
                                 stream));
  UPS_CUDA_CHECK(cudaStreamSynchronize(stream));
  if (first_bad != std::numeric_limits<unsigned long long>::max())
    return report_bad_index(problem, indices, first_bad, stream);
  return UPS_STATUS_SUCCESS;
}

template <typename StorageT, typename IndexT>
upsStatus_t launch_max_unpool_backward(const detail::MaxUnpoolProblem& problem, const void* dy, const int64_t* indices,
                                       void* dx, const ExecContext& exec) {
  UPS_RETURN_IF_ERROR(check_indices<IndexT>(problem, indices, exec));
  MaxUnpoolBackwardParams<StorageT, IndexT> p;
  p.dy = static_cast<const StorageT*>(dy);
  p.indices = indices;
  p.dx = static_cast<StorageT*>(dx);
  p.input = make_device_tensor<IndexT>(problem.input);
  p.output = make_device_tensor<IndexT>(problem.output);
  p.work = problem.input.elements();
  UPS_CUDA_CHECK(launch_kernel(max_unpool_backward_kernel<StorageT, IndexT>, grid_for(p.work, kThreadsPerBlock),
                               dim3(kThreadsPerBlock), 0, reinterpret_cast<cudaStream_t>(exec.stream), p));
  return UPS_STATUS_SUCCESS;
}

template <typename StorageT>
upsStatus_t launch_max_unpool_backward_index(const detail::MaxUnpoolProblem& problem, const void* dy,
                                             const int64_t* indices, void* dx, const ExecContext& exec) {
  if (use_32bit_indexing({&problem.input, &problem.output}))
    return launch_max_unpool_backward<StorageT, int32_t>(problem, dy, indices, dx, exec);
  return launch_max_unpool_backward<StorageT, int64_t>(problem, dy, indices, dx, exec);
}

// Window coordinates o*stride - padding + k*dilation (and i + padding) must fit the index type
// too: the forward's rule (max_pool.cu).
bool window_coordinates_fit_32bit(const detail::MaxPoolProblem& p) {
  constexpr int64_t kLimit = int64_t{1} << 30;
  for (int a = 0; a < 3; ++a) {
    const int64_t reach = (p.output.extent[a] - 1) * p.stride[a] + (p.kernel[a] - 1) * p.dilation[a];
    // stride and dilation also appear on their own (e.g. a ceiling division adds stride - 1).
    if (reach >= kLimit || p.padding[a] >= kLimit || p.input.extent[a] >= kLimit || p.stride[a] >= kLimit ||
        p.dilation[a] >= kLimit)
      return false;
  }
  return true;
}

}  // namespace

upsStatus_t max_pool_backward(const detail::MaxPoolProblem& problem, const void* dy, const int64_t* indices, void* dx,
                              const ExecContext& exec) {
  const bool narrow = use_32bit_indexing({&problem.input, &problem.output}) && window_coordinates_fit_32bit(problem);
  return dispatch_float_dtype(problem.input.dtype, [&](auto tag) {
    using ElementT = typename decltype(tag)::type;
    return narrow ? launch_max_pool_backward<ElementT, int32_t>(problem, dy, indices, dx, exec)
                  : launch_max_pool_backward<ElementT, int64_t>(problem, dy, indices, dx, exec);
  });
}

size_t max_unpool_backward_workspace_bytes(const detail::MaxUnpoolProblem&) {
  return sizeof(unsigned long long) * (kIndexCheckBlocks + 1);
}

upsStatus_t max_unpool_backward(const detail::MaxUnpoolProblem& problem, const void* dy, const int64_t* indices,
                                void* dx, const ExecContext& exec) {
  if (exec.workspace_bytes < max_unpool_backward_workspace_bytes(problem))
    return detail::fail(UPS_STATUS_INTERNAL_ERROR, "max-unpool backward: workspace smaller than its query");
  // Data movement only: dispatch on the storage width, not the float type.
  switch (detail::dtype_size(problem.input.dtype)) {
    case 2: return launch_max_unpool_backward_index<uint16_t>(problem, dy, indices, dx, exec);
    case 4: return launch_max_unpool_backward_index<uint32_t>(problem, dy, indices, dx, exec);
    case 8: return launch_max_unpool_backward_index<uint64_t>(problem, dy, indices, dx, exec);
    default: break;
  }
  return detail::fail(UPS_STATUS_INTERNAL_ERROR, "max-unpool backward: unexpected dtype ",
                      static_cast<int>(problem.input.dtype));
}

}  // namespace upsample::cuda

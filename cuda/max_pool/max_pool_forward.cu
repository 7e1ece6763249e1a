// Launchers for max-pooling with indices and max-unpooling (kernels in max_pool.cuh).
//
// Why max-unpooling takes three passes and a workspace: upsample.h promises (a) that an
// out-of-range index is reported before anything is written, and (b) that duplicate indices
// resolve to the latest input in scan order on every backend. (a) needs a check pass whose
// verdict the host reads before the write pass is launched — so this op synchronizes the stream.
// (b) cannot come from a plain scatter, whose last writer depends on thread timing; electing the
// winner per output element with atomicMax makes it independent of timing. The workspace holds
// the bad-position flag and one 32-bit winner per output element.
#include <cstdint>
#include <limits>

#include "core/dtype.h"
#include "cuda/max_pool/max_pool.h"
#include "cuda/max_unpool/max_unpool.h"
#include "cuda/common/check.cuh"
#include "cuda/common/launch.cuh"
#include "cuda/max_pool/max_pool_forward.cuh"
#include "cuda/max_unpool/max_unpool_indices.h"

namespace upsample::cuda {
namespace {

constexpr int kThreadsPerBlock = 256;
constexpr size_t kFlagBytes = 256;  // the first-bad-position flag, padded to keep winners aligned

template <typename ElementT, typename IndexT>
upsStatus_t launch_max_pool(const detail::MaxPoolProblem& problem, const void* x, void* y, int64_t* indices,
                            const ExecContext& exec) {
  MaxPoolParams<ElementT, IndexT> p;
  p.x = static_cast<const ElementT*>(x);
  p.y = static_cast<ElementT*>(y);
  p.indices = indices;
  p.input = make_device_tensor<IndexT>(problem.input);
  p.output = make_device_tensor<IndexT>(problem.output);
  for (int a = 0; a < 3; ++a) {
    p.kernel[a] = static_cast<IndexT>(problem.kernel[a]);
    p.stride[a] = static_cast<IndexT>(problem.stride[a]);
    p.padding[a] = static_cast<IndexT>(problem.padding[a]);
    p.dilation[a] = static_cast<IndexT>(problem.dilation[a]);
  }
  p.work = problem.output.elements();
  UPS_CUDA_CHECK(launch_kernel(max_pool_kernel<ElementT, IndexT>, grid_for(p.work, kThreadsPerBlock),
                               dim3(kThreadsPerBlock), 0, reinterpret_cast<cudaStream_t>(exec.stream), p));
  return UPS_STATUS_SUCCESS;
}

template <typename ElementT, typename IndexT>
upsStatus_t launch_max_unpool(const detail::MaxUnpoolProblem& problem, const void* x, const int64_t* indices,
                              void* y, const ExecContext& exec) {
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  auto* first_bad = static_cast<unsigned long long*>(exec.workspace);
  auto* winners = reinterpret_cast<unsigned int*>(static_cast<char*>(exec.workspace) + kFlagBytes);

  MaxUnpoolIndexParams<IndexT> index_params;
  index_params.indices = indices;
  index_params.input = make_device_tensor<IndexT>(problem.input);
  index_params.output_plane = problem.output.plane();
  index_params.winners = winners;
  index_params.first_bad = first_bad;
  index_params.work = problem.input.elements();
  const dim3 input_grid = grid_for(index_params.work, kThreadsPerBlock);

  // Pass 1: range check; the host reads the verdict before anything is written.
  if (index_params.work > 0) {
    UPS_CUDA_CHECK(cudaMemsetAsync(first_bad, 0xff, sizeof(unsigned long long), stream));
    UPS_CUDA_CHECK(launch_kernel(max_unpool_check_kernel<IndexT>, input_grid, dim3(kThreadsPerBlock), 0, stream,
                                 index_params));
    unsigned long long first_bad_host = 0;
    UPS_CUDA_CHECK(cudaMemcpyAsync(&first_bad_host, first_bad, sizeof first_bad_host, cudaMemcpyDeviceToHost, stream));
    UPS_CUDA_CHECK(cudaStreamSynchronize(stream));
    if (first_bad_host != std::numeric_limits<unsigned long long>::max())
      return report_bad_index(problem, indices, first_bad_host, stream);
  }

  // Pass 2: elect one winner per output element.
  UPS_CUDA_CHECK(cudaMemsetAsync(winners, 0, sizeof(unsigned int) * static_cast<size_t>(problem.output.elements()),
                                 stream));
  if (index_params.work > 0)
    UPS_CUDA_CHECK(launch_kernel(max_unpool_elect_kernel<IndexT>, input_grid, dim3(kThreadsPerBlock), 0, stream,
                                 index_params));

  // Pass 3: write every output element once.
  MaxUnpoolWriteParams<ElementT, IndexT> write_params;
  write_params.x = static_cast<const ElementT*>(x);
  write_params.y = static_cast<ElementT*>(y);
  write_params.winners = winners;
  write_params.input = index_params.input;
  write_params.output = make_device_tensor<IndexT>(problem.output);
  write_params.work = problem.output.elements();
  UPS_CUDA_CHECK(launch_kernel(max_unpool_write_kernel<ElementT, IndexT>, grid_for(write_params.work, kThreadsPerBlock),
                               dim3(kThreadsPerBlock), 0, stream, write_params));
  return UPS_STATUS_SUCCESS;
}

}  // namespace

upsStatus_t report_bad_index(const detail::MaxUnpoolProblem& problem, const int64_t* indices,
                             unsigned long long position, cudaStream_t stream) {
  const detail::TensorGeometry& in = problem.input;
  int64_t rest = static_cast<int64_t>(position);
  const int64_t w = rest % in.extent[2];
  rest /= in.extent[2];
  const int64_t h = rest % in.extent[1];
  rest /= in.extent[1];
  const int64_t d = rest % in.extent[0];
  rest /= in.extent[0];
  const int64_t c = rest % in.c, n = rest / in.c;
  int64_t value = 0;
  UPS_CUDA_CHECK(cudaMemcpyAsync(&value, indices + problem.indices.offset(n, c, d, h, w), sizeof value,
                                 cudaMemcpyDeviceToHost, stream));
  UPS_CUDA_CHECK(cudaStreamSynchronize(stream));
  return detail::fail(UPS_STATUS_INDEX_OUT_OF_RANGE, "indices[n=", n, ", c=", c, ", d=", d, ", h=", h, ", w=", w,
                      "] = ", value, " is outside the output plane [0, ", problem.output.plane(),
                      ") (first offending position in (n, c, d, h, w) order); nothing was written");
}

// Window coordinates o*stride - padding + k*dilation must fit the index type too.
bool window_fits_32bit(const detail::MaxPoolProblem& p) {
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

upsStatus_t max_pool_forward(const detail::MaxPoolProblem& problem, const void* x, void* y, int64_t* indices,
                             const ExecContext& exec) {
  const bool narrow = use_32bit_indexing({&problem.input, &problem.output}) && window_fits_32bit(problem);
  return dispatch_float_dtype(problem.input.dtype, [&](auto tag) {
    using ElementT = typename decltype(tag)::type;
    return narrow ? launch_max_pool<ElementT, int32_t>(problem, x, y, indices, exec)
                  : launch_max_pool<ElementT, int64_t>(problem, x, y, indices, exec);
  });
}

upsStatus_t max_unpool_can_implement(const detail::MaxUnpoolProblem& problem) {
  if (problem.input.plane() >= static_cast<int64_t>(std::numeric_limits<unsigned int>::max()))
    return detail::fail(UPS_STATUS_NOT_SUPPORTED, "x: the CUDA max-unpool supports input planes (D*H*W) below 2^32 - 1 "
                        "elements, got ", problem.input.plane());
  return UPS_STATUS_SUCCESS;
}

size_t max_unpool_workspace_bytes(const detail::MaxUnpoolProblem& problem) {
  return kFlagBytes + sizeof(unsigned int) * static_cast<size_t>(problem.output.elements());
}

upsStatus_t max_unpool_forward(const detail::MaxUnpoolProblem& problem, const void* x, const int64_t* indices,
                               void* y, const ExecContext& exec) {
  if (exec.workspace_bytes < max_unpool_workspace_bytes(problem))
    return detail::fail(UPS_STATUS_INTERNAL_ERROR, "max-unpool: workspace smaller than its query");
  const bool narrow = use_32bit_indexing({&problem.input, &problem.output});
  return dispatch_float_dtype(problem.input.dtype, [&](auto tag) {
    using ElementT = typename decltype(tag)::type;
    return narrow ? launch_max_unpool<ElementT, int32_t>(problem, x, indices, y, exec)
                  : launch_max_unpool<ElementT, int64_t>(problem, x, indices, y, exec);
  });
}

}  // namespace upsample::cuda

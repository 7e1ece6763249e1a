// Launcher of max-pooling with indices (kernel in max_pool_forward.cuh). Max-unpooling lives in
// cuda/max_unpool/.
#include <cstdint>
#include <limits>

#include "core/dtype.h"
#include "cuda/max_pool/max_pool.h"
#include "cuda/common/check.cuh"
#include "cuda/common/launch.cuh"
#include "cuda/max_pool/max_pool_forward.cuh"

namespace upsample::cuda {
namespace {

template <typename ElementT, typename IndexT, typename SwitchT>
upsStatus_t launch_max_pool(const detail::MaxPoolProblem& problem, const void* x, void* y, void* indices,
                            const ExecContext& exec) {
  MaxPoolParams<ElementT, IndexT, SwitchT> p;
  p.x = static_cast<const ElementT*>(x);
  p.y = static_cast<ElementT*>(y);
  p.indices = static_cast<SwitchT*>(indices);
  p.input = make_device_tensor<IndexT>(problem.input);
  p.output = make_device_tensor<IndexT>(problem.output);
  for (int a = 0; a < 3; ++a) {
    p.kernel[a] = static_cast<IndexT>(problem.kernel[a]);
    p.stride[a] = static_cast<IndexT>(problem.stride[a]);
    p.padding[a] = static_cast<IndexT>(problem.padding[a]);
    p.dilation[a] = static_cast<IndexT>(problem.dilation[a]);
    p.dilation_div[a] = FastDivmod<IndexT>(problem.dilation[a]);
  }
  p.work = problem.output.elements();
  UPS_CUDA_CHECK(launch_kernel(max_pool_kernel<ElementT, IndexT, SwitchT>, grid_for(p.work, kThreadsPerBlock),
                               dim3(kThreadsPerBlock), 0, reinterpret_cast<cudaStream_t>(exec.stream), p));
  return UPS_STATUS_SUCCESS;
}

}  // namespace

upsStatus_t max_pool_forward(const detail::MaxPoolProblem& problem, const void* x, void* y, void* indices,
                             const ExecContext& exec) {
  const bool narrow = detail::max_pool_use_32bit_indexing(problem);
  return dispatch_float_dtype(problem.input.dtype, [&](auto tag) {
    using ElementT = typename decltype(tag)::type;
    return dispatch_switch_dtype(problem.indices.dtype, [&](auto switch_tag) {
      using SwitchT = typename decltype(switch_tag)::type;
      return narrow ? launch_max_pool<ElementT, int32_t, SwitchT>(problem, x, y, indices, exec)
                    : launch_max_pool<ElementT, int64_t, SwitchT>(problem, x, y, indices, exec);
    });
  });
}

}  // namespace upsample::cuda

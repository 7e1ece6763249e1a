// Launcher of max-pooling backward (kernels in max_pool_backward.cuh): the tiled kernels where
// the windows tile dx, else the general gather. Max-unpooling backward lives in cuda/max_unpool/.
#include <cstdint>
#include <limits>

#include "core/dtype.h"
#include "cuda/common/check.cuh"
#include "cuda/common/launch.cuh"
#include "cuda/common/pool_tile.cuh"
#include "cuda/common/vector.cuh"
#include "cuda/max_pool/max_pool.h"
#include "cuda/max_pool/max_pool_backward.cuh"

namespace upsample::cuda {
namespace {

bool windows_tile(const detail::MaxPoolProblem& problem) {
  for (int a = 0; a < detail::kDims; ++a)
    if (problem.kernel[a] != problem.stride[a] || problem.dilation[a] != 1) return false;
  return true;
}

// Where the windows tile dx, input-stationary over dy (max_pool_backward_tiled*_kernel), 16 bytes
// of channels at a time where the layout and alignment allow (NOTE [ Vector access alignment ]);
// else the general gather over dx.
template <typename ElementT, typename IndexT, typename SwitchT>
upsStatus_t launch_max_pool_backward(const detail::MaxPoolProblem& problem, const void* dy, const void* indices,
                                     void* dx, const ExecContext& exec) {
  constexpr int kLanes = Vector16<ElementT>::kLanes;
  MaxPoolBackwardParams<ElementT, IndexT, SwitchT> p;
  p.dy = static_cast<const ElementT*>(dy);
  p.indices = static_cast<const SwitchT*>(indices);
  p.dx = static_cast<ElementT*>(dx);
  p.input = make_device_tensor<IndexT>(problem.input);
  p.output = make_device_tensor<IndexT>(problem.output);
  for (int a = 0; a < 3; ++a) {
    p.kernel[a] = static_cast<IndexT>(problem.kernel[a]);
    p.stride[a] = static_cast<IndexT>(problem.stride[a]);
    p.padding[a] = static_cast<IndexT>(problem.padding[a]);
    p.dilation[a] = static_cast<IndexT>(problem.dilation[a]);
    p.stride_div[a] = FastDivmod<IndexT>(problem.stride[a]);
    p.dilation_div[a] = FastDivmod<IndexT>(problem.dilation[a]);
  }
  p.c_vectors_div = FastDivmod<IndexT>(problem.input.c / kLanes);
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  const dim3 block(kThreadsPerBlock);
  if (!windows_tile(problem)) {
    p.work = problem.input.elements();
    UPS_CUDA_CHECK(launch_kernel(max_pool_backward_kernel<ElementT, IndexT, SwitchT>,
                                 grid_for(p.work, kThreadsPerBlock), block, 0, stream, p));
  } else if (problem.input.layout == UPS_LAYOUT_CHANNELS_LAST && problem.input.c % kLanes == 0 &&
             vector_aligned(dy, 16) && vector_aligned(dx, 16)) {
    p.work = problem.output.elements() / kLanes;
    UPS_CUDA_CHECK(launch_kernel(max_pool_backward_tiled_vec16_kernel<ElementT, IndexT, SwitchT>,
                                 grid_for(p.work, kThreadsPerBlock), block, 0, stream, p));
  } else if (const int scale_w = tiled_cf_vector_scale_w(problem.input.layout == UPS_LAYOUT_CHANNELS_FIRST,
                                                         problem.stride[2], problem.padding[2], problem.input.extent[2],
                                                         problem.output.extent[2], static_cast<int>(sizeof(ElementT)), dx, dy);
             scale_w != 0) {
    const int group = kLanes / scale_w;
    p.w_groups_div = FastDivmod<IndexT>(problem.output.extent[2] / group);
    p.work = problem.output.elements() / group;
    auto kernel = max_pool_backward_tiled_cf_vec16_kernel<ElementT, IndexT, SwitchT, 2>;
    if constexpr (kLanes % 4 == 0)  // f64 has 2 lanes: W stride 2 only
      if (scale_w == 4) kernel = max_pool_backward_tiled_cf_vec16_kernel<ElementT, IndexT, SwitchT, 4>;
    UPS_CUDA_CHECK(launch_kernel(kernel, grid_for(p.work, kThreadsPerBlock), block, 0, stream, p));
  } else {
    p.work = problem.output.elements();
    UPS_CUDA_CHECK(launch_kernel(max_pool_backward_tiled_kernel<ElementT, IndexT, SwitchT>,
                                 grid_for(p.work, kThreadsPerBlock), block, 0, stream, p));
  }
  return UPS_STATUS_SUCCESS;
}

}  // namespace

upsStatus_t max_pool_backward(const detail::MaxPoolProblem& problem, const void* dy, const void* indices, void* dx,
                              const ExecContext& exec) {
  const bool narrow = detail::max_pool_use_32bit_indexing(problem);
  return dispatch_float_dtype(problem.input.dtype, [&](auto tag) {
    using ElementT = typename decltype(tag)::type;
    return dispatch_switch_dtype(problem.indices.dtype, [&](auto switch_tag) {
      using SwitchT = typename decltype(switch_tag)::type;
      return narrow ? launch_max_pool_backward<ElementT, int32_t, SwitchT>(problem, dy, indices, dx, exec)
                    : launch_max_pool_backward<ElementT, int64_t, SwitchT>(problem, dy, indices, dx, exec);
    });
  });
}

}  // namespace upsample::cuda

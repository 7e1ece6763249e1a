// Launchers for nearest-neighbour and bed-of-nails unpooling (kernels in unpool.cuh).
#include <cstdint>

#include "core/dtype.h"
#include "cuda/unpool/unpool.h"
#include "cuda/common/check.cuh"
#include "cuda/common/launch.cuh"
#include "cuda/common/vector.cuh"
#include "cuda/unpool/unpool_forward.cuh"

namespace upsample::cuda {
namespace {

bool aligned16(const void* pointer) { return vector_aligned(pointer, 16); }
bool aligned_to(const void* pointer, size_t bytes) { return vector_aligned(pointer, static_cast<int>(bytes)); }

// An input-stationary spread kernel over the problem's 16-byte input vectors,
// kUnpoolVectorsPerThread of them per thread (see unpool_forward.cuh).
template <typename StorageT, typename IndexT, typename Kernel>
upsStatus_t launch_spread(Kernel kernel, const detail::UnpoolProblem& problem, UnpoolParams<StorageT, IndexT> p,
                          cudaStream_t stream) {
  p.work = problem.input.elements() / Vector16<StorageT>::kLanes;
  UPS_CUDA_CHECK(launch_kernel(kernel, grid_for(p.work, kThreadsPerBlock * kUnpoolVectorsPerThread),
                               dim3(kThreadsPerBlock), 0, stream, p));
  return UPS_STATUS_SUCCESS;
}

// The vector kernels: channels-last input-stationary (one input vector to its whole cell);
// channels-first with the W scale fixed at compile time where one narrower vector load serves the
// whole output vector (see unpool_forward.cuh), else read at run time.
template <typename StorageT, typename IndexT>
upsStatus_t launch_vec16(const detail::UnpoolProblem& problem, const UnpoolParams<StorageT, IndexT>& p,
                         cudaStream_t stream) {
  constexpr int kLanes = Vector16<StorageT>::kLanes;
  const int64_t scale_w = problem.scale[2];
  const bool channels_first = problem.output.layout == UPS_LAYOUT_CHANNELS_FIRST;
  if (!channels_first) {  // input-stationary: each input vector to its whole cell
    const auto kernel = scale_w == 1   ? unpool_cl_spread_kernel<StorageT, IndexT, 1>
                        : scale_w == 2 ? unpool_cl_spread_kernel<StorageT, IndexT, 2>
                        : scale_w == 4 ? unpool_cl_spread_kernel<StorageT, IndexT, 4>
                                       : unpool_cl_spread_kernel<StorageT, IndexT, 0>;
    return launch_spread(kernel, problem, p, stream);
  }
  // Channels-first, input-stationary along rows where an input row is whole 16-byte vectors.
  const bool row_spread = problem.input.extent[2] % kLanes == 0 && aligned16(p.x);
  if (row_spread && (scale_w == 1 || scale_w == 2 || scale_w == 4)) {
    const auto kernel = scale_w == 1   ? unpool_cf_row_spread_kernel<StorageT, IndexT, 1>
                        : scale_w == 2 ? unpool_cf_row_spread_kernel<StorageT, IndexT, 2>
                                       : unpool_cf_row_spread_kernel<StorageT, IndexT, 4>;
    return launch_spread(kernel, problem, p, stream);
  }
  const dim3 grid = grid_for(p.work, kThreadsPerBlock);
  if constexpr (kLanes % 2 == 0) {
    if (channels_first && scale_w == 2 && aligned_to(p.x, 16 / 2)) {
      UPS_CUDA_CHECK(launch_kernel(unpool_vec16_kernel<StorageT, IndexT, 2>, grid, dim3(kThreadsPerBlock), 0, stream, p));
      return UPS_STATUS_SUCCESS;
    }
  }
  if constexpr (kLanes % 4 == 0) {
    if (channels_first && scale_w == 4 && aligned_to(p.x, 16 / 4)) {
      UPS_CUDA_CHECK(launch_kernel(unpool_vec16_kernel<StorageT, IndexT, 4>, grid, dim3(kThreadsPerBlock), 0, stream, p));
      return UPS_STATUS_SUCCESS;
    }
  }
  UPS_CUDA_CHECK(launch_kernel(unpool_vec16_kernel<StorageT, IndexT, 0>, grid, dim3(kThreadsPerBlock), 0, stream, p));
  return UPS_STATUS_SUCCESS;
}

template <typename StorageT, typename IndexT>
upsStatus_t launch_unpool(const detail::UnpoolProblem& problem, const void* x, void* y, const ExecContext& exec) {
  UnpoolParams<StorageT, IndexT> p;
  p.x = static_cast<const StorageT*>(x);
  p.y = static_cast<StorageT*>(y);
  p.input = make_device_tensor<IndexT>(problem.input);
  p.output = make_device_tensor<IndexT>(problem.output);
  constexpr int kLanes = Vector16<StorageT>::kLanes;
  for (int a = 0; a < 3; ++a) {
    p.scale[a] = static_cast<IndexT>(problem.scale[a]);
    p.scale_div[a] = FastDivmod<IndexT>(problem.scale[a]);
  }
  p.c_vectors_div = FastDivmod<IndexT>(problem.input.c / kLanes);  // used where C % kLanes == 0
  p.w_vectors_div = FastDivmod<IndexT>(problem.input.extent[2] / kLanes);  // where W_in % kLanes == 0
  p.bed_of_nails = problem.mode == UPS_UNPOOL_BED_OF_NAILS;

  // The 16-byte path needs each output vector to stay inside one input vector (channels-last)
  // or one output row (channels-first), and the pointers it moves vectors through aligned.
  const bool channels_last = problem.output.layout == UPS_LAYOUT_CHANNELS_LAST;
  const bool vectorizable = channels_last ? problem.output.c % kLanes == 0 && aligned16(x) && aligned16(y)
                                          : problem.output.extent[2] % kLanes == 0 && aligned16(y);
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  if (vectorizable) {
    p.work = problem.output.elements() / kLanes;
    UPS_RETURN_IF_ERROR(launch_vec16(problem, p, stream));
  } else {
    p.work = problem.output.elements();
    UPS_CUDA_CHECK(launch_kernel(unpool_scalar_kernel<StorageT, IndexT>, grid_for(p.work, kThreadsPerBlock),
                                 dim3(kThreadsPerBlock), 0, stream, p));
  }
  return UPS_STATUS_SUCCESS;
}

template <typename StorageT>
upsStatus_t launch_unpool_index(const detail::UnpoolProblem& problem, const void* x, void* y,
                                const ExecContext& exec) {
  if (use_32bit_indexing({&problem.input, &problem.output}))
    return launch_unpool<StorageT, int32_t>(problem, x, y, exec);
  return launch_unpool<StorageT, int64_t>(problem, x, y, exec);
}

}  // namespace

upsStatus_t unpool_forward(const detail::UnpoolProblem& problem, const void* x, void* y, const ExecContext& exec) {
  // Data movement only: dispatch on the storage width, not the float type.
  switch (detail::dtype_size(problem.input.dtype)) {
    case 2: return launch_unpool_index<uint16_t>(problem, x, y, exec);
    case 4: return launch_unpool_index<uint32_t>(problem, x, y, exec);
    case 8: return launch_unpool_index<uint64_t>(problem, x, y, exec);
    default: break;
  }
  return detail::fail(UPS_STATUS_INTERNAL_ERROR, "unpool: unexpected dtype ", static_cast<int>(problem.input.dtype));
}

}  // namespace upsample::cuda

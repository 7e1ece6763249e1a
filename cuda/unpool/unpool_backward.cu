// Launchers for nearest-neighbour and bed-of-nails unpooling backward (kernels in
// unpool_backward.cuh): nearest sums in the dtype's accumulation type, bed-of-nails moves
// storage words.
#include <cstdint>

#include "core/dtype.h"
#include "cuda/common/check.cuh"
#include "cuda/common/launch.cuh"
#include "cuda/common/vector.cuh"
#include "cuda/unpool/unpool.h"
#include "cuda/unpool/unpool_backward.cuh"

namespace upsample::cuda {
namespace {

template <typename ElementT, typename IndexT>
UnpoolBackwardParams<ElementT, IndexT> make_params(const detail::UnpoolProblem& problem, const void* dy, void* dx) {
  UnpoolBackwardParams<ElementT, IndexT> p;
  p.dy = static_cast<const ElementT*>(dy);
  p.dx = static_cast<ElementT*>(dx);
  p.input = make_device_tensor<IndexT>(problem.input);
  p.output = make_device_tensor<IndexT>(problem.output);
  for (int a = 0; a < 3; ++a) p.scale[a] = static_cast<IndexT>(problem.scale[a]);
  p.work = problem.input.elements();
  return p;
}

// The 16-byte kernels (see unpool_backward.cuh): channels-last where every vector stays in one
// position's channels, channels-first where dx rows are whole vectors and the W scale is 1, 2 or
// 4; both need dy and dx 16-byte aligned. false: the caller runs the scalar kernel.
template <typename ElementT, typename IndexT, bool kBedOfNails>
bool launch_vec16(const detail::UnpoolProblem& problem, const void* dy, void* dx, const ExecContext& exec,
                  upsStatus_t* status) {
  constexpr int kLanes = Vector16<ElementT>::kLanes;
  if (!vector_aligned(dy, 16) || !vector_aligned(dx, 16)) return false;
  const bool channels_last = problem.input.layout == UPS_LAYOUT_CHANNELS_LAST;
  const int64_t scale_w = problem.scale[2];
  const bool applies = channels_last
                           ? problem.input.c % kLanes == 0
                           : problem.input.extent[2] % kLanes == 0 && (scale_w == 1 || scale_w == 2 || scale_w == 4);
  if (!applies) return false;
  auto p = make_params<ElementT, IndexT>(problem, dy, dx);
  p.work = problem.input.elements() / kLanes;
  p.c_vectors_div = FastDivmod<IndexT>(problem.input.c / kLanes);
  p.w_vectors_div = FastDivmod<IndexT>(problem.input.extent[2] / kLanes);
  const auto kernel = channels_last  ? unpool_backward_cl_vec16_kernel<ElementT, IndexT, kBedOfNails>
                      : scale_w == 1 ? unpool_backward_cf_vec16_kernel<ElementT, IndexT, kBedOfNails, 1>
                      : scale_w == 2 ? unpool_backward_cf_vec16_kernel<ElementT, IndexT, kBedOfNails, 2>
                                     : unpool_backward_cf_vec16_kernel<ElementT, IndexT, kBedOfNails, 4>;
  const cudaError_t error = launch_kernel(kernel, grid_for(p.work, kThreadsPerBlock), dim3(kThreadsPerBlock), 0,
                                          reinterpret_cast<cudaStream_t>(exec.stream), p);
  *status = error == cudaSuccess
                ? UPS_STATUS_SUCCESS
                : cuda_failure(error, "launch_kernel(unpool backward 16-byte kernel)", __FILE__, __LINE__);
  return true;
}

template <typename ElementT, typename IndexT>
upsStatus_t launch_nearest(const detail::UnpoolProblem& problem, const void* dy, void* dx, const ExecContext& exec) {
  upsStatus_t status = UPS_STATUS_SUCCESS;
  if (launch_vec16<ElementT, IndexT, false>(problem, dy, dx, exec, &status)) return status;
  const auto p = make_params<ElementT, IndexT>(problem, dy, dx);
  UPS_CUDA_CHECK(launch_kernel(unpool_nearest_backward_kernel<ElementT, IndexT>, grid_for(p.work, kThreadsPerBlock),
                               dim3(kThreadsPerBlock), 0, reinterpret_cast<cudaStream_t>(exec.stream), p));
  return UPS_STATUS_SUCCESS;
}

template <typename StorageT, typename IndexT>
upsStatus_t launch_bed_of_nails(const detail::UnpoolProblem& problem, const void* dy, void* dx,
                                const ExecContext& exec) {
  upsStatus_t status = UPS_STATUS_SUCCESS;
  if (launch_vec16<StorageT, IndexT, true>(problem, dy, dx, exec, &status)) return status;
  const auto p = make_params<StorageT, IndexT>(problem, dy, dx);
  UPS_CUDA_CHECK(launch_kernel(unpool_bed_of_nails_backward_kernel<StorageT, IndexT>,
                               grid_for(p.work, kThreadsPerBlock), dim3(kThreadsPerBlock), 0,
                               reinterpret_cast<cudaStream_t>(exec.stream), p));
  return UPS_STATUS_SUCCESS;
}

template <typename StorageT>
upsStatus_t launch_bed_of_nails_index(const detail::UnpoolProblem& problem, const void* dy, void* dx,
                                      const ExecContext& exec) {
  if (use_32bit_indexing({&problem.input, &problem.output}))
    return launch_bed_of_nails<StorageT, int32_t>(problem, dy, dx, exec);
  return launch_bed_of_nails<StorageT, int64_t>(problem, dy, dx, exec);
}

}  // namespace

upsStatus_t unpool_backward(const detail::UnpoolProblem& problem, const void* dy, void* dx, const ExecContext& exec) {
  if (problem.mode == UPS_UNPOOL_BED_OF_NAILS) {
    // Data movement only: dispatch on the storage width, not the float type.
    switch (detail::dtype_size(problem.input.dtype)) {
      case 2: return launch_bed_of_nails_index<uint16_t>(problem, dy, dx, exec);
      case 4: return launch_bed_of_nails_index<uint32_t>(problem, dy, dx, exec);
      case 8: return launch_bed_of_nails_index<uint64_t>(problem, dy, dx, exec);
      default: break;
    }
    return detail::fail(UPS_STATUS_INTERNAL_ERROR, "unpool backward: unexpected dtype ",
                        static_cast<int>(problem.input.dtype));
  }
  const bool narrow = use_32bit_indexing({&problem.input, &problem.output});
  return dispatch_float_dtype(problem.input.dtype, [&](auto tag) {
    using ElementT = typename decltype(tag)::type;
    return narrow ? launch_nearest<ElementT, int32_t>(problem, dy, dx, exec)
                  : launch_nearest<ElementT, int64_t>(problem, dy, dx, exec);
  });
}

}  // namespace upsample::cuda

// Launcher for pixel shuffle / unshuffle and their gradients (kernel in pixel_shuffle.cuh).
#include <cstdint>

#include "core/dtype.h"
#include "cuda/common/check.cuh"
#include "cuda/common/launch.cuh"
#include "cuda/pixel_shuffle/pixel_shuffle.cuh"
#include "cuda/pixel_shuffle/pixel_shuffle.h"

namespace upsample::cuda {
namespace {

template <typename StorageT, typename IndexT>
upsStatus_t launch(const detail::PixelShuffleProblem& problem, const void* source, void* destination,
                   const ExecContext& exec) {
  PixelShuffleParams<StorageT, IndexT> p;
  p.source = static_cast<const StorageT*>(source);
  p.destination = static_cast<StorageT*>(destination);
  p.packed = make_device_tensor<IndexT>(problem.packed);
  p.spatial = make_device_tensor<IndexT>(problem.spatial);
  p.r = static_cast<IndexT>(problem.factor);
  p.rd = problem.spatial_dims == 3 ? p.r : IndexT(1);
  p.block = p.rd * p.r * p.r;
  p.r_div = FastDivmod<IndexT>(p.r);
  p.rd_div = FastDivmod<IndexT>(p.rd);
  p.block_div = FastDivmod<IndexT>(p.block);
  p.rr_div = FastDivmod<IndexT>(p.r * p.r);
  p.to_spatial = problem.to_spatial;
  // 16-byte stores need whole vectors along the destination's innermost dimension and an
  // aligned destination.
  constexpr int kLanes = 16 / sizeof(StorageT);
  const detail::TensorGeometry& dst = problem.to_spatial ? problem.spatial : problem.packed;
  const int64_t innermost = dst.layout == UPS_LAYOUT_CHANNELS_LAST ? dst.c : dst.extent[2];
  const bool vectorized = innermost % kLanes == 0 && reinterpret_cast<uintptr_t>(destination) % 16 == 0;
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  if (vectorized) {
    p.work = dst.elements() / kLanes;
    UPS_CUDA_CHECK(launch_kernel(pixel_shuffle_kernel<StorageT, IndexT, kLanes>, grid_for(p.work, kThreadsPerBlock),
                                 dim3(kThreadsPerBlock), 0, stream, p));
  } else {
    p.work = dst.elements();
    UPS_CUDA_CHECK(launch_kernel(pixel_shuffle_kernel<StorageT, IndexT, 1>, grid_for(p.work, kThreadsPerBlock),
                                 dim3(kThreadsPerBlock), 0, stream, p));
  }
  return UPS_STATUS_SUCCESS;
}

template <typename StorageT>
upsStatus_t launch_index(const detail::PixelShuffleProblem& problem, const void* source, void* destination,
                         const ExecContext& exec) {
  if (use_32bit_indexing({&problem.packed, &problem.spatial}))
    return launch<StorageT, int32_t>(problem, source, destination, exec);
  return launch<StorageT, int64_t>(problem, source, destination, exec);
}

}  // namespace

upsStatus_t pixel_shuffle(const detail::PixelShuffleProblem& problem, const void* source, void* destination,
                          const ExecContext& exec) {
  // Data movement only: dispatch on the storage width, not the float type.
  switch (detail::dtype_size(problem.packed.dtype)) {
    case 2: return launch_index<uint16_t>(problem, source, destination, exec);
    case 4: return launch_index<uint32_t>(problem, source, destination, exec);
    case 8: return launch_index<uint64_t>(problem, source, destination, exec);
    default: break;
  }
  return detail::fail(UPS_STATUS_INTERNAL_ERROR, "pixel shuffle: unexpected dtype ",
                      static_cast<int>(problem.packed.dtype));
}

}  // namespace upsample::cuda

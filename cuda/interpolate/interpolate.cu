// Launchers for interpolation, forward and backward (kernels in interpolate_kernels.cuh): the
// per-axis rules from the validated problem, the lane count and the index width.
#include <cstdint>

#include "cuda/common/check.cuh"
#include "cuda/common/launch.cuh"
#include "cuda/common/vector.cuh"
#include "cuda/interpolate/interpolate.h"
#include "cuda/interpolate/interpolate_kernels.cuh"

namespace upsample::cuda {
namespace {

bool aligned16(const void* pointer) { return vector_aligned(pointer, 16); }

template <typename CoordT, typename IndexT>
InterpAxis<CoordT, IndexT> make_axis(const detail::InterpolateProblem& problem, int a) {
  InterpAxis<CoordT, IndexT> ax;
  ax.in = static_cast<IndexT>(problem.input.extent[a]);
  ax.out = static_cast<IndexT>(problem.output.extent[a]);
  ax.align_corners = problem.align_corners;
  ax.scale = sizeof(CoordT) == sizeof(double) ? static_cast<CoordT>(problem.scale_f64[a])
                                              : static_cast<CoordT>(problem.scale_f32[a]);
  ax.scale_f32 = problem.scale_f32[a];
  const bool cubic = problem.mode == UPS_INTERPOLATE_BICUBIC;
  // PyTorch's antialias support and inverse scale, in the coordinate type.
  const CoordT half_taps = cubic ? CoordT(2) : CoordT(1);
  ax.support = ax.scale >= CoordT(1) ? half_taps * ax.scale : half_taps;
  ax.invscale = ax.scale >= CoordT(1) ? static_cast<CoordT>(1.0 / static_cast<double>(ax.scale)) : CoordT(1);
  ax.out_div = FastDivmod<int64_t>(problem.output.extent[a]);
  ax.outputs_per_input = static_cast<float>(static_cast<double>(problem.output.extent[a]) /
                                            static_cast<double>(problem.input.extent[a]));
  if (!problem.active[a]) {
    ax.kind = kInterpIdentity;
  } else if (problem.antialias) {
    ax.kind = cubic ? kInterpAntialiasCubic : kInterpAntialiasLinear;
  } else {
    switch (problem.mode) {
      case UPS_INTERPOLATE_NEAREST: ax.kind = kInterpNearest; break;
      case UPS_INTERPOLATE_NEAREST_EXACT: ax.kind = kInterpNearestExact; break;
      case UPS_INTERPOLATE_LINEAR: ax.kind = kInterpLinear; break;
      case UPS_INTERPOLATE_BICUBIC: ax.kind = kInterpCubic; break;
      default: ax.kind = kInterpArea; break;
    }
  }
  return ax;
}

template <typename ElementT, typename IndexT>
upsStatus_t launch(const detail::InterpolateProblem& problem, const void* source, void* destination, bool backward,
                   const ExecContext& exec) {
  using CoordT = typename ElementTraits<ElementT>::AccumT;
  InterpolateParams<ElementT, IndexT> p;
  p.source = static_cast<const ElementT*>(source);
  p.destination = static_cast<ElementT*>(destination);
  p.input = make_device_tensor<IndexT>(problem.input);
  p.output = make_device_tensor<IndexT>(problem.output);
  for (int a = 0; a < 3; ++a) p.axis[a] = make_axis<CoordT, IndexT>(problem, a);
  // Channels-last moves 16 bytes of channels per thread when the channels fill whole vectors and
  // both pointers allow 16-byte accesses; everything else takes one element per thread.
  constexpr int kLanes = 16 / sizeof(ElementT);
  const detail::TensorGeometry& written = backward ? problem.input : problem.output;
  const bool vectorized = problem.input.layout == UPS_LAYOUT_CHANNELS_LAST && problem.input.c % kLanes == 0 &&
                          aligned16(source) && aligned16(destination);
  const auto stream = reinterpret_cast<cudaStream_t>(exec.stream);
  if (vectorized) {
    p.work = written.elements() / kLanes;
    auto kernel = backward ? interpolate_backward_kernel<ElementT, IndexT, kLanes>
                           : interpolate_forward_kernel<ElementT, IndexT, kLanes>;
    UPS_CUDA_CHECK(launch_kernel(kernel, grid_for(p.work, kThreadsPerBlock), dim3(kThreadsPerBlock), 0, stream, p));
  } else {
    p.work = written.elements();
    auto kernel = backward ? interpolate_backward_kernel<ElementT, IndexT, 1>
                           : interpolate_forward_kernel<ElementT, IndexT, 1>;
    UPS_CUDA_CHECK(launch_kernel(kernel, grid_for(p.work, kThreadsPerBlock), dim3(kThreadsPerBlock), 0, stream, p));
  }
  return UPS_STATUS_SUCCESS;
}

upsStatus_t dispatch(const detail::InterpolateProblem& problem, const void* source, void* destination, bool backward,
                     const ExecContext& exec) {
  const bool narrow = use_32bit_indexing({&problem.input, &problem.output});
  return dispatch_float_dtype(problem.input.dtype, [&](auto tag) {
    using ElementT = typename decltype(tag)::type;
    return narrow ? launch<ElementT, int32_t>(problem, source, destination, backward, exec)
                  : launch<ElementT, int64_t>(problem, source, destination, backward, exec);
  });
}

}  // namespace

upsStatus_t interpolate_forward(const detail::InterpolateProblem& problem, const void* x, void* y,
                                const ExecContext& exec) {
  return dispatch(problem, x, y, false, exec);
}

upsStatus_t interpolate_backward(const detail::InterpolateProblem& problem, const void* dy, void* dx,
                                 const ExecContext& exec) {
  return dispatch(problem, dy, dx, true, exec);
}

}  // namespace upsample::cuda

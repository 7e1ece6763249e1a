// The one launch helper. Every kernel launch in the library goes through launch_kernel(), which
// checks the launch and returns its error instead of leaving it for a later call to find. Under
// the emulation layer the same call runs the grid on the CPU.
#pragma once

#include <utility>

#include "platform.cuh"

namespace upsample::cuda {

template <typename... KernelArgs, typename... Args>
cudaError_t launch_kernel(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t dynamic_shared_bytes,
                          cudaStream_t stream, Args&&... args) {
#if defined(UPS_EMULATION)
  const cudaError_t error =
      ups_emu::launch(kernel, grid, block, dynamic_shared_bytes, stream, std::forward<Args>(args)...);
  if (error != cudaSuccess) cudaGetLastError();  // consumed here, as on the nvcc path below
  return error;
#else
  kernel<<<grid, block, dynamic_shared_bytes, stream>>>(std::forward<Args>(args)...);
  return cudaGetLastError();
#endif
}

}  // namespace upsample::cuda

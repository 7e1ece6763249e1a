// Launch configuration and the one launch helper.
//
// NOTE [ Launch configuration ]
// One set of launch constants for every family:
// - kThreadsPerBlock (256): the block size of grid-stride kernels. A family uses its own only
//   with a reason written beside it (the tiled transposed-convolution kernels size their blocks
//   from their tiles).
// - kMaxGridBlocks (2^20): the most blocks any 1-D grid gets. Grid-stride (and block-stride)
//   loops cover the rest; 2^20 blocks keep every SM of any GPU busy for many waves, and more
//   blocks only add scheduling cost.
// - shared_memory_budget(): the device's per-block shared-memory limits, read once per device
//   (cudaDevAttrMaxSharedMemoryPerBlock without an opt-in, ...Optin with one) and cached. A
//   kernel that plans its shared memory plans against these, never against a literal.
// Every kernel launch goes through launch_kernel(), which checks the launch and returns its error
// instead of leaving it for a later call to find. Under the emulation layer the same call runs the
// grid on the CPU.
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

#include "core/status.h"
#include "platform.cuh"

namespace upsample::cuda {

inline constexpr int kThreadsPerBlock = 256;
inline constexpr int64_t kMaxGridBlocks = int64_t{1} << 20;

// A 1-D grid of `blocks` blocks, capped at kMaxGridBlocks and at least 1 (a kernel whose loop
// covers nothing still launches and returns at once).
inline dim3 grid_for_blocks(int64_t blocks) {
  if (blocks > kMaxGridBlocks) blocks = kMaxGridBlocks;
  if (blocks < 1) blocks = 1;
  return dim3(static_cast<unsigned>(blocks));
}

// Grid for a grid-stride loop over `work` items with `threads_per_block` threads per block.
inline dim3 grid_for(int64_t work, int threads_per_block = kThreadsPerBlock) {
  // work / t + (work % t != 0): no work + t - 1 that could overflow near INT64_MAX.
  return grid_for_blocks(work / threads_per_block + (work % threads_per_block != 0 ? 1 : 0));
}

// Per-block shared memory of the current device, in bytes.
struct SharedMemoryBudget {
  int64_t default_bytes = 0;  // usable without an attribute (48 KiB on every supported GPU)
  int64_t optin_bytes = 0;    // usable after cudaFuncSetAttribute(MaxDynamicSharedMemorySize)
};

// Reads the budget of the current device, once per device (NOTE [ Launch configuration ]).
inline upsStatus_t shared_memory_budget(SharedMemoryBudget* budget) {
  constexpr int kCachedDevices = 64;
  // 0: not read yet. Racing first calls read the same attributes and store the same values.
  static std::atomic<int64_t> cached_default[kCachedDevices];
  static std::atomic<int64_t> cached_optin[kCachedDevices];
  int device = 0;
  cudaError_t error = cudaGetDevice(&device);
  if (error != cudaSuccess) {
    cudaGetLastError();
    return detail::fail(UPS_STATUS_CUDA_ERROR, "cudaGetDevice failed: ", cudaGetErrorString(error));
  }
  const bool cacheable = device >= 0 && device < kCachedDevices;
  if (cacheable && cached_default[device].load(std::memory_order_relaxed) > 0) {
    budget->default_bytes = cached_default[device].load(std::memory_order_relaxed);
    budget->optin_bytes = cached_optin[device].load(std::memory_order_relaxed);
    return UPS_STATUS_SUCCESS;
  }
  int default_bytes = 0, optin_bytes = 0;
  error = cudaDeviceGetAttribute(&default_bytes, cudaDevAttrMaxSharedMemoryPerBlock, device);
  if (error == cudaSuccess)
    error = cudaDeviceGetAttribute(&optin_bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (error != cudaSuccess || default_bytes <= 0) {
    cudaGetLastError();
    return detail::fail(UPS_STATUS_CUDA_ERROR, "reading the shared-memory limit of device ", device,
                        " failed: ", cudaGetErrorString(error));
  }
  if (optin_bytes < default_bytes) optin_bytes = default_bytes;
  budget->default_bytes = default_bytes;
  budget->optin_bytes = optin_bytes;
  if (cacheable) {
    cached_optin[device].store(optin_bytes, std::memory_order_relaxed);
    cached_default[device].store(default_bytes, std::memory_order_relaxed);
  }
  return UPS_STATUS_SUCCESS;
}

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

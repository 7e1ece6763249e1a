// Declarations shared by the emulation layer's own .cpp files (not for kernel or launcher code).
#pragma once

#include "emu/emu_runtime.h"

namespace ups_emu::detail {

// The emulated device: an sm_90 H100 (SXM5 80 GB).
inline constexpr int kComputeMajor = 9;
inline constexpr int kComputeMinor = 0;
inline constexpr int kMultiprocessorCount = 132;
inline constexpr int kMaxThreadsPerBlock = 1024;
inline constexpr int kMaxBlockDimX = 1024;
inline constexpr int kMaxBlockDimY = 1024;
inline constexpr int kMaxBlockDimZ = 64;
inline constexpr int kMaxGridDimX = 2147483647;
inline constexpr int kMaxGridDimY = 65535;
inline constexpr int kMaxGridDimZ = 65535;
inline constexpr int kWarpSize = 32;
inline constexpr int kMaxThreadsPerMultiprocessor = 2048;
inline constexpr int kMaxBlocksPerMultiprocessor = 32;
inline constexpr int kRegistersPerBlock = 65536;
inline constexpr int kRegistersPerMultiprocessor = 65536;
inline constexpr int kSharedPerBlockDefault = 48 * 1024;     // without opting in
inline constexpr int kSharedPerBlockOptin = 227 * 1024;      // 232448
inline constexpr int kSharedPerMultiprocessor = 228 * 1024;  // 233472
inline constexpr int kReservedSharedPerBlock = 1024;
inline constexpr int kL2CacheBytes = 50 * 1024 * 1024;
inline constexpr int kTotalConstantMemory = 64 * 1024;
inline constexpr int kMemoryBusWidth = 5120;
inline constexpr int kClockRateKHz = 1980000;
inline constexpr int kMemoryClockRateKHz = 2619000;
inline constexpr const char* kDeviceName = "upsample emulated device (sm_90)";

// Records a failing status as the calling host thread's last error (cudaGetLastError) and
// returns it. cudaSuccess and cudaErrorNotReady are returned without being recorded.
cudaError_t record_error(cudaError_t error);

// Whether `stream` is 0, cudaStreamLegacy, cudaStreamPerThread or a live created stream.
bool stream_is_valid(cudaStream_t stream);

// The dynamic shared memory limit of `kernel` (cudaFuncAttributeMaxDynamicSharedMemorySize).
int kernel_max_dynamic_shared(const void* kernel);

// The checks a launch passes before it runs (or before stream capture records it): launch from
// device code, kernel, configuration, stream, dynamic shared memory. Records the error it returns.
cudaError_t check_launch(const void* kernel, dim3 grid, dim3 block, size_t dynamic_shared_bytes, cudaStream_t stream,
                         ThreadEntry entry);

}  // namespace ups_emu::detail

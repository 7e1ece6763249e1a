// Runtime services of the CUDA backend: device detection, pointer classification, workspace
// memory and stream synchronization.
#include "cuda/runtime.h"

#include "cuda/common/check.cuh"

namespace upsample::cuda {

bool device_available(const char** why) {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) {
    cudaGetLastError();  // not sticky, but leave no trace for the caller
    *why = cudaGetErrorString(error);
    return false;
  }
  if (count == 0) {
    *why = "no CUDA device is visible to this process";
    return false;
  }
  const int compute_capability = current_compute_capability();
  if (compute_capability == 0) {
    *why = "the current CUDA device cannot be queried";
    return false;
  }
  // sm_70/72 (Volta) have major 7 too, but CUDA 13 builds nothing for them: compare both parts.
  if (compute_capability < 75) {
    *why = "the current CUDA device is older than sm_75, the oldest architecture upsample is built for";
    return false;
  }
  *why = "";
  return true;
}

int current_compute_capability() {
  int device = 0, major = 0, minor = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess) {
    cudaGetLastError();  // leave no trace for the caller
    return 0;
  }
  return major * 10 + minor;
}

int current_sm_count() {
  int device = 0, count = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

MemoryKind locate_pointer(const void* pointer) {
  cudaPointerAttributes attributes{};
  const cudaError_t error = cudaPointerGetAttributes(&attributes, pointer);
  if (error != cudaSuccess) {
    // No driver or no device: nothing can be device memory.
    cudaGetLastError();
    return MemoryKind::kUnregisteredHost;
  }
  switch (attributes.type) {
    case cudaMemoryTypeDevice: return MemoryKind::kDevice;
    case cudaMemoryTypeManaged: return MemoryKind::kManaged;
    case cudaMemoryTypeHost: return MemoryKind::kPinnedHost;
    default: return MemoryKind::kUnregisteredHost;
  }
}

upsStatus_t allocate_workspace(size_t bytes, void** pointer) {
  const cudaError_t error = cudaMalloc(pointer, bytes);
  if (error != cudaSuccess) {
    cudaGetLastError();
    *pointer = nullptr;
    return detail::fail(UPS_STATUS_ALLOC_FAILED, "workspace: cudaMalloc of ", bytes, " bytes failed: ",
                        cudaGetErrorString(error));
  }
  return UPS_STATUS_SUCCESS;
}

void free_workspace(void* pointer) { cudaFree(pointer); }

upsStatus_t synchronize_stream(upsStream_t stream) {
  UPS_CUDA_CHECK(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream)));
  return UPS_STATUS_SUCCESS;
}

upsStatus_t stream_capturing(upsStream_t stream, bool* capturing) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  const cudaError_t error = cudaStreamIsCapturing(reinterpret_cast<cudaStream_t>(stream), &status);
  if (error == cudaErrorStreamCaptureImplicit) {
    // The legacy stream while a blocking stream captures: anything on it would join the capture.
    cudaGetLastError();
    *capturing = true;
    return UPS_STATUS_SUCCESS;
  }
  UPS_CUDA_CHECK(error);
  *capturing = status != cudaStreamCaptureStatusNone;
  return UPS_STATUS_SUCCESS;
}

upsStatus_t stream_idle(upsStream_t stream, bool* idle) {
  const cudaError_t error = cudaStreamQuery(reinterpret_cast<cudaStream_t>(stream));
  if (error == cudaErrorNotReady) {
    cudaGetLastError();
    *idle = false;
    return UPS_STATUS_SUCCESS;
  }
  UPS_CUDA_CHECK(error);
  *idle = true;
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::cuda

// Shared test fixtures: buffers and handles on either backend, the skip without a GPU, the
// 64-bit index switch, and the (handle, backend) pair every op runner takes.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "cuda/common/platform.cuh"
#include "tests/common/compare.h"
#include "tests/common/tensor.h"
#include "upsample/upsample.h"

#if defined(UPS_EMULATION)
#include "core/index_width.h"  // set_force_64bit_indexing: reachable in the static emulated library only
#endif

namespace upsample::test {

// ---------------------------------------------------------------------------------------------
// Buffers on a backend: host memory for REFERENCE, device memory for CUDA.
// ---------------------------------------------------------------------------------------------
class Buffer {
 public:
  Buffer(upsBackend_t backend, size_t bytes) : backend_(backend), bytes_(bytes) {
    if (bytes_ == 0) return;
    if (backend_ == UPS_BACKEND_CUDA) {
      if (cudaMalloc(&pointer_, bytes_) != cudaSuccess) pointer_ = nullptr;
    } else {
      host_.resize(bytes_ + 64);
      pointer_ = host_.data();
    }
  }
  Buffer(upsBackend_t backend, const HostTensor& t) : Buffer(backend, t.bytes.size()) { upload(t); }
  ~Buffer() {
    if (backend_ == UPS_BACKEND_CUDA && pointer_ != nullptr) cudaFree(pointer_);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* get() const { return pointer_; }
  void upload(const HostTensor& t) {
    if (bytes_ == 0) return;
    if (backend_ == UPS_BACKEND_CUDA)
      cudaMemcpy(pointer_, t.bytes.data(), bytes_, cudaMemcpyHostToDevice);
    else
      std::memcpy(pointer_, t.bytes.data(), bytes_);
  }
  void download(HostTensor* t) const {
    if (bytes_ == 0) return;
    if (backend_ == UPS_BACKEND_CUDA) {
      cudaDeviceSynchronize();
      cudaMemcpy(t->bytes.data(), pointer_, bytes_, cudaMemcpyDeviceToHost);
    } else {
      std::memcpy(t->bytes.data(), pointer_, bytes_);
    }
  }

 private:
  upsBackend_t backend_;
  size_t bytes_;
  void* pointer_ = nullptr;
  std::vector<unsigned char> host_;
};

// A handle for a backend, or a skip when the CUDA backend has no device here.
class HandleGuard {
 public:
  explicit HandleGuard(upsBackend_t backend) { status_ = upsCreate(&handle_, backend); }
  ~HandleGuard() {
    if (handle_ != nullptr) upsDestroy(handle_);
  }
  upsHandle_t get() const { return handle_; }
  upsStatus_t status() const { return status_; }

 private:
  upsHandle_t handle_ = nullptr;
  upsStatus_t status_ = UPS_STATUS_SUCCESS;
};

#define UPS_SKIP_WITHOUT_CUDA()                                                                      \
  do {                                                                                               \
    if (!upsCudaDeviceAvailable())                                                                   \
      GTEST_SKIP() << "no CUDA device on this machine: the CUDA backend runs on the emulated suite " \
                      "(label 'emulated') here, and on a GPU with label 'gpu'";                      \
  } while (0)

// A handle for one test, or a fatal failure.
#define UPS_HANDLE(name, backend)              \
  ::upsample::test::HandleGuard name(backend); \
  UPS_ASSERT_OK(name.status())

#define UPS_REFERENCE_HANDLE(name) UPS_HANDLE(name, UPS_BACKEND_REFERENCE)

// Where an op runs: a handle and the backend whose memory its buffers live in.
struct Target {
  upsHandle_t handle;
  upsBackend_t backend;
};

// A CUDA handle and a reference handle, for the CUDA-vs-reference suites.
class Backends {
 public:
  Backends() : cuda_(UPS_BACKEND_CUDA), reference_(UPS_BACKEND_REFERENCE) {}
  Target cuda() const { return {cuda_.get(), UPS_BACKEND_CUDA}; }
  Target reference() const { return {reference_.get(), UPS_BACKEND_REFERENCE}; }

 private:
  HandleGuard cuda_;
  HandleGuard reference_;
};

// Whether kernels run on the 64-bit index path in this scope. Only the static emulated library
// exposes the switch; against libupsample.so it does nothing (the cases still run, on the path
// the sizes select).
class IndexWidth {
 public:
  explicit IndexWidth(bool force64) {
#if defined(UPS_EMULATION)
    upsample::detail::set_force_64bit_indexing(force64);
#else
    (void)force64;
#endif
  }
  ~IndexWidth() {
#if defined(UPS_EMULATION)
    upsample::detail::set_force_64bit_indexing(false);
#endif
  }
  IndexWidth(const IndexWidth&) = delete;
  IndexWidth& operator=(const IndexWidth&) = delete;
};

// Runs of a deterministic path compared bit for bit: on a GPU, where scheduling varies from run to
// run, 50; under the emulation, which is sequential (repeats show a wrong order, not races), 3.
#if defined(UPS_EMULATION)
inline constexpr int kDeterminismRepeats = 3;
#else
inline constexpr int kDeterminismRepeats = 50;
#endif

}  // namespace upsample::test

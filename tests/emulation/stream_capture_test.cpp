// Stream capture and graphs under the emulation layer (NOTE [ Stream capture under the emulation ]
// in cuda/emu/emu_runtime.cpp): what is recorded and replayed, and what the CUDA runtime refuses
// during capture, refused the same way (error code, and the capture invalidated).
//
// Build: part of emulation_layer_tests (g++ -std=c++17 -DUPS_EMULATION -I cuda -I <toolkit>/include).
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "common/platform.cuh"

namespace {

__global__ void add_kernel(int* data, int n, int delta) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) data[i] += delta;
}

__global__ void scale_kernel(int* data, int n, int factor) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) data[i] *= factor;
}

struct CaptureStream {
  explicit CaptureStream(unsigned flags = cudaStreamNonBlocking) {
    EXPECT_EQ(cudaStreamCreateWithFlags(&stream, flags), cudaSuccess);
  }
  ~CaptureStream() { cudaStreamDestroy(stream); }
  cudaStream_t stream = nullptr;
};

std::vector<int> download(const int* device, int n) {
  std::vector<int> host(static_cast<size_t>(n));
  EXPECT_EQ(cudaMemcpy(host.data(), device, sizeof(int) * n, cudaMemcpyDeviceToHost), cudaSuccess);
  return host;
}

TEST(EmuStreamCapture, LaunchesCopiesAndFillsAreRecordedThenReplayedInOrder) {
  constexpr int n = 100;
  int* d = nullptr;
  int* staging = nullptr;
  ASSERT_EQ(cudaMalloc(&d, sizeof(int) * n), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&staging, sizeof(int) * n), cudaSuccess);
  CaptureStream s;
  std::vector<int> host(n, 3);
  ASSERT_EQ(cudaMemcpy(staging, host.data(), sizeof(int) * n, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemset(d, 0, sizeof(int) * n), cudaSuccess);

  ASSERT_EQ(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  ASSERT_EQ(cudaStreamIsCapturing(s.stream, &status), cudaSuccess);
  EXPECT_EQ(status, cudaStreamCaptureStatusActive);
  // d = staging; d += 2; d *= 5; then a fill of the last 4 ints with 0x01 bytes.
  ASSERT_EQ(cudaMemcpyAsync(d, staging, sizeof(int) * n, cudaMemcpyDeviceToDevice, s.stream), cudaSuccess);
  ASSERT_EQ(ups_emu::launch(add_kernel, dim3(2), dim3(64), 0, s.stream, d, n, 2), cudaSuccess);
  ASSERT_EQ(ups_emu::launch(scale_kernel, dim3(2), dim3(64), 0, s.stream, d, n, 5), cudaSuccess);
  ASSERT_EQ(cudaMemsetAsync(d + n - 1, 1, sizeof(int), s.stream), cudaSuccess);
  // Nothing ran yet: d is still zero.
  EXPECT_EQ(download(d, n)[0], 0) << "a captured launch ran at capture";
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(s.stream, &graph), cudaSuccess);
  ASSERT_NE(graph, nullptr);
  ASSERT_EQ(cudaStreamIsCapturing(s.stream, &status), cudaSuccess);
  EXPECT_EQ(status, cudaStreamCaptureStatusNone);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphDestroy(graph), cudaSuccess) << "an instantiated graph outlives its graph";

  for (int replay = 0; replay < 3; ++replay) {
    // New input between replays: the graph reads the buffers' current contents.
    for (int i = 0; i < n; ++i) host[static_cast<size_t>(i)] = i + replay;
    ASSERT_EQ(cudaMemcpy(staging, host.data(), sizeof(int) * n, cudaMemcpyHostToDevice), cudaSuccess);
    ASSERT_EQ(cudaGraphLaunch(exec, s.stream), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(s.stream), cudaSuccess);
    const std::vector<int> out = download(d, n);
    for (int i = 0; i < n - 1; ++i) ASSERT_EQ(out[static_cast<size_t>(i)], (i + replay + 2) * 5) << i;
    EXPECT_EQ(out[n - 1], 0x01010101);
  }
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaErrorInvalidValue);
  cudaGetLastError();
  cudaFree(d);
  cudaFree(staging);
}

// What the runtime refuses during capture, and that each refusal invalidates the capture.
TEST(EmuStreamCapture, SynchronizationAndAllocationAreRefusedAndInvalidate) {
  CaptureStream s;
  int* d = nullptr;
  ASSERT_EQ(cudaMalloc(&d, 64), cudaSuccess);
  struct Refusal {
    const char* what;
    std::function<cudaError_t()> call;
    cudaError_t expected;
  };
  const Refusal refusals[] = {
      {"cudaStreamSynchronize", [&] { return cudaStreamSynchronize(s.stream); }, cudaErrorStreamCaptureUnsupported},
      {"cudaStreamQuery", [&] { return cudaStreamQuery(s.stream); }, cudaErrorStreamCaptureUnsupported},
      {"cudaDeviceSynchronize", [] { return cudaDeviceSynchronize(); }, cudaErrorStreamCaptureUnsupported},
      {"cudaMalloc",
       [] {
         void* p = nullptr;
         return cudaMalloc(&p, 16);
       },
       cudaErrorStreamCaptureUnsupported},
      {"cudaFree", [&] { return cudaFree(d); }, cudaErrorStreamCaptureUnsupported},
      {"cudaMallocHost",
       [] {
         void* p = nullptr;
         return cudaMallocHost(&p, 16);
       },
       cudaErrorStreamCaptureUnsupported},
  };
  for (const Refusal& r : refusals) {
    SCOPED_TRACE(r.what);
    ASSERT_EQ(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeGlobal), cudaSuccess);
    EXPECT_EQ(r.call(), r.expected);
    EXPECT_EQ(cudaGetLastError(), r.expected);
    cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
    ASSERT_EQ(cudaStreamIsCapturing(s.stream, &status), cudaSuccess);
    EXPECT_EQ(status, cudaStreamCaptureStatusInvalidated);
    cudaGraph_t graph = reinterpret_cast<cudaGraph_t>(&status);
    EXPECT_EQ(cudaStreamEndCapture(s.stream, &graph), cudaErrorStreamCaptureInvalidated);
    EXPECT_EQ(graph, nullptr);
    cudaGetLastError();
  }
  // Relaxed mode allows allocation (and the capture stays valid).
  ASSERT_EQ(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeRelaxed), cudaSuccess);
  void* p = nullptr;
  EXPECT_EQ(cudaMalloc(&p, 16), cudaSuccess);
  EXPECT_EQ(cudaFree(p), cudaSuccess);
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(s.stream, &graph), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  // Work is still refused nothing after the capture ends.
  EXPECT_EQ(cudaStreamSynchronize(s.stream), cudaSuccess);
  EXPECT_EQ(cudaFree(d), cudaSuccess);
}

TEST(EmuStreamCapture, LegacyStreamWorkDuringCaptureOfABlockingStreamIsImplicit) {
  CaptureStream blocking(cudaStreamDefault);
  int* d = nullptr;
  ASSERT_EQ(cudaMalloc(&d, 64), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(blocking.stream, cudaStreamCaptureModeRelaxed), cudaSuccess);
  EXPECT_EQ(cudaMemset(d, 0, 64), cudaErrorStreamCaptureImplicit);
  EXPECT_EQ(ups_emu::launch(add_kernel, dim3(1), dim3(16), 0, nullptr, d, 16, 1), cudaErrorStreamCaptureImplicit);
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  EXPECT_EQ(cudaStreamIsCapturing(nullptr, &status), cudaErrorStreamCaptureImplicit);
  cudaGraph_t graph = nullptr;
  EXPECT_EQ(cudaStreamEndCapture(blocking.stream, &graph), cudaErrorStreamCaptureInvalidated);
  cudaGetLastError();
  // A non-blocking stream's capture does not involve the legacy stream.
  CaptureStream nonblocking;
  ASSERT_EQ(cudaStreamBeginCapture(nonblocking.stream, cudaStreamCaptureModeRelaxed), cudaSuccess);
  EXPECT_EQ(cudaMemset(d, 0, 64), cudaSuccess);
  EXPECT_EQ(cudaStreamEndCapture(nonblocking.stream, &graph), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  cudaFree(d);
}

TEST(EmuStreamCapture, MisuseIsReported) {
  CaptureStream s;
  cudaGraph_t graph = nullptr;
  // Built-in streams cannot be captured; ending a capture that never began is an illegal state.
  EXPECT_EQ(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeGlobal), cudaErrorStreamCaptureUnsupported);
  EXPECT_EQ(cudaStreamEndCapture(s.stream, &graph), cudaErrorIllegalState);
  ASSERT_EQ(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeGlobal), cudaErrorIllegalState);
  // A launch with a bad configuration fails at capture, as at launch.
  EXPECT_EQ(ups_emu::launch(add_kernel, dim3(1), dim3(2048), 0, s.stream, static_cast<int*>(nullptr), 0, 1),
            cudaErrorInvalidConfiguration);
  cudaGetLastError();
  // Another thread may not end a global-mode capture.
  cudaError_t from_other = cudaSuccess;
  std::thread other([&] { from_other = cudaStreamEndCapture(s.stream, &graph); });
  other.join();
  EXPECT_EQ(from_other, cudaErrorStreamCaptureWrongThread);
  ASSERT_EQ(cudaStreamEndCapture(s.stream, &graph), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  // A graph launched into a capture becomes part of it.
  int* d = nullptr;
  ASSERT_EQ(cudaMalloc(&d, sizeof(int)), cudaSuccess);
  ASSERT_EQ(cudaMemset(d, 0, sizeof(int)), cudaSuccess);
  cudaGraph_t outer = nullptr;
  ASSERT_EQ(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  ASSERT_EQ(ups_emu::launch(add_kernel, dim3(1), dim3(1), 0, s.stream, d, 1, 7), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, s.stream), cudaSuccess);  // empty graph
  ASSERT_EQ(ups_emu::launch(add_kernel, dim3(1), dim3(1), 0, s.stream, d, 1, 1), cudaSuccess);
  ASSERT_EQ(cudaStreamEndCapture(s.stream, &outer), cudaSuccess);
  cudaGraphExec_t outer_exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&outer_exec, outer, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(outer_exec, s.stream), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(outer_exec, s.stream), cudaSuccess);
  EXPECT_EQ(download(d, 1)[0], 16);
  EXPECT_EQ(cudaGraphExecDestroy(outer_exec), cudaSuccess);
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(outer), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  EXPECT_EQ(cudaGraphLaunch(exec, s.stream), cudaErrorInvalidValue);
  cudaGetLastError();
  cudaFree(d);
}

}  // namespace

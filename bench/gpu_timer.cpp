#include "gpu_timer.h"

#include <exception>

#include "cuda_check.h"

namespace upsample::bench {

// --- EventTimer ---------------------------------------------------------------------------------
EventTimer::EventTimer(cudaStream_t stream) : stream_(stream) {
  BENCH_CUDA_CHECK(cudaEventCreate(&start_));
  BENCH_CUDA_CHECK(cudaEventCreate(&stop_));
}

EventTimer::~EventTimer() {
  cudaEventDestroy(start_);
  cudaEventDestroy(stop_);
}

void EventTimer::start() { BENCH_CUDA_CHECK(cudaEventRecord(start_, stream_)); }
void EventTimer::stop() { BENCH_CUDA_CHECK(cudaEventRecord(stop_, stream_)); }

double EventTimer::seconds() {
  BENCH_CUDA_CHECK(cudaEventSynchronize(stop_));
  float ms = 0;
  BENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
  return static_cast<double>(ms) * 1e-3;
}

// --- L2Flusher ----------------------------------------------------------------------------------
L2Flusher::L2Flusher(cudaStream_t stream) : stream_(stream) {
  int device = 0, l2 = 0;
  BENCH_CUDA_CHECK(cudaGetDevice(&device));
  BENCH_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device));
  l2_bytes_ = static_cast<size_t>(l2);
  scratch_ = Buffer(Memory::kDevice, 2 * l2_bytes_);
}

void L2Flusher::flush() {
  if (scratch_.bytes() != 0) BENCH_CUDA_CHECK(cudaMemsetAsync(scratch_.get(), 0, scratch_.bytes(), stream_));
}

// --- CapturedGraph ------------------------------------------------------------------------------
CapturedGraph::~CapturedGraph() { reset(); }

void CapturedGraph::reset() {
  if (exec_ != nullptr) cudaGraphExecDestroy(exec_);
  if (graph_ != nullptr) cudaGraphDestroy(graph_);
  exec_ = nullptr;
  graph_ = nullptr;
}

bool CapturedGraph::capture(cudaStream_t stream, int launches, const std::function<void(int)>& enqueue,
                            std::string* why) {
  reset();
  // Relaxed: the library's host-side checks (pointer attributes) stay legal during capture; only
  // work on the capturing stream is recorded.
  const cudaError_t begin = cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed);
  if (begin != cudaSuccess) {
    cudaGetLastError();
    *why = std::string("cudaStreamBeginCapture: ") + cudaGetErrorString(begin);
    return false;
  }
  std::string failure;
  try {
    for (int k = 0; k < launches; ++k) enqueue(k);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  const cudaError_t end = cudaStreamEndCapture(stream, &graph_);  // always ends the capture
  if (failure.empty() && end != cudaSuccess) failure = std::string("cudaStreamEndCapture: ") + cudaGetErrorString(end);
  if (failure.empty()) {
    const cudaError_t instantiate = cudaGraphInstantiate(&exec_, graph_, 0);
    if (instantiate != cudaSuccess) failure = std::string("cudaGraphInstantiate: ") + cudaGetErrorString(instantiate);
  }
  if (failure.empty()) return true;
  cudaGetLastError();  // capture errors are not sticky; leave none for the next call to find
  reset();
  *why = failure;
  return false;
}

void CapturedGraph::launch(cudaStream_t stream) { BENCH_CUDA_CHECK(cudaGraphLaunch(exec_, stream)); }

}  // namespace upsample::bench

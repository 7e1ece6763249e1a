// GPU timing primitives: CUDA-event intervals, an L2 flush, and a CUDA graph of many launches.
#pragma once

#include <cuda_runtime_api.h>

#include <functional>
#include <string>

#include "tensors.h"

namespace upsample::bench {

// The GPU time between two points of a stream, from CUDA events (resolution ~0.5 us).
class EventTimer {
 public:
  explicit EventTimer(cudaStream_t stream);
  ~EventTimer();
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  void start();
  void stop();
  double seconds();  // waits for the stop event

 private:
  cudaStream_t stream_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// Evicts whatever a previous launch left in L2 by writing a buffer twice the L2 size (cudaMemset
// goes through L2 like any store), so the next launch reads its inputs from DRAM as a layer of a
// real network would.
class L2Flusher {
 public:
  explicit L2Flusher(cudaStream_t stream);
  void flush();
  size_t l2_bytes() const { return l2_bytes_; }

 private:
  cudaStream_t stream_;
  size_t l2_bytes_ = 0;
  Buffer scratch_;
};

// A CUDA graph captured from the stream: `launches` calls of enqueue(k), k = 0 .. launches-1, run
// back to back by one cudaGraphLaunch, so host launch gaps do not show in the timing.
class CapturedGraph {
 public:
  CapturedGraph() = default;
  ~CapturedGraph();
  CapturedGraph(const CapturedGraph&) = delete;
  CapturedGraph& operator=(const CapturedGraph&) = delete;

  // Returns false (with *why) when the work cannot be captured; the stream is usable again then.
  bool capture(cudaStream_t stream, int launches, const std::function<void(int)>& enqueue, std::string* why);
  void launch(cudaStream_t stream);

 private:
  void reset();
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace upsample::bench

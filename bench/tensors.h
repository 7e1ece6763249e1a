// The memory a row works on: every tensor of a problem, on the host (REFERENCE backend) or the
// device, in one or more identical copies ("sets"). Timed launches rotate through the sets so that
// together they exceed L2 and no launch finds its inputs already cached (see measure.h). All
// allocation and filling happens here, before any timing.
#pragma once

#include <cuda_runtime_api.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "problems.h"

namespace upsample::bench {

enum class Memory { kHost, kDevice };

// One allocation; move-only. Host memory is plain heap memory (what the REFERENCE backend takes).
class Buffer {
 public:
  Buffer() = default;
  Buffer(Memory memory, size_t bytes);
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* get() const { return pointer_; }
  size_t bytes() const { return bytes_; }

 private:
  void release();
  Memory memory_ = Memory::kHost;
  size_t bytes_ = 0;
  void* pointer_ = nullptr;
};

// Pointers of one set, by forward role (NOTE [ Gradient tensors ] in problems.h: a gradient's dy
// is in y, its dx in x, ...); null where the op has no such tensor.
struct TensorSet {
  void* x = nullptr;
  void* w = nullptr;
  void* y = nullptr;
  void* indices = nullptr;  // I64 or I32
  void* bias = nullptr;
};

class ProblemTensors {
 public:
  // Allocates one set of the problem's operands (operands_of(problem.op)) and fills it: each
  // data input uniform in [-1, 1) from `seed` and its role (the same values on host and device),
  // the output poisoned with NaN so an unwritten element fails validation, and switch indices
  // from a max-pool (window = stride = scale) of another random y-shaped tensor, computed by
  // upsample's max-pool on the backend that matches `memory`. Device work is enqueued on `stream`
  // and finished before the constructor returns.
  ProblemTensors(const Problem& problem, const OpDescriptors& descriptors, Memory memory, uint64_t seed,
                 cudaStream_t stream);

  // Adds copies of set 0 until there are `count` sets (device-to-device or host copies).
  void grow(int count);
  int count() const { return static_cast<int>(sets_.size()); }
  TensorSet set(int index) const;
  size_t set_bytes() const { return set_bytes_; }
  Memory memory() const { return memory_; }

  // Fills the output of a set with NaN again (after something other than the op under test wrote it).
  void poison_output(int index);
  // The output of a set, as host bytes (waits for the stream first).
  std::vector<unsigned char> output_bytes(int index) const;

 private:
  using Set = std::array<Buffer, kTensorCount>;  // indexed by Tensor; empty where unused
  Set allocate_set() const;
  const Buffer& output(int index) const;

  OpDescriptors descriptors_;
  std::vector<Tensor> used_;  // the operands: inputs, then the output
  Tensor output_ = Tensor::kY;
  Memory memory_;
  cudaStream_t stream_;
  size_t set_bytes_ = 0;
  std::vector<Set> sets_;
};

}  // namespace upsample::bench

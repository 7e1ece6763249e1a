// The memory a row works on: every tensor of a problem, on the host (REFERENCE backend) or the
// device, in one or more identical copies ("sets"). Timed launches rotate through the sets so that
// together they exceed L2 and no launch finds its inputs already cached (see measure.h). All
// allocation and filling happens here, before any timing.
#pragma once

#include <cuda_runtime_api.h>

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

// Pointers of one set; w and indices are null where the op has none.
struct TensorSet {
  void* x = nullptr;
  void* w = nullptr;
  void* y = nullptr;
  int64_t* indices = nullptr;
};

class ProblemTensors {
 public:
  // Allocates one set and fills it: x and w uniform in [-1, 1) from `seed` (the same values on
  // host and device), y poisoned with NaN so an unwritten element fails validation, and for
  // max-unpooling the switches of a max-pool (window = stride = scale) of another random tensor,
  // computed by upsample's max-pool on the backend that matches `memory`. Device work is enqueued
  // on `stream` and finished before the constructor returns.
  ProblemTensors(const Problem& problem, const OpDescriptors& descriptors, Memory memory, uint64_t seed,
                 cudaStream_t stream);

  // Adds copies of set 0 until there are `count` sets (device-to-device or host copies).
  void grow(int count);
  int count() const { return static_cast<int>(sets_.size()); }
  TensorSet set(int index) const;
  size_t set_bytes() const { return set_bytes_; }
  Memory memory() const { return memory_; }

  // Fills y of a set with NaN again (after something other than the op under test wrote it).
  void poison_output(int index);
  // y of a set, as host bytes (waits for the stream first).
  std::vector<unsigned char> output_bytes(int index) const;

 private:
  struct Set {
    Buffer x, w, y, indices;
  };
  Set allocate_set() const;

  OpDescriptors descriptors_;
  Memory memory_;
  cudaStream_t stream_;
  size_t set_bytes_ = 0;
  std::vector<Set> sets_;
};

}  // namespace upsample::bench

#include "tensors.h"

#include <cstring>
#include <new>
#include <string>
#include <utility>

#include "cuda_check.h"
#include "random_fill.h"
#include "upsample/upsample.hpp"

namespace upsample::bench {
namespace {

// Distinct streams of values per tensor role, from one seed.
enum : uint64_t { kSeedX = 0x1000, kSeedW = 0x2000, kSeedPrePool = 0x3000, kSeedY = 0x4000 };

uint64_t seed_of(Tensor tensor) {
  switch (tensor) {
    case Tensor::kW:
      return kSeedW;
    case Tensor::kY:
      return kSeedY;
    default:
      return kSeedX;  // x; no other data tensor is ever an input
  }
}

size_t slot(Tensor tensor) { return static_cast<size_t>(tensor); }

size_t bytes_of(const upsTensorDesc_t& desc) { return static_cast<size_t>(byte_count(desc)); }

}  // namespace

// --- Buffer ------------------------------------------------------------------------------------
Buffer::Buffer(Memory memory, size_t bytes) : memory_(memory), bytes_(bytes) {
  if (bytes == 0) return;
  if (memory == Memory::kDevice) {
    const cudaError_t error = cudaMalloc(&pointer_, bytes);
    if (error != cudaSuccess) {
      pointer_ = nullptr;
      throw_cuda_error(error, ("cudaMalloc of " + std::to_string(bytes) + " bytes").c_str(), __FILE__, __LINE__);
    }
  } else {
    pointer_ = ::operator new(bytes);  // aligned for any element type
  }
}

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& other) noexcept
    : memory_(other.memory_),
      bytes_(std::exchange(other.bytes_, 0)),
      pointer_(std::exchange(other.pointer_, nullptr)) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    release();
    memory_ = other.memory_;
    bytes_ = std::exchange(other.bytes_, 0);
    pointer_ = std::exchange(other.pointer_, nullptr);
  }
  return *this;
}

void Buffer::release() {
  if (pointer_ == nullptr) return;
  if (memory_ == Memory::kDevice)
    cudaFree(pointer_);
  else
    ::operator delete(pointer_);
  pointer_ = nullptr;
}

// --- ProblemTensors -------------------------------------------------------------------------------
ProblemTensors::ProblemTensors(const Problem& problem, const OpDescriptors& descriptors, Memory memory, uint64_t seed,
                               cudaStream_t stream)
    : descriptors_(descriptors), memory_(memory), stream_(stream) {
  const Operands operands = operands_of(problem.op);
  used_ = operands.all();
  output_ = operands.output;
  for (Tensor tensor : used_) set_bytes_ += bytes_of(desc_of(descriptors, tensor));
  Set set = allocate_set();

  const upsDataType_t dtype = problem.dtype;
  auto fill = [&](void* data, const upsTensorDesc_t& desc, uint64_t role) {
    if (memory == Memory::kDevice)
      fill_uniform_device(dtype, data, element_count(desc), seed ^ role, stream);
    else
      fill_uniform_host(dtype, data, element_count(desc), seed ^ role);
  };
  Buffer pre_pool, pooled;  // live until poison_output below synchronizes the stream
  for (Tensor input : operands.inputs) {
    if (input != Tensor::kIndices) {
      fill(set[slot(input)].get(), desc_of(descriptors, input), seed_of(input));
      continue;
    }
    // Switches as a network makes them: max-pool a random tensor of y's shape with the same window.
    // The pooled values themselves are not needed; the data inputs stay independent random tensors.
    pre_pool = Buffer(memory, bytes_of(descriptors.y));
    pooled = Buffer(memory, bytes_of(descriptors.x));
    fill(pre_pool.get(), descriptors.y, kSeedPrePool);
    Handle pool_handle(memory == Memory::kDevice ? UPS_BACKEND_CUDA : UPS_BACKEND_REFERENCE);
    pool_handle.set_stream(reinterpret_cast<upsStream_t>(stream));
    check(upsMaxPoolForward(pool_handle.get(), &descriptors.pool, &descriptors.y, pre_pool.get(), &descriptors.x,
                            pooled.get(), &descriptors.indices, set[slot(input)].get()));
  }
  sets_.push_back(std::move(set));
  poison_output(0);  // synchronizes the stream: also before pre_pool is freed
}

ProblemTensors::Set ProblemTensors::allocate_set() const {
  Set set;
  for (Tensor tensor : used_) set[slot(tensor)] = Buffer(memory_, bytes_of(desc_of(descriptors_, tensor)));
  return set;
}

void ProblemTensors::grow(int count) {
  while (static_cast<int>(sets_.size()) < count) {
    Set copy = allocate_set();
    const Set& first = sets_.front();
    for (Tensor tensor : used_) {
      const Buffer& from = first[slot(tensor)];
      if (from.bytes() == 0) continue;
      if (memory_ == Memory::kDevice)
        BENCH_CUDA_CHECK(
            cudaMemcpyAsync(copy[slot(tensor)].get(), from.get(), from.bytes(), cudaMemcpyDeviceToDevice, stream_));
      else
        std::memcpy(copy[slot(tensor)].get(), from.get(), from.bytes());
    }
    sets_.push_back(std::move(copy));
  }
  if (memory_ == Memory::kDevice) BENCH_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

TensorSet ProblemTensors::set(int index) const {
  const Set& s = sets_.at(static_cast<size_t>(index));
  TensorSet view;
  view.x = s[slot(Tensor::kX)].get();
  view.w = s[slot(Tensor::kW)].get();
  view.y = s[slot(Tensor::kY)].get();
  view.indices = s[slot(Tensor::kIndices)].get();
  view.bias = s[slot(Tensor::kBias)].get();
  return view;
}

const Buffer& ProblemTensors::output(int index) const { return sets_.at(static_cast<size_t>(index))[slot(output_)]; }

void ProblemTensors::poison_output(int index) {
  const Buffer& y = output(index);
  // All-ones bytes are NaN in f32, f16 and bf16.
  if (memory_ == Memory::kDevice) {
    BENCH_CUDA_CHECK(cudaMemsetAsync(y.get(), 0xff, y.bytes(), stream_));
    BENCH_CUDA_CHECK(cudaStreamSynchronize(stream_));
  } else {
    std::memset(y.get(), 0xff, y.bytes());
  }
}

std::vector<unsigned char> ProblemTensors::output_bytes(int index) const {
  const Buffer& y = output(index);
  std::vector<unsigned char> bytes(y.bytes());
  if (y.bytes() == 0) return bytes;
  if (memory_ == Memory::kDevice) {
    BENCH_CUDA_CHECK(cudaStreamSynchronize(stream_));
    BENCH_CUDA_CHECK(cudaMemcpy(bytes.data(), y.get(), y.bytes(), cudaMemcpyDeviceToHost));
  } else {
    std::memcpy(bytes.data(), y.get(), y.bytes());
  }
  return bytes;
}

}  // namespace upsample::bench

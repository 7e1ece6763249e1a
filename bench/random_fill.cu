// Hash-based uniform fill on host and device (random_fill.h). One function computes the value for
// both, so the bits agree by construction.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>

#include "cuda_check.h"
#include "random_fill.h"

namespace upsample::bench {
namespace {

// splitmix64 of (seed, index); the top 24 bits become a float in [-1, 1) exactly.
__host__ __device__ inline float uniform_value(uint64_t seed, uint64_t index) {
  uint64_t z = seed + (index + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (2.0f / 16777216.0f) - 1.0f;
}

template <typename T>
__host__ __device__ inline T convert(float v);
template <>
__host__ __device__ inline float convert<float>(float v) {
  return v;
}
template <>
__host__ __device__ inline __half convert<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__host__ __device__ inline __nv_bfloat16 convert<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

template <typename T>
__global__ void fill_uniform_kernel(T* data, int64_t count, uint64_t seed) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += step)
    data[i] = convert<T>(uniform_value(seed, static_cast<uint64_t>(i)));
}

template <typename T>
void fill_host(void* data, int64_t count, uint64_t seed) {
  T* out = static_cast<T*>(data);
  for (int64_t i = 0; i < count; ++i) out[i] = convert<T>(uniform_value(seed, static_cast<uint64_t>(i)));
}

template <typename T>
void fill_device(void* data, int64_t count, uint64_t seed, cudaStream_t stream) {
  constexpr int kThreads = 256;
  const int64_t blocks = std::min<int64_t>((count + kThreads - 1) / kThreads, 65536);  // grid-stride beyond
  fill_uniform_kernel<T><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(static_cast<T*>(data), count, seed);
  BENCH_CUDA_CHECK(cudaGetLastError());
}

void bad_dtype(upsDataType_t dtype) {
  throw std::runtime_error("fill: the benchmark fills f32, f16 and bf16 tensors, got dtype " +
                           std::to_string(static_cast<int>(dtype)));
}

}  // namespace

void fill_uniform_host(upsDataType_t dtype, void* data, int64_t count, uint64_t seed) {
  switch (dtype) {
    case UPS_DTYPE_F32:
      return fill_host<float>(data, count, seed);
    case UPS_DTYPE_F16:
      return fill_host<__half>(data, count, seed);
    case UPS_DTYPE_BF16:
      return fill_host<__nv_bfloat16>(data, count, seed);
    default:
      bad_dtype(dtype);
  }
}

void fill_uniform_device(upsDataType_t dtype, void* data, int64_t count, uint64_t seed, cudaStream_t stream) {
  if (count == 0) return;
  switch (dtype) {
    case UPS_DTYPE_F32:
      return fill_device<float>(data, count, seed, stream);
    case UPS_DTYPE_F16:
      return fill_device<__half>(data, count, seed, stream);
    case UPS_DTYPE_BF16:
      return fill_device<__nv_bfloat16>(data, count, seed, stream);
    default:
      bad_dtype(dtype);
  }
}

double element_value(upsDataType_t dtype, const void* data, int64_t index) {
  switch (dtype) {
    case UPS_DTYPE_F32:
      return static_cast<const float*>(data)[index];
    case UPS_DTYPE_F16:
      return __half2float(static_cast<const __half*>(data)[index]);
    case UPS_DTYPE_BF16:
      return __bfloat162float(static_cast<const __nv_bfloat16*>(data)[index]);
    case UPS_DTYPE_F64:
      return static_cast<const double*>(data)[index];
    default:
      return static_cast<double>(static_cast<const int64_t*>(data)[index]);
  }
}

}  // namespace upsample::bench

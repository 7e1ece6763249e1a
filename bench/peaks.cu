// Peak measurements (see NOTE [ The floor ] in peaks.h): device-to-device copy bandwidth and FMA
// throughput for fp32, packed f16 and packed bf16 (bf16 through float before sm_80, which has no
// bf16 arithmetic).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>

#include "cuda_check.h"
#include "peaks.h"

namespace upsample::bench {
namespace {

constexpr int kChains = 8;  // independent FMA chains per thread: enough to hide FMA latency
constexpr int kThreadsPerBlock = 256;
constexpr int kFmaIterations = 16384;  // ~1 ms per run on an H100
constexpr int kRuns = 5;

template <typename T>
struct FmaTraits;
template <>
struct FmaTraits<float> {
  static constexpr double kFlops = 2;  // one multiply-add
  static __device__ float from(float v) { return v; }
  static __device__ float fma(float a, float b, float c) { return fmaf(a, b, c); }
};
template <>
struct FmaTraits<__half2> {
  static constexpr double kFlops = 4;  // two lanes
  static __device__ __half2 from(float v) { return __float2half2_rn(v); }
  static __device__ __half2 fma(__half2 a, __half2 b, __half2 c) { return __hfma2(a, b, c); }
};
template <>
struct FmaTraits<__nv_bfloat162> {
  static constexpr double kFlops = 4;
  static __device__ __nv_bfloat162 from(float v) { return __float2bfloat162_rn(v); }
  static __device__ __nv_bfloat162 fma(__nv_bfloat162 a, __nv_bfloat162 b, __nv_bfloat162 c) {
#if __CUDA_ARCH__ >= 800
    return __hfma2(a, b, c);
#else
    // No bf16 arithmetic before sm_80: bf16 code there computes in float, and so does this.
    const float2 fa = __bfloat1622float2(a), fb = __bfloat1622float2(b), fc = __bfloat1622float2(c);
    return __floats2bfloat162_rn(fmaf(fa.x, fb.x, fc.x), fmaf(fa.y, fb.y, fc.y));
#endif
  }
};

// Every thread runs kChains dependent FMA chains in registers. `write` is 0 at run time, but the
// compiler cannot know it, so the chains must be computed.
template <typename T>
__global__ void fma_loop_kernel(T* out, int iterations, float a, float b, int write) {
  using Traits = FmaTraits<T>;
  const T scale = Traits::from(a), offset = Traits::from(b);
  T acc[kChains];
#pragma unroll
  for (int i = 0; i < kChains; ++i) acc[i] = Traits::from(static_cast<float>(threadIdx.x + i) * 1e-3f);
    // Unrolled so that loop bookkeeping takes a negligible share of the issue slots.
#pragma unroll 16
  for (int it = 0; it < iterations; ++it) {
#pragma unroll
    for (int i = 0; i < kChains; ++i) acc[i] = Traits::fma(acc[i], scale, offset);
  }
  if (write) {
#pragma unroll
    for (int i = 0; i < kChains; ++i) out[(blockIdx.x * blockDim.x + threadIdx.x) * kChains + i] = acc[i];
  }
}

// Seconds of one event-timed call of `enqueue` on `stream`, best of kRuns after one warm-up.
template <typename Enqueue>
double best_time(cudaStream_t stream, Enqueue&& enqueue) {
  cudaEvent_t start, stop;
  BENCH_CUDA_CHECK(cudaEventCreate(&start));
  BENCH_CUDA_CHECK(cudaEventCreate(&stop));
  enqueue();
  double best = 1e30;
  for (int run = 0; run < kRuns; ++run) {
    BENCH_CUDA_CHECK(cudaEventRecord(start, stream));
    enqueue();
    BENCH_CUDA_CHECK(cudaEventRecord(stop, stream));
    BENCH_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    BENCH_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    best = std::min(best, static_cast<double>(ms) * 1e-3);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return best;
}

template <typename T>
double measure_fma_peak(cudaStream_t stream, int sms) {
  int blocks_per_sm = 0;
  BENCH_CUDA_CHECK(
      cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks_per_sm, fma_loop_kernel<T>, kThreadsPerBlock, 0));
  const int blocks = sms * std::max(1, blocks_per_sm);
  T* out = nullptr;  // never written (write = 0); allocated so the pointer is valid anyway
  BENCH_CUDA_CHECK(cudaMalloc(&out, sizeof(T) * static_cast<size_t>(blocks) * kThreadsPerBlock * kChains));
  const double seconds = best_time(stream, [&] {
    fma_loop_kernel<T><<<blocks, kThreadsPerBlock, 0, stream>>>(out, kFmaIterations, 0.999f, 0.001f, 0);
    BENCH_CUDA_CHECK(cudaGetLastError());
  });
  cudaFree(out);
  const double flops = FmaTraits<T>::kFlops * kChains * static_cast<double>(kFmaIterations) * blocks * kThreadsPerBlock;
  return flops / seconds;
}

double measure_copy_bandwidth(cudaStream_t stream, size_t* bytes_used) {
  size_t free_bytes = 0, total_bytes = 0;
  BENCH_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  // Far larger than any L2 (50 MiB on an H100), small enough to leave room for the suite.
  const size_t bytes = std::max<size_t>(size_t{64} << 20, std::min<size_t>(size_t{1} << 30, free_bytes / 4));
  void *source = nullptr, *target = nullptr;
  BENCH_CUDA_CHECK(cudaMalloc(&source, bytes));
  BENCH_CUDA_CHECK(cudaMalloc(&target, bytes));
  BENCH_CUDA_CHECK(cudaMemsetAsync(source, 0, bytes, stream));
  const double seconds = best_time(
      stream, [&] { BENCH_CUDA_CHECK(cudaMemcpyAsync(target, source, bytes, cudaMemcpyDeviceToDevice, stream)); });
  cudaFree(source);
  cudaFree(target);
  *bytes_used = bytes;
  return 2.0 * static_cast<double>(bytes) / seconds;  // every byte is read once and written once
}

}  // namespace

Peaks measure_device_peaks() {
  int device = 0;
  BENCH_CUDA_CHECK(cudaGetDevice(&device));
  cudaDeviceProp prop{};
  BENCH_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  cudaStream_t stream;
  BENCH_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));

  Peaks peaks;
  peaks.measured = true;
  peaks.source = std::string("measured on ") + prop.name;
  size_t copy_bytes = 0;
  peaks.bandwidth = measure_copy_bandwidth(stream, &copy_bytes);
  peaks.fp32 = measure_fma_peak<float>(stream, prop.multiProcessorCount);
  peaks.f16 = measure_fma_peak<__half2>(stream, prop.multiProcessorCount);
  peaks.bf16 = measure_fma_peak<__nv_bfloat162>(stream, prop.multiProcessorCount);
  peaks.bandwidth_method = "cudaMemcpyAsync device-to-device of " + std::to_string(copy_bytes >> 20) +
                           " MiB, (read + write bytes) / time, best of " + std::to_string(kRuns);
  peaks.peak_method = "FMA-loop kernel, " + std::to_string(kChains) +
                      " independent chains per thread, one full wave of resident blocks on every SM, best of " +
                      std::to_string(kRuns) + " (fp32 FFMA; f16 packed HFMA2; bf16 " +
                      (prop.major >= 8 ? "packed HFMA2" : "through float: no bf16 arithmetic before sm_80") +
                      "); tensor cores not measured";
  BENCH_CUDA_CHECK(cudaStreamDestroy(stream));
  return peaks;
}

}  // namespace upsample::bench

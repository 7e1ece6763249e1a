// Tests of the emulation layer itself (cuda/emu/, see NOTE [ Emulation layer ] in
// cuda/emu/emu_runtime.h): the execution model, warp collectives, atomics, launch validation and
// the runtime API it defines. The kernels are written as for nvcc and launched through the
// library's one launch helper.
//
// Build: g++ -std=c++17 -DUPS_EMULATION -I cuda -I <toolkit>/include tests/emulation/emu_layer_test.cpp
//        cuda/emu/*.cpp -lgtest -lgtest_main -pthread
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "common/launch.cuh"
#include "common/platform.cuh"

namespace {

using upsample::cuda::launch_kernel;

// ---- Helpers ----------------------------------------------------------------------------------

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count) {
    EXPECT_EQ(cudaSuccess, cudaMalloc(reinterpret_cast<void**>(&ptr_), count * sizeof(T)));
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { EXPECT_EQ(cudaSuccess, cudaFree(ptr_)); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return ptr_; }
  void upload(const std::vector<T>& host) {
    ASSERT_EQ(host.size(), count_);
    ASSERT_EQ(cudaSuccess, cudaMemcpy(ptr_, host.data(), count_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(count_);
    EXPECT_EQ(cudaSuccess, cudaMemcpy(host.data(), ptr_, count_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
  void zero() { ASSERT_EQ(cudaSuccess, cudaMemset(ptr_, 0, count_ * sizeof(T))); }

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

#if UPS_EMU_TSAN
// For the death tests that expect a ThreadSanitizer report: their child process (re-executed, so
// that it reads TSAN_OPTIONS afresh) stops at its first report, with TSan's exit code.
class TsanHaltsOnFirstReport {
 public:
  TsanHaltsOnFirstReport() {
    const char* old = std::getenv("TSAN_OPTIONS");
    had_options_ = old != nullptr;
    if (had_options_) saved_options_ = old;
    const std::string options = (had_options_ ? saved_options_ + ":" : std::string()) + "halt_on_error=1";
    setenv("TSAN_OPTIONS", options.c_str(), 1);
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
  ~TsanHaltsOnFirstReport() {
    if (had_options_)
      setenv("TSAN_OPTIONS", saved_options_.c_str(), 1);
    else
      unsetenv("TSAN_OPTIONS");
  }
  TsanHaltsOnFirstReport(const TsanHaltsOnFirstReport&) = delete;
  TsanHaltsOnFirstReport& operator=(const TsanHaltsOnFirstReport&) = delete;

 private:
  bool had_options_ = false;
  std::string saved_options_;
};
#endif

__device__ __forceinline__ unsigned linear_thread() {
  return threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y;
}
__device__ __forceinline__ unsigned block_threads() { return blockDim.x * blockDim.y * blockDim.z; }
__device__ __forceinline__ unsigned linear_block() {
  return blockIdx.x + blockIdx.y * gridDim.x + blockIdx.z * gridDim.x * gridDim.y;
}

// ---- Kernels: shared memory and barriers ------------------------------------------------------

// A tree reduction through shared memory: one sum per block. With kBarriers == false it is the same
// kernel with its barriers forgotten, which must give a wrong answer under the emulation.
template <bool kBarriers>
__global__ void block_sum_kernel(const int* __restrict__ input, long long* __restrict__ block_sums, long long n) {
  __shared__ long long partial[1024];
  const unsigned t = linear_thread();
  const unsigned threads = block_threads();
  const long long i = static_cast<long long>(linear_block()) * threads + t;
  partial[t] = i < n ? input[i] : 0;
  if (kBarriers) __syncthreads();
  for (unsigned stride = 512; stride > 0; stride /= 2) {
    if (t < stride && t + stride < threads) partial[t] += partial[t + stride];
    if (kBarriers) __syncthreads();
  }
  if (t == 0) block_sums[linear_block()] = partial[0];
}

// Each block fills shared memory with values of its own, then every thread reads a neighbour's slot.
__global__ void shared_per_block_kernel(int* out) {
  __shared__ int values[128];
  const unsigned t = threadIdx.x;
  values[t] = static_cast<int>(blockIdx.x * 1000 + t);
  __syncthreads();
  out[blockIdx.x * blockDim.x + t] = values[(t + 1) % blockDim.x];
}

// Records what dynamic shared memory held before this block wrote it, then a neighbour's value.
__global__ void dynamic_shared_kernel(unsigned* before, unsigned* after, unsigned long long* address) {
  UPS_DYNAMIC_SHARED(unsigned, scratch);
  const unsigned t = threadIdx.x;
  const unsigned g = blockIdx.x * blockDim.x + t;
  before[g] = scratch[t];
  scratch[t] = g * 3u;
  __syncthreads();
  after[g] = scratch[(t + 1) % blockDim.x];
  if (g == 0) *address = reinterpret_cast<uintptr_t>(scratch);
}

__global__ void syncthreads_vote_kernel(int* out) {
  const unsigned t = linear_thread();
  const int count = __syncthreads_count(t % 3 == 0);
  const int any_third = __syncthreads_or(t % 3 == 0);
  const int all_third = __syncthreads_and(t % 3 == 0);
  const int all_true = __syncthreads_and(1);
  const int any_false = __syncthreads_or(0);
  if (t == 0) {
    out[0] = count;
    out[1] = any_third;
    out[2] = all_third;
    out[3] = all_true;
    out[4] = any_false;
  }
}

__global__ void divergent_barrier_kernel(int* out, unsigned exit_from) {
  if (threadIdx.x >= exit_from) return;
  out[threadIdx.x] = 1;
  __syncthreads();
}

// Lanes 0..15 wait in __syncwarp for lanes 16..31, which wait at __syncthreads: no one goes on.
__global__ void warp_barrier_deadlock_kernel() {
  if (threadIdx.x % 32 < 16) {
    __syncwarp();
  } else {
    __syncthreads();
  }
}

__global__ void lane_outside_mask_kernel(int* out) {
  out[threadIdx.x] = __shfl_sync(0x1u, static_cast<int>(threadIdx.x), 0);
}

__global__ void trap_kernel(int* out) {
  if (threadIdx.x == 5) __trap();
  out[threadIdx.x] = 1;
}

__global__ void fill_kernel(int* out, int value) { out[blockIdx.x * blockDim.x + threadIdx.x] = value; }

__global__ void by_value_parameter_kernel(int x, int* out) {
  x += static_cast<int>(threadIdx.x);  // each thread owns its copy of the parameter
  __syncthreads();
  out[threadIdx.x] = x;
}

__global__ void block_order_kernel(unsigned* counter, unsigned* order) {
  if (linear_thread() == 0) order[linear_block()] = atomicAdd(counter, 1u);
}

__global__ void builtin_variables_kernel(uint3* thread_ids, uint3* block_ids, dim3* dims) {
  const unsigned g = linear_block() * block_threads() + linear_thread();
  thread_ids[g] = threadIdx;
  block_ids[g] = blockIdx;
  if (g == 0) {
    dims[0] = blockDim;
    dims[1] = gridDim;
  }
}

// ---- Kernels: atomics -------------------------------------------------------------------------

struct AtomicTargets {
  int* i32;
  float* f32;
  double* f64;
  __half* f16;
  __nv_bfloat16* bf16;
  __half2* f16x2;
  __nv_bfloat162* bf16x2;
  unsigned long long* u64_max;
  unsigned* u32_sub;
  int* i32_min;
  unsigned long long* u64_add;
  unsigned* cas_counter;
};

__device__ unsigned long long hash64(unsigned long long x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

__global__ void atomics_kernel(AtomicTargets targets, unsigned half_limit, unsigned bf16_limit) {
  const unsigned g = blockIdx.x * blockDim.x + threadIdx.x;
  atomicAdd(targets.i32, 1);
  atomicAdd(targets.f32, static_cast<float>(g % 5));
  atomicAdd(targets.f64, static_cast<double>(g % 7) + 0.5);
  if (g < half_limit) {
    atomicAdd(targets.f16, __float2half(1.0f));
    atomicAdd(targets.f16x2, __floats2half2_rn(1.0f, 2.0f));
  }
  if (g < bf16_limit) {
    atomicAdd(targets.bf16, __float2bfloat16(1.0f));
    atomicAdd(targets.bf16x2, __floats2bfloat162_rn(1.0f, -1.0f));
  }
  atomicMax(targets.u64_max, hash64(g));
  atomicSub(targets.u32_sub, 2u);
  atomicMin(targets.i32_min, static_cast<int>(hash64(g) % 100000) - 50000);
  atomicAdd(targets.u64_add, static_cast<unsigned long long>(g));
  // An increment through a compare-and-swap loop, as kernels build atomics the hardware lacks. The
  // first read is atomic too: a plain one races with the other threads' compare-and-swap (which
  // ThreadSanitizer reports, in the `tsan` workflow).
  unsigned old = atomicAdd(targets.cas_counter, 0u);
  unsigned assumed = 0;
  do {
    assumed = old;
    old = atomicCAS(targets.cas_counter, assumed, assumed + 1u);
  } while (old != assumed);
}

// ---- Kernels: warp collectives ----------------------------------------------------------------

constexpr int kShuffleResults = 12;

// Per thread: shuffles of every kind with full warps and width 8, on int, float, double, long long.
__global__ void shuffle_kernel(int* out, int src_lane, unsigned delta, int xor_mask) {
  const unsigned t = threadIdx.x;
  const int v = static_cast<int>(t * 10 + 1);
  int* o = out + t * kShuffleResults;
  o[0] = __shfl_sync(0xffffffffu, v, src_lane);
  o[1] = __shfl_up_sync(0xffffffffu, v, delta);
  o[2] = __shfl_down_sync(0xffffffffu, v, delta);
  o[3] = __shfl_xor_sync(0xffffffffu, v, xor_mask);
  o[4] = __shfl_sync(0xffffffffu, v, src_lane, 8);
  o[5] = __shfl_up_sync(0xffffffffu, v, delta, 8);
  o[6] = __shfl_down_sync(0xffffffffu, v, delta, 8);
  o[7] = __shfl_xor_sync(0xffffffffu, v, xor_mask, 8);
  o[8] = static_cast<int>(__shfl_down_sync(0xffffffffu, static_cast<float>(v) + 0.25f, delta) * 4.0f);
  o[9] = static_cast<int>(__shfl_xor_sync(0xffffffffu, static_cast<double>(v) + 0.5, xor_mask) * 2.0);
  o[10] = static_cast<int>(__shfl_up_sync(0xffffffffu, static_cast<long long>(v) << 33, delta) >> 33);
  o[11] = static_cast<int>(__shfl_sync(0xffffffffu, static_cast<unsigned long long>(v) << 40, src_lane, 16) >> 40);
}

// Votes and shuffles under partial masks: even lanes only, and the low half of each warp.
__global__ void partial_mask_kernel(int* out) {
  const unsigned t = threadIdx.x;
  const unsigned lane = t % 32;
  int* o = out + t * 6;
  for (int k = 0; k < 6; ++k) o[k] = -7;
  if (lane % 2 == 0) {
    const unsigned even = 0x55555555u;
    o[0] = __shfl_xor_sync(even, static_cast<int>(t), 2);
    o[1] = static_cast<int>(__ballot_sync(even, lane % 4 == 0));
    o[2] = __any_sync(even, lane == 6);
    o[3] = __all_sync(even, lane < 32);
  }
  if (lane < 16) {
    o[4] = static_cast<int>(__ballot_sync(0x0000ffffu, lane >= 8));
    o[5] = __shfl_down_sync(0x0000ffffu, static_cast<int>(t), 4, 16);
  }
}

__global__ void vote_kernel(unsigned* ballots, int* any_all, unsigned* active) {
  const unsigned t = threadIdx.x;
  const unsigned lane = t % 32;
  ballots[t] = __ballot_sync(0xffffffffu, (lane * 7) % 5 == 0);
  any_all[t * 4 + 0] = __any_sync(0xffffffffu, lane == 31);
  any_all[t * 4 + 1] = __any_sync(0xffffffffu, 0);
  any_all[t * 4 + 2] = __all_sync(0xffffffffu, lane < 32);
  any_all[t * 4 + 3] = __all_sync(0xffffffffu, lane != 17);
  active[t] = __activemask();
}

// A warp-level sum with __shfl_down_sync, then the warp sums combined through shared memory.
__global__ void warp_reduce_kernel(const float* input, float* block_sums) {
  __shared__ float warp_sums[32];
  const unsigned t = threadIdx.x;
  float v = input[blockIdx.x * blockDim.x + t];
  for (unsigned offset = 16; offset > 0; offset /= 2) v += __shfl_down_sync(0xffffffffu, v, offset);
  if (t % 32 == 0) warp_sums[t / 32] = v;
  __syncthreads();
  if (t < 32) {
    float w = t < blockDim.x / 32 ? warp_sums[t] : 0.0f;
    for (unsigned offset = 16; offset > 0; offset /= 2) w += __shfl_xor_sync(0xffffffffu, w, offset);
    if (t == 0) block_sums[blockIdx.x] = w;
  }
}

// A partial last warp (blockDim 48): lanes that do not exist neither block nor vote.
__global__ void partial_warp_kernel(unsigned* ballots, unsigned* active, int* down) {
  const unsigned t = threadIdx.x;
  ballots[t] = __ballot_sync(0xffffffffu, 1);
  active[t] = __activemask();
  down[t] = __shfl_down_sync(0xffffffffu, static_cast<int>(t), 8);
}

__global__ void warp_match_reduce_kernel(unsigned* out) {
  const unsigned t = threadIdx.x;
  const unsigned lane = t % 32;
  unsigned* o = out + t * 8;
  o[0] = __match_any_sync(0xffffffffu, static_cast<int>(lane % 4));
  int pred = -1;
  o[1] = __match_all_sync(0xffffffffu, 42, &pred);
  o[2] = static_cast<unsigned>(pred);
  o[3] = __reduce_add_sync(0xffffffffu, lane);
  o[4] = __reduce_max_sync(0xffffffffu, lane * 3u % 31u);
  o[5] = static_cast<unsigned>(__reduce_min_sync(0xffffffffu, static_cast<int>(lane) - 20));
  o[6] = __reduce_or_sync(0xffffffffu, 1u << (lane % 8));
  __syncwarp();
  o[7] = __reduce_and_sync(0xffffffffu, lane | 0x100u);
}

// __activemask in divergent code: lanes that went elsewhere (exited, or waiting at a barrier) are
// not active.
__global__ void activemask_divergent_kernel(unsigned* out) {
  const unsigned lane = threadIdx.x % 32;
  unsigned mask = 0;
  if (lane < 8) mask = __activemask();  // lanes 8..31 went on to wait at the barrier
  __syncthreads();
  out[threadIdx.x] = mask;
  if (lane % 3 != 0) return;  // these lanes exit
  out[blockDim.x + threadIdx.x] = __activemask();
}

__global__ void intrinsics_kernel(long long* out) {
  int k = 0;
  out[k++] = __popc(0xf0f0f0f1u);
  out[k++] = __popcll(0xffffffffffull);
  out[k++] = __ffs(0);
  out[k++] = __ffs(0x80);
  out[k++] = __ffsll(1ll << 40);
  out[k++] = __clz(0);
  out[k++] = __clz(1);
  out[k++] = __clzll(1ll << 40);
  out[k++] = __brev(1u);
  out[k++] = __float_as_int(1.0f);
  out[k++] = static_cast<long long>(__int_as_float(0x40400000) * 2.0f);
  out[k++] = __float_as_uint(-0.0f);
  out[k++] = static_cast<long long>(__uint_as_float(0x3f800000u));
  out[k++] = __double_as_longlong(1.0);
  out[k++] = static_cast<long long>(__longlong_as_double(0x4000000000000000ll));
  out[k++] = static_cast<long long>(__fmaf_rn(2.0f, 3.0f, 1.0f));
  out[k++] = static_cast<long long>(__fdividef(9.0f, 3.0f));
  out[k++] = static_cast<long long>(__saturatef(2.5f) * 10.0f + __saturatef(-1.0f) + __saturatef(NAN));
  out[k++] = static_cast<long long>(rsqrtf(0.25f));
  out[k++] = __ldg(&out[0]);
  out[k++] = __byte_perm(0x33221100u, 0x77665544u, 0x7531u);
  out[k++] = __funnelshift_l(0x80000000u, 0x1u, 1);
  out[k++] = __float2int_rn(2.5f) * 10 + __float2int_rn(-3.5f);
  out[k++] = __float2int_rz(1e20f);
  out[k++] = __umulhi(0x80000000u, 4u);
  out[k++] = static_cast<long long>(__umul64hi(1ull << 63, 6ull));
  out[k] = -999;
}

__global__ void scoped_atomics_kernel(int* counter, unsigned* bits, unsigned long long* swapped) {
  __shared__ int block_counter;
  if (threadIdx.x == 0) block_counter = 0;
  __syncthreads();
  atomicAdd_block(&block_counter, 2);
  __syncthreads();
  if (threadIdx.x == 0) atomicAdd_system(counter, block_counter);
  atomicOr_block(bits, 1u << (threadIdx.x % 32));
  atomicCAS_system(swapped, 0ull, 1000ull + threadIdx.x);
}

__global__ void empty_kernel() {}

__global__ void nested_launch_kernel(cudaError_t* result) {
  if (threadIdx.x == 0) *result = launch_kernel(empty_kernel, dim3(1), dim3(1), 0, nullptr);
}

std::vector<int> iota_input(size_t n) {
  std::vector<int> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<int>((i * 37) % 101) + 1;
  return v;
}

// Launches block_sum_kernel over `n` inputs and returns the per-block sums beside the expected ones.
template <bool kBarriers>
void run_block_sum(dim3 grid, dim3 block, std::vector<long long>* got, std::vector<long long>* expected) {
  const size_t blocks = static_cast<size_t>(grid.x) * grid.y * grid.z;
  const size_t threads = static_cast<size_t>(block.x) * block.y * block.z;
  const long long n = static_cast<long long>(blocks * threads) - 3;  // a ragged end
  const std::vector<int> input = iota_input(static_cast<size_t>(n));
  DeviceBuffer<int> d_input(input);
  DeviceBuffer<long long> d_sums(blocks);
  ASSERT_EQ(cudaSuccess,
            launch_kernel(block_sum_kernel<kBarriers>, grid, block, 0, nullptr, d_input.get(), d_sums.get(), n));
  *got = d_sums.download();
  expected->assign(blocks, 0);
  for (long long i = 0; i < n; ++i) (*expected)[static_cast<size_t>(i) / threads] += input[static_cast<size_t>(i)];
}

// ---- Tests: execution model -------------------------------------------------------------------

TEST(Emulation, BlockReductionWithBarriers_1D_2D_3D) {
  struct Config {
    dim3 grid, block;
  };
  const Config configs[] = {
      {dim3(37), dim3(256)},
      {dim3(5), dim3(1024)},
      {dim3(9), dim3(96)},
      {dim3(4, 3), dim3(16, 8)},
      {dim3(3, 2, 2), dim3(8, 4, 4)},
      {dim3(2, 2, 3), dim3(7, 3, 5)},
      {dim3(3), dim3(10, 10, 10)},
      {dim3(11), dim3(1)},
  };
  for (const Config& c : configs) {
    SCOPED_TRACE(testing::Message() << "grid (" << c.grid.x << "," << c.grid.y << "," << c.grid.z << "), block ("
                                    << c.block.x << "," << c.block.y << "," << c.block.z << ")");
    std::vector<long long> got, expected;
    run_block_sum<true>(c.grid, c.block, &got, &expected);
    EXPECT_EQ(expected, got);
  }
}

TEST(Emulation, RacyKernelWithoutBarrierFails) {
#if UPS_EMU_TSAN
  // Under ThreadSanitizer the first missing barrier is reported before any sum can be compared.
  const TsanHaltsOnFirstReport halt;
  EXPECT_DEATH(
      {
        std::vector<long long> got;
        std::vector<long long> expected;
        run_block_sum<false>(dim3(6), dim3(256), &got, &expected);
      },
      "ThreadSanitizer: data race.*block_sum_kernel<false>");
#else
  for (dim3 block : {dim3(256), dim3(16, 8), dim3(8, 4, 4)}) {
    std::vector<long long> got, expected;
    run_block_sum<false>(dim3(6), block, &got, &expected);
    size_t wrong = 0;
    for (size_t i = 0; i < got.size(); ++i) wrong += got[i] != expected[i];
    EXPECT_EQ(got.size(), wrong) << "a reduction whose barriers are missing must give wrong sums in every block";
    EXPECT_NE(std::accumulate(expected.begin(), expected.end(), 0LL), std::accumulate(got.begin(), got.end(), 0LL));
  }
#endif
}

TEST(Emulation, SharedMemoryIsPerBlock) {
  const unsigned blocks = 20, threads = 128;
  DeviceBuffer<int> d_out(blocks * threads);
  ASSERT_EQ(cudaSuccess, launch_kernel(shared_per_block_kernel, dim3(blocks), dim3(threads), 0, nullptr, d_out.get()));
  const std::vector<int> out = d_out.download();
  for (unsigned b = 0; b < blocks; ++b)
    for (unsigned t = 0; t < threads; ++t)
      ASSERT_EQ(static_cast<int>(b * 1000 + (t + 1) % threads), out[b * threads + t])
          << "block " << b << " thread " << t;
}

TEST(Emulation, DynamicSharedMemoryIsPoisonedPerBlockAndAligned) {
  const unsigned blocks = 4, threads = 64;
  DeviceBuffer<unsigned> d_before(blocks * threads), d_after(blocks * threads);
  DeviceBuffer<unsigned long long> d_address(1);
  ASSERT_EQ(cudaSuccess, launch_kernel(dynamic_shared_kernel, dim3(blocks), dim3(threads), threads * sizeof(unsigned),
                                       nullptr, d_before.get(), d_after.get(), d_address.get()));
  const std::vector<unsigned> before = d_before.download(), after = d_after.download();
  for (unsigned g = 0; g < blocks * threads; ++g) {
    EXPECT_EQ(0xffffffffu, before[g]) << "unwritten dynamic shared memory must read as the poison, thread " << g;
    const unsigned b = g / threads, t = g % threads;
    EXPECT_EQ((b * threads + (t + 1) % threads) * 3u, after[g]);
  }
  EXPECT_EQ(0u, d_address.download()[0] % 16);
}

TEST(Emulation, SyncthreadsCountAndOr) {
  DeviceBuffer<int> d_out(5);
  for (dim3 block : {dim3(256), dim3(10, 10), dim3(5, 3, 7)}) {
    const int n = static_cast<int>(block.x * block.y * block.z);
    ASSERT_EQ(cudaSuccess, launch_kernel(syncthreads_vote_kernel, dim3(3), block, 0, nullptr, d_out.get()));
    const std::vector<int> out = d_out.download();
    EXPECT_EQ((n + 2) / 3, out[0]);
    EXPECT_EQ(1, out[1]);
    EXPECT_EQ(0, out[2]);
    EXPECT_EQ(1, out[3]);
    EXPECT_EQ(0, out[4]);
  }
}

TEST(Emulation, ParametersAreCopiedPerThread) {
  DeviceBuffer<int> d_out(64);
  ASSERT_EQ(cudaSuccess, launch_kernel(by_value_parameter_kernel, dim3(1), dim3(64), 0, nullptr, 100, d_out.get()));
  const std::vector<int> out = d_out.download();
  for (int t = 0; t < 64; ++t) EXPECT_EQ(100 + t, out[static_cast<size_t>(t)]);
}

TEST(Emulation, BlocksRunInLinearOrderXFastest) {
  const dim3 grid(4, 3, 2);
  DeviceBuffer<unsigned> d_counter(1), d_order(24);
  d_counter.zero();
  ASSERT_EQ(cudaSuccess,
            launch_kernel(block_order_kernel, grid, dim3(3, 2), 0, nullptr, d_counter.get(), d_order.get()));
  const std::vector<unsigned> order = d_order.download();
  for (unsigned i = 0; i < 24; ++i) EXPECT_EQ(i, order[i]);
}

TEST(Emulation, BuiltinVariables) {
  const dim3 grid(2, 3, 2), block(4, 2, 3);
  const unsigned total = 12 * 24;
  DeviceBuffer<uint3> d_threads(total), d_blocks(total);
  DeviceBuffer<dim3> d_dims(2);
  ASSERT_EQ(cudaSuccess, launch_kernel(builtin_variables_kernel, grid, block, 0, nullptr, d_threads.get(),
                                       d_blocks.get(), d_dims.get()));
  const std::vector<uint3> threads = d_threads.download(), blocks = d_blocks.download();
  const std::vector<dim3> dims = d_dims.download();
  EXPECT_EQ(4u, dims[0].x);
  EXPECT_EQ(2u, dims[0].y);
  EXPECT_EQ(3u, dims[0].z);
  EXPECT_EQ(2u, dims[1].x);
  EXPECT_EQ(3u, dims[1].y);
  EXPECT_EQ(2u, dims[1].z);
  for (unsigned g = 0; g < total; ++g) {
    const unsigned t = g % 24, b = g / 24;
    EXPECT_EQ(t % 4, threads[g].x);
    EXPECT_EQ(t / 4 % 2, threads[g].y);
    EXPECT_EQ(t / 8, threads[g].z);
    EXPECT_EQ(b % 2, blocks[g].x);
    EXPECT_EQ(b / 2 % 3, blocks[g].y);
    EXPECT_EQ(b / 6, blocks[g].z);
  }
  EXPECT_EQ(32, warpSize);
}

// ---- Tests: atomics ---------------------------------------------------------------------------

TEST(Emulation, AtomicsFromManyThreadsAndBlocksAreExact) {
  const unsigned blocks = 64, threads = 256, total = blocks * threads;
  const unsigned half_limit = 2048;  // integers stay exact in fp16 up to 2048, in bf16 up to 256
  const unsigned bf16_limit = 256;
  DeviceBuffer<int> i32(1), i32_min(1);
  DeviceBuffer<float> f32(1);
  DeviceBuffer<double> f64(1);
  DeviceBuffer<__half> f16(1);
  DeviceBuffer<__nv_bfloat16> bf16(1);
  DeviceBuffer<__half2> f16x2(1);
  DeviceBuffer<__nv_bfloat162> bf16x2(1);
  DeviceBuffer<unsigned long long> u64_max(1), u64_add(1);
  DeviceBuffer<unsigned> u32_sub(1), cas(1);
  i32.zero();
  f32.zero();
  f64.zero();
  f16.zero();
  bf16.zero();
  f16x2.zero();
  bf16x2.zero();
  u64_max.zero();
  u64_add.zero();
  cas.zero();
  u32_sub.upload({1000000u});
  i32_min.upload({1 << 30});
  AtomicTargets targets{i32.get(),    f32.get(),     f64.get(),     f16.get(),     bf16.get(),    f16x2.get(),
                        bf16x2.get(), u64_max.get(), u32_sub.get(), i32_min.get(), u64_add.get(), cas.get()};
  ASSERT_EQ(cudaSuccess,
            launch_kernel(atomics_kernel, dim3(blocks), dim3(threads), 0, nullptr, targets, half_limit, bf16_limit));

  double f32_expected = 0, f64_expected = 0;
  unsigned long long max_expected = 0;
  int min_expected = 1 << 30;
  for (unsigned g = 0; g < total; ++g) {
    f32_expected += g % 5;
    f64_expected += (g % 7) + 0.5;
    max_expected = std::max(max_expected, hash64(g));
    min_expected = std::min(min_expected, static_cast<int>(hash64(g) % 100000) - 50000);
  }
  EXPECT_EQ(static_cast<int>(total), i32.download()[0]);
  EXPECT_EQ(static_cast<float>(f32_expected), f32.download()[0]);
  EXPECT_EQ(f64_expected, f64.download()[0]);
  EXPECT_EQ(2048.0f, __half2float(f16.download()[0]));
  EXPECT_EQ(256.0f, __bfloat162float(bf16.download()[0]));
  const __half2 h2 = f16x2.download()[0];
  EXPECT_EQ(2048.0f, __low2float(h2));
  EXPECT_EQ(4096.0f, __high2float(h2));
  const __nv_bfloat162 b2 = bf16x2.download()[0];
  EXPECT_EQ(256.0f, __low2float(b2));
  EXPECT_EQ(-256.0f, __high2float(b2));
  EXPECT_EQ(max_expected, u64_max.download()[0]);
  EXPECT_EQ(1000000u - 2u * total, u32_sub.download()[0]);
  EXPECT_EQ(min_expected, i32_min.download()[0]);
  EXPECT_EQ(static_cast<unsigned long long>(total) * (total - 1) / 2, u64_add.download()[0]);
  EXPECT_EQ(total, cas.download()[0]);
}

// ---- Tests: warp collectives ------------------------------------------------------------------

// The CUDA Programming Guide's rules, written independently of the layer's PTX formulation.
int expected_shfl(int lane, int src, int width) { return (lane / width) * width + ((src % width) + width) % width; }
int expected_shfl_up(int lane, unsigned delta, int width) {
  return lane % width >= static_cast<int>(delta) ? lane - static_cast<int>(delta) : lane;
}
int expected_shfl_down(int lane, unsigned delta, int width) {
  return lane % width + static_cast<int>(delta) < width ? lane + static_cast<int>(delta) : lane;
}
int expected_shfl_xor(int lane, int mask, int width) {
  const int j = lane ^ mask;
  return j < (lane / width + 1) * width ? j : lane;  // later groups are out of reach; earlier ones are not
}

TEST(Emulation, ShufflesOfEveryKindAndWidth) {
  const unsigned threads = 64;  // two warps
  DeviceBuffer<int> d_out(threads * kShuffleResults);
  struct Case {
    int src;
    unsigned delta;
    int xor_mask;
  };
  for (Case c : {Case{3, 1, 1}, Case{13, 5, 6}, Case{31, 16, 16}, Case{-1, 0, 31}, Case{40, 9, 9}}) {
    SCOPED_TRACE(testing::Message() << "src " << c.src << ", delta " << c.delta << ", xor " << c.xor_mask);
    ASSERT_EQ(cudaSuccess, launch_kernel(shuffle_kernel, dim3(2), dim3(threads), 0, nullptr, d_out.get(), c.src,
                                         c.delta, c.xor_mask));
    const std::vector<int> out = d_out.download();
    for (int t = 0; t < static_cast<int>(threads); ++t) {
      const int lane = t % 32, warp_base = t - lane;
      auto value = [&](int l) { return (warp_base + l) * 10 + 1; };
      const int* o = &out[static_cast<size_t>(t) * kShuffleResults];
      EXPECT_EQ(value(expected_shfl(lane, c.src, 32)), o[0]) << "thread " << t;
      EXPECT_EQ(value(expected_shfl_up(lane, c.delta, 32)), o[1]) << "thread " << t;
      EXPECT_EQ(value(expected_shfl_down(lane, c.delta, 32)), o[2]) << "thread " << t;
      EXPECT_EQ(value(expected_shfl_xor(lane, c.xor_mask, 32)), o[3]) << "thread " << t;
      EXPECT_EQ(value(expected_shfl(lane, c.src, 8)), o[4]) << "thread " << t;
      EXPECT_EQ(value(expected_shfl_up(lane, c.delta, 8)), o[5]) << "thread " << t;
      EXPECT_EQ(value(expected_shfl_down(lane, c.delta, 8)), o[6]) << "thread " << t;
      EXPECT_EQ(value(expected_shfl_xor(lane, c.xor_mask, 8)), o[7]) << "thread " << t;
      EXPECT_EQ(value(expected_shfl_down(lane, c.delta, 32)) * 4 + 1, o[8]) << "thread " << t;
      EXPECT_EQ(value(expected_shfl_xor(lane, c.xor_mask, 32)) * 2 + 1, o[9]) << "thread " << t;
      EXPECT_EQ(value(expected_shfl_up(lane, c.delta, 32)), o[10]) << "thread " << t;
      EXPECT_EQ(value(expected_shfl(lane, c.src, 16)), o[11]) << "thread " << t;
    }
  }
}

TEST(Emulation, VotesWithFullMask) {
  const unsigned threads = 96;
  DeviceBuffer<unsigned> d_ballots(threads), d_active(threads);
  DeviceBuffer<int> d_any_all(threads * 4);
  ASSERT_EQ(cudaSuccess, launch_kernel(vote_kernel, dim3(1), dim3(threads), 0, nullptr, d_ballots.get(),
                                       d_any_all.get(), d_active.get()));
  unsigned expected_ballot = 0;
  for (unsigned lane = 0; lane < 32; ++lane)
    if ((lane * 7) % 5 == 0) expected_ballot |= 1u << lane;
  const std::vector<unsigned> ballots = d_ballots.download(), active = d_active.download();
  const std::vector<int> any_all = d_any_all.download();
  for (unsigned t = 0; t < threads; ++t) {
    EXPECT_EQ(expected_ballot, ballots[t]);
    EXPECT_EQ(1, any_all[t * 4 + 0]);
    EXPECT_EQ(0, any_all[t * 4 + 1]);
    EXPECT_EQ(1, any_all[t * 4 + 2]);
    EXPECT_EQ(0, any_all[t * 4 + 3]);
    EXPECT_EQ(0xffffffffu, active[t]);
  }
}

TEST(Emulation, ShufflesAndVotesWithPartialMasks) {
  const unsigned threads = 64;
  DeviceBuffer<int> d_out(threads * 6);
  ASSERT_EQ(cudaSuccess, launch_kernel(partial_mask_kernel, dim3(1), dim3(threads), 0, nullptr, d_out.get()));
  const std::vector<int> out = d_out.download();
  for (unsigned t = 0; t < threads; ++t) {
    const unsigned lane = t % 32;
    const int* o = &out[t * 6];
    if (lane % 2 == 0) {
      EXPECT_EQ(static_cast<int>(t ^ 2u), o[0]) << "thread " << t;
      EXPECT_EQ(0x11111111, o[1]) << "thread " << t;
      EXPECT_EQ(1, o[2]) << "thread " << t;
      EXPECT_EQ(1, o[3]) << "thread " << t;
    } else {
      for (int k = 0; k < 4; ++k) EXPECT_EQ(-7, o[k]) << "thread " << t;
    }
    if (lane < 16) {
      EXPECT_EQ(0x0000ff00, o[4]) << "thread " << t;
      EXPECT_EQ(static_cast<int>(lane < 12 ? t + 4 : t), o[5]) << "thread " << t;
    } else {
      EXPECT_EQ(-7, o[4]);
      EXPECT_EQ(-7, o[5]);
    }
  }
}

TEST(Emulation, WarpShuffleReduction) {
  const unsigned blocks = 7, threads = 256;
  std::vector<float> input(blocks * threads);
  for (size_t i = 0; i < input.size(); ++i) input[i] = static_cast<float>(i % 13) - 6.0f;
  DeviceBuffer<float> d_input(input), d_sums(blocks);
  ASSERT_EQ(cudaSuccess,
            launch_kernel(warp_reduce_kernel, dim3(blocks), dim3(threads), 0, nullptr, d_input.get(), d_sums.get()));
  const std::vector<float> sums = d_sums.download();
  for (unsigned b = 0; b < blocks; ++b) {
    float expected = 0;
    for (unsigned t = 0; t < threads; ++t) expected += input[b * threads + t];
    EXPECT_EQ(expected, sums[b]) << "block " << b;
  }
}

TEST(Emulation, PartialLastWarp) {
  const unsigned threads = 48;  // warp 1 has lanes 0..15 only
  DeviceBuffer<unsigned> d_ballots(threads), d_active(threads);
  DeviceBuffer<int> d_down(threads);
  ASSERT_EQ(cudaSuccess, launch_kernel(partial_warp_kernel, dim3(2), dim3(threads), 0, nullptr, d_ballots.get(),
                                       d_active.get(), d_down.get()));
  const std::vector<unsigned> ballots = d_ballots.download(), active = d_active.download();
  const std::vector<int> down = d_down.download();
  for (unsigned t = 0; t < threads; ++t) {
    const unsigned expected_mask = t < 32 ? 0xffffffffu : 0x0000ffffu;
    EXPECT_EQ(expected_mask, ballots[t]) << "thread " << t;
    EXPECT_EQ(expected_mask, active[t]) << "thread " << t;
    const unsigned lane = t % 32;
    if (t < 32) {
      EXPECT_EQ(static_cast<int>(lane < 24 ? t + 8 : t), down[t]) << "thread " << t;
    } else if (lane < 8) {
      EXPECT_EQ(static_cast<int>(t + 8), down[t]) << "thread " << t;
    } else {
      EXPECT_EQ(-1, down[t]) << "a lane absent from the warp reads as the poison, thread " << t;
    }
  }
}

TEST(Emulation, WarpMatchAndReduce) {
  const unsigned threads = 32;
  DeviceBuffer<unsigned> d_out(threads * 8);
  ASSERT_EQ(cudaSuccess, launch_kernel(warp_match_reduce_kernel, dim3(1), dim3(threads), 0, nullptr, d_out.get()));
  const std::vector<unsigned> out = d_out.download();
  unsigned max_expected = 0;
  for (unsigned lane = 0; lane < 32; ++lane) max_expected = std::max(max_expected, lane * 3u % 31u);
  for (unsigned t = 0; t < threads; ++t) {
    const unsigned* o = &out[t * 8];
    EXPECT_EQ(0x11111111u << (t % 4), o[0]);
    EXPECT_EQ(0xffffffffu, o[1]);
    EXPECT_EQ(1u, o[2]);
    EXPECT_EQ(31u * 32u / 2u, o[3]);
    EXPECT_EQ(max_expected, o[4]);
    EXPECT_EQ(static_cast<unsigned>(-20), o[5]);
    EXPECT_EQ(0xffu, o[6]);
    EXPECT_EQ(0x100u, o[7]);
  }
}

TEST(Emulation, ActivemaskExcludesDivergedLanes) {
  const unsigned threads = 64;
  DeviceBuffer<unsigned> d_out(2 * threads);
  ASSERT_EQ(cudaSuccess, cudaMemset(d_out.get(), 0, 2 * threads * sizeof(unsigned)));
  ASSERT_EQ(cudaSuccess, launch_kernel(activemask_divergent_kernel, dim3(2), dim3(threads), 0, nullptr, d_out.get()));
  const std::vector<unsigned> out = d_out.download();
  unsigned every_third = 0;
  for (unsigned lane = 0; lane < 32; lane += 3) every_third |= 1u << lane;
  for (unsigned t = 0; t < threads; ++t) {
    const unsigned lane = t % 32;
    EXPECT_EQ(lane < 8 ? 0xffu : 0u, out[t]) << "lanes 8..31 wait at __syncthreads, thread " << t;
    EXPECT_EQ(lane % 3 == 0 ? every_third : 0u, out[threads + t]) << "the other lanes exited, thread " << t;
  }
}

TEST(Emulation, Intrinsics) {
  DeviceBuffer<long long> d_out(32);
  ASSERT_EQ(cudaSuccess, launch_kernel(intrinsics_kernel, dim3(1), dim3(1), 0, nullptr, d_out.get()));
  const std::vector<long long> out = d_out.download();
  const long long expected[] = {
      17, 40, 0, 8,  41, 32, 31,         23, 0x80000000, 0x3f800000, 6, 0x80000000, 1,   0x3ff0000000000000ll,
      2,  7,  3, 10, 2,  17, 0x77553311, 3,  20 - 4,     2147483647, 2, 3,          -999};
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; ++i) EXPECT_EQ(expected[i], out[i]) << "result " << i;
}

TEST(Emulation, ScopedAtomics) {
  DeviceBuffer<int> d_counter(1);
  DeviceBuffer<unsigned> d_bits(1);
  DeviceBuffer<unsigned long long> d_swapped(1);
  d_counter.zero();
  d_bits.zero();
  d_swapped.zero();
  ASSERT_EQ(cudaSuccess, launch_kernel(scoped_atomics_kernel, dim3(3), dim3(48), 0, nullptr, d_counter.get(),
                                       d_bits.get(), d_swapped.get()));
  EXPECT_EQ(3 * 48 * 2, d_counter.download()[0]);
  EXPECT_EQ(0xffffffffu, d_bits.download()[0]);
  EXPECT_EQ(1000ull, d_swapped.download()[0]) << "only the first compare-and-swap finds 0";
}

// ---- Tests: launch failures -------------------------------------------------------------------

TEST(Emulation, DivergentBarrierFailsTheLaunchAndTheNextLaunchWorks) {
  DeviceBuffer<int> d_out(256);
  (void)cudaGetLastError();
  testing::internal::CaptureStderr();
  // ups_emu::launch directly: the layer records the error as the last error; whether the launch
  // helper then consumes it (as its nvcc path does with cudaGetLastError) is the helper's business.
  const cudaError_t error =
      ups_emu::launch(divergent_barrier_kernel, dim3(5), dim3(256), 0, nullptr, d_out.get(), 200u);
  const std::string message = testing::internal::GetCapturedStderr();
  EXPECT_EQ(cudaErrorLaunchFailure, error);
  EXPECT_NE(std::string::npos, message.find("__syncthreads reached by 200 of 256 threads of block (0,0,0); 56 exited"))
      << message;
  EXPECT_NE(std::string::npos, message.find("divergent_barrier_kernel")) << message;
  EXPECT_EQ(cudaErrorLaunchFailure, cudaGetLastError());
  EXPECT_EQ(cudaSuccess, cudaGetLastError());

  ASSERT_EQ(cudaSuccess, launch_kernel(divergent_barrier_kernel, dim3(3), dim3(256), 0, nullptr, d_out.get(), 256u));
  std::vector<long long> got, expected;
  run_block_sum<true>(dim3(3), dim3(256), &got, &expected);
  EXPECT_EQ(expected, got);
}

TEST(Emulation, DeadlockedWarpCollectiveFailsTheLaunch) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(cudaErrorLaunchFailure, launch_kernel(warp_barrier_deadlock_kernel, dim3(2), dim3(64), 0, nullptr));
  const std::string message = testing::internal::GetCapturedStderr();
  EXPECT_NE(std::string::npos, message.find("deadlock in block (0,0,0)")) << message;
  EXPECT_NE(std::string::npos, message.find("__syncwarp")) << message;
  (void)cudaGetLastError();
  ASSERT_EQ(cudaSuccess, launch_kernel(empty_kernel, dim3(2), dim3(64), 0, nullptr));
}

TEST(Emulation, LaneOutsideItsMaskFailsTheLaunch) {
  DeviceBuffer<int> d_out(32);
  testing::internal::CaptureStderr();
  EXPECT_EQ(cudaErrorLaunchFailure,
            launch_kernel(lane_outside_mask_kernel, dim3(1), dim3(32), 0, nullptr, d_out.get()));
  const std::string message = testing::internal::GetCapturedStderr();
  EXPECT_NE(std::string::npos, message.find("__shfl_sync called by thread (1,0,0)")) << message;
  EXPECT_NE(std::string::npos, message.find("does not include the calling lane")) << message;
  (void)cudaGetLastError();
}

TEST(Emulation, TrapFailsTheLaunch) {
  DeviceBuffer<int> d_out(64);
  testing::internal::CaptureStderr();
  EXPECT_EQ(cudaErrorLaunchFailure, launch_kernel(trap_kernel, dim3(3), dim3(64), 0, nullptr, d_out.get()));
  const std::string message = testing::internal::GetCapturedStderr();
  EXPECT_NE(std::string::npos, message.find("__trap() called by thread (5,0,0)")) << message;
  (void)cudaGetLastError();
  ASSERT_EQ(cudaSuccess, launch_kernel(fill_kernel, dim3(1), dim3(64), 0, nullptr, d_out.get(), 9));
  for (int v : d_out.download()) EXPECT_EQ(9, v);
}

TEST(Emulation, LaunchFromAKernelIsRejected) {
  DeviceBuffer<cudaError_t> d_result(1);
  testing::internal::CaptureStderr();
  ASSERT_EQ(cudaSuccess, launch_kernel(nested_launch_kernel, dim3(1), dim3(1), 0, nullptr, d_result.get()));
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(cudaErrorNotSupported, d_result.download()[0]);
  (void)cudaGetLastError();
}

TEST(Emulation, LaunchConfigurationErrors) {
  (void)cudaGetLastError();
  auto launch = [](dim3 grid, dim3 block, size_t shared = 0) {
    return launch_kernel(empty_kernel, grid, block, shared, nullptr);
  };
  EXPECT_EQ(cudaSuccess, launch(dim3(1), dim3(1024)));
  EXPECT_EQ(cudaErrorInvalidConfiguration, launch(dim3(1), dim3(1025)));
  EXPECT_EQ(cudaErrorInvalidConfiguration, launch(dim3(1), dim3(1, 1025)));
  EXPECT_EQ(cudaSuccess, launch(dim3(1), dim3(1, 1, 64)));
  EXPECT_EQ(cudaErrorInvalidConfiguration, launch(dim3(1), dim3(1, 1, 65)));
  EXPECT_EQ(cudaErrorInvalidConfiguration, launch(dim3(1), dim3(32, 32, 2)));
  EXPECT_EQ(cudaErrorInvalidConfiguration, launch(dim3(1), dim3(0)));
  EXPECT_EQ(cudaErrorInvalidConfiguration, launch(dim3(0), dim3(32)));
  EXPECT_EQ(cudaErrorInvalidConfiguration, launch(dim3(1, 0), dim3(32)));
  EXPECT_EQ(cudaErrorInvalidConfiguration, launch(dim3(1, 65536), dim3(32)));
  EXPECT_EQ(cudaErrorInvalidConfiguration, launch(dim3(1, 1, 65536), dim3(32)));
  EXPECT_EQ(cudaErrorInvalidConfiguration, launch(dim3(2147483648u), dim3(32)));
  EXPECT_EQ(cudaSuccess, launch(dim3(1, 65535), dim3(1)));
  // Dynamic shared memory: 48 KiB without opting in, up to 227 KiB after cudaFuncSetAttribute.
  EXPECT_EQ(cudaSuccess, launch(dim3(1), dim3(32), 48 * 1024));
  EXPECT_EQ(cudaErrorInvalidValue, launch(dim3(1), dim3(32), 48 * 1024 + 1));
  int* d_one = nullptr;
  ASSERT_EQ(cudaSuccess, cudaMalloc(&d_one, sizeof(int)));
  EXPECT_EQ(cudaErrorInvalidValue, launch_kernel(fill_kernel, dim3(1), dim3(1), 100000, nullptr, d_one, 0));
  ASSERT_EQ(cudaSuccess, cudaFuncSetAttribute(fill_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 100000));
  EXPECT_EQ(cudaSuccess, launch_kernel(fill_kernel, dim3(1), dim3(1), 100000, nullptr, d_one, 0));
  EXPECT_EQ(cudaErrorInvalidValue, launch_kernel(fill_kernel, dim3(1), dim3(1), 100001, nullptr, d_one, 0));
  EXPECT_EQ(cudaErrorInvalidValue,
            cudaFuncSetAttribute(fill_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 232449));
  ASSERT_EQ(cudaSuccess, cudaFuncSetAttribute(fill_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 232448));
  EXPECT_EQ(cudaSuccess, launch_kernel(fill_kernel, dim3(1), dim3(1), 232448, nullptr, d_one, 0));
  cudaFuncAttributes attributes{};
  ASSERT_EQ(cudaSuccess, cudaFuncGetAttributes(&attributes, fill_kernel));
  EXPECT_EQ(232448, attributes.maxDynamicSharedSizeBytes);
  ASSERT_EQ(cudaSuccess, cudaFuncGetAttributes(&attributes, empty_kernel));
  EXPECT_EQ(48 * 1024, attributes.maxDynamicSharedSizeBytes);
  EXPECT_EQ(1024, attributes.maxThreadsPerBlock);
  // The attribute is process-wide: put it back for the other tests (and for --gtest_repeat).
  ASSERT_EQ(cudaSuccess, cudaFuncSetAttribute(fill_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 48 * 1024));
  EXPECT_EQ(cudaErrorInvalidValue, launch_kernel(fill_kernel, dim3(1), dim3(1), 48 * 1024 + 1, nullptr, d_one, 0));
  EXPECT_EQ(cudaSuccess, cudaFree(d_one));
  // A destroyed stream is an invalid handle.
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaSuccess, cudaStreamCreate(&stream));
  EXPECT_EQ(cudaSuccess, launch_kernel(empty_kernel, dim3(1), dim3(1), 0, stream));
  ASSERT_EQ(cudaSuccess, cudaStreamDestroy(stream));
  EXPECT_EQ(cudaErrorInvalidResourceHandle, launch_kernel(empty_kernel, dim3(1), dim3(1), 0, stream));
  (void)cudaGetLastError();
}

TEST(Emulation, LastErrorSemantics) {
  (void)cudaGetLastError();
  EXPECT_EQ(cudaSuccess, cudaPeekAtLastError());
  // ups_emu::launch directly, as in DivergentBarrierFailsTheLaunchAndTheNextLaunchWorks.
  EXPECT_EQ(cudaErrorInvalidConfiguration, ups_emu::launch(empty_kernel, dim3(1), dim3(2048), 0, nullptr));
  EXPECT_EQ(cudaErrorInvalidConfiguration, cudaPeekAtLastError());
  EXPECT_EQ(cudaErrorInvalidConfiguration, cudaPeekAtLastError());
  // A later success does not clear it; a later failure replaces it.
  EXPECT_EQ(cudaSuccess, ups_emu::launch(empty_kernel, dim3(1), dim3(32), 0, nullptr));
  EXPECT_EQ(cudaErrorInvalidConfiguration, cudaPeekAtLastError());
  EXPECT_EQ(cudaErrorInvalidDevice, cudaSetDevice(1));
  // The last error belongs to the host thread that made the call.
  cudaError_t other_thread = cudaErrorUnknown;
  std::thread([&] { other_thread = cudaPeekAtLastError(); }).join();
  EXPECT_EQ(cudaSuccess, other_thread);
  EXPECT_EQ(cudaErrorInvalidDevice, cudaGetLastError());
  EXPECT_EQ(cudaSuccess, cudaGetLastError());
  EXPECT_EQ(cudaSuccess, cudaPeekAtLastError());
  EXPECT_STREQ("cudaErrorInvalidConfiguration", cudaGetErrorName(cudaErrorInvalidConfiguration));
  EXPECT_STREQ("invalid configuration argument", cudaGetErrorString(cudaErrorInvalidConfiguration));
  EXPECT_STREQ("unspecified launch failure", cudaGetErrorString(cudaErrorLaunchFailure));
  EXPECT_STREQ("invalid argument", cudaGetErrorString(cudaErrorInvalidValue));
  EXPECT_STREQ("no error", cudaGetErrorString(cudaSuccess));
}

// ---- Tests: runtime API -----------------------------------------------------------------------

TEST(Emulation, PointerAttributes) {
  void* device = nullptr;
  void* host = nullptr;
  void* managed = nullptr;
  ASSERT_EQ(cudaSuccess, cudaMalloc(&device, 1000));
  ASSERT_EQ(cudaSuccess, cudaMallocHost(&host, 1000));
  ASSERT_EQ(cudaSuccess, cudaMallocManaged(&managed, 1000));
  EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(device) % 256);
  EXPECT_EQ(0u, reinterpret_cast<uintptr_t>(managed) % 256);

  cudaPointerAttributes a{};
  for (size_t offset : {size_t{0}, size_t{100}, size_t{999}}) {
    SCOPED_TRACE(testing::Message() << "offset " << offset);
    char* d = static_cast<char*>(device) + offset;
    ASSERT_EQ(cudaSuccess, cudaPointerGetAttributes(&a, d));
    EXPECT_EQ(cudaMemoryTypeDevice, a.type);
    EXPECT_EQ(0, a.device);
    EXPECT_EQ(d, a.devicePointer);
    EXPECT_EQ(nullptr, a.hostPointer);

    char* h = static_cast<char*>(host) + offset;
    ASSERT_EQ(cudaSuccess, cudaPointerGetAttributes(&a, h));
    EXPECT_EQ(cudaMemoryTypeHost, a.type);
    EXPECT_EQ(0, a.device);
    EXPECT_EQ(h, a.devicePointer);
    EXPECT_EQ(h, a.hostPointer);

    char* m = static_cast<char*>(managed) + offset;
    ASSERT_EQ(cudaSuccess, cudaPointerGetAttributes(&a, m));
    EXPECT_EQ(cudaMemoryTypeManaged, a.type);
    EXPECT_EQ(m, a.devicePointer);
    EXPECT_EQ(m, a.hostPointer);
  }
  // One past the end is not inside the allocation.
  ASSERT_EQ(cudaSuccess, cudaPointerGetAttributes(&a, static_cast<char*>(device) + 1000));
  EXPECT_NE(cudaMemoryTypeDevice, a.type);

  int on_stack = 0;
  std::vector<int> on_heap(10);
  for (const void* unknown : {static_cast<const void*>(&on_stack), static_cast<const void*>(on_heap.data())}) {
    ASSERT_EQ(cudaSuccess, cudaPointerGetAttributes(&a, unknown));
    EXPECT_EQ(cudaMemoryTypeUnregistered, a.type);
    EXPECT_EQ(nullptr, a.devicePointer);
  }
  EXPECT_EQ(cudaSuccess, cudaPeekAtLastError());

  EXPECT_EQ(cudaErrorInvalidValue, cudaFree(host)) << "pinned host memory is freed with cudaFreeHost";
  EXPECT_EQ(cudaErrorInvalidValue, cudaFreeHost(device));
  EXPECT_EQ(cudaErrorInvalidValue, cudaFree(static_cast<char*>(device) + 1))
      << "an interior pointer is not an allocation";
  EXPECT_EQ(cudaErrorInvalidValue, cudaFree(on_heap.data()));
  (void)cudaGetLastError();
  EXPECT_EQ(cudaSuccess, cudaFree(device));
  EXPECT_EQ(cudaSuccess, cudaFreeHost(host));
  EXPECT_EQ(cudaSuccess, cudaFree(managed));
  EXPECT_EQ(cudaSuccess, cudaFree(nullptr));
  EXPECT_EQ(cudaSuccess, cudaFreeHost(nullptr));
  ASSERT_EQ(cudaSuccess, cudaPointerGetAttributes(&a, device));
  EXPECT_EQ(cudaMemoryTypeUnregistered, a.type) << "a freed allocation is forgotten";

  void* empty = reinterpret_cast<void*>(0x1);
  EXPECT_EQ(cudaSuccess, cudaMalloc(&empty, 0));
  EXPECT_EQ(nullptr, empty);
}

TEST(Emulation, MemcpyAndMemset) {
  const size_t n = 1000;
  std::vector<int> host(n);
  std::iota(host.begin(), host.end(), -300);
  int* a = nullptr;
  int* b = nullptr;
  ASSERT_EQ(cudaSuccess, cudaMalloc(&a, n * sizeof(int)));
  ASSERT_EQ(cudaSuccess, cudaMalloc(&b, n * sizeof(int)));
  int fresh = 0;
  ASSERT_EQ(cudaSuccess, cudaMemcpy(&fresh, a + 17, sizeof(int), cudaMemcpyDeviceToHost));
  EXPECT_EQ(-1, fresh) << "fresh device memory holds the 0xff poison";

  ASSERT_EQ(cudaSuccess, cudaMemcpy(a, host.data(), n * sizeof(int), cudaMemcpyHostToDevice));
  ASSERT_EQ(cudaSuccess, cudaMemcpy(b, a, n * sizeof(int), cudaMemcpyDeviceToDevice));
  std::vector<int> back(n, 0);
  ASSERT_EQ(cudaSuccess, cudaMemcpy(back.data(), b, n * sizeof(int), cudaMemcpyDeviceToHost));
  EXPECT_EQ(host, back);

  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaSuccess, cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  ASSERT_EQ(cudaSuccess, cudaMemsetAsync(b + 10, 0x01, 5 * sizeof(int), stream));
  ASSERT_EQ(cudaSuccess, cudaMemcpyAsync(back.data(), b, n * sizeof(int), cudaMemcpyDefault, stream));
  ASSERT_EQ(cudaSuccess, cudaStreamSynchronize(stream));
  EXPECT_EQ(cudaSuccess, cudaStreamQuery(stream));
  for (size_t i = 0; i < n; ++i) EXPECT_EQ((i >= 10 && i < 15) ? 0x01010101 : host[i], back[i]) << i;
  ASSERT_EQ(cudaSuccess, cudaMemset(a, 0, n * sizeof(int)));
  ASSERT_EQ(cudaSuccess, cudaMemcpy(back.data(), a, n * sizeof(int), cudaMemcpyDeviceToHost));
  EXPECT_EQ(std::vector<int>(n, 0), back);
  ASSERT_EQ(cudaSuccess, cudaStreamDestroy(stream));

  // Device-side ranges must lie inside one allocation; copies of nothing always succeed.
  EXPECT_EQ(cudaErrorInvalidValue, cudaMemcpy(host.data(), back.data(), 4, cudaMemcpyHostToDevice));
  EXPECT_EQ(cudaErrorInvalidValue, cudaMemcpy(back.data(), host.data(), 4, cudaMemcpyDeviceToHost));
  EXPECT_EQ(cudaErrorInvalidValue, cudaMemcpy(a + 1, host.data(), n * sizeof(int), cudaMemcpyHostToDevice));
  EXPECT_EQ(cudaErrorInvalidValue, cudaMemset(host.data(), 0, 4));
  EXPECT_EQ(cudaErrorInvalidMemcpyDirection, cudaMemcpy(a, b, 4, static_cast<cudaMemcpyKind>(7)));
  EXPECT_EQ(cudaSuccess, cudaMemcpy(nullptr, nullptr, 0, cudaMemcpyHostToDevice));
  EXPECT_EQ(cudaSuccess, cudaMemcpy(back.data(), host.data(), 8, cudaMemcpyHostToHost));
  (void)cudaGetLastError();

  size_t free_before = 0, total = 0, free_after = 0;
  ASSERT_EQ(cudaSuccess, cudaMemGetInfo(&free_before, &total));
  void* big = nullptr;
  ASSERT_EQ(cudaSuccess, cudaMalloc(&big, 1 << 20));
  ASSERT_EQ(cudaSuccess, cudaMemGetInfo(&free_after, &total));
  EXPECT_EQ(free_before - (1 << 20), free_after);
  EXPECT_LE(free_after, total);
  EXPECT_EQ(cudaSuccess, cudaFree(big));
  EXPECT_EQ(cudaSuccess, cudaFree(a));
  EXPECT_EQ(cudaSuccess, cudaFree(b));
}

TEST(Emulation, EventsMeasureNonNegativeTime) {
  cudaEvent_t start = nullptr, stop = nullptr, untimed = nullptr, never = nullptr;
  ASSERT_EQ(cudaSuccess, cudaEventCreate(&start));
  ASSERT_EQ(cudaSuccess, cudaEventCreate(&stop));
  ASSERT_EQ(cudaSuccess, cudaEventCreateWithFlags(&untimed, cudaEventDisableTiming));
  ASSERT_EQ(cudaSuccess, cudaEventCreate(&never));
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaSuccess, cudaStreamCreate(&stream));
  DeviceBuffer<int> d_out(256 * 8);
  ASSERT_EQ(cudaSuccess, cudaEventRecord(start, stream));
  ASSERT_EQ(cudaSuccess, launch_kernel(fill_kernel, dim3(8), dim3(256), 0, stream, d_out.get(), 3));
  ASSERT_EQ(cudaSuccess, cudaEventRecord(stop, stream));
  ASSERT_EQ(cudaSuccess, cudaEventRecord(untimed, stream));
  ASSERT_EQ(cudaSuccess, cudaEventSynchronize(stop));
  EXPECT_EQ(cudaSuccess, cudaEventQuery(stop));
  EXPECT_EQ(cudaSuccess, cudaStreamWaitEvent(stream, stop, 0));
  float ms = -1.0f;
  ASSERT_EQ(cudaSuccess, cudaEventElapsedTime(&ms, start, stop));
  EXPECT_GE(ms, 0.0f);
  EXPECT_LT(ms, 60000.0f);
  EXPECT_EQ(cudaErrorInvalidResourceHandle, cudaEventElapsedTime(&ms, start, untimed));
  EXPECT_EQ(cudaErrorInvalidResourceHandle, cudaEventElapsedTime(&ms, start, never));
  (void)cudaGetLastError();
  for (cudaEvent_t e : {start, stop, untimed, never}) EXPECT_EQ(cudaSuccess, cudaEventDestroy(e));
  EXPECT_EQ(cudaErrorInvalidResourceHandle, cudaEventDestroy(start));
  EXPECT_EQ(cudaSuccess, cudaStreamDestroy(stream));
  (void)cudaGetLastError();
}

TEST(Emulation, DeviceProperties) {
  int count = 0, device = -1, value = 0;
  ASSERT_EQ(cudaSuccess, cudaGetDeviceCount(&count));
  EXPECT_EQ(1, count);
  ASSERT_EQ(cudaSuccess, cudaSetDevice(0));
  ASSERT_EQ(cudaSuccess, cudaGetDevice(&device));
  EXPECT_EQ(0, device);
  cudaDeviceProp prop{};
  ASSERT_EQ(cudaSuccess, cudaGetDeviceProperties(&prop, 0));
  EXPECT_STREQ("upsample emulated device (sm_90)", prop.name);
  EXPECT_EQ(9, prop.major);
  EXPECT_EQ(0, prop.minor);
  EXPECT_EQ(132, prop.multiProcessorCount);
  EXPECT_EQ(32, prop.warpSize);
  EXPECT_EQ(1024, prop.maxThreadsPerBlock);
  EXPECT_EQ(2048, prop.maxThreadsPerMultiProcessor);
  EXPECT_EQ(232448u, prop.sharedMemPerBlockOptin);
  EXPECT_EQ(49152u, prop.sharedMemPerBlock);
  EXPECT_EQ(65536, prop.regsPerBlock);
  EXPECT_EQ(50 * 1024 * 1024, prop.l2CacheSize);
  EXPECT_EQ(65535, prop.maxGridSize[1]);
  EXPECT_EQ(cudaErrorInvalidDevice, cudaGetDeviceProperties(&prop, 1));
  const std::pair<cudaDeviceAttr, int> attributes[] = {
      {cudaDevAttrMaxThreadsPerBlock, 1024},
      {cudaDevAttrMaxSharedMemoryPerBlockOptin, 232448},
      {cudaDevAttrMultiProcessorCount, 132},
      {cudaDevAttrComputeCapabilityMajor, 9},
      {cudaDevAttrComputeCapabilityMinor, 0},
      {cudaDevAttrWarpSize, 32},
      {cudaDevAttrL2CacheSize, 50 * 1024 * 1024},
      {cudaDevAttrMaxGridDimX, 2147483647},
      {cudaDevAttrMaxGridDimY, 65535},
      {cudaDevAttrMaxGridDimZ, 65535},
      {cudaDevAttrMaxBlockDimZ, 64},
      {cudaDevAttrMaxSharedMemoryPerBlock, 49152},
  };
  for (const auto& [attr, expected] : attributes) {
    ASSERT_EQ(cudaSuccess, cudaDeviceGetAttribute(&value, attr, 0)) << attr;
    EXPECT_EQ(expected, value) << attr;
  }
  int version = 0;
  ASSERT_EQ(cudaSuccess, cudaRuntimeGetVersion(&version));
  EXPECT_EQ(CUDART_VERSION, version);
  ASSERT_EQ(cudaSuccess, cudaDriverGetVersion(&version));
  EXPECT_GE(version, CUDART_VERSION);
  int blocks = 0;
  ASSERT_EQ(cudaSuccess, cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, fill_kernel, 256, 0));
  EXPECT_EQ(8, blocks);
  EXPECT_EQ(cudaSuccess, cudaDeviceSynchronize());
  (void)cudaGetLastError();
}

// ---- Tests: host threads and the fiber pool ---------------------------------------------------

TEST(Emulation, ConcurrentLaunchesFromTwoHostThreads) {
  std::vector<long long> failures(2, 0);
  auto work = [&failures](int id) {
    const dim3 block = id == 0 ? dim3(256) : dim3(8, 8, 2);
    for (int round = 0; round < 25; ++round) {
      std::vector<long long> got, expected;
      run_block_sum<true>(dim3(3 + round % 4), block, &got, &expected);
      if (got != expected) ++failures[static_cast<size_t>(id)];
    }
  };
  std::thread first(work, 0), second(work, 1);
  first.join();
  second.join();
  EXPECT_EQ(0, failures[0]);
  EXPECT_EQ(0, failures[1]);
}

TEST(Emulation, FiberStacksAreReused) {
  DeviceBuffer<int> d_out(1024 * 4);
  ASSERT_EQ(cudaSuccess, launch_kernel(fill_kernel, dim3(4), dim3(1024), 0, nullptr, d_out.get(), 1));
  ASSERT_EQ(cudaSuccess, launch_kernel(by_value_parameter_kernel, dim3(1), dim3(1024), 0, nullptr, 1, d_out.get()));
  const ups_emu::Stats before = ups_emu::stats();
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(cudaSuccess, launch_kernel(fill_kernel, dim3(4), dim3(1024), 0, nullptr, d_out.get(), i));
    ASSERT_EQ(cudaSuccess, launch_kernel(by_value_parameter_kernel, dim3(1), dim3(1024), 0, nullptr, i, d_out.get()));
  }
  const ups_emu::Stats after = ups_emu::stats();
  EXPECT_EQ(before.fibers_created, after.fibers_created);
  EXPECT_EQ(before.launches + 40, after.launches);
  EXPECT_EQ(before.threads + 20 * 5 * 1024, after.threads);
}

}  // namespace

// ---- What the emulated suite relies on to catch kernel bugs ------------------------------------

// Writes out[i] = i for every i < n except `skipped`: a kernel with a forgotten element.
__global__ void write_all_but_one(float* out, int n, int skipped) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n && i != skipped) out[i] = static_cast<float>(i);
}

// The suites poison outputs with NaN before a kernel runs (tests/test_util.h): an element the
// kernel never writes stays NaN, and NaN never passes a comparison.
TEST(Emulation, PoisonedOutputRevealsAnUnwrittenElement) {
  constexpr int n = 1000, skipped = 617;
  DeviceBuffer<float> out(n);
  ASSERT_EQ(cudaSuccess, cudaMemset(out.get(), 0xFF, n * sizeof(float)));  // all-ones bits: NaN
  ASSERT_EQ(cudaSuccess, launch_kernel(write_all_but_one, dim3(4), dim3(256), 0, nullptr, out.get(), n, skipped));
  const std::vector<float> host = out.download();
  for (int i = 0; i < n; ++i) {
    if (i == skipped)
      EXPECT_TRUE(host[static_cast<size_t>(i)] != host[static_cast<size_t>(i)]) << "the unwritten element must stay NaN";
    else
      EXPECT_EQ(static_cast<float>(i), host[static_cast<size_t>(i)]);
  }
}

__global__ void write_one_past_the_end(float* out, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i <= n) out[i] = 1.0f;  // the bug: <= instead of <
}

// Device memory is host memory under the emulation, so AddressSanitizer sees a kernel's
// out-of-bounds write as it happens and names the kernel's line. The `sanitize` workflow runs the
// emulated suite that way; a plain build has no sanitizer to catch it, so the test skips there.
TEST(Emulation, OutOfBoundsWriteIsCaughtByAddressSanitizer) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        float* out = nullptr;
        cudaMalloc(reinterpret_cast<void**>(&out), 100 * sizeof(float));
        launch_kernel(write_one_past_the_end, dim3(1), dim3(128), 0, nullptr, out, 100);
      },
      "AddressSanitizer: heap-buffer-overflow");
#else
  GTEST_SKIP() << "built without AddressSanitizer: `cmake --workflow --preset sanitize` runs this check";
#endif
}

// ---- What the `tsan` workflow catches: a missing barrier is a data race ------------------------

// Thread 0 hands a value to thread 1 through shared memory with no barrier in between: a data race
// on the GPU. Here the run-to-barrier order runs thread 0 first, so the answer is even right; only
// ThreadSanitizer, which sees every CUDA thread as a thread of its own, can tell.
constexpr int kMissingBarrierWriteLine = __LINE__ + 4;
constexpr int kMissingBarrierReadLine = __LINE__ + 4;
__global__ void missing_barrier_kernel(int* out) {
  __shared__ int value;
  if (threadIdx.x == 0) value = 42;
  if (threadIdx.x == 1) out[0] = value;  // the bug: no __syncthreads() between the write and the read
}

// The same hand-over, correct: ordered by __syncthreads, or (within a warp) by __syncwarp.
__global__ void handoff_with_syncthreads_kernel(int* out) {
  __shared__ int value;
  if (threadIdx.x == 0) value = 42;
  __syncthreads();
  if (threadIdx.x == 1) out[0] = value;
}
__global__ void handoff_with_syncwarp_kernel(int* out) {
  __shared__ int value;
  if (threadIdx.x == 0) value = 43;
  __syncwarp();
  if (threadIdx.x == 1) out[0] = value;
}

// Each half-warp meets at its own __syncwarp: lane 16 is not ordered after lane 0.
__global__ void other_half_warp_kernel(int* out) {
  __shared__ int value;
  const unsigned lane = threadIdx.x % 32;
  if (lane == 0) value = 44;
  __syncwarp(lane < 16 ? 0x0000ffffu : 0xffff0000u);
  if (lane == 16) out[0] = value;
}

// An atomic orders nothing but itself (CUDA's are relaxed): a flag set with one is no barrier.
__global__ void atomic_flag_kernel(int* out) {
  __shared__ int value;
  __shared__ unsigned flag;
  if (threadIdx.x == 0) {
    value = 45;
    atomicExch(&flag, 1u);
  }
  if (threadIdx.x == 1 && atomicAdd(&flag, 0u) == 1u) out[0] = value;
}

TEST(Emulation, MissingBarrierIsReportedByThreadSanitizer) {
#if UPS_EMU_TSAN
  const TsanHaltsOnFirstReport halt;
  // The report names both accesses with the kernel's source lines, and the CUDA threads.
  const std::string file = "emu_layer_test\\.cpp:";
  EXPECT_DEATH(
      {
        DeviceBuffer<int> out(1);
        launch_kernel(missing_barrier_kernel, dim3(1), dim3(64), 0, nullptr, out.get());
      },
      "WARNING: ThreadSanitizer: data race.*"
      "Read of size [0-9]+ .* by thread T[0-9]+:\n *#0 [^\n]*missing_barrier_kernel[^\n]*" +
          file + std::to_string(kMissingBarrierReadLine) +
          ".*Previous write of size [0-9]+ .* by thread T[0-9]+:\n *#0 [^\n]*missing_barrier_kernel[^\n]*" + file +
          std::to_string(kMissingBarrierWriteLine) + ".*CUDA thread \\(1,0,0\\) of block \\(0,0,0\\)");
#else
  GTEST_SKIP() << "built without ThreadSanitizer: `cmake --workflow --preset tsan` runs this check";
#endif
}

TEST(Emulation, WarpBarrierOrdersOnlyTheLanesTakingPart) {
#if UPS_EMU_TSAN
  const TsanHaltsOnFirstReport halt;
  EXPECT_DEATH(
      {
        DeviceBuffer<int> out(1);
        launch_kernel(other_half_warp_kernel, dim3(1), dim3(32), 0, nullptr, out.get());
      },
      "ThreadSanitizer: data race.*other_half_warp_kernel");
#else
  GTEST_SKIP() << "built without ThreadSanitizer: `cmake --workflow --preset tsan` runs this check";
#endif
}

TEST(Emulation, AtomicsOrderNothingElse) {
#if UPS_EMU_TSAN
  const TsanHaltsOnFirstReport halt;
  EXPECT_DEATH(
      {
        DeviceBuffer<int> out(1);
        launch_kernel(atomic_flag_kernel, dim3(1), dim3(32), 0, nullptr, out.get());
      },
      "ThreadSanitizer: data race.*atomic_flag_kernel");
#else
  GTEST_SKIP() << "built without ThreadSanitizer: `cmake --workflow --preset tsan` runs this check";
#endif
}

// The correct kernels run without a report, in a child that would stop at the first one (the
// whole suite also runs clean in-process: TSan makes the run fail at exit if anything is reported).
TEST(Emulation, BarriersAndAtomicsAreNotReportedByThreadSanitizer) {
#if UPS_EMU_TSAN
  const TsanHaltsOnFirstReport halt;
  EXPECT_EXIT(
      {
        DeviceBuffer<int> out(2);
        launch_kernel(handoff_with_syncthreads_kernel, dim3(3), dim3(64), 0, nullptr, out.get());
        launch_kernel(handoff_with_syncwarp_kernel, dim3(3), dim3(64), 0, nullptr, out.get() + 1);
        const std::vector<int> host = out.download();
        std::vector<long long> got;
        std::vector<long long> expected;
        run_block_sum<true>(dim3(4), dim3(8, 4, 4), &got, &expected);
        std::exit(host.at(0) == 42 && host.at(1) == 43 && got == expected ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
#else
  GTEST_SKIP() << "built without ThreadSanitizer: `cmake --workflow --preset tsan` runs this check";
#endif
}

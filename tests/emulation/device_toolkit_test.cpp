// The device toolkit of cuda/common/: fast division (NOTE [ Fast division ]) against `/` and `%`,
// overflow-free floor/ceil division (NOTE [ Index math without overflow ]), launch configuration
// (NOTE [ Launch configuration ]) and the vector-access helpers, on the host and in an emulated
// kernel.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "cuda/common/fast_divmod.cuh"
#include "cuda/common/index_math.cuh"
#include "cuda/common/launch.cuh"
#include "cuda/common/vector.cuh"

namespace upsample::cuda {
namespace {

__extension__ typedef __int128 Int128;

uint64_t fresh_seed() {
  const uint64_t seed = std::random_device{}();
  std::printf("device_toolkit_test seed %llu\n", static_cast<unsigned long long>(seed));
  return seed;
}

// Dividends every divisor is checked on: the first and last 2^16 values of the type, and the
// values around multiples q*d of the divisor for q near 0, near the top, and at powers of two.
template <typename U>
std::vector<U> edge_dividends(U d) {
  constexpr U kMax = std::numeric_limits<U>::max();
  std::vector<U> values;
  for (U n = 0; n < (U{1} << 16); ++n) values.push_back(n);
  for (U n = 0; n < (U{1} << 16); ++n) values.push_back(kMax - n);
  const U top_quotient = kMax / d;
  auto around = [&](U q) {
    if (q > top_quotient) return;
    const U base = q * d;
    for (int delta = -2; delta <= 2; ++delta) {
      const U n = base + static_cast<U>(delta);  // wraps at the ends on purpose: still a valid dividend
      values.push_back(n);
    }
  };
  for (U q = 0; q < 64; ++q) around(q);
  for (U q = 0; q < 64 && q <= top_quotient; ++q) around(top_quotient - q);
  for (int bit = 0; bit < static_cast<int>(sizeof(U) * 8); ++bit) around(U{1} << bit);
  return values;
}

template <typename U>
void expect_divides(const FastDivmodUnsigned<U>& fast, U d, U n) {
  U q = 0;
  const U r = fast.divmod(n, &q);
  if (q != n / d || r != n % d || fast.div(n) != n / d || fast.mod(n) != n % d) {
    ADD_FAILURE() << "n = " << n << ", d = " << d << ": fast q = " << q << " r = " << r << ", expected q = " << n / d
                  << " r = " << n % d;
  }
}

template <typename U>
std::vector<U> edge_divisors() {
  constexpr int kBits = sizeof(U) * 8;
  std::vector<U> divisors = {1, 2, 3, 5, 6, 7, 9, 10, 11, 25, 100, 641, 6700417};
  for (int bit = 1; bit < kBits; ++bit) {
    const U p = U{1} << bit;
    divisors.push_back(p);
    divisors.push_back(p - 1);
    divisors.push_back(p + 1);
  }
  divisors.push_back(std::numeric_limits<U>::max());      // 2^N - 1
  divisors.push_back(std::numeric_limits<U>::max() - 1);  // 2^N - 2
  divisors.push_back(U{0x7fffffff});                      // 2^31 - 1
  divisors.push_back(std::numeric_limits<U>::max() / 3);
  return divisors;
}

template <typename U>
void check_edges_and_random(int random_per_divisor, std::mt19937_64& rng) {
  for (U d : edge_divisors<U>()) {
    const FastDivmodUnsigned<U> fast(d);
    for (U n : edge_dividends<U>(d)) expect_divides(fast, d, n);
    for (int i = 0; i < random_per_divisor; ++i) expect_divides(fast, d, static_cast<U>(rng()));
    if (::testing::Test::HasFailure()) return;  // one divisor's report is enough
  }
}

TEST(DeviceToolkitFastDivmod, U32EdgeDivisorsEdgeAndRandomDividends) {
  std::mt19937_64 rng(fresh_seed());
  check_edges_and_random<uint32_t>(1 << 14, rng);
}

TEST(DeviceToolkitFastDivmod, U64EdgeDivisorsEdgeAndRandomDividends) {
  std::mt19937_64 rng(fresh_seed());
  check_edges_and_random<uint64_t>(1 << 13, rng);
}

// Every 32-bit divisor below 2^16 and random ones above, each on random and top dividends.
TEST(DeviceToolkitFastDivmod, U32ManyDivisors) {
  std::mt19937_64 rng(fresh_seed());
  auto check = [&](uint32_t d) {
    const FastDivmodU32 fast(d);
    for (int i = 0; i < 64; ++i) expect_divides(fast, d, static_cast<uint32_t>(rng()));
    expect_divides(fast, d, std::numeric_limits<uint32_t>::max());
    expect_divides(fast, d, d);
    expect_divides(fast, d, d - 1);
    expect_divides(fast, d, static_cast<uint32_t>(d * (std::numeric_limits<uint32_t>::max() / d)) - 1);
  };
  for (uint32_t d = 1; d < (1u << 16); ++d) check(d);
  for (int i = 0; i < (1 << 16); ++i) check(static_cast<uint32_t>(rng()) | 1u);
  for (int i = 0; i < (1 << 16); ++i) check(static_cast<uint32_t>(rng() >> (rng() % 32)) + 1u);
}

TEST(DeviceToolkitFastDivmod, U64ManyDivisors) {
  std::mt19937_64 rng(fresh_seed());
  for (int i = 0; i < (1 << 16); ++i) {
    const uint64_t d = (rng() >> (rng() % 64)) | 1u;
    const FastDivmodU64 fast(d);
    for (int j = 0; j < 16; ++j) expect_divides(fast, d, rng() >> (rng() % 64));
    expect_divides(fast, d, std::numeric_limits<uint64_t>::max());
    expect_divides(fast, d, d * (std::numeric_limits<uint64_t>::max() / d) - 1);
  }
}

// Every 32-bit dividend for the divisors the issue names. About a minute on one core: run by hand
// (--gtest_also_run_disabled_tests) after touching fast_divmod.cuh.
TEST(DeviceToolkitFastDivmod, DISABLED_U32AllDividendsForEdgeDivisors) {
  for (uint32_t d : {1u, 2u, 3u, 7u, 1u << 16, 1u << 31, 0x7fffffffu, 0xffffffffu, 0xfffffffeu, 641u}) {
    const FastDivmodU32 fast(d);
    uint64_t wrong = 0;
    for (uint64_t n = 0; n <= 0xffffffffu; ++n) {
      uint32_t q;
      const uint32_t r = fast.divmod(static_cast<uint32_t>(n), &q);
      wrong += (q != static_cast<uint32_t>(n) / d) | (r != static_cast<uint32_t>(n) % d);
    }
    EXPECT_EQ(wrong, 0u) << "d = " << d;
  }
}

// The signed view that kernels use: non-negative dividends of the index type.
TEST(DeviceToolkitFastDivmod, SignedIndexTypes) {
  std::mt19937_64 rng(fresh_seed());
  for (int32_t d : {1, 2, 3, 7, 1 << 20, std::numeric_limits<int32_t>::max()}) {
    const FastDivmod<int32_t> fast(d);
    EXPECT_EQ(fast.divisor(), d);
    for (int i = 0; i < 4096; ++i) {
      const int32_t n = static_cast<int32_t>(rng() & 0x7fffffffu);
      int32_t q;
      const int32_t r = fast.divmod(n, &q);
      ASSERT_EQ(q, n / d) << n;
      ASSERT_EQ(r, n % d) << n;
    }
    ASSERT_EQ(fast.div(std::numeric_limits<int32_t>::max()), std::numeric_limits<int32_t>::max() / d);
  }
  for (int64_t d : {int64_t{1}, int64_t{3}, int64_t{1} << 40, std::numeric_limits<int64_t>::max()}) {
    const FastDivmod<int64_t> fast(d);
    for (int i = 0; i < 4096; ++i) {
      const int64_t n = static_cast<int64_t>(rng() >> 1);
      ASSERT_EQ(fast.div(n), n / d) << n;
      ASSERT_EQ(fast.mod(n), n % d) << n;
    }
    ASSERT_EQ(fast.div(std::numeric_limits<int64_t>::max()), std::numeric_limits<int64_t>::max() / d);
  }
}

// The same struct divides inside a kernel (the emulation runs it on the CPU through __umulhi).
__global__ void divide_kernel(FastDivmod<int32_t> fast, const int32_t* n, int32_t* q, int32_t* r, int count) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < count) r[i] = fast.divmod(n[i], &q[i]);
}

TEST(DeviceToolkitFastDivmod, InsideAKernel) {
  std::mt19937_64 rng(fresh_seed());
  constexpr int kCount = 1000;
  const int32_t d = 12345;
  int32_t *n, *q, *r;
  ASSERT_EQ(cudaMallocManaged(&n, kCount * sizeof(int32_t)), cudaSuccess);
  ASSERT_EQ(cudaMallocManaged(&q, kCount * sizeof(int32_t)), cudaSuccess);
  ASSERT_EQ(cudaMallocManaged(&r, kCount * sizeof(int32_t)), cudaSuccess);
  for (int i = 0; i < kCount; ++i) {
    n[i] = static_cast<int32_t>(rng() & 0x7fffffffu);
    q[i] = r[i] = -1;  // poison
  }
  ASSERT_EQ(launch_kernel(divide_kernel, grid_for(kCount), dim3(kThreadsPerBlock), 0, nullptr, FastDivmod<int32_t>(d),
                          static_cast<const int32_t*>(n), q, r, kCount),
            cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(q[i], n[i] / d) << i;
    ASSERT_EQ(r[i], n[i] % d) << i;
  }
  cudaFree(n);
  cudaFree(q);
  cudaFree(r);
}

// floor/ceil division at the ends of the type, where (a + b - 1) and -a overflow.
template <typename T>
void check_floor_ceil() {
  constexpr T kMax = std::numeric_limits<T>::max(), kMin = std::numeric_limits<T>::min();
  const std::vector<T> numerators = {0, 1, -1, 2, -2, 6, -6, 7, -7, kMax, kMax - 1, kMin, kMin + 1, kMax / 2, kMin / 2};
  const std::vector<T> divisors = {1, 2, 3, 7, kMax, kMax - 1, kMax / 2};
  for (T a : numerators) {
    for (T b : divisors) {
      // Exact answers from long double would lose bits for int64; use the quotient/remainder
      // identity: floor = q - (r < 0), ceil = q + (r > 0), checked by bounds b*f <= a < b*(f+1).
      const T f = floor_div(a, b), c = ceil_div(a, b);
      const Int128 A = a, B = b;
      EXPECT_TRUE(B * f <= A && A < B * (static_cast<Int128>(f) + 1)) << "floor_div(" << a << ", " << b << ") = " << f;
      EXPECT_TRUE(B * (static_cast<Int128>(c) - 1) < A && A <= B * c) << "ceil_div(" << a << ", " << b << ") = " << c;
    }
  }
}

TEST(DeviceToolkitIndexMath, FloorCeilDivAtTheEndsOfTheType) {
  check_floor_ceil<int32_t>();
  check_floor_ceil<int64_t>();
  // The fuzzer's case: ceil_div(1, 2^31 - 1) formed 1 + 2147483647 in int32.
  EXPECT_EQ(ceil_div<int32_t>(1, std::numeric_limits<int32_t>::max()), 1);
  EXPECT_EQ(floor_div<int32_t>(-1, std::numeric_limits<int32_t>::max()), -1);
}

TEST(DeviceToolkitLaunch, GridCapAndCover) {
  EXPECT_EQ(grid_for(0).x, 1u);
  EXPECT_EQ(grid_for(1).x, 1u);
  EXPECT_EQ(grid_for(kThreadsPerBlock).x, 1u);
  EXPECT_EQ(grid_for(kThreadsPerBlock + 1).x, 2u);
  EXPECT_EQ(grid_for(int64_t{kThreadsPerBlock} * 1000 - 1, kThreadsPerBlock).x, 1000u);
  EXPECT_EQ(grid_for(std::numeric_limits<int64_t>::max()).x, static_cast<unsigned>(kMaxGridBlocks));
  EXPECT_EQ(grid_for_blocks(kMaxGridBlocks + 1).x, static_cast<unsigned>(kMaxGridBlocks));
  EXPECT_EQ(grid_for_blocks(-5).x, 1u);
}

TEST(DeviceToolkitLaunch, SharedMemoryBudgetIsTheDevicesAndCached) {
  int device = 0, expected_default = 0, expected_optin = 0;
  ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&expected_default, cudaDevAttrMaxSharedMemoryPerBlock, device), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&expected_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device), cudaSuccess);
  for (int call = 0; call < 2; ++call) {  // the second answer comes from the cache
    SharedMemoryBudget budget;
    ASSERT_EQ(shared_memory_budget(&budget), UPS_STATUS_SUCCESS);
    EXPECT_EQ(budget.default_bytes, expected_default);
    EXPECT_EQ(budget.optin_bytes, expected_optin);
  }
}

__global__ void copy_vectors_kernel(const float* x, float* y, int vectors) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < vectors) store_vector<16>(y + 4 * i, load_vector<16>(x + 4 * i));
}

TEST(DeviceToolkitVector, AlignmentRuleAndCopy) {
  alignas(16) unsigned char bytes[64] = {};
  EXPECT_TRUE(vector_aligned(bytes, 16));
  EXPECT_FALSE(vector_aligned(bytes + 4, 16));
  EXPECT_TRUE(vector_aligned(bytes + 8, 8));
  EXPECT_FALSE(vector_aligned(bytes + 2, 4));
  EXPECT_EQ(vector_lanes(16, 2), 8);
  EXPECT_EQ(vector_lanes(8, 4), 2);
  static_assert(sizeof(VectorWord<16>::type) == 16 && sizeof(VectorWord<8>::type) == 8 &&
                sizeof(VectorWord<4>::type) == 4);

  std::mt19937_64 rng(fresh_seed());
  constexpr int kVectors = 300;
  float *x, *y;
  ASSERT_EQ(cudaMallocManaged(&x, kVectors * 16), cudaSuccess);
  ASSERT_EQ(cudaMallocManaged(&y, kVectors * 16), cudaSuccess);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (int i = 0; i < 4 * kVectors; ++i) {
    x[i] = value(rng);
    y[i] = std::numeric_limits<float>::quiet_NaN();  // poison
  }
  ASSERT_EQ(launch_kernel(copy_vectors_kernel, grid_for(kVectors), dim3(kThreadsPerBlock), 0, nullptr,
                          static_cast<const float*>(x), y, kVectors),
            cudaSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  for (int i = 0; i < 4 * kVectors; ++i) ASSERT_EQ(y[i], x[i]) << i;
  cudaFree(x);
  cudaFree(y);
}

// One vector of Bytes from x + load_offset to y + store_offset (byte offsets), by thread 0.
template <typename Vector>
__global__ void move_one_vector_kernel(const unsigned char* x, unsigned char* y, int load_offset, int store_offset) {
  if (threadIdx.x == 0) store_lanes(y + store_offset, load_lanes<Vector>(x + load_offset));
}

template <int Bytes>
__global__ void move_one_word_kernel(const unsigned char* x, unsigned char* y, int load_offset, int store_offset) {
  if (threadIdx.x == 0) store_vector<Bytes>(y + store_offset, load_vector<Bytes>(x + load_offset));
}

// The emulation fails a vector access whose address is not a multiple of its size, as the GPU
// does (cudaErrorMisalignedAddress), for loads and stores of every width; the failed launch writes
// nothing through the bad access, and the next launch works (the emulation's failures are not
// sticky). Offsets that are multiples of the width move the bytes.
template <typename Kernel>
void expect_alignment_enforced(Kernel kernel, int bytes, std::mt19937_64& rng) {
  SCOPED_TRACE(std::to_string(bytes) + "-byte vector");
  unsigned char *x, *y;
  ASSERT_EQ(cudaMallocManaged(&x, 64), cudaSuccess);
  ASSERT_EQ(cudaMallocManaged(&y, 64), cudaSuccess);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 64; ++i) x[i] = static_cast<unsigned char>(byte(rng));
  const int offsets[] = {0, 1, bytes / 2, bytes};  // misaligned by a byte and by half the width
  for (int load : offsets)
    for (int store : offsets) {
      SCOPED_TRACE("load offset " + std::to_string(load) + ", store offset " + std::to_string(store));
      std::memset(y, 0xA5, 64);
      const bool aligned = load % bytes == 0 && store % bytes == 0;
      const cudaError_t launched =
          launch_kernel(kernel, dim3(1), dim3(32), 0, nullptr, static_cast<const unsigned char*>(x), y, load, store);
      EXPECT_EQ(launched, aligned ? cudaSuccess : cudaErrorMisalignedAddress);
      for (int i = 0; i < 64; ++i) {
        const bool written = aligned && i >= store && i < store + bytes;
        ASSERT_EQ(y[i], written ? x[load + i - store] : 0xA5) << "byte " << i;
      }
    }
  cudaFree(x);
  cudaFree(y);
}

TEST(DeviceToolkitVector, EmulationFailsMisalignedVectorAccesses) {
  std::mt19937_64 rng(fresh_seed());
  expect_alignment_enforced(move_one_vector_kernel<Vector16<float>>, 16, rng);
  expect_alignment_enforced(move_one_vector_kernel<LaneVector<__half, 4>>, 8, rng);
  expect_alignment_enforced(move_one_vector_kernel<LaneVector<__nv_bfloat16, 2>>, 4, rng);
  expect_alignment_enforced(move_one_vector_kernel<LaneVector<double, 2>>, 16, rng);
  expect_alignment_enforced(move_one_word_kernel<16>, 16, rng);
  expect_alignment_enforced(move_one_word_kernel<8>, 8, rng);
  expect_alignment_enforced(move_one_word_kernel<4>, 4, rng);
}

}  // namespace
}  // namespace upsample::cuda

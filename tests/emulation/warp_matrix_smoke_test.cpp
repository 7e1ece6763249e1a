// Smoke tests of the warp-level matrix primitives (cuda/common/warp_matrix.cuh) under the
// emulation layer (NOTE [ Warp-level matrix primitives under the emulation ] in
// cuda/emu/emu_warp_matrix.cpp), by the engineer who wrote them: each primitive once against a
// scalar computation, ldmatrix feeding mma the way the engine will, cp.async's poison and group
// rules, and the ways a launch must fail. The independent, ISA-derived suite is warp_matrix_test.cpp.
//
// Inputs are small integers, so every mma result is exact and compared bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/launch.cuh"
#include "common/platform.cuh"
#include "common/warp_matrix.cuh"

namespace {

using upsample::cuda::launch_kernel;
namespace wm = upsample::cuda;

static_assert(UPS_HAS_WARP_MMA == 1 && UPS_HAS_LDMATRIX == 1, "the emulation provides every primitive");
static_assert(wm::kHasWarpMma && wm::kHasLdmatrix, "the emulation provides every primitive");

// ---- Helpers ----------------------------------------------------------------------------------

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count) {
    EXPECT_EQ(cudaSuccess, cudaMalloc(reinterpret_cast<void**>(&ptr_), count * sizeof(T)));
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) {
    EXPECT_EQ(cudaSuccess, cudaMemcpy(ptr_, host.data(), count_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DeviceBuffer() { EXPECT_EQ(cudaSuccess, cudaFree(ptr_)); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return ptr_; }
  std::vector<T> download() const {
    std::vector<T> host(count_);
    EXPECT_EQ(cudaSuccess, cudaMemcpy(host.data(), ptr_, count_ * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

uint16_t half_bits(float v) {
  const __half h = __float2half_rn(v);
  uint16_t bits;
  std::memcpy(&bits, &h, sizeof bits);
  return bits;
}
uint16_t bf16_bits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return static_cast<uint16_t>(bits >> 16);  // exact for the small integers used here
}
uint32_t float_bits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}
float bits_float(uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

// Small integers in [-4, 4] from a fixed formula (no generator needed for a smoke test).
float small_int(int i, int salt) { return static_cast<float>(((i * 7 + salt * 13) % 9) - 4); }

// D = A (MxK) * B (KxN) + C (MxN), row-major, in double.
std::vector<float> reference_mma(const std::vector<float>& a, const std::vector<float>& b, const std::vector<float>& c,
                                 int m, int n, int k) {
  std::vector<float> d(static_cast<size_t>(m * n));
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double sum = c[static_cast<size_t>(i * n + j)];
      for (int p = 0; p < k; ++p) sum += double{a[static_cast<size_t>(i * k + p)]} * b[static_cast<size_t>(p * n + j)];
      d[static_cast<size_t>(i * n + j)] = static_cast<float>(sum);
    }
  return d;
}

#if UPS_EMU_TSAN
// For a death test that expects a ThreadSanitizer report: the child process (re-executed, so that it
// reads TSAN_OPTIONS afresh) stops at its first report (as in emu_layer_test.cpp).
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

// Launches `kernel` expecting failure; returns what the emulation printed.
template <typename... KernelArgs, typename... Args>
std::string expect_launch_failure(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, Args&&... args) {
  testing::internal::CaptureStderr();
  const cudaError_t error = launch_kernel(kernel, grid, block, 0, nullptr, std::forward<Args>(args)...);
  const std::string message = testing::internal::GetCapturedStderr();
  EXPECT_EQ(cudaErrorLaunchFailure, error) << message;
  (void)cudaGetLastError();
  return message;
}

// ---- Kernels ----------------------------------------------------------------------------------

// f16 or bf16 m16n8k16 with fragments gathered straight from global memory (PTX ISA tables):
// A 16x16 row-major, B 16x8 row-major (K x N), C and D 16x8 row-major; 16-bit elements as bits.
template <bool kBf16, bool kAliasDC>
__global__ void mma_k16_direct_kernel(const uint16_t* a, const uint16_t* b, const float* c, float* d) {
  const unsigned lane = threadIdx.x % 32;
  const unsigned g = lane / 4;
  const unsigned t = lane % 4;
  auto pack = [](uint16_t lo, uint16_t hi) { return static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16); };
  uint32_t fa[4];
  for (unsigned r = 0; r < 4; ++r) {
    const unsigned row = g + 8 * (r % 2);
    const unsigned col = 2 * t + 8 * (r / 2);
    fa[r] = pack(a[row * 16 + col], a[row * 16 + col + 1]);
  }
  uint32_t fb[2];
  for (unsigned r = 0; r < 2; ++r) {
    const unsigned k = 2 * t + 8 * r;
    fb[r] = pack(b[k * 8 + g], b[(k + 1) * 8 + g]);
  }
  float fc[4];
  for (unsigned i = 0; i < 4; ++i) fc[i] = c[(g + 8 * (i / 2)) * 8 + 2 * t + i % 2];
  float fd[4] = {-1.0f, -1.0f, -1.0f, -1.0f};
  float(&out)[4] = kAliasDC ? fc : fd;
  if (kBf16)
    wm::mma_m16n8k16_bf16f32(out, fa, fb, fc);
  else
    wm::mma_m16n8k16_f16f32(out, fa, fb, fc);
  for (unsigned i = 0; i < 4; ++i) d[(g + 8 * (i / 2)) * 8 + 2 * t + i % 2] = out[i];
}

// tf32 m16n8k8: A 16x8, B 8x8 (K x N), as f32 bits whose low 13 bits the caller may have dirtied.
__global__ void mma_tf32_direct_kernel(const uint32_t* a, const uint32_t* b, const float* c, float* d) {
  const unsigned lane = threadIdx.x % 32;
  const unsigned g = lane / 4;
  const unsigned t = lane % 4;
  const uint32_t fa[4] = {a[g * 8 + t], a[(g + 8) * 8 + t], a[g * 8 + t + 4], a[(g + 8) * 8 + t + 4]};
  const uint32_t fb[2] = {b[t * 8 + g], b[(t + 4) * 8 + g]};
  float fc[4];
  for (unsigned i = 0; i < 4; ++i) fc[i] = c[(g + 8 * (i / 2)) * 8 + 2 * t + i % 2];
  float fd[4];
  wm::mma_m16n8k8_tf32f32(fd, fa, fb, fc);
  for (unsigned i = 0; i < 4; ++i) d[(g + 8 * (i / 2)) * 8 + 2 * t + i % 2] = fd[i];
}

// The engine's pattern: A (16x16) and B (16x8, K x N, row-major) staged in shared memory by
// cp.async, A read with ldmatrix.x4 and B with ldmatrix.x2.trans, then mma; `steps` k-tiles
// accumulate (A and B hold `steps` consecutive tiles), so the two exchanges alternate many times.
// Every warp of the block computes the same product into its own slice of d.
__global__ void ldmatrix_mma_kernel(const uint16_t* a, const uint16_t* b, float* d, int steps) {
  __shared__ __align__(16) uint16_t sa[4][16 * 16];
  __shared__ __align__(16) uint16_t sb[4][16 * 8];
  const unsigned lane = threadIdx.x % 32;
  const unsigned warp = threadIdx.x / 32;
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int s = 0; s < steps; ++s) {
    // A: 32 rows-halves of 16 bytes (lane: row lane/2, half lane%2); B: 16 rows of 16 bytes.
    wm::cp_async_cg_16(&sa[warp][(lane / 2) * 16 + (lane % 2) * 8], a + s * 256 + (lane / 2) * 16 + (lane % 2) * 8,
                       16);
    if (lane < 16) wm::cp_async_cg_16(&sb[warp][lane * 8], b + s * 128 + lane * 8, 16);
    wm::cp_async_commit_group();
    wm::cp_async_wait_group<0>();
    __syncwarp();
    uint32_t fa[4];
    uint32_t fb[2];
    // Matrix i = lane/8 of A's x4: rows 8*(i%2).., columns 8*(i/2)..; B's matrices: k rows 0-7, 8-15.
    wm::ldmatrix_x4(fa, &sa[warp][((lane % 8) + 8 * ((lane / 8) % 2)) * 16 + 8 * (lane / 16)]);
    wm::ldmatrix_x2_trans(fb, &sb[warp][(lane % 16) * 8]);
    wm::mma_m16n8k16_f16f32(acc, fa, fb, acc);
    __syncwarp();  // before the next step's copies overwrite the tiles
  }
  const unsigned g = lane / 4;
  const unsigned t = lane % 4;
  for (unsigned i = 0; i < 4; ++i) d[warp * 128 + (g + 8 * (i / 2)) * 8 + 2 * t + i % 2] = acc[i];
}

// Every ldmatrix variant over four 8x8 matrices whose rows lie scattered in shared memory (row r of
// matrix i at row slot 31 - (8i + r), 24 elements apart), each element valued 64i + 8r + c. Each
// lane writes its 1+2+4 (+ the same for .trans) registers; after the loads every lane overwrites
// the row it supplied, with no barrier: the results must not see that.
__global__ void ldmatrix_variants_kernel(uint32_t* out) {
  __shared__ __align__(16) uint16_t rows[32 * 24];
  const unsigned lane = threadIdx.x;
  const unsigned i = lane / 8;
  const unsigned r = lane % 8;
  uint16_t* my_row = &rows[(31 - lane) * 24];
  for (unsigned c = 0; c < 8; ++c) my_row[c] = static_cast<uint16_t>(64 * i + 8 * r + c);
  __syncwarp();
  uint32_t x1[1], x2[2], x4[4], t1[1], t2[2], t4[4];
  wm::ldmatrix_x1(x1, my_row);
  wm::ldmatrix_x2(x2, my_row);
  wm::ldmatrix_x4(x4, my_row);
  wm::ldmatrix_x1_trans(t1, my_row);
  wm::ldmatrix_x2_trans(t2, my_row);
  wm::ldmatrix_x4_trans(t4, my_row);
  for (unsigned c = 0; c < 8; ++c) my_row[c] = 0xdead;  // after this lane's loads, before others resume
  uint32_t* o = out + lane * 14;
  o[0] = x1[0];
  o[1] = x2[0];
  o[2] = x2[1];
  for (unsigned k = 0; k < 4; ++k) o[3 + k] = x4[k];
  o[7] = t1[0];
  o[8] = t2[0];
  o[9] = t2[1];
  for (unsigned k = 0; k < 4; ++k) o[10 + k] = t4[k];
}

// Each thread copies 16 bytes (src_bytes = lane % 17, so 0..16) and records the destination
// before and after the wait.
__global__ void cp_async_poison_kernel(const uint32_t* src, uint32_t* before, uint32_t* after) {
  __shared__ __align__(16) uint32_t tile[32 * 4];
  const unsigned lane = threadIdx.x;
  const int src_bytes = static_cast<int>(lane % 17);
  wm::cp_async_cg_16(&tile[lane * 4], src_bytes == 0 ? nullptr : src + lane * 4, src_bytes);
  for (unsigned k = 0; k < 4; ++k) before[lane * 4 + k] = tile[lane * 4 + k];
  wm::cp_async_commit_group();
  wm::cp_async_wait_group<0>();
  for (unsigned k = 0; k < 4; ++k) after[lane * 4 + k] = tile[lane * 4 + k];
}

// Groups: copy A (16 B), commit; copy B (8 B), commit; copy C (4 B), not committed. Snapshots of
// the three destinations after wait_group<2>, <1>, <0> and wait_all.
__global__ void cp_async_groups_kernel(const uint32_t* src, uint32_t* snapshots) {
  __shared__ __align__(16) uint32_t dst[8];
  wm::cp_async_cg_16(&dst[0], src, 16);
  wm::cp_async_commit_group();
  wm::cp_async_ca_8(&dst[4], src + 4, 8);
  wm::cp_async_commit_group();
  wm::cp_async_ca_4(&dst[6], src + 6, 4);
  auto snap = [&](int at) {
    for (int k = 0; k < 7; ++k) snapshots[at * 7 + k] = dst[k];
  };
  wm::cp_async_wait_group<2>();
  snap(0);
  wm::cp_async_wait_group<1>();
  snap(1);
  wm::cp_async_wait_group<0>();
  snap(2);
  wm::cp_async_wait_all();
  snap(3);
}

// Block 0's thread issues a copy into a static __shared__ array and exits without waiting; block 1
// reads the array (static __shared__ keeps its bytes across blocks under the emulation).
__global__ void cp_async_exit_kernel(const uint32_t* src, uint32_t* out) {
  __shared__ __align__(16) uint32_t kept[4];
  if (blockIdx.x == 0) {
    for (unsigned k = 0; k < 4; ++k) kept[k] = 0;
    wm::cp_async_cg_16(kept, src, 16);
    wm::cp_async_commit_group();
    return;
  }
  for (unsigned k = 0; k < 4; ++k) out[k] = kept[k];
}

// Thread 1 copies into dynamic shared memory and waits; thread 0 reads the destination with no
// barrier in between: a race (the wait makes the bytes visible to the issuing thread only).
__global__ void cp_async_missing_barrier_kernel(const uint32_t* src, uint32_t* out) {
  UPS_DYNAMIC_SHARED(uint32_t, tile);
  if (threadIdx.x == 1) {
    wm::cp_async_cg_16(tile, src, 16);
    wm::cp_async_wait_all();
  }
  if (threadIdx.x == 0) out[0] = tile[0];
}

// Failure cases.
__global__ void mma_half_warp_exits_kernel(float* d) {
  if (threadIdx.x >= 16) return;
  const uint32_t a[4] = {0, 0, 0, 0};
  const uint32_t b[2] = {0, 0};
  float c[4] = {0, 0, 0, 0};
  wm::mma_m16n8k16_f16f32(c, a, b, c);
  d[threadIdx.x] = c[0];
}

__global__ void mma_in_partial_warp_kernel(float* d) {
  const uint32_t a[4] = {0, 0, 0, 0};
  const uint32_t b[2] = {0, 0};
  float c[4] = {0, 0, 0, 0};
  wm::mma_m16n8k8_tf32f32(c, a, b, c);
  d[threadIdx.x] = c[0];
}

__global__ void ldmatrix_misaligned_kernel(uint32_t* out) {
  __shared__ __align__(16) uint16_t rows[8 * 8 + 8];
  uint32_t r[1];
  wm::ldmatrix_x1(r, &rows[(threadIdx.x % 8) * 8 + (threadIdx.x == 3 ? 4 : 0)]);  // lane 3: 8 bytes off
  out[threadIdx.x] = r[0];
}

#if !UPS_EMU_TSAN  // see LdmatrixBadAddressesFailTheLaunch
__global__ void ldmatrix_global_kernel(const uint16_t* global_rows, uint32_t* out) {
  uint32_t r[2];
  wm::ldmatrix_x2(r, global_rows + (threadIdx.x % 16) * 8);
  out[threadIdx.x] = r[0];
}
#endif

__global__ void mixed_matrix_instructions_kernel(uint32_t* out) {
  __shared__ __align__(16) uint16_t rows[32 * 8];
  rows[threadIdx.x] = 1;
  __syncwarp();
  uint32_t r[4] = {0, 0, 0, 0};
  if (threadIdx.x < 16) {
    wm::ldmatrix_x4(r, &rows[threadIdx.x * 8]);
  } else {
    uint32_t r2[2];
    wm::ldmatrix_x2(r2, &rows[(threadIdx.x % 16) * 8]);
    r[0] = r2[0];
  }
  out[threadIdx.x] = r[0];
}

__global__ void cp_async_bad_size_kernel(const uint32_t* src) {
  __shared__ __align__(16) uint32_t dst[4];
  wm::cp_async_cg_16(dst, src, threadIdx.x == 0 ? 17 : 16);
  wm::cp_async_wait_all();
}

__global__ void empty_kernel() {}

// ---- Tests: mma -------------------------------------------------------------------------------

template <bool kBf16, bool kAliasDC>
void check_mma_k16() {
  std::vector<float> a(256), b(128), c(128);
  for (int i = 0; i < 256; ++i) a[static_cast<size_t>(i)] = small_int(i, 1);
  for (int i = 0; i < 128; ++i) b[static_cast<size_t>(i)] = small_int(i, 2);
  for (int i = 0; i < 128; ++i) c[static_cast<size_t>(i)] = small_int(i, 3) * 0.5f;
  std::vector<uint16_t> a_bits(256), b_bits(128);
  for (size_t i = 0; i < 256; ++i) a_bits[i] = kBf16 ? bf16_bits(a[i]) : half_bits(a[i]);
  for (size_t i = 0; i < 128; ++i) b_bits[i] = kBf16 ? bf16_bits(b[i]) : half_bits(b[i]);
  DeviceBuffer<uint16_t> d_a(a_bits), d_b(b_bits);
  DeviceBuffer<float> d_c(c), d_d(128);
  ASSERT_EQ(cudaSuccess, launch_kernel(mma_k16_direct_kernel<kBf16, kAliasDC>, dim3(1), dim3(32), 0, nullptr,
                                       d_a.get(), d_b.get(), d_c.get(), d_d.get()));
  EXPECT_EQ(reference_mma(a, b, c, 16, 8, 16), d_d.download());
}

TEST(WarpMatrixSmoke, MmaF16MatchesScalarProduct) { check_mma_k16<false, false>(); }
TEST(WarpMatrixSmoke, MmaF16AccumulatesInPlace) { check_mma_k16<false, true>(); }
TEST(WarpMatrixSmoke, MmaBf16MatchesScalarProduct) { check_mma_k16<true, false>(); }

TEST(WarpMatrixSmoke, MmaTf32IgnoresTheLow13BitsOfItsOperands) {
  std::vector<float> a(128), b(64), c(128);
  for (int i = 0; i < 128; ++i) a[static_cast<size_t>(i)] = small_int(i, 4);
  for (int i = 0; i < 64; ++i) b[static_cast<size_t>(i)] = small_int(i, 5);
  for (int i = 0; i < 128; ++i) c[static_cast<size_t>(i)] = small_int(i, 6);
  std::vector<uint32_t> a_bits(128), b_bits(64);
  // Low bits set would change the value by up to 2^-10 relative if they were read.
  for (size_t i = 0; i < 128; ++i) a_bits[i] = float_bits(a[i]) | (a[i] != 0.0f ? 0x1fffu : 0u);
  for (size_t i = 0; i < 64; ++i) b_bits[i] = float_bits(b[i]) | (b[i] != 0.0f ? 0x1555u : 0u);
  DeviceBuffer<uint32_t> d_a(a_bits), d_b(b_bits);
  DeviceBuffer<float> d_c(c), d_d(128);
  ASSERT_EQ(cudaSuccess, launch_kernel(mma_tf32_direct_kernel, dim3(1), dim3(32), 0, nullptr, d_a.get(), d_b.get(),
                                       d_c.get(), d_d.get()));
  EXPECT_EQ(reference_mma(a, b, c, 16, 8, 8), d_d.download());
}

TEST(WarpMatrixSmoke, MmaTf32InfinityTimesZeroIsTheCanonicalNaN) {
  std::vector<uint32_t> a(128, 0), b(64, 0);
  const std::vector<float> c(128, 1.0f);
  a[3 * 8 + 5] = float_bits(INFINITY);  // A(3, k=5); B(5, n) = 0 for every n: row 3 is NaN
  a[9 * 8 + 2] = float_bits(2.0f);      // A(9, k=2) * B(2, n=4) = 2 * 3
  b[2 * 8 + 4] = float_bits(3.0f);
  DeviceBuffer<uint32_t> d_a(a), d_b(b);
  DeviceBuffer<float> d_c(c), d_d(128);
  ASSERT_EQ(cudaSuccess, launch_kernel(mma_tf32_direct_kernel, dim3(1), dim3(32), 0, nullptr, d_a.get(), d_b.get(),
                                       d_c.get(), d_d.get()));
  const std::vector<float> d = d_d.download();
  for (int row = 0; row < 16; ++row)
    for (int col = 0; col < 8; ++col) {
      const float v = d[static_cast<size_t>(row * 8 + col)];
      if (row == 3)
        EXPECT_EQ(0x7fffffffu, float_bits(v)) << "D(3, " << col << ")";
      else
        EXPECT_EQ(row == 9 && col == 4 ? 7.0f : 1.0f, v) << "D(" << row << ", " << col << ")";
    }
}

TEST(WarpMatrixSmoke, CvtRnaTf32RoundsTiesAwayFromZero) {
  EXPECT_EQ(0x3f800000u, wm::cvt_rna_tf32(1.0f));
  EXPECT_EQ(0x3f802000u, wm::cvt_rna_tf32(bits_float(0x3f801000u)));  // tie: away from zero
  EXPECT_EQ(0xbf802000u, wm::cvt_rna_tf32(bits_float(0xbf801000u)));
  EXPECT_EQ(0x3f800000u, wm::cvt_rna_tf32(bits_float(0x3f800fffu)));  // below the tie: down
  EXPECT_EQ(0x3f804000u, wm::cvt_rna_tf32(bits_float(0x3f803000u)));  // tie from an odd value: up too
  EXPECT_EQ(0x00002000u, wm::cvt_rna_tf32(bits_float(0x00001000u)));  // subnormal tie
  EXPECT_EQ(0x7f800000u, wm::cvt_rna_tf32(bits_float(0x7f7fffffu)));  // past the largest tf32: inf
  EXPECT_EQ(0xff800000u, wm::cvt_rna_tf32(-INFINITY));
  EXPECT_TRUE(std::isnan(bits_float(wm::cvt_rna_tf32(NAN))));
  EXPECT_TRUE(std::isnan(bits_float(wm::cvt_rna_tf32(bits_float(0x7f800001u)))));  // payload only in low bits
}

TEST(WarpMatrixSmoke, LdmatrixFeedsMmaAcrossManySteps) {
  constexpr int kSteps = 5;
  std::vector<float> a(256 * kSteps), b(128 * kSteps);
  for (size_t i = 0; i < a.size(); ++i) a[i] = small_int(static_cast<int>(i), 7);
  for (size_t i = 0; i < b.size(); ++i) b[i] = small_int(static_cast<int>(i), 8);
  std::vector<uint16_t> a_bits(a.size()), b_bits(b.size());
  for (size_t i = 0; i < a.size(); ++i) a_bits[i] = half_bits(a[i]);
  for (size_t i = 0; i < b.size(); ++i) b_bits[i] = half_bits(b[i]);
  // The reference: sum over steps of A_s (16x16) * B_s (16x8), i.e. A (16 x 16*steps) with its
  // tiles side by side times B (16*steps x 8) stacked.
  std::vector<float> a_wide(16 * 16 * kSteps), zero(128, 0.0f);
  for (int s = 0; s < kSteps; ++s)
    for (int r = 0; r < 16; ++r)
      for (int k = 0; k < 16; ++k)
        a_wide[static_cast<size_t>(r * 16 * kSteps + s * 16 + k)] = a[static_cast<size_t>(s * 256 + r * 16 + k)];
  const std::vector<float> expected = reference_mma(a_wide, b, zero, 16, 8, 16 * kSteps);
  DeviceBuffer<uint16_t> d_a(a_bits), d_b(b_bits);
  DeviceBuffer<float> d_d(4 * 128);
  ASSERT_EQ(cudaSuccess,
            launch_kernel(ldmatrix_mma_kernel, dim3(2), dim3(128), 0, nullptr, d_a.get(), d_b.get(), d_d.get(), kSteps));
  const std::vector<float> got = d_d.download();
  for (int w = 0; w < 4; ++w)
    EXPECT_EQ(expected, std::vector<float>(got.begin() + w * 128, got.begin() + (w + 1) * 128)) << "warp " << w;
}

// ---- Tests: ldmatrix --------------------------------------------------------------------------

TEST(WarpMatrixSmoke, LdmatrixVariantsDistributeRowsPerTheFragmentTable) {
  DeviceBuffer<uint32_t> d_out(32 * 14);
  ASSERT_EQ(cudaSuccess, launch_kernel(ldmatrix_variants_kernel, dim3(1), dim3(32), 0, nullptr, d_out.get()));
  const std::vector<uint32_t> out = d_out.download();
  auto element = [](unsigned i, unsigned r, unsigned c) { return 64 * i + 8 * r + c; };
  auto pair = [](uint32_t lo, uint32_t hi) { return lo | (hi << 16); };
  for (unsigned t = 0; t < 32; ++t) {
    const uint32_t* o = &out[t * 14];
    const unsigned q = t / 4;
    const unsigned p = 2 * (t % 4);
    auto plain = [&](unsigned i) { return pair(element(i, q, p), element(i, q, p + 1)); };
    auto trans = [&](unsigned i) { return pair(element(i, p, q), element(i, p + 1, q)); };
    EXPECT_EQ(plain(0), o[0]) << "x1, lane " << t;
    EXPECT_EQ(plain(0), o[1]) << "x2, lane " << t;
    EXPECT_EQ(plain(1), o[2]) << "x2, lane " << t;
    for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(plain(i), o[3 + i]) << "x4 matrix " << i << ", lane " << t;
    EXPECT_EQ(trans(0), o[7]) << "x1.trans, lane " << t;
    EXPECT_EQ(trans(0), o[8]) << "x2.trans, lane " << t;
    EXPECT_EQ(trans(1), o[9]) << "x2.trans, lane " << t;
    for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(trans(i), o[10 + i]) << "x4.trans matrix " << i << ", lane " << t;
  }
}

// ---- Tests: cp.async --------------------------------------------------------------------------

TEST(WarpMatrixSmoke, CpAsyncDestinationIsPoisonUntilTheWaitThenZeroFilled) {
  std::vector<uint32_t> src(32 * 4);
  for (size_t i = 0; i < src.size(); ++i) src[i] = 0x01010101u * static_cast<uint32_t>(i % 200 + 1);
  DeviceBuffer<uint32_t> d_src(src), d_before(32 * 4), d_after(32 * 4);
  ASSERT_EQ(cudaSuccess, launch_kernel(cp_async_poison_kernel, dim3(1), dim3(32), 0, nullptr, d_src.get(),
                                       d_before.get(), d_after.get()));
  const std::vector<uint32_t> before = d_before.download();
  const std::vector<uint32_t> after = d_after.download();
  for (unsigned lane = 0; lane < 32; ++lane) {
    const unsigned src_bytes = lane % 17;
    unsigned char expected[16] = {};
    std::memcpy(expected, &src[lane * 4], src_bytes);
    for (unsigned k = 0; k < 4; ++k) {
      EXPECT_EQ(0xffffffffu, before[lane * 4 + k]) << "lane " << lane << " read its destination before the wait";
      EXPECT_TRUE(std::isnan(bits_float(before[lane * 4 + k])));
      uint32_t word;
      std::memcpy(&word, expected + 4 * k, 4);
      EXPECT_EQ(word, after[lane * 4 + k]) << "lane " << lane << " (src_bytes " << src_bytes << ") word " << k;
    }
  }
}

TEST(WarpMatrixSmoke, CpAsyncWaitGroupRetiresAllButTheNewestCommittedGroups) {
  const std::vector<uint32_t> src = {11, 12, 13, 14, 15, 16, 17, 18};
  DeviceBuffer<uint32_t> d_src(src), d_snap(4 * 7);
  ASSERT_EQ(cudaSuccess,
            launch_kernel(cp_async_groups_kernel, dim3(1), dim3(1), 0, nullptr, d_src.get(), d_snap.get()));
  const std::vector<uint32_t> s = d_snap.download();
  const uint32_t P = 0xffffffffu;
  // wait_group 2: both committed groups may stay pending.
  EXPECT_EQ((std::vector<uint32_t>{P, P, P, P, P, P, P}), std::vector<uint32_t>(s.begin(), s.begin() + 7));
  // wait_group 1: the older group (A) lands.
  EXPECT_EQ((std::vector<uint32_t>{11, 12, 13, 14, P, P, P}), std::vector<uint32_t>(s.begin() + 7, s.begin() + 14));
  // wait_group 0: B lands; C was never committed, so it is not waited for.
  EXPECT_EQ((std::vector<uint32_t>{11, 12, 13, 14, 15, 16, P}), std::vector<uint32_t>(s.begin() + 14, s.begin() + 21));
  // wait_all: C too.
  EXPECT_EQ((std::vector<uint32_t>{11, 12, 13, 14, 15, 16, 17}), std::vector<uint32_t>(s.begin() + 21, s.end()));
}

TEST(WarpMatrixSmoke, CpAsyncOutstandingAtThreadExitLandsAtTheExit) {
  const std::vector<uint32_t> src = {21, 22, 23, 24};
  DeviceBuffer<uint32_t> d_src(src), d_out(4);
  ASSERT_EQ(cudaSuccess, launch_kernel(cp_async_exit_kernel, dim3(2), dim3(1), 0, nullptr, d_src.get(), d_out.get()));
  EXPECT_EQ(src, d_out.download());
}

void run_cp_async_missing_barrier(uint32_t* got) {
  const std::vector<uint32_t> src = {31, 32, 33, 34};
  DeviceBuffer<uint32_t> d_src(src), d_out(1);
  ASSERT_EQ(cudaSuccess, launch_kernel(cp_async_missing_barrier_kernel, dim3(1), dim3(32), 16, nullptr, d_src.get(),
                                       d_out.get()));
  *got = d_out.download()[0];
}

TEST(WarpMatrixSmoke, CpAsyncReadByAnotherThreadWithoutABarrierIsCaught) {
#if UPS_EMU_TSAN
  const TsanHaltsOnFirstReport halt;
  EXPECT_DEATH(
      {
        uint32_t got = 0;
        run_cp_async_missing_barrier(&got);
      },
      "ThreadSanitizer: data race.*cp_async_missing_barrier_kernel");
#else
  // Thread 0 runs before thread 1 has issued the copy, so it reads fresh (poisoned) shared memory.
  uint32_t got = 0;
  run_cp_async_missing_barrier(&got);
  EXPECT_EQ(0xffffffffu, got);
#endif
}

// ---- Tests: launch failures -------------------------------------------------------------------

TEST(WarpMatrixSmoke, MmaWithExitedLanesFailsTheLaunch) {
  DeviceBuffer<float> d(32);
  const std::string message = expect_launch_failure(mma_half_warp_exits_kernel, dim3(1), dim3(32), d.get());
  EXPECT_NE(std::string::npos, message.find("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32: needs all 32 lanes"))
      << message;
  EXPECT_NE(std::string::npos, message.find("(0xffff0000)")) << message;
  // A partial warp (16 threads in the block) cannot execute it either.
  const std::string partial = expect_launch_failure(mma_in_partial_warp_kernel, dim3(1), dim3(16), d.get());
  EXPECT_NE(std::string::npos, partial.find("m16n8k8.row.col.f32.tf32.tf32.f32: needs all 32 lanes")) << partial;
  ASSERT_EQ(cudaSuccess, launch_kernel(empty_kernel, dim3(1), dim3(32), 0, nullptr));
}

TEST(WarpMatrixSmoke, LdmatrixBadAddressesFailTheLaunch) {
  DeviceBuffer<uint32_t> out(32);
  const std::string misaligned = expect_launch_failure(ldmatrix_misaligned_kernel, dim3(1), dim3(32), out.get());
  EXPECT_NE(std::string::npos, misaligned.find("not 16-byte aligned")) << misaligned;
  EXPECT_NE(std::string::npos, misaligned.find("__trap() called by thread (3,0,0)")) << misaligned;
#if !UPS_EMU_TSAN  // the registry check is skipped under ThreadSanitizer (see emu_warp_matrix.cpp)
  DeviceBuffer<uint16_t> global_rows(16 * 8);
  const std::string global =
      expect_launch_failure(ldmatrix_global_kernel, dim3(1), dim3(32), global_rows.get(), out.get());
  EXPECT_NE(std::string::npos, global.find("lies in cudaMalloc'd (global) memory")) << global;
#endif
}

TEST(WarpMatrixSmoke, LanesAtDifferentMatrixInstructionsFailTheLaunch) {
  DeviceBuffer<uint32_t> out(32);
  const std::string message = expect_launch_failure(mixed_matrix_instructions_kernel, dim3(1), dim3(32), out.get());
  EXPECT_NE(std::string::npos, message.find("different warp-level matrix instructions")) << message;
}

TEST(WarpMatrixSmoke, CpAsyncSourceSizeBeyondTheCopyFailsTheLaunch) {
  DeviceBuffer<uint32_t> src(4);
  const std::string message = expect_launch_failure(cp_async_bad_size_kernel, dim3(1), dim3(32), src.get());
  EXPECT_NE(std::string::npos, message.find("src_bytes outside [0, cp-size] (0x11)")) << message;
  ASSERT_EQ(cudaSuccess, launch_kernel(empty_kernel, dim3(1), dim3(32), 0, nullptr));
}

}  // namespace

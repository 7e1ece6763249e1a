// Independent tests of the warp-level matrix primitives (common/warp_matrix.cuh) under the
// emulation layer: mma.sync (m16n8k16 .f16/.bf16, m16n8k8 .tf32), cvt.rna.tf32.f32, ldmatrix
// (.x1/.x2/.x4, .trans) and cp.async (commit_group, wait_group, wait_all).
//
// These tests were written from the PTX ISA text alone, without reading the implementation: every
// scalar model below names the ISA section, table or figure it follows. If the emulation and a
// kernel share a misreading of the ISA, the models here are a second, separate reading.
//
// ISA sections used (PTX ISA 8.x/9.0 numbering; the warp-level MMA chapter is 9.7.14 or 9.7.15
// depending on the version):
//   [MMA-1688]  "Matrix Fragments for mma.m16n8k8", .tf32 (Figures 72, 75, 77)
//   [MMA-16816] "Matrix Fragments for mma.m16n8k16 with floating point type", .f16/.bf16
//               (Figures 79, 81, 83)
//   [MMA]       "Warp-level matrix multiply-accumulate instructions: mma" (D = A*B + C; .sync,
//               .aligned: all threads of the warp must execute the same mma)
//   [LDMATRIX]  "Warp-level matrix load instruction: ldmatrix" (table of which threads supply
//               addr0..addr31; Figure "ldmatrix fragment layout for one 8x8 Matrix with 16-bit
//               elements"; .trans = loaded in column-major format)
//   [CP.ASYNC]  "Data Movement and Conversion Instructions: cp.async" (cp-size 4/8/16, src-size
//               with the remaining destination bytes filled with zeros, .ca/.cg cache hints only)
//   [COMMIT]    "cp.async.commit_group" (a new per-thread cp.async-group of all prior
//               uncommitted cp.async of the thread)
//   [WAIT]      "cp.async.wait_group / cp.async.wait_all" (wait until only N or fewer of the most
//               recent groups are pending; wait_all == commit_group + wait_group 0; writes become
//               visible to the executing thread only after the wait)
//   [CVT]       "cvt" with .rna.tf32.f32; rounding modifier .rna = "mantissa LSB rounds to
//               nearest, ties away from zero"; [FORMATS] 5.2.3 "Alternate Floating-Point Data
//               Formats": tf32 has the range of .f32 and reduced precision (>= 10 mantissa bits),
//               its internal layout is implementation defined.
//   [SCALAR-CVT] 6.5.1 "Scalar Conversions": conversions beyond the range of the format give Inf
//               for f32 (so .rna without .satfinite overflows to Inf).
// Emulation behaviour tested beyond the ISA (promised by the emulation): small-integer mma inputs
// give bit-exact results; tf32 operands use only the top 19 bits of their register; an un-waited
// cp.async destination reads as poison (NaN as float) until the wait that retires its group.
//
// Randomness: a fresh seed per run, printed in every failure (SCOPED_TRACE); set UPS_WMT_SEED to
// replay a run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/launch.cuh"
#include "common/platform.cuh"
#include "common/warp_matrix.cuh"

namespace {

using upsample::cuda::launch_kernel;
namespace wm = upsample::cuda;

// ---- Helpers ----------------------------------------------------------------------------------

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count) : count_(count) {
    EXPECT_EQ(cudaSuccess, cudaMalloc(reinterpret_cast<void**>(&ptr_), std::max<size_t>(count, 1) * sizeof(T)));
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

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

// One seed per process: fresh unless UPS_WMT_SEED is set.
uint64_t run_seed() {
  static const uint64_t seed = [] {
    if (const char* env = std::getenv("UPS_WMT_SEED")) return static_cast<uint64_t>(std::strtoull(env, nullptr, 0));
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }();
  return seed;
}
std::string seed_message() {
  std::ostringstream out;
  out << "random seed " << run_seed() << " (replay with UPS_WMT_SEED=" << run_seed() << ")";
  return out.str();
}
std::mt19937_64 make_rng(uint64_t salt) { return std::mt19937_64(run_seed() ^ (salt * 0x9E3779B97F4A7C15ULL)); }

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
std::string hex(uint32_t u) {
  std::ostringstream out;
  out << "0x" << std::hex << u;
  return out.str();
}

// ---- Scalar number formats (IEEE binary16; bf16 = top half of binary32; tf32 = top 19 bits) -----

// Encodes a value exactly representable as a normal binary16 number (or zero).
uint16_t f16_bits_exact(double v) {
  const float f = static_cast<float>(v);
  EXPECT_EQ(static_cast<double>(f), v);
  const uint32_t u = float_bits(f);
  const uint32_t sign = (u >> 31) & 1u;
  if ((u & 0x7fffffffu) == 0) return static_cast<uint16_t>(sign << 15);
  const int exponent = static_cast<int>((u >> 23) & 0xffu) - 127;
  const uint32_t mantissa = u & 0x7fffffu;
  EXPECT_TRUE(exponent >= -14 && exponent <= 15 && (mantissa & 0x1fffu) == 0) << v;
  return static_cast<uint16_t>((sign << 15) | (static_cast<uint32_t>(exponent + 15) << 10) | (mantissa >> 13));
}
double f16_value(uint16_t h) {
  const int sign = (h >> 15) & 1;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  double value;
  if (exponent == 0)
    value = std::ldexp(static_cast<double>(mantissa), -24);
  else if (exponent == 31)
    value = mantissa == 0 ? INFINITY : NAN;
  else
    value = std::ldexp(static_cast<double>(1024 + mantissa), exponent - 25);
  return sign ? -value : value;
}
uint16_t bf16_bits_exact(double v) {
  const float f = static_cast<float>(v);
  EXPECT_EQ(static_cast<double>(f), v);
  const uint32_t u = float_bits(f);
  EXPECT_EQ(0u, u & 0xffffu) << v;
  return static_cast<uint16_t>(u >> 16);
}
double bf16_value(uint16_t h) { return static_cast<double>(bits_float(static_cast<uint32_t>(h) << 16)); }
// tf32 as mma reads it: only the top 19 bits of the register (emulation promise; [FORMATS]).
double tf32_value(uint32_t reg) { return static_cast<double>(bits_float(reg & 0xffffe000u)); }
uint32_t tf32_bits_exact(double v) {
  const float f = static_cast<float>(v);
  EXPECT_EQ(static_cast<double>(f), v);
  const uint32_t u = float_bits(f);
  EXPECT_EQ(0u, u & 0x1fffu) << v;
  return u;
}

// ---- mma fragment layouts, straight from the ISA's row/column formulas ------------------------

enum class MmaKind { kF16, kBF16, kTF32 };
const char* kind_name(MmaKind kind) {
  switch (kind) {
    case MmaKind::kF16: return "m16n8k16.f16";
    case MmaKind::kBF16: return "m16n8k16.bf16";
    case MmaKind::kTF32: return "m16n8k8.tf32";
  }
  return "?";
}
int mma_k(MmaKind kind) { return kind == MmaKind::kTF32 ? 8 : 16; }

struct Coord {
  int row;
  int col;
};

// Where element i of a lane's fragment lives in its matrix. `i` counts the ISA's elements a0, a1,
// ... (for .f16/.bf16 two per 32-bit register, "low to high": a0 in bits 0-15 of register 0, a1 in
// bits 16-31, a2 in register 1, ...; for .tf32 one per register).
using Layout = std::function<Coord(int lane, int i)>;

// [MMA-16816] Figure 79, A (16x16) .f16/.bf16: groupID = lane >> 2, threadID_in_group = lane % 4,
//   row = groupID for ai where 0 <= i < 2 || 4 <= i < 6, groupID + 8 otherwise
//   col = threadID_in_group * 2 + (i & 1) for i < 4, ... + 8 for i >= 4
Coord a_16816(int lane, int i) {
  const int g = lane >> 2, t = lane % 4;
  const int row = ((0 <= i && i < 2) || (4 <= i && i < 6)) ? g : g + 8;
  const int col = t * 2 + (i & 1) + (i >= 4 ? 8 : 0);
  return {row, col};
}
// [MMA-16816] Figure 81, B (16x8) .f16/.bf16:
//   row = threadID_in_group * 2 + (i & 1) for bi where i < 2, ... + 8 for i >= 2;  col = groupID
Coord b_16816(int lane, int i) {
  const int g = lane >> 2, t = lane % 4;
  return {t * 2 + (i & 1) + (i >= 2 ? 8 : 0), g};
}
// [MMA-16816] Figure 83 and [MMA-1688] Figure 77, C/D (16x8) .f32 (c0..c3, one per register):
//   row = groupID for ci where i < 2, groupID + 8 for i >= 2;  col = threadID_in_group * 2 + (i & 1)
Coord cd_16n8(int lane, int i) {
  const int g = lane >> 2, t = lane % 4;
  return {i < 2 ? g : g + 8, t * 2 + (i & 1)};
}
// [MMA-1688] Figure 72, A (16x8) .tf32: row = groupID for a0 and a2, groupID + 8 for a1 and a3;
//   col = threadID_in_group for a0 and a1, threadID_in_group + 4 for a2 and a3
Coord a_1688_tf32(int lane, int i) {
  const int g = lane >> 2, t = lane % 4;
  return {(i == 0 || i == 2) ? g : g + 8, (i == 0 || i == 1) ? t : t + 4};
}
// [MMA-1688] Figure 75, B (8x8) .tf32: row = threadID_in_group for b0, + 4 for b1; col = groupID
Coord b_1688_tf32(int lane, int i) {
  const int g = lane >> 2, t = lane % 4;
  return {i == 0 ? t : t + 4, g};
}

// Deliberately wrong readings of the same tables, for the tests that show a wrong fragment
// assignment is caught.
Coord a_16816_rows_then_k(int lane, int i) {  // a2/a3 taken as k+8 of row g, a4/a5 as row g+8
  const Coord right = a_16816(lane, i);
  const int swapped = (i == 2 || i == 3) ? i + 2 : (i == 4 || i == 5) ? i - 2 : i;
  return swapped == i ? right : a_16816(lane, swapped);
}
Coord b_16816_transposed(int lane, int i) {  // B as if it were row-major by lane group: (g, k)
  const Coord right = b_16816(lane, i);
  return {right.col + (right.row >= 8 ? 8 : 0), right.row % 8};
}
Coord a_1688_tf32_swapped(int lane, int i) {  // a1 <-> a2: (row g+8, col t) read as (row g, col t+4)
  const int j = i == 1 ? 2 : i == 2 ? 1 : i;
  return a_1688_tf32(lane, j);
}
Coord b_1688_tf32_transposed(int lane, int i) {
  const Coord right = b_1688_tf32(lane, i);
  return {right.col, right.row};
}

// The matrices of one D = A*B + C problem (row-major) as exact doubles and as the bit patterns of
// their elements in the operand format.
struct MmaProblem {
  MmaKind kind;
  int k;
  std::vector<double> a;       // 16 x k
  std::vector<uint32_t> a_bits;
  std::vector<double> b;       // k x 8
  std::vector<uint32_t> b_bits;
  std::vector<float> c;        // 16 x 8
};

// Per lane: a[4], b[2] registers as the primitive takes them, c[4].
struct MmaRegisters {
  std::vector<uint32_t> a;  // lanes * 4
  std::vector<uint32_t> b;  // lanes * 2
  std::vector<float> c;     // lanes * 4
};

void distribute(const MmaProblem& p, const Layout& a_layout, const Layout& b_layout, int warp, MmaRegisters* regs) {
  const bool packed = p.kind != MmaKind::kTF32;
  for (int lane = 0; lane < 32; ++lane) {
    const int slot = warp * 32 + lane;
    if (packed) {
      for (int r = 0; r < 4; ++r) {
        const Coord lo = a_layout(lane, 2 * r), hi = a_layout(lane, 2 * r + 1);
        regs->a[slot * 4 + r] = (p.a_bits[lo.row * p.k + lo.col] & 0xffffu) | (p.a_bits[hi.row * p.k + hi.col] << 16);
      }
      for (int r = 0; r < 2; ++r) {
        const Coord lo = b_layout(lane, 2 * r), hi = b_layout(lane, 2 * r + 1);
        regs->b[slot * 2 + r] = (p.b_bits[lo.row * 8 + lo.col] & 0xffffu) | (p.b_bits[hi.row * 8 + hi.col] << 16);
      }
    } else {
      for (int r = 0; r < 4; ++r) {
        const Coord e = a_layout(lane, r);
        regs->a[slot * 4 + r] = p.a_bits[e.row * p.k + e.col];
      }
      for (int r = 0; r < 2; ++r) {
        const Coord e = b_layout(lane, r);
        regs->b[slot * 2 + r] = p.b_bits[e.row * 8 + e.col];
      }
    }
    for (int r = 0; r < 4; ++r) {
      const Coord e = cd_16n8(lane, r);
      regs->c[slot * 4 + r] = p.c[e.row * 8 + e.col];
    }
  }
}

Layout right_a(MmaKind kind) { return kind == MmaKind::kTF32 ? Layout(a_1688_tf32) : Layout(a_16816); }
Layout right_b(MmaKind kind) { return kind == MmaKind::kTF32 ? Layout(b_1688_tf32) : Layout(b_16816); }

// D = A*B + C in double, with the sum of |terms| per element (for tolerances).
void reference_d(const MmaProblem& p, std::vector<double>* d, std::vector<double>* magnitude) {
  d->assign(16 * 8, 0.0);
  magnitude->assign(16 * 8, 0.0);
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j) {
      double sum = p.c[i * 8 + j], mag = std::fabs(p.c[i * 8 + j]);
      for (int kk = 0; kk < p.k; ++kk) {
        sum += p.a[i * p.k + kk] * p.b[kk * 8 + j];
        mag += std::fabs(p.a[i * p.k + kk] * p.b[kk * 8 + j]);
      }
      (*d)[i * 8 + j] = sum;
      (*magnitude)[i * 8 + j] = mag;
    }
}

// Small integers: |A|, |B| <= 8 and |C| <= 256, so every product and every partial sum is an
// integer below 2^11 (exact in f32, and each input exact in f16, bf16 and tf32).
MmaProblem integer_problem(MmaKind kind, std::mt19937_64& rng) {
  MmaProblem p;
  p.kind = kind;
  p.k = mma_k(kind);
  std::uniform_int_distribution<int> ab(-8, 8), cc(-256, 256);
  std::uniform_int_distribution<uint32_t> junk(0, 0x1fffu);
  auto encode = [&](int v) -> uint32_t {
    switch (kind) {
      case MmaKind::kF16: return f16_bits_exact(v);
      case MmaKind::kBF16: return bf16_bits_exact(v);
      case MmaKind::kTF32: return tf32_bits_exact(v) | junk(rng);  // low 13 bits must be ignored
    }
    return 0;
  };
  for (int e = 0; e < 16 * p.k; ++e) {
    const int v = ab(rng);
    p.a.push_back(v);
    p.a_bits.push_back(encode(v));
  }
  for (int e = 0; e < p.k * 8; ++e) {
    const int v = ab(rng);
    p.b.push_back(v);
    p.b_bits.push_back(encode(v));
  }
  for (int e = 0; e < 16 * 8; ++e) p.c.push_back(static_cast<float>(cc(rng)));
  return p;
}

// Random real inputs: every bit pattern of a normal number with a magnitude in [2^-4, 2^3), any
// mantissa; C any f32 in [-8, 8].
MmaProblem real_problem(MmaKind kind, std::mt19937_64& rng) {
  MmaProblem p;
  p.kind = kind;
  p.k = mma_k(kind);
  std::uniform_int_distribution<uint32_t> bit(0, 1), mant10(0, 0x3ff), mant7(0, 0x7f), junk(0, 0x1fff);
  std::uniform_int_distribution<int> exp_f16(11, 17), exp_f32(123, 129);
  std::uniform_real_distribution<float> cc(-8.0f, 8.0f);
  auto draw = [&](double* value, uint32_t* bits) {
    switch (kind) {
      case MmaKind::kF16: {
        const uint16_t h = static_cast<uint16_t>((bit(rng) << 15) | (static_cast<uint32_t>(exp_f16(rng)) << 10) | mant10(rng));
        *bits = h;
        *value = f16_value(h);
        break;
      }
      case MmaKind::kBF16: {
        const uint16_t h = static_cast<uint16_t>((bit(rng) << 15) | (static_cast<uint32_t>(exp_f32(rng)) << 7) | mant7(rng));
        *bits = h;
        *value = bf16_value(h);
        break;
      }
      case MmaKind::kTF32: {
        *bits = (bit(rng) << 31) | (static_cast<uint32_t>(exp_f32(rng)) << 23) | (mant10(rng) << 13) | junk(rng);
        *value = tf32_value(*bits);
        break;
      }
    }
  };
  p.a.resize(16 * p.k);
  p.a_bits.resize(16 * p.k);
  p.b.resize(p.k * 8);
  p.b_bits.resize(p.k * 8);
  for (int e = 0; e < 16 * p.k; ++e) draw(&p.a[e], &p.a_bits[e]);
  for (int e = 0; e < p.k * 8; ++e) draw(&p.b[e], &p.b_bits[e]);
  for (int e = 0; e < 16 * 8; ++e) p.c.push_back(cc(rng));
  return p;
}

// ---- Kernels: mma ------------------------------------------------------------------------------

__device__ __forceinline__ unsigned linear_thread() {
  return threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y;
}

template <MmaKind kKind>
__device__ __forceinline__ void call_mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                         const float (&c)[4]) {
  if (kKind == MmaKind::kF16) wm::mma_m16n8k16_f16f32(d, a, b, c);
  if (kKind == MmaKind::kBF16) wm::mma_m16n8k16_bf16f32(d, a, b, c);
  if (kKind == MmaKind::kTF32) wm::mma_m16n8k8_tf32f32(d, a, b, c);
}

// Every thread (each warp its own problem) loads its registers, calls the primitive once and
// stores d. With skip_lane in 0..31 that lane of every warp skips the call (misuse).
template <MmaKind kKind>
__global__ void mma_kernel(const uint32_t* a_regs, const uint32_t* b_regs, const float* c_regs, float* d_regs,
                           int skip_lane) {
  const unsigned t = linear_thread();
  uint32_t a[4], b[2];
  float c[4], d[4] = {-1.0f, -1.0f, -1.0f, -1.0f};
  for (int r = 0; r < 4; ++r) a[r] = a_regs[t * 4 + r];
  for (int r = 0; r < 2; ++r) b[r] = b_regs[t * 2 + r];
  for (int r = 0; r < 4; ++r) c[r] = c_regs[t * 4 + r];
  if (static_cast<int>(t % 32) != skip_lane) call_mma<kKind>(d, a, b, c);
  for (int r = 0; r < 4; ++r) d_regs[t * 4 + r] = d[r];
}

template <MmaKind kKind>
std::vector<float> run_mma(const MmaRegisters& regs, dim3 block) {
  const size_t threads = static_cast<size_t>(block.x) * block.y * block.z;
  DeviceBuffer<uint32_t> d_a(regs.a), d_b(regs.b);
  DeviceBuffer<float> d_c(regs.c), d_d(threads * 4);
  EXPECT_EQ(cudaSuccess, launch_kernel(mma_kernel<kKind>, dim3(1), block, 0, nullptr, d_a.get(), d_b.get(), d_c.get(),
                                       d_d.get(), -1));
  return d_d.download();
}
std::vector<float> run_mma(MmaKind kind, const MmaRegisters& regs, dim3 block) {
  switch (kind) {
    case MmaKind::kF16: return run_mma<MmaKind::kF16>(regs, block);
    case MmaKind::kBF16: return run_mma<MmaKind::kBF16>(regs, block);
    case MmaKind::kTF32: return run_mma<MmaKind::kTF32>(regs, block);
  }
  return {};
}

// Compares every lane's every d register with D through the ISA's D table ([MMA-16816] Figure 83,
// [MMA-1688] Figure 77). tolerance < 0: exact (float ==, so only the sign of a zero may differ);
// otherwise |d - D| <= tolerance * sum of |terms|. Returns the number of mismatches; reports them
// unless quiet.
int check_d(const MmaProblem& p, const std::vector<float>& d_regs, int warp, double tolerance, bool quiet,
            const std::string& what) {
  std::vector<double> d, magnitude;
  reference_d(p, &d, &magnitude);
  int mismatches = 0;
  for (int lane = 0; lane < 32; ++lane)
    for (int r = 0; r < 4; ++r) {
      const Coord e = cd_16n8(lane, r);
      const float got = d_regs[(warp * 32 + lane) * 4 + r];
      const double want = d[e.row * 8 + e.col];
      const bool ok = tolerance < 0 ? got == static_cast<float>(want)
                                    : std::fabs(got - want) <= tolerance * magnitude[e.row * 8 + e.col];
      if (ok) continue;
      ++mismatches;
      if (!quiet && mismatches <= 12)
        ADD_FAILURE() << what << " " << kind_name(p.kind) << ": warp " << warp << " lane " << lane << " d[" << r
                      << "] (D row " << e.row << ", col " << e.col << ") = " << got << " (" << hex(float_bits(got))
                      << "), expected " << want << (tolerance < 0 ? "" : " within ") << (tolerance < 0 ? "" : std::to_string(tolerance * magnitude[e.row * 8 + e.col]));
    }
  if (!quiet && mismatches > 12) ADD_FAILURE() << what << ": " << mismatches << " mismatches in all";
  return mismatches;
}

// ---- Tests: mma --------------------------------------------------------------------------------

class WarpMma : public testing::TestWithParam<MmaKind> {};

// Small-integer A (16xK), B (Kx8), C (16x8); two warps with different problems, in a 2D block (so
// that lane = linear thread id % 32 is exercised); every lane's every d register bit-exact.
TEST_P(WarpMma, SmallIntegersExactInEveryLaneAndRegister) {
  SCOPED_TRACE(seed_message());
  const MmaKind kind = GetParam();
  auto rng = make_rng(1 + static_cast<int>(kind));
  for (int round = 0; round < 8; ++round) {
    const MmaProblem p0 = integer_problem(kind, rng), p1 = integer_problem(kind, rng);
    MmaRegisters regs{std::vector<uint32_t>(64 * 4), std::vector<uint32_t>(64 * 2), std::vector<float>(64 * 4)};
    distribute(p0, right_a(kind), right_b(kind), 0, &regs);
    distribute(p1, right_a(kind), right_b(kind), 1, &regs);
    const std::vector<float> d = run_mma(kind, regs, round % 2 ? dim3(8, 8) : dim3(64));
    EXPECT_EQ(0, check_d(p0, d, 0, -1.0, false, "small integers")) << "round " << round;
    EXPECT_EQ(0, check_d(p1, d, 1, -1.0, false, "small integers")) << "round " << round;
  }
}

// Random real-valued inputs (all mantissa bits in use) against a double computation. Tolerance:
// 32 * 2^-23 of the sum of |terms| of each element (an f32 accumulation of K+1 terms, with room
// for hardware-like alignment truncation; products of f16/bf16/tf32 inputs are exact in f32).
TEST_P(WarpMma, RandomRealsWithinTolerance) {
  SCOPED_TRACE(seed_message());
  const MmaKind kind = GetParam();
  auto rng = make_rng(11 + static_cast<int>(kind));
  const double tolerance = 32.0 * std::ldexp(1.0, -23);
  for (int round = 0; round < 8; ++round) {
    const MmaProblem p = real_problem(kind, rng);
    MmaRegisters regs{std::vector<uint32_t>(32 * 4), std::vector<uint32_t>(32 * 2), std::vector<float>(32 * 4)};
    distribute(p, right_a(kind), right_b(kind), 0, &regs);
    const std::vector<float> d = run_mma(kind, regs, dim3(32));
    EXPECT_EQ(0, check_d(p, d, 0, tolerance, false, "random reals")) << "round " << round;
  }
}

// The checks above can fail: registers distributed by a wrong reading of the A or B table give a
// D that the ISA-table comparison rejects, and the right result read through a transposed D table
// does not match either.
TEST_P(WarpMma, WrongFragmentAssignmentIsCaught) {
  SCOPED_TRACE(seed_message());
  const MmaKind kind = GetParam();
  auto rng = make_rng(21 + static_cast<int>(kind));
  const MmaProblem p = integer_problem(kind, rng);
  const Layout wrong_a = kind == MmaKind::kTF32 ? Layout(a_1688_tf32_swapped) : Layout(a_16816_rows_then_k);
  const Layout wrong_b = kind == MmaKind::kTF32 ? Layout(b_1688_tf32_transposed) : Layout(b_16816_transposed);
  MmaRegisters regs{std::vector<uint32_t>(32 * 4), std::vector<uint32_t>(32 * 2), std::vector<float>(32 * 4)};

  distribute(p, wrong_a, right_b(kind), 0, &regs);
  EXPECT_GT(check_d(p, run_mma(kind, regs, dim3(32)), 0, -1.0, true, ""), 0) << "a wrong A layout went unnoticed";
  distribute(p, right_a(kind), wrong_b, 0, &regs);
  EXPECT_GT(check_d(p, run_mma(kind, regs, dim3(32)), 0, -1.0, true, ""), 0) << "a wrong B layout went unnoticed";

  // The right distribution passes, and its d registers read through a wrong D table (row and
  // column of each d register exchanged within the 8x8 halves) fail.
  distribute(p, right_a(kind), right_b(kind), 0, &regs);
  const std::vector<float> d = run_mma(kind, regs, dim3(32));
  EXPECT_EQ(0, check_d(p, d, 0, -1.0, false, "right layout"));
  std::vector<double> want, magnitude;
  reference_d(p, &want, &magnitude);
  int transposed_mismatches = 0;
  for (int lane = 0; lane < 32; ++lane)
    for (int r = 0; r < 4; ++r) {
      const Coord e = cd_16n8(lane, r);
      const int row = (e.row / 8) * 8 + e.col, col = e.row % 8;
      transposed_mismatches += d[lane * 4 + r] != static_cast<float>(want[row * 8 + col]);
    }
  EXPECT_GT(transposed_mismatches, 0);
}

// One-hot probes: A = a single 1 at (i, kk), B = a single 1 at (kk, j), C = 0 gives D = a single 1
// at (i, j); a lane/register that carries it elsewhere names the table entry at fault directly.
TEST_P(WarpMma, OneHotProbesLandInTheIsaPosition) {
  const MmaKind kind = GetParam();
  const int k = mma_k(kind);
  auto one = [&](double v) -> uint32_t {
    return kind == MmaKind::kF16 ? f16_bits_exact(v) : kind == MmaKind::kBF16 ? bf16_bits_exact(v) : tf32_bits_exact(v);
  };
  for (int kk = 0; kk < k; ++kk)
    for (int probe = 0; probe < 4; ++probe) {
      const int i = (kk * 5 + probe * 7) % 16, j = (kk * 3 + probe * 5) % 8;
      MmaProblem p{kind, k, std::vector<double>(16 * k, 0.0), std::vector<uint32_t>(16 * k, one(0)),
                   std::vector<double>(k * 8, 0.0), std::vector<uint32_t>(k * 8, one(0)), std::vector<float>(128, 0.0f)};
      p.a[i * k + kk] = 1;
      p.a_bits[i * k + kk] = one(1);
      p.b[kk * 8 + j] = 2;
      p.b_bits[kk * 8 + j] = one(2);
      MmaRegisters regs{std::vector<uint32_t>(32 * 4), std::vector<uint32_t>(32 * 2), std::vector<float>(32 * 4)};
      distribute(p, right_a(kind), right_b(kind), 0, &regs);
      const std::vector<float> d = run_mma(kind, regs, dim3(32));
      EXPECT_EQ(0, check_d(p, d, 0, -1.0, false, "one-hot A(" + std::to_string(i) + "," + std::to_string(kk) +
                                                      ") B(" + std::to_string(kk) + "," + std::to_string(j) + ")"));
    }
}

INSTANTIATE_TEST_SUITE_P(Kinds, WarpMma, testing::Values(MmaKind::kF16, MmaKind::kBF16, MmaKind::kTF32),
                         [](const testing::TestParamInfo<MmaKind>& info) {
                           return std::string(info.param == MmaKind::kF16    ? "F16"
                                              : info.param == MmaKind::kBF16 ? "BF16"
                                                                             : "TF32");
                         });

// C accumulates: D = A*B + C with C = the previous D, chained on the device (two mma in a row).
__global__ void mma_chain_kernel(const uint32_t* a_regs, const uint32_t* b_regs, const float* c_regs, float* d_regs) {
  const unsigned t = linear_thread();
  uint32_t a[4], b[2];
  float c[4], d[4], e[4];
  for (int r = 0; r < 4; ++r) a[r] = a_regs[t * 4 + r];
  for (int r = 0; r < 2; ++r) b[r] = b_regs[t * 2 + r];
  for (int r = 0; r < 4; ++r) c[r] = c_regs[t * 4 + r];
  wm::mma_m16n8k16_f16f32(d, a, b, c);
  wm::mma_m16n8k16_f16f32(e, a, b, d);
  for (int r = 0; r < 4; ++r) d_regs[t * 4 + r] = e[r];
}

TEST(WarpMmaChain, AccumulatorFeedsTheNextMma) {
  SCOPED_TRACE(seed_message());
  auto rng = make_rng(31);
  const MmaProblem p = integer_problem(MmaKind::kF16, rng);
  MmaRegisters regs{std::vector<uint32_t>(32 * 4), std::vector<uint32_t>(32 * 2), std::vector<float>(32 * 4)};
  distribute(p, a_16816, b_16816, 0, &regs);
  DeviceBuffer<uint32_t> d_a(regs.a), d_b(regs.b);
  DeviceBuffer<float> d_c(regs.c), d_d(32 * 4);
  ASSERT_EQ(cudaSuccess,
            launch_kernel(mma_chain_kernel, dim3(1), dim3(32), 0, nullptr, d_a.get(), d_b.get(), d_c.get(), d_d.get()));
  MmaProblem twice = p;  // D2 = A*B + (A*B + C) = (2A)*B + C
  for (double& v : twice.a) v *= 2;
  EXPECT_EQ(0, check_d(twice, d_d.download(), 0, -1.0, false, "chained"));
}

// ---- Misuse: mma and ldmatrix are .sync.aligned warp-wide ([MMA], [LDMATRIX]) ----------------

__global__ void empty_kernel() {}

TEST(WarpMmaMisuse, OneLaneSkippingTheMmaFailsTheLaunch) {
  SCOPED_TRACE(seed_message());
  auto rng = make_rng(41);
  const MmaProblem p = integer_problem(MmaKind::kF16, rng);
  MmaRegisters regs{std::vector<uint32_t>(32 * 4), std::vector<uint32_t>(32 * 2), std::vector<float>(32 * 4)};
  distribute(p, a_16816, b_16816, 0, &regs);
  DeviceBuffer<uint32_t> d_a(regs.a), d_b(regs.b);
  DeviceBuffer<float> d_c(regs.c), d_d(32 * 4);
  (void)cudaGetLastError();
  for (int skip : {0, 7, 31}) {
    testing::internal::CaptureStderr();
    const cudaError_t error = launch_kernel(mma_kernel<MmaKind::kF16>, dim3(1), dim3(32), 0, nullptr, d_a.get(),
                                            d_b.get(), d_c.get(), d_d.get(), skip);
    const std::string message = testing::internal::GetCapturedStderr();
    EXPECT_EQ(cudaErrorLaunchFailure, error) << "lane " << skip << " skipped the mma; stderr: " << message;
    EXPECT_NE(std::string::npos, message.find("mma")) << "the failure names the instruction; stderr: " << message;
    (void)cudaGetLastError();
  }
  // Not sticky: the next launches work, and the full warp computes the right D.
  ASSERT_EQ(cudaSuccess, launch_kernel(empty_kernel, dim3(1), dim3(32), 0, nullptr));
  EXPECT_EQ(0, check_d(p, run_mma<MmaKind::kF16>(regs, dim3(32)), 0, -1.0, false, "after the failed launch"));
}

// ---- cvt.rna.tf32.f32 ---------------------------------------------------------------------------

// [CVT] .rna: "mantissa LSB rounds to nearest, ties away from zero", applied at the LSB of the
// 10-bit tf32 mantissa, i.e. at bit 13 of the f32 pattern. Bit-level model: add half a tf32 ULP
// (bit 12) to the magnitude and clear the 13 low bits; a carry out of the mantissa raises the
// exponent, and one out of the largest finite exponent gives the Inf pattern ([SCALAR-CVT]: no
// .satfinite, out-of-range results are Inf). Inf stays Inf; NaN stays a NaN (payload not
// specified by the ISA; checked as "a NaN in the top 19 bits").
uint32_t tf32_rna_model(uint32_t u) {
  const uint32_t sign = u & 0x80000000u, magnitude = u & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) return u;  // Inf, NaN: not rounded (NaN checked separately)
  return sign | ((magnitude + 0x1000u) & 0xffffe000u);
}
// A second, value-level reading of the same rule, used to check the bit model on every input:
// the result is a tf32 value (13 low bits zero) within half a tf32 ULP of x, and on a tie the one
// farther from zero.
void check_model_by_value(uint32_t u, uint32_t r) {
  const float x = bits_float(u), y = bits_float(r);
  ASSERT_EQ(0u, r & 0x1fffu);
  if (std::isinf(x)) {
    ASSERT_EQ(u, r) << "Inf stays Inf";
    return;
  }
  if (std::isinf(y) && !std::isinf(x)) {
    // Overflow: x is at least the midpoint between the largest tf32 (0x7f7fe000) and 2^128.
    ASSERT_GE(std::fabs(static_cast<double>(x)), std::ldexp(2.0 - std::ldexp(1.0, -11), 127)) << hex(u);
    return;
  }
  const uint32_t lower = u & 0xffffe000u;  // truncation toward zero
  const double below = bits_float(lower), above = bits_float(lower + 0x2000u);
  const double dx = x, d_below = std::fabs(dx - below), d_above = std::fabs(above - dx);
  if (d_below < d_above)
    ASSERT_EQ(lower, r) << hex(u);
  else
    ASSERT_EQ(lower + 0x2000u, r) << hex(u) << (d_below == d_above ? " (a tie goes away from zero)" : "");
}

__global__ void cvt_kernel(const float* in, uint32_t* out, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = wm::cvt_rna_tf32(in[i]);
}

std::vector<uint32_t> cvt_specials() {
  std::vector<uint32_t> v = {
      0x00000000u, 0x80000000u,                                   // +-0
      0x3f800000u, 0xbf800000u,                                   // +-1
      0x3f801000u, 0xbf801000u,                                   // ties (bit 12 only): away from zero
      0x3f803000u, 0xbf803000u,                                   // tie with odd kept LSB: away, too
      0x3f800fffu, 0xbf800fffu,                                   // just below a tie: down
      0x3f801001u, 0xbf801001u,                                   // just above a tie: up
      0x3fffffffu, 0xbfffffffu, 0x3ffff000u,                      // carry into the exponent
      0x3fffefffu,                                                // largest below the carry: stays
      0x7f7fe000u, 0xff7fe000u,                                   // largest finite tf32: unchanged
      0x7f7fefffu, 0xff7fefffu,                                   // rounds down to it
      0x7f7ff000u, 0xff7ff000u,                                   // tie above it: away -> +-Inf
      0x7f7fffffu, 0xff7fffffu,                                   // FLT_MAX -> +-Inf
      0x7f800000u, 0xff800000u,                                   // +-Inf stay
      0x00000001u, 0x00000fffu, 0x00001000u, 0x80001000u,         // subnormals (no .ftz)
      0x00002fffu, 0x00003000u, 0x007ff000u, 0x807fffffu,         // ... up into the smallest normal
      0x00800000u, 0x00801000u,                                   // smallest normal, and a tie on it
  };
  return v;
}

TEST(CvtRnaTf32, MatchesTheBitLevelModelOnSpecialsAndRandomInputs) {
  SCOPED_TRACE(seed_message());
  auto rng = make_rng(51);
  std::vector<uint32_t> inputs = cvt_specials();
  std::uniform_int_distribution<uint32_t> any(0, 0xffffffffu), low(0, 0x1fffu);
  for (int i = 0; i < 20000; ++i) {
    uint32_t u = any(rng);
    if ((u & 0x7f800000u) == 0x7f800000u) u &= 0xbfffffffu;  // finite only here (specials above)
    inputs.push_back(u);
    inputs.push_back((u & 0xffffe000u) | 0x1000u);             // exact ties, every exponent
    inputs.push_back((u & 0xffffe000u) | low(rng));            // around them
  }
  for (uint32_t u : inputs) check_model_by_value(u, tf32_rna_model(u));  // the two readings agree
  if (HasFatalFailure()) return;

  std::vector<float> in;
  for (uint32_t u : inputs) in.push_back(bits_float(u));
  DeviceBuffer<float> d_in(in);
  DeviceBuffer<uint32_t> d_out(in.size());
  const int n = static_cast<int>(in.size());
  ASSERT_EQ(cudaSuccess, launch_kernel(cvt_kernel, dim3((n + 255) / 256), dim3(256), 0, nullptr, d_in.get(),
                                       d_out.get(), n));
  const std::vector<uint32_t> out = d_out.download();
  int failures = 0;
  for (size_t i = 0; i < inputs.size() && failures < 20; ++i) {
    const uint32_t want = tf32_rna_model(inputs[i]);
    if ((out[i] & 0xffffe000u) != want) {
      ++failures;
      ADD_FAILURE() << "cvt.rna.tf32.f32(" << hex(inputs[i]) << " = " << bits_float(inputs[i]) << ") top 19 bits "
                    << hex(out[i] & 0xffffe000u) << ", ISA .rna gives " << hex(want);
    }
  }
}

// The tf32 pattern's 13 low bits. The ISA calls the tf32 layout implementation defined; the
// hardware returns them zero and kernels use the result as an f32 (__uint_as_float) that equals
// the rounded value, so the emulation must too. A separate test so that its failure reads apart.
TEST(CvtRnaTf32, LowThirteenBitsAreZero) {
  std::vector<uint32_t> inputs = cvt_specials();
  for (uint32_t u = 0x3f800000u; u < 0x3f800000u + 0x4000u; u += 0x123u) inputs.push_back(u);
  std::vector<float> in;
  for (uint32_t u : inputs) in.push_back(bits_float(u));
  DeviceBuffer<float> d_in(in);
  DeviceBuffer<uint32_t> d_out(in.size());
  const int n = static_cast<int>(in.size());
  ASSERT_EQ(cudaSuccess, launch_kernel(cvt_kernel, dim3((n + 255) / 256), dim3(256), 0, nullptr, d_in.get(),
                                       d_out.get(), n));
  const std::vector<uint32_t> out = d_out.download();
  for (size_t i = 0; i < inputs.size(); ++i)
    EXPECT_EQ(0u, out[i] & 0x1fffu) << "cvt.rna.tf32.f32(" << hex(inputs[i]) << ") = " << hex(out[i]);
}

TEST(CvtRnaTf32, NaNStaysNaN) {
  const std::vector<uint32_t> nans = {0x7fc00000u, 0xffc00000u, 0x7fffffffu, 0xffffffffu, 0x7f802000u, 0x7fa00001u};
  std::vector<float> in;
  for (uint32_t u : nans) in.push_back(bits_float(u));
  DeviceBuffer<float> d_in(in);
  DeviceBuffer<uint32_t> d_out(in.size());
  ASSERT_EQ(cudaSuccess, launch_kernel(cvt_kernel, dim3(1), dim3(32), 0, nullptr, d_in.get(), d_out.get(),
                                       static_cast<int>(in.size())));
  const std::vector<uint32_t> out = d_out.download();
  for (size_t i = 0; i < nans.size(); ++i) {
    const uint32_t top = out[i] & 0xffffe000u;  // what an mma reads
    EXPECT_TRUE((top & 0x7f800000u) == 0x7f800000u && (top & 0x007fe000u) != 0)
        << "cvt.rna.tf32.f32(NaN " << hex(nans[i]) << ") = " << hex(out[i]) << " is not a tf32 NaN";
  }
}

// The mma reads what cvt produces: A and B converted on the device from random f32 values give D
// within tolerance of the double product of the rounded values (the model above).
__global__ void cvt_then_mma_kernel(const float* a_f32, const float* b_f32, const float* c_regs, float* d_regs) {
  const unsigned t = linear_thread();
  uint32_t a[4], b[2];
  float c[4], d[4];
  for (int r = 0; r < 4; ++r) a[r] = wm::cvt_rna_tf32(a_f32[t * 4 + r]);
  for (int r = 0; r < 2; ++r) b[r] = wm::cvt_rna_tf32(b_f32[t * 2 + r]);
  for (int r = 0; r < 4; ++r) c[r] = c_regs[t * 4 + r];
  wm::mma_m16n8k8_tf32f32(d, a, b, c);
  for (int r = 0; r < 4; ++r) d_regs[t * 4 + r] = d[r];
}

TEST(CvtRnaTf32, FeedsTheTf32Mma) {
  SCOPED_TRACE(seed_message());
  auto rng = make_rng(61);
  std::uniform_real_distribution<float> value(-3.0f, 3.0f);
  MmaProblem p{MmaKind::kTF32, 8, {}, {}, {}, {}, {}};
  std::vector<float> a_f32(16 * 8), b_f32(8 * 8);
  for (float& v : a_f32) v = value(rng);
  for (float& v : b_f32) v = value(rng);
  for (float v : a_f32) {
    p.a_bits.push_back(tf32_rna_model(float_bits(v)));
    p.a.push_back(tf32_value(p.a_bits.back()));
  }
  for (float v : b_f32) {
    p.b_bits.push_back(tf32_rna_model(float_bits(v)));
    p.b.push_back(tf32_value(p.b_bits.back()));
  }
  for (int e = 0; e < 128; ++e) p.c.push_back(value(rng));
  // Distribute the f32 values (not yet converted) by the tf32 tables.
  MmaProblem raw = p;
  for (size_t e = 0; e < a_f32.size(); ++e) raw.a_bits[e] = float_bits(a_f32[e]);
  for (size_t e = 0; e < b_f32.size(); ++e) raw.b_bits[e] = float_bits(b_f32[e]);
  MmaRegisters regs{std::vector<uint32_t>(32 * 4), std::vector<uint32_t>(32 * 2), std::vector<float>(32 * 4)};
  distribute(raw, a_1688_tf32, b_1688_tf32, 0, &regs);
  std::vector<float> a_regs(32 * 4), b_regs(32 * 2);
  for (size_t e = 0; e < a_regs.size(); ++e) a_regs[e] = bits_float(regs.a[e]);
  for (size_t e = 0; e < b_regs.size(); ++e) b_regs[e] = bits_float(regs.b[e]);
  DeviceBuffer<float> d_a(a_regs), d_b(b_regs), d_c(regs.c), d_d(32 * 4);
  ASSERT_EQ(cudaSuccess, launch_kernel(cvt_then_mma_kernel, dim3(1), dim3(32), 0, nullptr, d_a.get(), d_b.get(),
                                       d_c.get(), d_d.get()));
  EXPECT_EQ(0, check_d(p, d_d.download(), 0, 32.0 * std::ldexp(1.0, -23), false, "cvt then mma"));
}

// ---- ldmatrix ----------------------------------------------------------------------------------

// [LDMATRIX] Threads 0-7 supply addr0-addr7 (rows of matrix 0), threads 8-15 addr8-addr15
// (matrix 1), 16-23 matrix 2, 24-31 matrix 3; each address is the start of a 16-byte row of 8
// 16-bit elements; rows need not be contiguous. Figure "ldmatrix fragment layout for one 8x8
// matrix with 16-bit elements": each thread receives a fragment of a row, thread 0 the first, a
// group of four consecutive threads an entire row; so lane l gets row l/4, elements 2*(l%4)
// (low 16 bits) and 2*(l%4)+1 (high 16 bits), the same row/col pattern as the mma A/C fragments
// it is made for. Matrix j lands in destination register j. .trans: "the matrix is loaded in
// column-major format": lane l gets column l/4, rows 2*(l%4) (low half) and 2*(l%4)+1 (high).
// For .x1/.x2 (sm_80 and later) the addresses of the other threads are not used: those lanes
// point at decoy rows here, which must not show up.
constexpr int kLdmSlots = 64;  // 16-byte row slots of shared memory, 8 elements each

template <int kNum, bool kTrans>
__global__ void ldmatrix_kernel(const uint16_t* fill, const int* row_slot, uint32_t* out, int skip_lane) {
  UPS_DYNAMIC_SHARED(uint16_t, smem);
  const unsigned t = threadIdx.x;
  for (int e = static_cast<int>(t); e < kLdmSlots * 8; e += static_cast<int>(blockDim.x)) smem[e] = fill[e];
  __syncthreads();
  const void* row = smem + row_slot[t] * 8;
  uint32_t r[kNum];
  for (int j = 0; j < kNum; ++j) r[j] = 0xdeadbeefu;
  if (static_cast<int>(t % 32) != skip_lane) {
    if constexpr (kNum == 1 && kTrans) wm::ldmatrix_x1_trans(r, row);
    if constexpr (kNum == 1 && !kTrans) wm::ldmatrix_x1(r, row);
    if constexpr (kNum == 2 && kTrans) wm::ldmatrix_x2_trans(r, row);
    if constexpr (kNum == 2 && !kTrans) wm::ldmatrix_x2(r, row);
    if constexpr (kNum == 4 && kTrans) wm::ldmatrix_x4_trans(r, row);
    if constexpr (kNum == 4 && !kTrans) wm::ldmatrix_x4(r, row);
  }
  for (int j = 0; j < kNum; ++j) out[t * kNum + j] = r[j];
}

// The ISA's distribution: register j of lane l.
uint32_t ldmatrix_expected(const std::vector<uint16_t>& fill, const std::vector<int>& row_slot, int lane, int j,
                           bool trans) {
  auto element = [&](int matrix_row, int col) -> uint32_t {  // row matrix_row of matrix j, via its thread's address
    return fill[row_slot[8 * j + matrix_row] * 8 + col];
  };
  if (!trans) {
    const int row = lane / 4, col = 2 * (lane % 4);
    return element(row, col) | (element(row, col + 1) << 16);
  }
  const int col = lane / 4, row = 2 * (lane % 4);
  return element(row, col) | (element(row + 1, col) << 16);
}

template <int kNum, bool kTrans>
void run_ldmatrix_case(const std::vector<int>& row_slot, std::mt19937_64& rng, const std::string& pattern) {
  SCOPED_TRACE("ldmatrix .x" + std::to_string(kNum) + (kTrans ? ".trans" : "") + ", rows " + pattern);
  // Distinct 16-bit values in every element (an odd multiplier is a bijection mod 2^16).
  const uint32_t offset = static_cast<uint32_t>(rng());
  std::vector<uint16_t> fill(kLdmSlots * 8);
  for (size_t e = 0; e < fill.size(); ++e) fill[e] = static_cast<uint16_t>(e * 40503u + offset);
  DeviceBuffer<uint16_t> d_fill(fill);
  DeviceBuffer<int> d_slots(row_slot);
  DeviceBuffer<uint32_t> d_out(32 * kNum);
  ASSERT_EQ(cudaSuccess, launch_kernel(ldmatrix_kernel<kNum, kTrans>, dim3(1), dim3(32), kLdmSlots * 16, nullptr,
                                       d_fill.get(), d_slots.get(), d_out.get(), -1));
  const std::vector<uint32_t> out = d_out.download();
  int failures = 0, differs_from_other_orientation = 0;
  for (int lane = 0; lane < 32; ++lane)
    for (int j = 0; j < kNum; ++j) {
      const uint32_t want = ldmatrix_expected(fill, row_slot, lane, j, kTrans);
      differs_from_other_orientation += want != ldmatrix_expected(fill, row_slot, lane, j, !kTrans);
      if (out[lane * kNum + j] != want && ++failures <= 12)
        ADD_FAILURE() << "lane " << lane << " r[" << j << "] = " << hex(out[lane * kNum + j]) << ", ISA gives "
                      << hex(want);
    }
  EXPECT_EQ(0, failures);
  EXPECT_GT(differs_from_other_orientation, 0) << "the check could not tell .trans from non-.trans";
}

template <int kNum, bool kTrans>
void ldmatrix_all_patterns() {
  SCOPED_TRACE(seed_message());
  auto rng = make_rng(71 + kNum * 2 + kTrans);
  // Contiguous rows: matrix j row r at slot 8j + r (a dense stack of 8x8 tiles).
  std::vector<int> contiguous(32);
  for (int a = 0; a < 32; ++a) contiguous[a] = a;
  // Permuted, non-contiguous rows (as swizzled shared-memory layouts give): 32 distinct slots
  // drawn from 64 in random order.
  std::vector<int> slots(kLdmSlots);
  std::iota(slots.begin(), slots.end(), 0);
  std::shuffle(slots.begin(), slots.end(), rng);
  std::vector<int> permuted(slots.begin(), slots.begin() + 32);
  // A row-major 8 x 64-element tile read with the common XOR swizzle: row r of the 16-byte chunk
  // c lives at chunk c ^ (r % 8); matrix j is chunk column j + 2.
  std::vector<int> swizzled(32);
  for (int a = 0; a < 32; ++a) {
    const int j = a / 8, r = a % 8;
    swizzled[a] = r * 8 + ((j + 2) ^ r);
  }
  for (const auto& [pattern, name] : {std::make_pair(contiguous, "contiguous"), std::make_pair(permuted, "permuted"),
                                      std::make_pair(swizzled, "xor-swizzled")}) {
    std::vector<int> row_slot = pattern;
    // Lanes whose addresses .x1/.x2 do not use point at decoy slots that no used row occupies.
    std::vector<bool> used(kLdmSlots, false);
    for (int a = 0; a < 8 * kNum; ++a) used[row_slot[a]] = true;
    std::vector<int> decoys;
    for (int s : slots)
      if (!used[s]) decoys.push_back(s);
    for (int a = 8 * kNum; a < 32; ++a) row_slot[a] = decoys[a - 8 * kNum];
    run_ldmatrix_case<kNum, kTrans>(row_slot, rng, name);
  }
}

TEST(Ldmatrix, X1) { ldmatrix_all_patterns<1, false>(); }
TEST(Ldmatrix, X2) { ldmatrix_all_patterns<2, false>(); }
TEST(Ldmatrix, X4) { ldmatrix_all_patterns<4, false>(); }
TEST(Ldmatrix, X1Trans) { ldmatrix_all_patterns<1, true>(); }
TEST(Ldmatrix, X2Trans) { ldmatrix_all_patterns<2, true>(); }
TEST(Ldmatrix, X4Trans) { ldmatrix_all_patterns<4, true>(); }

// Two warps in one block, each with its own 32 row addresses: a warp's ldmatrix uses its own
// lanes' addresses only (the lane numbering of [LDMATRIX] is per warp).
TEST(Ldmatrix, X4AndX4TransInTwoWarps) {
  SCOPED_TRACE(seed_message());
  auto rng = make_rng(79);
  std::vector<int> slots(kLdmSlots);
  std::iota(slots.begin(), slots.end(), 0);
  std::shuffle(slots.begin(), slots.end(), rng);  // warp 0: slots[0..31], warp 1: slots[32..63]
  const uint32_t offset = static_cast<uint32_t>(rng());
  std::vector<uint16_t> fill(kLdmSlots * 8);
  for (size_t e = 0; e < fill.size(); ++e) fill[e] = static_cast<uint16_t>(e * 40503u + offset);
  DeviceBuffer<uint16_t> d_fill(fill);
  DeviceBuffer<int> d_slots(slots);
  for (bool trans : {false, true}) {
    DeviceBuffer<uint32_t> d_out(64 * 4);
    ASSERT_EQ(cudaSuccess, launch_kernel(trans ? ldmatrix_kernel<4, true> : ldmatrix_kernel<4, false>, dim3(1),
                                         dim3(64), kLdmSlots * 16, nullptr, d_fill.get(), d_slots.get(), d_out.get(), -1));
    const std::vector<uint32_t> out = d_out.download();
    for (int warp = 0; warp < 2; ++warp) {
      const std::vector<int> warp_slots(slots.begin() + 32 * warp, slots.begin() + 32 * warp + 32);
      for (int lane = 0; lane < 32; ++lane)
        for (int j = 0; j < 4; ++j)
          EXPECT_EQ(ldmatrix_expected(fill, warp_slots, lane, j, trans), out[(warp * 32 + lane) * 4 + j])
              << (trans ? ".trans" : "") << " warp " << warp << " lane " << lane << " r[" << j << "]";
    }
  }
}

// ldmatrix .x4 (A, 16x16 f16) and .x2.trans (B from a row-major K x N tile) feed the mma as its
// fragment tables say: the usual kernel pattern, end to end against D = A*B + C.
__global__ void ldmatrix_mma_kernel(const uint16_t* a_rowmajor, const uint16_t* b_rowmajor, const float* c_regs,
                                    float* d_regs) {
  UPS_DYNAMIC_SHARED(uint16_t, smem);
  uint16_t* a_tile = smem;             // 16 x 16, row-major
  uint16_t* b_tile = smem + 16 * 16;   // 16 x 8, row-major (k, n)
  const unsigned t = threadIdx.x;
  for (int e = static_cast<int>(t); e < 256; e += 32) a_tile[e] = a_rowmajor[e];
  for (int e = static_cast<int>(t); e < 128; e += 32) b_tile[e] = b_rowmajor[e];
  __syncthreads();
  // A: matrices 0..3 = (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (rows 8-15, k 8-15)
  // so that r[0..3] are the mma's a0a1, a2a3, a4a5, a6a7 registers ([MMA-16816] Figure 79).
  const int m = static_cast<int>(t / 8), r = static_cast<int>(t % 8);
  uint32_t a[4], b[2];
  wm::ldmatrix_x4(a, a_tile + ((m % 2) * 8 + r) * 16 + (m / 2) * 8);
  // B: .trans of (k 0-7, n 0-7) and (k 8-15, n 0-7): lane l gets column n = l/4 at k = 2(l%4),
  // 2(l%4)+1, the mma's b0b1 and b2b3 ([MMA-16816] Figure 81). Lanes 16-31: addresses unused.
  wm::ldmatrix_x2_trans(b, b_tile + ((t % 16) / 8 * 8 + r) * 8);
  float c[4], d[4];
  for (int i = 0; i < 4; ++i) c[i] = c_regs[t * 4 + i];
  wm::mma_m16n8k16_f16f32(d, a, b, c);
  for (int i = 0; i < 4; ++i) d_regs[t * 4 + i] = d[i];
}

TEST(Ldmatrix, FeedsTheMmaEndToEnd) {
  SCOPED_TRACE(seed_message());
  auto rng = make_rng(81);
  const MmaProblem p = integer_problem(MmaKind::kF16, rng);
  std::vector<uint16_t> a_rowmajor(256), b_rowmajor(128);
  for (int e = 0; e < 256; ++e) a_rowmajor[e] = static_cast<uint16_t>(p.a_bits[e]);
  for (int e = 0; e < 128; ++e) b_rowmajor[e] = static_cast<uint16_t>(p.b_bits[e]);
  MmaRegisters regs{std::vector<uint32_t>(32 * 4), std::vector<uint32_t>(32 * 2), std::vector<float>(32 * 4)};
  distribute(p, a_16816, b_16816, 0, &regs);
  DeviceBuffer<uint16_t> d_a(a_rowmajor), d_b(b_rowmajor);
  DeviceBuffer<float> d_c(regs.c), d_d(32 * 4);
  ASSERT_EQ(cudaSuccess, launch_kernel(ldmatrix_mma_kernel, dim3(1), dim3(32), (256 + 128) * 2, nullptr, d_a.get(),
                                       d_b.get(), d_c.get(), d_d.get()));
  EXPECT_EQ(0, check_d(p, d_d.download(), 0, -1.0, false, "ldmatrix -> mma"));
}

TEST(LdmatrixMisuse, OneLaneSkippingFailsTheLaunch) {
  std::vector<uint16_t> fill(kLdmSlots * 8, 1);
  std::vector<int> row_slot(32);
  std::iota(row_slot.begin(), row_slot.end(), 0);
  DeviceBuffer<uint16_t> d_fill(fill);
  DeviceBuffer<int> d_slots(row_slot);
  DeviceBuffer<uint32_t> d_out(32 * 4);
  (void)cudaGetLastError();
  testing::internal::CaptureStderr();
  const cudaError_t error = launch_kernel(ldmatrix_kernel<4, false>, dim3(1), dim3(32), kLdmSlots * 16, nullptr,
                                          d_fill.get(), d_slots.get(), d_out.get(), 13);
  const std::string message = testing::internal::GetCapturedStderr();
  EXPECT_EQ(cudaErrorLaunchFailure, error) << "lane 13 skipped the ldmatrix; stderr: " << message;
  EXPECT_NE(std::string::npos, message.find("ldmatrix")) << "the failure names the instruction; stderr: " << message;
  (void)cudaGetLastError();
  ASSERT_EQ(cudaSuccess, launch_kernel(empty_kernel, dim3(1), dim3(32), 0, nullptr));
}

// ---- cp.async ----------------------------------------------------------------------------------

bool is_nan_bits(uint32_t u) { return (u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0; }

// Reads through a volatile pointer, so that the compiler reads memory where the kernel says.
__device__ __forceinline__ uint32_t read_u32(const void* p) { return *static_cast<const volatile uint32_t*>(p); }

// Per thread t: a 16-byte .cg copy with src-size t % 17, an 8-byte .ca with src-size t % 9, a 4-byte
// .ca with src-size t % 5 ([CP.ASYNC]: the destination bytes past src-size are zero). Regions
// (shared and global alike, each aligned to its cp-size): [0, 512) 16 B per thread, [512, 768)
// 8 B per thread, [768, 896) 4 B per thread. The destinations first hold a sentinel (1.0f); after
// commit_group, before any wait, they are read (poison expected: NaN); after wait_all, again.
constexpr int kCpRegionBytes = 32 * (16 + 8 + 4);
constexpr int kCpSize[3] = {16, 8, 4};
constexpr int kCpRegion[3] = {0, 512, 768};
constexpr int kCpSrcModulus[3] = {17, 9, 5};

__global__ void cp_async_fill_kernel(const unsigned char* src, uint32_t* before, unsigned char* after) {
  UPS_DYNAMIC_SHARED(unsigned char, smem);
  const unsigned t = threadIdx.x;
  for (int c = 0; c < 3; ++c)
    for (int w = 0; w < kCpSize[c] / 4; ++w) reinterpret_cast<float*>(smem + kCpRegion[c] + t * kCpSize[c])[w] = 1.0f;
  unsigned char* dst[3];
  for (int c = 0; c < 3; ++c) dst[c] = smem + kCpRegion[c] + t * kCpSize[c];
  const unsigned char* from[3];
  for (int c = 0; c < 3; ++c) from[c] = src + kCpRegion[c] + t * kCpSize[c];
  wm::cp_async_cg_16(dst[0], from[0], static_cast<int>(t % kCpSrcModulus[0]));
  wm::cp_async_ca_8(dst[1], from[1], static_cast<int>(t % kCpSrcModulus[1]));
  wm::cp_async_ca_4(dst[2], from[2], static_cast<int>(t % kCpSrcModulus[2]));
  wm::cp_async_commit_group();
  for (int c = 0; c < 3; ++c)
    for (int w = 0; w < kCpSize[c] / 4; ++w)
      before[(kCpRegion[c] + t * kCpSize[c]) / 4 + w] = read_u32(dst[c] + 4 * w);
  wm::cp_async_wait_all();
  for (int c = 0; c < 3; ++c)
    for (int e = 0; e < kCpSize[c]; ++e)
      after[kCpRegion[c] + t * kCpSize[c] + e] = *static_cast<volatile unsigned char*>(dst[c] + e);
}

TEST(CpAsync, LandsAfterWaitAllZeroFillsAndIsPoisonBefore) {
  SCOPED_TRACE(seed_message());
  auto rng = make_rng(91);
  // Source: finite floats (never NaN), so that a NaN read before the wait can only be the poison.
  std::uniform_real_distribution<float> value(-1000.0f, 1000.0f);
  std::vector<unsigned char> src(kCpRegionBytes);
  for (size_t w = 0; w < src.size() / 4; ++w) {
    const float v = value(rng);
    std::memcpy(&src[4 * w], &v, 4);
  }
  DeviceBuffer<unsigned char> d_src(src), d_after(src.size());
  DeviceBuffer<uint32_t> d_before(src.size() / 4);
  ASSERT_EQ(cudaSuccess, launch_kernel(cp_async_fill_kernel, dim3(1), dim3(32), kCpRegionBytes, nullptr, d_src.get(),
                                       d_before.get(), d_after.get()));
  const std::vector<uint32_t> before = d_before.download();
  const std::vector<unsigned char> after = d_after.download();
  const char* name[3] = {"cp.async.cg 16", "cp.async.ca 8", "cp.async.ca 4"};
  for (int t = 0; t < 32; ++t)
    for (int c = 0; c < 3; ++c) {
      const int src_size = t % kCpSrcModulus[c], base = kCpRegion[c] + t * kCpSize[c];
      for (int w = 0; w < kCpSize[c] / 4; ++w) {
        const uint32_t u = before[base / 4 + w];
        EXPECT_TRUE(is_nan_bits(u)) << name[c] << ", thread " << t << ", word " << w << ": read before the wait gave "
                                    << hex(u) << " (" << bits_float(u) << "), not the poison";
      }
      for (int e = 0; e < kCpSize[c]; ++e) {
        const unsigned want = e < src_size ? src[base + e] : 0u;
        EXPECT_EQ(want, after[base + e]) << name[c] << ", thread " << t << ", src-size " << src_size << ", byte " << e
                                         << (e < src_size ? " (copied)" : " (zero-filled)");
      }
    }
}

// [WAIT] wait_group N: only the N most recent groups may still be pending. Per thread: three
// groups (16 B to A, 16 B to B, 8 B + 4 B to C), then wait_group 2, 1, 0, reading A, B, C after each.
// [COMMIT]/[WAIT]: wait_all also completes copies not yet committed.
__global__ void cp_async_groups_kernel(const float* src, uint32_t* seen) {
  UPS_DYNAMIC_SHARED(float, smem);
  const unsigned t = threadIdx.x;
  float* a = smem + t * 16;  // 4 floats each: A, B, C (8 B + 4 B, then one word unused), D
  float* b = a + 4;
  float* c = a + 8;
  float* d = a + 12;
  for (int i = 0; i < 16; ++i) a[i] = 1.0f;
  const float* s = src + t * 16;
  uint32_t* out = seen + t * 40;
  wm::cp_async_cg_16(a, s, 16);
  wm::cp_async_commit_group();
  wm::cp_async_cg_16(b, s + 4, 16);
  wm::cp_async_commit_group();
  wm::cp_async_ca_8(c, s + 8, 8);
  wm::cp_async_ca_4(c + 2, s + 10, 4);
  wm::cp_async_commit_group();
  wm::cp_async_wait_group<2>();  // A done; B and C may be pending (and read as poison here)
  for (int i = 0; i < 3; ++i) out[i] = read_u32(a + i), out[3 + i] = read_u32(b + i), out[6 + i] = read_u32(c + i);
  wm::cp_async_wait_group<1>();  // A, B done; C pending
  for (int i = 0; i < 3; ++i) out[9 + i] = read_u32(a + i), out[12 + i] = read_u32(b + i), out[15 + i] = read_u32(c + i);
  wm::cp_async_wait_group<0>();  // all done
  for (int i = 0; i < 3; ++i) out[18 + i] = read_u32(a + i), out[21 + i] = read_u32(b + i), out[24 + i] = read_u32(c + i);
  // An uncommitted copy, then wait_all (== commit_group; wait_group 0).
  wm::cp_async_cg_16(d, s + 12, 16);
  out[27] = read_u32(d);
  wm::cp_async_wait_all();
  for (int i = 0; i < 4; ++i) out[28 + i] = read_u32(d + i);
  // wait_group 1 with one group committed, and an empty group committed after it: the empty group
  // is the one left pending ("an empty cp.async-group is trivially complete" either way).
  wm::cp_async_cg_16(a, s + 4, 16);  // A := the B data now
  wm::cp_async_commit_group();
  wm::cp_async_commit_group();
  wm::cp_async_wait_group<1>();
  for (int i = 0; i < 4; ++i) out[32 + i] = read_u32(a + i);
}

TEST(CpAsync, WaitGroupRetiresTheOldestGroupsFirst) {
  SCOPED_TRACE(seed_message());
  auto rng = make_rng(101);
  std::uniform_real_distribution<float> value(2.0f, 1000.0f);
  std::vector<float> src(32 * 16);
  for (float& v : src) v = value(rng);
  DeviceBuffer<float> d_src(src);
  DeviceBuffer<uint32_t> d_seen(32 * 40);
  ASSERT_EQ(cudaSuccess,
            launch_kernel(cp_async_groups_kernel, dim3(1), dim3(32), 32 * 16 * 4, nullptr, d_src.get(), d_seen.get()));
  const std::vector<uint32_t> seen = d_seen.download();
  for (int t = 0; t < 32; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t));
    const uint32_t* out = &seen[t * 40];
    auto data = [&](int i) { return float_bits(src[t * 16 + i]); };
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(data(i), out[i]) << "A after wait_group 2 (its group is the oldest of three)";
      EXPECT_TRUE(is_nan_bits(out[3 + i])) << "B after wait_group 2: " << hex(out[3 + i]) << ", not the poison";
      EXPECT_TRUE(is_nan_bits(out[6 + i])) << "C after wait_group 2: " << hex(out[6 + i]) << ", not the poison";
      EXPECT_EQ(data(i), out[9 + i]) << "A after wait_group 1";
      EXPECT_EQ(data(4 + i), out[12 + i]) << "B after wait_group 1";
      EXPECT_TRUE(is_nan_bits(out[15 + i])) << "C after wait_group 1: " << hex(out[15 + i]) << ", not the poison";
      EXPECT_EQ(data(i), out[18 + i]) << "A after wait_group 0";
      EXPECT_EQ(data(4 + i), out[21 + i]) << "B after wait_group 0";
      EXPECT_EQ(data(8 + i), out[24 + i]) << "C after wait_group 0";
    }
    EXPECT_TRUE(is_nan_bits(out[27])) << "an uncommitted copy read before wait_all: " << hex(out[27]);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(data(12 + i), out[28 + i]) << "uncommitted copy after wait_all";
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(data(4 + i), out[32 + i]) << "a group followed by an empty group, after wait_group 1";
  }
}

// [COMMIT] groups are per thread: one thread's wait does not retire another thread's copies.
// Odd threads wait_all, then a barrier; each thread reads its own destination: odd ones see the
// data, even ones (not waited yet) the poison; then the even ones wait and see the data.
__global__ void cp_async_per_thread_kernel(const float* src, uint32_t* seen) {
  UPS_DYNAMIC_SHARED(float, smem);
  const unsigned t = threadIdx.x;
  float* mine = smem + t * 4;
  for (int i = 0; i < 4; ++i) mine[i] = 1.0f;
  wm::cp_async_cg_16(mine, src + t * 4, 16);
  wm::cp_async_commit_group();
  if (t % 2 == 1) wm::cp_async_wait_all();
  __syncthreads();
  seen[t * 2] = read_u32(mine);
  if (t % 2 == 0) wm::cp_async_wait_all();
  seen[t * 2 + 1] = read_u32(mine);
}

TEST(CpAsync, GroupsArePerThread) {
  SCOPED_TRACE(seed_message());
  auto rng = make_rng(105);
  std::uniform_real_distribution<float> value(2.0f, 1000.0f);
  std::vector<float> src(64 * 4);
  for (float& v : src) v = value(rng);
  DeviceBuffer<float> d_src(src);
  DeviceBuffer<uint32_t> d_seen(64 * 2);
  ASSERT_EQ(cudaSuccess,
            launch_kernel(cp_async_per_thread_kernel, dim3(1), dim3(64), 64 * 16, nullptr, d_src.get(), d_seen.get()));
  const std::vector<uint32_t> seen = d_seen.download();
  for (int t = 0; t < 64; ++t) {
    if (t % 2 == 1)
      EXPECT_EQ(float_bits(src[t * 4]), seen[t * 2]) << "thread " << t << " waited before the barrier";
    else
      EXPECT_TRUE(is_nan_bits(seen[t * 2])) << "thread " << t << " has not waited, yet reads " << hex(seen[t * 2]);
    EXPECT_EQ(float_bits(src[t * 4]), seen[t * 2 + 1]) << "thread " << t << " after its own wait";
  }
}

// A multi-stage pipeline (the usual kernel structure): a block of 64 threads streams `n` floats
// through kStages shared buffers of 256 floats, each thread copying 16 bytes per tile with
// cp.async.cg (src-size clipped at the end of the input: the tail is zero-filled), one group per
// tile, wait_group<kStages - 2> then __syncthreads before a tile is read; every thread sums every
// tile. Integers, so the sum is exact.
template <int kStages>
__global__ void pipeline_kernel(const float* input, int n, float* sums) {
  UPS_DYNAMIC_SHARED(float, buffers);  // kStages x 256 floats
  const int t = static_cast<int>(threadIdx.x);
  const int tiles = (n + 255) / 256;
  auto issue = [&](int tile) {
    if (tile < tiles) {
      const int first = tile * 256 + t * 4;
      const int valid = std::max(0, std::min(4, n - first));
      const float* from = valid > 0 ? input + first : input;  // src-size 0: nothing is read
      wm::cp_async_cg_16(buffers + (tile % kStages) * 256 + t * 4, from, valid * 4);
    }
    wm::cp_async_commit_group();  // one group per step, empty past the end
  };
  for (int s = 0; s < kStages - 1; ++s) issue(s);
  float sum = 0.0f;
  for (int tile = 0; tile < tiles; ++tile) {
    wm::cp_async_wait_group<kStages - 2>();
    __syncthreads();
    const float* buffer = buffers + (tile % kStages) * 256;
    for (int e = 0; e < 256; ++e) sum += buffer[e];
    __syncthreads();  // everyone is done with the buffer before it is refilled
    issue(tile + kStages - 1);
  }
  wm::cp_async_wait_all();
  sums[t] = sum;
}

template <int kStages>
void run_pipeline(int n, std::mt19937_64& rng) {
  SCOPED_TRACE(std::to_string(kStages) + " stages, " + std::to_string(n) + " floats");
  std::uniform_int_distribution<int> value(-50, 50);
  std::vector<float> input(n);
  double want = 0;
  for (float& v : input) want += (v = static_cast<float>(value(rng)));
  DeviceBuffer<float> d_input(input), d_sums(64);
  ASSERT_EQ(cudaSuccess, launch_kernel(pipeline_kernel<kStages>, dim3(1), dim3(64), kStages * 256 * sizeof(float),
                                       nullptr, d_input.get(), n, d_sums.get()));
  const std::vector<float> sums = d_sums.download();
  for (int t = 0; t < 64; ++t) EXPECT_EQ(static_cast<float>(want), sums[t]) << "thread " << t;
}

TEST(CpAsync, MultiStagePipelineSums) {
  SCOPED_TRACE(seed_message());
  auto rng = make_rng(111);
  for (int n : {256, 1000, 256 * 7 + 3}) {
    run_pipeline<2>(n, rng);
    run_pipeline<3>(n, rng);
    run_pipeline<4>(n, rng);
  }
}

}  // namespace

// The warp-level matrix primitives of common/warp_matrix.cuh on the CPU: mma.sync and ldmatrix as
// warp collectives, cp.async as per-thread deferred copies.
//
// NOTE [ Warp-level matrix primitives under the emulation ]
//
// Written from the PTX ISA (sections "Warp-level matrix instructions: mma" with the fragment
// tables of "Matrix fragments for mma.m16n8k16 with floating point type" and "... mma.m16n8k8" for
// .tf32, "Warp-level matrix load instruction: ldmatrix", "Data movement and conversion
// instructions: cp.async", "cp.async.commit_group", "cp.async.wait_group / cp.async.wait_all").
//
// mma.sync and ldmatrix (.sync.aligned)
// - A warp collective over all 32 lanes, on the existing rendezvous (warp_collective in
//   emu_scheduler.cpp), so a lane waiting elsewhere deadlocks exactly like a shuffle whose lanes
//   never meet ("deadlock in block ...: ... waits in mma.sync... for lanes ..."), and the collective
//   orders the lanes for ThreadSanitizer like every other collective (NOTE [ Emulation layer under
//   ThreadSanitizer ] in emu_scheduler.cpp). The rendezvous is __match_all_sync's with the full
//   mask and a value naming the instruction (kTagBase | op), so lanes meet only at the same
//   instruction; its answer says whether every lane of the warp came:
//   - all 32 lanes, same instruction: the instruction executes;
//   - a lane exited or does not exist (a partial warp), or the lanes are at different matrix
//     instructions: the launch fails (cudaErrorLaunchFailure), with a line on stderr saying which,
//     then __trap()'s message naming the thread. On hardware this is undefined (.aligned).
// - Each lane deposits its operands in its slot of the warp's exchange (Exchange below) before the
//   rendezvous; the first lane resumed after it computes every lane's result from all deposits at
//   once, and marks each lane's result ready with a release store; each lane takes its own with
//   an acquire load. So an ldmatrix reads shared memory as it was at the instruction, even when a
//   lane resumed earlier goes on to overwrite it. Two exchanges alternate per warp (by the
//   per-thread count of matrix instructions): a lane can deposit for instruction g+2 only after
//   every lane has left instruction g (they all met at g+1), so a slot is never overwritten while
//   its result is still to be read.
// - mma numerics: products are exact (f16, bf16 and tf32 significands have at most 11 bits, so a
//   product fits a double exactly); c + a(k=0)b(k=0) + ... + a(K-1)b(K-1) is summed in that order in
//   double and rounded once to float. The ISA leaves the hardware's accumulation order and internal
//   rounding unspecified, so this is one exact-where-it-can-be model (NaN results are the canonical
//   0x7fffffff, infinities and NaN operands propagate as in IEEE arithmetic): whenever every partial sum
//   fits 53 bits at a common scale (e.g. small integers, the tests' choice), it is the exact
//   result rounded once, which every conforming GPU also returns. Elsewhere results may differ from
//   a GPU's by a few float ulps; compare such results with a tolerance.
// - tf32 operands: only bits 31..13 of each 32-bit register (sign, 8 exponent, 10 mantissa bits)
//   are read, as the hardware does; the low 13 bits are ignored, not rounded.
// - ldmatrix: lane 8i+r (i < the .x count) supplies the address of row r of matrix i; lanes beyond
//   are ignored (their addresses are not even checked). Each used address must be 16-byte aligned
//   and must not lie in memory that cudaMalloc/cudaMallocManaged/cudaMallocHost returned (so it is
//   not global memory; the emulation cannot tell __shared__ from other host memory, so that is all
//   it checks); else the launch fails naming the lane. The register result follows the ISA's table:
//   without .trans lane t holds row t/4, elements 2(t%4) and 2(t%4)+1 (the lower-numbered element
//   in the low 16 bits); with .trans, the same position of the transposed matrix, i.e. elements
//   (row 2(t%4), column t/4) and (row 2(t%4)+1, column t/4) of the matrix in memory.
//
// cp.async (per thread, no collective)
// - At issue: `src_bytes` source bytes are read (captured) and the cp-size destination bytes are
//   filled with kCpAsyncPoison (0xFF bytes: a NaN as f32, f16, bf16 and f64, -1 as an integer, the
//   same poison as fresh dynamic shared memory). The copy is then outstanding; its bytes (the
//   captured ones, then zeros up to cp-size) land only when a wait retires it. So a kernel that
//   reads its destination before the matching wait reads poison and fails its test.
// - cp.async.commit_group puts every uncommitted copy of the thread into a new group (possibly an
//   empty one, which counts as a group, as in the ISA). cp.async.wait_group N retires every
//   committed group but the newest N; copies not yet committed are NOT retired (ISA: wait_group
//   waits only for committed groups). cp.async.wait_all is, as the ISA defines it, commit_group
//   followed by wait_group 0: it retires everything, committed or not.
// - Copies retire in issue order, so of two overlapping copies the later one's bytes win.
// - A thread that exits with copies outstanding has them retired at its exit (the bytes land then,
//   in issue order). On hardware they land at some time before the CTA ends; no other thread can
//   wait for them (it would have to synchronize with an exited thread), so the only observable
//   effect is through a later block's view of a static __shared__ array, which the emulation keeps.
// - Checks that fail the launch (stderr line, then __trap()): src_bytes outside [0, cp-size]
//   (the ISA requires src-size <= cp-size), a destination or source not aligned to cp-size, a null
//   source with src_bytes > 0, a destination in cudaMalloc'd memory.
//
// Limits
// - The "not global memory" checks query the allocation registry under its mutex; under
//   ThreadSanitizer that mutex would order the lanes that take it (hiding real races), so there
//   the checks are skipped: the plain and ASan builds make them.
// - The check that a warp's lanes are at the same matrix instruction is by kind, not call site:
//   two different ldmatrix_x4 call sites meet each other (on hardware, undefined behaviour).
// - Memory model: none (as for the rest of the emulation); the source is read at issue, which is
//   one of the moments the hardware may read it.
#include "emu_warp_matrix.h"

#include <cstdio>
#include <cstring>
#include <vector>

#include "emu_runtime.h"

namespace ups_emu::detail {
namespace {

constexpr unsigned kFullMask = 0xffffffffu;
// The value every lane offers to the match_all rendezvous (its low byte is the MatrixOp): an
// ordinary __match_all_sync offering exactly this value is all but impossible.
constexpr unsigned long long kTagBase = 0x5550'534D'4154'0000ull;  // "UPSMAT"
constexpr unsigned char kCpAsyncPoison = 0xff;

constexpr unsigned kMaxThreads = 1024;  // per block
constexpr unsigned kMaxWarps = kMaxThreads / 32;

// One lane's deposit in a warp's exchange, and the result computed for it.
struct LaneSlot {
  uint32_t a[4];
  uint32_t b[2];
  float c[4];
  const void* address;
  uint32_t out[4];
  unsigned ready;  // atomic: 1 once `out` holds this instruction's result
};

struct Exchange {
  LaneSlot lanes[32];
};

struct WarpExchanges {
  Exchange ring[2];  // alternating by instruction count: see NOTE above
};

struct PendingCopy {
  unsigned char* dst;
  unsigned char bytes[16];
  int size;
  long long group;  // committed group number, or -1 while uncommitted
};

// State of one CUDA thread of the block being run (by linear thread id). Only that thread touches
// it; successive blocks are ordered (by the scheduler, and for ThreadSanitizer by its block chain).
struct ThreadState {
  unsigned matrix_ops = 0;          // matrix collectives this thread has executed
  long long committed_groups = 0;   // cp.async groups committed so far
  std::vector<PendingCopy> copies;  // outstanding cp.async copies, in issue order
};

// One block is alive at a time in the whole process (NOTE [ Emulation layer ]), so one set of
// per-warp and per-thread state serves every launch. Fixed arrays: a fiber never resizes them.
WarpExchanges g_warps[kMaxWarps];
ThreadState g_threads[kMaxThreads];

unsigned linear_thread_id() {
  return threadIdx.x + threadIdx.y * blockDim.x + threadIdx.z * blockDim.x * blockDim.y;
}

// Fails the launch: the reason on stderr (the scheduler adds the kernel and thread with __trap's).
[[noreturn]] void fail(const char* name, const char* reason, unsigned long long detail_value) {
  const unsigned t = linear_thread_id();
  std::fprintf(stderr,
               "ups_emu: %s: %s (0x%llx), in thread (%u,%u,%u) [warp %u, lane %u] of block (%u,%u,%u); the launch "
               "fails\n",
               name, reason, detail_value, threadIdx.x, threadIdx.y, threadIdx.z, t / 32, t % 32, blockIdx.x,
               blockIdx.y, blockIdx.z);
  __trap();
}

// Whether `p` lies in an allocation of the runtime (global, managed or pinned host memory), which
// a shared-memory operand must not. Skipped under ThreadSanitizer: see NOTE above.
bool in_runtime_allocation([[maybe_unused]] const void* p) {
#if UPS_EMU_TSAN
  return false;
#else
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, p) != cudaSuccess) return false;
  return attributes.type != cudaMemoryTypeUnregistered;
#endif
}

// ---- Numbers --------------------------------------------------------------------------------------

double half_to_double(uint32_t h) {
  const bool negative = (h & 0x8000u) != 0;
  const int exponent = static_cast<int>((h >> 10) & 0x1fu);
  const int mantissa = static_cast<int>(h & 0x3ffu);
  double v;
  if (exponent == 0) {
    v = std::ldexp(static_cast<double>(mantissa), -24);  // zero or subnormal
  } else if (exponent == 31) {
    v = mantissa == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  } else {
    v = std::ldexp(static_cast<double>(1024 + mantissa), exponent - 25);
  }
  return negative ? -v : v;
}

double float_bits_to_double(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return static_cast<double>(f);
}

uint32_t float_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

double bf16_to_double(uint32_t h) { return float_bits_to_double((h & 0xffffu) << 16); }
double tf32_to_double(uint32_t r) { return float_bits_to_double(r & 0xffffe000u); }  // bits 12..0 ignored

// ---- mma ------------------------------------------------------------------------------------------

// The whole-warp operands of one mma, unpacked from the lanes' fragments (PTX ISA fragment tables;
// groupID = lane / 4, threadID_in_group = lane % 4).
struct MmaOperands {
  int k = 16;
  double a[16][16];  // [m][k]
  double b[16][8];   // [k][n]
  double c[16][8];   // [m][n]
};

void unpack_mma(MatrixOp op, const Exchange& ex, MmaOperands& m) {
  for (unsigned lane = 0; lane < 32; ++lane) {
    const LaneSlot& s = ex.lanes[lane];
    const unsigned g = lane / 4;
    const unsigned t = lane % 4;
    // C (16x8 f32): c0,c1 at row g, c2,c3 at row g+8; columns 2t and 2t+1.
    for (unsigned i = 0; i < 4; ++i) m.c[g + 8 * (i / 2)][2 * t + (i % 2)] = static_cast<double>(s.c[i]);
    if (op == MatrixOp::kMmaM16N8K8Tf32) {
      // A (16x8): a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4). B (8x8): b0 (k=t, n=g), b1 (k=t+4, n=g).
      for (unsigned i = 0; i < 4; ++i) m.a[g + 8 * (i % 2)][t + 4 * (i / 2)] = tf32_to_double(s.a[i]);
      for (unsigned i = 0; i < 2; ++i) m.b[t + 4 * i][g] = tf32_to_double(s.b[i]);
      continue;
    }
    auto element = [op](uint32_t reg, unsigned half) {
      const uint32_t bits = (reg >> (16 * half)) & 0xffffu;
      return op == MatrixOp::kMmaM16N8K16F16 ? half_to_double(bits) : bf16_to_double(bits);
    };
    // A (16x16), two elements per register, the lower column in the low half:
    // reg0 (g, 2t..2t+1), reg1 (g+8, 2t..), reg2 (g, 2t+8..), reg3 (g+8, 2t+8..).
    for (unsigned r = 0; r < 4; ++r)
      for (unsigned h = 0; h < 2; ++h) m.a[g + 8 * (r % 2)][2 * t + h + 8 * (r / 2)] = element(s.a[r], h);
    // B (16x8, "col"): reg0 (k = 2t..2t+1, n = g), reg1 (k = 2t+8..2t+9, n = g).
    for (unsigned r = 0; r < 2; ++r)
      for (unsigned h = 0; h < 2; ++h) m.b[2 * t + h + 8 * r][g] = element(s.b[r], h);
  }
  m.k = op == MatrixOp::kMmaM16N8K8Tf32 ? 8 : 16;
}

void compute_mma(MatrixOp op, Exchange& ex) {
  MmaOperands m;
  unpack_mma(op, ex, m);
  for (unsigned lane = 0; lane < 32; ++lane) {
    const unsigned g = lane / 4;
    const unsigned t = lane % 4;
    for (unsigned i = 0; i < 4; ++i) {
      const unsigned row = g + 8 * (i / 2);
      const unsigned col = 2 * t + (i % 2);
      double sum = m.c[row][col];
      for (int k = 0; k < m.k; ++k) sum += m.a[row][k] * m.b[k][col];
      const float d = static_cast<float>(sum);
      // A NaN result is the canonical f32 NaN, as every f32 arithmetic result on the GPU.
      const uint32_t bits = d != d ? 0x7fffffffu : float_bits(d);
      ex.lanes[lane].out[i] = bits;
    }
  }
}

// ---- ldmatrix -------------------------------------------------------------------------------------

unsigned ldmatrix_count(MatrixOp op) {
  switch (op) {
    case MatrixOp::kLdmatrixX1:
    case MatrixOp::kLdmatrixX1Trans:
      return 1;
    case MatrixOp::kLdmatrixX2:
    case MatrixOp::kLdmatrixX2Trans:
      return 2;
    default:
      return 4;
  }
}

bool ldmatrix_trans(MatrixOp op) {
  return op == MatrixOp::kLdmatrixX1Trans || op == MatrixOp::kLdmatrixX2Trans || op == MatrixOp::kLdmatrixX4Trans;
}

void compute_ldmatrix(MatrixOp op, Exchange& ex) {
  const unsigned matrices = ldmatrix_count(op);
  const bool trans = ldmatrix_trans(op);
  for (unsigned i = 0; i < matrices; ++i) {
    uint16_t e[8][8];  // matrix i as it is in memory: row r from lane 8i+r's address
    for (unsigned r = 0; r < 8; ++r) std::memcpy(e[r], ex.lanes[8 * i + r].address, 16);
    for (unsigned lane = 0; lane < 32; ++lane) {
      const unsigned q = lane / 4;
      const unsigned p = 2 * (lane % 4);
      const uint32_t lo = trans ? e[p][q] : e[q][p];
      const uint32_t hi = trans ? e[p + 1][q] : e[q][p + 1];
      ex.lanes[lane].out[i] = lo | (hi << 16);
    }
  }
}

// ---- The collective -------------------------------------------------------------------------------

// Deposits this lane's operands (via `deposit`), meets the warp, and returns this lane's slot with
// its result ready.
template <typename Deposit>
LaneSlot& matrix_collective(MatrixOp op, const char* name, Deposit deposit) {
  const unsigned linear = linear_thread_id();
  const unsigned lane = linear % 32;
  Exchange& ex = g_warps[linear / 32].ring[g_threads[linear].matrix_ops++ & 1u];
  LaneSlot& mine = ex.lanes[lane];
  deposit(mine);
  __atomic_store_n(&mine.ready, 0u, __ATOMIC_RELAXED);
  const unsigned long long tag = kTagBase | static_cast<unsigned long long>(op);
  const unsigned came = static_cast<unsigned>(warp_collective(WarpOp::kMatchAll, name, kFullMask, tag, 0, 0));
  if (came != kFullMask) {
    if (came == 0) fail(name, "the lanes of the warp are at different warp-level matrix instructions", tag);
    fail(name, "needs all 32 lanes of the warp (.sync.aligned); lanes not taking part (exited or absent)", ~came);
  }
  if (__atomic_load_n(&mine.ready, __ATOMIC_ACQUIRE) == 0) {
    // The first lane to resume: every lane's result, from the operands as they are now.
    if (op == MatrixOp::kMmaM16N8K16F16 || op == MatrixOp::kMmaM16N8K16Bf16 || op == MatrixOp::kMmaM16N8K8Tf32)
      compute_mma(op, ex);
    else
      compute_ldmatrix(op, ex);
    for (LaneSlot& s : ex.lanes) __atomic_store_n(&s.ready, 1u, __ATOMIC_RELEASE);
  }
  return mine;
}

// ---- cp.async -------------------------------------------------------------------------------------

void retire(ThreadState& t, long long below_group, bool uncommitted_too) {
  std::vector<PendingCopy>& copies = t.copies;
  size_t kept = 0;
  for (size_t i = 0; i < copies.size(); ++i) {
    const PendingCopy& c = copies[i];
    const bool due = c.group < 0 ? uncommitted_too : c.group < below_group;
    if (due) {
      std::memcpy(c.dst, c.bytes, static_cast<size_t>(c.size));
    } else {
      copies[kept++] = c;
    }
  }
  copies.resize(kept);
}

}  // namespace

void warp_mma(MatrixOp op, const char* name, float* d, const uint32_t* a, const uint32_t* b, const float* c) {
  const LaneSlot& mine = matrix_collective(op, name, [&](LaneSlot& s) {
    std::memcpy(s.a, a, sizeof s.a);
    std::memcpy(s.b, b, sizeof s.b);
    std::memcpy(s.c, c, sizeof s.c);  // before d is written: d may alias c
    s.address = nullptr;
  });
  std::memcpy(d, mine.out, 4 * sizeof(float));
}

void warp_ldmatrix(MatrixOp op, const char* name, uint32_t* r, const void* row_address) {
  const unsigned lane = linear_thread_id() % 32;
  const unsigned matrices = ldmatrix_count(op);
  if (lane < 8 * matrices) {  // an address the instruction uses
    const uintptr_t p = reinterpret_cast<uintptr_t>(row_address);
    if (p == 0 || p % 16 != 0) fail(name, "row address not 16-byte aligned (or null)", p);
    if (in_runtime_allocation(row_address))
      fail(name, "row address lies in cudaMalloc'd (global) memory, not shared memory", p);
  }
  const LaneSlot& mine = matrix_collective(op, name, [&](LaneSlot& s) { s.address = row_address; });
  std::memcpy(r, mine.out, matrices * sizeof(uint32_t));
}

void cp_async(const char* name, void* smem, const void* gmem, int cp_size, int src_bytes) {
  if (src_bytes < 0 || src_bytes > cp_size)
    fail(name, "src_bytes outside [0, cp-size]", static_cast<unsigned long long>(static_cast<long long>(src_bytes)));
  const uintptr_t dst = reinterpret_cast<uintptr_t>(smem);
  const uintptr_t src = reinterpret_cast<uintptr_t>(gmem);
  if (dst == 0 || dst % static_cast<uintptr_t>(cp_size) != 0)
    fail(name, "shared destination not aligned to the copy size (or null)", dst);
  if (src_bytes > 0 && (src == 0 || src % static_cast<uintptr_t>(cp_size) != 0))
    fail(name, "global source not aligned to the copy size (or null)", src);
  if (in_runtime_allocation(smem)) fail(name, "destination lies in cudaMalloc'd (global) memory, not shared memory", dst);
  PendingCopy copy{};
  copy.dst = static_cast<unsigned char*>(smem);
  copy.size = cp_size;
  copy.group = -1;
  if (src_bytes > 0) std::memcpy(copy.bytes, gmem, static_cast<size_t>(src_bytes));  // the rest stays zero
  std::memset(smem, kCpAsyncPoison, static_cast<size_t>(cp_size));
  g_threads[linear_thread_id()].copies.push_back(copy);
}

void cp_async_commit_group() {
  ThreadState& t = g_threads[linear_thread_id()];
  for (PendingCopy& c : t.copies)
    if (c.group < 0) c.group = t.committed_groups;
  ++t.committed_groups;
}

void cp_async_wait_group(int pending_groups) {
  ThreadState& t = g_threads[linear_thread_id()];
  retire(t, t.committed_groups - pending_groups, false);
}

void cp_async_wait_all() {
  cp_async_commit_group();
  cp_async_wait_group(0);
}

void warp_matrix_thread_begin() {
  ThreadState& t = g_threads[linear_thread_id()];
  t.matrix_ops = 0;
  t.committed_groups = 0;
  t.copies.clear();
}

void warp_matrix_thread_end() {
  ThreadState& t = g_threads[linear_thread_id()];
  retire(t, t.committed_groups, true);
}

}  // namespace ups_emu::detail

// Warp-level matrix primitives for the tensor-core engine (DESIGN.md "Transposed convolution: the
// engine"): mma.sync (f16 and bf16 m16n8k16, tf32 m16n8k8, f32 accumulate), ldmatrix (m8n8 .b16,
// x1/x2/x4, with and without .trans), cp.async (.cg 16 bytes, .ca 8 and 4 bytes, commit and wait),
// and cvt.rna.tf32.f32. Each is written from the PTX ISA section cited at its definition.
//
// Where each runs:
// - nvcc, sm_80 and newer: one inline PTX instruction each (HMMA, LDSM, LDGSTS in the SASS).
// - nvcc, sm_75: ldmatrix and cvt_rna_tf32 are available (ldmatrix is sm_75 PTX; the tf32
//   rounding is computed with integer operations there); mma and cp.async are not: see NOTE [ Warp
//   matrix primitives below sm_80 ].
// - The emulation build (UPS_EMULATION, host compiler): mma and ldmatrix are warp collectives and
//   cp.async is a deferred copy whose destination reads as poison until its wait; see NOTE
//   [ Warp-level matrix primitives under the emulation ] in emu/emu_warp_matrix.cpp.
//
// NOTE [ Warp matrix primitives below sm_80 ]
//
// mma.sync.m16n8k16 with f32 accumulate, the tf32 shape and cp.async need sm_80. The default
// architecture list also builds sm_75, where dispatch never launches a tensor-core kernel (it asks
// the device's compute capability at run time). Under nvcc for __CUDA_ARCH__ < 800 these functions
// are declared `= delete`: a call compiled for sm_75 is a compile error at the call site naming the
// function, never a silent no-op and never a device-side trap that would poison the CUDA context.
// A kernel that uses them therefore compiles its body only where they exist:
//
//   __global__ void engine_kernel(Params p) {
//   #if UPS_HAS_WARP_MMA
//     ... mma_m16n8k16_f16f32(...) ...
//   #endif  // sm_75 build: an empty kernel that dispatch never launches (can_implement: sm_80+)
//   }
//
// (or, in a template whose fragments depend on a template parameter, `if constexpr
// (kHasWarpMma)`). UPS_HAS_WARP_MMA is 1 under the emulation and in device code for sm_80+, and 0
// for sm_75 device code and for nvcc's host pass, where host code must ask the device instead.
// UPS_HAS_LDMATRIX is the same for ldmatrix, which needs only sm_75.
#pragma once

#include <cstdint>

#include "platform.cuh"

#if defined(UPS_EMULATION)
#define UPS_HAS_WARP_MMA 1
#define UPS_HAS_LDMATRIX 1
#elif defined(__CUDA_ARCH__)
#define UPS_HAS_WARP_MMA (__CUDA_ARCH__ >= 800)
#define UPS_HAS_LDMATRIX (__CUDA_ARCH__ >= 750)
#else
#define UPS_HAS_WARP_MMA 0  // nvcc's host pass: host code asks the device's compute capability
#define UPS_HAS_LDMATRIX 0
#endif

// Whether the definitions below are inline PTX (nvcc) rather than deleted: the host pass keeps
// them so that device functions calling them parse there.
#if !defined(UPS_EMULATION) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#define UPS_WARP_MMA_DELETED 1
#else
#define UPS_WARP_MMA_DELETED 0
#endif
#if !defined(UPS_EMULATION) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 750
#define UPS_LDMATRIX_DELETED 1
#else
#define UPS_LDMATRIX_DELETED 0
#endif

namespace upsample::cuda {

inline constexpr bool kHasWarpMma = UPS_HAS_WARP_MMA;
inline constexpr bool kHasLdmatrix = UPS_HAS_LDMATRIX;

// ---- cvt.rna.tf32.f32 ---------------------------------------------------------------------------
// PTX ISA "cvt": .rna rounds to the nearest tf32 value (10 explicit mantissa bits), ties away from
// zero; the result is the tf32 value in a 32-bit register with its low 13 bits zero. A finite value
// that rounds past the largest tf32 becomes infinity (no .satfinite); infinities stay; a NaN gives
// the canonical NaN 0x7fffffff (CUDA's single-precision NaN result), whose low bits mma ignores.
namespace detail {
__host__ __device__ inline uint32_t cvt_rna_tf32_bits(float x) {
  uint32_t bits;
  static_assert(sizeof bits == sizeof x, "f32 is 32 bits");
  __builtin_memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return 0x7fffffffu;  // NaN
  // Adding half of the dropped unit to the magnitude bits rounds ties away from zero; a carry out
  // of the mantissa bumps the exponent, as it should (up to infinity).
  return (bits + 0x1000u) & 0xffffe000u;
}
}  // namespace detail

#if defined(UPS_EMULATION)

// ---- Emulation build: warp collectives and deferred copies (emu/emu_warp_matrix.cpp) ----------

__device__ inline void mma_m16n8k16_f16f32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                           const float (&c)[4]) {
  ::ups_emu::detail::warp_mma(::ups_emu::detail::MatrixOp::kMmaM16N8K16F16,
                              "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", d, a, b, c);
}
__device__ inline void mma_m16n8k16_bf16f32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                            const float (&c)[4]) {
  ::ups_emu::detail::warp_mma(::ups_emu::detail::MatrixOp::kMmaM16N8K16Bf16,
                              "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32", d, a, b, c);
}
__device__ inline void mma_m16n8k8_tf32f32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                           const float (&c)[4]) {
  ::ups_emu::detail::warp_mma(::ups_emu::detail::MatrixOp::kMmaM16N8K8Tf32,
                              "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32", d, a, b, c);
}
__device__ inline uint32_t cvt_rna_tf32(float x) { return detail::cvt_rna_tf32_bits(x); }

__device__ inline void ldmatrix_x1(uint32_t (&r)[1], const void* row_address) {
  ::ups_emu::detail::warp_ldmatrix(::ups_emu::detail::MatrixOp::kLdmatrixX1, "ldmatrix.sync.aligned.m8n8.x1.shared.b16",
                                   r, row_address);
}
__device__ inline void ldmatrix_x2(uint32_t (&r)[2], const void* row_address) {
  ::ups_emu::detail::warp_ldmatrix(::ups_emu::detail::MatrixOp::kLdmatrixX2, "ldmatrix.sync.aligned.m8n8.x2.shared.b16",
                                   r, row_address);
}
__device__ inline void ldmatrix_x4(uint32_t (&r)[4], const void* row_address) {
  ::ups_emu::detail::warp_ldmatrix(::ups_emu::detail::MatrixOp::kLdmatrixX4, "ldmatrix.sync.aligned.m8n8.x4.shared.b16",
                                   r, row_address);
}
__device__ inline void ldmatrix_x1_trans(uint32_t (&r)[1], const void* row_address) {
  ::ups_emu::detail::warp_ldmatrix(::ups_emu::detail::MatrixOp::kLdmatrixX1Trans,
                                   "ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16", r, row_address);
}
__device__ inline void ldmatrix_x2_trans(uint32_t (&r)[2], const void* row_address) {
  ::ups_emu::detail::warp_ldmatrix(::ups_emu::detail::MatrixOp::kLdmatrixX2Trans,
                                   "ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16", r, row_address);
}
__device__ inline void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row_address) {
  ::ups_emu::detail::warp_ldmatrix(::ups_emu::detail::MatrixOp::kLdmatrixX4Trans,
                                   "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16", r, row_address);
}

__device__ inline void cp_async_cg_16(void* smem, const void* gmem, int src_bytes) {
  ::ups_emu::detail::cp_async("cp.async.cg.shared.global (16 bytes)", smem, gmem, 16, src_bytes);
}
__device__ inline void cp_async_ca_8(void* smem, const void* gmem, int src_bytes) {
  ::ups_emu::detail::cp_async("cp.async.ca.shared.global (8 bytes)", smem, gmem, 8, src_bytes);
}
__device__ inline void cp_async_ca_4(void* smem, const void* gmem, int src_bytes) {
  ::ups_emu::detail::cp_async("cp.async.ca.shared.global (4 bytes)", smem, gmem, 4, src_bytes);
}
__device__ inline void cp_async_commit_group() { ::ups_emu::detail::cp_async_commit_group(); }
template <int kPendingGroups>
__device__ inline void cp_async_wait_group() {
  static_assert(kPendingGroups >= 0, "cp.async.wait_group takes a non-negative count");
  ::ups_emu::detail::cp_async_wait_group(kPendingGroups);
}
__device__ inline void cp_async_wait_all() { ::ups_emu::detail::cp_async_wait_all(); }

#else  // nvcc

// ---- mma.sync ----------------------------------------------------------------------------------
// PTX ISA "Warp-level matrix instructions: mma" (mma.sync.aligned.m16n8k16.row.col, sm_80) and
// its fragment table "Matrix fragments for mma.m16n8k16 with floating point type": with
// groupID = lane / 4 and threadID_in_group = lane % 4 (t),
//   a[0] = A(g, 2t..2t+1)   a[1] = A(g+8, 2t..2t+1)   a[2] = A(g, 2t+8..2t+9)   a[3] = A(g+8, 2t+8..)
//   b[0] = B(2t..2t+1, g)   b[1] = B(2t+8..2t+9, g)
//   c[0..1] = C(g, 2t..2t+1)   c[2..3] = C(g+8, 2t..2t+1)   (d likewise)
// the lower-numbered element of each pair in the low 16 bits. Every lane of the warp must execute
// the same instruction (.sync.aligned).
#if UPS_WARP_MMA_DELETED
__device__ void mma_m16n8k16_f16f32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                    const float (&c)[4]) = delete;  // sm_80+: see NOTE above
__device__ void mma_m16n8k16_bf16f32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                     const float (&c)[4]) = delete;
__device__ void mma_m16n8k8_tf32f32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                    const float (&c)[4]) = delete;
#else
__device__ inline void mma_m16n8k16_f16f32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                           const float (&c)[4]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
        "f"(c[3]));
}
__device__ inline void mma_m16n8k16_bf16f32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                            const float (&c)[4]) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
        "f"(c[3]));
}
// PTX ISA "Matrix fragments for mma.m16n8k8" (.tf32): one tf32 per register,
//   a[0] = A(g, t)   a[1] = A(g+8, t)   a[2] = A(g, t+4)   a[3] = A(g+8, t+4)
//   b[0] = B(t, g)   b[1] = B(t+4, g)   c, d as for m16n8k16.
// The hardware reads bits 31..13 of each operand register; round with cvt_rna_tf32 first.
__device__ inline void mma_m16n8k8_tf32f32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                           const float (&c)[4]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
        "f"(c[3]));
}
#endif

// PTX ISA "cvt" (cvt.rna.tf32.f32, sm_80); below sm_80 the same rounding in integer operations.
__device__ inline uint32_t cvt_rna_tf32(float x) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
  return r;
#else
  return detail::cvt_rna_tf32_bits(x);
#endif
}

// ---- ldmatrix ----------------------------------------------------------------------------------
// PTX ISA "Warp-level matrix load instruction: ldmatrix" (ldmatrix.sync.aligned.m8n8.x{1,2,4}
// [.trans].shared.b16, sm_75): lane 8i+r gives the 16-byte aligned shared address of row r of
// matrix i; r[i] of lane t is row t/4, elements 2(t%4) and 2(t%4)+1 of matrix i (of its transpose
// with .trans). "memory": the compiler must not move this thread's shared stores past the load.
#if UPS_LDMATRIX_DELETED
__device__ void ldmatrix_x1(uint32_t (&r)[1], const void* row_address) = delete;  // sm_75+
__device__ void ldmatrix_x2(uint32_t (&r)[2], const void* row_address) = delete;
__device__ void ldmatrix_x4(uint32_t (&r)[4], const void* row_address) = delete;
__device__ void ldmatrix_x1_trans(uint32_t (&r)[1], const void* row_address) = delete;
__device__ void ldmatrix_x2_trans(uint32_t (&r)[2], const void* row_address) = delete;
__device__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row_address) = delete;
#else
namespace detail {
__device__ inline uint32_t shared_address(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }
}  // namespace detail
__device__ inline void ldmatrix_x1(uint32_t (&r)[1], const void* row_address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n"
               : "=r"(r[0])
               : "r"(detail::shared_address(row_address))
               : "memory");
}
__device__ inline void ldmatrix_x2(uint32_t (&r)[2], const void* row_address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(detail::shared_address(row_address))
               : "memory");
}
__device__ inline void ldmatrix_x4(uint32_t (&r)[4], const void* row_address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(detail::shared_address(row_address))
               : "memory");
}
__device__ inline void ldmatrix_x1_trans(uint32_t (&r)[1], const void* row_address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n"
               : "=r"(r[0])
               : "r"(detail::shared_address(row_address))
               : "memory");
}
__device__ inline void ldmatrix_x2_trans(uint32_t (&r)[2], const void* row_address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(r[0]), "=r"(r[1])
               : "r"(detail::shared_address(row_address))
               : "memory");
}
__device__ inline void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row_address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(detail::shared_address(row_address))
               : "memory");
}
#endif

// ---- cp.async ----------------------------------------------------------------------------------
// PTX ISA "Data movement and conversion instructions: cp.async" (sm_80): copies cp-size bytes from
// global to shared memory asynchronously; only src_bytes (the src-size operand, <= cp-size) are
// read and the rest of the destination is zero-filled. .cg (L2 only) takes cp-size 16; .ca takes 4,
// 8 or 16. Both addresses aligned to cp-size. The destination may be read only after the
// cp.async.wait_group / wait_all that covers the copy's group ("cp.async.commit_group",
// "cp.async.wait_group"): wait_group N waits until at most the N most recent committed groups are
// pending; copies not committed are not waited for; wait_all = commit_group + wait_group 0.
// Other threads see the bytes only after a barrier that follows the wait.
#if UPS_WARP_MMA_DELETED
__device__ void cp_async_cg_16(void* smem, const void* gmem, int src_bytes) = delete;  // sm_80+
__device__ void cp_async_ca_8(void* smem, const void* gmem, int src_bytes) = delete;
__device__ void cp_async_ca_4(void* smem, const void* gmem, int src_bytes) = delete;
__device__ void cp_async_commit_group() = delete;
template <int kPendingGroups>
__device__ void cp_async_wait_group() = delete;
__device__ void cp_async_wait_all() = delete;
#else
__device__ inline void cp_async_cg_16(void* smem, const void* gmem, int src_bytes) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(
                   static_cast<uint32_t>(__cvta_generic_to_shared(smem))),
               "l"(__cvta_generic_to_global(gmem)), "r"(src_bytes)
               : "memory");
}
__device__ inline void cp_async_ca_8(void* smem, const void* gmem, int src_bytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(
                   static_cast<uint32_t>(__cvta_generic_to_shared(smem))),
               "l"(__cvta_generic_to_global(gmem)), "r"(src_bytes)
               : "memory");
}
__device__ inline void cp_async_ca_4(void* smem, const void* gmem, int src_bytes) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(
                   static_cast<uint32_t>(__cvta_generic_to_shared(smem))),
               "l"(__cvta_generic_to_global(gmem)), "r"(src_bytes)
               : "memory");
}
__device__ inline void cp_async_commit_group() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int kPendingGroups>
__device__ inline void cp_async_wait_group() {
  static_assert(kPendingGroups >= 0, "cp.async.wait_group takes a non-negative count");
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPendingGroups) : "memory");
}
__device__ inline void cp_async_wait_all() { asm volatile("cp.async.wait_all;\n" ::: "memory"); }
#endif

#endif  // UPS_EMULATION

}  // namespace upsample::cuda

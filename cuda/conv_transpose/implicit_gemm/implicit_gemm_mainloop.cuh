// The implicit GEMM's per-stage math: the warp-level tensor-core tile (mma.sync m16n8k16 for
// f16/bf16, m16n8k8 TF32 for f32 when the caller allows it, fragments read by ldmatrix) and its
// SIMT twin (a register tile of FMAs per thread fed by 16-byte shared loads), both reading the
// stage layout of NOTE [ Implicit GEMM stage layout ]. Each exposes clear(), compute(stage) and
// for_each(f(row, col, value)) over its accumulators in CTA-tile coordinates; the kernel
// (implicit_gemm_kernel.cuh) owns the pipeline around them.
//
// Staging: stage_copy_16() is cp.async.cg 16 bytes with zero fill on sm_80+ (and under the
// emulation layer: UPS_HAS_WARP_MMA); on older GPUs, which only run the SIMT twin, it is a
// synchronous 16-byte load and store, and the commit/wait calls are no-ops.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cuda/common/element.cuh"
#include "cuda/common/platform.cuh"
#include "cuda/common/warp_matrix.cuh"
#include "implicit_gemm_params.cuh"

namespace upsample::cuda::implicit_gemm {

// src_bytes is 16 or 0 (0: the chunk lies in the implicit zero padding, or beyond C_in/groups).
__device__ __forceinline__ void stage_copy_16(void* smem, const void* gmem, int src_bytes) {
#if UPS_HAS_WARP_MMA
  cp_async_cg_16(smem, gmem, src_bytes);
#else
  uint4 value = make_uint4(0, 0, 0, 0);
  if (src_bytes != 0) value = *static_cast<const uint4*>(gmem);
  *static_cast<uint4*>(smem) = value;
#endif
}

__device__ __forceinline__ void stage_commit() {
#if UPS_HAS_WARP_MMA
  cp_async_commit_group();
#endif
}

template <int kPendingGroups>
__device__ __forceinline__ void stage_wait() {
#if UPS_HAS_WARP_MMA
  cp_async_wait_group<kPendingGroups>();
#endif
}

__device__ __forceinline__ void stage_wait_all() {
#if UPS_HAS_WARP_MMA
  cp_async_wait_all();
#endif
}

// --- tensor cores --------------------------------------------------------------------------------

// One mma.sync per element type: d = a * b + c over a 16 x 8 tile, K = 16 (f16/bf16) or 8 (TF32).
// Defined where mma.sync exists (UPS_HAS_WARP_MMA, NOTE [ Warp matrix primitives below sm_80 ]):
// an sm_75 pass never instantiates the tensor-op tile.
template <typename ElementT>
struct MmaOp;

#if UPS_HAS_WARP_MMA

template <>
struct MmaOp<__half> {
  static constexpr bool kRoundTf32 = false;
  __device__ __forceinline__ static void run(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    const float c[4] = {d[0], d[1], d[2], d[3]};
    mma_m16n8k16_f16f32(d, a, b, c);
  }
};

template <>
struct MmaOp<__nv_bfloat16> {
  static constexpr bool kRoundTf32 = false;
  __device__ __forceinline__ static void run(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    const float c[4] = {d[0], d[1], d[2], d[3]};
    mma_m16n8k16_bf16f32(d, a, b, c);
  }
};

// f32 operands as TF32: A is rounded (to nearest, ties away) as its fragments are read; B was
// rounded once when the weights were repacked.
template <>
struct MmaOp<float> {
  static constexpr bool kRoundTf32 = true;
  __device__ __forceinline__ static void run(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
    const float c[4] = {d[0], d[1], d[2], d[3]};
    mma_m16n8k8_tf32f32(d, a, b, c);
  }
};
#endif  // UPS_HAS_WARP_MMA

// A warp's (kWarpM x kWarpN) tile. Per 64-byte K tile there are two mma K steps: each reads
// 16-byte chunks 2*kk and 2*kk + 1 of every row (32 bytes = k16 of f16/bf16 or k8 of TF32).
//
// Fragments (PTX ISA, mma.m16n8k16 .row.col; m16n8k8 .tf32 is the same with 32-bit elements):
// ldmatrix.x4 on A rows (lane & 15), chunk 2*kk + (lane >> 4) returns a0..a3 = (rows 0-7, k lo),
// (rows 8-15, k lo), (rows 0-7, k hi), (rows 8-15, k hi); on B rows (lane & 7) + 8*(lane >> 4),
// chunk 2*kk + ((lane >> 3) & 1) it returns b0, b1 of two n8 blocks. Accumulator e of an m16n8
// tile is row (lane >> 2) + 8*(e >> 1), column 2*(lane & 3) + (e & 1).
template <typename Config>
struct TensorOpWarpTile {
  using ElementT = typename Config::Element;
  static constexpr int kMI = Config::kWarpM / 16;
  static constexpr int kNI = Config::kWarpN / 8;

  float acc[kMI][kNI][4];
  int warp_row0, warp_col0, lane;
  // Byte offsets of this lane's ldmatrix rows for K step kk, fragment 0: fragment i (j) adds
  // i * 16 (j * 8) rows, which leaves the swizzle's XOR term ((row >> 1) & 3) unchanged because
  // warp tiles start on multiples of 8 rows. So the per-iteration address is base + constant.
  int a_offset[kChunksPerRow / 2], b_offset[kChunksPerRow / 2];

  __device__ __forceinline__ TensorOpWarpTile(int thread) {
    const int warp = thread >> 5;
    lane = thread & 31;
    warp_row0 = (warp % Config::kWarpsM) * Config::kWarpM;
    warp_col0 = (warp / Config::kWarpsM) * Config::kWarpN;
#pragma unroll
    for (int kk = 0; kk < kChunksPerRow / 2; ++kk) {
      a_offset[kk] = stage_offset(warp_row0 + (lane & 15), 2 * kk + (lane >> 4));
      b_offset[kk] = kNI % 2 == 0 ? stage_offset(warp_col0 + (lane & 7) + ((lane >> 4) << 3), 2 * kk + ((lane >> 3) & 1))
                                  : stage_offset(warp_col0 + (lane & 7), 2 * kk + ((lane >> 3) & 1));
    }
  }

  __device__ __forceinline__ void clear() {
#pragma unroll
    for (int i = 0; i < kMI; ++i)
#pragma unroll
      for (int j = 0; j < kNI; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;
  }

  __device__ __forceinline__ void compute(const unsigned char* stage_a, const unsigned char* stage_b) {
#pragma unroll
    for (int kk = 0; kk < kChunksPerRow / 2; ++kk) {
      uint32_t a[kMI][4];
      uint32_t b[kNI][2];
#pragma unroll
      for (int i = 0; i < kMI; ++i) {
        ldmatrix_x4(a[i], stage_a + a_offset[kk] + i * 16 * kStageRowBytes);
        if constexpr (MmaOp<ElementT>::kRoundTf32) {
#pragma unroll
          for (int e = 0; e < 4; ++e) a[i][e] = cvt_rna_tf32(__uint_as_float(a[i][e]));
        }
      }
      if constexpr (kNI % 2 == 0) {
#pragma unroll
        for (int j = 0; j < kNI; j += 2) {
          uint32_t r[4];
          ldmatrix_x4(r, stage_b + b_offset[kk] + j * 8 * kStageRowBytes);
          b[j][0] = r[0];
          b[j][1] = r[1];
          b[j + 1][0] = r[2];
          b[j + 1][1] = r[3];
        }
      } else {
#pragma unroll
        for (int j = 0; j < kNI; ++j) {
          // x2: lanes 0-15 give the addresses (rows 0-7 at chunk lo, then at chunk hi).
          uint32_t r[2];
          ldmatrix_x2(r, stage_b + b_offset[kk] + j * 8 * kStageRowBytes);
          b[j][0] = r[0];
          b[j][1] = r[1];
        }
      }
#pragma unroll
      for (int i = 0; i < kMI; ++i)
#pragma unroll
        for (int j = 0; j < kNI; ++j) MmaOp<ElementT>::run(acc[i][j], a[i], b[j]);
    }
  }

  template <typename Function>
  __device__ __forceinline__ void for_each(Function&& function) const {
#pragma unroll
    for (int i = 0; i < kMI; ++i)
#pragma unroll
      for (int j = 0; j < kNI; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          function(warp_row0 + i * 16 + (lane >> 2) + 8 * (e >> 1), warp_col0 + j * 8 + 2 * (lane & 3) + (e & 1),
                   acc[i][j][e]);
  }
};

// --- SIMT twin -----------------------------------------------------------------------------------

// A thread's kThreadM x kThreadN tile: rows tm + i*kThreadsM, columns tn + j*kThreadsN (so a warp
// reads two A rows, broadcast, and sixteen B rows per 16-byte load). Per chunk of the stage row
// (16 bytes = kChunkElements values of k) it loads one chunk of each of its rows and columns and
// issues kThreadM * kThreadN * kChunkElements fused multiply-adds; each accumulator sums k
// ascending.
template <typename Config>
struct SimtThreadTile {
  using ElementT = typename Config::Element;
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  static constexpr int kVec = kChunkElements<ElementT>;
  struct alignas(16) Chunk {
    ElementT v[kVec];
  };

  AccumT acc[Config::kThreadM][Config::kThreadN];
  int tm, tn;

  __device__ __forceinline__ SimtThreadTile(int thread) {
    tn = thread % Config::kThreadsN;
    tm = thread / Config::kThreadsN;
  }

  __device__ __forceinline__ void clear() {
#pragma unroll
    for (int i = 0; i < Config::kThreadM; ++i)
#pragma unroll
      for (int j = 0; j < Config::kThreadN; ++j) acc[i][j] = AccumT(0);
  }

  __device__ __forceinline__ void compute(const unsigned char* stage_a, const unsigned char* stage_b) {
#pragma unroll
    for (int c = 0; c < kChunksPerRow; ++c) {
      // B's chunks stay in registers for the chunk; A's are loaded one row at a time, each feeding
      // kThreadN * kVec FMAs (fewer live registers than holding both operands' chunks).
      Chunk b[Config::kThreadN];
#pragma unroll
      for (int j = 0; j < Config::kThreadN; ++j)
        b[j] = *reinterpret_cast<const Chunk*>(stage_b + stage_offset(tn + j * Config::kThreadsN, c));
#pragma unroll
      for (int i = 0; i < Config::kThreadM; ++i) {
        const Chunk a = *reinterpret_cast<const Chunk*>(stage_a + stage_offset(tm + i * Config::kThreadsM, c));
#pragma unroll
        for (int e = 0; e < kVec; ++e)
#pragma unroll
          for (int j = 0; j < Config::kThreadN; ++j)
            acc[i][j] = fused_multiply_add(AccumT(a.v[e]), AccumT(b[j].v[e]), acc[i][j]);
      }
    }
  }

  template <typename Function>
  __device__ __forceinline__ void for_each(Function&& function) const {
#pragma unroll
    for (int i = 0; i < Config::kThreadM; ++i)
#pragma unroll
      for (int j = 0; j < Config::kThreadN; ++j)
        function(tm + i * Config::kThreadsM, tn + j * Config::kThreadsN, acc[i][j]);
  }
};

template <typename Config>
using WarpTileFor =
    std::conditional_t<Config::kTensorOp, TensorOpWarpTile<Config>, SimtThreadTile<Config>>;

}  // namespace upsample::cuda::implicit_gemm

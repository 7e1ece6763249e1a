// The emulation layer's warp-level matrix primitives: what common/warp_matrix.cuh calls under
// UPS_EMULATION in place of its inline PTX (mma.sync, ldmatrix, cp.async). Included by
// emu_runtime.h; kernels never include it themselves. See NOTE [ Warp-level matrix primitives
// under the emulation ] in emu_warp_matrix.cpp for the model.
#pragma once

#include <cstdint>

#if defined(__GNUC__)
#define UPS_EMU_WM_API __attribute__((visibility("default")))
#else
#define UPS_EMU_WM_API
#endif

namespace ups_emu::detail {

// The warp-level matrix instructions the emulation provides. Lanes of one warp rendezvous only
// with lanes at the same kind (the same PTX instruction: shape, types, .x count and .trans).
enum class MatrixOp : unsigned char {
  kMmaM16N8K16F16,   // mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
  kMmaM16N8K16Bf16,  // mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
  kMmaM16N8K8Tf32,   // mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32
  kLdmatrixX1,       // ldmatrix.sync.aligned.m8n8.x1.shared.b16
  kLdmatrixX2,
  kLdmatrixX4,
  kLdmatrixX1Trans,  // ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16
  kLdmatrixX2Trans,
  kLdmatrixX4Trans,
};

// One mma.sync by the calling lane: a warp collective over all 32 lanes. `d` may alias `c`.
UPS_EMU_WM_API void warp_mma(MatrixOp op, const char* name, float* d, const uint32_t* a, const uint32_t* b,
                             const float* c);

// One ldmatrix by the calling lane: a warp collective over all 32 lanes; writes `r[0..matrices)`.
UPS_EMU_WM_API void warp_ldmatrix(MatrixOp op, const char* name, uint32_t* r, const void* row_address);

// cp.async of `cp_size` bytes (4, 8 or 16) by the calling thread, `src_bytes` of them read.
UPS_EMU_WM_API void cp_async(const char* name, void* smem, const void* gmem, int cp_size, int src_bytes);
UPS_EMU_WM_API void cp_async_commit_group();
UPS_EMU_WM_API void cp_async_wait_group(int pending_groups);
UPS_EMU_WM_API void cp_async_wait_all();

// Called by ups_emu::launch around every CUDA thread's kernel body: begin resets the thread's
// per-thread state (left behind by an earlier block or a failed launch); end retires the copies
// the thread left outstanding.
UPS_EMU_WM_API void warp_matrix_thread_begin();
UPS_EMU_WM_API void warp_matrix_thread_end();

}  // namespace ups_emu::detail

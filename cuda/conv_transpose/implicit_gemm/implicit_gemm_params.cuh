// What the implicit-GEMM kernels share: the kernel parameters, the tile configurations (tensor-op
// and SIMT) and the shared-memory layout of a pipeline stage. Dispatch among the configurations is
// choose_implicit_gemm_tile() in implicit_gemm.cu.
//
// NOTE [ Implicit GEMM stage layout ]
// A stage holds one K tile of both operands as rows of 64 bytes: A is [BlockM rows = output
// positions of the phase][64 bytes of one tap's input channels], B is [BlockN rows = output
// channels][64 bytes of the same tap's input channels]. 64 bytes are 32 f16/bf16 (two k16 mma
// steps), 16 f32 (two TF32 k8 steps, or 16 SIMT FFMA steps) or 8 f64. Both operands are K-major
// ("row.col" for mma.sync), so one layout, one swizzle and one ldmatrix addressing serve both.
// A row is four 16-byte chunks; chunk c of row r is stored at chunk c ^ ((r >> 1) & 3). Eight
// consecutive rows at one logical chunk then fall on eight different 16-byte bank groups (two rows
// share a 128-byte line, the XOR spreads the four line pairs), so every ldmatrix phase and every
// cp.async quarter-warp is free of bank conflicts.
#pragma once

#include <cstdint>

#include "cuda/common/element.cuh"
#include "cuda/common/platform.cuh"

namespace upsample::cuda::implicit_gemm {

inline constexpr int kStageRowBytes = 64;  // one K tile of one operand row, see NOTE above
inline constexpr int kChunksPerRow = kStageRowBytes / 16;
inline constexpr int kMaxStride = 16;      // per axis: phases per axis the kernel's tables cover
inline constexpr int kMaxAxisTaps = 16;    // taps of one phase on one axis
inline constexpr int kMaxPhaseTaps = 64;   // taps of one phase over all axes (shared-memory table)

// Byte offset of 16-byte chunk `chunk` of row `row` in an operand tile (NOTE [ Implicit GEMM stage
// layout ]).
__host__ __device__ __forceinline__ int stage_offset(int row, int chunk) {
  return row * kStageRowBytes + ((chunk ^ ((row >> 1) & 3)) << 4);
}

// The epilogue seam: what happens to an accumulated value before it is rounded and stored. The
// first user adds the bias; activation and residual epilogues follow the same shape (a Params
// struct carried in the kernel parameters, apply() per element with its output channel).
template <typename ElementT>
struct BiasEpilogue {
  using AccumT = typename ElementTraits<ElementT>::AccumT;
  struct Params {
    const ElementT* bias;  // null: no bias
  };
  __device__ __forceinline__ static AccumT apply(const Params& params, AccumT value, int64_t channel) {
    return params.bias != nullptr ? value + ElementTraits<ElementT>::to_accum(params.bias[channel]) : value;
  }
};

// Kernel parameters (one struct by value). Coordinates are int: can_implement keeps every extent,
// padding, kernel reach and output coordinate below 2^30. Offsets are int64_t.
template <typename ElementT, typename EpilogueT>
struct ImplicitGemmParams {
  const ElementT* x;          // the A operand: channels-last, each group's channels 16-byte aligned
  const ElementT* w_packed;   // the B operand: [groups][phases][C_out/groups][taps_max * cig_pad]
  ElementT* y;
  typename EpilogueT::Params epilogue;

  int stride[3], pad[3], dilation[3], kernel[3];  // D, H, W
  int in_extent[3], out_extent[3];
  // A row's anchor in x per axis: q * a_scale + a_shift (its tap t reads x[anchor - m_t]). The
  // forward pass: 1 and 0. The data gradient (NOTE [ Data gradient on the engine ] in
  // implicit_gemm.cu): the op's stride and (kernel - 1) * dilation - pad_begin.
  int a_scale[3], a_shift[3];
  int num_phases;  // stride[0] * stride[1] * stride[2]
  int batch;
  int cig_valid;   // channels per group present in x (C_in/groups, or that rounded up to 16 bytes)
  int cig_pad;     // channels per tap in K: C_in/groups rounded up to the K tile
  int cog;         // C_out / groups
  int64_t x_stride_n, x_row, x_group;  // elements between batch items, positions and groups of x
  int64_t w_phase, w_row;              // elements between (group, phase) blocks and rows of w_packed
  int64_t y_stride_n, y_stride_c, y_stride[3];
  bool y_vector;  // y channels-last with every (position, group) slice 16-byte aligned
};

// The tensor-core configuration: a BlockM x BlockN tile of one phase's GEMM, WarpsM x WarpsN warps
// (each a (BlockM/WarpsM) x (BlockN/WarpsN) warp tile of m16n8 mma.sync), Stages cp.async stages.
template <typename ElementT, int BlockM, int BlockN, int WarpsM, int WarpsN, int Stages>
struct TensorOpConfig {
  using Element = ElementT;
  static constexpr bool kTensorOp = true;
  static constexpr int kBlockM = BlockM, kBlockN = BlockN, kStages = Stages;
  static constexpr int kWarpsM = WarpsM, kWarpsN = WarpsN;
  static constexpr int kThreads = 32 * WarpsM * WarpsN;
  // Two CTAs per SM (their 2 x 64 KiB of stages fit A100's and H100's shared memory): for the
  // 8-warp tile this caps a thread at 128 registers, which it fits without spilling.
  static constexpr int kMinBlocksPerSm = 2;
  static constexpr int kWarpM = BlockM / WarpsM, kWarpN = BlockN / WarpsN;
  static_assert(kWarpM % 16 == 0 && kWarpN % 8 == 0, "warp tile: whole m16n8 fragments");
};

// The SIMT twin: the same stages and main loop, a ThreadM x ThreadN register tile of FFMA (or DFMA)
// per thread fed by 16-byte shared loads.
template <typename ElementT, int BlockM, int BlockN, int ThreadM, int ThreadN, int Stages>
struct SimtConfig {
  using Element = ElementT;
  static constexpr bool kTensorOp = false;
  static constexpr int kBlockM = BlockM, kBlockN = BlockN, kStages = Stages;
  static constexpr int kThreadM = ThreadM, kThreadN = ThreadN;
  static constexpr int kThreadsM = BlockM / ThreadM, kThreadsN = BlockN / ThreadN;
  static constexpr int kThreads = kThreadsM * kThreadsN;
  // No occupancy cap: at two CTAs per SM (128 registers) the 8x8 f32 tile spills (measured:
  // 464 bytes); one CTA of 8 warps per SM hides latency through the tile's 64 independent FMAs.
  static constexpr int kMinBlocksPerSm = 1;
};

// Elements of ElementT per 16-byte chunk, and per K tile (one 64-byte row).
template <typename ElementT>
inline constexpr int kChunkElements = static_cast<int>(16 / sizeof(ElementT));
template <typename ElementT>
inline constexpr int kTileK = static_cast<int>(kStageRowBytes / sizeof(ElementT));

template <typename Config>
__host__ __device__ constexpr int stage_bytes() {
  return (Config::kBlockM + Config::kBlockN) * kStageRowBytes;
}
// The epilogue's output tile: BlockM rows of BlockN elements plus one 16-byte chunk of padding.
template <typename Config>
__host__ __device__ constexpr int epilogue_row_elements() {
  return Config::kBlockN + kChunkElements<typename Config::Element>;
}
template <typename Config>
__host__ __device__ constexpr int shared_bytes() {
  const int pipeline = Config::kStages * stage_bytes<Config>();
  const int epilogue =
      Config::kBlockM * epilogue_row_elements<Config>() * static_cast<int>(sizeof(typename Config::Element));
  return pipeline > epilogue ? pipeline : epilogue;
}

}  // namespace upsample::cuda::implicit_gemm

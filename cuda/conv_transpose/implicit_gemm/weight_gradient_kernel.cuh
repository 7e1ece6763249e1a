// The transposed convolution's weight gradient as implicit GEMMs on tensor cores (f16/bf16,
// mma.sync m16n8k16 with f32 accumulation; sm_80 and newer), with a deterministic split of the
// long reduction, and the pass that combines the split's partial tiles. Launcher:
// weight_gradient.cu.
//
// NOTE [ Weight gradient on the engine ]
//   dw[g*cig + ci, co, k] = sum over n, input positions i of
//                           x[n, i, g*cig + ci] * dy[n, i*stride - pad_begin + k*dilation, g*cog + co]
// For one group g and tap k this is a GEMM C[ci, co] = sum over K of A[ci, K] * B[co, K] with
// M = C_in/groups, N = C_out/groups and K = the (n, i) pairs, N x (input positions) long.
// Channels-last, a position's channels are contiguous, so a K tile of either operand is staged as
// rows of positions, [32 positions][128 bytes = the tile's 64 channels] (the forward's stage with
// K and M exchanged), and ldmatrix.trans hands the mma its K-major fragments (the transpose of an
// 8x8 b16 block is what .trans does). Swizzle: chunk c of row r is stored at chunk c ^ (r & 7), so
// the eight rows one ldmatrix matrix reads (same logical chunk) and the eight chunks one row's
// cp.async quarter-warp writes each cover all 32 banks once.
// The A rows are x at the K tile's positions; the B rows are the forward's gather: dy at the
// position the tap reaches, zero-filled outside dy (NOTE [ Weight gradient row table ]).
//
// Grid: x = (M tile, N tile) pairs, y = K splits, z = groups x taps. The K range is cut into
// `splits` chunks of `chunk` positions, both fixed by the problem's shape alone (never by the
// device); each CTA sums one chunk in registers (K ascending) and writes its f32 tile to the
// workspace; then weight_gradient_combine_kernel adds the chunks of every dw element in ascending
// chunk order and rounds once. Every addition happens in an order the shape fixes: bit-identical
// run to run, no atomics.
#pragma once

#include <cstdint>

#include "cuda/common/element.cuh"
#include "cuda/common/fast_divmod.cuh"
#include "cuda/common/platform.cuh"
#include "implicit_gemm_mainloop.cuh"
#include "implicit_gemm_params.cuh"

namespace upsample::cuda::implicit_gemm {

// A square Block x Block (ci x co) tile of WarpsM x WarpsN warps, K tiles of 32 positions, four
// cp.async stages of two operands x 32 rows x (Block x 2 bytes). Two configurations:
// 64 x 64 (4 warps of 32 x 32, 32 KiB) and 128 x 128 (8 warps of 64 x 32, 64 KiB), chosen in
// weight_gradient.cu (NOTE [ Weight gradient tiles ]).
template <int Block, int WarpsM, int WarpsN, int MinBlocks>
struct WeightGradientConfig {
  static constexpr int kBlockM = Block, kBlockN = Block, kBlockK = 32, kStages = 4;
  static constexpr int kWarpsM = WarpsM, kWarpsN = WarpsN, kThreads = 32 * kWarpsM * kWarpsN;
  static constexpr int kWarpM = kBlockM / kWarpsM, kWarpN = kBlockN / kWarpsN;
  static constexpr int kRowBytes = kBlockM * 2;                  // Block f16/bf16 channels
  static constexpr int kOperandBytes = kBlockK * kRowBytes;      // 4 or 8 KiB
  static constexpr int kStageBytes = 2 * kOperandBytes;          // A then B
  static constexpr int kSharedBytes = kStages * kStageBytes;     // 32 or 64 KiB
  static constexpr int kChunksPerRow = kBlockM / 8;              // 16-byte chunks per operand row
  static constexpr int kRowsPerPass = kThreads / kChunksPerRow;  // 16
  static constexpr int kRowsPerThread = kBlockK / kRowsPerPass;  // 2
  // The occupancy hint of __launch_bounds__ (MinBlocks). 64 x 64 asks for 4 CTAs (a cap of 128
  // registers): without it ptxas held that kernel at 80 registers and spilled 8 bytes on sm_80.
  // 128 x 128 takes no cap: at 128 registers it spilled 4 bytes on sm_90.
  static constexpr int kMinBlocksPerSm = MinBlocks;
  static_assert(kRowsPerPass * kRowsPerThread == kBlockK, "the loader covers the K tile");
  static_assert(kWarpM % 16 == 0 && kWarpN % 16 == 0, "whole m16 blocks and pairs of n8 blocks");
};
using WeightGradientSmall = WeightGradientConfig<64, 2, 2, 4>;
using WeightGradientLarge = WeightGradientConfig<128, 2, 4, 1>;

template <typename ElementT>
struct WeightGradientParams {
  const ElementT* x;   // channels-last, each group's channels 16-byte aligned (in place or packed)
  const ElementT* dy;  // the same for dy
  float* partial;      // [splits][groups][taps][cig][cog] f32 chunk sums (the workspace)
  int stride[3], pad[3], dilation[3], kernel[3];  // D, H, W
  int out_extent[3];                              // dy's extents
  int groups, taps, cig, cog;
  int cig_valid, cog_valid;        // channels per group present in the operand rows (the rest is zero)
  int tiles_m;                     // M tiles of 64 input channels
  int64_t x_row, x_group;          // elements between positions and groups of x (dense: batch
                                   // item n starts at n x positions x x_row)
  int64_t dy_row, dy_group;        // the same for dy
  uint32_t positions;              // N x (input positions): the K extent (< 2^31; dy's < 2^31 too)
  uint32_t chunk;                  // K positions per split, a multiple of kBlockK
  FastDivmodU32 in_w, in_h, in_d;  // the input's extents (K decode)
};

// Byte offset of the 16-byte chunk holding channels [8c, 8c + 8) of staged row `row` within one
// operand of a stage (the swizzle of the note above; with 16 chunks a row, the XOR keeps a chunk in
// its 128-byte half, whose 8 bank groups the 8 rows of an ldmatrix matrix then cover once).
template <typename Config>
__device__ __forceinline__ int weight_gradient_stage_offset(int row, int chunk) {
  return row * Config::kRowBytes + ((chunk ^ (row & 7)) << 4);
}

#if UPS_HAS_WARP_MMA
// The warp's kWarpM x kWarpN tile: per k16 step, A fragments (one ldmatrix.x4.trans per m16 block)
// and B fragments (one per pair of n8 blocks) from the position rows, then kMI x kNI mma.sync.
template <typename ElementT, typename Config>
struct WeightGradientWarpTile {
  static constexpr int kMI = Config::kWarpM / 16, kNI = Config::kWarpN / 8;
  float acc[kMI][kNI][4];
  int warp_m0, warp_n0, lane;
  // This lane's ldmatrix row addresses for k16 step 0 and fragment 0 (A) or fragments 0-1 (B).
  // Step kk adds 16 rows (the swizzle's row & 7 is unchanged); A fragment i adds 16i channels and B
  // pair j adds 8j: the chunk grows by 2i (or j), bits the base chunk leaves clear (below), so in
  // the swizzled offset it is an XOR with 32i (or 16j). Each address is base ^ constant + constant.
  int a_base, b_base;

  __device__ __forceinline__ explicit WeightGradientWarpTile(int thread) {
    const int warp = thread >> 5;
    lane = thread & 31;
    warp_m0 = (warp % Config::kWarpsM) * Config::kWarpM;
    warp_n0 = (warp / Config::kWarpsM) * Config::kWarpN;
    const int quad = lane >> 3, row_in_matrix = lane & 7;
    // ldmatrix.trans (PTX ISA): lane 8q + r addresses row r of matrix q; lane t receives elements
    // (2(t%4), t/4) and (2(t%4)+1, t/4) of each stored 8x8 matrix, i.e. row t/4, columns 2(t%4)
    // and 2(t%4)+1 of its transpose. Stored rows are K (positions), columns channels, so lane t
    // gets channel t/4 at k = 2(t%4), 2(t%4)+1: the mma's A fragment (row = channel ci) and B
    // fragment (column = channel co) layouts. A matrices q = 0..3: (m 0-7, k 0-7), (m 8-15, k 0-7),
    // (m 0-7, k 8-15), (m 8-15, k 8-15) = a0..a3; B matrices: (k 0-7, n j), (k 8-15, n j),
    // (k 0-7, n j+1), (k 8-15, n j+1) = b[j][0], b[j][1], b[j+1][0], b[j+1][1].
    a_base = weight_gradient_stage_offset<Config>(row_in_matrix + 8 * (quad >> 1), (warp_m0 >> 3) + (quad & 1));
    b_base = weight_gradient_stage_offset<Config>(row_in_matrix + 8 * (quad & 1), (warp_n0 >> 3) + (quad >> 1));
    // warp_m0 / 8 is a multiple of kWarpM / 8 = 2 * kMI, a power of two, so the chunk offsets 2i
    // (and, for B, j < kNI) occupy bits that warp_m0 / 8 and the lane's 0/1 leave clear.
    static_assert((Config::kWarpM & (Config::kWarpM - 1)) == 0 && (Config::kWarpN & (Config::kWarpN - 1)) == 0,
                  "warp tiles are powers of two wide");
#pragma unroll
    for (int i = 0; i < kMI; ++i)
#pragma unroll
      for (int j = 0; j < kNI; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;
  }

  __device__ __forceinline__ void compute(const unsigned char* stage_a, const unsigned char* stage_b) {
#pragma unroll
    for (int kk = 0; kk < Config::kBlockK / 16; ++kk) {
      uint32_t a[kMI][4], b[kNI][2];
      const int step = kk * 16 * Config::kRowBytes;
#pragma unroll
      for (int i = 0; i < kMI; ++i) ldmatrix_x4_trans(a[i], stage_a + ((a_base ^ (32 * i)) + step));
#pragma unroll
      for (int j = 0; j < kNI; j += 2) {
        uint32_t r[4];
        ldmatrix_x4_trans(r, stage_b + ((b_base ^ (16 * j)) + step));
        b[j][0] = r[0];
        b[j][1] = r[1];
        b[j + 1][0] = r[2];
        b[j + 1][1] = r[3];
      }
#pragma unroll
      for (int i = 0; i < kMI; ++i)
#pragma unroll
        for (int j = 0; j < kNI; ++j) MmaOp<ElementT>::run(acc[i][j], a[i], b[j]);
    }
  }
};
#endif  // UPS_HAS_WARP_MMA

// NOTE [ Weight gradient row table ]
// A K tile's 32 rows are 32 consecutive (n, i) positions. Their A rows are x + position * x_row
// (x is dense channels-last, in place or packed): no decode. Their B rows need the position
// decoded (three FastDivmods), the tap's output position and its bounds test, then dy's position
// index (32-bit) times dy_row: about 40 instructions a row. Rather than every loading thread
// decoding its rows (each row is loaded by kChunksPerRow threads, one per 16-byte chunk), warp 0
// decodes each row once, one lane a row, into a shared table of dy offsets (-1: outside dy or
// past the split), one slot per pipeline stage, kStages tiles ahead of the loads that read it:
// at iteration kt, after the barrier, warp 0 fills the slot of tile kt + kStages (the slot tile kt
// used, whose loads were issued at iteration kt - kStages + 1), and the loads of that tile, at
// iteration kt + 1, come after the next barrier.
template <typename ElementT, typename Config>
struct WeightGradientLoader {
  static constexpr int kVec = 8;  // f16/bf16 values per 16-byte chunk
  int chunk;                      // this thread's 16-byte chunk of a row (channels 8*chunk..)
  int tap_offset[3];              // k * dilation - pad_begin: o = i * stride + tap_offset
  bool a_chunk_valid, b_chunk_valid;
  const ElementT* x_group;   // x at this group's and M tile's first channel, plus the chunk
  const ElementT* dy_group;  // dy likewise for the N tile
  uint32_t k_begin, k_end;   // the split's positions

  __device__ __forceinline__ void init(const WeightGradientParams<ElementT>& p, int thread, int group,
                                       const int (&k)[3], int m0, int n0, uint32_t k_begin_, uint32_t k_end_) {
    chunk = thread % Config::kChunksPerRow;
#pragma unroll
    for (int a = 0; a < 3; ++a) tap_offset[a] = k[a] * p.dilation[a] - p.pad[a];
    a_chunk_valid = m0 + chunk * kVec < p.cig_valid;
    b_chunk_valid = n0 + chunk * kVec < p.cog_valid;
    x_group = p.x + group * p.x_group + m0 + chunk * kVec;
    dy_group = p.dy + group * p.dy_group + n0 + chunk * kVec;
    k_begin = k_begin_;
    k_end = k_end_;
  }

  // Warp 0, lane `row`: the dy offset of row `row` of K tile `tile` (-1: zero-filled).
  __device__ __forceinline__ void fill_row(const WeightGradientParams<ElementT>& p, int64_t* slot, int tile,
                                           int row) const {
    const uint32_t position = k_begin + static_cast<uint32_t>(tile) * Config::kBlockK + static_cast<uint32_t>(row);
    int64_t offset = -1;
    if (position < k_end) {
      uint32_t rest;
      const uint32_t iw = p.in_w.divmod(position, &rest);
      const uint32_t ih = p.in_h.divmod(rest, &rest);
      const uint32_t id = p.in_d.divmod(rest, &rest);
      const uint32_t n = rest;
      const int od = static_cast<int>(id) * p.stride[0] + tap_offset[0];
      const int oh = static_cast<int>(ih) * p.stride[1] + tap_offset[1];
      const int ow = static_cast<int>(iw) * p.stride[2] + tap_offset[2];
      if (static_cast<unsigned>(od) < static_cast<unsigned>(p.out_extent[0]) &&
          static_cast<unsigned>(oh) < static_cast<unsigned>(p.out_extent[1]) &&
          static_cast<unsigned>(ow) < static_cast<unsigned>(p.out_extent[2])) {
        // dy is dense (in place or packed): its row is its position index (below 2^31, checked by
        // can_implement) times dy_row.
        const uint32_t dy_position =
            ((n * static_cast<uint32_t>(p.out_extent[0]) + od) * p.out_extent[1] + oh) * p.out_extent[2] + ow;
        offset = int64_t{dy_position} * p.dy_row;
      }
    }
    slot[row] = offset;
  }

  // This thread's copies of K tile `tile` into `stage`, its B rows from the tile's table slot.
  __device__ __forceinline__ void load_stage(const WeightGradientParams<ElementT>& p, const int64_t* slot,
                                             unsigned char* stage, int tile, int thread) const {
    unsigned char* stage_a = stage;
    unsigned char* stage_b = stage + Config::kOperandBytes;
    const uint32_t first = k_begin + static_cast<uint32_t>(tile) * Config::kBlockK;
#pragma unroll
    for (int r = 0; r < Config::kRowsPerThread; ++r) {
      const int row = thread / Config::kChunksPerRow + r * Config::kRowsPerPass;
      const uint32_t position = first + static_cast<uint32_t>(row);
      const bool a_valid = a_chunk_valid && position < k_end;
      const int64_t dy_offset = slot[row];
      const bool b_valid = b_chunk_valid && dy_offset >= 0;
      const int offset = weight_gradient_stage_offset<Config>(row, chunk);
      stage_copy_16(stage_a + offset, a_valid ? x_group + int64_t{position} * p.x_row : p.x, a_valid ? 16 : 0);
      stage_copy_16(stage_b + offset, b_valid ? dy_group + dy_offset : p.dy, b_valid ? 16 : 0);
    }
  }
};

template <typename ElementT, typename Config>
__global__ void __launch_bounds__(Config::kThreads, Config::kMinBlocksPerSm)
    conv_transpose_weight_gradient_kernel(WeightGradientParams<ElementT> p) {
#if !UPS_HAS_WARP_MMA
  __trap();  // never launched: can_implement requires sm_80
#else
  constexpr int kStages = Config::kStages;
  __shared__ int64_t s_rows[kStages][Config::kBlockK];  // NOTE [ Weight gradient row table ]
  UPS_DYNAMIC_SHARED(unsigned char, shared);
  const int thread = static_cast<int>(threadIdx.x);
  const int tile_m = static_cast<int>(blockIdx.x) % p.tiles_m, tile_n = static_cast<int>(blockIdx.x) / p.tiles_m;
  const int m0 = tile_m * Config::kBlockM, n0 = tile_n * Config::kBlockN;
  const int split = static_cast<int>(blockIdx.y);
  const int group = static_cast<int>(blockIdx.z) / p.taps, tap = static_cast<int>(blockIdx.z) % p.taps;
  const int k[3] = {tap / (p.kernel[2] * p.kernel[1]), (tap / p.kernel[2]) % p.kernel[1], tap % p.kernel[2]};
  const uint32_t k_begin = static_cast<uint32_t>(split) * p.chunk;
  const uint32_t k_end = p.positions - k_begin < p.chunk ? p.positions : k_begin + p.chunk;
  const int k_tiles = static_cast<int>((k_end - k_begin + Config::kBlockK - 1) / Config::kBlockK);
  static_assert(Config::kBlockK == 32, "warp 0 fills a table row per lane");
  const bool table_warp = thread < 32;

  WeightGradientLoader<ElementT, Config> loader;
  loader.init(p, thread, group, k, m0, n0, k_begin, k_end);
  WeightGradientWarpTile<ElementT, Config> tile(thread);

  // Prologue: the table slots of the first kStages tiles, then kStages - 1 tiles in flight.
  if (table_warp)
    for (int t = 0; t < kStages && t < k_tiles; ++t) loader.fill_row(p, s_rows[t], t, thread);
  __syncthreads();
#pragma unroll
  for (int t = 0; t < kStages - 1; ++t) {
    if (t < k_tiles) loader.load_stage(p, s_rows[t], shared + t * Config::kStageBytes, t, thread);
    stage_commit();
  }
  // The forward's pipeline, one barrier per K tile; stage and table slot of tile t are t % kStages.
  int slot = 0;  // kt % kStages
  for (int kt = 0; kt < k_tiles; ++kt) {
    stage_wait<kStages - 2>();
    __syncthreads();
    const int ahead = slot == 0 ? kStages - 1 : slot - 1;  // (kt + kStages - 1) % kStages
    if (kt + kStages - 1 < k_tiles)
      loader.load_stage(p, s_rows[ahead], shared + ahead * Config::kStageBytes, kt + kStages - 1, thread);
    stage_commit();
    if (table_warp && kt + kStages < k_tiles) loader.fill_row(p, s_rows[slot], kt + kStages, thread);
    const unsigned char* stage = shared + slot * Config::kStageBytes;
    tile.compute(stage, stage + Config::kOperandBytes);
    slot = slot + 1 == kStages ? 0 : slot + 1;
  }
  stage_wait_all();

  // The chunk's f32 tile to the workspace: accumulator e of an m16n8 block is row (lane/4) +
  // 8*(e/2), column 2*(lane%4) + e%2, so a quad of lanes writes 8 adjacent floats of a row (one
  // 32-byte sector). Once per CTA: the main loop's traffic dwarfs it.
  float* out = p.partial + ((int64_t{split} * p.groups + group) * p.taps + tap) * p.cig * p.cog;
#pragma unroll
  for (int i = 0; i < WeightGradientWarpTile<ElementT, Config>::kMI; ++i)
#pragma unroll
    for (int j = 0; j < WeightGradientWarpTile<ElementT, Config>::kNI; ++j)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int ci = m0 + tile.warp_m0 + 16 * i + (tile.lane >> 2) + 8 * h;
        const int co = n0 + tile.warp_n0 + 8 * j + 2 * (tile.lane & 3);
        if (ci >= p.cig || co >= p.cog) continue;
        float* destination = out + int64_t{ci} * p.cog + co;
        destination[0] = tile.acc[i][j][2 * h];
        if (co + 1 < p.cog) destination[1] = tile.acc[i][j][2 * h + 1];
      }
#endif
}

struct WeightGradientCombineGeometry {
  int groups, taps, cig, cog, splits;
  int kernel[3];
  // An element's decode (co fastest, then ci, tap, group; a tap's kw, kh, kd) by fast division
  // (NOTE [ Fast division ]): no hardware or 64-bit software division per element.
  FastDivmod<int64_t> cog_div, cig_div, taps_div;
  FastDivmod<int32_t> kernel_w_div, kernel_h_div;
  int64_t slice;                                // groups x taps x cig x cog: one split's partials
  int64_t w_stride_n, w_stride_c, w_stride[3];  // dw: n = C_in, c = C_out/groups
};

// dw[g*cig + ci, co, k] = the split's partial sums of (g, k, ci, co) added in ascending split order
// (f32), rounded once to dw's dtype. One thread per dw element, consecutive threads on
// consecutive co (contiguous partials): a memory-bound pass that reads splits x 4 bytes and writes
// one element per thread, off the GEMM's path.
template <typename ElementT>
__global__ void weight_gradient_combine_kernel(const float* partial, ElementT* dw, WeightGradientCombineGeometry g) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < g.slice; e += step) {
    float sum = 0.0f;
    for (int s = 0; s < g.splits; ++s) sum += partial[s * g.slice + e];
    int64_t rest = e, group;
    const int co = static_cast<int>(g.cog_div.divmod(rest, &rest));
    const int ci = static_cast<int>(g.cig_div.divmod(rest, &rest));
    const int tap = static_cast<int>(g.taps_div.divmod(rest, &group));
    int tap_rest, kd;
    const int kw = g.kernel_w_div.divmod(tap, &tap_rest);
    const int kh = g.kernel_h_div.divmod(tap_rest, &kd);
    dw[(group * g.cig + ci) * g.w_stride_n + co * g.w_stride_c + kd * g.w_stride[0] + kh * g.w_stride[1] +
       kw * g.w_stride[2]] = ElementTraits<ElementT>::from_accum(sum);
  }
}

}  // namespace upsample::cuda::implicit_gemm

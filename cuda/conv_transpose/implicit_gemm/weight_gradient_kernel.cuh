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
// position the tap reaches, zero-filled outside dy. Both operands use the same rows, so one decode
// of a position (three FastDivmods) serves a thread's A and B copies.
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
template <int Block, int WarpsM, int WarpsN>
struct WeightGradientConfig {
  static constexpr int kBlockM = Block, kBlockN = Block, kBlockK = 32, kStages = 4;
  static constexpr int kWarpsM = WarpsM, kWarpsN = WarpsN, kThreads = 32 * kWarpsM * kWarpsN;
  static constexpr int kWarpM = kBlockM / kWarpsM, kWarpN = kBlockN / kWarpsN;
  static constexpr int kRowBytes = kBlockM * 2;                 // Block f16/bf16 channels
  static constexpr int kOperandBytes = kBlockK * kRowBytes;     // 4 or 8 KiB
  static constexpr int kStageBytes = 2 * kOperandBytes;         // A then B
  static constexpr int kSharedBytes = kStages * kStageBytes;    // 32 or 64 KiB
  static constexpr int kChunksPerRow = kBlockM / 8;             // 16-byte chunks per operand row
  static constexpr int kRowsPerPass = kThreads / kChunksPerRow;  // 16
  static constexpr int kRowsPerThread = kBlockK / kRowsPerPass;  // 2
  static_assert(kRowsPerPass * kRowsPerThread == kBlockK, "the loader covers the K tile");
  static_assert(kWarpM % 16 == 0 && kWarpN % 16 == 0, "whole m16 blocks and pairs of n8 blocks");
};
using WeightGradientSmall = WeightGradientConfig<64, 2, 2>;
using WeightGradientLarge = WeightGradientConfig<128, 2, 4>;

template <typename ElementT>
struct WeightGradientParams {
  const ElementT* x;   // channels-last, each group's channels 16-byte aligned (in place or packed)
  const ElementT* dy;  // the same for dy
  float* partial;      // [splits][groups][taps][cig][cog] f32 chunk sums (the workspace)
  int stride[3], pad[3], dilation[3], kernel[3];  // D, H, W
  int out_extent[3];                              // dy's extents
  int groups, taps, cig, cog;
  int cig_valid, cog_valid;  // channels per group present in the operand rows (the rest is zero)
  int tiles_m;               // M tiles of 64 input channels
  int64_t x_row, x_group;                 // elements between positions and groups of x (dense: batch
                                          // item n starts at n x positions x x_row)
  int64_t dy_stride_n, dy_row, dy_group;  // the same for dy
  uint32_t positions;                     // N x (input positions): the K extent (< 2^31)
  uint32_t chunk;                         // K positions per split, a multiple of kBlockK
  FastDivmodU32 in_w, in_h, in_d;         // the input's extents (K decode)
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

// One thread's share of a stage: rows thread/kChunksPerRow + 16r (r < 2) of the K tile, channel
// chunk thread % kChunksPerRow of both operands. The A row of position K is x + K * x_row (x is
// dense channels-last, in place or packed); the B row needs the position decoded (three
// FastDivmods) for the tap's bounds test.
template <typename ElementT, typename Config>
struct WeightGradientLoader {
  static constexpr int kVec = 8;  // f16/bf16 values per 16-byte chunk
  int chunk;                      // this thread's 16-byte chunk of a row (channels 8*chunk..)
  int tap_offset[3];              // k * dilation - pad_begin: o = i * stride + tap_offset
  bool a_chunk_valid, b_chunk_valid;
  const ElementT* x_group;        // x at this group's and M tile's first channel, plus the chunk
  const ElementT* dy_group;       // dy likewise for the N tile
  uint32_t k_next, k_end;         // the next K tile's first position, and the chunk's end

  __device__ __forceinline__ void init(const WeightGradientParams<ElementT>& p, int thread, int group, const int (&k)[3],
                                       int m0, int n0, uint32_t k_begin, uint32_t k_end_) {
    chunk = thread % Config::kChunksPerRow;
#pragma unroll
    for (int a = 0; a < 3; ++a) tap_offset[a] = k[a] * p.dilation[a] - p.pad[a];
    a_chunk_valid = m0 + chunk * kVec < p.cig_valid;
    b_chunk_valid = n0 + chunk * kVec < p.cog_valid;
    x_group = p.x + group * p.x_group + m0 + chunk * kVec;
    dy_group = p.dy + group * p.dy_group + n0 + chunk * kVec;
    k_next = k_begin;
    k_end = k_end_;
  }

  __device__ __forceinline__ void load_stage(const WeightGradientParams<ElementT>& p, unsigned char* stage, int thread) {
    unsigned char* stage_a = stage;
    unsigned char* stage_b = stage + Config::kOperandBytes;
#pragma unroll
    for (int r = 0; r < Config::kRowsPerThread; ++r) {
      const int row = thread / Config::kChunksPerRow + r * Config::kRowsPerPass;
      const uint32_t position = k_next + static_cast<uint32_t>(row);
      const ElementT* a_source = p.x;
      const ElementT* b_source = p.dy;
      bool a_valid = false, b_valid = false;
      if (position < k_end) {
        uint32_t rest, iw, ih, id;
        iw = p.in_w.divmod(position, &rest);
        ih = p.in_h.divmod(rest, &rest);
        id = p.in_d.divmod(rest, &rest);
        const uint32_t n = rest;
        a_valid = a_chunk_valid;
        a_source = x_group + int64_t{position} * p.x_row;
        const int od = static_cast<int>(id) * p.stride[0] + tap_offset[0];
        const int oh = static_cast<int>(ih) * p.stride[1] + tap_offset[1];
        const int ow = static_cast<int>(iw) * p.stride[2] + tap_offset[2];
        const bool inside = static_cast<unsigned>(od) < static_cast<unsigned>(p.out_extent[0]) &&
                            static_cast<unsigned>(oh) < static_cast<unsigned>(p.out_extent[1]) &&
                            static_cast<unsigned>(ow) < static_cast<unsigned>(p.out_extent[2]);
        b_valid = b_chunk_valid && inside;
        if (inside)
          b_source = dy_group + n * p.dy_stride_n +
                     ((int64_t{od} * p.out_extent[1] + oh) * p.out_extent[2] + ow) * p.dy_row;
      }
      const int offset = weight_gradient_stage_offset<Config>(row, chunk);
      stage_copy_16(stage_a + offset, a_valid ? a_source : p.x, a_valid ? 16 : 0);
      stage_copy_16(stage_b + offset, b_valid ? b_source : p.dy, b_valid ? 16 : 0);
    }
    k_next += Config::kBlockK;
  }
};

template <typename ElementT, typename Config>
__global__ void __launch_bounds__(Config::kThreads)
    conv_transpose_weight_gradient_kernel(WeightGradientParams<ElementT> p) {
#if !UPS_HAS_WARP_MMA
  __trap();  // never launched: can_implement requires sm_80
#else
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

  WeightGradientLoader<ElementT, Config> loader;
  loader.init(p, thread, group, k, m0, n0, k_begin, k_end);
  WeightGradientWarpTile<ElementT, Config> tile(thread);

  // The forward's pipeline: kStages - 1 K tiles in flight, one barrier per tile.
  int write_stage = 0;
#pragma unroll
  for (int s = 0; s < Config::kStages - 1; ++s) {
    if (s < k_tiles) loader.load_stage(p, shared + write_stage * Config::kStageBytes, thread);
    stage_commit();
    write_stage = write_stage + 1 == Config::kStages ? 0 : write_stage + 1;
  }
  int read_stage = 0;
  for (int kt = 0; kt < k_tiles; ++kt) {
    stage_wait<Config::kStages - 2>();
    __syncthreads();
    if (kt + Config::kStages - 1 < k_tiles) loader.load_stage(p, shared + write_stage * Config::kStageBytes, thread);
    stage_commit();
    write_stage = write_stage + 1 == Config::kStages ? 0 : write_stage + 1;
    const unsigned char* stage = shared + read_stage * Config::kStageBytes;
    tile.compute(stage, stage + Config::kOperandBytes);
    read_stage = read_stage + 1 == Config::kStages ? 0 : read_stage + 1;
  }
  stage_wait_all();

  // The chunk's f32 tile to the workspace: accumulator e of an m16n8 block is row (lane/4) +
  // 8*(e/2), column 2*(lane%4) + e%2; pairs of columns go out as one 8-byte store when whole.
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
  int64_t slice;                                  // groups x taps x cig x cog: one split's partials
  int64_t w_stride_n, w_stride_c, w_stride[3];    // dw: n = C_in, c = C_out/groups
};

// dw[g*cig + ci, co, k] = the split's partial sums of (g, k, ci, co) added in ascending split order
// (f32), rounded once to dw's dtype. One thread per dw element, consecutive threads on
// consecutive co (contiguous partials). The divisions decode one element each in a pass that reads
// splits x 4 bytes and writes one element per thread: memory-bound, off the GEMM's path.
template <typename ElementT>
__global__ void weight_gradient_combine_kernel(const float* partial, ElementT* dw, WeightGradientCombineGeometry g) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < g.slice; e += step) {
    float sum = 0.0f;
    for (int s = 0; s < g.splits; ++s) sum += partial[s * g.slice + e];
    int64_t rest = e;
    const int co = static_cast<int>(rest % g.cog);
    rest /= g.cog;
    const int ci = static_cast<int>(rest % g.cig);
    rest /= g.cig;
    const int tap = static_cast<int>(rest % g.taps);
    const int group = static_cast<int>(rest / g.taps);
    const int kd = tap / (g.kernel[2] * g.kernel[1]), kh = (tap / g.kernel[2]) % g.kernel[1], kw = tap % g.kernel[2];
    dw[(int64_t{group} * g.cig + ci) * g.w_stride_n + co * g.w_stride_c + kd * g.w_stride[0] + kh * g.w_stride[1] +
       kw * g.w_stride[2]] = ElementTraits<ElementT>::from_accum(sum);
  }
}

}  // namespace upsample::cuda::implicit_gemm

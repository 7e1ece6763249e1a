// The implicit-GEMM transposed-convolution kernel (forward), its operand pre-passes, and its
// epilogue. Variants (chosen by choose_implicit_gemm_tile() in implicit_gemm.cu):
// - tensor-op: f16/bf16 (mma.sync m16n8k16, f32 accumulation), f32 as TF32 (m16n8k8) when the
//   caller allows TF32; tiles 128x128 (8 warps), 128x64 and 128x32 (4 warps, C_out/groups <= 64
//   and <= 32), 64x64 (4 warps, too few 128x128 tiles to fill the GPU); sm_80 and newer.
// - SIMT twin: f32 (exact) and f64, tiles 128x128 (8x8 per thread) and 64x64 (f32 8x8, f64 4x4);
//   every GPU the library supports. Also instantiated for f16/bf16 (64x64, 4x4, f32 accumulation),
//   run today only when a test forces the SIMT path.
//
// NOTE [ Implicit GEMM over stride phases ]
// Transposed convolution is, per stride phase (NOTE [ Stride phases ] in conv_transpose_forward.cuh)
// and group, an ordinary GEMM: for phase r = (rd, rh, rw) the outputs o = q*stride + r - pad form
// a dense grid over q, and
//   y[n, q, co] = sum over taps t of phase r, ci < C_in/groups of  x[n, q - m_t, ci] * w[ci, co, k_t]
// so M = N x (q positions of the phase), N = C_out/groups, K = (taps of the phase) x (C_in/groups),
// K ordered taps-outer, channels-inner. A K tile is then one tap's run of channels: its A rows are
// the input positions q - m_t of the CTA's M rows (one shifted view of the channels-last input, a
// 16-byte chunk per row and chunk of channels, zero-filled where q - m_t leaves the input), and its
// B rows are the repacked weights of that tap, contiguous in K. The taps of the phase come from a
// shared-memory table built in the prologue; the main loop advances (tap, channel) incrementally,
// with no division. Phases with no taps have K = 0 and write the epilogue of zero (the bias).
// Output padding, asymmetric padding and dilation only change each phase's q range and tap table.
//
// Grid: x = M tiles (the most any phase needs; CTAs past their phase's M return at once), y = N
// tiles, z = groups x phases. Each CTA computes one phase of its M tile; the epilogue stages the
// tile through shared memory (bias added, rounded once) and stores it row by row.
//
// Why one phase per CTA rather than all phases of an output tile in one CTA: channels-last (the
// native layout), an output position's C_out/groups channels are one contiguous run, so each row
// of the tile is stored as whole 16-byte vectors (BlockN x element bytes = 64..256 contiguous
// bytes) whichever phase it belongs to: interleaving phases would not make a store more
// coalesced. Keeping every phase of a tile in one CTA would cost either every phase's
// accumulators at once (P x 64 registers per thread, or P x 64 KiB of shared memory for a
// 128x128 f32 tile) or a K loop whose extent differs between warps (phases have different tap
// counts: kernel 3, stride 2 gives 4, 2, 2 and 1 taps), i.e. idle tensor cores. Channels-first,
// a phase's stores are every stride-th element of a row; the sibling phases' CTAs fill the rest
// of those sectors in L2 (write-back), so DRAM traffic stays one write per byte while the lines
// stay resident (the layout pays in L2 transactions, not DRAM bytes).
#pragma once

#include <cstdint>

#include "cuda/common/element.cuh"
#include "cuda/common/index_math.cuh"
#include "cuda/common/platform.cuh"
#include "cuda/common/vector.cuh"
#include "implicit_gemm_mainloop.cuh"
#include "implicit_gemm_params.cuh"

// The kernel builds its OperandLoader only where the CTA loads (k_tiles > 0) and uses it only
// there; GCC cannot follow that condition from the loader's init into the main loop, and in the
// emulated build warns that every loader field may be used uninitialized. Initializing them
// instead would change what nvcc generates for the sake of the host compiler.
#if defined(UPS_EMULATION) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace upsample::cuda::implicit_gemm {


// The kernel is split as decode (CtaPhase), stage (PhaseTables + OperandLoader), accumulate
// (run_mainloop over the warp tile of implicit_gemm_mainloop.cuh) and epilogue
// (store_output_tile). Every piece is __forceinline__: the split is for reading, the generated
// code is the one-function kernel's (the pieces' state lives in registers after inlining).

// The CTA's GEMM: its stride phase r = (rd, rh, rw) and group (from blockIdx.z), the dense q grid
// of that phase per axis (NOTE [ Implicit GEMM over stride phases ]), M = N x q positions, and the
// CTA's first M row and output channel. The divisions here run once per CTA.
struct CtaPhase {
  int phase, group, n0;
  int r[3], q_first[3], q_count[3];
  int64_t m0, m_total;  // m0 >= m_total: this phase has fewer M tiles than the grid
};

template <typename Config, typename ParamsT>
__device__ __forceinline__ CtaPhase decode_cta_phase(const ParamsT& p, unsigned block_m, int block_n, int block_z) {
  CtaPhase cta;
  cta.phase = block_z % p.num_phases;
  cta.group = block_z / p.num_phases;
  cta.r[2] = cta.phase % p.stride[2];
  cta.r[1] = (cta.phase / p.stride[2]) % p.stride[1];
  cta.r[0] = cta.phase / (p.stride[2] * p.stride[1]);
#pragma unroll
  for (int a = 0; a < 3; ++a) {
    cta.q_first[a] = ceil_div(p.pad[a] - cta.r[a], p.stride[a]);
    const int q_last = floor_div(p.out_extent[a] - 1 + p.pad[a] - cta.r[a], p.stride[a]);
    cta.q_count[a] = q_last >= cta.q_first[a] ? q_last - cta.q_first[a] + 1 : 0;
  }
  cta.m_total = int64_t{p.batch} * cta.q_count[0] * cta.q_count[1] * cta.q_count[2];
  cta.m0 = static_cast<int64_t>(block_m) * Config::kBlockM;
  cta.n0 = block_n * Config::kBlockN;
  return cta;
}

// The CTA's shared tables, declared as static __shared__ arrays in the kernel (their only legal
// home) and handed to the pieces by reference.
template <int kBlockM>
struct PhaseTables {
  int (&axis_m)[3][kMaxAxisTaps];        // per axis: input shift m of each tap of the phase
  int (&axis_count)[3];                  // per axis: taps of the phase
  int (&tap_m)[3][kMaxPhaseTaps];        // per tap of the phase (taps-outer K order)
  int64_t (&tap_delta)[kMaxPhaseTaps];   // offset of x[q - m] relative to x[q]
  int64_t (&row_out)[kBlockM];           // y offset of each tile row, -1 past M
};

// The y offset of output row m of the CTA's phase (m < m_total): m = ((n * qd + ld) * qh + lh) *
// qw + lw, output coordinate o = (q_first + l) * stride + r - pad per axis. Prologue only.
template <typename ParamsT>
__device__ __forceinline__ int64_t output_row_offset(const ParamsT& p, const CtaPhase& cta, int64_t m) {
  int64_t rest = m;
  const int lw = static_cast<int>(rest % cta.q_count[2]);
  rest /= cta.q_count[2];
  const int lh = static_cast<int>(rest % cta.q_count[1]);
  rest /= cta.q_count[1];
  const int ld = static_cast<int>(rest % cta.q_count[0]);
  const int64_t n = rest / cta.q_count[0];
  const int od = (cta.q_first[0] + ld) * p.stride[0] + cta.r[0] - p.pad[0];
  const int oh = (cta.q_first[1] + lh) * p.stride[1] + cta.r[1] - p.pad[1];
  const int ow = (cta.q_first[2] + lw) * p.stride[2] + cta.r[2] - p.pad[2];
  return n * p.y_stride_n + od * p.y_stride[0] + oh * p.y_stride[1] + ow * p.y_stride[2];
}

// Prologue: fills the per-axis taps of the phase (threads 0..2), the y offset of every tile row,
// then (after a barrier) the phase's tap table in taps-outer K order, so that the main loop walks
// taps by table lookups instead of divisions. Returns the phase's tap count. The caller's barrier
// after the loader's setup publishes the tap table.
template <typename Config, typename ParamsT>
__device__ __forceinline__ int fill_phase_tables(const ParamsT& p, const CtaPhase& cta,
                                                 const PhaseTables<Config::kBlockM>& tables, int thread) {
  if (thread < 3) {
    const int a = thread;
    const int r_a = a == 0 ? cta.r[0] : (a == 1 ? cta.r[1] : cta.r[2]);  // a select: r stays in registers
    int count = 0;
    for (int k = 0; k < p.kernel[a] && count < kMaxAxisTaps; ++k) {
      const int shifted = k * p.dilation[a] - r_a;
      if (shifted >= 0 && shifted % p.stride[a] == 0) tables.axis_m[a][count++] = shifted / p.stride[a];
    }
    tables.axis_count[a] = count;
  }
  for (int row = thread; row < Config::kBlockM; row += Config::kThreads) {
    const int64_t m = cta.m0 + row;
    tables.row_out[row] = m < cta.m_total ? output_row_offset(p, cta, m) : int64_t{-1};
  }
  __syncthreads();
  const int taps = tables.axis_count[0] * tables.axis_count[1] * tables.axis_count[2];
  for (int t = thread; t < taps; t += Config::kThreads) {
    const int jw = t % tables.axis_count[2];
    const int jh = (t / tables.axis_count[2]) % tables.axis_count[1];
    const int jd = t / (tables.axis_count[2] * tables.axis_count[1]);
    const int md = tables.axis_m[0][jd], mh = tables.axis_m[1][jh], mw = tables.axis_m[2][jw];
    tables.tap_m[0][t] = md;
    tables.tap_m[1][t] = mh;
    tables.tap_m[2][t] = mw;
    tables.tap_delta[t] = -((int64_t{md} * p.in_extent[1] + mh) * p.in_extent[2] + mw) * p.x_row;
  }
  return taps;
}

// One thread's share of the cp.async staging of both operands (NOTE [ Implicit GEMM stage layout ]).
// A row i of this thread is tile row thread/4 + i*kRowsPerPass, chunk thread % 4: its q
// coordinates (an out-of-range marker past M) and the offset of x[n, q, chunk]. B row j is the
// packed weights of output channel co, advanced one K tile per stage. The loader's position in K
// is tap `load_tap`, channel `load_ci`; a change of tap (once per cig_pad / kTileK tiles)
// recomputes each A row's source x[n, q - m_t, chunk] and whether it lies inside the input, in
// between sources advance by one K tile: no division in the main loop.
template <typename Config>
struct OperandLoader {
  using ElementT = typename Config::Element;
  static constexpr int kVec = kChunkElements<ElementT>;
  static constexpr int kTileK = implicit_gemm::kTileK<ElementT>;
  static constexpr int kRowsPerPass = Config::kThreads / kChunksPerRow;  // rows one loader pass covers
  static constexpr int kARows = Config::kBlockM / kRowsPerPass;          // A rows per thread per stage
  static constexpr int kBRows = Config::kBlockN / kRowsPerPass;
  static_assert(Config::kBlockM % kRowsPerPass == 0 && Config::kBlockN % kRowsPerPass == 0,
                "loader covers the tile");

  int thread, chunk, taps;
  int load_tap, load_ci;
  int a_q[kARows][3];  // the row's anchor in x (q * a_scale + a_shift); tap t reads anchor - m_t
  int64_t a_base[kARows];
  const ElementT* a_source[kARows];
  bool a_inside[kARows];
  const ElementT* b_source[kBRows];
  bool b_valid[kBRows];

  // M decodes in 32-bit arithmetic whenever the phase's M fits (the usual case: 64-bit division
  // is a subroutine call), once per CTA.
  template <typename ParamsT>
  __device__ __forceinline__ void init_a_rows(const ParamsT& p, const CtaPhase& cta) {
    const bool m_fits_32bit = cta.m_total <= int64_t{0x7fffffff};
#pragma unroll
    for (int i = 0; i < kARows; ++i) {
      const int64_t m = cta.m0 + thread / kChunksPerRow + i * kRowsPerPass;
      a_base[i] = 0;
      a_q[i][0] = -(1 << 30);  // fails every bounds check: the row is zero-filled
      a_q[i][1] = a_q[i][2] = 0;
      if (m < cta.m_total) {
        int64_t n;
        if (m_fits_32bit) {
          int rest = static_cast<int>(m);
          a_q[i][2] = cta.q_first[2] + rest % cta.q_count[2];
          rest /= cta.q_count[2];
          a_q[i][1] = cta.q_first[1] + rest % cta.q_count[1];
          rest /= cta.q_count[1];
          a_q[i][0] = cta.q_first[0] + rest % cta.q_count[0];
          n = rest / cta.q_count[0];
        } else {
          int64_t rest = m;
          a_q[i][2] = cta.q_first[2] + static_cast<int>(rest % cta.q_count[2]);
          rest /= cta.q_count[2];
          a_q[i][1] = cta.q_first[1] + static_cast<int>(rest % cta.q_count[1]);
          rest /= cta.q_count[1];
          a_q[i][0] = cta.q_first[0] + static_cast<int>(rest % cta.q_count[0]);
          n = rest / cta.q_count[0];
        }
#pragma unroll
        for (int a = 0; a < 3; ++a) a_q[i][a] = a_q[i][a] * p.a_scale[a] + p.a_shift[a];
        a_base[i] = n * p.x_stride_n +
                    ((int64_t{a_q[i][0]} * p.in_extent[1] + a_q[i][1]) * p.in_extent[2] + a_q[i][2]) * p.x_row +
                    cta.group * p.x_group + chunk * kVec;
      }
    }
  }

  // Sets the loader at K = 0. Reads no shared table: set_tap(0) follows the caller's barrier.
  template <typename ParamsT>
  __device__ __forceinline__ void init(const ParamsT& p, const CtaPhase& cta, int thread_, int taps_) {
    thread = thread_;
    chunk = thread % kChunksPerRow;
    taps = taps_;
    load_tap = 0;
    load_ci = 0;
    init_a_rows(p, cta);
#pragma unroll
    for (int j = 0; j < kBRows; ++j) {
      const int co = cta.n0 + thread / kChunksPerRow + j * kRowsPerPass;
      b_valid[j] = co < p.cog;
      b_source[j] = b_valid[j] ? p.w_packed + (int64_t{cta.group} * p.num_phases + cta.phase) * p.w_phase +
                                     int64_t{co} * p.w_row + chunk * kVec
                               : p.w_packed;
    }
  }

  // Points each A row at x[n, q - m_t, chunk] for tap t, zero-filling rows outside the input.
  template <typename ParamsT>
  __device__ __forceinline__ void set_tap(const ParamsT& p, const PhaseTables<Config::kBlockM>& tables, int t) {
    const int md = tables.tap_m[0][t], mh = tables.tap_m[1][t], mw = tables.tap_m[2][t];
    const int64_t delta = tables.tap_delta[t];
#pragma unroll
    for (int i = 0; i < kARows; ++i) {
      a_inside[i] = static_cast<unsigned>(a_q[i][0] - md) < static_cast<unsigned>(p.in_extent[0]) &&
                    static_cast<unsigned>(a_q[i][1] - mh) < static_cast<unsigned>(p.in_extent[1]) &&
                    static_cast<unsigned>(a_q[i][2] - mw) < static_cast<unsigned>(p.in_extent[2]);
      a_source[i] = a_inside[i] ? p.x + (a_base[i] + delta) : p.x;
    }
  }

  // Issues this thread's copies of the next K tile into pipeline stage `stage`, then advances K.
  template <typename ParamsT>
  __device__ __forceinline__ void load_stage(const ParamsT& p, const PhaseTables<Config::kBlockM>& tables,
                                             unsigned char* shared, int stage) {
    unsigned char* stage_a = shared + stage * stage_bytes<Config>();
    unsigned char* stage_b = stage_a + Config::kBlockM * kStageRowBytes;
    const bool chunk_valid = load_ci + chunk * kVec < p.cig_valid;
#pragma unroll
    for (int i = 0; i < kARows; ++i) {
      const int row = thread / kChunksPerRow + i * kRowsPerPass;
      const bool valid = chunk_valid && a_inside[i];
      stage_copy_16(stage_a + stage_offset(row, chunk), valid ? a_source[i] : p.x, valid ? 16 : 0);
      if (a_inside[i]) a_source[i] += kTileK;
    }
#pragma unroll
    for (int j = 0; j < kBRows; ++j) {
      const int row = thread / kChunksPerRow + j * kRowsPerPass;
      stage_copy_16(stage_b + stage_offset(row, chunk), b_source[j], b_valid[j] ? 16 : 0);
      if (b_valid[j]) b_source[j] += kTileK;
    }
    // Advance to the next K tile: the next channels of this tap, or the next tap.
    load_ci += kTileK;
    if (load_ci == p.cig_pad) {
      load_ci = 0;
      ++load_tap;
      if (load_tap < taps) set_tap(p, tables, load_tap);
    }
  }
};

// The pipelined main loop: kStages - 1 K tiles in flight, one barrier per tile (it both publishes
// the landed tile and frees the stage the next load overwrites). Ends with the pipeline drained
// and a barrier, so the caller may reuse the stages' shared memory as the output tile.
template <typename Config, typename ParamsT>
__device__ __forceinline__ void run_mainloop(const ParamsT& p, const PhaseTables<Config::kBlockM>& tables,
                                             OperandLoader<Config>& loader, WarpTileFor<Config>& tile,
                                             unsigned char* shared, int k_tiles) {
  constexpr int kStages = Config::kStages;
  int write_stage = 0;
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < k_tiles) loader.load_stage(p, tables, shared, write_stage);
    stage_commit();
    write_stage = write_stage + 1 == kStages ? 0 : write_stage + 1;
  }
  int read_stage = 0;
  for (int kt = 0; kt < k_tiles; ++kt) {
    stage_wait<kStages - 2>();  // tile kt has landed (this thread's copies)...
    __syncthreads();            // ...and everyone's; the stage written below is no longer read
    if (kt + kStages - 1 < k_tiles) loader.load_stage(p, tables, shared, write_stage);
    stage_commit();
    write_stage = write_stage + 1 == kStages ? 0 : write_stage + 1;
    const unsigned char* stage_a = shared + read_stage * stage_bytes<Config>();
    tile.compute(stage_a, stage_a + Config::kBlockM * kStageRowBytes);
    read_stage = read_stage + 1 == kStages ? 0 : read_stage + 1;
  }
  stage_wait_all();
  __syncthreads();  // the pipeline's shared memory becomes the output tile
}

// Epilogue: accumulators -> EpilogueT -> rounded once into a shared tile -> whole rows of y, so
// stores are coalesced whatever the warp tile's accumulator layout. Three store paths: 16-byte
// channels-last, element-wise channels-last, channels-first.
template <typename Config, typename EpilogueT, typename ParamsT>
__device__ __forceinline__ void store_output_tile(const ParamsT& p, const WarpTileFor<Config>& tile,
                                                  unsigned char* shared, const int64_t (&row_out)[Config::kBlockM],
                                                  const CtaPhase& cta, int thread) {
  using ElementT = typename Config::Element;
  using Traits = ElementTraits<ElementT>;
  constexpr int kBlockM = Config::kBlockM, kBlockN = Config::kBlockN, kThreads = Config::kThreads;
  constexpr int kVec = kChunkElements<ElementT>;
  constexpr int kRowElements = epilogue_row_elements<Config>();
  const int n0 = cta.n0;
  ElementT* out_tile = reinterpret_cast<ElementT*>(shared);
  const int64_t channel0 = int64_t{cta.group} * p.cog + n0;
  tile.for_each([&](int row, int col, typename Traits::AccumT value) {
    if (n0 + col < p.cog)
      out_tile[row * kRowElements + col] = Traits::from_accum(EpilogueT::apply(p.epilogue, value, channel0 + col));
  });
  __syncthreads();
  if (p.y_vector) {
    // Channels-last, 16-byte aligned: one 16-byte store per chunk; C_out/groups is a multiple
    // of kVec, so a chunk is wholly inside or wholly outside the group.
    constexpr int kRowChunks = kBlockN / kVec;
    for (int e = thread; e < kBlockM * kRowChunks; e += kThreads) {
      const int row = e / kRowChunks, col = (e % kRowChunks) * kVec;
      const int64_t offset = row_out[row];
      if (offset < 0 || n0 + col >= p.cog) continue;
      store_vector<16>(p.y + offset + channel0 + col, load_vector<16>(out_tile + row * kRowElements + col));
    }
  } else if (p.y_stride_c == 1) {
    // Channels-last, unaligned: consecutive threads store consecutive channels of a row.
    for (int e = thread; e < kBlockM * kBlockN; e += kThreads) {
      const int row = e / kBlockN, col = e % kBlockN;
      const int64_t offset = row_out[row];
      if (offset < 0 || n0 + col >= p.cog) continue;
      p.y[offset + channel0 + col] = out_tile[row * kRowElements + col];
    }
  } else {
    // Channels-first: consecutive threads store consecutive positions of the phase (every
    // stride-th element of an output row; the other phases' CTAs fill the rest of its sectors).
    for (int e = thread; e < kBlockM * kBlockN; e += kThreads) {
      const int col = e / kBlockM, row = e % kBlockM;
      const int64_t offset = row_out[row];
      if (offset < 0 || n0 + col >= p.cog) continue;
      p.y[offset + (channel0 + col) * p.y_stride_c] = out_tile[row * kRowElements + col];
    }
  }
}

// The kernel: thin entry that owns the shared memory and runs the pieces above in order.
template <typename Config, typename EpilogueT>
__global__ void __launch_bounds__(Config::kThreads, Config::kMinBlocksPerSm)
    conv_transpose_implicit_gemm_kernel(ImplicitGemmParams<typename Config::Element, EpilogueT> p) {
  constexpr int kBlockM = Config::kBlockM;
#if !UPS_HAS_WARP_MMA
  if constexpr (Config::kTensorOp) {
    __trap();  // never launched: can_implement requires sm_80 for the tensor-op path
    return;
  } else
#endif
  {
    __shared__ int s_axis_m[3][kMaxAxisTaps];
    __shared__ int s_axis_count[3];
    __shared__ int s_tap_m[3][kMaxPhaseTaps];
    __shared__ int64_t s_tap_delta[kMaxPhaseTaps];
    __shared__ int64_t s_row_out[kBlockM];
    UPS_DYNAMIC_SHARED(unsigned char, shared);
    const PhaseTables<kBlockM> tables{s_axis_m, s_axis_count, s_tap_m, s_tap_delta, s_row_out};

    const int thread = static_cast<int>(threadIdx.x);
    const CtaPhase cta = decode_cta_phase<Config>(p, blockIdx.x, static_cast<int>(blockIdx.y),
                                                  static_cast<int>(blockIdx.z));
    if (cta.m0 >= cta.m_total) return;  // the whole CTA: this phase has fewer M tiles than the grid
    const int taps = fill_phase_tables<Config>(p, cta, tables, thread);
    // K is empty for an input without channels (cig_pad 0): nothing is loaded, and the operand
    // pointers (null for an empty x and for empty packed weights) are never offset.
    const int k_tiles = taps * (p.cig_pad / OperandLoader<Config>::kTileK);
    OperandLoader<Config> loader;
    if (k_tiles > 0) loader.init(p, cta, thread, taps);
    __syncthreads();  // the tap table is complete
    if (k_tiles > 0) loader.set_tap(p, tables, 0);

    WarpTileFor<Config> tile(thread);
    tile.clear();
    run_mainloop<Config>(p, tables, loader, tile, shared, k_tiles);
    store_output_tile<Config, EpilogueT>(p, tile, shared, s_row_out, cta, thread);
  }
}

// --- operand pre-passes --------------------------------------------------------------------------

struct RepackGeometry {
  int stride[3], dilation[3], kernel[3];
  int num_phases, groups, cig, cog, cig_pad, taps_max;
  // The caller's weight as the GEMM sees it: element (group, ci < cig, co < cog, kd, kh, kw) is at
  // w_offset + group * w_stride_g + ci * w_stride_n + co * w_stride_c + k . w_stride. The forward
  // pass: its own strides (n = C_in, c = C_out/groups). The data gradient: ci and co exchanged and
  // every spatial axis reversed (negative strides from the last tap).
  int64_t w_offset, w_stride_g, w_stride_n, w_stride_c, w_stride[3];
  int64_t total;  // elements of the packed weights
};

// The j-th tap (ascending k) of phase r on one axis, or -1 when the phase has fewer taps.
__device__ __forceinline__ int phase_tap(int kernel, int dilation, int stride, int r, int j) {
  for (int k = 0; k < kernel; ++k) {
    const int shifted = k * dilation - r;
    if (shifted >= 0 && shifted % stride == 0) {
      if (j == 0) return k;
      --j;
    }
  }
  return -1;
}

// w_packed[g][phase][co][t * cig_pad + ci] = w[g*cig + ci, co, k_t] (zero for ci >= cig or a tap
// index past the phase's taps), rounded to TF32 when kRoundTf32. Run once per call; the division
// here is outside the main loop.
template <typename ElementT, bool kRoundTf32>
__global__ void implicit_gemm_repack_weights_kernel(const ElementT* w, ElementT* w_packed, RepackGeometry g) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < g.total; e += step) {
    int64_t rest = e;
    const int ci = static_cast<int>(rest % g.cig_pad);
    rest /= g.cig_pad;
    const int t = static_cast<int>(rest % g.taps_max);
    rest /= g.taps_max;
    const int co = static_cast<int>(rest % g.cog);
    rest /= g.cog;
    const int phase = static_cast<int>(rest % g.num_phases);
    const int group = static_cast<int>(rest / g.num_phases);
    const int r[3] = {phase / (g.stride[2] * g.stride[1]), (phase / g.stride[2]) % g.stride[1], phase % g.stride[2]};
    // Taps per axis of this phase, to split t into (jd, jh, jw) as the kernel's table does.
    int count[3];
    for (int a = 0; a < 3; ++a) {
      count[a] = 0;
      for (int k = 0; k < g.kernel[a]; ++k) {
        const int shifted = k * g.dilation[a] - r[a];
        if (shifted >= 0 && shifted % g.stride[a] == 0) ++count[a];
      }
    }
    ElementT value = ElementT(0.0f);
    if (ci < g.cig && t < count[0] * count[1] * count[2]) {
      const int jw = t % count[2], jh = (t / count[2]) % count[1], jd = t / (count[2] * count[1]);
      const int kd = phase_tap(g.kernel[0], g.dilation[0], g.stride[0], r[0], jd);
      const int kh = phase_tap(g.kernel[1], g.dilation[1], g.stride[1], r[1], jh);
      const int kw = phase_tap(g.kernel[2], g.dilation[2], g.stride[2], r[2], jw);
      value = w[g.w_offset + group * g.w_stride_g + ci * g.w_stride_n + co * g.w_stride_c + kd * g.w_stride[0] +
                kh * g.w_stride[1] + kw * g.w_stride[2]];
      if constexpr (kRoundTf32) value = __uint_as_float(cvt_rna_tf32(value));
    }
    w_packed[e] = value;
  }
}

struct PackInputGeometry {
  int groups, cig, cig_valid;                   // cig_valid: cig rounded up to 16 bytes
  int64_t plane;                                // D*H*W
  int64_t x_stride_n, x_stride_c, x_stride[3];  // the caller's input
  int extent[3];
  int64_t total;                                // elements of the packed input
};

// x_packed[n][position][g][ci] (channels-last, each group padded to cig_valid with zeros): the
// A operand for channels-first inputs and for channel counts that are not a multiple of 16 bytes.
// Consecutive threads write consecutive elements.
template <typename ElementT>
__global__ void implicit_gemm_pack_input_kernel(const ElementT* x, ElementT* x_packed, PackInputGeometry g) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < g.total; e += step) {
    int64_t rest = e;
    const int ci = static_cast<int>(rest % g.cig_valid);
    rest /= g.cig_valid;
    const int group = static_cast<int>(rest % g.groups);
    rest /= g.groups;
    const int64_t position = rest % g.plane;
    const int64_t n = rest / g.plane;
    ElementT value = ElementT(0.0f);
    if (ci < g.cig) {
      const int64_t w_ = position % g.extent[2];
      const int64_t h = (position / g.extent[2]) % g.extent[1];
      const int64_t d = position / (int64_t{g.extent[2]} * g.extent[1]);
      value = x[n * g.x_stride_n + (int64_t{group} * g.cig + ci) * g.x_stride_c + d * g.x_stride[0] +
                h * g.x_stride[1] + w_ * g.x_stride[2]];
    }
    x_packed[e] = value;
  }
}

}  // namespace upsample::cuda::implicit_gemm

#if defined(UPS_EMULATION) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

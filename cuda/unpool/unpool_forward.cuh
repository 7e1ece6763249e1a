// Nearest-neighbour and bed-of-nails unpooling kernels.
//
//   nearest:      y[n, c, o] = x[n, c, o / scale]
//   bed-of-nails: y[n, c, o] = x[n, c, o / scale] where o % scale == 0 on every axis, else 0
//
// Each output element is written exactly once, zeros included (by output-stationary kernels, or by
// the channels-last spread kernel, whose cells tile the output), so there is no separate fill pass. They move storage
// words (StorageT is an unsigned integer of the dtype's width: see NOTE [ Accumulation types ]); a zero word is +0.0 in
// every float dtype.
//
// Variants, picked by unpool.cu:
// - unpool_vec16_kernel: channels-first; one thread moves 16 bytes of output: consecutive w
//   positions of one output row (needs W_out a multiple of the lane count and y 16-byte aligned).
//   kScaleW is the W scale when it is 2 or 4, divides the lane count and x is aligned to 16/kScaleW
//   bytes: the vector's kLanes/kScaleW inputs are then one narrower vector load, duplicated in
//   registers (lane l reads input l / kScaleW, a constant), with no division; kScaleW = 0 reads the
//   scale at run time and gathers the inputs with scalar loads.
// - unpool_cl_spread_kernel: channels-last (needs C a multiple of the lane count and both pointers
//   16-byte aligned): input-stationary, one 16-byte input vector (kLanes channels of one input position) at a time,
//   which the thread loads once and stores to every output position of its cell (nearest) or to the cell's first
//   position and zeros to the rest (bed-of-nails): one load and scale_d*scale_h*scale_w 16-byte stores, the position
//   decoded once per input vector instead of once per output vector. The W scale kScaleW is 1, 2 or 4 at compile time
//   (each w run of the cell unrolled) or 0 (read at run time); the (d, h) runs of a cell are a rolled loop of pointer
//   steps; each thread loads its kUnpoolVectorsPerThread input vectors before its first store.
// - unpool_cf_row_spread_kernel: channels-first with W_in a multiple of the lane count, both
//   pointers 16-byte aligned and the W scale kScaleW (1, 2 or 4) fixed at compile time:
//   input-stationary along rows. One thread per 16-byte input vector (kLanes consecutive w of one
//   input row): one load, then the kScaleW output vectors it spreads to along w are built in
//   registers (output vector j, lane l = input lane (j*kLanes + l) / kScaleW: constants) and each
//   is stored to the scale_d*scale_h output rows of its cell (bed-of-nails: the nail row keeps
//   every kScaleW-th lane, the other rows get zeros). The row is decoded once per input vector,
//   i.e. once per kScaleW*scale_h*scale_d output vectors; each thread issues the loads of its
//   kUnpoolVectorsPerThread input vectors before its first store, so several loads are in flight.
//   Preferred over unpool_vec16_kernel wherever it applies.
// - unpool_scalar_kernel: one element per thread; always applicable, used for everything else.
#pragma once

#include "cuda/common/tensor.cuh"
#include "cuda/common/vector.cuh"

namespace upsample::cuda {

template <typename StorageT, typename IndexT>
struct UnpoolParams {
  const StorageT* x;
  StorageT* y;
  DeviceTensor<IndexT> input;
  DeviceTensor<IndexT> output;
  IndexT scale[3];
  // The scales, and the channel vectors of a channels-last position (C / 16-byte lanes), as fast
  // divisors (NOTE [ Fast division ]): no hardware division runs per element or vector.
  FastDivmod<IndexT> scale_div[3];
  FastDivmod<IndexT> c_vectors_div;
  FastDivmod<IndexT> w_vectors_div;  // an input row's 16-byte vectors (W_in / lanes), channels-first
  bool bed_of_nails;
  int64_t work;  // output elements (scalar) or 16-byte output vectors (vec16)
};

template <typename StorageT, typename IndexT>
__global__ void unpool_scalar_kernel(UnpoolParams<StorageT, IndexT> p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.work; i += step) {
    const IndexT linear = static_cast<IndexT>(i);
    const Coordinates<IndexT> o = coordinates_of(p.output, linear);
    IndexT id, ih, iw;
    const IndexT rd = p.scale_div[0].divmod(o.d, &id), rh = p.scale_div[1].divmod(o.h, &ih),
                 rw = p.scale_div[2].divmod(o.w, &iw);
    const bool on_nail = rd == 0 && rh == 0 && rw == 0;
    StorageT value = 0;
    if (!p.bed_of_nails || on_nail) value = p.x[p.input.offset(o.n, o.c, id, ih, iw)];
    p.y[linear] = value;  // dense output: the linear position is the memory offset
  }
}

template <typename StorageT, typename IndexT, int kScaleW>
__global__ void unpool_vec16_kernel(UnpoolParams<StorageT, IndexT> p) {
  constexpr int kLanes = Vector16<StorageT>::kLanes;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    const IndexT first = static_cast<IndexT>(v) * kLanes;
    const Coordinates<IndexT> o = coordinates_of(p.output, first);
    IndexT id, ih;
    const IndexT rd = p.scale_div[0].divmod(o.d, &id), rh = p.scale_div[1].divmod(o.h, &ih);
    const bool row_on_nail = rd == 0 && rh == 0;
    Vector16<StorageT> pack;
    if constexpr (kScaleW != 0) {
      // kLanes consecutive w positions of one output row, o.w a multiple of kLanes: they read the
      // kLanes/kScaleW inputs from o.w/kScaleW on, one aligned vector, each duplicated kScaleW times.
      static_assert(kLanes % kScaleW == 0, "the W scale must divide the lane count");
      constexpr int kInputs = kLanes / kScaleW;
      const LaneVector<StorageT, kInputs> in =
          load_lanes<LaneVector<StorageT, kInputs>>(p.x + p.input.offset(o.n, o.c, id, ih, o.w / kScaleW));
#pragma unroll
      for (int l = 0; l < kLanes; ++l) {
        const bool keep = !p.bed_of_nails || (row_on_nail && l % kScaleW == 0);  // o.w % kScaleW == 0
        pack.lane[l] = keep ? in.lane[l / kScaleW] : StorageT{0};
      }
    } else {
      // kLanes consecutive w positions of one output row (W_out is a multiple of kLanes).
      const StorageT* row = p.x + p.input.offset(o.n, o.c, id, ih, 0);
#pragma unroll
      for (int l = 0; l < kLanes; ++l) {
        IndexT iw;
        const bool on_nail = p.scale_div[2].divmod(o.w + l, &iw) == 0;
        const bool keep = !p.bed_of_nails || (row_on_nail && on_nail);
        pack.lane[l] = keep ? row[iw] : StorageT{0};
      }
    }
    store_lanes(p.y + first, pack);
  }
}

// Input vectors per thread of the row-spread kernel, all loaded before the first store: with 8
// warps per block and up to 2048 threads per SM, 2 x 16 bytes of loads in flight per thread is
// 64 KiB per SM, above the ~15-25 KiB (latency x bandwidth per SM) an H100 or A100 needs.
constexpr int kUnpoolVectorsPerThread = 2;

// Calls store_row(row) for each (d, h) row of a cell after its first one (channels-first: an output
// row of the cell; channels-last: a w run), h fastest, one pointer step each and no division. The
// loop stays rolled: unrolled, ptxas multiplies the address math by the unroll factor.
template <typename StorageT, typename IndexT, typename StoreRow>
__device__ __forceinline__ void for_each_further_cell_row(StorageT* cell, const UnpoolParams<StorageT, IndexT>& p,
                                                          StoreRow&& store_row) {
  const IndexT cell_rows = p.scale[0] * p.scale[1];
  // From the cell's last h row of one d to the first of the next.
  const IndexT next_plane_step = p.output.stride[0] - (p.scale[1] - 1) * p.output.stride[1];
  StorageT* row = cell;
  IndexT b = 0;
#pragma unroll 1
  for (IndexT r = 1; r < cell_rows; ++r) {
    if (++b == p.scale[1]) {
      b = 0;
      row += next_plane_step;
    } else {
      row += p.output.stride[1];
    }
    store_row(row);
  }
}

// The input-stationary kernels' loop. Vectors [chunk, chunk + kVectors * blockDim.x) belong to one
// block; thread t takes chunk + t + k * blockDim.x, so every load and store instruction of a warp
// stays coalesced, and issues the loads of its kVectors input vectors before it hands the first to
// spread(v, vector), so several loads are in flight.
template <typename StorageT, typename IndexT, typename Spread>
__device__ __forceinline__ void for_each_input_vector(const UnpoolParams<StorageT, IndexT>& p, Spread&& spread) {
  using Vector = Vector16<StorageT>;
  constexpr int kVectors = kUnpoolVectorsPerThread;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x * kVectors;
  for (int64_t chunk = static_cast<int64_t>(blockIdx.x) * blockDim.x * kVectors; chunk < p.work; chunk += step) {
    Vector in[kVectors];
#pragma unroll
    for (int k = 0; k < kVectors; ++k) {
      const int64_t v = chunk + threadIdx.x + static_cast<int64_t>(k) * blockDim.x;
      if (v < p.work) in[k] = load_lanes<Vector>(p.x + static_cast<IndexT>(v) * Vector::kLanes);
    }
#pragma unroll
    for (int k = 0; k < kVectors; ++k) {
      const int64_t v = chunk + threadIdx.x + static_cast<int64_t>(k) * blockDim.x;
      if (v >= p.work) break;
      spread(static_cast<IndexT>(v), in[k]);
    }
  }
}

template <typename StorageT, typename IndexT, int kScaleW>
__global__ void unpool_cf_row_spread_kernel(UnpoolParams<StorageT, IndexT> p) {
  using Vector = Vector16<StorageT>;
  constexpr int kLanes = Vector::kLanes;
  for_each_input_vector(p, [&](IndexT v, const Vector& in) {
    // Dense channels-first input: vector v is w in [iv*kLanes, +kLanes) of row (n*C + c, id, ih).
    IndexT row, plane;
    const IndexT iv = p.w_vectors_div.divmod(v, &row);
    const IndexT ih = p.input.extent_div[1].divmod(row, &row);
    const IndexT id = p.input.extent_div[0].divmod(row, &plane);  // plane = n*C + c
    StorageT* cell = p.y + plane * p.output.stride_c + id * p.scale[0] * p.output.stride[0] +
                     ih * p.scale[1] * p.output.stride[1] + iv * (kLanes * kScaleW);
    // The cell's first row (nearest: the duplicated lanes; bed-of-nails: every kScaleW-th lane
    // kept, w % kScaleW == 0) and its other rows (nearest: the same; bed-of-nails: zeros),
    // chosen once per input vector so the row loop below is stores only.
    Vector first_row[kScaleW], other_rows[kScaleW];
#pragma unroll
    for (int j = 0; j < kScaleW; ++j)
#pragma unroll
      for (int l = 0; l < kLanes; ++l) {
        const StorageT duplicated = in.lane[(j * kLanes + l) / kScaleW];
        const bool nail = (j * kLanes + l) % kScaleW == 0;
        first_row[j].lane[l] = p.bed_of_nails && !nail ? StorageT{0} : duplicated;
        other_rows[j].lane[l] = p.bed_of_nails ? StorageT{0} : duplicated;
      }
#pragma unroll
    for (int j = 0; j < kScaleW; ++j) store_lanes(cell + j * kLanes, first_row[j]);
    // The other scale_d*scale_h - 1 rows, kScaleW stores each.
    for_each_further_cell_row(cell, p, [&](StorageT* out_row) {
#pragma unroll
      for (int j = 0; j < kScaleW; ++j) store_lanes(out_row + j * kLanes, other_rows[j]);
    });
  });
}

// One run of a cell along w (channels-last: the w stride is C): `first` to the run's first position
// and `rest` to the other scale_w - 1, kScaleW of them in all (1, 2 or 4 at compile time: unrolled
// stores at constant offsets) or scale_w (kScaleW = 0: a rolled loop with a pointer step).
template <int kScaleW, typename Vector, typename StorageT, typename IndexT>
__device__ __forceinline__ void store_w_run(StorageT* run, IndexT stride_w, IndexT scale_w, const Vector& first,
                                            const Vector& rest) {
  store_lanes(run, first);
  if constexpr (kScaleW != 0) {
#pragma unroll
    for (int c = 1; c < kScaleW; ++c) store_lanes(run + c * stride_w, rest);
  } else {
#pragma unroll 1
    for (IndexT c = 1; c < scale_w; ++c) {
      run += stride_w;
      store_lanes(run, rest);
    }
  }
}

template <typename StorageT, typename IndexT, int kScaleW>
__global__ void unpool_cl_spread_kernel(UnpoolParams<StorageT, IndexT> p) {
  using Vector = Vector16<StorageT>;
  constexpr int kLanes = Vector::kLanes;
  const IndexT scale_w = kScaleW != 0 ? static_cast<IndexT>(kScaleW) : p.scale[2];
  const IndexT stride_w = p.output.stride[2];  // C
  for_each_input_vector(p, [&](IndexT v, const Vector& in) {
    // Dense channels-last input: vector v is channels [cv*kLanes, +kLanes) of position (n, id, ih, iw).
    IndexT rest = v, n;
    const IndexT cv = p.c_vectors_div.divmod(rest, &rest);
    const IndexT iw = p.input.extent_div[2].divmod(rest, &rest);
    const IndexT ih = p.input.extent_div[1].divmod(rest, &rest);
    const IndexT id = p.input.extent_div[0].divmod(rest, &n);
    StorageT* cell = p.y + p.output.offset(n, cv * kLanes, id * p.scale[0], ih * p.scale[1], iw * scale_w);
    // Nearest: the value everywhere in the cell; bed-of-nails: at the cell's first position only.
    Vector elsewhere;
#pragma unroll
    for (int l = 0; l < kLanes; ++l) elsewhere.lane[l] = p.bed_of_nails ? StorageT{0} : in.lane[l];
    store_w_run<kScaleW>(cell, stride_w, scale_w, in, elsewhere);
    // The other scale_d*scale_h - 1 w runs.
    for_each_further_cell_row(
        cell, p, [&](StorageT* run) { store_w_run<kScaleW>(run, stride_w, scale_w, elsewhere, elsewhere); });
  });
}

}  // namespace upsample::cuda

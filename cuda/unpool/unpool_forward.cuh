// Nearest-neighbour and bed-of-nails unpooling kernels.
//
//   nearest:      y[n, c, o] = x[n, c, o / scale]
//   bed-of-nails: y[n, c, o] = x[n, c, o / scale] where o % scale == 0 on every axis, else 0
//
// Each output element is written exactly once, zeros included (by output-stationary kernels, or by
// the channels-last spread kernel, whose cells tile the output), so there is no separate fill pass. They move storage words (StorageT is an unsigned integer of the
// dtype's width: see NOTE [ Accumulation types ]); a zero word is +0.0 in every float dtype.
//
// Variants, picked by unpool.cu:
// - unpool_vec16_kernel: channels-first; one thread moves 16 bytes of output: consecutive w
//   positions of one output row (needs W_out a multiple of the lane count and y 16-byte aligned).
//   kScaleW is the W scale when it is 2 or 4, divides the lane count and x is aligned to 16/kScaleW
//   bytes: the vector's kLanes/kScaleW inputs are then one narrower vector load, duplicated in
//   registers (lane l reads input l / kScaleW, a constant), with no division; kScaleW = 0 reads the
//   scale at run time and gathers the inputs with scalar loads.
// - unpool_cl_spread_kernel: channels-last (needs C a multiple of the lane count and both pointers
//   16-byte aligned): input-stationary, one thread per 16-byte input vector (kLanes channels of one input position), which it loads
//   once and stores to every output position of its cell (nearest) or to the cell's first position
//   and zeros to the rest (bed-of-nails): one load and scale_d*scale_h*scale_w 16-byte stores, the
//   position decoded once per input vector instead of once per output vector.
// - unpool_scalar_kernel: one element per thread; always applicable, used for everything else.
#pragma once

#include "cuda/common/tensor.cuh"

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
  bool bed_of_nails;
  int64_t work;  // output elements (scalar) or 16-byte output vectors (vec16)
};

template <typename StorageT>
struct alignas(16) Pack16 {
  static constexpr int kLanes = 16 / sizeof(StorageT);
  StorageT lane[kLanes];
};

// kLanes consecutive storage words, aligned to their size (an 8- or 4-byte vector).
template <typename StorageT, int kLanes>
struct alignas(sizeof(StorageT) * kLanes) PackN {
  StorageT lane[kLanes];
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
  constexpr int kLanes = Pack16<StorageT>::kLanes;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    const IndexT first = static_cast<IndexT>(v) * kLanes;
    const Coordinates<IndexT> o = coordinates_of(p.output, first);
    IndexT id, ih;
    const IndexT rd = p.scale_div[0].divmod(o.d, &id), rh = p.scale_div[1].divmod(o.h, &ih);
    const bool row_on_nail = rd == 0 && rh == 0;
    Pack16<StorageT> pack;
    if constexpr (kScaleW != 0) {
      // kLanes consecutive w positions of one output row, o.w a multiple of kLanes: they read the
      // kLanes/kScaleW inputs from o.w/kScaleW on, one aligned vector, each duplicated kScaleW times.
      static_assert(kLanes % kScaleW == 0, "the W scale must divide the lane count");
      constexpr int kInputs = kLanes / kScaleW;
      const PackN<StorageT, kInputs> in =
          *reinterpret_cast<const PackN<StorageT, kInputs>*>(p.x + p.input.offset(o.n, o.c, id, ih, o.w / kScaleW));
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
    *reinterpret_cast<Pack16<StorageT>*>(p.y + first) = pack;
  }
}

template <typename StorageT, typename IndexT>
__global__ void unpool_cl_spread_kernel(UnpoolParams<StorageT, IndexT> p) {
  constexpr int kLanes = Pack16<StorageT>::kLanes;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    // Dense channels-last input: vector v is channels [cv*kLanes, +kLanes) of position (n, id, ih, iw).
    IndexT rest = static_cast<IndexT>(v), n;
    const IndexT cv = p.c_vectors_div.divmod(rest, &rest);
    const IndexT iw = p.input.extent_div[2].divmod(rest, &rest);
    const IndexT ih = p.input.extent_div[1].divmod(rest, &rest);
    const IndexT id = p.input.extent_div[0].divmod(rest, &n);
    const Pack16<StorageT> value = *reinterpret_cast<const Pack16<StorageT>*>(p.x + static_cast<IndexT>(v) * kLanes);
    Pack16<StorageT> zero;
#pragma unroll
    for (int l = 0; l < kLanes; ++l) zero.lane[l] = 0;
    StorageT* cell = p.y + p.output.offset(n, cv * kLanes, id * p.scale[0], ih * p.scale[1], iw * p.scale[2]);
    for (IndexT a = 0; a < p.scale[0]; ++a)
      for (IndexT b = 0; b < p.scale[1]; ++b)
        for (IndexT c = 0; c < p.scale[2]; ++c) {
          const bool keep = !p.bed_of_nails || (a == 0 && b == 0 && c == 0);
          *reinterpret_cast<Pack16<StorageT>*>(cell + a * p.output.stride[0] + b * p.output.stride[1] +
                                               c * p.output.stride[2]) = keep ? value : zero;
        }
  }
}

}  // namespace upsample::cuda

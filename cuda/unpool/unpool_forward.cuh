// Nearest-neighbour and bed-of-nails unpooling kernels.
//
//   nearest:      y[n, c, o] = x[n, c, o / scale]
//   bed-of-nails: y[n, c, o] = x[n, c, o / scale] where o % scale == 0 on every axis, else 0
//
// Both are output-stationary: each output element is written exactly once, zeros included, so
// there is no separate fill pass. They move storage words (StorageT is an unsigned integer of the
// dtype's width: see NOTE [ Accumulation types ]); a zero word is +0.0 in every float dtype.
//
// Variants, picked by unpool.cu:
// - unpool_vec16_kernel: one thread moves 16 bytes of output. Channels-last: 16 bytes of
//   consecutive channels, loaded from the input as one 16-byte vector (needs C a multiple of the
//   lane count and both pointers 16-byte aligned). Channels-first: 16 bytes of consecutive w
//   positions of one output row, gathered from the input row with scalar loads (needs W_out a
//   multiple of the lane count and y 16-byte aligned).
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
  bool bed_of_nails;
  int64_t work;  // output elements (scalar) or 16-byte output vectors (vec16)
};

template <typename StorageT>
struct alignas(16) Pack16 {
  static constexpr int kLanes = 16 / sizeof(StorageT);
  StorageT lane[kLanes];
};

template <typename StorageT, typename IndexT>
__global__ void unpool_scalar_kernel(UnpoolParams<StorageT, IndexT> p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.work; i += step) {
    const IndexT linear = static_cast<IndexT>(i);
    const Coordinates<IndexT> o = coordinates_of(p.output, linear);
    const bool on_nail = o.d % p.scale[0] == 0 && o.h % p.scale[1] == 0 && o.w % p.scale[2] == 0;
    StorageT value = 0;
    if (!p.bed_of_nails || on_nail)
      value = p.x[p.input.offset(o.n, o.c, o.d / p.scale[0], o.h / p.scale[1], o.w / p.scale[2])];
    p.y[linear] = value;  // dense output: the linear position is the memory offset
  }
}

template <typename StorageT, typename IndexT>
__global__ void unpool_vec16_kernel(UnpoolParams<StorageT, IndexT> p) {
  constexpr int kLanes = Pack16<StorageT>::kLanes;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    const IndexT first = static_cast<IndexT>(v) * kLanes;
    const Coordinates<IndexT> o = coordinates_of(p.output, first);
    const IndexT id = o.d / p.scale[0], ih = o.h / p.scale[1];
    const bool row_on_nail = o.d % p.scale[0] == 0 && o.h % p.scale[1] == 0;
    Pack16<StorageT> pack;
    if (p.output.channels_last) {
      // kLanes consecutive channels of one position: one input position, one vector load.
      if (!p.bed_of_nails || (row_on_nail && o.w % p.scale[2] == 0)) {
        pack = *reinterpret_cast<const Pack16<StorageT>*>(p.x + p.input.offset(o.n, o.c, id, ih, o.w / p.scale[2]));
      } else {
#pragma unroll
        for (int l = 0; l < kLanes; ++l) pack.lane[l] = 0;
      }
    } else {
      // kLanes consecutive w positions of one output row (W_out is a multiple of kLanes).
      const StorageT* row = p.x + p.input.offset(o.n, o.c, id, ih, 0);
#pragma unroll
      for (int l = 0; l < kLanes; ++l) {
        const IndexT ow = o.w + l;
        const bool keep = !p.bed_of_nails || (row_on_nail && ow % p.scale[2] == 0);
        pack.lane[l] = keep ? row[ow / p.scale[2]] : StorageT{0};
      }
    }
    *reinterpret_cast<Pack16<StorageT>*>(p.y + first) = pack;
  }
}

}  // namespace upsample::cuda

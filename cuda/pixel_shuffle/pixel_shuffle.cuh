// Pixel shuffle / unshuffle kernel: pure data movement between the packed tensor (N, C*r^k, ...)
// and the spatial tensor (N, C, ...*r), in either direction (shuffle and unshuffle's gradient move
// packed -> spatial; unshuffle and shuffle's gradient spatial -> packed). Storage words of the
// dtype's width move unchanged (NOTE [ Accumulation types ]).
//
// One thread writes kLanes consecutive destination elements along the destination's innermost
// dimension as one 16-byte store (kLanes = 16 / element size, when that dimension is a multiple
// of it and the destination is 16-byte aligned; else kLanes = 1, the scalar path). The lanes'
// sources follow from the first lane's coordinates by strides or carries, so the coordinate
// decoding (multiply-high divisions, NOTE [ Fast division ]) is per vector, not per element:
//   packed -> spatial, channels-first: lanes walk w; the packed channel cycles through r values
//     and the packed w steps every r lanes.
//   packed -> spatial, channels-last: lanes walk channels c; their sources are r^k channels apart.
//   spatial -> packed, channels-first: lanes walk packed w; their sources are r apart along w.
//   spatial -> packed, channels-last: lanes walk packed channels; (c, a, i, j) advance by carries.
// Reads are scalar: the interleave makes one side strided whichever side is vectorized; the
// stores, which carry the write-allocate cost, are the side kept whole.
#pragma once

#include "cuda/common/fast_divmod.cuh"
#include "cuda/common/tensor.cuh"
#include "cuda/common/vector.cuh"

namespace upsample::cuda {

template <typename StorageT, typename IndexT>
struct PixelShuffleParams {
  const StorageT* source;
  StorageT* destination;
  DeviceTensor<IndexT> packed;
  DeviceTensor<IndexT> spatial;
  IndexT r;      // factor on H and W
  IndexT rd;     // factor on D: r in 3-D, 1 in 2-D
  IndexT block;  // rd * r * r
  // The same as divisors (NOTE [ Fast division ]): the per-vector decoding divides by each.
  FastDivmod<IndexT> r_div, rd_div, block_div, rr_div;
  bool to_spatial;
  int64_t work;  // destination vectors
};

template <typename StorageT, typename IndexT, int kLanes>
__global__ void pixel_shuffle_kernel(PixelShuffleParams<StorageT, IndexT> p) {
  using Vec = LaneVector<StorageT, kLanes>;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    const IndexT first = static_cast<IndexT>(v) * kLanes;
    Vec out;
    if (p.to_spatial) {
      const Coordinates<IndexT> s = coordinates_of(p.spatial, first);
      IndexT pd, ph, pw;
      const IndexT a = p.rd_div.divmod(s.d, &pd), i = p.r_div.divmod(s.h, &ph);
      IndexT j = p.r_div.divmod(s.w, &pw);
      if (p.spatial.channels_last) {
        const StorageT* src = p.source + p.packed.offset(s.n, s.c * p.block + (a * p.r + i) * p.r + j, pd, ph, pw);
#pragma unroll
        for (int l = 0; l < kLanes; ++l) out.lane[l] = src[l * p.block];
      } else {
        const StorageT* src = p.source + p.packed.offset(s.n, ((s.c * p.rd + a) * p.r + i) * p.r, pd, ph, 0);
#pragma unroll
        for (int l = 0; l < kLanes; ++l) {
          out.lane[l] = src[j * p.packed.stride_c + pw];
          if (++j == p.r) j = 0, ++pw;
        }
      }
    } else {
      const Coordinates<IndexT> k = coordinates_of(p.packed, first);
      IndexT c, q_r, a;
      const IndexT q = p.block_div.divmod(k.c, &c);
      IndexT j = p.r_div.divmod(q, &q_r);
      IndexT i = p.r_div.mod(q_r);
      a = p.rr_div.div(q);
      if (p.packed.channels_last) {
#pragma unroll
        for (int l = 0; l < kLanes; ++l) {
          out.lane[l] = p.source[p.spatial.offset(k.n, c, k.d * p.rd + a, k.h * p.r + i, k.w * p.r + j)];
          if (++j == p.r) {
            j = 0;
            if (++i == p.r) {
              i = 0;
              if (++a == p.rd) a = 0, ++c;
            }
          }
        }
      } else {
        const StorageT* src = p.source + p.spatial.offset(k.n, c, k.d * p.rd + a, k.h * p.r + i, k.w * p.r + j);
#pragma unroll
        for (int l = 0; l < kLanes; ++l) out.lane[l] = src[l * p.r];
      }
    }
    store_lanes(p.destination + first, out);  // dense destination: linear position = offset
  }
}

}  // namespace upsample::cuda

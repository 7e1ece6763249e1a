// Nearest-neighbour and bed-of-nails unpooling, backward: the adjoints of unpool.cuh's kernels.
//
//   nearest:      dx[n, c, i] = sum over j in [0, scale) per axis of dy[n, c, i*scale + j]
//   bed-of-nails: dx[n, c, i] = dy[n, c, i*scale]
//
// Both are output-stationary gathers (one thread per dx element, each written exactly once), so
// there are no atomics and nothing to zero first:
// - unpool_nearest_backward_kernel sums its cell in scan order (d, then h, then w) in the
//   accumulation type and rounds once (NOTE [ Accumulation types ]): a fixed order, so the
//   result is bit-identical run to run.
// - unpool_bed_of_nails_backward_kernel moves one storage word per element (StorageT: an unsigned
//   integer of the dtype's width), so it is bit-exact.
// Both are scalar (one element per thread). Consecutive threads take consecutive dx elements in
// memory order: channels-last reads of dy are then contiguous; channels-first reads are `scale`
// apart along w.
// - unpool_backward_cl_vec16_kernel: channels-last with C a multiple of the 16-byte lane count and
//   dy, dx 16-byte aligned: one thread per 16 bytes of dx channels of one position; nearest loads
//   the cell's 16-byte dy vectors and sums each lane in the same (d, h, w) order and accumulation
//   type as the scalar kernel (so the results are the same bits), bed-of-nails copies the cell's
//   first vector; one 16-byte store. The position is decoded once per vector.
// - unpool_backward_cf_vec16_kernel: channels-first with dx's W a multiple of the lane count, dy
//   and dx 16-byte aligned and the W scale kScaleW (1, 2 or 4) fixed at compile time: one thread
//   per 16 bytes of a dx row (kLanes consecutive w). For each row of the cell (d, then h) it loads
//   the kScaleW 16-byte dy vectors above its lanes at once; nearest adds dx lane l's kScaleW
//   neighbours (dy lane l*kScaleW + jw: constants) in the scalar kernel's (d, h, w) order and
//   accumulation type, so the results are the same bits; bed-of-nails keeps every kScaleW-th lane
//   of the nail row. The row is decoded once per vector; one 16-byte store.
#pragma once

#include "cuda/common/element.cuh"
#include "cuda/common/tensor.cuh"
#include "cuda/common/vector.cuh"

namespace upsample::cuda {

template <typename ElementT, typename IndexT>
struct UnpoolBackwardParams {
  const ElementT* dy;
  ElementT* dx;
  DeviceTensor<IndexT> input;   // dx
  DeviceTensor<IndexT> output;  // dy
  IndexT scale[3];
  FastDivmod<IndexT> c_vectors_div;  // dx's channel vectors per position (C / 16-byte lanes)
  FastDivmod<IndexT> w_vectors_div;  // dx's 16-byte vectors per row (W / lanes), channels-first
  int64_t work;  // dx elements
};

template <typename ElementT, typename IndexT>
__global__ void unpool_nearest_backward_kernel(UnpoolBackwardParams<ElementT, IndexT> p) {
  using Traits = ElementTraits<ElementT>;
  using AccumT = typename Traits::AccumT;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < p.work; item += step) {
    const IndexT linear = static_cast<IndexT>(item);
    const Coordinates<IndexT> i = coordinates_of(p.input, linear);
    const IndexT od = i.d * p.scale[0], oh = i.h * p.scale[1], ow = i.w * p.scale[2];
    AccumT sum = 0;
    for (IndexT jd = 0; jd < p.scale[0]; ++jd)
      for (IndexT jh = 0; jh < p.scale[1]; ++jh) {
        const ElementT* row = p.dy + p.output.offset(i.n, i.c, od + jd, oh + jh, ow);
        for (IndexT jw = 0; jw < p.scale[2]; ++jw) sum += Traits::to_accum(row[jw * p.output.stride[2]]);
      }
    p.dx[linear] = Traits::from_accum(sum);  // dense dx: the linear position is the memory offset
  }
}

template <typename StorageT, typename IndexT>
__global__ void unpool_bed_of_nails_backward_kernel(UnpoolBackwardParams<StorageT, IndexT> p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < p.work; item += step) {
    const IndexT linear = static_cast<IndexT>(item);
    const Coordinates<IndexT> i = coordinates_of(p.input, linear);
    p.dx[linear] = p.dy[p.output.offset(i.n, i.c, i.d * p.scale[0], i.h * p.scale[1], i.w * p.scale[2])];
  }
}

// The nearest gradient of one 16-byte dx vector: per lane, the sum in the accumulation type
// (NOTE [ Accumulation types ]) over the scale_d*scale_h dy rows of its cell, rounded once.
// add_row(dy_row, sum) adds one row's dy elements of each lane to sum[lane]; `cell` is the cell's
// first dy row.
template <typename ElementT, typename IndexT, typename AddRow>
__device__ __forceinline__ Vector16<ElementT> nearest_cell_sum(const UnpoolBackwardParams<ElementT, IndexT>& p,
                                                               const ElementT* cell, AddRow&& add_row) {
  using Traits = ElementTraits<ElementT>;
  constexpr int kLanes = Vector16<ElementT>::kLanes;
  typename Traits::AccumT sum[kLanes];
#pragma unroll
  for (int l = 0; l < kLanes; ++l) sum[l] = 0;
  for (IndexT jd = 0; jd < p.scale[0]; ++jd)
    for (IndexT jh = 0; jh < p.scale[1]; ++jh) add_row(cell + jd * p.output.stride[0] + jh * p.output.stride[1], sum);
  Vector16<ElementT> out;
#pragma unroll
  for (int l = 0; l < kLanes; ++l) out.lane[l] = Traits::from_accum(sum[l]);
  return out;
}

template <typename ElementT, typename IndexT, bool kBedOfNails>
__global__ void unpool_backward_cl_vec16_kernel(UnpoolBackwardParams<ElementT, IndexT> p) {
  // ElementT: the float type (nearest sums), or a storage word (bed-of-nails copies).
  using Vector = Vector16<ElementT>;
  constexpr int kLanes = Vector::kLanes;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    // Dense channels-last dx: vector v is channels [cv*kLanes, +kLanes) of position (n, d, h, w),
    // decoded by fast division (NOTE [ Fast division ]).
    IndexT rest = static_cast<IndexT>(v), n;
    const IndexT cv = p.c_vectors_div.divmod(rest, &rest);
    const IndexT iw = p.input.extent_div[2].divmod(rest, &rest);
    const IndexT ih = p.input.extent_div[1].divmod(rest, &rest);
    const IndexT id = p.input.extent_div[0].divmod(rest, &n);
    const ElementT* cell =
        p.dy + p.output.offset(n, cv * kLanes, id * p.scale[0], ih * p.scale[1], iw * p.scale[2]);
    Vector out;
    if constexpr (kBedOfNails) {
      out = load_lanes<Vector>(cell);
    } else {
      using Traits = ElementTraits<ElementT>;
      out = nearest_cell_sum(p, cell, [&](const ElementT* dy_row, typename Traits::AccumT* sum) {
        for (IndexT jw = 0; jw < p.scale[2]; ++jw) {
          const Vector in = load_lanes<Vector>(dy_row + jw * p.output.stride[2]);
#pragma unroll
          for (int l = 0; l < kLanes; ++l) sum[l] += Traits::to_accum(in.lane[l]);
        }
      });
    }
    store_lanes(p.dx + static_cast<IndexT>(v) * kLanes, out);
  }
}

template <typename ElementT, typename IndexT, bool kBedOfNails, int kScaleW>
__global__ void unpool_backward_cf_vec16_kernel(UnpoolBackwardParams<ElementT, IndexT> p) {
  // ElementT: the float type (nearest sums), or a storage word (bed-of-nails copies).
  using Vector = Vector16<ElementT>;
  constexpr int kLanes = Vector::kLanes;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    // Dense channels-first dx: vector v is w in [iv*kLanes, +kLanes) of row (n*C + c, id, ih).
    IndexT row, plane;
    const IndexT iv = p.w_vectors_div.divmod(static_cast<IndexT>(v), &row);
    const IndexT ih = p.input.extent_div[1].divmod(row, &row);
    const IndexT id = p.input.extent_div[0].divmod(row, &plane);  // plane = n*C + c
    const ElementT* cell = p.dy + plane * p.output.stride_c + id * p.scale[0] * p.output.stride[0] +
                           ih * p.scale[1] * p.output.stride[1] + iv * (kLanes * kScaleW);
    Vector out;
    if constexpr (kBedOfNails) {
      // Lane l is dy element l*kScaleW of the nail row: vectors no lane reads are never loaded.
      Vector in[kScaleW];
#pragma unroll
      for (int j = 0; j < kScaleW; ++j) in[j] = load_lanes<Vector>(cell + j * kLanes);
#pragma unroll
      for (int l = 0; l < kLanes; ++l) out.lane[l] = in[l * kScaleW / kLanes].lane[l * kScaleW % kLanes];
    } else {
      using Traits = ElementTraits<ElementT>;
      out = nearest_cell_sum(p, cell, [&](const ElementT* dy_row, typename Traits::AccumT* sum) {
        Vector in[kScaleW];
#pragma unroll
        for (int j = 0; j < kScaleW; ++j) in[j] = load_lanes<Vector>(dy_row + j * kLanes);
#pragma unroll
        for (int l = 0; l < kLanes; ++l)
#pragma unroll
          for (int jw = 0; jw < kScaleW; ++jw) {
            const int e = l * kScaleW + jw;  // dy element of the row segment, in w order
            sum[l] += Traits::to_accum(in[e / kLanes].lane[e % kLanes]);
          }
      });
    }
    store_lanes(p.dx + static_cast<IndexT>(v) * kLanes, out);
  }
}

}  // namespace upsample::cuda

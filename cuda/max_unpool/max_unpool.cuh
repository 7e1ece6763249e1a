// Max-unpooling kernels, forward and backward. Every kernel checks indices with check_index (see
// NOTE [ Device-side index errors ] in index_check.cuh) and moves storage words (bit-exact).
//
// Forward, y is zero except y[n, c, indices[n, c, p]] = x[n, c, p], latest duplicate winning:
//   max_unpool_tiled_kernel — where the pooling windows do not overlap (kernel == stride on every
//     axis, SegNet's case) they tile the output. One thread per input element reads its index,
//     checks it and writes its whole window (clipped to y; the last window on an axis also covers
//     the tail an explicit output_size adds), x where the window position is the index and 0
//     elsewhere. Every element of y is written exactly once: no memset, no atomics, one pass,
//     deterministic. An index that is valid but lies outside its own window (max-pool never writes
//     one; a caller may) cannot be honoured by its window: the thread raises the `escaped` flag
//     and the general path below, launched behind it, redoes y when (and only when) it is raised.
//   The general path (overlapping windows, or an escaped index): three kernels in the launch's
//   workspace: max_unpool_clear_kernel zeroes one 32-bit winner per output element,
//   max_unpool_elect_kernel elects with atomicMax on (input plane position + 1) the latest input in
//   scan order per output element (the documented duplicate rule, independent of thread timing),
//   max_unpool_write_kernel writes every output element from its winner or 0. Guarded by `escaped`
//   when it backs the tiled kernel (each kernel returns at once when the flag is clear).
//   max_unpool_tiled_vec16_kernel — the tiled kernel for channels-last with C a multiple of the
//     16-byte lane count and x, y 16-byte aligned: one thread per 16 bytes of channels of one input
//     position; one 16-byte load of x and the lanes' indices (all in flight before the first store),
//     then one 16-byte store per window position, each lane x or 0 by its own index.
//   max_unpool_tiled_cf_vec16_kernel — the tiled kernel for channels-first with the W stride 2 or
//     4 fixed at compile time and windows that tile W exactly: one thread per lanes/stride input
//     positions of an x row, whose windows are one 16-byte vector of each y row of their tiles;
//     one 16-byte store per y row, each lane x or 0 by the index of the input it belongs to.
// Backward: max_unpool_backward_kernel, a gather: dx[p] = dy[indices[p]] (0 for a bad index);
//   max_unpool_backward_vec16_kernel, the same 16 bytes of dx at a time (channels-last: channels of
//   one position; channels-first: positions of one plane).
#pragma once

#include <cstdint>

#include "cuda/common/pool_tile.cuh"
#include "cuda/common/tensor.cuh"
#include "cuda/common/vector.cuh"
#include "cuda/max_unpool/index_check.cuh"

namespace upsample::cuda {

// SwitchT, here and below: the switch indices' type, int64_t or int32_t.
template <typename StorageT, typename IndexT, typename SwitchT>
struct MaxUnpoolTiledParams {
  const StorageT* x;
  const SwitchT* indices;  // the input's geometry
  StorageT* y;
  DeviceTensor<IndexT> input;
  DeviceTensor<IndexT> output;
  IndexT stride[3];   // == kernel
  IndexT padding[3];
  int64_t plane;      // output D*H*W
  IndexErrorSlot* slot;
  unsigned int* escaped;
  FastDivmod<IndexT> c_vectors_div;  // C / 16-byte lanes: the channels-last vec16 kernel's decode
  FastDivmod<IndexT> w_groups_div;   // W_in / kGroup: the channels-first vec16 kernel's decode
  int64_t work;  // input elements, 16-byte input vectors (channels-last) or input groups (channels-first)
};

template <typename StorageT, typename IndexT, typename SwitchT>
__global__ void max_unpool_tiled_kernel(MaxUnpoolTiledParams<StorageT, IndexT, SwitchT> p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const IndexT out_h = p.output.extent[1], out_w = p.output.extent[2];
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < p.work; item += step) {
    const IndexT linear = static_cast<IndexT>(item);
    const Coordinates<IndexT> q = coordinates_of(p.input, linear);
    const int64_t index = p.indices[linear];
    const bool valid = check_index(index, p.plane, p.input, linear, p.slot);
    const StorageT value = p.x[linear];
    // Each tile spans its whole [begin, end): an index in the last tile's tail is this thread's too.
    const PoolTile<IndexT> td = pool_tile(q.d, p.input.extent[0], p.output.extent[0], p.stride[0], p.padding[0]);
    const PoolTile<IndexT> th = pool_tile(q.h, p.input.extent[1], out_h, p.stride[1], p.padding[1]);
    const PoolTile<IndexT> tw = pool_tile(q.w, p.input.extent[2], out_w, p.stride[2], p.padding[2]);
    bool placed = false;
    for (IndexT od = td.begin; od < td.end; ++od)
      for (IndexT oh = th.begin; oh < th.end; ++oh) {
        const int64_t row = (static_cast<int64_t>(od) * out_h + oh) * out_w;
        for (IndexT ow = tw.begin; ow < tw.end; ++ow) {
          const bool here = row + ow == index;
          placed = placed || here;
          p.y[p.output.offset(q.n, q.c, od, oh, ow)] = here ? value : StorageT(0);
        }
      }
    if (valid && !placed) atomicOr(p.escaped, 1u);
  }
}

template <typename StorageT, typename IndexT, typename SwitchT>
__global__ void max_unpool_tiled_vec16_kernel(MaxUnpoolTiledParams<StorageT, IndexT, SwitchT> p) {
  constexpr int kLanes = Vector16<StorageT>::kLanes;
  const IndexT out_h = p.output.extent[1], out_w = p.output.extent[2];
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    // Dense channels-last input: vector v is channels [cv*kLanes, +kLanes) of position (n, d, h, w).
    const IndexT first = static_cast<IndexT>(v) * kLanes;  // the linear position of lane 0
    const auto x = load_switched_group<kLanes>(p.x, p.indices, first);
    IndexT rest, n;
    const IndexT cv = p.c_vectors_div.divmod(static_cast<IndexT>(v), &rest);
    const IndexT qw = p.input.extent_div[2].divmod(rest, &rest);
    const IndexT qh = p.input.extent_div[1].divmod(rest, &rest);
    const IndexT qd = p.input.extent_div[0].divmod(rest, &n);
    unsigned valid = 0u;
#pragma unroll
    for (int l = 0; l < kLanes; ++l)
      valid |= check_index(x.index[l], p.plane, p.input, static_cast<IndexT>(first + l), p.slot) ? 1u << l : 0u;
    const PoolTile<IndexT> td = pool_tile(qd, p.input.extent[0], p.output.extent[0], p.stride[0], p.padding[0]);
    const PoolTile<IndexT> th = pool_tile(qh, p.input.extent[1], out_h, p.stride[1], p.padding[1]);
    const PoolTile<IndexT> tw = pool_tile(qw, p.input.extent[2], out_w, p.stride[2], p.padding[2]);
    unsigned placed = 0u;
    for (IndexT od = td.begin; od < td.end; ++od)
      for (IndexT oh = th.begin; oh < th.end; ++oh) {
        const int64_t row = (static_cast<int64_t>(od) * out_h + oh) * out_w;
        for (IndexT ow = tw.begin; ow < tw.end; ++ow) {
          Vector16<StorageT> out;
#pragma unroll
          for (int l = 0; l < kLanes; ++l) {
            const bool here = x.index[l] == row + ow;
            placed |= here ? 1u << l : 0u;
            out.lane[l] = here ? x.value.lane[l] : StorageT(0);
          }
          store_lanes(p.y + p.output.offset(n, cv * kLanes, od, oh, ow), out);
        }
      }
    if ((valid & ~placed) != 0u) atomicOr(p.escaped, 1u);
  }
}

// The tiled kernel for channels-first with the W stride kScaleW (2 or 4) fixed at compile time,
// windows that tile W exactly (no W padding, no W tail: W_out = W_in * kScaleW), W_out a multiple
// of the 16-byte lane count, y 16-byte aligned and x aligned to a group: one thread per kGroup =
// kLanes / kScaleW consecutive input positions of an x row, whose windows are one 16-byte vector of
// each y row of their tiles. One kGroup-word load of x and kGroup index loads (checked together),
// then one 16-byte store per y row of the tile: lane l belongs to input l / kScaleW (a constant)
// and is its x where its index names that position, else 0.
template <typename StorageT, typename IndexT, typename SwitchT, int kScaleW>
__global__ void max_unpool_tiled_cf_vec16_kernel(MaxUnpoolTiledParams<StorageT, IndexT, SwitchT> p) {
  using Vector = Vector16<StorageT>;
  constexpr int kLanes = Vector::kLanes;
  constexpr int kGroup = kLanes / kScaleW;
  static_assert(kGroup >= 1 && kGroup * kScaleW == kLanes, "kScaleW must divide the lane count");
  const IndexT out_h = p.output.extent[1], out_w = p.output.extent[2];
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    // Dense channels-first x: group v is w in [g*kGroup, +kGroup) of x row (n*C + c, qd, qh).
    const IndexT first = static_cast<IndexT>(v) * kGroup;
    const auto x = load_switched_group<kGroup>(p.x, p.indices, first);
    unsigned valid = 0u;
#pragma unroll
    for (int j = 0; j < kGroup; ++j)
      valid |= check_index(x.index[j], p.plane, p.input, static_cast<IndexT>(first + j), p.slot) ? 1u << j : 0u;
    IndexT row, plane;
    const IndexT g = p.w_groups_div.divmod(static_cast<IndexT>(v), &row);
    const IndexT qh = p.input.extent_div[1].divmod(row, &row);
    const IndexT qd = p.input.extent_div[0].divmod(row, &plane);  // plane = n*C + c
    const PoolTile<IndexT> td = pool_tile(qd, p.input.extent[0], p.output.extent[0], p.stride[0], p.padding[0]);
    const PoolTile<IndexT> th = pool_tile(qh, p.input.extent[1], out_h, p.stride[1], p.padding[1]);
    const IndexT w0 = g * kLanes;  // the group's first y w
    StorageT* const origin = p.y + plane * p.output.stride_c + w0;
    unsigned placed = 0u;
    for (IndexT od = td.begin; od < td.end; ++od)
      for (IndexT oh = th.begin; oh < th.end; ++oh) {
        const int64_t base = (static_cast<int64_t>(od) * out_h + oh) * out_w + w0;
        Vector out;
#pragma unroll
        for (int l = 0; l < kLanes; ++l) {
          const bool here = x.index[l / kScaleW] == base + l;
          placed |= here ? 1u << (l / kScaleW) : 0u;
          out.lane[l] = here ? x.value.lane[l / kScaleW] : StorageT(0);
        }
        store_lanes(origin + od * p.output.stride[0] + oh * p.output.stride[1], out);
      }
    if ((valid & ~placed) != 0u) atomicOr(p.escaped, 1u);
  }
}

template <typename IndexT, typename SwitchT>
struct MaxUnpoolElectParams {
  const SwitchT* indices;
  DeviceTensor<IndexT> input;  // indices share the input's geometry
  int64_t plane;               // D_out * H_out * W_out
  unsigned int* winners;       // one per output element, canonical (n, c, plane) order: 0 none, else position + 1
  int64_t winner_count;
  IndexErrorSlot* slot;
  const unsigned int* escaped;  // null: always run; else run only when raised
  int64_t work;
};

// Clears `count` winners; `escaped` as in MaxUnpoolElectParams.
__global__ void max_unpool_clear_kernel(unsigned int* winners, int64_t count, const unsigned int* escaped) {
  if (escaped != nullptr && *escaped == 0u) return;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += step) winners[i] = 0u;
}

template <typename IndexT, typename SwitchT>
__global__ void max_unpool_elect_kernel(MaxUnpoolElectParams<IndexT, SwitchT> p) {
  if (p.escaped != nullptr && *p.escaped == 0u) return;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.work; i += step) {
    const int64_t index = p.indices[i];
    if (!check_index(index, p.plane, p.input, static_cast<IndexT>(i), p.slot)) continue;
    const Coordinates<IndexT> q = coordinates_of(p.input, static_cast<IndexT>(i));
    const IndexT plane_position = (q.d * p.input.extent[1] + q.h) * p.input.extent[2] + q.w;
    const int64_t plane_base = (static_cast<int64_t>(q.n) * p.input.c + q.c) * p.plane;
    atomicMax(p.winners + plane_base + index, static_cast<unsigned int>(plane_position) + 1u);
  }
}

template <typename StorageT, typename IndexT>
struct MaxUnpoolWriteParams {
  const StorageT* x;
  StorageT* y;
  const unsigned int* winners;  // in canonical (n, c, plane) order
  DeviceTensor<IndexT> input;
  DeviceTensor<IndexT> output;
  const unsigned int* escaped;  // null: always run; else run only when raised
  int64_t work;
};

template <typename StorageT, typename IndexT>
__global__ void max_unpool_write_kernel(MaxUnpoolWriteParams<StorageT, IndexT> p) {
  if (p.escaped != nullptr && *p.escaped == 0u) return;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const IndexT input_hw = p.input.extent[1] * p.input.extent[2];
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < p.work; i += step) {
    const IndexT linear = static_cast<IndexT>(i);
    const Coordinates<IndexT> o = coordinates_of(p.output, linear);
    const int64_t canonical =
        ((static_cast<int64_t>(o.n) * p.output.c + o.c) * p.output.extent[0] + o.d) * p.output.extent[1] *
            p.output.extent[2] +
        static_cast<int64_t>(o.h) * p.output.extent[2] + o.w;
    const unsigned int winner = p.winners[canonical];
    StorageT value = StorageT(0);
    if (winner != 0u) {
      const IndexT position = static_cast<IndexT>(winner - 1u);
      const IndexT d = position / input_hw, h = (position / p.input.extent[2]) % p.input.extent[1],
                   w = position % p.input.extent[2];
      value = p.x[p.input.offset(o.n, o.c, d, h, w)];
    }
    p.y[linear] = value;
  }
}

template <typename StorageT, typename IndexT, typename SwitchT>
struct MaxUnpoolBackwardParams {
  const StorageT* dy;
  const SwitchT* indices;  // dx's geometry
  StorageT* dx;
  DeviceTensor<IndexT> input;   // dx and indices
  DeviceTensor<IndexT> output;  // dy
  int64_t plane;                // dy's D*H*W
  IndexErrorSlot* slot;
  // The vec16 kernel's decode (NOTE [ Fast division ]): channels-last, C / lanes and dx's D*H*W;
  // channels-first, dx's D*H*W / lanes (16-byte vectors per plane).
  FastDivmod<IndexT> c_vectors_div, plane_div;
  int64_t work;  // dx elements, or 16-byte dx vectors
};

template <typename StorageT, typename IndexT, typename SwitchT>
__global__ void max_unpool_backward_kernel(MaxUnpoolBackwardParams<StorageT, IndexT, SwitchT> p) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < p.work; item += step) {
    const IndexT linear = static_cast<IndexT>(item);
    const int64_t raw = p.indices[linear];
    StorageT value = StorageT(0);
    if (check_index(raw, p.plane, p.input, linear, p.slot)) {
      // Dense dy: plane position `index` lies index * stride_w past its (n, c) origin in either
      // layout, so the index needs no decomposition.
      const Coordinates<IndexT> q = coordinates_of(p.input, linear);
      value = p.dy[p.output.offset(q.n, q.c, 0, 0, 0) + static_cast<IndexT>(raw) * p.output.stride[2]];
    }
    p.dx[linear] = value;
  }
}

// Backward, 16 bytes of dx at a time (dx 16-byte aligned): channels-last with C a multiple of the
// lane count (a vector is 16 bytes of channels of one position: lane l gathers plane position
// index, channel c + l, i.e. index*C + c + l past the sample's origin), or channels-first with the
// plane D*H*W a multiple of the lane count (a vector is kLanes consecutive positions of one (n, c)
// plane: lane l gathers dy element index of that plane). The lanes' indices are loaded and checked
// together; dx is one 16-byte store.
template <typename StorageT, typename IndexT, typename SwitchT, bool kChannelsLast>
__global__ void max_unpool_backward_vec16_kernel(MaxUnpoolBackwardParams<StorageT, IndexT, SwitchT> p) {
  constexpr int kLanes = Vector16<StorageT>::kLanes;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t v = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; v < p.work; v += step) {
    const IndexT first = static_cast<IndexT>(v) * kLanes;
    SwitchT index[kLanes];
#pragma unroll
    for (int l = 0; l < kLanes; ++l) index[l] = p.indices[first + l];
    const StorageT* origin;  // dy of lane 0 at plane position 0
    IndexT position_stride;  // dy elements between plane positions
    if constexpr (kChannelsLast) {
      IndexT rest, n;
      const IndexT cv = p.c_vectors_div.divmod(static_cast<IndexT>(v), &rest);
      p.plane_div.divmod(rest, &n);  // rest = n * plane + position
      origin = p.dy + n * p.output.stride_n + cv * kLanes;
      position_stride = p.input.c;
    } else {
      origin = p.dy + p.plane_div.div(static_cast<IndexT>(v)) * p.output.stride_c;  // plane (n*C + c)
      position_stride = 1;
    }
    Vector16<StorageT> out;
#pragma unroll
    for (int l = 0; l < kLanes; ++l)
      out.lane[l] = check_index(index[l], p.plane, p.input, static_cast<IndexT>(first + l), p.slot)
                        ? origin[static_cast<IndexT>(index[l]) * position_stride + (kChannelsLast ? l : 0)]
                        : StorageT(0);
    store_lanes(p.dx + first, out);
  }
}

}  // namespace upsample::cuda

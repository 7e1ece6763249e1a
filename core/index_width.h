// Index-width rules: when a kernel may compute its coordinates and offsets in 32 bits.
//
// NOTE [ Index width ]
// Kernels are templated on IndexT (int32_t or int64_t), the type of every coordinate and offset
// they compute. 32-bit division and multiplication are several times cheaper on the GPU, so a
// launcher picks int32_t when, for every tensor of the problem, the product of its extents (each
// taken as at least 1) is below 2^31 — then every offset, and every coordinate product formed on
// the way, fits — and the op's own coordinates (stride, padding, dilation reach) fit as well, and
// int64_t otherwise.
// "Every coordinate product formed on the way" includes the intermediates of the index helpers:
// the op's rule bounds each value a kernel holds in IndexT (stride, padding, dilation and the
// extents themselves, not only their products) and each sum it forms from them, and the helpers
// (cuda/common/index_math.cuh, NOTE [ Index math without overflow ]) form nothing beyond a / b
// and a % b. The fuzzer found the rule that bounded only extents and reaches wanting: a dilation
// of 2^31 - 1 on a one-tap axis passed it, and ceil_div formed 1 + (2^31 - 1) in int32.
// Grid-stride loop counters are always int64_t, so `i += gridDim.x * blockDim.x` cannot wrap;
// the counter is narrowed to IndexT once it is known to be in range.
// set_force_64bit_indexing() forces the 64-bit path so tests exercise it on small tensors.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>

#include "core/problem.h"

namespace upsample::detail {

// Testing aid: force every kernel onto its 64-bit index path (true) or back to the default choice.
void set_force_64bit_indexing(bool force);
bool force_64bit_indexing();

// True when every listed tensor lets a kernel use 32-bit indices (NOTE [ Index width ]).
// Extents are taken as at least 1, so an empty tensor (n = 0) with a plane of 2^31 positions
// still gets 64-bit indices: kernels form plane-sized products even when there is no element.
inline bool use_32bit_indexing(std::initializer_list<const TensorGeometry*> tensors) {
  if (force_64bit_indexing()) return false;
  constexpr int64_t kLimit = std::numeric_limits<int32_t>::max();
  for (const TensorGeometry* t : tensors) {
    int64_t span = 1;
    for (int64_t e : {t->n, t->c, t->extent[0], t->extent[1], t->extent[2]}) {
      span *= e > 1 ? e : 1;  // validation bounds this product by int64
      if (span >= kLimit) return false;
    }
  }
  return true;
}

// The transposed convolution's coordinate rule (forward and gradients). Per axis, with
// 0 <= i < in, 0 <= k < K, 0 <= o < out, 0 <= r < stride, the kernels hold stride, dilation,
// pad_begin and the extents as IndexT values and form
//   i*stride - pad + k*dilation          (scatter, data-gradient landings, weight-gradient boxes)
//   o + pad - k*dilation, o + pad - r    (gathers: taps and stride phases)
//   out - 1 + pad - r, pad - r           (tiled gather: a phase's q range)
//   q*stride + r - pad                   (tiled gather: back to o, q <= (out - 1 + pad) / stride)
// and nothing else. With each of stride, dilation, pad_begin, out and the reach
// (in-1)*stride + (K-1)*dilation below 2^30, every one of these is a difference or a sum of two
// quantities below 2^30 (q*stride + r <= out - 1 + pad), so it stays below 2^31 in magnitude;
// and every value fits int32 (validation allows stride, dilation and padding up to 2^31, which
// int32 cannot hold).
inline bool conv_transpose_coordinates_fit_32bit(const ConvTransposeProblem& p) {
  constexpr int64_t kLimit = int64_t{1} << 30;
  for (int a = 0; a < kDims; ++a) {
    const int64_t reach = (p.input.extent[a] - 1) * p.stride[a] + (p.weight.extent[a] - 1) * p.dilation[a];
    if (reach >= kLimit || p.pad_begin[a] >= kLimit || p.output.extent[a] >= kLimit || p.stride[a] >= kLimit ||
        p.dilation[a] >= kLimit)
      return false;
  }
  return true;
}

// 32-bit indices for a transposed convolution (any direction): its tensors and its coordinates.
inline bool conv_transpose_use_32bit_indexing(const ConvTransposeProblem& p) {
  return use_32bit_indexing({&p.input, &p.weight, &p.output}) && conv_transpose_coordinates_fit_32bit(p);
}

// Max-pooling, forward and backward (cuda/max_pool/), holds kernel, stride, padding, dilation and
// the extents as IndexT and forms o*stride - padding + k*dilation, i + padding, and those plus
// stride - 1 (a ceiling division) or plus stride (a tile's end, cuda/common/pool_tile.cuh). With
// the reach (out-1)*stride + (K-1)*dilation, padding, in, stride and dilation below 2^30 each
// stays below 2^31 in magnitude.
inline bool max_pool_use_32bit_indexing(const MaxPoolProblem& p) {
  constexpr int64_t kLimit = int64_t{1} << 30;
  for (int a = 0; a < kDims; ++a) {
    const int64_t reach = (p.output.extent[a] - 1) * p.stride[a] + (p.kernel[a] - 1) * p.dilation[a];
    if (reach >= kLimit || p.padding[a] >= kLimit || p.input.extent[a] >= kLimit || p.stride[a] >= kLimit ||
        p.dilation[a] >= kLimit)
      return false;
  }
  return use_32bit_indexing({&p.input, &p.output});
}

// Max-unpooling's tiled kernels (cuda/max_unpool/) form q*stride - padding and that plus stride
// for q < in: with in*stride, padding and out below 2^30 each stays below 2^31 in magnitude.
// Max-unpool puts no bound on padding and allows stride up to 2^31, which int32 cannot even hold
// (the fuzzer found stride = padding = 2^31 on a 2-position axis).
inline bool max_unpool_use_32bit_indexing(const MaxUnpoolProblem& p) {
  constexpr int64_t kLimit = int64_t{1} << 30;
  for (int a = 0; a < kDims; ++a)
    if (p.stride[a] >= kLimit || p.input.extent[a] * p.stride[a] >= kLimit || p.padding[a] >= kLimit ||
        p.output.extent[a] >= kLimit)
      return false;
  return use_32bit_indexing({&p.input, &p.output});
}

}  // namespace upsample::detail

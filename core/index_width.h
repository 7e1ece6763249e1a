// Index-width rules: when a kernel may compute its coordinates and offsets in 32 bits.
//
// NOTE [ Index width ]
// Kernels are templated on IndexT (int32_t or int64_t), the type of every coordinate and offset
// they compute. 32-bit division and multiplication are several times cheaper on the GPU, so a
// launcher picks int32_t when, for every tensor of the problem, the product of its extents (each
// taken as at least 1) is below 2^31 — then every offset, and every coordinate product formed on
// the way, fits — and the op's own coordinates (stride, padding, dilation reach) fit as well, and
// int64_t otherwise.
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

}  // namespace upsample::detail

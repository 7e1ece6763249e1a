// Integer index math shared by the kernels: floor and ceiling division that cannot overflow.
//
// NOTE [ Index math without overflow ]
// The textbook forms (a + b - 1) / b and -((-a + b - 1) / b) form a + b - 1 and -a, which
// overflow IndexT when a is near its maximum or minimum (the fuzzer found ceil_div(1, 2^31 - 1)
// overflowing int32 on the 32-bit index path). These helpers form only a / b and a % b, which
// cannot overflow for b > 0, and correct the truncated quotient by one:
//   floor_div(a, b) = a / b - (a % b < 0)      ceil_div(a, b) = a / b + (a % b > 0)
// so their 32-bit eligibility is that of their arguments alone: a kernel may call them with any
// IndexT values it holds, and only its own sums (e.g. extent - 1 + pad - phase) need to fit,
// which the launcher's rule for the op checks (NOTE [ Index width ] in core/index_width.h).
// The divisor must be positive. These are for launch-time or per-block values: per-element
// divisions by a run-time constant use FastDivmod (NOTE [ Fast division ]).
#pragma once

#include "platform.cuh"

namespace upsample::cuda {

template <typename IndexT>
__host__ __device__ __forceinline__ IndexT floor_div(IndexT a, IndexT b) {
  const IndexT q = a / b;
  return (a % b < 0) ? q - 1 : q;
}

template <typename IndexT>
__host__ __device__ __forceinline__ IndexT ceil_div(IndexT a, IndexT b) {
  const IndexT q = a / b;
  return (a % b > 0) ? q + 1 : q;
}

}  // namespace upsample::cuda

// Division by a run-time constant with a precomputed multiplier: no integer divide in hot loops.
//
// NOTE [ Fast division ]
// The GPU has no integer divide instruction: `/` and `%` on 32-bit operands compile to a ~20
// instruction sequence, on 64-bit operands to a call of a ~70 instruction subroutine. Kernels
// that divide by the same divisor for every element (coordinate decoding, stride phases) build a
// FastDivmod on the host once, when the divisor is known, and divide on the device with one
// multiply-high, two shifts, a subtract and an add.
//
// The method is the round-up method of Granlund and Montgomery ("Division by Invariant Integers
// using Multiplication", 1994, Figure 4.1), for N-bit unsigned dividends n and a divisor
// 1 <= d < 2^N:
//   l  = ceil(log2 d)                          (0 <= l <= N)
//   m' = floor(2^N * (2^l - d) / d) + 1        (fits N bits: 2^l - d < d)
//   t  = mulhi(m', n)                          (the high N bits of the 2N-bit product)
//   q  = (t + ((n - t) >> min(l, 1))) >> max(l - 1, 0)
// which is floor(n / d) for every N-bit n. Written this way no step overflows N bits and no shift
// reaches N (d = 1: m' = 1, t = 0, q = n; d = 2^l: m' = 1, q = n >> l).
//
// Two widths:
// - FastDivmodU32: dividends and divisors below 2^32 (N = 32); mulhi is __umulhi.
// - FastDivmodU64: dividends and divisors below 2^64 (N = 64); mulhi is __umul64hi (a few
//   32-bit multiply-adds on the GPU, still far cheaper than the 64-bit divide routine). The
//   host computes m' with a 128-bit division (unsigned __int128: GCC and Clang, which are the
//   host compilers nvcc and the emulation are built with).
// Where a divisor is known only per block (a tap's box in the weight gradient), the 32-bit struct
// may be built on the device once per block (one 64-by-32-bit division); the 64-bit one is built
// on the host only, and a 64-bit index path with per-block divisors keeps `/` — it serves
// tensors beyond 2^31 elements, where the memory traffic per element dwarfs the division.
// FastDivmod<IndexT> picks the one matching a kernel's index type (NOTE [ Index width ] in
// core/index_width.h). Its dividends must be non-negative: they are converted to the unsigned
// type, so a negative one would be divided as a huge unsigned value. Kernels divide only values
// they have checked (or constructed) to be >= 0; a divisor must be >= 1.
#pragma once

#include <cstdint>
#include <type_traits>

#include "platform.cuh"

namespace upsample::cuda {

namespace fast_divmod_detail {

// GCC/Clang's 128-bit integer (`__extension__`: not ISO C++, which -Wpedantic would say).
__extension__ typedef unsigned __int128 Uint128;

// ceil(log2 d) for d >= 1.
__host__ __device__ __forceinline__ int ceil_log2(uint64_t d) {
#if defined(__CUDA_ARCH__)
  return d <= 1 ? 0 : 64 - __clzll(static_cast<long long>(d - 1));
#else
  int l = 0;
  while (l < 64 && (uint64_t{1} << l) < d) ++l;
  return l;
#endif
}

__host__ __device__ __forceinline__ uint32_t mulhi(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

__host__ __device__ __forceinline__ uint64_t mulhi(uint64_t a, uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __umul64hi(a, b);
#else
  return static_cast<uint64_t>((static_cast<Uint128>(a) * b) >> 64);
#endif
}

}  // namespace fast_divmod_detail

// floor(n / d) and n mod d for unsigned UnsignedT (uint32_t or uint64_t) and a divisor fixed at
// construction: NOTE [ Fast division ].
template <typename UnsignedT>
struct FastDivmodUnsigned {
  static_assert(std::is_same_v<UnsignedT, uint32_t> || std::is_same_v<UnsignedT, uint64_t>,
                "FastDivmodUnsigned: uint32_t or uint64_t");
  static constexpr int kBits = static_cast<int>(sizeof(UnsignedT) * 8);

  UnsignedT divisor = 1;
  UnsignedT multiplier = 1;  // m'
  uint32_t shift1 = 0;       // min(l, 1)
  uint32_t shift2 = 0;       // max(l - 1, 0)

  FastDivmodUnsigned() = default;

  // `d` must be at least 1; callers check that before (a divisor of 0 is a bug in the caller, and
  // is treated as 1 here rather than dividing by zero). Built on the host, normally: the multiplier
  // costs one 2N-bit division. Kernels whose divisor changes per block (not per element) may build
  // the 32-bit one on the device, once per block; the 64-bit one needs a 128-bit division, so it is
  // host-only, and such kernels' 64-bit index paths divide with `/` (NOTE [ Fast division ]).
  __host__ __device__ explicit FastDivmodUnsigned(UnsignedT d) {
    if (d == 0) d = 1;
    divisor = d;
    const int l = fast_divmod_detail::ceil_log2(d);
    // m' = floor(2^N * (2^l - d) / d) + 1. 2^l - d < d <= 2^N - 1, so the numerator fits 2N bits
    // and the quotient fits N bits. 2^l itself may be 2^N (when d > 2^(N-1)): computed in 2N bits.
    if constexpr (kBits == 32) {
      const uint64_t excess = (uint64_t{1} << l) - d;  // l <= 32
      multiplier = static_cast<uint32_t>(((excess << 32) / d) + 1);
    } else {
      const fast_divmod_detail::Uint128 excess = (static_cast<fast_divmod_detail::Uint128>(1) << l) - d;  // l <= 64
      multiplier = static_cast<uint64_t>(((excess << 64) / d) + 1);
    }
    shift1 = l < 1 ? static_cast<uint32_t>(l) : 1u;
    shift2 = l > 1 ? static_cast<uint32_t>(l - 1) : 0u;
  }

  __host__ __device__ __forceinline__ UnsignedT div(UnsignedT n) const {
    const UnsignedT t = fast_divmod_detail::mulhi(multiplier, n);
    return (t + ((n - t) >> shift1)) >> shift2;
  }

  __host__ __device__ __forceinline__ UnsignedT mod(UnsignedT n) const { return n - div(n) * divisor; }

  // quotient = floor(n / d), returns n - quotient * d.
  __host__ __device__ __forceinline__ UnsignedT divmod(UnsignedT n, UnsignedT* quotient) const {
    const UnsignedT q = div(n);
    *quotient = q;
    return n - q * divisor;
  }
};

using FastDivmodU32 = FastDivmodUnsigned<uint32_t>;
using FastDivmodU64 = FastDivmodUnsigned<uint64_t>;

// Division of non-negative IndexT values (int32_t or int64_t) by a positive run-time constant,
// with the width of the kernel's index type. Dividends must be >= 0 (NOTE [ Fast division ]).
template <typename IndexT>
struct FastDivmod {
  static_assert(std::is_same_v<IndexT, int32_t> || std::is_same_v<IndexT, int64_t>,
                "FastDivmod: int32_t or int64_t");
  using UnsignedT = std::conditional_t<std::is_same_v<IndexT, int32_t>, uint32_t, uint64_t>;

  FastDivmodUnsigned<UnsignedT> unsigned_divmod;

  FastDivmod() = default;
  // `d` >= 1. Host, or device for int32_t (see FastDivmodUnsigned's constructor).
  __host__ __device__ explicit FastDivmod(int64_t d) : unsigned_divmod(static_cast<UnsignedT>(d < 1 ? 1 : d)) {}

  __host__ __device__ __forceinline__ IndexT divisor() const { return static_cast<IndexT>(unsigned_divmod.divisor); }
  __host__ __device__ __forceinline__ IndexT div(IndexT n) const {
    return static_cast<IndexT>(unsigned_divmod.div(static_cast<UnsignedT>(n)));
  }
  __host__ __device__ __forceinline__ IndexT mod(IndexT n) const {
    return static_cast<IndexT>(unsigned_divmod.mod(static_cast<UnsignedT>(n)));
  }
  // quotient = n / d, returns n % d.
  __host__ __device__ __forceinline__ IndexT divmod(IndexT n, IndexT* quotient) const {
    UnsignedT q;
    const UnsignedT r = unsigned_divmod.divmod(static_cast<UnsignedT>(n), &q);
    *quotient = static_cast<IndexT>(q);
    return static_cast<IndexT>(r);
  }
};

}  // namespace upsample::cuda

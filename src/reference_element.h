// Element access for the CPU reference: every dtype is read into double and written back from
// double, with IEEE round-to-nearest-even for f16 and bf16. Written here from the formats'
// definitions so that the reference shares nothing with the CUDA side (which uses CUDA's types).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "upsample/upsample.h"

namespace upsample::reference {

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float bits_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return bits_float(sign | 0x7f800000u | (mantissa << 13));  // inf, NaN
  if (exponent == 0) {                                                               // zero, subnormal
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

inline uint16_t float_to_half(float f) {
  const uint32_t u = float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const float magnitude = std::fabs(f);
  if (std::isnan(f)) return static_cast<uint16_t>(sign | 0x7e00u);
  if (magnitude >= 65520.0f) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to inf
  if (magnitude < 6.103515625e-05f) {
    // Subnormal half: a multiple of 2^-24; nearbyint rounds half to even in the default mode.
    const float units = std::nearbyint(magnitude * 16777216.0f);
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(units));
  }
  const uint32_t mag_bits = float_bits(magnitude);
  const uint32_t exponent = (mag_bits >> 23) - 112;
  uint32_t mantissa = mag_bits & 0x7fffffu;
  uint32_t result = (exponent << 10) | (mantissa >> 13);
  const uint32_t remainder = mantissa & 0x1fffu;
  if (remainder > 0x1000u || (remainder == 0x1000u && (result & 1u))) ++result;  // carries into exponent
  return static_cast<uint16_t>(sign | result);
}

inline float bf16_to_float(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }

inline uint16_t float_to_bf16(float f) {
  const uint32_t u = float_bits(f);
  if (std::isnan(f)) return static_cast<uint16_t>((u >> 16) | 0x40u);
  const uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding) >> 16);
}

inline double load(upsDataType_t dtype, const void* base, int64_t index) {
  switch (dtype) {
    case UPS_DTYPE_F32: return static_cast<const float*>(base)[index];
    case UPS_DTYPE_F64: return static_cast<const double*>(base)[index];
    case UPS_DTYPE_F16: return half_to_float(static_cast<const uint16_t*>(base)[index]);
    case UPS_DTYPE_BF16: return bf16_to_float(static_cast<const uint16_t*>(base)[index]);
    case UPS_DTYPE_I64: return static_cast<double>(static_cast<const int64_t*>(base)[index]);
    case UPS_DTYPE_I32:
      return static_cast<const int32_t*>(base)[index];
  }
  return 0.0;
}

// Narrowing from double goes through float for f16/bf16: the double-rounding this allows is far
// below the tolerances those dtypes are compared with.
inline void store(upsDataType_t dtype, void* base, int64_t index, double value) {
  switch (dtype) {
    case UPS_DTYPE_F32: static_cast<float*>(base)[index] = static_cast<float>(value); return;
    case UPS_DTYPE_F64: static_cast<double*>(base)[index] = value; return;
    case UPS_DTYPE_F16: static_cast<uint16_t*>(base)[index] = float_to_half(static_cast<float>(value)); return;
    case UPS_DTYPE_BF16: static_cast<uint16_t*>(base)[index] = float_to_bf16(static_cast<float>(value)); return;
    case UPS_DTYPE_I64: static_cast<int64_t*>(base)[index] = static_cast<int64_t>(value); return;
    case UPS_DTYPE_I32:
      static_cast<int32_t*>(base)[index] = static_cast<int32_t>(value);
      return;
  }
}

// Switch indices (I64 or I32; validation guarantees one of them), exactly: no trip through double.
inline int64_t load_index(upsDataType_t dtype, const void* base, int64_t index) {
  return dtype == UPS_DTYPE_I32 ? int64_t{static_cast<const int32_t*>(base)[index]}
                                : static_cast<const int64_t*>(base)[index];
}

// Max-pool writes positions of the input plane, which validation has checked fit the dtype.
inline void store_index(upsDataType_t dtype, void* base, int64_t index, int64_t value) {
  if (dtype == UPS_DTYPE_I32)
    static_cast<int32_t*>(base)[index] = static_cast<int32_t>(value);
  else
    static_cast<int64_t*>(base)[index] = value;
}

// Copies one element's bytes unchanged: data-movement ops (unpooling, max-pool's values,
// max-unpool) return the input's elements bit for bit, NaN payloads and signs of zero included,
// which a round trip through double would not (it quiets signalling NaNs, and every f16 NaN
// would come back as the canonical one).
inline void copy_element(upsDataType_t dtype, const void* src, int64_t src_index, void* dst, int64_t dst_index) {
  const size_t width = dtype == UPS_DTYPE_F16 || dtype == UPS_DTYPE_BF16 ? 2 : dtype == UPS_DTYPE_F32 ? 4 : 8;
  std::memcpy(static_cast<unsigned char*>(dst) + static_cast<size_t>(dst_index) * width,
              static_cast<const unsigned char*>(src) + static_cast<size_t>(src_index) * width, width);
}

}  // namespace upsample::reference

// Element types on the device: what each dtype accumulates in and how it converts.
//
// NOTE [ Accumulation types ]
// f32 and f64 accumulate in themselves; f16 and bf16 are widened to float for every sum and
// narrowed once, with round-to-nearest-even, when the result is stored. Pure data-movement
// kernels (unpooling) do not convert at all: they move storage words of the dtype's width.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "platform.cuh"

namespace upsample::cuda {

template <typename ElementT>
struct ElementTraits;

template <>
struct ElementTraits<float> {
  using AccumT = float;
  __device__ __forceinline__ static float to_accum(float v) { return v; }
  __device__ __forceinline__ static float from_accum(float v) { return v; }
};

template <>
struct ElementTraits<double> {
  using AccumT = double;
  __device__ __forceinline__ static double to_accum(double v) { return v; }
  __device__ __forceinline__ static double from_accum(double v) { return v; }
};

template <>
struct ElementTraits<__half> {
  using AccumT = float;
  __device__ __forceinline__ static float to_accum(__half v) { return __half2float(v); }
  __device__ __forceinline__ static __half from_accum(float v) { return __float2half_rn(v); }
};

template <>
struct ElementTraits<__nv_bfloat16> {
  using AccumT = float;
  __device__ __forceinline__ static float to_accum(__nv_bfloat16 v) { return __bfloat162float(v); }
  __device__ __forceinline__ static __nv_bfloat16 from_accum(float v) { return __float2bfloat16_rn(v); }
};

// a * b + c with one rounding, in the accumulation type.
__device__ __forceinline__ float fused_multiply_add(float a, float b, float c) { return fmaf(a, b, c); }
__device__ __forceinline__ double fused_multiply_add(double a, double b, double c) { return fma(a, b, c); }

template <typename T>
struct TypeTag {
  using type = T;
};

// Runtime dtype -> compile-time element type, in one place for every launcher.
template <typename Function>
upsStatus_t dispatch_float_dtype(upsDataType_t dtype, Function&& function) {
  switch (dtype) {
    case UPS_DTYPE_F32: return function(TypeTag<float>{});
    case UPS_DTYPE_F64: return function(TypeTag<double>{});
    case UPS_DTYPE_F16: return function(TypeTag<__half>{});
    case UPS_DTYPE_BF16: return function(TypeTag<__nv_bfloat16>{});
    default: break;
  }
  return detail::fail(UPS_STATUS_INTERNAL_ERROR, "CUDA backend: dtype ", static_cast<int>(dtype),
                      " reached a floating-point kernel");
}

// Runtime switch-index dtype (I64 or I32, as validation allows) -> the index kernels' SwitchT.
template <typename Function>
upsStatus_t dispatch_switch_dtype(upsDataType_t dtype, Function&& function) {
  switch (dtype) {
    case UPS_DTYPE_I64:
      return function(TypeTag<int64_t>{});
    case UPS_DTYPE_I32:
      return function(TypeTag<int32_t>{});
    default:
      break;
  }
  return detail::fail(UPS_STATUS_INTERNAL_ERROR, "CUDA backend: dtype ", static_cast<int>(dtype),
                      " reached a switch-index kernel");
}

}  // namespace upsample::cuda

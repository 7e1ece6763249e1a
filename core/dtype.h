// Facts about dtypes and layouts that every layer shares: element sizes and names for messages.
// The one table of element sizes (validation, pointer checks and launchers all read it here).
#pragma once

#include <cstdint>

#include "upsample/upsample.h"

namespace upsample::detail {

// Bytes per element; 0 for a value outside the enum (validation reads enums as bits first).
constexpr int64_t dtype_size(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F32: return 4;
    case UPS_DTYPE_F64: return 8;
    case UPS_DTYPE_F16: return 2;
    case UPS_DTYPE_BF16: return 2;
    case UPS_DTYPE_I64: return 8;
    case UPS_DTYPE_I32:
      return 4;
  }
  return 0;
}

constexpr const char* dtype_name(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F32: return "f32";
    case UPS_DTYPE_F64: return "f64";
    case UPS_DTYPE_F16: return "f16";
    case UPS_DTYPE_BF16: return "bf16";
    case UPS_DTYPE_I64: return "i64";
    case UPS_DTYPE_I32:
      return "i32";
  }
  return "unknown dtype";
}

constexpr bool is_float_dtype(upsDataType_t dtype) {
  return dtype == UPS_DTYPE_F32 || dtype == UPS_DTYPE_F64 || dtype == UPS_DTYPE_F16 || dtype == UPS_DTYPE_BF16;
}

// The dtypes of max-pool switch indices.
constexpr bool is_index_dtype(upsDataType_t dtype) { return dtype == UPS_DTYPE_I64 || dtype == UPS_DTYPE_I32; }

constexpr const char* layout_name(upsLayout_t layout) {
  return layout == UPS_LAYOUT_CHANNELS_LAST ? "channels-last" : "channels-first";
}

}  // namespace upsample::detail

#include "core/status.h"

namespace upsample::detail {
namespace {
thread_local std::string t_last_error;
}  // namespace

void set_last_error(upsStatus_t status, std::string message) {
  t_last_error = std::string(upsGetStatusName(status)) + ": " + std::move(message);
}

void clear_last_error() { t_last_error.clear(); }

const char* last_error_message() { return t_last_error.c_str(); }

}  // namespace upsample::detail

extern "C" {

const char* upsGetStatusName(upsStatus_t status) {
  // Switched on the raw value: a C caller may pass any int (see raw_enum).
  switch (upsample::detail::raw_enum(status)) {
    case UPS_STATUS_SUCCESS: return "UPS_STATUS_SUCCESS";
    case UPS_STATUS_INVALID_HANDLE: return "UPS_STATUS_INVALID_HANDLE";
    case UPS_STATUS_NULL_POINTER: return "UPS_STATUS_NULL_POINTER";
    case UPS_STATUS_BAD_EXTENT: return "UPS_STATUS_BAD_EXTENT";
    case UPS_STATUS_SHAPE_MISMATCH: return "UPS_STATUS_SHAPE_MISMATCH";
    case UPS_STATUS_BAD_PARAMETER: return "UPS_STATUS_BAD_PARAMETER";
    case UPS_STATUS_BAD_OUTPUT_PADDING: return "UPS_STATUS_BAD_OUTPUT_PADDING";
    case UPS_STATUS_BAD_GROUPS: return "UPS_STATUS_BAD_GROUPS";
    case UPS_STATUS_OVERFLOW: return "UPS_STATUS_OVERFLOW";
    case UPS_STATUS_NOT_SUPPORTED: return "UPS_STATUS_NOT_SUPPORTED";
    case UPS_STATUS_WRONG_BACKEND_MEMORY: return "UPS_STATUS_WRONG_BACKEND_MEMORY";
    case UPS_STATUS_MISALIGNED: return "UPS_STATUS_MISALIGNED";
    case UPS_STATUS_INDEX_OUT_OF_RANGE: return "UPS_STATUS_INDEX_OUT_OF_RANGE";
    case UPS_STATUS_WORKSPACE_TOO_SMALL: return "UPS_STATUS_WORKSPACE_TOO_SMALL";
    case UPS_STATUS_ALIASING: return "UPS_STATUS_ALIASING";
    case UPS_STATUS_BACKEND_UNAVAILABLE: return "UPS_STATUS_BACKEND_UNAVAILABLE";
    case UPS_STATUS_CUDA_ERROR: return "UPS_STATUS_CUDA_ERROR";
    case UPS_STATUS_ALLOC_FAILED: return "UPS_STATUS_ALLOC_FAILED";
    case UPS_STATUS_INTERNAL_ERROR: return "UPS_STATUS_INTERNAL_ERROR";
    case UPS_STATUS_GRADIENT_SHAPE_MISMATCH: return "UPS_STATUS_GRADIENT_SHAPE_MISMATCH";
    case UPS_STATUS_STREAM_CAPTURING: return "UPS_STATUS_STREAM_CAPTURING";
    case UPS_STATUS_NOT_READY: return "UPS_STATUS_NOT_READY";
  }
  return "UPS_STATUS_UNKNOWN";
}

const char* upsGetLastErrorString(void) { return upsample::detail::last_error_message(); }

int upsGetVersion(void) { return UPS_VERSION_MAJOR * 10000 + UPS_VERSION_MINOR * 100 + UPS_VERSION_PATCH; }

}  // extern "C"

// The C API's tensor-descriptor functions.
#include <cstring>

#include "core/status.h"
#include "src/descriptor.h"
#include "src/entry.h"
#include "src/validate_common.h"

using namespace upsample::detail;  // NOLINT: this file is the C API's implementation

extern "C" {

// ---------------------------------------------------------------------------------------------
// Tensor descriptors
// ---------------------------------------------------------------------------------------------
upsStatus_t upsTensorDescInitSized(upsTensorDesc_t* desc, size_t struct_size, upsDataType_t dtype, upsLayout_t layout,
                                   int spatial_dims, int64_t n, int64_t c, const int64_t* spatial) {
  clear_last_error();
  upsTensorDesc_t d;
  UPS_RETURN_IF_ERROR(begin_init(desc, struct_size, &d));
  if (spatial == nullptr) return fail(UPS_STATUS_NULL_POINTER, "spatial: extents array is null");
  // Copied as bits: make_geometry validates them (see raw_enum).
  std::memcpy(&d.dtype, &dtype, sizeof dtype);
  std::memcpy(&d.layout, &layout, sizeof layout);
  d.spatial_dims = spatial_dims;
  d.n = n;
  d.c = c;
  if (spatial_dims >= 1 && spatial_dims <= UPS_MAX_SPATIAL_DIMS)
    for (int i = 0; i < spatial_dims; ++i) d.spatial[i] = spatial[i];
  TensorGeometry g;
  UPS_RETURN_IF_ERROR(make_geometry(&d, "desc", &g));
  write_desc(d, desc);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsTensorDescElementCount(const upsTensorDesc_t* desc, int64_t* elements) {
  clear_last_error();
  if (elements == nullptr) return fail(UPS_STATUS_NULL_POINTER, "elements: output pointer is null");
  TensorGeometry g;
  UPS_RETURN_IF_ERROR(make_geometry(desc, "desc", &g));
  *elements = g.elements();
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsTensorDescByteSize(const upsTensorDesc_t* desc, int64_t* bytes) {
  clear_last_error();
  if (bytes == nullptr) return fail(UPS_STATUS_NULL_POINTER, "bytes: output pointer is null");
  TensorGeometry g;
  UPS_RETURN_IF_ERROR(make_geometry(desc, "desc", &g));
  *bytes = byte_size(g);
  return UPS_STATUS_SUCCESS;
}

}  // extern "C"

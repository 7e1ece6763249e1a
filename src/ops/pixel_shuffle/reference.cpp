// Reference pixel shuffle, from the definition (upsample.h): spatial element (n, c, sd, sh, sw)
// is packed element (n, ((c*rd + sd%rd)*r + sh%r)*r + sw%r, sd/rd, sh/r, sw/r), rd = r in 3-D and
// 1 in 2-D. Elements are copied bit for bit.
#include "core/status.h"
#include "src/ops/pixel_shuffle/pixel_shuffle.h"
#include "src/reference_element.h"

namespace upsample::reference {

upsStatus_t pixel_shuffle(const detail::PixelShuffleProblem& p, const void* source, void* destination) {
  const detail::TensorGeometry& s = p.spatial;
  const detail::TensorGeometry& k = p.packed;
  const int64_t r = p.factor;
  const int64_t rd = p.spatial_dims == 3 ? r : 1;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t sd = 0; sd < s.extent[0]; ++sd)
        for (int64_t sh = 0; sh < s.extent[1]; ++sh)
          for (int64_t sw = 0; sw < s.extent[2]; ++sw) {
            const int64_t pc = ((c * rd + sd % rd) * r + sh % r) * r + sw % r;
            const int64_t spatial_offset = s.offset(n, c, sd, sh, sw);
            const int64_t packed_offset = k.offset(n, pc, sd / rd, sh / r, sw / r);
            if (p.to_spatial)
              copy_element(s.dtype, source, packed_offset, destination, spatial_offset);
            else
              copy_element(s.dtype, source, spatial_offset, destination, packed_offset);
          }
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::reference

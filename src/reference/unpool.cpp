// Reference nearest-neighbour and bed-of-nails unpooling, from the definitions:
//   nearest:      y[n, c, o] = x[n, c, floor(o / scale)]
//   bed-of-nails: y[n, c, o] = x[n, c, o / scale] where o is a multiple of scale on every axis, else 0
#include "element.h"
#include "reference.h"

namespace upsample::reference {

upsStatus_t unpool_forward(const detail::UnpoolProblem& p, const void* x, void* y) {
  const detail::TensorGeometry& in = p.input;
  const detail::TensorGeometry& out = p.output;
  for (int64_t n = 0; n < out.n; ++n)
    for (int64_t c = 0; c < out.c; ++c)
      for (int64_t od = 0; od < out.extent[0]; ++od)
        for (int64_t oh = 0; oh < out.extent[1]; ++oh)
          for (int64_t ow = 0; ow < out.extent[2]; ++ow) {
            const bool on_nail = od % p.scale[0] == 0 && oh % p.scale[1] == 0 && ow % p.scale[2] == 0;
            const int64_t o = out.offset(n, c, od, oh, ow);
            if (p.mode == UPS_UNPOOL_NEAREST || on_nail)
              copy_element(in.dtype, x, in.offset(n, c, od / p.scale[0], oh / p.scale[1], ow / p.scale[2]), y, o);
            else
              store(out.dtype, y, o, 0.0);
          }
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::reference

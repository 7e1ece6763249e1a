// Reference nearest-neighbour and bed-of-nails unpooling, from the definitions:
//   nearest:      y[n, c, o] = x[n, c, floor(o / scale)]
//   bed-of-nails: y[n, c, o] = x[n, c, o / scale] where o is a multiple of scale on every axis, else 0
//
// Backward:
// Reference unpooling backward, from the definitions (the adjoints of unpool.cpp's ops):
//   nearest:      dx[n, c, i] = sum over the cell j in [0, scale) per axis of dy[n, c, i*scale + j]
//   bed-of-nails: dx[n, c, i] = dy[n, c, i*scale]
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <vector>

#include "core/status.h"
#include "src/reference_element.h"
#include "src/ops/unpool/unpool.h"

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


upsStatus_t unpool_backward(const detail::UnpoolProblem& p, const void* dy, void* dx) {
  const detail::TensorGeometry& in = p.input;    // dx
  const detail::TensorGeometry& out = p.output;  // dy
  const bool nearest = p.mode == UPS_UNPOOL_NEAREST;
  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t c = 0; c < in.c; ++c)
      for (int64_t id = 0; id < in.extent[0]; ++id)
        for (int64_t ih = 0; ih < in.extent[1]; ++ih)
          for (int64_t iw = 0; iw < in.extent[2]; ++iw) {
            double sum = 0.0;
            // Bed-of-nails reads the cell's first position only; nearest, the whole cell.
            const int64_t cell_d = nearest ? p.scale[0] : 1, cell_h = nearest ? p.scale[1] : 1,
                          cell_w = nearest ? p.scale[2] : 1;
            for (int64_t jd = 0; jd < cell_d; ++jd)
              for (int64_t jh = 0; jh < cell_h; ++jh)
                for (int64_t jw = 0; jw < cell_w; ++jw)
                  sum += load(out.dtype, dy,
                              out.offset(n, c, id * p.scale[0] + jd, ih * p.scale[1] + jh, iw * p.scale[2] + jw));
            store(in.dtype, dx, in.offset(n, c, id, ih, iw), sum);
          }
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::reference

// Reference max-unpooling, forward and backward, from PyTorch's definitions (see upsample.h):
//   forward:  y is zero except y[n, c, indices[n, c, p]] = x[n, c, p] (the latest duplicate wins)
//   backward: dx[n, c, p] = dy[n, c, indices[n, c, p]] (indices checked first, as the forward's)
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <vector>

#include "core/status.h"
#include "src/reference_element.h"
#include "src/ops/max_unpool/max_unpool.h"

namespace upsample::reference {
upsStatus_t max_unpool_forward(const detail::MaxUnpoolProblem& p, const void* x, const void* indices, void* y) {
  const detail::TensorGeometry& in = p.input;
  const detail::TensorGeometry& out = p.output;
  const int64_t plane = out.plane();
  // Every index is checked before anything is written.
  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t c = 0; c < in.c; ++c)
      for (int64_t d = 0; d < in.extent[0]; ++d)
        for (int64_t h = 0; h < in.extent[1]; ++h)
          for (int64_t w = 0; w < in.extent[2]; ++w) {
            const int64_t index = load_index(p.indices.dtype, indices, p.indices.offset(n, c, d, h, w));
            if (index < 0 || index >= plane)
              return detail::fail(UPS_STATUS_INDEX_OUT_OF_RANGE, "indices[n=", n, ", c=", c, ", d=", d, ", h=", h,
                                  ", w=", w, "] = ", index, " is outside the output plane [0, ", plane,
                                  ") (first offending position in (n, c, d, h, w) order); nothing was written");
          }
  for (int64_t n = 0; n < out.n; ++n)
    for (int64_t c = 0; c < out.c; ++c)
      for (int64_t d = 0; d < out.extent[0]; ++d)
        for (int64_t h = 0; h < out.extent[1]; ++h)
          for (int64_t w = 0; w < out.extent[2]; ++w) store(out.dtype, y, out.offset(n, c, d, h, w), 0.0);
  // Scan order: a later input with the same index overwrites an earlier one (the documented rule).
  const int64_t out_h = out.extent[1], out_w = out.extent[2];
  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t c = 0; c < in.c; ++c)
      for (int64_t d = 0; d < in.extent[0]; ++d)
        for (int64_t h = 0; h < in.extent[1]; ++h)
          for (int64_t w = 0; w < in.extent[2]; ++w) {
            const int64_t index = load_index(p.indices.dtype, indices, p.indices.offset(n, c, d, h, w));
            const int64_t od = index / (out_h * out_w), oh = (index / out_w) % out_h, ow = index % out_w;
            copy_element(in.dtype, x, in.offset(n, c, d, h, w), y, out.offset(n, c, od, oh, ow));
          }
  return UPS_STATUS_SUCCESS;
}

upsStatus_t max_unpool_backward(const detail::MaxUnpoolProblem& p, const void* dy, const void* indices, void* dx) {
  const detail::TensorGeometry& in = p.input;    // dx and indices
  const detail::TensorGeometry& out = p.output;  // dy
  const int64_t plane = out.plane();
  // Every index is checked before anything is written (the forward's rule and words).
  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t c = 0; c < in.c; ++c)
      for (int64_t d = 0; d < in.extent[0]; ++d)
        for (int64_t h = 0; h < in.extent[1]; ++h)
          for (int64_t w = 0; w < in.extent[2]; ++w) {
            const int64_t index = load_index(p.indices.dtype, indices, p.indices.offset(n, c, d, h, w));
            if (index < 0 || index >= plane)
              return detail::fail(UPS_STATUS_INDEX_OUT_OF_RANGE, "indices[n=", n, ", c=", c, ", d=", d, ", h=", h,
                                  ", w=", w, "] = ", index, " is outside the output plane [0, ", plane,
                                  ") (first offending position in (n, c, d, h, w) order); nothing was written");
          }
  const int64_t out_h = out.extent[1], out_w = out.extent[2];
  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t c = 0; c < in.c; ++c)
      for (int64_t d = 0; d < in.extent[0]; ++d)
        for (int64_t h = 0; h < in.extent[1]; ++h)
          for (int64_t w = 0; w < in.extent[2]; ++w) {
            const int64_t index = load_index(p.indices.dtype, indices, p.indices.offset(n, c, d, h, w));
            const int64_t od = index / (out_h * out_w), oh = (index / out_w) % out_h, ow = index % out_w;
            store(in.dtype, dx, in.offset(n, c, d, h, w), load(out.dtype, dy, out.offset(n, c, od, oh, ow)));
          }
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::reference

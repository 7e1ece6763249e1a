// Reference max-pooling with indices and max-unpooling, from PyTorch's definitions (see upsample.h).
#include <algorithm>
#include <cmath>
#include <limits>

#include "../status.h"
#include "element.h"
#include "reference.h"

namespace upsample::reference {

upsStatus_t max_pool_forward(const detail::MaxPoolProblem& p, const void* x, void* y, int64_t* indices) {
  const detail::TensorGeometry& in = p.input;
  const detail::TensorGeometry& out = p.output;
  const int64_t in_h = in.extent[1], in_w = in.extent[2];
  for (int64_t n = 0; n < out.n; ++n)
    for (int64_t c = 0; c < out.c; ++c)
      for (int64_t od = 0; od < out.extent[0]; ++od)
        for (int64_t oh = 0; oh < out.extent[1]; ++oh)
          for (int64_t ow = 0; ow < out.extent[2]; ++ow) {
            const int64_t o[3] = {od, oh, ow};
            double best = -std::numeric_limits<double>::infinity();
            int64_t best_index = -1, best_offset = -1;
            // Taps that land in the input, per axis: padding never wins, and a window may be far
            // wider than the input (its kernel extent is a parameter, not backed by memory).
            int64_t k_begin[3], k_end[3];
            for (int a = 0; a < 3; ++a) {
              const int64_t first = o[a] * p.stride[a] - p.padding[a];
              k_begin[a] = first >= 0 ? 0 : (-first + p.dilation[a] - 1) / p.dilation[a];
              k_end[a] = first >= in.extent[a] ? 0 : std::min(p.kernel[a], (in.extent[a] - 1 - first) / p.dilation[a] + 1);
            }
            int64_t i[3];
            for (int64_t kd = k_begin[0]; kd < k_end[0]; ++kd)
              for (int64_t kh = k_begin[1]; kh < k_end[1]; ++kh)
                for (int64_t kw = k_begin[2]; kw < k_end[2]; ++kw) {
                  const int64_t k[3] = {kd, kh, kw};
                  bool inside = true;
                  for (int a = 0; a < 3; ++a) {
                    i[a] = o[a] * p.stride[a] - p.padding[a] + k[a] * p.dilation[a];
                    inside = inside && i[a] >= 0 && i[a] < in.extent[a];
                  }
                  if (!inside) continue;
                  const int64_t offset = in.offset(n, c, i[0], i[1], i[2]);
                  const double value = load(in.dtype, x, offset);
                  const int64_t flat = (i[0] * in_h + i[1]) * in_w + i[2];
                  // PyTorch's rule: strictly greater wins (first of equals), and any NaN wins.
                  // A window of -inf answers with its first in-bounds position.
                  if (best_index < 0 || value > best || std::isnan(value)) {
                    best = value;
                    best_index = flat;
                    best_offset = offset;
                  }
                }
            // Validation guarantees every window an in-bounds position; its element is copied as is.
            copy_element(in.dtype, x, best_offset, y, out.offset(n, c, od, oh, ow));
            indices[p.indices.offset(n, c, od, oh, ow)] = best_index;
          }
  return UPS_STATUS_SUCCESS;
}

upsStatus_t max_unpool_forward(const detail::MaxUnpoolProblem& p, const void* x, const int64_t* indices, void* y) {
  const detail::TensorGeometry& in = p.input;
  const detail::TensorGeometry& out = p.output;
  const int64_t plane = out.plane();
  // Every index is checked before anything is written.
  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t c = 0; c < in.c; ++c)
      for (int64_t d = 0; d < in.extent[0]; ++d)
        for (int64_t h = 0; h < in.extent[1]; ++h)
          for (int64_t w = 0; w < in.extent[2]; ++w) {
            const int64_t index = indices[p.indices.offset(n, c, d, h, w)];
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
            const int64_t index = indices[p.indices.offset(n, c, d, h, w)];
            const int64_t od = index / (out_h * out_w), oh = (index / out_w) % out_h, ow = index % out_w;
            copy_element(in.dtype, x, in.offset(n, c, d, h, w), y, out.offset(n, c, od, oh, ow));
          }
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::reference

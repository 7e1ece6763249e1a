// Reference max-pooling with indices, forward and backward, from PyTorch's definitions (see upsample.h):
//   backward: dx[n, c, i] = sum of dy[n, c, p] over pooled positions p whose window contains i
//             and whose switch indices[n, c, p] names i
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <vector>

#include "core/status.h"
#include "src/reference_element.h"
#include "src/ops/max_pool/max_pool.h"

namespace upsample::reference {

upsStatus_t max_pool_forward(const detail::MaxPoolProblem& p, const void* x, void* y, void* indices) {
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
            store_index(p.indices.dtype, indices, p.indices.offset(n, c, od, oh, ow), best_index);
          }
  return UPS_STATUS_SUCCESS;
}

upsStatus_t max_pool_backward(const detail::MaxPoolProblem& p, const void* dy, const void* indices, void* dx) {
  const detail::TensorGeometry& in = p.input;    // dx
  const detail::TensorGeometry& out = p.output;  // dy and indices
  std::vector<double> accumulator;
  try {
    accumulator.assign(static_cast<size_t>(in.elements()), 0.0);
  } catch (const std::bad_alloc&) {
    return detail::fail(UPS_STATUS_ALLOC_FAILED, "reference: cannot allocate a double accumulator of ", in.elements(),
                        " elements");
  }
  const int64_t plane = in.plane();
  for (int64_t n = 0; n < out.n; ++n)
    for (int64_t c = 0; c < out.c; ++c)
      for (int64_t od = 0; od < out.extent[0]; ++od)
        for (int64_t oh = 0; oh < out.extent[1]; ++oh)
          for (int64_t ow = 0; ow < out.extent[2]; ++ow) {
            const int64_t index = load_index(p.indices.dtype, indices, p.indices.offset(n, c, od, oh, ow));
            if (index < 0 || index >= plane) continue;  // names no input position: contributes nothing
            const int64_t i[3] = {index / (in.extent[1] * in.extent[2]), (index / in.extent[2]) % in.extent[1],
                                  index % in.extent[2]};
            const int64_t o[3] = {od, oh, ow};
            // Does the window of o contain i? i = o*stride - padding + k*dilation, 0 <= k < kernel.
            bool in_window = true;
            for (int a = 0; a < 3; ++a) {
              const int64_t t = i[a] - (o[a] * p.stride[a] - p.padding[a]);
              in_window = in_window && t >= 0 && t % p.dilation[a] == 0 && t / p.dilation[a] < p.kernel[a];
            }
            if (!in_window) continue;
            accumulator[static_cast<size_t>((n * in.c + c) * plane + index)] +=
                load(out.dtype, dy, out.offset(n, c, od, oh, ow));
          }
  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t c = 0; c < in.c; ++c)
      for (int64_t d = 0; d < in.extent[0]; ++d)
        for (int64_t h = 0; h < in.extent[1]; ++h)
          for (int64_t w = 0; w < in.extent[2]; ++w)
            store(in.dtype, dx, in.offset(n, c, d, h, w),
                  accumulator[static_cast<size_t>(((n * in.c + c) * in.extent[0] + d) * in.extent[1] * in.extent[2] +
                                                  h * in.extent[2] + w)]);
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::reference

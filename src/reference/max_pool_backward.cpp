// Reference max-pooling and max-unpooling backward, from the definitions in upsample.h:
//   max-pool:   dx[n, c, i] = sum of dy[n, c, p] over pooled positions p whose window contains i
//               and whose switch indices[n, c, p] names i
//   max-unpool: dx[n, c, p] = dy[n, c, indices[n, c, p]] (indices checked first, as the forward's)
#include <new>
#include <vector>

#include "../status.h"
#include "element.h"
#include "reference.h"

namespace upsample::reference {

upsStatus_t max_pool_backward(const detail::MaxPoolProblem& p, const void* dy, const int64_t* indices, void* dx) {
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
            const int64_t index = indices[p.indices.offset(n, c, od, oh, ow)];
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

upsStatus_t max_unpool_backward(const detail::MaxUnpoolProblem& p, const void* dy, const int64_t* indices, void* dx) {
  const detail::TensorGeometry& in = p.input;    // dx and indices
  const detail::TensorGeometry& out = p.output;  // dy
  const int64_t plane = out.plane();
  // Every index is checked before anything is written (the forward's rule and words).
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
  const int64_t out_h = out.extent[1], out_w = out.extent[2];
  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t c = 0; c < in.c; ++c)
      for (int64_t d = 0; d < in.extent[0]; ++d)
        for (int64_t h = 0; h < in.extent[1]; ++h)
          for (int64_t w = 0; w < in.extent[2]; ++w) {
            const int64_t index = indices[p.indices.offset(n, c, d, h, w)];
            const int64_t od = index / (out_h * out_w), oh = (index / out_w) % out_h, ow = index % out_w;
            store(in.dtype, dx, in.offset(n, c, d, h, w), load(out.dtype, dy, out.offset(n, c, od, oh, ow)));
          }
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::reference

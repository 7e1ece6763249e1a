// Reference transposed convolution: the scatter definition. Each input value adds a copy of its
// kernel slice, scaled by the value, into the output; overlapping copies sum. Accumulates in
// double, then adds the bias and rounds once to the output dtype.
#include <new>
#include <vector>

#include "../status.h"
#include "element.h"
#include "reference.h"

namespace upsample::reference {

upsStatus_t conv_transpose_forward(const detail::ConvTransposeProblem& p, const void* x, const void* w,
                                   const void* bias, void* y) {
  const detail::TensorGeometry& in = p.input;
  const detail::TensorGeometry& wt = p.weight;
  const detail::TensorGeometry& out = p.output;
  const int64_t cin_per_group = p.in_channels_per_group();
  const int64_t cout_per_group = p.out_channels_per_group();

  std::vector<double> accumulator;
  try {
    accumulator.assign(static_cast<size_t>(out.elements()), 0.0);
  } catch (const std::bad_alloc&) {
    return detail::fail(UPS_STATUS_ALLOC_FAILED, "reference: cannot allocate a double accumulator of ",
                        out.elements(), " elements");
  }
  // Accumulator index in canonical NCDHW order.
  auto acc_index = [&](int64_t n, int64_t c, int64_t d, int64_t h, int64_t w_) {
    return (((n * out.c + c) * out.extent[0] + d) * out.extent[1] + h) * out.extent[2] + w_;
  };

  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t ci = 0; ci < in.c; ++ci) {
      const int64_t group = ci / cin_per_group;
      for (int64_t id = 0; id < in.extent[0]; ++id)
        for (int64_t ih = 0; ih < in.extent[1]; ++ih)
          for (int64_t iw = 0; iw < in.extent[2]; ++iw) {
            const double value = load(in.dtype, x, in.offset(n, ci, id, ih, iw));
            for (int64_t co = 0; co < cout_per_group; ++co)
              for (int64_t kd = 0; kd < wt.extent[0]; ++kd) {
                const int64_t od = id * p.stride[0] - p.pad_begin[0] + kd * p.dilation[0];
                if (od < 0 || od >= out.extent[0]) continue;
                for (int64_t kh = 0; kh < wt.extent[1]; ++kh) {
                  const int64_t oh = ih * p.stride[1] - p.pad_begin[1] + kh * p.dilation[1];
                  if (oh < 0 || oh >= out.extent[1]) continue;
                  for (int64_t kw = 0; kw < wt.extent[2]; ++kw) {
                    const int64_t ow = iw * p.stride[2] - p.pad_begin[2] + kw * p.dilation[2];
                    if (ow < 0 || ow >= out.extent[2]) continue;
                    const double weight = load(wt.dtype, w, wt.offset(ci, co, kd, kh, kw));
                    accumulator[acc_index(n, group * cout_per_group + co, od, oh, ow)] += value * weight;
                  }
                }
              }
          }
    }

  for (int64_t n = 0; n < out.n; ++n)
    for (int64_t c = 0; c < out.c; ++c) {
      const double b = p.has_bias ? load(out.dtype, bias, c) : 0.0;
      for (int64_t d = 0; d < out.extent[0]; ++d)
        for (int64_t h = 0; h < out.extent[1]; ++h)
          for (int64_t w_ = 0; w_ < out.extent[2]; ++w_)
            store(out.dtype, y, out.offset(n, c, d, h, w_), accumulator[acc_index(n, c, d, h, w_)] + b);
    }
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::reference

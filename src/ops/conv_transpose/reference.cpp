// Reference transposed convolution: the scatter definition. Each input value adds a copy of its
// kernel slice, scaled by the value, into the output; overlapping copies sum. Accumulates in
// double, then adds the bias and rounds once to the output dtype.
//
// Reference transposed-convolution backward, from the definitions in upsample.h (double
// accumulation, one rounding to the output dtype):
//   data:   dx[n, ci, i]  = sum over co in ci's group g, k with o = i*stride - pad_begin + k*dilation
//                           inside dy of dy[n, g*Cog + co, o] * w[ci, co, k]
//   weight: dw[ci, co, k] = sum over n, i with that o inside dy of x[n, ci, i] * dy[n, g*Cog + co, o]
//   bias:   db[c]         = sum over n, o of dy[n, c, o]
#include <algorithm>
#include <cmath>
#include <limits>
#include <new>
#include <vector>

#include "core/status.h"
#include "src/reference_element.h"
#include "src/ops/conv_transpose/conv_transpose.h"

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

namespace {

// The output position tap k of input position i lands on, per axis; false when outside.
bool landing(const detail::ConvTransposeProblem& p, const int64_t i[3], const int64_t k[3], int64_t o[3]) {
  for (int a = 0; a < 3; ++a) {
    o[a] = i[a] * p.stride[a] - p.pad_begin[a] + k[a] * p.dilation[a];
    if (o[a] < 0 || o[a] >= p.output.extent[a]) return false;
  }
  return true;
}

}  // namespace

upsStatus_t conv_transpose_backward_data(const detail::ConvTransposeProblem& p, const void* dy, const void* w,
                                         void* dx) {
  const detail::TensorGeometry& in = p.input;  // dx
  const detail::TensorGeometry& wt = p.weight;
  const detail::TensorGeometry& out = p.output;  // dy
  const int64_t cin_per_group = p.in_channels_per_group(), cout_per_group = p.out_channels_per_group();
  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t ci = 0; ci < in.c; ++ci) {
      const int64_t group = ci / cin_per_group;
      for (int64_t id = 0; id < in.extent[0]; ++id)
        for (int64_t ih = 0; ih < in.extent[1]; ++ih)
          for (int64_t iw = 0; iw < in.extent[2]; ++iw) {
            const int64_t i[3] = {id, ih, iw};
            double sum = 0.0;
            for (int64_t co = 0; co < cout_per_group; ++co)
              for (int64_t kd = 0; kd < wt.extent[0]; ++kd)
                for (int64_t kh = 0; kh < wt.extent[1]; ++kh)
                  for (int64_t kw = 0; kw < wt.extent[2]; ++kw) {
                    const int64_t k[3] = {kd, kh, kw};
                    int64_t o[3];
                    if (!landing(p, i, k, o)) continue;
                    sum += load(out.dtype, dy, out.offset(n, group * cout_per_group + co, o[0], o[1], o[2])) *
                           load(wt.dtype, w, wt.offset(ci, co, kd, kh, kw));
                  }
            store(in.dtype, dx, in.offset(n, ci, id, ih, iw), sum);
          }
    }
  return UPS_STATUS_SUCCESS;
}

upsStatus_t conv_transpose_backward_weight(const detail::ConvTransposeProblem& p, const void* x, const void* dy,
                                           void* dw) {
  const detail::TensorGeometry& in = p.input;
  const detail::TensorGeometry& wt = p.weight;  // dw
  const detail::TensorGeometry& out = p.output;  // dy
  const int64_t cin_per_group = p.in_channels_per_group(), cout_per_group = p.out_channels_per_group();
  std::vector<double> accumulator;
  try {
    accumulator.assign(static_cast<size_t>(wt.elements()), 0.0);
  } catch (const std::bad_alloc&) {
    return detail::fail(UPS_STATUS_ALLOC_FAILED, "reference: cannot allocate a double accumulator of ", wt.elements(),
                        " elements");
  }
  // Accumulated in dw's own memory order.
  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t ci = 0; ci < in.c; ++ci) {
      const int64_t group = ci / cin_per_group;
      for (int64_t id = 0; id < in.extent[0]; ++id)
        for (int64_t ih = 0; ih < in.extent[1]; ++ih)
          for (int64_t iw = 0; iw < in.extent[2]; ++iw) {
            const int64_t i[3] = {id, ih, iw};
            const double value = load(in.dtype, x, in.offset(n, ci, id, ih, iw));
            for (int64_t co = 0; co < cout_per_group; ++co)
              for (int64_t kd = 0; kd < wt.extent[0]; ++kd)
                for (int64_t kh = 0; kh < wt.extent[1]; ++kh)
                  for (int64_t kw = 0; kw < wt.extent[2]; ++kw) {
                    const int64_t k[3] = {kd, kh, kw};
                    int64_t o[3];
                    if (!landing(p, i, k, o)) continue;
                    accumulator[static_cast<size_t>(wt.offset(ci, co, kd, kh, kw))] +=
                        value * load(out.dtype, dy, out.offset(n, group * cout_per_group + co, o[0], o[1], o[2]));
                  }
          }
    }
  for (int64_t e = 0; e < wt.elements(); ++e) store(wt.dtype, dw, e, accumulator[static_cast<size_t>(e)]);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t conv_transpose_backward_bias(const detail::TensorGeometry& out, const void* dy, void* db) {
  for (int64_t c = 0; c < out.c; ++c) {
    double sum = 0.0;
    for (int64_t n = 0; n < out.n; ++n)
      for (int64_t d = 0; d < out.extent[0]; ++d)
        for (int64_t h = 0; h < out.extent[1]; ++h)
          for (int64_t w = 0; w < out.extent[2]; ++w) sum += load(out.dtype, dy, out.offset(n, c, d, h, w));
    store(out.dtype, db, c, sum);
  }
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::reference

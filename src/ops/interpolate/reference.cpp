// Reference interpolation, from PyTorch's definitions (upsample.h's interpolation section):
// separable, so each axis gets a table of taps (input index, weight) per output index, and
//   y[n, c, od, oh, ow] = sum over taps td, th, tw of wd * wh * ww * x[n, c, id, ih, iw]
// accumulated in double. Backward scatters each output's gradient over the same taps (the
// adjoint by construction; the CUDA kernels gather instead, so the two check each other).
//
// Coordinates are computed in PyTorch's types (float for f32/f16/bf16, double for f64; nearest
// modes float always) with one rounding per operation: the x86-64 host compiler has no FMA to
// contract into unless asked (-mfma), and this file asks for none.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/status.h"
#include "src/ops/interpolate/interpolate.h"
#include "src/reference_element.h"

namespace upsample::reference {
namespace {

struct Tap {
  int64_t index;
  double weight;
};
using AxisTable = std::vector<std::vector<Tap>>;  // [output index] -> taps

template <typename T>
T cubic_near(T x, T a) { return ((a + 2) * x - (a + 3)) * x * x + 1; }  // |x| <= 1
template <typename T>
T cubic_far(T x, T a) { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a; }  // 1 < |x| < 2

template <typename T>
T aa_filter(bool cubic, T x) {
  if (x < 0) x = -x;
  if (!cubic) return x < 1 ? 1 - x : T(0);
  const T a = T(-0.5);  // PIL's and PyTorch's antialias cubic
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

template <typename T>
AxisTable axis_table(const detail::InterpolateProblem& p, int axis, T scale) {
  const int64_t in = p.input.extent[axis], out = p.output.extent[axis];
  AxisTable table(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    std::vector<Tap>& taps = table[static_cast<size_t>(o)];
    if (!p.active[axis]) {
      taps.push_back({0, 1.0});
      continue;
    }
    if (p.antialias) {
      const bool cubic = p.mode == UPS_INTERPOLATE_BICUBIC;
      const T half_taps = cubic ? T(2) : T(1);
      const T support = scale >= T(1) ? half_taps * scale : half_taps;
      const T center = scale * (static_cast<T>(o) + T(0.5));
      const int64_t xmin = std::max(static_cast<int64_t>(center - support + T(0.5)), int64_t{0});
      const int64_t xsize = std::min(static_cast<int64_t>(center + support + T(0.5)), in) - xmin;
      const T invscale = scale >= T(1) ? T(1) / scale : T(1);
      const T xmin_m_center = static_cast<T>(xmin) - center;
      std::vector<T> w(static_cast<size_t>(std::max<int64_t>(xsize, 0)));
      T total = 0;
      for (int64_t j = 0; j < xsize; ++j) {
        w[static_cast<size_t>(j)] = aa_filter<T>(cubic, (static_cast<T>(j) + xmin_m_center + T(0.5)) * invscale);
        total += w[static_cast<size_t>(j)];
      }
      for (int64_t j = 0; j < xsize; ++j)
        taps.push_back({xmin + j, total != T(0) ? static_cast<double>(w[static_cast<size_t>(j)] / total)
                                                : static_cast<double>(w[static_cast<size_t>(j)])});
      continue;
    }
    switch (p.mode) {
      case UPS_INTERPOLATE_NEAREST: {
        const float s = p.scale_f32[axis];
        const int64_t src = std::min(static_cast<int64_t>(std::floor(static_cast<float>(o) * s)), in - 1);
        taps.push_back({src, 1.0});
        break;
      }
      case UPS_INTERPOLATE_NEAREST_EXACT: {
        const float s = p.scale_f32[axis];
        const int64_t src = std::min(static_cast<int64_t>(std::floor((static_cast<float>(o) + 0.5f) * s)), in - 1);
        taps.push_back({src, 1.0});
        break;
      }
      case UPS_INTERPOLATE_LINEAR: {
        T real;
        if (p.align_corners) {
          real = scale * static_cast<T>(o);
        } else {
          real = scale * (static_cast<T>(o) + T(0.5)) - T(0.5);
          if (real < T(0)) real = T(0);
        }
        const int64_t i0 = static_cast<int64_t>(real);
        const int64_t step = i0 < in - 1 ? 1 : 0;
        const T lambda1 = real - static_cast<T>(i0);
        const T lambda0 = T(1) - lambda1;
        taps.push_back({i0, static_cast<double>(lambda0)});
        taps.push_back({i0 + step, static_cast<double>(lambda1)});
        break;
      }
      case UPS_INTERPOLATE_BICUBIC: {
        const T real = p.align_corners ? scale * static_cast<T>(o) : scale * (static_cast<T>(o) + T(0.5)) - T(0.5);
        const T fl = std::floor(real);
        const int64_t i = static_cast<int64_t>(fl);
        const T t = real - fl;
        const T a = T(-0.75);
        const T c[4] = {cubic_far<T>(t + T(1), a), cubic_near<T>(t, a), cubic_near<T>(T(1) - t, a),
                        cubic_far<T>(T(1) - t + T(1), a)};
        for (int k = 0; k < 4; ++k)
          taps.push_back({std::clamp<int64_t>(i - 1 + k, 0, in - 1), static_cast<double>(c[k])});
        break;
      }
      case UPS_INTERPOLATE_AREA: {
        // Adaptive average pooling's window, in exact integer arithmetic.
        const int64_t start = (o * in) / out;
        const int64_t end = ((o + 1) * in + out - 1) / out;
        for (int64_t i = start; i < end; ++i) taps.push_back({i, 1.0 / static_cast<double>(end - start)});
        break;
      }
    }
  }
  return table;
}

void build_tables(const detail::InterpolateProblem& p, AxisTable tables[3]) {
  const bool wide = p.input.dtype == UPS_DTYPE_F64;
  for (int a = 0; a < 3; ++a)
    tables[a] = wide ? axis_table<double>(p, a, p.scale_f64[a]) : axis_table<float>(p, a, p.scale_f32[a]);
}

}  // namespace

upsStatus_t interpolate_forward(const detail::InterpolateProblem& p, const void* x, void* y) {
  AxisTable t[3];
  build_tables(p, t);
  const detail::TensorGeometry& in = p.input;
  const detail::TensorGeometry& out = p.output;
  for (int64_t n = 0; n < out.n; ++n)
    for (int64_t c = 0; c < out.c; ++c)
      for (int64_t od = 0; od < out.extent[0]; ++od)
        for (int64_t oh = 0; oh < out.extent[1]; ++oh)
          for (int64_t ow = 0; ow < out.extent[2]; ++ow) {
            double sum = 0.0;
            for (const Tap& td : t[0][static_cast<size_t>(od)])
              for (const Tap& th : t[1][static_cast<size_t>(oh)])
                for (const Tap& tw : t[2][static_cast<size_t>(ow)])
                  sum += td.weight * th.weight * tw.weight *
                         load(in.dtype, x, in.offset(n, c, td.index, th.index, tw.index));
            store(out.dtype, y, out.offset(n, c, od, oh, ow), sum);
          }
  return UPS_STATUS_SUCCESS;
}

upsStatus_t interpolate_backward(const detail::InterpolateProblem& p, const void* dy, void* dx) {
  AxisTable t[3];
  build_tables(p, t);
  const detail::TensorGeometry& in = p.input;    // dx
  const detail::TensorGeometry& out = p.output;  // dy
  std::vector<double> plane(static_cast<size_t>(in.plane()));
  for (int64_t n = 0; n < in.n; ++n)
    for (int64_t c = 0; c < in.c; ++c) {
      std::fill(plane.begin(), plane.end(), 0.0);
      for (int64_t od = 0; od < out.extent[0]; ++od)
        for (int64_t oh = 0; oh < out.extent[1]; ++oh)
          for (int64_t ow = 0; ow < out.extent[2]; ++ow) {
            const double g = load(out.dtype, dy, out.offset(n, c, od, oh, ow));
            for (const Tap& td : t[0][static_cast<size_t>(od)])
              for (const Tap& th : t[1][static_cast<size_t>(oh)])
                for (const Tap& tw : t[2][static_cast<size_t>(ow)])
                  plane[static_cast<size_t>((td.index * in.extent[1] + th.index) * in.extent[2] + tw.index)] +=
                      td.weight * th.weight * tw.weight * g;
          }
      for (int64_t id = 0; id < in.extent[0]; ++id)
        for (int64_t ih = 0; ih < in.extent[1]; ++ih)
          for (int64_t iw = 0; iw < in.extent[2]; ++iw)
            store(in.dtype, dx, in.offset(n, c, id, ih, iw),
                  plane[static_cast<size_t>((id * in.extent[1] + ih) * in.extent[2] + iw)]);
    }
  return UPS_STATUS_SUCCESS;
}

}  // namespace upsample::reference

// Transposed convolution, forward and its three gradients (data, weight, bias), on the REFERENCE
// backend, against checks from outside the library: worked examples by hand (weight layout,
// groups, stride, padding, output_padding, dilation); adjointness against an independent direct
// convolution; linearity; bias; layout, rank and dtype agreement; gradients as adjoints and by
// finite differences; output and gradient shapes against PyTorch's table; every bad-input class
// as a table (status, message, nothing written).
// Inputs are fresh and random (UPS_TEST_SEED replays a failure); outputs are poisoned first.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

// =============================================================================================
// Forward
// =============================================================================================

// The worked example of transposed convolution: each input value scales a copy of the kernel,
// copies overlap and sum. stride 1, no padding: 2x2 input, 3x3 kernel -> 4x4.
TEST(ReferenceConvTransposeExample, WorkedExampleIsExact) {
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  const std::vector<double> x_values = {2, 0, 4, 1};
  const std::vector<double> w_values = {4, 2, 1, 1, 0, 3, 0, 5, 2};
  const std::vector<double> expected = {8, 4, 2, 0, 18, 12, 12, 1, 4, 11, 16, 3, 0, 20, 13, 2};
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 1, {2, 2}), x_values);
      const HostTensor w = tensor_of(make_desc(dtype, layout, 1, 1, {3, 3}), w_values);
      const HostTensor y = conv_forward(ref, conv_desc(2), x, w);
      ASSERT_TRUE(same_shape(y.desc, make_desc(dtype, layout, 1, 1, {4, 4})));
      EXPECT_TRUE(tensors_identical(y, tensor_of(y.desc, expected)));
    }
}

// Two input and two output channels, so that a mix-up of the weight layout shows:
//   x[0] = the worked example's input, x[1] = a delta at (0, 0);
//   w[0,0] = K (the worked kernel), w[0,1] = -K, w[1,0] = J, w[1,1] = 2J, J = [[1..9]].
//   y[0] = E + J (J in the top-left corner), y[1] = -E + 2J, E = the worked example's output.
// Weight layout: (C_in, C_out/groups, kh, kw) channels-first, (C_in, kh, kw, C_out/groups)
// channels-last. With groups = 2 the weight is (2, 1, 3, 3): y[0] = E, y[1] = J.
TEST(ReferenceConvTransposeExample, WeightLayoutAndGroupsByHand) {
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  const std::vector<double> x_values = {2, 0, 4, 1, /**/ 1, 0, 0, 0};
  const std::vector<double> k = {4, 2, 1, 1, 0, 3, 0, 5, 2};
  const std::vector<double> j = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<double> w_values;  // logical (ci, co, kh, kw)
  for (double v : k) w_values.push_back(v);
  for (double v : k) w_values.push_back(-v);
  for (double v : j) w_values.push_back(v);
  for (double v : j) w_values.push_back(2 * v);
  const std::vector<double> expected = {
      9,  6, 5, 0, 22,  17, 18, 1,  11, 19, 25, 3,  0, 20,  13,  2,  // y[0] = E + J
      -6, 0, 4, 0, -10, -2, 0,  -1, 10, 5,  2,  -3, 0, -20, -13, -2  // y[1] = -E + 2J
  };
  std::vector<double> w_grouped;  // logical (ci, 0, kh, kw): K for group 0, J for group 1
  for (double v : k) w_grouped.push_back(v);
  for (double v : j) w_grouped.push_back(v);
  const std::vector<double> expected_grouped = {
      8, 4, 2, 0, 18, 12, 12, 1, 4, 11, 16, 3, 0, 20, 13, 2,  // y[0] = E
      1, 2, 3, 0, 4,  5,  6,  0, 7, 8,  9,  0, 0, 0,  0,  0   // y[1] = J
  };
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 2, {2, 2}), x_values);
      const HostTensor w = tensor_of(make_desc(dtype, layout, 2, 2, {3, 3}), w_values);
      const HostTensor y = conv_forward(ref, conv_desc(2), x, w);
      ASSERT_TRUE(same_shape(y.desc, make_desc(dtype, layout, 1, 2, {4, 4})));
      EXPECT_TRUE(tensors_identical(y, tensor_of(y.desc, expected)));

      const HostTensor wg = tensor_of(make_desc(dtype, layout, 2, 1, {3, 3}), w_grouped);
      const HostTensor yg = conv_forward(ref, conv_desc(2, {}, {}, {}, {}, {}, /*groups=*/2), x, wg);
      ASSERT_TRUE(same_shape(yg.desc, make_desc(dtype, layout, 1, 2, {4, 4})));
      EXPECT_TRUE(tensors_identical(yg, tensor_of(yg.desc, expected_grouped)));
    }
}

// stride 2, padding 1, output_padding 1, 3x3 ones kernel: output extent (2-1)*2 - 2 + 2 + 1 + 1 = 4.
// Along an axis, output o receives the inputs i with o = 2i - 1 + k, k in 0..2: o=0 <- {0},
// o=1 <- {0, 1}, o=2 <- {1}, o=3 <- {1} (the output_padding row, reached only by i=1, k=2).
TEST(ReferenceConvTransposeExample, StrideTwoPaddingOutputPaddingByHand) {
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  const std::vector<double> expected = {1, 3, 2, 2, 4, 10, 6, 6, 3, 7, 4, 4, 3, 7, 4, 4};
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 1, {2, 2}), {1, 2, 3, 4});
      const HostTensor w = tensor_of(make_desc(dtype, layout, 1, 1, {3, 3}), std::vector<double>(9, 1.0));
      const HostTensor y = conv_forward(ref, conv_desc(2, {2, 2}, {1, 1}, {1, 1}, {1, 1}), x, w);
      ASSERT_TRUE(same_shape(y.desc, make_desc(dtype, layout, 1, 1, {4, 4})));
      EXPECT_TRUE(tensors_identical(y, tensor_of(y.desc, expected)));
    }
}

// 1-D with dilation 2 and asymmetric padding, by hand: x = [1, -2, 3], w = [1, 10, 100],
// stride 2, dilation 2, pad_begin 1, pad_end 0: extent (3-1)*2 - 1 + 2*2 + 1 = 8,
// o = 2i - 1 + 2k:  i=0 -> o=-1,1,3   i=1 -> o=1,3,5   i=2 -> o=3,5,7
// y = [0, 10*1 + 1*(-2), 0, 100*1 + 10*(-2) + 1*3, 0, 100*(-2) + 10*3, 0, 100*3]
TEST(ReferenceConvTransposeExample, DilatedAsymmetricPaddingByHand) {
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  const std::vector<double> expected = {0, 8, 0, 83, 0, -170, 0, 300};
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 1, {3}), {1, -2, 3});
      const HostTensor w = tensor_of(make_desc(dtype, layout, 1, 1, {3}), {1, 10, 100});
      const HostTensor y = conv_forward(ref, conv_desc(1, {2}, {1}, {0}, {0}, {2}), x, w);
      ASSERT_TRUE(same_shape(y.desc, make_desc(dtype, layout, 1, 1, {8})));
      EXPECT_TRUE(tensors_identical(y, tensor_of(y.desc, expected)));
    }
}

// The direct (forward) convolution, written from the index relation alone and sharing nothing
// with the library: its input z has y's shape, its output x's shape, and
//   r[n, ci, i] = sum over co in ci's group, k with o = i*stride - pad_begin + k*dilation inside z
//                 of z[n, group*Cog + co, o] * w[ci, co, k].
// With `absolute`, every term is |z|*|w| (a bound for the rounding scale).
HostTensor direct_conv(const ConvGeometry& g, const HostTensor& z, const HostTensor& w, const upsTensorDesc_t& r_desc,
                       bool absolute) {
  HostTensor r(r_desc);
  const int64_t cin_per_group = g.cin / g.groups, cout_per_group = g.cout / g.groups;
  int64_t taps = 1;
  for (int a = 0; a < g.dims; ++a) taps *= g.k[a];
  for_each_element(r_desc, [&](int64_t n, int64_t ci, const int64_t* i) {
    const int64_t group = ci / cin_per_group;
    double sum = 0.0;
    for (int64_t co = 0; co < cout_per_group; ++co)
      for (int64_t t = 0; t < taps; ++t) {
        int64_t k[3] = {0, 0, 0}, o[3] = {0, 0, 0};
        int64_t rest = t;
        bool inside = true;
        for (int a = g.dims - 1; a >= 0; --a) {
          k[a] = rest % g.k[a];
          rest /= g.k[a];
          o[a] = i[a] * g.s[a] - g.pb[a] + k[a] * g.dil[a];
          inside = inside && o[a] >= 0 && o[a] < z.desc.spatial[a];
        }
        if (!inside) continue;
        double zv = z.get(offset_of(z.desc, n, group * cout_per_group + co, o));
        double wv = w.get(offset_of(w.desc, ci, co, k));
        if (absolute) zv = std::fabs(zv), wv = std::fabs(wv);
        sum += zv * wv;
      }
    r.set(offset_of(r_desc, n, ci, i), sum);
  });
  return r;
}

// Transposed convolution is the adjoint of the direct convolution: for every x, z and w,
//   <conv(z, w), x> = <z, conv_transpose(x, w)>.
// This pins every index relation (stride, dilation, both paddings, output_padding, groups,
// weight layout) to the definition, with an oracle written independently of the library.
// The output shape is also checked against the formula.
TEST(ReferenceConvTransposeProperty, AdjointOfDirectConvolutionF64) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  int degenerate = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const ConvGeometry g = random_conv(rng, static_cast<int>(uniform_int(rng, 1, 3)));
    const upsLayout_t layout = random_layout(rng);
    SCOPED_TRACE(g.text() + " " + layout_label(layout));
    HostTensor x(g.x_desc(UPS_DTYPE_F64, layout)), w(g.w_desc(UPS_DTYPE_F64, layout));
    x.fill_random(rng);
    w.fill_random(rng);
    const HostTensor y = conv_forward(ref, g.desc(), x, w);
    ASSERT_TRUE(same_shape(y.desc, g.y_desc(UPS_DTYPE_F64, layout)));
    HostTensor z(y.desc);
    z.fill_random(rng);
    const double lhs = inner(direct_conv(g, z, w, x.desc, false), x);
    const double rhs = inner(z, y);
    const double scale = inner(direct_conv(g, z, w, x.desc, true), x, true);
    EXPECT_LE(std::fabs(lhs - rhs), 1e-10 * scale) << "<conv(z,w),x> = " << lhs << ", <z,conv_t(x,w)> = " << rhs;
    if (scale == 0.0) {
      // Padding cuts every kernel copy off: no input reaches the output, which must be all
      // zeros (written, not left poisoned).
      ++degenerate;
      HostTensor zeros(y.desc);
      for (int64_t i = 0; i < zeros.size(); ++i) zeros.set(i, 0.0);
      EXPECT_TRUE(tensors_identical(y, zeros));
    }
  }
  EXPECT_LE(degenerate, 60) << "too few trials where the input reaches the output";
}

// Linearity in x: conv_t(a*x1 + b*x2) = a*conv_t(x1) + b*conv_t(x2) (no bias), in f64.
TEST(ReferenceConvTransposeProperty, LinearInInputF64) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 20; ++trial) {
    const ConvGeometry g = random_conv(rng, static_cast<int>(uniform_int(rng, 1, 3)));
    const upsLayout_t layout = random_layout(rng);
    SCOPED_TRACE(g.text() + " " + layout_label(layout));
    HostTensor x1(g.x_desc(UPS_DTYPE_F64, layout)), x2(x1.desc), mix(x1.desc), w(g.w_desc(UPS_DTYPE_F64, layout));
    x1.fill_random(rng);
    x2.fill_random(rng);
    w.fill_random(rng);
    std::uniform_real_distribution<double> coefficient(-2.0, 2.0);
    const double a = coefficient(rng), b = coefficient(rng);
    for (int64_t i = 0; i < mix.size(); ++i) mix.set(i, a * x1.get(i) + b * x2.get(i));
    const HostTensor y1 = conv_forward(ref, g.desc(), x1, w), y2 = conv_forward(ref, g.desc(), x2, w);
    const HostTensor y = conv_forward(ref, g.desc(), mix, w);
    HostTensor combined(y.desc);
    for (int64_t i = 0; i < combined.size(); ++i) combined.set(i, a * y1.get(i) + b * y2.get(i));
    EXPECT_TRUE(tensors_close(y, combined, tolerance(UPS_DTYPE_F64)));
  }
}

// bias: y(x, w, bias) = y(x, w) + bias[c] on every element of output channel c. Integer-valued
// data makes every sum exact in f32 and f64, so the identity holds bit for bit; real-valued f64
// data holds it within f64's tolerance.
TEST(ReferenceConvTransposeProperty, BiasAddsPerOutputChannel) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 24; ++trial) {
    const ConvGeometry g = random_conv(rng, static_cast<int>(uniform_int(rng, 1, 3)));
    const upsLayout_t layout = random_layout(rng);
    const upsDataType_t dtype = trial % 3 == 0 ? UPS_DTYPE_F32 : UPS_DTYPE_F64;
    const bool integers = trial % 3 != 2;
    SCOPED_TRACE(g.text() + " " + layout_label(layout) + " " + dtype_label(dtype) + (integers ? " integers" : ""));
    HostTensor x(g.x_desc(dtype, layout)), w(g.w_desc(dtype, layout)),
        bias(make_desc(dtype, UPS_LAYOUT_CHANNELS_FIRST, 1, g.cout, {1}));
    x.fill_random(rng, -4, 4, integers);
    w.fill_random(rng, -4, 4, integers);
    bias.fill_random(rng, 1, 9, integers);  // never zero: a dropped bias shows
    const HostTensor with_bias = conv_forward(ref, g.desc(), x, w, &bias);
    const HostTensor without = conv_forward(ref, g.desc(), x, w);
    HostTensor expected(without.desc);
    for_each_element(without.desc, [&](int64_t n, int64_t c, const int64_t* s) {
      const int64_t o = offset_of(without.desc, n, c, s);
      expected.set(o, without.get(o) + bias.get(c));
    });
    if (integers)
      EXPECT_TRUE(tensors_identical(with_bias, expected));
    else
      EXPECT_TRUE(tensors_close(with_bias, expected, tolerance(dtype)));
  }
}

// ---------------------------------------------------------------------------------------------
// Layouts, ranks and dtypes (one family's share of the cross-op properties)
// ---------------------------------------------------------------------------------------------
// Channels-first and channels-last describe the same logical tensors: with a bias, the results
// agree within f32's tolerance (the summation order may differ between layouts).
TEST(ReferenceLayoutProperty, ConvTransposeChannelsFirstAndLastAgree) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 16; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    const ConvGeometry g = random_conv(rng, dims);
    SCOPED_TRACE(g.text());
    HostTensor x(g.x_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST)),
        w(g.w_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST)), bias(g.bias_desc(UPS_DTYPE_F32));
    x.fill_random(rng);
    w.fill_random(rng);
    bias.fill_random(rng);
    const HostTensor first = conv_forward(ref, g.desc(), x, w, &bias);
    const HostTensor last = conv_forward(ref, g.desc(), converted(x, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST),
                                         converted(w, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST), &bias);
    EXPECT_EQ(last.desc.layout, UPS_LAYOUT_CHANNELS_LAST);
    EXPECT_TRUE(
        tensors_close(converted(last, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST), first, tolerance(UPS_DTYPE_F32)));
  }
}

// The geometry with `extra` leading extent-1 axes of kernel 1 and a random stride and dilation,
// which must not matter on an extent-1 axis.
ConvGeometry lifted_conv(const ConvGeometry& g, int extra, std::mt19937_64& rng) {
  ConvGeometry out = g;
  out.dims = g.dims + extra;
  for (int a = out.dims - 1; a >= 0; --a) {
    if (a >= extra) {
      const int b = a - extra;
      out.in[a] = g.in[b], out.k[a] = g.k[b], out.s[a] = g.s[b], out.pb[a] = g.pb[b], out.pe[a] = g.pe[b];
      out.op[a] = g.op[b], out.dil[a] = g.dil[b];
    } else {
      out.in[a] = 1, out.k[a] = 1, out.pb[a] = 0, out.pe[a] = 0, out.op[a] = 0;
      out.s[a] = uniform_int(rng, 1, 3), out.dil[a] = uniform_int(rng, 1, 3);
    }
  }
  return out;
}

// A problem lifted by extent-1 axes gives the same bytes, bias included.
TEST(ReferenceRankProperty, ConvTransposeExtentOneAxesChangeNothing) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 24; ++trial) {
    const int dims = trial % 2 ? 1 : 2;
    const upsLayout_t layout = random_layout(rng);
    const upsDataType_t dtype = trial % 3 == 0 ? UPS_DTYPE_F64 : UPS_DTYPE_F32;
    for (int extra = 1; dims + extra <= 3; ++extra) {
      SCOPED_TRACE(std::to_string(dims) + "-D lifted to " + std::to_string(dims + extra) + "-D " +
                   layout_label(layout));
      const ConvGeometry g = random_conv(rng, dims);
      const ConvGeometry gl = lifted_conv(g, extra, rng);
      SCOPED_TRACE(gl.text());
      HostTensor x(g.x_desc(dtype, layout)), w(g.w_desc(dtype, layout)), bias(g.bias_desc(dtype));
      x.fill_random(rng);
      w.fill_random(rng);
      bias.fill_random(rng);
      EXPECT_TRUE(same_result(conv_forward(ref, gl.desc(), lifted(x, extra), lifted(w, extra), &bias),
                              conv_forward(ref, g.desc(), x, w, &bias), extra));
    }
  }
}

// Each narrow dtype (f32, f16, bf16) against f64 on inputs rounded to it first: the only
// difference left is the op's own final rounding, within tolerance(dtype).
TEST(ReferenceDtypeProperty, ConvTransposeNarrowDtypesMatchF64) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 12; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    const upsLayout_t layout = random_layout(rng);
    const ConvGeometry g = random_conv(rng, dims);
    HostTensor x(g.x_desc(UPS_DTYPE_F64, layout)), w(g.w_desc(UPS_DTYPE_F64, layout)), bias(g.bias_desc(UPS_DTYPE_F64));
    x.fill_random(rng);
    w.fill_random(rng);
    bias.fill_random(rng);
    for (upsDataType_t dtype : kNarrowDtypes) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + g.text() + " " + layout_label(layout));
      const auto narrow = [&](const HostTensor& t) { return converted(t, dtype, t.desc.layout); };
      const auto rounded = [&](const HostTensor& t) { return converted(narrow(t), UPS_DTYPE_F64, t.desc.layout); };
      const HostTensor bias_n = narrow(bias), bias_r = rounded(bias);
      const HostTensor y_n = conv_forward(ref, g.desc(), narrow(x), narrow(w), &bias_n);
      const HostTensor y_r = conv_forward(ref, g.desc(), rounded(x), rounded(w), &bias_r);
      EXPECT_EQ(y_n.desc.dtype, dtype);
      EXPECT_TRUE(tensors_close(y_n, y_r, tolerance(dtype)));
    }
  }
}

// Transposed convolution, one axis per row: PyTorch's ConvTranspose output
//   (in-1)*stride - pad_begin - pad_end + dilation*(kernel-1) + output_padding + 1
// for layers of real generative models and for the corners of the rules (PyTorch takes one
// symmetric padding; the asymmetric rows follow the same formula per side). Each row runs as
// the W axis of a 1-D, 2-D and 3-D problem (the other axes 1x1 with kernel 1).
struct ConvShapeCase {
  const char* what;
  int64_t in, kernel, stride, pad_begin, pad_end, output_padding, dilation, out;
};

const ConvShapeCase kConvShapes[] = {
    {"DCGAN 4->8 k4 s2 p1", 4, 4, 2, 1, 1, 0, 1, 8},
    {"DCGAN 8->16 k4 s2 p1", 8, 4, 2, 1, 1, 0, 1, 16},
    {"DCGAN 32->64 k4 s2 p1", 32, 4, 2, 1, 1, 0, 1, 64},
    {"DCGAN 1->4 k4 s1 p0 (project z)", 1, 4, 1, 0, 0, 0, 1, 4},
    {"VAE decoder 128->256 k3 s2 p1 op1", 128, 3, 2, 1, 1, 1, 1, 256},
    {"VAE decoder 7->14 k3 s2 p1 op1", 7, 3, 2, 1, 1, 1, 1, 14},
    {"k3 s2 p1 without output_padding 7->13", 7, 3, 2, 1, 1, 0, 1, 13},
    {"HiFi-GAN 32->256 k16 s8 p4", 32, 16, 8, 4, 4, 0, 1, 256},
    {"HiFi-GAN 256->2048 k16 s8 p4", 256, 16, 8, 4, 4, 0, 1, 2048},
    {"HiFi-GAN 2048->4096 k4 s2 p1", 2048, 4, 2, 1, 1, 0, 1, 4096},
    {"MelGAN 4096->8192 k4 s2 p1", 4096, 4, 2, 1, 1, 0, 1, 8192},
    {"EnCodec-like 50->255 k10 s5", 50, 10, 5, 0, 0, 0, 1, 255},
    {"3-D U-Net 64->128 k2 s2", 64, 2, 2, 0, 0, 0, 1, 128},
    {"U-Net 28->56 k2 s2", 28, 2, 2, 0, 0, 0, 1, 56},
    {"3-D k3 s2 p1 op1 8->16", 8, 3, 2, 1, 1, 1, 1, 16},
    {"StyleGAN2 128->257 k3 s2 p0", 128, 3, 2, 0, 0, 0, 1, 257},
    {"StyleGAN2 4->9 k3 s2 p0", 4, 3, 2, 0, 0, 0, 1, 9},
    {"dilation 2 k3 s1 5->9", 5, 3, 1, 0, 0, 0, 2, 9},
    {"output_padding < dilation, >= stride: s1 d2 op1 5->10", 5, 3, 1, 0, 0, 1, 2, 10},
    {"dilation 4 s1 op3 3->10", 3, 2, 1, 0, 0, 3, 4, 10},
    {"dilation 3 s2 p2 6->13", 6, 3, 2, 2, 2, 0, 3, 13},
    {"dilation 2 s2 p2 op1 4->8", 4, 3, 2, 2, 2, 1, 2, 8},
    {"kernel 1 stride 1 7->7", 7, 1, 1, 0, 0, 0, 1, 7},
    {"kernel 1 stride 2 7->13", 7, 1, 2, 0, 0, 0, 1, 13},
    {"stride > kernel 5->14 k2 s3", 5, 2, 3, 0, 0, 0, 1, 14},
    {"stride 3 op2 5->15 k3 p1", 5, 3, 3, 1, 1, 2, 1, 15},
    {"same-size k5 s1 p2 10->10", 10, 5, 1, 2, 2, 0, 1, 10},
    {"same-size k7 s1 p3 10->10", 10, 7, 1, 3, 3, 0, 1, 10},
    {"k4 s4 16->64", 16, 4, 4, 0, 0, 0, 1, 64},
    {"input 1 k5 s2 p2 -> 1", 1, 5, 2, 2, 2, 0, 1, 1},
    {"large 1000->2000 k4 s2 p1", 1000, 4, 2, 1, 1, 0, 1, 2000},
    {"asymmetric 4->8 k3 s2 pad 0/1", 4, 3, 2, 0, 1, 0, 1, 8},
    {"asymmetric 4->7 k3 s2 pad 2/0", 4, 3, 2, 2, 0, 0, 1, 7},
};

TEST(ReferenceShapes, ConvTransposeOutputDescMatchesPyTorch) {
  for (const ConvShapeCase& row : kConvShapes)
    for (int dims = 1; dims <= 3; ++dims) {
      SCOPED_TRACE(std::string(row.what) + ", " + std::to_string(dims) + "-D");
      const int w_axis = dims - 1;
      upsConvTransposeDesc_t conv;
      UPS_ASSERT_OK(upsConvTransposeDescInit(&conv, dims));
      conv.stride[w_axis] = row.stride;
      conv.pad_begin[w_axis] = row.pad_begin;
      conv.pad_end[w_axis] = row.pad_end;
      conv.output_padding[w_axis] = row.output_padding;
      conv.dilation[w_axis] = row.dilation;
      conv.groups = 2;
      std::vector<int64_t> in(static_cast<size_t>(dims), 1), k(static_cast<size_t>(dims), 1);
      in.back() = row.in;
      k.back() = row.kernel;
      for (upsLayout_t layout : kLayouts) {
        const upsTensorDesc_t x = make_desc(UPS_DTYPE_F16, layout, 3, 4, in);
        const upsTensorDesc_t w = make_desc(UPS_DTYPE_F16, layout, 4, 5, k);
        upsTensorDesc_t y;
        UPS_ASSERT_OK(upsConvTransposeOutputDesc(&conv, &x, &w, &y));
        std::vector<int64_t> out(static_cast<size_t>(dims), 1);
        out.back() = row.out;
        // N from x, C_out = (C_out/groups) * groups, dtype and layout from x.
        EXPECT_TRUE(same_shape(y, make_desc(UPS_DTYPE_F16, layout, 3, 10, out)));
      }
    }
}

// Two axes at once (each axis keeps its own parameters), and the empty batch.
TEST(ReferenceShapes, ConvTransposeMultiAxisAndEmptyBatch) {
  upsConvTransposeDesc_t conv = conv_desc(3, {2, 1, 8}, {0, 1, 4}, {0, 1, 4}, {1, 0, 0}, {1, 2, 1});
  const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 0, 6, {3, 5, 32});
  const upsTensorDesc_t w = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 6, 7, {3, 3, 16});
  upsTensorDesc_t y;
  UPS_ASSERT_OK(upsConvTransposeOutputDesc(&conv, &x, &w, &y));
  // D: 2*2 + 2 + 1 + 1 = 8;  H: 4 - 2 + 4 + 1 = 7;  W: 31*8 - 8 + 15 + 1 = 256.
  EXPECT_TRUE(same_shape(y, make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 0, 7, {8, 7, 256})));
}

struct ConvArgs {
  upsHandle_t handle = nullptr;
  upsConvTransposeDesc_t conv{};
  upsTensorDesc_t x{}, w{}, y{};
  const void* x_data = nullptr;
  const void* w_data = nullptr;
  const void* bias = nullptr;
  void* y_data = nullptr;
  bool null_conv = false, null_x = false, null_w = false, null_y = false;

  upsStatus_t run() const {
    return upsConvTransposeForward(handle, null_conv ? nullptr : &conv, null_x ? nullptr : &x, x_data,
                                   null_w ? nullptr : &w, w_data, bias, null_y ? nullptr : &y, y_data);
  }
};

TEST(ReferenceBadInput, ConvTransposeRejectsEveryBadInputClass) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  // Valid: x (2, 4, 3, 3), w (4, 3, 3, 3), groups 2 -> y (2, 6, 6, 6); stride 2, padding 1,
  // output_padding 1, with bias.
  ConvArgs base;
  base.handle = h.get();
  base.conv = conv_desc(2, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2);
  HostTensor x(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 4, {3, 3}));
  HostTensor w(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 4, 3, {3, 3}));
  HostTensor bias(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 6, {1}));
  x.fill_random(rng);
  w.fill_random(rng);
  bias.fill_random(rng);
  HostTensor y(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 6, {6, 6}));
  y.poison();
  base.x = x.desc, base.w = w.desc, base.y = y.desc;
  base.x_data = x.data(), base.w_data = w.data(), base.bias = bias.data(), base.y_data = y.data();
  UPS_ASSERT_OK(base.run());
  EXPECT_STREQ(upsGetLastErrorString(), "") << "a successful call leaves no message";
  EXPECT_TRUE(tensors_identical(y, conv_forward(ref, base.conv, x, w, &bias)));

  Sentinel out(y.bytes.size());
  base.y_data = out.data();
  Buffer shifted(UPS_BACKEND_REFERENCE, x.bytes.size() + 8);
  std::memcpy(static_cast<char*>(shifted.get()) + 1, x.data(), x.bytes.size());
  Buffer shifted_bias(UPS_BACKEND_REFERENCE, bias.bytes.size() + 8);
  expect_rejected(
      {
          {"null handle", with(base, [&](ConvArgs& a) { a.handle = nullptr; }), UPS_STATUS_INVALID_HANDLE, "handle"},
          {"destroyed handle", with(base, [&](ConvArgs& a) { a.handle = destroyed_handle(); }),
           UPS_STATUS_INVALID_HANDLE, "handle"},
          {"null conv desc", with(base, [&](ConvArgs& a) { a.null_conv = true; }), UPS_STATUS_NULL_POINTER, "desc"},
          {"null x desc", with(base, [&](ConvArgs& a) { a.null_x = true; }), UPS_STATUS_NULL_POINTER, "x"},
          {"null w desc", with(base, [&](ConvArgs& a) { a.null_w = true; }), UPS_STATUS_NULL_POINTER, "w"},
          {"null y desc", with(base, [&](ConvArgs& a) { a.null_y = true; }), UPS_STATUS_NULL_POINTER, "y"},
          {"null x data", with(base, [&](ConvArgs& a) { a.x_data = nullptr; }), UPS_STATUS_NULL_POINTER, "x"},
          {"null w data", with(base, [&](ConvArgs& a) { a.w_data = nullptr; }), UPS_STATUS_NULL_POINTER, "w"},
          {"null y data", with(base, [&](ConvArgs& a) { a.y_data = nullptr; }), UPS_STATUS_NULL_POINTER, "y"},
          {"negative x extent", with(base, [&](ConvArgs& a) { a.x.n = -1; }), UPS_STATUS_BAD_EXTENT, "x"},
          {"negative kernel extent", with(base, [&](ConvArgs& a) { a.w.spatial[1] = -3; }), UPS_STATUS_BAD_EXTENT, "w"},
          {"negative y extent", with(base, [&](ConvArgs& a) { a.y.c = -6; }), UPS_STATUS_BAD_EXTENT, "y"},
          {"x spatial_dims 0", with(base, [&](ConvArgs& a) { a.x.spatial_dims = 0; }), UPS_STATUS_BAD_EXTENT, "x"},
          {"x spatial_dims 4", with(base, [&](ConvArgs& a) { a.x.spatial_dims = 4; }), UPS_STATUS_BAD_EXTENT, "x"},
          {"conv spatial_dims 0", with(base, [&](ConvArgs& a) { a.conv.spatial_dims = 0; }), UPS_STATUS_BAD_EXTENT,
           "spatial_dims"},
          {"conv spatial_dims 4", with(base, [&](ConvArgs& a) { a.conv.spatial_dims = 4; }), UPS_STATUS_BAD_EXTENT,
           "spatial_dims"},
          {"y extent off by one", with(base, [&](ConvArgs& a) { a.y.spatial[1] = 7; }), UPS_STATUS_SHAPE_MISMATCH, "y"},
          {"y channels = C_out/groups", with(base, [&](ConvArgs& a) { a.y.c = 3; }), UPS_STATUS_SHAPE_MISMATCH, "y"},
          {"y batch", with(base, [&](ConvArgs& a) { a.y.n = 1; }), UPS_STATUS_SHAPE_MISMATCH, "y"},
          {"w C_in differs from x", with(base, [&](ConvArgs& a) { a.w.n = 2; }), UPS_STATUS_SHAPE_MISMATCH, "w"},
          {"stride 0", with(base, [&](ConvArgs& a) { a.conv.stride[1] = 0; }), UPS_STATUS_BAD_PARAMETER, "stride"},
          {"dilation 0", with(base, [&](ConvArgs& a) { a.conv.dilation[0] = 0; }), UPS_STATUS_BAD_PARAMETER,
           "dilation"},
          {"negative pad_begin", with(base, [&](ConvArgs& a) { a.conv.pad_begin[0] = -1; }), UPS_STATUS_BAD_PARAMETER,
           "pad_begin"},
          {"negative pad_end", with(base, [&](ConvArgs& a) { a.conv.pad_end[1] = -1; }), UPS_STATUS_BAD_PARAMETER,
           "pad_end"},
          {"padding larger than the output",
           with(base, [&](ConvArgs& a) { a.conv.pad_begin[0] = 4, a.conv.pad_end[0] = 4; }), UPS_STATUS_BAD_PARAMETER,
           "padding"},
          {"zero spatial extent (PyTorch's rule too)", with(base, [&](ConvArgs& a) { a.x.spatial[1] = 0; }),
           UPS_STATUS_BAD_EXTENT, "x"},
          {"output_padding == stride", with(base, [&](ConvArgs& a) { a.conv.output_padding[1] = 2; }),
           UPS_STATUS_BAD_OUTPUT_PADDING, "output_padding"},
          {"negative output_padding", with(base, [&](ConvArgs& a) { a.conv.output_padding[0] = -1; }),
           UPS_STATUS_BAD_OUTPUT_PADDING, "output_padding"},
          {"output_padding == dilation > stride",
           with(base, [&](ConvArgs& a) { a.conv.stride[0] = 1, a.conv.dilation[0] = 3, a.conv.output_padding[0] = 3; }),
           UPS_STATUS_BAD_OUTPUT_PADDING, "output_padding"},
          {"groups 0", with(base, [&](ConvArgs& a) { a.conv.groups = 0; }), UPS_STATUS_BAD_GROUPS, "groups"},
          {"negative groups", with(base, [&](ConvArgs& a) { a.conv.groups = -2; }), UPS_STATUS_BAD_GROUPS, "groups"},
          {"groups not dividing C_in", with(base, [&](ConvArgs& a) { a.conv.groups = 3; }), UPS_STATUS_BAD_GROUPS,
           "groups"},
          {"x element count overflows int64", with(base, [&](ConvArgs& a) { a.x.n = kHuge, a.x.c = kHuge; }),
           UPS_STATUS_OVERFLOW, "x"},
          {"I64 conv input", with(base, [&](ConvArgs& a) { a.x.dtype = a.w.dtype = a.y.dtype = UPS_DTYPE_I64; }),
           UPS_STATUS_NOT_SUPPORTED, "x"},
          {"w dtype differs from x", with(base, [&](ConvArgs& a) { a.w.dtype = UPS_DTYPE_F64; }),
           UPS_STATUS_NOT_SUPPORTED, "w"},
          {"y dtype differs from x", with(base, [&](ConvArgs& a) { a.y.dtype = UPS_DTYPE_F16; }),
           UPS_STATUS_NOT_SUPPORTED, "y"},
          {"y layout differs from x", with(base, [&](ConvArgs& a) { a.y.layout = UPS_LAYOUT_CHANNELS_LAST; }),
           UPS_STATUS_NOT_SUPPORTED, "y"},
          {"SCATTER_ATOMIC with deterministic",
           with(base, [&](ConvArgs& a) { a.conv.algorithm = UPS_ALGO_SCATTER_ATOMIC, a.conv.deterministic = 1; }),
           UPS_STATUS_NOT_SUPPORTED, "algorithm"},
          {"unknown algorithm", with(base, [&](ConvArgs& a) { a.conv.algorithm = enum_value<upsAlgorithm_t>(7); }),
           UPS_STATUS_BAD_PARAMETER, "algorithm"},
          {"misaligned y", with(base, [&](ConvArgs& a) { a.y_data = out.data(1); }), UPS_STATUS_MISALIGNED, "y"},
          {"misaligned x", with(base, [&](ConvArgs& a) { a.x_data = static_cast<char*>(shifted.get()) + 1; }),
           UPS_STATUS_MISALIGNED, "x"},
          {"misaligned bias", with(base, [&](ConvArgs& a) { a.bias = static_cast<char*>(shifted_bias.get()) + 2; }),
           UPS_STATUS_MISALIGNED, "bias"},

          {"y overlaps w", with(base, [&](ConvArgs& a) { a.y_data = out.data(), a.w_data = out.data(8); }),
           UPS_STATUS_ALIASING, "y"},
          {"y overlaps bias", with(base, [&](ConvArgs& a) { a.bias = out.data(y.bytes.size() - 4); }),
           UPS_STATUS_ALIASING, "y"},
      },
      {&out});

  // Aliasing of y and x, both inside one sentinel buffer (which must stay as it was: the input
  // part included).
  Sentinel shared(y.bytes.size() + x.bytes.size());
  std::memcpy(shared.data(), x.data(), x.bytes.size());
  Sentinel reference_pattern(y.bytes.size() + x.bytes.size());
  std::memcpy(reference_pattern.data(), x.data(), x.bytes.size());
  expect_rejected(
      {{"y overlaps x",
        with(base, [&](ConvArgs& a) { a.x_data = shared.data(), a.y_data = shared.data(x.bytes.size() - 4); }),
        UPS_STATUS_ALIASING, "y"}},
      {});
  EXPECT_EQ(std::memcmp(static_cast<char*>(shared.data()) - Sentinel::kGuard,
                        static_cast<char*>(reference_pattern.data()) - Sentinel::kGuard,
                        y.bytes.size() + x.bytes.size() + 2 * Sentinel::kGuard),
            0)
      << "a rejected call wrote into the shared buffer";

  // Empty tensors: null data pointers are never read, and the call succeeds.
  ConvArgs a = base;
  a.x.n = 0, a.y.n = 0, a.x_data = nullptr, a.y_data = nullptr;
  EXPECT_EQ(a.run(), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
  EXPECT_TRUE(out.untouched());
  // No input channels (x and w empty, y not): every output is its channel's bias.
  HostTensor y_bias_only(y.desc);
  y_bias_only.poison();
  a = base, a.x.c = 0, a.w.n = 0, a.x_data = nullptr, a.w_data = nullptr, a.y_data = y_bias_only.data();
  EXPECT_EQ(a.run(), UPS_STATUS_SUCCESS) << "C_in = 0 (an empty weight): " << upsGetLastErrorString();
  HostTensor expected(y.desc);
  for_each_element(
      y.desc, [&](int64_t n, int64_t c, const int64_t* sp) { expected.set(offset_of(y.desc, n, c, sp), bias.get(c)); });
  EXPECT_TRUE(tensors_identical(y_bias_only, expected));
}

// =============================================================================================
// Backward
// =============================================================================================

// 1-D, x = [1, 2], w = [1, 10, 100], stride 2: y = [1, 10, 102, 20, 200]. With dy = [1..5]:
//   dx[i] = sum_k dy[2i + k] w[k]    = [1 + 20 + 300, 3 + 40 + 500]  = [321, 543]
//   dw[k] = sum_i x[i] dy[2i + k]    = [1 + 6, 2 + 8, 3 + 10]         = [7, 10, 13]
//   db    = sum dy                   = 15
// and <y, dy> = 1407 = <x, dx> = <w, dw>: the adjoint identities, by hand.
TEST(ReferenceBackwardExample, ConvTransposeGradientsByHand) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  for (upsLayout_t layout : kLayouts) {
    SCOPED_TRACE(layout_label(layout));
    const ConvGeometry g = conv_geometry(1, {2}, {3}, {2}, 1, 1, 1, {}, {}, {}, {}, 1);
    const upsConvTransposeDesc_t conv = g.desc();
    const HostTensor x = tensor_of(g.x_desc(UPS_DTYPE_F32, layout), {1, 2});
    const HostTensor w = tensor_of(g.w_desc(UPS_DTYPE_F32, layout), {1, 10, 100});
    EXPECT_EQ(logical_values(conv_forward(ref, conv, x, w)), (std::vector<double>{1, 10, 102, 20, 200}));
    const HostTensor dy = tensor_of(g.y_desc(UPS_DTYPE_F32, layout), {1, 2, 3, 4, 5});
    EXPECT_EQ(logical_values(conv_backward_data(ref, conv, dy, w, x.desc)), (std::vector<double>{321, 543}));
    EXPECT_EQ(logical_values(conv_backward_weight(ref, conv, x, dy, w.desc)), (std::vector<double>{7, 10, 13}));
    EXPECT_EQ(logical_values(conv_backward_bias(ref, conv, dy)), (std::vector<double>{15}));
  }
}

// Groups, padding and output_padding by hand: 2 groups of one channel each, k 2, stride 2,
// pad 1/0, output_padding 1: y extent (2-1)*2 - 1 + 1 + 1 + 1 = 4, landing o = 2i - 1 + k.
TEST(ReferenceBackwardExample, GroupsPaddingOutputPaddingByHand) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  const ConvGeometry g = conv_geometry(1, {2}, {2}, {2}, 2, 2, 2, {1}, {0}, {1}, {}, 1);
  const upsConvTransposeDesc_t conv = g.desc();
  ASSERT_EQ(g.out(0), 4);
  const HostTensor x = tensor_of(g.x_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST), {1, 2, 3, 4});  // c0: 1 2; c1: 3 4
  const HostTensor w =
      tensor_of(g.w_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST), {1, 2, 3, 4});  // ci0: 1 2; ci1: 3 4
  const HostTensor dy = tensor_of(g.y_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST), {1, 2, 3, 4, 5, 6, 7, 8});
  // Channel 0: i=0 lands k=1 at o=0; i=1 lands k=0,1 at o=1,2. dx0 = [dy0*w1, dy1*w0 + dy2*w1] = [2, 2+6].
  // Channel 1 (dy 5..8, w 3 4): dx1 = [5*4, 6*3 + 7*4] = [20, 46].
  EXPECT_EQ(logical_values(conv_backward_data(ref, conv, dy, w, x.desc)), (std::vector<double>{2, 8, 20, 46}));
  // dw0 = [x1*dy1, x0*dy0 + x1*dy2] = [2*2, 1*1 + 2*3] = [4, 7]; dw1 = [4*6, 3*5 + 4*7] = [24, 43].
  EXPECT_EQ(logical_values(conv_backward_weight(ref, conv, x, dy, w.desc)), (std::vector<double>{4, 7, 24, 43}));
  EXPECT_EQ(logical_values(conv_backward_bias(ref, conv, dy)), (std::vector<double>{10, 26}));
}

// <conv_t(x, w), g> = <x, backward_data(g, w)> = <w, backward_weight(x, g)>, and the bias part
// <conv_t(x, w, b) - conv_t(x, w), g> = <b, backward_bias(g)>.
TEST(ReferenceBackwardProperty, ConvTransposeGradientsAreAdjoints) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 60; ++trial) {
    const ConvGeometry g = random_conv(rng, static_cast<int>(uniform_int(rng, 1, 3)), 4);
    const upsLayout_t layout = random_layout(rng);
    SCOPED_TRACE(g.text() + " " + layout_label(layout));
    const upsConvTransposeDesc_t conv = g.desc();
    HostTensor x(g.x_desc(UPS_DTYPE_F64, layout)), w(g.w_desc(UPS_DTYPE_F64, layout)),
        b(bias_desc(UPS_DTYPE_F64, g.cout)), z(g.y_desc(UPS_DTYPE_F64, layout));
    x.fill_random(rng);
    w.fill_random(rng);
    b.fill_random(rng);
    z.fill_random(rng);
    const HostTensor y = conv_forward(ref, conv, x, w);
    const HostTensor y_bias = conv_forward(ref, conv, x, w, &b);
    const double lhs = inner(y, z), scale = inner(y, z, true) + inner(y_bias, z, true);
    const HostTensor dx = conv_backward_data(ref, conv, z, w, x.desc);
    const HostTensor dw = conv_backward_weight(ref, conv, x, z, w.desc);
    const HostTensor db = conv_backward_bias(ref, conv, z);
    EXPECT_TRUE(adjoint(lhs, inner(x, dx), scale, "<conv_t(x, w), g> vs <x, backward_data(g, w)>"));
    EXPECT_TRUE(adjoint(lhs, inner(w, dw), scale, "<conv_t(x, w), g> vs <w, backward_weight(x, g)>"));
    EXPECT_TRUE(adjoint(inner(y_bias, z) - lhs, inner(b, db), scale, "<bias part, g> vs <b, backward_bias(g)>"));
  }
}

TEST(ReferenceBackwardFiniteDifference, ConvTransposeDataWeightBias) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 12; ++trial) {
    const ConvGeometry g = random_conv(rng, static_cast<int>(uniform_int(rng, 1, 2)), 2);
    const upsLayout_t layout = random_layout(rng);
    SCOPED_TRACE(g.text() + " " + layout_label(layout));
    const upsConvTransposeDesc_t conv = g.desc();
    HostTensor x(g.x_desc(UPS_DTYPE_F64, layout)), w(g.w_desc(UPS_DTYPE_F64, layout)),
        b(bias_desc(UPS_DTYPE_F64, g.cout)), z(g.y_desc(UPS_DTYPE_F64, layout));
    x.fill_random(rng);
    w.fill_random(rng);
    b.fill_random(rng);
    z.fill_random(rng);
    const double step = 1e-3;
    EXPECT_TRUE(matches_finite_differences(
        x, conv_backward_data(ref, conv, z, w, x.desc), step,
        [&](const HostTensor& v) { return inner(conv_forward(ref, conv, v, w, &b), z); }, "dx"));
    EXPECT_TRUE(matches_finite_differences(
        w, conv_backward_weight(ref, conv, x, z, w.desc), step,
        [&](const HostTensor& v) { return inner(conv_forward(ref, conv, x, v, &b), z); }, "dw"));
    EXPECT_TRUE(matches_finite_differences(
        b, conv_backward_bias(ref, conv, z), step,
        [&](const HostTensor& v) { return inner(conv_forward(ref, conv, x, w, &v), z); }, "db"));
  }
}

// dx from (dy, w) and dw from (x, dy) give back x's and w's shapes for every geometry.
TEST(ReferenceBackwardShapes, ConvTransposeQueriesInvertTheOutputShape) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  for (int trial = 0; trial < 200; ++trial) {
    const ConvGeometry g = random_conv(rng, static_cast<int>(uniform_int(rng, 1, 3)), 4);
    const upsLayout_t layout = random_layout(rng);
    SCOPED_TRACE(g.text());
    const upsConvTransposeDesc_t conv = g.desc();
    const upsTensorDesc_t x = g.x_desc(UPS_DTYPE_BF16, layout), w = g.w_desc(UPS_DTYPE_BF16, layout),
                          y = g.y_desc(UPS_DTYPE_BF16, layout);
    upsTensorDesc_t dx, dw;
    UPS_ASSERT_OK(upsConvTransposeBackwardDataOutputDesc(&conv, &y, &w, &dx));
    EXPECT_TRUE(same_shape(dx, x));
    UPS_ASSERT_OK(upsConvTransposeBackwardWeightOutputDesc(&conv, &x, &y, &dw));
    EXPECT_TRUE(same_shape(dw, w));
  }
  // An extent that no input extent produces: k 3, s 2, p 1 (no output_padding) give out = 2*in - 1,
  // always odd.
  const ConvGeometry g = conv_geometry(2, {4, 4}, {3, 3}, {2, 2}, 2, 2, 1, {1, 1}, {1, 1});
  const upsConvTransposeDesc_t conv = g.desc();
  const upsTensorDesc_t w = g.w_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST);
  const upsTensorDesc_t bad_y = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 2, {7, 8});
  upsTensorDesc_t dx;
  EXPECT_EQ(upsConvTransposeBackwardDataOutputDesc(&conv, &bad_y, &w, &dx), UPS_STATUS_GRADIENT_SHAPE_MISMATCH);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("dy"), std::string::npos) << upsGetLastErrorString();
}

TEST(ReferenceBadInputBackward, ConvTransposeBackward) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  auto rng = make_rng();
  // x (2, 4, 3, 3), w (4, 3, 3, 3), groups 2 -> y (2, 6, 6, 6): stride 2, padding 1, output_padding 1.
  const ConvGeometry geometry = conv_geometry(2, {3, 3}, {3, 3}, {2, 2}, 4, 6, 2, {1, 1}, {1, 1}, {1, 1});
  const upsConvTransposeDesc_t conv = geometry.desc();
  HostTensor x(geometry.x_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST)),
      w(geometry.w_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST)),
      dy(geometry.y_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST));
  x.fill_random(rng);
  w.fill_random(rng);
  dy.fill_random(rng);
  Guarded dx(x.desc), dw(w.desc), db(bias_desc(UPS_DTYPE_F32, 6));
  UPS_ASSERT_OK(
      upsConvTransposeBackwardData(h.get(), &conv, &dy.desc, dy.data(), &w.desc, w.data(), &dx.desc(), dx.data()));
  UPS_ASSERT_OK(
      upsConvTransposeBackwardWeight(h.get(), &conv, &x.desc, x.data(), &dy.desc, dy.data(), &dw.desc(), dw.data()));
  UPS_ASSERT_OK(upsConvTransposeBackwardBias(h.get(), &conv, &dy.desc, dy.data(), db.data()));
  EXPECT_STREQ(upsGetLastErrorString(), "");

  Guarded out_x(x.desc), out_w(w.desc), out_b(bias_desc(UPS_DTYPE_F32, 6));
  const upsTensorDesc_t wrong_dy = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 6, {6, 5});
  // dw with the wrong C_in, the wrong kernel (then dy no longer matches), the wrong dtype.
  upsTensorDesc_t dw_cin = w.desc, dw_kernel = w.desc, dw_dtype = w.desc;
  dw_cin.n = 2;
  dw_kernel.spatial[0] = 2;
  dw_dtype.dtype = UPS_DTYPE_F64;
  // w that does not fit dx.
  upsTensorDesc_t w_wrong = w.desc;
  w_wrong.n = 3;
  // Algorithms: the data gradient has no SCATTER_ATOMIC; determinism rules SCATTER_ATOMIC out.
  upsConvTransposeDesc_t atomic = conv;
  atomic.algorithm = UPS_ALGO_SCATTER_ATOMIC;
  UPS_ASSERT_OK(
      upsConvTransposeBackwardWeight(h.get(), &atomic, &x.desc, x.data(), &dy.desc, dy.data(), &dw.desc(), dw.data()));
  upsConvTransposeDesc_t atomic_deterministic = atomic;
  atomic_deterministic.deterministic = 1;
  // A dy of the wrong rank for the bias gradient.
  const upsTensorDesc_t dy_1d = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 6, {36});
  expect_rejected(
      {
          {"data: dy of the wrong shape",
           [&] {
             return upsConvTransposeBackwardData(h.get(), &conv, &wrong_dy, dy.data(), &w.desc, w.data(), &out_x.desc(),
                                                 out_x.data());
           },
           UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: expected shape (N=2, C=6, H=6, W=6)"},
          {"weight: dy of the wrong shape",
           [&] {
             return upsConvTransposeBackwardWeight(h.get(), &conv, &x.desc, x.data(), &wrong_dy, dy.data(),
                                                   &out_w.desc(), out_w.data());
           },
           UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: expected shape (N=2, C=6, H=6, W=6)"},
          {"weight: dw with the wrong C_in",
           [&] {
             return upsConvTransposeBackwardWeight(h.get(), &conv, &x.desc, x.data(), &dy.desc, dy.data(), &dw_cin,
                                                   out_w.data());
           },
           UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dw: expected N = C_in = 4"},
          {"weight: dw with the wrong kernel (dy no longer matches)",
           [&] {
             return upsConvTransposeBackwardWeight(h.get(), &conv, &x.desc, x.data(), &dy.desc, dy.data(), &dw_kernel,
                                                   out_w.data());
           },
           UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy"},
          {"weight: dw of another dtype",
           [&] {
             return upsConvTransposeBackwardWeight(h.get(), &conv, &x.desc, x.data(), &dy.desc, dy.data(), &dw_dtype,
                                                   out_w.data());
           },
           UPS_STATUS_NOT_SUPPORTED, "dw.dtype"},
          {"data: w that does not fit dx",
           [&] {
             return upsConvTransposeBackwardData(h.get(), &conv, &dy.desc, dy.data(), &w_wrong, w.data(), &out_x.desc(),
                                                 out_x.data());
           },
           UPS_STATUS_SHAPE_MISMATCH, "w"},
          {"data: SCATTER_ATOMIC",
           [&] {
             return upsConvTransposeBackwardData(h.get(), &atomic, &dy.desc, dy.data(), &w.desc, w.data(),
                                                 &out_x.desc(), out_x.data());
           },
           UPS_STATUS_NOT_SUPPORTED, "algorithm"},
          {"weight: SCATTER_ATOMIC with deterministic",
           [&] {
             return upsConvTransposeBackwardWeight(h.get(), &atomic_deterministic, &x.desc, x.data(), &dy.desc,
                                                   dy.data(), &out_w.desc(), out_w.data());
           },
           UPS_STATUS_NOT_SUPPORTED, "algorithm"},
          {"bias: SCATTER_ATOMIC with deterministic",
           [&] {
             return upsConvTransposeBackwardBias(h.get(), &atomic_deterministic, &dy.desc, dy.data(), out_b.data());
           },
           UPS_STATUS_NOT_SUPPORTED, "algorithm"},
          {"bias: null db", [&] { return upsConvTransposeBackwardBias(h.get(), &conv, &dy.desc, dy.data(), nullptr); },
           UPS_STATUS_NULL_POINTER, "db"},
          {"bias: dy of the wrong rank",
           [&] { return upsConvTransposeBackwardBias(h.get(), &conv, &dy_1d, dy.data(), out_b.data()); },
           UPS_STATUS_SHAPE_MISMATCH, "dy.spatial_dims"},
          {"bias: db aliasing dy",
           [&] { return upsConvTransposeBackwardBias(h.get(), &conv, &dy.desc, dy.data(), dy.data()); },
           UPS_STATUS_ALIASING, "db"},
          {"bias workspace query: null size",
           [&] { return upsConvTransposeBackwardBiasWorkspaceSize(h.get(), &conv, &dy.desc, nullptr); },
           UPS_STATUS_NULL_POINTER, "workspace_bytes"},
      },
      {&out_x, &out_w, &out_b});
  // Queries: algorithm and workspace.
  upsAlgorithm_t chosen = UPS_ALGO_SCATTER_ATOMIC;
  upsConvTransposeDesc_t deterministic = conv;
  deterministic.deterministic = 1;
  UPS_ASSERT_OK(
      upsConvTransposeBackwardWeightChooseAlgorithm(h.get(), &deterministic, &x.desc, &dy.desc, &w.desc, &chosen));
  EXPECT_EQ(chosen, UPS_ALGO_GATHER);
  size_t bytes = 1;
  UPS_ASSERT_OK(upsConvTransposeBackwardWeightWorkspaceSize(h.get(), &conv, &x.desc, &dy.desc, &w.desc, &bytes));
  EXPECT_EQ(bytes, 0u);
  bytes = 1;
  UPS_ASSERT_OK(upsConvTransposeBackwardBiasWorkspaceSize(h.get(), &conv, &dy.desc, &bytes));
  EXPECT_EQ(bytes, 0u);
}

// Empty tensors succeed without writing; an empty reduction (N = 0) writes zeros.
TEST(ReferenceBackwardEmpty, EmptyTensorsWriteNothingOrZeros) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const ConvGeometry geometry = conv_geometry(2, {3, 3}, {2, 2}, {2, 2}, 2, 3, 1, {}, {}, {}, {}, 0);
  const upsConvTransposeDesc_t conv = geometry.desc();
  const upsTensorDesc_t x = geometry.x_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST);
  const upsTensorDesc_t y = geometry.y_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST);
  HostTensor dw(geometry.w_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST)), db(bias_desc(UPS_DTYPE_F32, 3));
  dw.poison();
  db.poison();
  UPS_ASSERT_OK(upsConvTransposeBackwardData(h.get(), &conv, &y, nullptr, &dw.desc, dw.data(), &x, nullptr));
  UPS_ASSERT_OK(upsConvTransposeBackwardWeight(h.get(), &conv, &x, nullptr, &y, nullptr, &dw.desc, dw.data()));
  UPS_ASSERT_OK(upsConvTransposeBackwardBias(h.get(), &conv, &y, nullptr, db.data()));
  EXPECT_TRUE(tensors_identical(dw, filled(dw.desc, 0.0)));
  EXPECT_TRUE(tensors_identical(db, filled(db.desc, 0.0)));
}

}  // namespace
}  // namespace upsample::test

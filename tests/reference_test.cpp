// The REFERENCE backend against the specification in upsample.h: host memory, plain loops.
//
// Every other suite trusts this backend as its oracle, so nothing here compares it with itself
// alone. The checks come from outside the library:
//   1. Worked examples, written out literally and checked by hand.
//   2. Properties on seeded random shapes and data: adjointness against an independent direct
//      convolution, identities between ops, layout/rank/dtype agreement, linearity, bias.
//   3. Output-shape functions against a table of PyTorch shapes.
//   4. Every documented bad-input class: its status, a message naming the argument, and an
//      output buffer left byte-for-byte untouched.
//   5. The C++ layer (upsample.hpp).
// Inputs are random and fresh every run (the seed is printed on failure, UPS_TEST_SEED replays
// it); outputs are poisoned (NaN) before every call, so an unwritten element fails.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"
#include "upsample/upsample.hpp"

namespace upsample::test {
namespace {

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------
const upsLayout_t kLayouts[] = {UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST};
const upsDataType_t kNarrowDtypes[] = {UPS_DTYPE_F32, UPS_DTYPE_F16, UPS_DTYPE_BF16};

const char* layout_label(upsLayout_t layout) { return layout == UPS_LAYOUT_CHANNELS_FIRST ? "NC..." : "N...C"; }

int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

std::string shape_text(const upsTensorDesc_t& d) {
  std::string s = std::string(dtype_label(d.dtype)) + " " + layout_label(d.layout) + " (" + std::to_string(d.n) +
                  ", " + std::to_string(d.c);
  for (int i = 0; i < d.spatial_dims; ++i) s += ", " + std::to_string(d.spatial[i]);
  return s + ")";
}

// Calls f(n, c, s) for every element in logical order: n, c, then the spatial axes outermost
// first (s holds spatial_dims coordinates). The i-th call is logical element i.
template <typename F>
void for_each_element(const upsTensorDesc_t& d, F&& f) {
  int64_t extent[3] = {1, 1, 1};
  for (int a = 0; a < d.spatial_dims; ++a) extent[a] = d.spatial[a];
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t s0 = 0; s0 < extent[0]; ++s0)
        for (int64_t s1 = 0; s1 < extent[1]; ++s1)
          for (int64_t s2 = 0; s2 < extent[2]; ++s2) {
            const int64_t s[3] = {s0, s1, s2};
            f(n, c, s);
          }
}

// A tensor of `desc` (any layout) holding `logical`, given in channels-first order.
HostTensor tensor_of(const upsTensorDesc_t& desc, const std::vector<double>& logical) {
  HostTensor t(desc);
  EXPECT_EQ(static_cast<int64_t>(logical.size()), t.size()) << "literal has the wrong element count";
  int64_t i = 0;
  for_each_element(desc, [&](int64_t n, int64_t c, const int64_t* s) {
    t.set(offset_of(desc, n, c, s), i < static_cast<int64_t>(logical.size()) ? logical[static_cast<size_t>(i)] : 0);
    ++i;
  });
  return t;
}

// The same logical tensor in another layout and/or dtype (values rounded to the new dtype).
HostTensor converted(const HostTensor& t, upsDataType_t dtype, upsLayout_t layout) {
  upsTensorDesc_t d = t.desc;
  d.dtype = dtype;
  d.layout = layout;
  HostTensor out(d);
  for_each_element(t.desc, [&](int64_t n, int64_t c, const int64_t* s) {
    out.set(offset_of(d, n, c, s), t.get(offset_of(t.desc, n, c, s)));
  });
  return out;
}

// Integer index tensors (I64) in logical order.
HostTensor indices_of(const upsTensorDesc_t& desc, const std::vector<int64_t>& logical) {
  HostTensor t(desc);
  int64_t i = 0;
  for_each_element(desc, [&](int64_t n, int64_t c, const int64_t* s) {
    t.as_i64()[offset_of(desc, n, c, s)] = logical[static_cast<size_t>(i++)];
  });
  return t;
}

HostTensor converted_indices(const HostTensor& t, upsLayout_t layout) {
  upsTensorDesc_t d = t.desc;
  d.layout = layout;
  HostTensor out(d);
  for_each_element(t.desc, [&](int64_t n, int64_t c, const int64_t* s) {
    out.as_i64()[offset_of(d, n, c, s)] = t.as_i64()[offset_of(t.desc, n, c, s)];
  });
  return out;
}

// A reference handle for one test.
#define UPS_REFERENCE_HANDLE(name)          \
  HandleGuard name(UPS_BACKEND_REFERENCE);  \
  UPS_ASSERT_OK(name.status())

// One call of each op on fresh, poisoned outputs. A failing status is recorded as a test failure
// and the poisoned output comes back (so later comparisons fail too).
HostTensor run_conv(upsHandle_t h, const upsConvTransposeDesc_t& conv, const HostTensor& x, const HostTensor& w,
                    const HostTensor* bias = nullptr) {
  upsTensorDesc_t y_desc{};
  upsStatus_t status = upsConvTransposeOutputDesc(&conv, &x.desc, &w.desc, &y_desc);
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  if (status != UPS_STATUS_SUCCESS) return HostTensor();
  HostTensor y(y_desc);
  y.poison();
  status = upsConvTransposeForward(h, &conv, &x.desc, x.data(), &w.desc, w.data(),
                                   bias != nullptr ? bias->data() : nullptr, &y_desc, y.data());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  return y;
}

HostTensor run_unpool(upsHandle_t h, const upsUnpoolDesc_t& desc, const HostTensor& x) {
  upsTensorDesc_t y_desc{};
  upsStatus_t status = upsUnpoolOutputDesc(&desc, &x.desc, &y_desc);
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  if (status != UPS_STATUS_SUCCESS) return HostTensor();
  HostTensor y(y_desc);
  y.poison();
  status = upsUnpoolForward(h, &desc, &x.desc, x.data(), &y_desc, y.data());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  return y;
}

struct Pooled {
  HostTensor y, indices;
};

Pooled run_max_pool(upsHandle_t h, const upsPoolDesc_t& desc, const HostTensor& x) {
  upsTensorDesc_t y_desc{}, i_desc{};
  upsStatus_t status = upsMaxPoolOutputDesc(&desc, &x.desc, &y_desc, &i_desc);
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  if (status != UPS_STATUS_SUCCESS) return {};
  Pooled p{HostTensor(y_desc), HostTensor(i_desc)};
  p.y.poison();
  p.indices.poison();
  status = upsMaxPoolForward(h, &desc, &x.desc, x.data(), &y_desc, p.y.data(), &i_desc, p.indices.as_i64());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  return p;
}

HostTensor run_max_unpool(upsHandle_t h, const upsPoolDesc_t& desc, const HostTensor& x, const HostTensor& indices,
                          const int64_t* output_size = nullptr) {
  upsTensorDesc_t y_desc{};
  upsStatus_t status = upsMaxUnpoolOutputDesc(&desc, &x.desc, output_size, &y_desc);
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  if (status != UPS_STATUS_SUCCESS) return HostTensor();
  HostTensor y(y_desc);
  y.poison();
  status = upsMaxUnpoolForward(h, &desc, &x.desc, x.data(), &indices.desc, indices.as_i64(), &y_desc, y.data());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  return y;
}

upsConvTransposeDesc_t conv_desc(int dims, std::vector<int64_t> stride = {}, std::vector<int64_t> pad_begin = {},
                                 std::vector<int64_t> pad_end = {}, std::vector<int64_t> output_padding = {},
                                 std::vector<int64_t> dilation = {}, int64_t groups = 1) {
  upsConvTransposeDesc_t d;
  EXPECT_EQ(upsConvTransposeDescInit(&d, dims), UPS_STATUS_SUCCESS);
  for (int a = 0; a < dims; ++a) {
    const size_t i = static_cast<size_t>(a);
    if (i < stride.size()) d.stride[a] = stride[i];
    if (i < pad_begin.size()) d.pad_begin[a] = pad_begin[i];
    if (i < pad_end.size()) d.pad_end[a] = pad_end[i];
    if (i < output_padding.size()) d.output_padding[a] = output_padding[i];
    if (i < dilation.size()) d.dilation[a] = dilation[i];
  }
  d.groups = groups;
  return d;
}

upsPoolDesc_t pool_desc(std::vector<int64_t> kernel, std::vector<int64_t> stride = {}, std::vector<int64_t> padding = {},
                        std::vector<int64_t> dilation = {}, bool ceil_mode = false) {
  upsPoolDesc_t d{};
  d.spatial_dims = static_cast<int>(kernel.size());
  for (size_t i = 0; i < kernel.size(); ++i) {
    d.kernel[i] = kernel[i];
    d.stride[i] = i < stride.size() ? stride[i] : kernel[i];
    d.padding[i] = i < padding.size() ? padding[i] : 0;
    d.dilation[i] = i < dilation.size() ? dilation[i] : 1;
  }
  d.ceil_mode = ceil_mode ? 1 : 0;
  return d;
}

upsUnpoolDesc_t unpool_desc(upsUnpoolMode_t mode, std::vector<int64_t> scale) {
  upsUnpoolDesc_t d{};
  d.mode = mode;
  d.spatial_dims = static_cast<int>(scale.size());
  for (size_t i = 0; i < scale.size(); ++i) d.scale[i] = scale[i];
  return d;
}

::testing::AssertionResult same_shape(const upsTensorDesc_t& a, const upsTensorDesc_t& b) {
  bool same = a.dtype == b.dtype && a.layout == b.layout && a.spatial_dims == b.spatial_dims && a.n == b.n &&
              a.c == b.c;
  for (int i = 0; same && i < a.spatial_dims; ++i) same = a.spatial[i] == b.spatial[i];
  if (same) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << shape_text(a) << " vs " << shape_text(b);
}

// =============================================================================================
// 1. Worked examples, by hand
// =============================================================================================
// Each expected tensor below is written out literally and was checked by hand from the
// definitions in upsample.h; the ops must reproduce it exactly in every layout.

// The worked example of transposed convolution: each input value scales a copy of the kernel,
// copies overlap and sum. stride 1, no padding: 2x2 input, 3x3 kernel -> 4x4.
TEST(ReferenceConvTransposeExample, WorkedExampleIsExact) {
  UPS_REFERENCE_HANDLE(h);
  const std::vector<double> x_values = {2, 0, 4, 1};
  const std::vector<double> w_values = {4, 2, 1, 1, 0, 3, 0, 5, 2};
  const std::vector<double> expected = {8, 4, 2, 0, 18, 12, 12, 1, 4, 11, 16, 3, 0, 20, 13, 2};
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 1, {2, 2}), x_values);
      const HostTensor w = tensor_of(make_desc(dtype, layout, 1, 1, {3, 3}), w_values);
      const HostTensor y = run_conv(h.get(), conv_desc(2), x, w);
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
  const std::vector<double> x_values = {2, 0, 4, 1, /**/ 1, 0, 0, 0};
  const std::vector<double> k = {4, 2, 1, 1, 0, 3, 0, 5, 2};
  const std::vector<double> j = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<double> w_values;  // logical (ci, co, kh, kw)
  for (double v : k) w_values.push_back(v);
  for (double v : k) w_values.push_back(-v);
  for (double v : j) w_values.push_back(v);
  for (double v : j) w_values.push_back(2 * v);
  const std::vector<double> expected = {
      9,  6,  5,  0,  22,  17, 18, 1,  11, 19, 25, 3, 0, 20,  13,  2,   // y[0] = E + J
      -6, 0,  4,  0,  -10, -2, 0,  -1, 10, 5,  2,  -3, 0, -20, -13, -2  // y[1] = -E + 2J
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
      const HostTensor y = run_conv(h.get(), conv_desc(2), x, w);
      ASSERT_TRUE(same_shape(y.desc, make_desc(dtype, layout, 1, 2, {4, 4})));
      EXPECT_TRUE(tensors_identical(y, tensor_of(y.desc, expected)));

      const HostTensor wg = tensor_of(make_desc(dtype, layout, 2, 1, {3, 3}), w_grouped);
      const HostTensor yg = run_conv(h.get(), conv_desc(2, {}, {}, {}, {}, {}, /*groups=*/2), x, wg);
      ASSERT_TRUE(same_shape(yg.desc, make_desc(dtype, layout, 1, 2, {4, 4})));
      EXPECT_TRUE(tensors_identical(yg, tensor_of(yg.desc, expected_grouped)));
    }
}

// stride 2, padding 1, output_padding 1, 3x3 ones kernel: output extent (2-1)*2 - 2 + 2 + 1 + 1 = 4.
// Along an axis, output o receives the inputs i with o = 2i - 1 + k, k in 0..2: o=0 <- {0},
// o=1 <- {0, 1}, o=2 <- {1}, o=3 <- {1} (the output_padding row, reached only by i=1, k=2).
TEST(ReferenceConvTransposeExample, StrideTwoPaddingOutputPaddingByHand) {
  UPS_REFERENCE_HANDLE(h);
  const std::vector<double> expected = {1, 3, 2, 2, 4, 10, 6, 6, 3, 7, 4, 4, 3, 7, 4, 4};
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 1, {2, 2}), {1, 2, 3, 4});
      const HostTensor w = tensor_of(make_desc(dtype, layout, 1, 1, {3, 3}), std::vector<double>(9, 1.0));
      const HostTensor y = run_conv(h.get(), conv_desc(2, {2, 2}, {1, 1}, {1, 1}, {1, 1}), x, w);
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
  const std::vector<double> expected = {0, 8, 0, 83, 0, -170, 0, 300};
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 1, {3}), {1, -2, 3});
      const HostTensor w = tensor_of(make_desc(dtype, layout, 1, 1, {3}), {1, 10, 100});
      const HostTensor y = run_conv(h.get(), conv_desc(1, {2}, {1}, {0}, {0}, {2}), x, w);
      ASSERT_TRUE(same_shape(y.desc, make_desc(dtype, layout, 1, 1, {8})));
      EXPECT_TRUE(tensors_identical(y, tensor_of(y.desc, expected)));
    }
}

// Nearest and bed-of-nails with unequal scales (2, 3), two channels of different values.
TEST(ReferenceUnpoolExample, NearestAndBedOfNailsByHand) {
  UPS_REFERENCE_HANDLE(h);
  const std::vector<double> x_values = {-1.5, 2, 3, -4, /**/ 0.25, 5, -6, 7};
  const std::vector<double> nearest = {
      -1.5, -1.5, -1.5, 2,  2,  2,   //
      -1.5, -1.5, -1.5, 2,  2,  2,   //
      3,    3,    3,    -4, -4, -4,  //
      3,    3,    3,    -4, -4, -4,  //
      0.25, 0.25, 0.25, 5,  5,  5,   //
      0.25, 0.25, 0.25, 5,  5,  5,   //
      -6,   -6,   -6,   7,  7,  7,   //
      -6,   -6,   -6,   7,  7,  7};
  const std::vector<double> nails = {
      -1.5, 0, 0, 2,  0, 0,  //
      0,    0, 0, 0,  0, 0,  //
      3,    0, 0, -4, 0, 0,  //
      0,    0, 0, 0,  0, 0,  //
      0.25, 0, 0, 5,  0, 0,  //
      0,    0, 0, 0,  0, 0,  //
      -6,   0, 0, 7,  0, 0,  //
      0,    0, 0, 0,  0, 0};
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 2, {2, 2}), x_values);
      const HostTensor y = run_unpool(h.get(), unpool_desc(UPS_UNPOOL_NEAREST, {2, 3}), x);
      ASSERT_TRUE(same_shape(y.desc, make_desc(dtype, layout, 1, 2, {4, 6})));
      EXPECT_TRUE(tensors_identical(y, tensor_of(y.desc, nearest)));
      const HostTensor z = run_unpool(h.get(), unpool_desc(UPS_UNPOOL_BED_OF_NAILS, {2, 3}), x);
      ASSERT_TRUE(same_shape(z.desc, make_desc(dtype, layout, 1, 2, {4, 6})));
      EXPECT_TRUE(tensors_identical(z, tensor_of(z.desc, nails)));
    }
  // 1-D, scale 3.
  const HostTensor x1 = tensor_of(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {2}), {7, -1});
  EXPECT_TRUE(tensors_identical(run_unpool(h.get(), unpool_desc(UPS_UNPOOL_NEAREST, {3}), x1),
                                tensor_of(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {6}),
                                          {7, 7, 7, -1, -1, -1})));
  EXPECT_TRUE(tensors_identical(run_unpool(h.get(), unpool_desc(UPS_UNPOOL_BED_OF_NAILS, {3}), x1),
                                tensor_of(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {6}),
                                          {7, 0, 0, -1, 0, 0})));
}

// Max-pool, 4x4 input:
//     1  5  2  0
//     3  4  8  7
//     6  6 -1  2
//     0  5  3  3
// k2 s2: windows {1,5,3,4} -> 5 @1; {2,0,8,7} -> 8 @6; {6,6,0,5} -> 6 @8 (tie: first);
//        {-1,2,3,3} -> 3 @14 (tie: first).
// k3 s2 p1 (overlapping, padded): out = floor((4 + 2 - 2 - 1)/2) + 1 = 2;
//        rows/cols -1..1 and 1..3: {1,5,3,4} -> 5 @1; {5,2,0,4,8,7} -> 8 @6;
//        {3,4,6,6,0,5} -> 6 @8; {4,8,7,6,-1,2,5,3,3} -> 8 @6 (one input wins two windows).
// Indices are PyTorch's flat positions h*W + w within the (n, c) plane.
TEST(ReferenceMaxPoolExample, ValuesAndIndicesByHand) {
  UPS_REFERENCE_HANDLE(h);
  const std::vector<double> x_values = {1, 5, 2, 0, 3, 4, 8, 7, 6, 6, -1, 2, 0, 5, 3, 3};
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 1, {4, 4}), x_values);
      const Pooled a = run_max_pool(h.get(), pool_desc({2, 2}), x);
      ASSERT_TRUE(same_shape(a.y.desc, make_desc(dtype, layout, 1, 1, {2, 2})));
      ASSERT_TRUE(same_shape(a.indices.desc, make_desc(UPS_DTYPE_I64, layout, 1, 1, {2, 2})));
      EXPECT_TRUE(tensors_identical(a.y, tensor_of(a.y.desc, {5, 8, 6, 3})));
      EXPECT_TRUE(tensors_identical(a.indices, indices_of(a.indices.desc, {1, 6, 8, 14})));

      const Pooled b = run_max_pool(h.get(), pool_desc({3, 3}, {2, 2}, {1, 1}), x);
      ASSERT_TRUE(same_shape(b.y.desc, make_desc(dtype, layout, 1, 1, {2, 2})));
      EXPECT_TRUE(tensors_identical(b.y, tensor_of(b.y.desc, {5, 8, 6, 8})));
      EXPECT_TRUE(tensors_identical(b.indices, indices_of(b.indices.desc, {1, 6, 8, 6})));
    }
}

// Padding never wins: all values negative, 1-D k3 s1 p1 on x = [-3, -5, -2, -4]:
// windows {-3,-5} -> -3 @0, {-3,-5,-2} -> -2 @2, {-5,-2,-4} -> -2 @2, {-2,-4} -> -2 @2.
// A NaN wins over any number; of several NaNs the last in scan order wins:
// x = [1, NaN, 9, NaN, 2], k3 s2: windows {1,NaN,9} -> NaN @1, {9,NaN,2} -> NaN @3;
// k5 s1 on the same x: {1,NaN,9,NaN,2} -> NaN @3 (the last NaN).
// Dilation 2 and ceil mode, 1-D x = [4, 1, 7, 2, 9, 3, 8]: k2 s2 d2 ceil: out = ceil((7-2-1)/2)+1 = 3
// (last window starts at 4 < 7), windows {4,7} -> 7 @2, {7,9} -> 9 @4, {9,8} -> 9 @4.
TEST(ReferenceMaxPoolExample, PaddingNaNDilationCeilByHand) {
  UPS_REFERENCE_HANDLE(h);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor neg = tensor_of(make_desc(dtype, layout, 1, 1, {4}), {-3, -5, -2, -4});
      const Pooled a = run_max_pool(h.get(), pool_desc({3}, {1}, {1}), neg);
      EXPECT_TRUE(tensors_identical(a.y, tensor_of(a.y.desc, {-3, -2, -2, -2})));
      EXPECT_TRUE(tensors_identical(a.indices, indices_of(a.indices.desc, {0, 2, 2, 2})));

      const HostTensor with_nan = tensor_of(make_desc(dtype, layout, 1, 1, {5}), {1, nan, 9, nan, 2});
      const Pooled b = run_max_pool(h.get(), pool_desc({3}, {2}), with_nan);
      ASSERT_EQ(b.y.size(), 2);
      EXPECT_TRUE(std::isnan(b.y.get(0)) && std::isnan(b.y.get(1))) << b.y.get(0) << " " << b.y.get(1);
      EXPECT_TRUE(tensors_identical(b.indices, indices_of(b.indices.desc, {1, 3})));
      const Pooled c = run_max_pool(h.get(), pool_desc({5}, {1}), with_nan);
      ASSERT_EQ(c.y.size(), 1);
      EXPECT_TRUE(std::isnan(c.y.get(0)));
      EXPECT_EQ(c.indices.as_i64()[0], 3) << "of several NaNs the last in scan order wins";

      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 1, {7}), {4, 1, 7, 2, 9, 3, 8});
      const Pooled d = run_max_pool(h.get(), pool_desc({2}, {2}, {0}, {2}, /*ceil_mode=*/true), x);
      EXPECT_TRUE(tensors_identical(d.y, tensor_of(d.y.desc, {7, 9, 9})));
      EXPECT_TRUE(tensors_identical(d.indices, indices_of(d.indices.desc, {2, 4, 4})));
    }
}

// Max-unpool: the pooled values of the 4x4 example with their indices go back to
// y[1] = 5, y[6] = 8, y[8] = 6, y[14] = 3, zeros elsewhere. With an explicit output size 5x5
// (default 4 +- stride 2, exclusive) the same flat indices land at (0,1), (1,1), (1,3), (2,4).
// Duplicates: x = [1, 2, 3] with indices [0, 0, 2] (k2 s1, extent (3-1)*1 + 2 = 4): the later
// input wins, y = [2, 0, 3, 0].
TEST(ReferenceMaxUnpoolExample, PlacementOutputSizeAndDuplicatesByHand) {
  UPS_REFERENCE_HANDLE(h);
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 1, {2, 2}), {5, 8, 6, 3});
      const HostTensor idx = indices_of(make_desc(UPS_DTYPE_I64, layout, 1, 1, {2, 2}), {1, 6, 8, 14});
      const HostTensor y = run_max_unpool(h.get(), pool_desc({2, 2}), x, idx);
      ASSERT_TRUE(same_shape(y.desc, make_desc(dtype, layout, 1, 1, {4, 4})));
      EXPECT_TRUE(tensors_identical(y, tensor_of(y.desc, {0, 5, 0, 0, 0, 0, 8, 0, 6, 0, 0, 0, 0, 0, 3, 0})));

      const int64_t size5[2] = {5, 5};
      const HostTensor y5 = run_max_unpool(h.get(), pool_desc({2, 2}), x, idx, size5);
      ASSERT_TRUE(same_shape(y5.desc, make_desc(dtype, layout, 1, 1, {5, 5})));
      EXPECT_TRUE(tensors_identical(y5, tensor_of(y5.desc, {0, 5, 0, 0, 0,  //
                                                            0, 8, 0, 6, 0,  //
                                                            0, 0, 0, 0, 3,  //
                                                            0, 0, 0, 0, 0,  //
                                                            0, 0, 0, 0, 0})));

      const HostTensor xd = tensor_of(make_desc(dtype, layout, 1, 1, {3}), {1, 2, 3});
      const HostTensor id = indices_of(make_desc(UPS_DTYPE_I64, layout, 1, 1, {3}), {0, 0, 2});
      const HostTensor yd = run_max_unpool(h.get(), pool_desc({2}, {1}), xd, id);
      EXPECT_TRUE(tensors_identical(yd, tensor_of(yd.desc, {2, 0, 3, 0})));
    }
}

}  // namespace
}  // namespace upsample::test

// Max-pooling with indices, forward and backward, on the REFERENCE backend, against checks from
// outside the library: worked examples by hand (ties, NaN, padding, dilation, ceil mode); window
// rules from PyTorch's definition on random overlapping and padded windows; max-unpool of
// max-pool restoring each window's maximum; layout, rank and dtype agreement; adjointness and
// finite differences of the gradient; output shapes against PyTorch's table; every bad-input
// class as a table (status, message, nothing written).
// Inputs are fresh and random (UPS_TEST_SEED replays a failure); outputs are poisoned first.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

// =============================================================================================
// Forward
// =============================================================================================

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
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  const std::vector<double> x_values = {1, 5, 2, 0, 3, 4, 8, 7, 6, 6, -1, 2, 0, 5, 3, 3};
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 1, {4, 4}), x_values);
      const Pooled a = max_pool_forward(ref, pool_desc({2, 2}), x);
      ASSERT_TRUE(same_shape(a.y.desc, make_desc(dtype, layout, 1, 1, {2, 2})));
      ASSERT_TRUE(same_shape(a.indices.desc, make_desc(UPS_DTYPE_I64, layout, 1, 1, {2, 2})));
      EXPECT_TRUE(tensors_identical(a.y, tensor_of(a.y.desc, {5, 8, 6, 3})));
      EXPECT_TRUE(tensors_identical(a.indices, indices_of(a.indices.desc, {1, 6, 8, 14})));

      const Pooled b = max_pool_forward(ref, pool_desc({3, 3}, {2, 2}, {1, 1}), x);
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
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor neg = tensor_of(make_desc(dtype, layout, 1, 1, {4}), {-3, -5, -2, -4});
      const Pooled a = max_pool_forward(ref, pool_desc({3}, {1}, {1}), neg);
      EXPECT_TRUE(tensors_identical(a.y, tensor_of(a.y.desc, {-3, -2, -2, -2})));
      EXPECT_TRUE(tensors_identical(a.indices, indices_of(a.indices.desc, {0, 2, 2, 2})));

      const HostTensor with_nan = tensor_of(make_desc(dtype, layout, 1, 1, {5}), {1, nan, 9, nan, 2});
      const Pooled b = max_pool_forward(ref, pool_desc({3}, {2}), with_nan);
      ASSERT_EQ(b.y.size(), 2);
      EXPECT_TRUE(std::isnan(b.y.get(0)) && std::isnan(b.y.get(1))) << b.y.get(0) << " " << b.y.get(1);
      EXPECT_TRUE(tensors_identical(b.indices, indices_of(b.indices.desc, {1, 3})));
      const Pooled c = max_pool_forward(ref, pool_desc({5}, {1}), with_nan);
      ASSERT_EQ(c.y.size(), 1);
      EXPECT_TRUE(std::isnan(c.y.get(0)));
      EXPECT_EQ(c.indices.as_i64()[0], 3) << "of several NaNs the last in scan order wins";

      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 1, {7}), {4, 1, 7, 2, 9, 3, 8});
      const Pooled d = max_pool_forward(ref, pool_desc({2}, {2}, {0}, {2}, /*ceil_mode=*/true), x);
      EXPECT_TRUE(tensors_identical(d.y, tensor_of(d.y.desc, {7, 9, 9})));
      EXPECT_TRUE(tensors_identical(d.indices, indices_of(d.indices.desc, {2, 4, 4})));
    }
}

// The in-bounds positions of one pooling window in scan order, as flat indices of the input
// plane; computed here from PyTorch's definition, independently of the library.
std::vector<int64_t> window_positions(const upsPoolDesc_t& p, const upsTensorDesc_t& x, const int64_t* out) {
  std::vector<int64_t> positions;
  int64_t taps = 1;
  for (int a = 0; a < p.spatial_dims; ++a) taps *= p.kernel[a];
  for (int64_t t = 0; t < taps; ++t) {
    int64_t rest = t, flat = 0, stride = 1;
    bool inside = true;
    for (int a = p.spatial_dims - 1; a >= 0; --a) {
      const int64_t k = rest % p.kernel[a];
      rest /= p.kernel[a];
      const int64_t i = out[a] * p.stride[a] - p.padding[a] + k * p.dilation[a];
      inside = inside && i >= 0 && i < x.spatial[a];
      flat += i * stride;
      stride *= x.spatial[a];
    }
    if (inside) positions.push_back(flat);
  }
  return positions;
}

// Logical element (n, c, flat position in the plane) of a tensor.
double value_at(const HostTensor& t, int64_t n, int64_t c, int64_t flat) {
  int64_t s[3] = {0, 0, 0};
  for (int a = t.desc.spatial_dims - 1; a >= 0; --a) {
    s[a] = flat % t.desc.spatial[a];
    flat /= t.desc.spatial[a];
  }
  return t.get(offset_of(t.desc, n, c, s));
}

// Non-overlapping windows (kernel == stride): max-unpool(max-pool(x)) puts every window's
// maximum back where it was and zeros everywhere else (also over the rows/columns that no
// window covers). The output size is given explicitly as x's own extents (within a stride of
// the default, as PyTorch's output_size), so flat indices of x's plane address y's plane.
TEST(ReferenceMaxPoolProperty, UnpoolOfPoolRestoresMaximaKernelEqualsStride) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 30; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    std::vector<int64_t> kernel, extent;
    for (int a = 0; a < dims; ++a) {
      kernel.push_back(uniform_int(rng, 1, 3));
      extent.push_back(uniform_int(rng, kernel.back(), dims == 3 ? 5 : 7));
    }
    const upsPoolDesc_t pool = pool_desc(kernel);
    const upsDataType_t dtype = trial % 2 ? UPS_DTYPE_F32 : UPS_DTYPE_F64;
    HostTensor x(make_desc(dtype, random_layout(rng), uniform_int(rng, 1, 2), uniform_int(rng, 1, 3), extent));
    SCOPED_TRACE(shape_text(x.desc) + " " + pool_text(pool));
    // Distinct non-zero reals: one maximum per window, and a zero in y means "not a maximum".
    x.fill_random(rng, 1.0, 2.0);
    for (int64_t i = 0; i < x.size(); ++i)
      if (uniform_int(rng, 0, 1)) x.set(i, -x.get(i));
    const Pooled pooled = max_pool_forward(ref, pool, x);
    const HostTensor y = max_unpool_forward(ref, pool, pooled.y, pooled.indices, x.desc.spatial);
    ASSERT_TRUE(same_shape(y.desc, x.desc));

    // The expected result, from the windows alone.
    HostTensor expected(x.desc);
    for (int64_t i = 0; i < expected.size(); ++i) expected.set(i, 0.0);
    for_each_element(pooled.y.desc, [&](int64_t n, int64_t c, const int64_t* o) {
      const std::vector<int64_t> window = window_positions(pool, x.desc, o);
      int64_t best = window.front();
      for (int64_t p : window)
        if (value_at(x, n, c, p) > value_at(x, n, c, best)) best = p;
      int64_t s[3] = {0, 0, 0}, rest = best;
      for (int a = dims - 1; a >= 0; --a)
        s[a] = rest % extent[static_cast<size_t>(a)], rest /= extent[static_cast<size_t>(a)];
      expected.set(offset_of(expected.desc, n, c, s), value_at(x, n, c, best));
    });
    EXPECT_TRUE(tensors_identical(y, expected));
  }
}

// Overlapping and padded windows (stride < kernel, padding, dilation, ceil mode), on few
// distinct integer values (ties everywhere), sometimes all negative (a padding zero would win
// if padding took part), sometimes with NaNs. For every pooled element:
//   - its index is an in-bounds position of its window (padding never wins);
//   - its value is x at that index, bit for bit;
//   - without NaN in the window: the value is >= every value of the window, and the index is
//     the first position in scan order holding the maximum (ties -> first);
//   - with NaN in the window: the value is NaN and the index is the last NaN in scan order.
TEST(ReferenceMaxPoolProperty, OverlappingWindowsFollowPyTorchRules) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  int checked_windows = 0, nan_windows = 0, tie_windows = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    upsPoolDesc_t pool{};
    pool.spatial_dims = dims;
    std::vector<int64_t> extent;
    for (int a = 0; a < dims; ++a) {
      pool.kernel[a] = uniform_int(rng, 1, 4);
      pool.stride[a] = uniform_int(rng, 0, 3) == 0 ? uniform_int(rng, 1, 3) : uniform_int(rng, 1, pool.kernel[a]);
      pool.padding[a] = uniform_int(rng, 0, pool.kernel[a] / 2);
      pool.dilation[a] = uniform_int(rng, 0, 2) == 0 ? 2 : 1;
      extent.push_back(uniform_int(rng, 1, dims == 3 ? 5 : 8));
    }
    pool.ceil_mode = static_cast<int>(uniform_int(rng, 0, 1));
    const upsDataType_t dtype = trial % 2 ? UPS_DTYPE_F32 : UPS_DTYPE_F64;
    HostTensor x(make_desc(dtype, random_layout(rng), uniform_int(rng, 1, 2), uniform_int(rng, 1, 3), extent));
    upsTensorDesc_t y_desc, i_desc;
    if (upsMaxPoolOutputDesc(&pool, &x.desc, &y_desc, &i_desc) != UPS_STATUS_SUCCESS) continue;  // window too large
    SCOPED_TRACE(shape_text(x.desc) + " " + pool_text(pool));
    const bool all_negative = trial % 3 == 0;
    x.fill_random(rng, all_negative ? -4 : -2, all_negative ? -1 : 2, /*integers=*/true);
    if (trial % 4 == 1)
      for (int nans = 0; nans < 3; ++nans) x.set(uniform_int(rng, 0, x.size() - 1), std::nan(""));
    const Pooled pooled = max_pool_forward(ref, pool, x);

    for_each_element(pooled.y.desc, [&](int64_t n, int64_t c, const int64_t* o) {
      const std::vector<int64_t> window = window_positions(pool, x.desc, o);
      if (window.empty()) return;  // every tap in the padding: upsample.h rejects such geometry (BAD_PARAMETER)
      ++checked_windows;
      const int64_t index = pooled.indices.as_i64()[offset_of(pooled.indices.desc, n, c, o)];
      const double value = pooled.y.get(offset_of(pooled.y.desc, n, c, o));
      ASSERT_NE(std::find(window.begin(), window.end(), index), window.end())
          << "index " << index << " is not an in-bounds position of its window";
      const double at_index = value_at(x, n, c, index);
      EXPECT_TRUE(std::isnan(value) ? std::isnan(at_index) : value == at_index)
          << "value " << value << " but x at its index " << index << " is " << at_index;
      int64_t last_nan = -1, first_max = -1, max_count = 0;
      double max = -std::numeric_limits<double>::infinity();
      for (int64_t p : window) {
        const double v = value_at(x, n, c, p);
        if (std::isnan(v)) last_nan = p;
        if (!std::isnan(v) && (first_max < 0 || v > max)) max = v, first_max = p, max_count = 0;
        if (v == max) ++max_count;
      }
      if (last_nan >= 0) {
        ++nan_windows;
        EXPECT_TRUE(std::isnan(value));
        EXPECT_EQ(index, last_nan) << "of several NaNs the last in scan order wins";
        return;
      }
      if (max_count > 1) ++tie_windows;
      for (int64_t p : window) EXPECT_GE(value, value_at(x, n, c, p)) << "window position " << p;
      EXPECT_EQ(index, first_max) << "ties go to the first in scan order";
    });
  }
  EXPECT_GT(checked_windows, 100);
  EXPECT_GT(nan_windows, 0);
  EXPECT_GT(tie_windows, 0);
}

// ---------------------------------------------------------------------------------------------
// Layouts, ranks and dtypes (one family's share of the cross-op properties)
// ---------------------------------------------------------------------------------------------
// Overlapping, padded windows on few distinct values (ties: the tie rule must not depend on the
// layout): values, indices and the max-unpool of the result agree logically, bit for bit.
TEST(ReferenceLayoutProperty, MaxPoolAndMaxUnpoolChannelsFirstAndLastAgree) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 16; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    std::vector<int64_t> extent, kernel;
    for (int a = 0; a < dims; ++a) {
      extent.push_back(uniform_int(rng, 2, dims == 3 ? 4 : 6));
      kernel.push_back(uniform_int(rng, 1, 2));
    }
    HostTensor x(
        make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, uniform_int(rng, 1, 2), uniform_int(rng, 1, 5), extent));
    SCOPED_TRACE(shape_text(x.desc));
    x.fill_random(rng, -3, 3, /*integers=*/true);
    const HostTensor x_last = converted(x, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST);
    std::vector<int64_t> pool_stride(kernel.size(), 1), padding;
    for (int64_t k : kernel) padding.push_back(k / 2);
    const upsPoolDesc_t pool = pool_desc(kernel, pool_stride, padding);
    const Pooled first = max_pool_forward(ref, pool, x), last = max_pool_forward(ref, pool, x_last);
    EXPECT_TRUE(logically_identical(last.y, first.y));
    EXPECT_TRUE(logically_identical(last.indices, first.indices));
    EXPECT_TRUE(logically_identical(max_unpool_forward(ref, pool, last.y, last.indices),
                                    max_unpool_forward(ref, pool, first.y, first.indices)));
  }
}

// The pool descriptor with `extra` leading axes of kernel 1 and a random stride and dilation,
// which must not matter on an extent-1 axis.
upsPoolDesc_t lifted_pool(const upsPoolDesc_t& p, int extra, std::mt19937_64& rng) {
  upsPoolDesc_t out = p;
  out.spatial_dims = p.spatial_dims + extra;
  for (int a = out.spatial_dims - 1; a >= 0; --a) {
    if (a >= extra) {
      out.kernel[a] = p.kernel[a - extra], out.stride[a] = p.stride[a - extra];
      out.padding[a] = p.padding[a - extra], out.dilation[a] = p.dilation[a - extra];
    } else {
      out.kernel[a] = 1, out.padding[a] = 0;
      out.stride[a] = uniform_int(rng, 1, 3), out.dilation[a] = uniform_int(rng, 1, 2);
    }
  }
  return out;
}

// A problem lifted by extent-1 axes gives the same bytes: values, indices (flat positions do not
// change) and the max-unpool of the result (stride 1, padding: overlapping windows, ties).
TEST(ReferenceRankProperty, MaxPoolAndMaxUnpoolExtentOneAxesChangeNothing) {
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
      std::vector<int64_t> extent, kernel;
      for (int a = 0; a < dims; ++a) {
        extent.push_back(uniform_int(rng, 2, 6));
        kernel.push_back(uniform_int(rng, 1, 3));
      }
      HostTensor u(make_desc(dtype, layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 4), extent));
      SCOPED_TRACE(shape_text(u.desc));
      u.fill_random(rng, -3, 3, /*integers=*/true);
      std::vector<int64_t> ones(kernel.size(), 1), padding;
      for (int64_t k : kernel) padding.push_back(k / 2);
      const upsPoolDesc_t pool = pool_desc(kernel, ones, padding);
      const upsPoolDesc_t pool_l = lifted_pool(pool, extra, rng);
      SCOPED_TRACE(pool_text(pool_l));
      const Pooled low = max_pool_forward(ref, pool, u);
      const Pooled high = max_pool_forward(ref, pool_l, lifted(u, extra));
      EXPECT_TRUE(same_result(high.y, low.y, extra)) << "max-pool values";
      EXPECT_TRUE(same_result(high.indices, low.indices, extra)) << "max-pool indices";
      EXPECT_TRUE(same_result(max_unpool_forward(ref, pool_l, high.y, high.indices),
                              max_unpool_forward(ref, pool, low.y, low.indices), extra))
          << "max-unpool";
    }
  }
}

// Each narrow dtype (f32, f16, bf16) against f64 on values rounded to it first: max-pool and
// max-unpool add no rounding, so values and indices agree exactly.
TEST(ReferenceDtypeProperty, MaxPoolAndMaxUnpoolNarrowDtypesMatchF64) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 12; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    const upsLayout_t layout = random_layout(rng);
    std::vector<int64_t> extent, kernel;
    for (int a = 0; a < dims; ++a) {
      extent.push_back(uniform_int(rng, 2, dims == 3 ? 4 : 6));
      kernel.push_back(uniform_int(rng, 2, 3));
    }
    HostTensor u(make_desc(UPS_DTYPE_F64, layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 4), extent));
    u.fill_random(rng, -100, 100);
    std::vector<int64_t> ones(kernel.size(), 1), padding;
    for (int64_t k : kernel) padding.push_back(k / 2);
    const upsPoolDesc_t pool = pool_desc(kernel, ones, padding);
    for (upsDataType_t dtype : kNarrowDtypes) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + shape_text(u.desc) + " " + pool_text(pool));
      const HostTensor u_n = converted(u, dtype, layout), u_r = converted(u_n, UPS_DTYPE_F64, layout);
      const Pooled p_n = max_pool_forward(ref, pool, u_n), p_r = max_pool_forward(ref, pool, u_r);
      EXPECT_EQ(p_n.y.desc.dtype, dtype);
      EXPECT_TRUE(logically_identical(p_n.y, p_r.y)) << "max-pool values";
      EXPECT_TRUE(tensors_identical(p_n.indices, p_r.indices)) << "max-pool indices";
      EXPECT_TRUE(logically_identical(max_unpool_forward(ref, pool, p_n.y, p_n.indices),
                                      max_unpool_forward(ref, pool, p_r.y, p_r.indices)))
          << "max-unpool";
    }
  }
}

// Max-pool: PyTorch's pooling_output_shape,
//   out = floor_or_ceil((in + 2*pad - dilation*(kernel-1) - 1) / stride) + 1,
//   ceil mode: if (out-1)*stride >= in + pad, out -= 1.
struct PoolShapeCase {
  const char* what;
  int64_t in, kernel, stride, padding, dilation;
  int64_t floor_out, ceil_out;
};

const PoolShapeCase kPoolShapes[] = {
    {"in 5 k2 s2: floor((5-2)/2)+1 = 2, ceil 3", 5, 2, 2, 0, 1, 2, 3},
    {"in 6 k3 s2 p1: floor(5/2)+1 = 3, ceil 4 (last window starts at 5 < 6+1)", 6, 3, 2, 1, 1, 3, 4},
    {"in 5 k2 s2 p1: ceil gives 4, but window 3 starts at 6 >= 5+1: 3", 5, 2, 2, 1, 1, 3, 3},
    {"in 3 k3 s3 p1: floor 1, ceil 2 (start 3 < 3+1)", 3, 3, 3, 1, 1, 1, 2},
    {"in 4 k2 s2 (exact)", 4, 2, 2, 0, 1, 2, 2},
    {"ResNet stem 112 k3 s2 p1 -> 56", 112, 3, 2, 1, 1, 56, 57},
    {"SegNet 360 k2 s2 -> 180", 360, 2, 2, 0, 1, 180, 180},
    {"SegNet 45 k2 s2 -> 22 / 23", 45, 2, 2, 0, 1, 22, 23},
    {"dilation 2: 10 k3 s1 -> 6", 10, 3, 1, 0, 2, 6, 6},
    {"dilation 3 s2 p1: 10 k3 -> floor(5/2)+1 = 3, ceil 4", 10, 3, 2, 1, 3, 3, 4},
    {"dilation 2 s3: 10 k2 -> floor(7/3)+1 = 3, ceil 4", 10, 2, 3, 0, 2, 3, 4},
    {"dilation 2 s3: 9 k2 -> 6/3+1 = 3 either way", 9, 2, 3, 0, 2, 3, 3},
    {"kernel 1 stride 1: 7 -> 7", 7, 1, 1, 0, 1, 7, 7},
    {"stride > kernel: 10 k2 s3 -> 3, ceil 4", 10, 2, 3, 0, 1, 3, 4},
    {"window == input: 4 k4 -> 1", 4, 4, 4, 0, 1, 1, 1},
};

TEST(ReferenceShapes, MaxPoolOutputDescMatchesPyTorch) {
  for (const PoolShapeCase& row : kPoolShapes)
    for (int dims = 1; dims <= 3; ++dims)
      for (int ceil_mode = 0; ceil_mode <= 1; ++ceil_mode) {
        SCOPED_TRACE(std::string(row.what) + ", " + std::to_string(dims) + "-D" + (ceil_mode ? " ceil" : " floor"));
        std::vector<int64_t> kernel(static_cast<size_t>(dims), 1), stride(static_cast<size_t>(dims), 1),
            padding(static_cast<size_t>(dims), 0), dilation(static_cast<size_t>(dims), 1),
            in(static_cast<size_t>(dims), 3), out(static_cast<size_t>(dims), 3);
        kernel.back() = row.kernel, stride.back() = row.stride, padding.back() = row.padding;
        dilation.back() = row.dilation, in.back() = row.in;
        out.back() = ceil_mode ? row.ceil_out : row.floor_out;
        const upsPoolDesc_t pool = pool_desc(kernel, stride, padding, dilation, ceil_mode != 0);
        const upsTensorDesc_t x = make_desc(UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, 2, 3, in);
        upsTensorDesc_t y, indices;
        UPS_ASSERT_OK(upsMaxPoolOutputDesc(&pool, &x, &y, &indices));
        EXPECT_TRUE(same_shape(y, make_desc(UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, 2, 3, out)));
        EXPECT_TRUE(same_shape(indices, make_desc(UPS_DTYPE_I64, UPS_LAYOUT_CHANNELS_LAST, 2, 3, out)));
      }
  // A window larger than the padded input has no output: BAD_PARAMETER, naming the pool desc.
  const upsPoolDesc_t pool = pool_desc({3}, {1});
  const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {2});
  upsTensorDesc_t y;
  EXPECT_EQ(upsMaxPoolOutputDesc(&pool, &x, &y, nullptr), UPS_STATUS_BAD_PARAMETER);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("pool"), std::string::npos) << upsGetLastErrorString();
}

struct MaxPoolArgs {
  upsHandle_t handle = nullptr;
  upsPoolDesc_t desc{};
  upsTensorDesc_t x{}, y{}, indices{};
  const void* x_data = nullptr;
  void* y_data = nullptr;
  int64_t* indices_data = nullptr;
  bool null_desc = false, null_indices = false;

  upsStatus_t run() const {
    return upsMaxPoolForward(handle, null_desc ? nullptr : &desc, &x, x_data, &y, y_data,
                             null_indices ? nullptr : &indices, indices_data);
  }
};

TEST(ReferenceBadInput, MaxPoolRejectsEveryBadInputClass) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  // Valid: f64 x (1, 2, 5, 6), k3 s2 p1 -> y and indices (1, 2, 3, 3).
  MaxPoolArgs base;
  base.handle = h.get();
  base.desc = pool_desc({3, 3}, {2, 2}, {1, 1});
  HostTensor x(make_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST, 1, 2, {5, 6}));
  x.fill_random(rng);
  HostTensor y(make_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST, 1, 2, {3, 3}));
  HostTensor indices(make_desc(UPS_DTYPE_I64, UPS_LAYOUT_CHANNELS_FIRST, 1, 2, {3, 3}));
  y.poison();
  indices.poison();
  base.x = x.desc, base.y = y.desc, base.indices = indices.desc;
  base.x_data = x.data(), base.y_data = y.data(), base.indices_data = indices.as_i64();
  UPS_ASSERT_OK(base.run());
  const Pooled again = max_pool_forward(ref, base.desc, x);
  EXPECT_TRUE(tensors_identical(y, again.y));
  EXPECT_TRUE(tensors_identical(indices, again.indices));

  Sentinel out(y.bytes.size()), out_indices(indices.bytes.size());
  base.y_data = out.data();
  base.indices_data = static_cast<int64_t*>(out_indices.data());
  expect_rejected(
      {
          {"null handle", with(base, [&](MaxPoolArgs& a) { a.handle = nullptr; }), UPS_STATUS_INVALID_HANDLE, "handle"},
          {"destroyed handle", with(base, [&](MaxPoolArgs& a) { a.handle = destroyed_handle(); }),
           UPS_STATUS_INVALID_HANDLE, "handle"},
          {"null pool desc", with(base, [&](MaxPoolArgs& a) { a.null_desc = true; }), UPS_STATUS_NULL_POINTER, "desc"},
          {"null indices desc", with(base, [&](MaxPoolArgs& a) { a.null_indices = true; }), UPS_STATUS_NULL_POINTER,
           "indices"},
          {"null indices data", with(base, [&](MaxPoolArgs& a) { a.indices_data = nullptr; }), UPS_STATUS_NULL_POINTER,
           "indices"},
          {"null x data", with(base, [&](MaxPoolArgs& a) { a.x_data = nullptr; }), UPS_STATUS_NULL_POINTER, "x"},
          {"negative x extent", with(base, [&](MaxPoolArgs& a) { a.x.c = -1; }), UPS_STATUS_BAD_EXTENT, "x"},
          {"desc spatial_dims 4", with(base, [&](MaxPoolArgs& a) { a.desc.spatial_dims = 4; }), UPS_STATUS_BAD_EXTENT,
           "spatial_dims"},
          {"kernel 0", with(base, [&](MaxPoolArgs& a) { a.desc.kernel[0] = 0; }), UPS_STATUS_BAD_PARAMETER, "kernel"},
          {"stride 0", with(base, [&](MaxPoolArgs& a) { a.desc.stride[1] = 0; }), UPS_STATUS_BAD_PARAMETER, "stride"},
          {"dilation 0", with(base, [&](MaxPoolArgs& a) { a.desc.dilation[1] = 0; }), UPS_STATUS_BAD_PARAMETER,
           "dilation"},
          {"negative padding", with(base, [&](MaxPoolArgs& a) { a.desc.padding[0] = -1; }), UPS_STATUS_BAD_PARAMETER,
           "padding"},
          {"padding > kernel/2", with(base, [&](MaxPoolArgs& a) { a.desc.padding[0] = 2; }), UPS_STATUS_BAD_PARAMETER,
           "padding"},
          {"y extent", with(base, [&](MaxPoolArgs& a) { a.y.spatial[0] = 2; }), UPS_STATUS_SHAPE_MISMATCH, "y"},
          {"indices extent", with(base, [&](MaxPoolArgs& a) { a.indices.spatial[1] = 4; }), UPS_STATUS_SHAPE_MISMATCH,
           "indices"},
          {"F32 indices", with(base, [&](MaxPoolArgs& a) { a.indices.dtype = UPS_DTYPE_F32; }),
           UPS_STATUS_NOT_SUPPORTED, "indices"},
          {"indices layout differs from x",
           with(base, [&](MaxPoolArgs& a) { a.indices.layout = UPS_LAYOUT_CHANNELS_LAST; }), UPS_STATUS_NOT_SUPPORTED,
           "indices"},
          {"y layout differs from x", with(base, [&](MaxPoolArgs& a) { a.y.layout = UPS_LAYOUT_CHANNELS_LAST; }),
           UPS_STATUS_NOT_SUPPORTED, "y"},
          {"I64 input", with(base, [&](MaxPoolArgs& a) { a.x.dtype = a.y.dtype = UPS_DTYPE_I64; }),
           UPS_STATUS_NOT_SUPPORTED, "x"},
          {"x element count overflows int64", with(base, [&](MaxPoolArgs& a) { a.x.n = kHuge, a.x.c = kHuge; }),
           UPS_STATUS_OVERFLOW, "x"},
          {"misaligned indices",
           with(base,
                [&](MaxPoolArgs& a) {
                  a.indices_data = reinterpret_cast<int64_t*>(static_cast<char*>(out_indices.data()) + 4);
                }),
           UPS_STATUS_MISALIGNED, "indices"},
          {"y overlaps indices", with(base, [&](MaxPoolArgs& a) { a.y_data = out_indices.data(); }),
           UPS_STATUS_ALIASING, "indices"},
      },
      {&out, &out_indices});
  MaxPoolArgs a = base;
  a.x.n = 0, a.y.n = 0, a.indices.n = 0, a.x_data = nullptr, a.y_data = nullptr, a.indices_data = nullptr;
  EXPECT_EQ(a.run(), UPS_STATUS_SUCCESS) << "empty tensors with null data: " << upsGetLastErrorString();
}

// =============================================================================================
// I32 switches
// =============================================================================================
// upsample.h: indices may be I32 instead of I64 (half the bytes); the ops are otherwise the same.
// Max-pool writes the same positions, and every op that reads switches gives bit-identical
// results from either dtype: max-pool backward (with foreign and out-of-plane switches too),
// max-unpool (duplicates included) and its backward.
TEST(ReferenceSwitchDtype, I32SwitchesGiveTheResultsOfI64) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  int checked = 0;
  for (int trial = 0; trial < 24; ++trial) {
    const int dims = 1 + trial % 3;
    const upsPoolDesc_t pool = random_pool(rng, dims, trial % 2 == 0);
    HostTensor x(make_desc(kFloatDtypes[trial % 4], random_layout(rng), uniform_int(rng, 1, 2), uniform_int(rng, 1, 3),
                           random_extents(rng, dims, 2, 7)));
    upsTensorDesc_t y_desc, i_desc;
    if (upsMaxPoolOutputDesc(&pool, &x.desc, &y_desc, &i_desc) != UPS_STATUS_SUCCESS) continue;
    SCOPED_TRACE(shape_text(x.desc) + " " + pool_text(pool));
    x.fill_random(rng, -3, 3, /*integers=*/true);
    const Pooled wide = max_pool_forward(ref, pool, x, UPS_DTYPE_I64);
    Pooled narrow = max_pool_forward(ref, pool, x, UPS_DTYPE_I32);
    ASSERT_EQ(narrow.indices.desc.dtype, UPS_DTYPE_I32);
    EXPECT_TRUE(tensors_identical(narrow.y, wide.y));
    for (int64_t i = 0; i < wide.indices.size(); ++i) ASSERT_EQ(narrow.indices.index(i), wide.indices.index(i)) << i;

    // Max-pool backward, with every third switch foreign or outside the plane.
    HostTensor foreign_wide = wide.indices;
    for (int64_t i = 0; i < foreign_wide.size(); i += 3) {
      const int64_t v = uniform_int(rng, -2, 60);
      foreign_wide.set_index(i, v);
      narrow.indices.set_index(i, v);
    }
    HostTensor dy(y_desc);
    dy.fill_random(rng);
    EXPECT_TRUE(tensors_identical(max_pool_backward(ref, pool, dy, narrow.indices, x.desc),
                                  max_pool_backward(ref, pool, dy, foreign_wide, x.desc)));

    // Max-unpool and its backward on random in-plane switches (duplicates likely).
    upsTensorDesc_t u_desc;
    if (upsMaxUnpoolOutputDesc(&pool, &x.desc, nullptr, &u_desc) != UPS_STATUS_SUCCESS) continue;
    int64_t plane = 1;
    for (int a = 0; a < dims; ++a) plane *= u_desc.spatial[a];
    if (plane == 0) continue;
    upsTensorDesc_t s_desc = x.desc;
    s_desc.dtype = UPS_DTYPE_I64;
    HostTensor switches_wide(s_desc);
    s_desc.dtype = UPS_DTYPE_I32;
    HostTensor switches_narrow(s_desc);
    for (int64_t i = 0; i < x.size(); ++i) {
      const int64_t v = uniform_int(rng, 0, plane - 1);
      switches_wide.set_index(i, v);
      switches_narrow.set_index(i, v);
    }
    EXPECT_TRUE(tensors_identical(max_unpool_forward(ref, pool, x, switches_narrow),
                                  max_unpool_forward(ref, pool, x, switches_wide)));
    HostTensor du(u_desc);
    du.fill_random(rng);
    EXPECT_TRUE(tensors_identical(max_unpool_backward(ref, pool, du, switches_narrow, x.desc),
                                  max_unpool_backward(ref, pool, du, switches_wide, x.desc)));
    ++checked;
  }
  EXPECT_GT(checked, 6);
}

// I32 switches hold positions of x's plane: a plane past 2^31 elements is refused before any
// data is touched (the tensors here are never allocated: validation comes first), naming the
// indices' dtype.
TEST(ReferenceSwitchDtype, I32SwitchesNeedThePlaneToFit) {
  UPS_REFERENCE_HANDLE(h);
  const upsPoolDesc_t pool = pool_desc({2, 2}, {2, 2});
  const upsTensorDesc_t x =
      make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {int64_t{1} << 16, (int64_t{1} << 15) + 2});
  upsTensorDesc_t y, indices;
  UPS_ASSERT_OK(upsMaxPoolOutputDesc(&pool, &x, &y, &indices));
  EXPECT_EQ(indices.dtype, UPS_DTYPE_I64) << "the output descriptor gives PyTorch's I64";
  indices.dtype = UPS_DTYPE_I32;
  alignas(16) static unsigned char dummy[3][64];
  EXPECT_EQ(upsMaxPoolForward(h.get(), &pool, &x, dummy[0], &y, dummy[1], &indices, dummy[2]),
            UPS_STATUS_NOT_SUPPORTED);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("indices.dtype: i32"), std::string::npos)
      << upsGetLastErrorString();
}

// =============================================================================================
// Backward
// =============================================================================================

TEST(ReferenceBackwardExample, MaxPoolRoutesToSwitchesSummingOverlaps) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  // x = [1, 3, 2, 5, 4], kernel 3, stride 1: windows [1 3 2] [3 2 5] [2 5 4] -> switches 1, 3, 3.
  const upsPoolDesc_t pool = pool_desc({3}, {1});
  const HostTensor x = tensor_of(make_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {5}), {1, 3, 2, 5, 4});
  const Pooled pooled = max_pool_forward(ref, pool, x);
  ASSERT_EQ(pooled.indices.size(), 3);
  EXPECT_EQ(pooled.indices.as_i64()[0], 1);
  EXPECT_EQ(pooled.indices.as_i64()[1], 3);
  EXPECT_EQ(pooled.indices.as_i64()[2], 3);
  const HostTensor dy = tensor_of(pooled.y.desc, {10, 20, 30});
  EXPECT_EQ(logical_values(max_pool_backward(ref, pool, dy, pooled.indices, x.desc)),
            (std::vector<double>{0, 10, 0, 50, 0}));
  // An index that names no position of its own window contributes nothing.
  HostTensor foreign = pooled.indices;
  foreign.as_i64()[0] = 4;  // window 0 covers positions 0..2
  EXPECT_EQ(logical_values(max_pool_backward(ref, pool, dy, foreign, x.desc)), (std::vector<double>{0, 0, 0, 50, 0}));
}

// Max-pooling with indices is, for its switches, the gather y[p] = x[indices[p]]: its adjoint is
// the routing backward op, so <maxpool(x), g> = <x, max_pool_backward(g)>.
TEST(ReferenceBackwardProperty, MaxPoolBackwardIsAdjointOfSwitchGather) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  int ran = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    const upsPoolDesc_t pool = random_pool(rng, dims, false);
    HostTensor x(make_desc(UPS_DTYPE_F64, random_layout(rng), uniform_int(rng, 1, 2), uniform_int(rng, 1, 3),
                           random_extents(rng, dims, 2, 7)));
    upsTensorDesc_t y_desc, i_desc;
    if (upsMaxPoolOutputDesc(&pool, &x.desc, &y_desc, &i_desc) != UPS_STATUS_SUCCESS) continue;
    ++ran;
    x.fill_random(rng, -3, 3, /*integers=*/trial % 2 == 0);  // ties half the time
    SCOPED_TRACE(shape_text(x.desc));
    const Pooled pooled = max_pool_forward(ref, pool, x);
    HostTensor g(y_desc);
    g.fill_random(rng);
    const HostTensor dx = max_pool_backward(ref, pool, g, pooled.indices, x.desc);
    EXPECT_TRUE(adjoint(inner(pooled.y, g), inner(x, dx), inner(pooled.y, g, true),
                        "<maxpool(x), g> vs <x, max_pool_backward(g)>"));
  }
  EXPECT_GE(ran, 20);
}

// Central differences in f64 of <max_pool(x), g>: distinct values a unit apart, so a step of 1/4
// never moves a maximum.
TEST(ReferenceBackwardFiniteDifference, MaxPooling) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  int ran = 0;
  for (int trial = 0; trial < 12; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 2));
    const upsLayout_t layout = random_layout(rng);
    const upsPoolDesc_t pool = random_pool(rng, dims, false);
    HostTensor x(make_desc(UPS_DTYPE_F64, layout, 1, 2, random_extents(rng, dims, 2, 5)));
    upsTensorDesc_t y_desc, i_desc;
    if (upsMaxPoolOutputDesc(&pool, &x.desc, &y_desc, &i_desc) != UPS_STATUS_SUCCESS) continue;
    ++ran;
    std::vector<double> values(static_cast<size_t>(x.size()));
    std::iota(values.begin(), values.end(), -static_cast<double>(values.size() / 2));
    std::shuffle(values.begin(), values.end(), rng);
    for (int64_t e = 0; e < x.size(); ++e) x.set(e, values[static_cast<size_t>(e)]);
    const Pooled pooled = max_pool_forward(ref, pool, x);
    HostTensor g(y_desc);
    g.fill_random(rng);
    SCOPED_TRACE("max-pool " + shape_text(x.desc));
    EXPECT_TRUE(matches_finite_differences(
        x, max_pool_backward(ref, pool, g, pooled.indices, x.desc), 0.25,
        [&](const HostTensor& v) { return inner(max_pool_forward(ref, pool, v).y, g); }, "max-pool dx"));
  }
  EXPECT_GE(ran, 4);
}

TEST(ReferenceBadInputBackward, MaxPoolBackward) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  auto rng = make_rng();
  const upsPoolDesc_t pool = pool_desc({2, 2});
  HostTensor x(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 1, 2, {4, 6}));
  x.fill_random(rng);
  const Pooled pooled = max_pool_forward({h.get(), UPS_BACKEND_REFERENCE}, pool, x);  // y: (1, 2, 2, 3)
  HostTensor dy(pooled.y.desc);
  dy.fill_random(rng);
  Guarded dx(x.desc);
  UPS_ASSERT_OK(upsMaxPoolBackward(h.get(), &pool, &dy.desc, dy.data(), &pooled.indices.desc, pooled.indices.as_i64(),
                                   &dx.desc(), dx.data()));
  Guarded out(x.desc);
  const upsTensorDesc_t wrong = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 1, 2, {2, 2});
  upsTensorDesc_t wrong_indices = pooled.indices.desc;
  wrong_indices.spatial[1] = 2;
  upsTensorDesc_t float_indices = pooled.indices.desc;
  float_indices.dtype = UPS_DTYPE_F64;
  expect_rejected(
      {
          {"upsMaxPoolBackward: gradient_shape_mismatch naming dy: expected shape (N=1, C=2, H=2, W=3)",
           [&] {
             return upsMaxPoolBackward(h.get(), &pool, &wrong, dy.data(), &pooled.indices.desc, pooled.indices.as_i64(),
                                       &out.desc(), out.data());
           },
           UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: expected shape (N=1, C=2, H=2, W=3)"},
          {"upsMaxPoolBackward: shape_mismatch naming indices",
           [&] {
             return upsMaxPoolBackward(h.get(), &pool, &dy.desc, dy.data(), &wrong_indices, pooled.indices.as_i64(),
                                       &out.desc(), out.data());
           },
           UPS_STATUS_SHAPE_MISMATCH, "indices"},
          {"upsMaxPoolBackward: not_supported naming indices.dtype",
           [&] {
             return upsMaxPoolBackward(h.get(), &pool, &dy.desc, dy.data(), &float_indices, pooled.indices.as_i64(),
                                       &out.desc(), out.data());
           },
           UPS_STATUS_NOT_SUPPORTED, "indices.dtype"},
          {"upsMaxPoolBackward: null_pointer naming indices",
           [&] {
             return upsMaxPoolBackward(h.get(), &pool, &dy.desc, dy.data(), &pooled.indices.desc, nullptr, &out.desc(),
                                       out.data());
           },
           UPS_STATUS_NULL_POINTER, "indices"},
      },
      {&out});
}

}  // namespace
}  // namespace upsample::test

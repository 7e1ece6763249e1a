// Unpooling (nearest, bed-of-nails), forward and backward, on the REFERENCE backend, against
// checks from outside the library: worked examples by hand; properties on seeded random shapes
// (equality with a depthwise transposed convolution, bits kept through data movement, layout,
// rank and dtype agreement, adjointness and finite differences of the gradient); output and
// gradient shapes; every bad-input class as a table (status, message, nothing written).
// Inputs are fresh and random (UPS_TEST_SEED replays a failure); outputs are poisoned first.
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

// =============================================================================================
// Forward
// =============================================================================================

// Nearest and bed-of-nails with unequal scales (2, 3), two channels of different values.
TEST(ReferenceUnpoolExample, NearestAndBedOfNailsByHand) {
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  const std::vector<double> x_values = {-1.5, 2, 3, -4, /**/ 0.25, 5, -6, 7};
  const std::vector<double> nearest = {-1.5, -1.5, -1.5, 2,  2,  2,   //
                                       -1.5, -1.5, -1.5, 2,  2,  2,   //
                                       3,    3,    3,    -4, -4, -4,  //
                                       3,    3,    3,    -4, -4, -4,  //
                                       0.25, 0.25, 0.25, 5,  5,  5,   //
                                       0.25, 0.25, 0.25, 5,  5,  5,   //
                                       -6,   -6,   -6,   7,  7,  7,   //
                                       -6,   -6,   -6,   7,  7,  7};
  const std::vector<double> nails = {-1.5, 0, 0, 2,  0, 0,  //
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
      const HostTensor y = unpool_forward(ref, unpool_desc(UPS_UNPOOL_NEAREST, {2, 3}), x);
      ASSERT_TRUE(same_shape(y.desc, make_desc(dtype, layout, 1, 2, {4, 6})));
      EXPECT_TRUE(tensors_identical(y, tensor_of(y.desc, nearest)));
      const HostTensor z = unpool_forward(ref, unpool_desc(UPS_UNPOOL_BED_OF_NAILS, {2, 3}), x);
      ASSERT_TRUE(same_shape(z.desc, make_desc(dtype, layout, 1, 2, {4, 6})));
      EXPECT_TRUE(tensors_identical(z, tensor_of(z.desc, nails)));
    }
  // 1-D, scale 3.
  const HostTensor x1 = tensor_of(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {2}), {7, -1});
  EXPECT_TRUE(tensors_identical(
      unpool_forward(ref, unpool_desc(UPS_UNPOOL_NEAREST, {3}), x1),
      tensor_of(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {6}), {7, 7, 7, -1, -1, -1})));
  EXPECT_TRUE(tensors_identical(
      unpool_forward(ref, unpool_desc(UPS_UNPOOL_BED_OF_NAILS, {3}), x1),
      tensor_of(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {6}), {7, 0, 0, -1, 0, 0})));
}

// Unpooling is a transposed convolution with a fixed depthwise kernel of size scale and stride
// scale (weight (C, 1, scale...), groups = C):
//   nearest      == a kernel of ones     (each output copies its one input)
//   bed-of-nails == a one-hot kernel, 1 at [0, ..., 0]
// Each output receives exactly one product x*1 or x*0 (kernel == stride: copies never
// overlap), so with integer-valued inputs the two ops agree bit for bit in f32.
TEST(ReferenceUnpoolProperty, EqualsDepthwiseTransposedConvolution) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 30; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    const upsLayout_t layout = random_layout(rng);
    const int64_t channels = uniform_int(rng, 1, 4);
    std::vector<int64_t> extent, scale;
    for (int a = 0; a < dims; ++a) {
      extent.push_back(uniform_int(rng, 1, dims == 3 ? 3 : 5));
      scale.push_back(uniform_int(rng, 1, 3));
    }
    HostTensor x(make_desc(UPS_DTYPE_F32, layout, uniform_int(rng, 1, 2), channels, extent));
    SCOPED_TRACE(shape_text(x.desc) + " scale " + std::to_string(scale[0]) +
                 (dims > 1 ? "x" + std::to_string(scale[1]) : "") + (dims > 2 ? "x" + std::to_string(scale[2]) : ""));
    x.fill_random(rng, -8, 8, /*integers=*/true);

    upsConvTransposeDesc_t conv = conv_desc(dims, scale, {}, {}, {}, {}, channels);
    HostTensor ones(make_desc(UPS_DTYPE_F32, layout, channels, 1, scale)), one_hot(ones.desc);
    for (int64_t i = 0; i < ones.size(); ++i) ones.set(i, 1.0);
    for_each_element(one_hot.desc, [&](int64_t n, int64_t c, const int64_t* s) {
      const bool origin = s[0] == 0 && s[1] == 0 && s[2] == 0;
      one_hot.set(offset_of(one_hot.desc, n, c, s), origin ? 1.0 : 0.0);
    });
    EXPECT_TRUE(tensors_identical(unpool_forward(ref, unpool_desc(UPS_UNPOOL_NEAREST, scale), x),
                                  conv_forward(ref, conv, x, ones)))
        << "nearest";
    EXPECT_TRUE(tensors_identical(unpool_forward(ref, unpool_desc(UPS_UNPOOL_BED_OF_NAILS, scale), x),
                                  conv_forward(ref, conv, x, one_hot)))
        << "bed-of-nails";
  }
}

// Data movement moves bits: nearest, bed-of-nails (on its nails), max-pool with a 1x1 window
// (y = x, indices = every position) and max-unpool of that result must reproduce each element
// bit for bit, special values included: -0.0, +-inf, subnormals, the largest finite value and
// quiet NaNs of either sign.
std::vector<uint64_t> special_bits(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F16:
      return {0x8000, 0x7c00, 0xfc00, 0x0001, 0x83ff, 0x7bff, 0x0400, 0x7e00, 0xfe00, 0x3c00, 0xc000};
    case UPS_DTYPE_BF16:
      return {0x8000, 0x7f80, 0xff80, 0x0001, 0x807f, 0x7f7f, 0x0080, 0x7fc0, 0xffc0, 0x3f80, 0xc000};
    case UPS_DTYPE_F32:
      return {0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x807fffff, 0x7f7fffff,
              0x00800000, 0x7fc00000, 0xffc00000, 0x3f800000, 0xc0000000};
    default:
      return {0x8000000000000000, 0x7ff0000000000000, 0xfff0000000000000, 0x0000000000000001,
              0x800fffffffffffff, 0x7fefffffffffffff, 0x0010000000000000, 0x7ff8000000000000,
              0xfff8000000000000, 0x3ff0000000000000, 0xc000000000000000};
  }
}

// A tensor whose elements (in memory order) cycle through `bits`.
HostTensor tensor_of_bits(const upsTensorDesc_t& desc, const std::vector<uint64_t>& bits) {
  HostTensor t(desc);
  const size_t width = static_cast<size_t>(dtype_bytes(desc.dtype));
  for (int64_t i = 0; i < t.size(); ++i) {
    const uint64_t b = bits[static_cast<size_t>(i) % bits.size()];
    std::memcpy(&t.bytes[static_cast<size_t>(i) * width], &b, width);  // little-endian: the low bytes
  }
  return t;
}

void expect_data_movement_keeps_bits(Target ref, upsDataType_t dtype, const std::vector<uint64_t>& bits) {
  for (upsLayout_t layout : kLayouts) {
    SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
    const HostTensor x = tensor_of_bits(make_desc(dtype, layout, 1, 2, {3, static_cast<int64_t>(bits.size())}), bits);
    // Nearest with scale 1 is the identity; bed-of-nails with scale (1, 2) keeps x on its nails.
    EXPECT_TRUE(tensors_identical(unpool_forward(ref, unpool_desc(UPS_UNPOOL_NEAREST, {1, 1}), x), x)) << "nearest";
    const HostTensor nails = unpool_forward(ref, unpool_desc(UPS_UNPOOL_BED_OF_NAILS, {1, 2}), x);
    HostTensor on_nails(x.desc);
    for_each_element(x.desc, [&](int64_t n, int64_t c, const int64_t* s) {
      const int64_t o[2] = {s[0], 2 * s[1]};
      const size_t width = static_cast<size_t>(dtype_bytes(dtype));
      std::memcpy(&on_nails.bytes[static_cast<size_t>(offset_of(x.desc, n, c, s)) * width],
                  &nails.bytes[static_cast<size_t>(offset_of(nails.desc, n, c, o)) * width], width);
    });
    EXPECT_TRUE(tensors_identical(on_nails, x)) << "bed-of-nails";
    const Pooled pooled = max_pool_forward(ref, pool_desc({1, 1}), x);
    EXPECT_TRUE(tensors_identical(pooled.y, x)) << "max-pool 1x1";
    EXPECT_TRUE(tensors_identical(max_unpool_forward(ref, pool_desc({1, 1}), pooled.y, pooled.indices), x))
        << "max-unpool 1x1";
  }
}

TEST(ReferenceUnpoolProperty, DataMovementKeepsSpecialValuesBitForBit) {
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  for (upsDataType_t dtype : {UPS_DTYPE_F64, UPS_DTYPE_F32, UPS_DTYPE_F16, UPS_DTYPE_BF16})
    expect_data_movement_keeps_bits(ref, dtype, special_bits(dtype));
}

// NaN payloads (and signalling NaNs) move unchanged too: the CUDA kernels copy elements as read,
// and the reference's data-movement ops copy element bytes (copy_element), not values through
// double (which would quiet signalling NaNs and lose f16 payloads), so the backends agree bit for bit.
TEST(ReferenceUnpoolProperty, DataMovementKeepsNaNPayloads) {
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  expect_data_movement_keeps_bits(ref, UPS_DTYPE_F16, {0x7e01, 0xfe55, 0x7d00, 0x7c01});
  expect_data_movement_keeps_bits(ref, UPS_DTYPE_BF16, {0x7fc1, 0xffd5, 0x7f81});
  expect_data_movement_keeps_bits(ref, UPS_DTYPE_F32, {0x7fc00001, 0xffc12345, 0x7f800001});
}

// ---------------------------------------------------------------------------------------------
// Layouts, ranks and dtypes (one family's share of the cross-op properties)
// ---------------------------------------------------------------------------------------------
// Channels-first and channels-last describe the same logical tensor: both modes give the same
// logical result, bit for bit.
TEST(ReferenceLayoutProperty, UnpoolChannelsFirstAndLastAgree) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 16; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    std::vector<int64_t> extent, scale;
    for (int a = 0; a < dims; ++a) {
      extent.push_back(uniform_int(rng, 2, dims == 3 ? 4 : 6));
      scale.push_back(uniform_int(rng, 1, 3));
    }
    HostTensor x(
        make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, uniform_int(rng, 1, 2), uniform_int(rng, 1, 5), extent));
    SCOPED_TRACE(shape_text(x.desc));
    x.fill_random(rng, -3, 3, /*integers=*/true);
    const HostTensor x_last = converted(x, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST);
    for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS}) {
      const upsUnpoolDesc_t desc = unpool_desc(mode, scale);
      EXPECT_TRUE(logically_identical(unpool_forward(ref, desc, x_last), unpool_forward(ref, desc, x)));
    }
  }
}

// A problem lifted by extent-1 axes (scale 1 on them) gives the same bytes, in both modes.
TEST(ReferenceRankProperty, UnpoolExtentOneAxesChangeNothing) {
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
      std::vector<int64_t> extent, scale, scale_lifted(static_cast<size_t>(extra), 1);
      for (int a = 0; a < dims; ++a) {
        extent.push_back(uniform_int(rng, 2, 6));
        scale.push_back(uniform_int(rng, 1, 3));
      }
      scale_lifted.insert(scale_lifted.end(), scale.begin(), scale.end());
      HostTensor u(make_desc(dtype, layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 4), extent));
      SCOPED_TRACE(shape_text(u.desc));
      u.fill_random(rng, -3, 3, /*integers=*/true);
      for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS})
        EXPECT_TRUE(same_result(unpool_forward(ref, unpool_desc(mode, scale_lifted), lifted(u, extra)),
                                unpool_forward(ref, unpool_desc(mode, scale), u), extra))
            << "unpool mode " << mode;
    }
  }
}

// Each narrow dtype (f32, f16, bf16) against f64 on values rounded to it first: data movement
// adds no rounding, so the results agree exactly.
TEST(ReferenceDtypeProperty, UnpoolNarrowDtypesMatchF64) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 12; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    const upsLayout_t layout = random_layout(rng);
    std::vector<int64_t> extent, scale;
    for (int a = 0; a < dims; ++a) {
      extent.push_back(uniform_int(rng, 2, dims == 3 ? 4 : 6));
      scale.push_back(uniform_int(rng, 1, 3));
    }
    HostTensor u(make_desc(UPS_DTYPE_F64, layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 4), extent));
    u.fill_random(rng, -100, 100);
    for (upsDataType_t dtype : kNarrowDtypes) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + shape_text(u.desc));
      const HostTensor u_n = converted(u, dtype, layout), u_r = converted(u_n, UPS_DTYPE_F64, layout);
      for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS})
        EXPECT_TRUE(logically_identical(unpool_forward(ref, unpool_desc(mode, scale), u_n),
                                        unpool_forward(ref, unpool_desc(mode, scale), u_r)))
            << "unpool mode " << mode;
    }
  }
}

// Unpooling: in * scale per axis; N, C, dtype and layout from x.
TEST(ReferenceShapes, UnpoolOutputDesc) {
  struct Row {
    std::vector<int64_t> in, scale, out;
  };
  const Row rows[] = {
      {{7}, {3}, {21}}, {{3, 5}, {2, 3}, {6, 15}}, {{32, 32}, {2, 2}, {64, 64}}, {{2, 3, 4}, {1, 2, 3}, {2, 6, 12}},
      {{1}, {1}, {1}},
  };
  for (const Row& row : rows)
    for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS}) {
      const upsTensorDesc_t x = make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 5, row.in);
      const upsUnpoolDesc_t desc = unpool_desc(mode, row.scale);
      upsTensorDesc_t y;
      UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x, &y));
      EXPECT_TRUE(same_shape(y, make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 5, row.out)));
    }
}

struct UnpoolArgs {
  upsHandle_t handle = nullptr;
  upsUnpoolDesc_t desc{};
  upsTensorDesc_t x{}, y{};
  const void* x_data = nullptr;
  void* y_data = nullptr;
  bool null_desc = false, null_x = false, null_y = false;

  upsStatus_t run() const {
    return upsUnpoolForward(handle, null_desc ? nullptr : &desc, null_x ? nullptr : &x, x_data, null_y ? nullptr : &y,
                            y_data);
  }
};

TEST(ReferenceBadInput, UnpoolRejectsEveryBadInputClass) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  // Valid: f16 channels-last x (2, 3, 2, 5), nearest x(2, 3) -> y (2, 3, 4, 15).
  UnpoolArgs base;
  base.handle = h.get();
  base.desc = unpool_desc(UPS_UNPOOL_NEAREST, {2, 3});
  HostTensor x(make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 3, {2, 5}));
  x.fill_random(rng);
  HostTensor y(make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 3, {4, 15}));
  y.poison();
  base.x = x.desc, base.y = y.desc, base.x_data = x.data(), base.y_data = y.data();
  UPS_ASSERT_OK(base.run());
  EXPECT_TRUE(tensors_identical(y, unpool_forward(ref, base.desc, x)));

  Sentinel out(y.bytes.size());
  base.y_data = out.data();
  expect_rejected(
      {
          {"null handle", with(base, [&](UnpoolArgs& a) { a.handle = nullptr; }), UPS_STATUS_INVALID_HANDLE, "handle"},
          {"destroyed handle", with(base, [&](UnpoolArgs& a) { a.handle = destroyed_handle(); }),
           UPS_STATUS_INVALID_HANDLE, "handle"},
          {"null unpool desc", with(base, [&](UnpoolArgs& a) { a.null_desc = true; }), UPS_STATUS_NULL_POINTER, "desc"},
          {"null x desc", with(base, [&](UnpoolArgs& a) { a.null_x = true; }), UPS_STATUS_NULL_POINTER, "x"},
          {"null y desc", with(base, [&](UnpoolArgs& a) { a.null_y = true; }), UPS_STATUS_NULL_POINTER, "y"},
          {"null x data", with(base, [&](UnpoolArgs& a) { a.x_data = nullptr; }), UPS_STATUS_NULL_POINTER, "x"},
          {"null y data", with(base, [&](UnpoolArgs& a) { a.y_data = nullptr; }), UPS_STATUS_NULL_POINTER, "y"},
          {"negative x extent", with(base, [&](UnpoolArgs& a) { a.x.spatial[0] = -2; }), UPS_STATUS_BAD_EXTENT, "x"},
          {"x spatial_dims 4", with(base, [&](UnpoolArgs& a) { a.x.spatial_dims = 4; }), UPS_STATUS_BAD_EXTENT, "x"},
          {"desc spatial_dims 0", with(base, [&](UnpoolArgs& a) { a.desc.spatial_dims = 0; }), UPS_STATUS_BAD_EXTENT,
           "spatial_dims"},
          {"scale 0", with(base, [&](UnpoolArgs& a) { a.desc.scale[1] = 0; }), UPS_STATUS_BAD_PARAMETER, "scale"},
          {"unknown mode", with(base, [&](UnpoolArgs& a) { a.desc.mode = enum_value<upsUnpoolMode_t>(3); }),
           UPS_STATUS_BAD_PARAMETER, "mode"},
          {"y extent", with(base, [&](UnpoolArgs& a) { a.y.spatial[1] = 10; }), UPS_STATUS_SHAPE_MISMATCH, "y"},
          {"I64 input", with(base, [&](UnpoolArgs& a) { a.x.dtype = a.y.dtype = UPS_DTYPE_I64; }),
           UPS_STATUS_NOT_SUPPORTED, "x"},
          {"y layout differs from x", with(base, [&](UnpoolArgs& a) { a.y.layout = UPS_LAYOUT_CHANNELS_FIRST; }),
           UPS_STATUS_NOT_SUPPORTED, "y"},
          {"y dtype differs from x", with(base, [&](UnpoolArgs& a) { a.y.dtype = UPS_DTYPE_BF16; }),
           UPS_STATUS_NOT_SUPPORTED, "y"},
          {"x element count overflows int64", with(base, [&](UnpoolArgs& a) { a.x.n = kHuge, a.x.c = kHuge; }),
           UPS_STATUS_OVERFLOW, "x"},
          {"misaligned y (f16)", with(base, [&](UnpoolArgs& a) { a.y_data = out.data(1); }), UPS_STATUS_MISALIGNED,
           "y"},
          {"y overlaps x", with(base, [&](UnpoolArgs& a) { a.x_data = out.data(2), a.y_data = out.data(4); }),
           UPS_STATUS_ALIASING, "y"},
      },
      {&out});
  UnpoolArgs a = base;
  a.x.n = 0, a.y.n = 0, a.x_data = nullptr, a.y_data = nullptr;
  EXPECT_EQ(a.run(), UPS_STATUS_SUCCESS) << "empty tensors with null data: " << upsGetLastErrorString();
}

// =============================================================================================
// Backward
// =============================================================================================

TEST(ReferenceBackwardExample, UnpoolNearestSumsCellsBedOfNailsTakesFirst) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  for (upsLayout_t layout : kLayouts) {
    SCOPED_TRACE(layout_label(layout));
    // dy 4x4 = 1..16 in rows; scale 2: each dx element gathers its 2x2 cell.
    const upsTensorDesc_t dy_desc = make_desc(UPS_DTYPE_F32, layout, 1, 1, {4, 4});
    std::vector<double> values(16);
    std::iota(values.begin(), values.end(), 1.0);
    const HostTensor dy = tensor_of(dy_desc, values);
    const upsUnpoolDesc_t nearest = unpool_desc(UPS_UNPOOL_NEAREST, {2, 2});
    upsTensorDesc_t dx_desc;
    UPS_ASSERT_OK(upsUnpoolBackwardOutputDesc(&nearest, &dy_desc, &dx_desc));
    EXPECT_EQ(dx_desc.spatial[0], 2);
    EXPECT_EQ(dx_desc.spatial[1], 2);
    EXPECT_EQ(logical_values(unpool_backward(ref, nearest, dy, dx_desc)), (std::vector<double>{14, 22, 46, 54}));
    const upsUnpoolDesc_t nails = unpool_desc(UPS_UNPOOL_BED_OF_NAILS, {2, 2});
    EXPECT_EQ(logical_values(unpool_backward(ref, nails, dy, dx_desc)), (std::vector<double>{1, 3, 9, 11}));
  }
}

TEST(ReferenceBackwardProperty, UnpoolIsAdjointOfForward) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 40; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    const upsUnpoolMode_t mode = trial % 2 ? UPS_UNPOOL_NEAREST : UPS_UNPOOL_BED_OF_NAILS;
    const upsUnpoolDesc_t desc = random_unpool(rng, mode, dims);
    HostTensor x(make_desc(UPS_DTYPE_F64, random_layout(rng), uniform_int(rng, 1, 2), uniform_int(rng, 1, 3),
                           random_extents(rng, dims, 1, 5)));
    x.fill_random(rng);
    SCOPED_TRACE(shape_text(x.desc) + (mode == UPS_UNPOOL_NEAREST ? " nearest" : " bed-of-nails"));
    const HostTensor y = unpool_forward(ref, desc, x);
    HostTensor g(y.desc);
    g.fill_random(rng);
    const HostTensor dx = unpool_backward(ref, desc, g, x.desc);
    EXPECT_TRUE(adjoint(inner(y, g), inner(x, dx), inner(y, g, true), "<unpool(x), g> vs <x, unpool_backward(g)>"));
  }
}

// Central differences in f64 of <unpool(x), g>, both modes.
TEST(ReferenceBackwardFiniteDifference, Unpooling) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 12; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 2));
    const upsLayout_t layout = random_layout(rng);
    const upsUnpoolDesc_t desc = random_unpool(rng, trial % 2 ? UPS_UNPOOL_NEAREST : UPS_UNPOOL_BED_OF_NAILS, dims);
    HostTensor x(make_desc(UPS_DTYPE_F64, layout, 1, 2, random_extents(rng, dims, 1, 3)));
    x.fill_random(rng);
    const HostTensor y = unpool_forward(ref, desc, x);
    HostTensor g(y.desc);
    g.fill_random(rng);
    SCOPED_TRACE("unpool " + shape_text(x.desc));
    EXPECT_TRUE(matches_finite_differences(
        x, unpool_backward(ref, desc, g, x.desc), 1e-3,
        [&](const HostTensor& v) { return inner(unpool_forward(ref, desc, v), g); }, "unpool dx"));
  }
}

TEST(ReferenceBackwardShapes, UnpoolQueries) {
  const upsUnpoolDesc_t desc = unpool_desc(UPS_UNPOOL_NEAREST, {1, 2, 3});
  const upsTensorDesc_t dy = make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 5, {3, 4, 9});
  upsTensorDesc_t dx;
  UPS_ASSERT_OK(upsUnpoolBackwardOutputDesc(&desc, &dy, &dx));
  EXPECT_TRUE(same_shape(dx, make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 5, {3, 2, 3})));
  const upsTensorDesc_t ragged = make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 5, {3, 4, 8});
  EXPECT_EQ(upsUnpoolBackwardOutputDesc(&desc, &ragged, &dx), UPS_STATUS_GRADIENT_SHAPE_MISMATCH);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("dy"), std::string::npos) << upsGetLastErrorString();
}

TEST(ReferenceBadInputBackward, UnpoolBackward) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const upsUnpoolDesc_t desc = unpool_desc(UPS_UNPOOL_NEAREST, {2, 2});
  HostTensor dy(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 3, {8, 6}));
  Guarded dx(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 3, {4, 3}));
  UPS_ASSERT_OK(upsUnpoolBackward(h.get(), &desc, &dy.desc, dy.data(), &dx.desc(), dx.data()));
  Guarded out(dx.desc());
  const upsTensorDesc_t wrong = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 3, {8, 7});
  const upsTensorDesc_t other_n = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {8, 6});
  const upsTensorDesc_t half = make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_FIRST, 2, 3, {8, 6});
  upsUnpoolDesc_t zero_scale = desc;
  zero_scale.scale[1] = 0;
  upsTensorDesc_t dx_desc;
  expect_rejected(
      {
          {"upsUnpoolBackward: gradient_shape_mismatch naming dy: expected shape (N=2, C=3, H=8, W=6)",
           [&] { return upsUnpoolBackward(h.get(), &desc, &wrong, dy.data(), &out.desc(), out.data()); },
           UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: expected shape (N=2, C=3, H=8, W=6)"},
          {"upsUnpoolBackward: gradient_shape_mismatch naming dy",
           [&] { return upsUnpoolBackward(h.get(), &desc, &other_n, dy.data(), &out.desc(), out.data()); },
           UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy"},
          {"upsUnpoolBackward: not_supported naming dy.dtype",
           [&] { return upsUnpoolBackward(h.get(), &desc, &half, dy.data(), &out.desc(), out.data()); },
           UPS_STATUS_NOT_SUPPORTED, "dy.dtype"},
          {"upsUnpoolBackward: null_pointer naming dx",
           [&] { return upsUnpoolBackward(h.get(), &desc, &dy.desc, dy.data(), &out.desc(), nullptr); },
           UPS_STATUS_NULL_POINTER, "dx"},
          {"upsUnpoolBackward: null_pointer naming dy",
           [&] { return upsUnpoolBackward(h.get(), &desc, &dy.desc, nullptr, &out.desc(), out.data()); },
           UPS_STATUS_NULL_POINTER, "dy"},
          {"upsUnpoolBackward: aliasing naming dx",
           [&] { return upsUnpoolBackward(h.get(), &desc, &dy.desc, dy.data(), &dx.desc(), dy.data()); },
           UPS_STATUS_ALIASING, "dx"},
          {"upsUnpoolBackward: invalid_handle naming handle",
           [&] { return upsUnpoolBackward(nullptr, &desc, &dy.desc, dy.data(), &out.desc(), out.data()); },
           UPS_STATUS_INVALID_HANDLE, "handle"},
          {"upsUnpoolBackward: null_pointer naming desc",
           [&] { return upsUnpoolBackward(h.get(), nullptr, &dy.desc, dy.data(), &out.desc(), out.data()); },
           UPS_STATUS_NULL_POINTER, "desc"},
          {"upsUnpoolBackward: bad_parameter naming scale",
           [&] { return upsUnpoolBackward(h.get(), &zero_scale, &dy.desc, dy.data(), &out.desc(), out.data()); },
           UPS_STATUS_BAD_PARAMETER, "scale"},
          {"upsUnpoolBackwardOutputDesc: null_pointer naming dx",
           [&] { return upsUnpoolBackwardOutputDesc(&desc, &dy.desc, nullptr); }, UPS_STATUS_NULL_POINTER, "dx"},
          {"upsUnpoolBackwardOutputDesc: gradient_shape_mismatch naming dy",
           [&] { return upsUnpoolBackwardOutputDesc(&desc, &wrong, &dx_desc); }, UPS_STATUS_GRADIENT_SHAPE_MISMATCH,
           "dy"},
      },
      {&out});
}

}  // namespace
}  // namespace upsample::test

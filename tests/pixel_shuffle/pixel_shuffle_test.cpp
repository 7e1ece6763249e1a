// Pixel shuffle and unshuffle (issue 13): PyTorch's documented example, the bad-input table, and
// the (emulated) CUDA kernel against the CPU reference bit for bit on every dtype x layout x rank x
// direction, forward and backward, on the 16-byte path and the scalar path.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/index_width.h"
#include "test_util.h"
#include "upsample/upsample.h"

namespace upsample::test {
namespace {

upsPixelShuffleDesc_t shuffle_desc(upsPixelShuffleDirection_t direction, int dims, int64_t r) {
  upsPixelShuffleDesc_t d;
  EXPECT_EQ(upsPixelShuffleDescInit(&d, direction, dims, r), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
  return d;
}

HostTensor run(upsBackend_t backend, const upsPixelShuffleDesc_t& d, const HostTensor& x, bool backward,
               const upsTensorDesc_t& out_desc) {
  HostTensor y(out_desc);
  y.poison();
  HandleGuard h(backend);
  Buffer bx(backend, x), by(backend, y);
  const upsStatus_t s = backward ? upsPixelShuffleBackward(h.get(), &d, &x.desc, bx.get(), &out_desc, by.get())
                                 : upsPixelShuffleForward(h.get(), &d, &x.desc, bx.get(), &out_desc, by.get());
  EXPECT_EQ(s, UPS_STATUS_SUCCESS) << status_text(s);
  by.download(&y);
  return y;
}

HostTensor forward(upsBackend_t backend, const upsPixelShuffleDesc_t& d, const HostTensor& x) {
  upsTensorDesc_t yd;
  EXPECT_EQ(upsPixelShuffleOutputDesc(&d, &x.desc, &yd), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
  return run(backend, d, x, false, yd);
}

class PixelShuffleHand : public ::testing::TestWithParam<upsBackend_t> {};

TEST_P(PixelShuffleHand, DocumentedExample) {
  // (1, 4, 1, 2) with r = 2 -> (1, 1, 2, 4): y[0, 0, i, 2w + j] = x[0, 2i + j, 0, w].
  for (upsLayout_t layout : {UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST}) {
    HostTensor x(make_desc(UPS_DTYPE_F32, layout, 1, 4, {1, 2}));
    for (int64_t c = 0; c < 4; ++c)
      for (int64_t w = 0; w < 2; ++w) {
        const int64_t s[2] = {0, w};
        x.set(offset_of(x.desc, 0, c, s), static_cast<double>(10 * c + w));
      }
    const HostTensor y = forward(GetParam(), shuffle_desc(UPS_PIXEL_SHUFFLE, 2, 2), x);
    ASSERT_EQ(y.desc.c, 1);
    ASSERT_EQ(y.desc.spatial[0], 2);
    ASSERT_EQ(y.desc.spatial[1], 4);
    const double expected[2][4] = {{0, 10, 1, 11}, {20, 30, 21, 31}};
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t w = 0; w < 4; ++w) {
        const int64_t s[2] = {i, w};
        EXPECT_EQ(y.get(offset_of(y.desc, 0, 0, s)), expected[i][w]) << i << "," << w;
      }
    // Unshuffle undoes it.
    const HostTensor back = forward(GetParam(), shuffle_desc(UPS_PIXEL_UNSHUFFLE, 2, 2), y);
    EXPECT_TRUE(tensors_identical(back, x));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, PixelShuffleHand, ::testing::Values(UPS_BACKEND_REFERENCE, UPS_BACKEND_CUDA),
                         [](const auto& param_info) { return param_info.param == UPS_BACKEND_CUDA ? "Cuda" : "Reference"; });

TEST(PixelShuffleReference, BadInputTable) {
  upsPixelShuffleDesc_t d;
  EXPECT_EQ(upsPixelShuffleDescInit(&d, UPS_PIXEL_SHUFFLE, 2, 0), UPS_STATUS_BAD_PARAMETER);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("factor: expected >= 1"), std::string::npos);
  EXPECT_EQ(upsPixelShuffleDescInit(&d, UPS_PIXEL_SHUFFLE, 1, 2), UPS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(upsPixelShuffleDescInit(&d, UPS_PIXEL_SHUFFLE, 4, 2), UPS_STATUS_BAD_EXTENT);
  upsTensorDesc_t y;
  const auto s2 = shuffle_desc(UPS_PIXEL_SHUFFLE, 2, 2);
  const upsTensorDesc_t x6 = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 6, {3, 3});
  EXPECT_EQ(upsPixelShuffleOutputDesc(&s2, &x6, &y), UPS_STATUS_SHAPE_MISMATCH);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("channels divisible by factor^2 = 4"), std::string::npos)
      << upsGetLastErrorString();
  const auto s3 = shuffle_desc(UPS_PIXEL_SHUFFLE, 3, 2);
  const upsTensorDesc_t x12 = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 12, {3, 3, 3});
  EXPECT_EQ(upsPixelShuffleOutputDesc(&s3, &x12, &y), UPS_STATUS_SHAPE_MISMATCH);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("factor^3 = 8"), std::string::npos);
  const auto u2 = shuffle_desc(UPS_PIXEL_UNSHUFFLE, 2, 2);
  const upsTensorDesc_t x35 = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {4, 5});
  EXPECT_EQ(upsPixelShuffleOutputDesc(&u2, &x35, &y), UPS_STATUS_SHAPE_MISMATCH);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("spatial extents divisible by factor 2"), std::string::npos);
  upsPixelShuffleDesc_t bad = s2;
  const int seven = 7;
  std::memcpy(&bad.direction, &seven, sizeof seven);
  EXPECT_EQ(upsPixelShuffleOutputDesc(&bad, &x6, &y), UPS_STATUS_BAD_PARAMETER);
  // Backward: dy must have the forward's output shape for dx.
  HandleGuard h(UPS_BACKEND_REFERENCE);
  const upsTensorDesc_t x8 = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 8, {3, 3});
  const upsTensorDesc_t wrong = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 2, {6, 5});
  std::vector<float> buf(400);
  EXPECT_EQ(upsPixelShuffleBackward(h.get(), &s2, &wrong, buf.data(), &x8, buf.data() + 200),
            UPS_STATUS_GRADIENT_SHAPE_MISMATCH);
}

class PixelShuffleCuda : public ::testing::TestWithParam<upsDataType_t> {};

void compare_all_shapes(upsDataType_t dtype);

TEST_P(PixelShuffleCuda, MatchesReferenceBitForBit) { compare_all_shapes(GetParam()); }

// The 64-bit index path of the kernel (NOTE [ Index width ]).
TEST_P(PixelShuffleCuda, MatchesReferenceBitForBit64BitIndices) {
  upsample::detail::set_force_64bit_indexing(true);
  compare_all_shapes(GetParam());
  upsample::detail::set_force_64bit_indexing(false);
}

void compare_all_shapes(upsDataType_t dtype) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  struct Shape {
    int dims;
    int64_t r, c;
    std::vector<int64_t> spatial;  // of the spatial (unpacked) tensor's packed side: x of a shuffle
  } shapes[] = {{2, 2, 3, {5, 7}}, {2, 3, 2, {4, 3}}, {2, 2, 16, {3, 8}}, {2, 4, 1, {2, 2}},
                {3, 2, 2, {3, 2, 5}}, {3, 2, 8, {2, 2, 4}}, {2, 1, 5, {3, 3}}};
  for (const Shape& s : shapes)
    for (upsLayout_t layout : {UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST})
      for (upsPixelShuffleDirection_t direction : {UPS_PIXEL_SHUFFLE, UPS_PIXEL_UNSHUFFLE}) {
        const auto d = shuffle_desc(direction, s.dims, s.r);
        int64_t block = 1;
        for (int i = 0; i < s.dims; ++i) block *= s.r;
        std::vector<int64_t> spatial = s.spatial;
        if (direction == UPS_PIXEL_UNSHUFFLE)
          for (auto& e : spatial) e *= s.r;
        const int64_t channels = direction == UPS_PIXEL_SHUFFLE ? s.c * block : s.c;
        HostTensor x(make_desc(dtype, layout, 2, channels, spatial));
        SCOPED_TRACE(std::string(dtype_label(dtype)) + " dims " + std::to_string(s.dims) + " r " +
                     std::to_string(s.r) + " C " + std::to_string(channels) +
                     (layout == UPS_LAYOUT_CHANNELS_LAST ? " NHWC" : " NCHW") +
                     (direction == UPS_PIXEL_SHUFFLE ? " shuffle" : " unshuffle"));
        x.fill_random(rng, -100, 100);
        const HostTensor y_ref = forward(UPS_BACKEND_REFERENCE, d, x);
        const HostTensor y_cuda = forward(UPS_BACKEND_CUDA, d, x);
        EXPECT_TRUE(tensors_identical(y_cuda, y_ref)) << "forward";
        // The backward is the inverse movement: applied to y it returns x, on both backends.
        for (upsBackend_t backend : {UPS_BACKEND_REFERENCE, UPS_BACKEND_CUDA})
          EXPECT_TRUE(tensors_identical(run(backend, d, y_ref, true, x.desc), x)) << "backward";
        if (::testing::Test::HasFailure()) return;
      }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, PixelShuffleCuda,
                         ::testing::Values(UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16),
                         [](const auto& param_info) { return std::string(dtype_label(param_info.param)); });

}  // namespace
}  // namespace upsample::test

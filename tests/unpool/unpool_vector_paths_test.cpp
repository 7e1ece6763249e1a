// Unpooling forward, channels-first, every kernel path the launcher picks (cuda/unpool/unpool_forward.cu):
// the 16-byte vector kernel with the W scale fixed at compile time (x2, x4: one narrower vector load
// duplicated in registers), the same kernel with the scale read at run time (W scale 1 or 3, or x
// not aligned for the narrower load), and the scalar fallback (W_out not a multiple of the lane
// count) — for every dtype and both modes, bit for bit against the reference, outputs poisoned.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace upsample::test {
namespace {

struct PathCase {
  int64_t scale_h, scale_w, w_in;
  size_t x_shift_elements;  // x moved by whole elements: aligned to the element, not to 16 bytes
  const char* path;
};

TEST(UnpoolVectorPaths, ChannelsFirstEveryScaleAlignmentAndDtype) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  // W_in = 8: W_out = 16 (x2), 32 (x4), 8 (x1), 24 (x3) — multiples of every lane count (8, 4, 2).
  const PathCase cases[] = {
      {2, 2, 8, 0, "vector, W scale 2 at compile time"},
      {1, 4, 8, 0, "vector, W scale 4 at compile time"},
      {3, 1, 8, 0, "vector, W scale 1 (run time)"},
      {2, 3, 8, 0, "vector, W scale 3 (run time)"},
      {2, 2, 8, 1, "vector, x not aligned for the narrower load (run time)"},
      {2, 2, 3, 0, "scalar: W_out 6 not a multiple of the lanes"},
      {1, 4, 5, 1, "scalar: W_out 20, x shifted"},
  };
  HandleGuard cuda(UPS_BACKEND_CUDA), reference(UPS_BACKEND_REFERENCE);
  for (const PathCase& k : cases)
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
      for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS}) {
        SCOPED_TRACE(std::string(k.path) + " " + dtype_label(dtype) +
                     (mode == UPS_UNPOOL_NEAREST ? " nearest" : " bed-of-nails"));
        upsUnpoolDesc_t desc{};
        const int64_t scales[2] = {k.scale_h, k.scale_w};
        UPS_ASSERT_OK(upsUnpoolDescInit(&desc, mode, 2, scales));
        const upsTensorDesc_t x_desc = make_desc(dtype, UPS_LAYOUT_CHANNELS_FIRST, 2, 3, {3, k.w_in});
        upsTensorDesc_t y_desc{};
        UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
        HostTensor x(x_desc), expected(y_desc), actual(y_desc);
        x.fill_random(rng, -100.0, 100.0);
        expected.poison();
        UPS_ASSERT_OK(upsUnpoolForward(reference.get(), &desc, &x_desc, x.data(), &y_desc, expected.data()));
        // x at an element offset inside a larger buffer; y 16-byte aligned (cudaMalloc's base).
        const size_t shift = k.x_shift_elements * static_cast<size_t>(dtype_bytes(dtype));
        Buffer bx(UPS_BACKEND_CUDA, x.bytes.size() + 16), by(UPS_BACKEND_CUDA, actual.bytes.size());
        char* x_ptr = static_cast<char*>(bx.get()) + shift;
        ASSERT_EQ(cudaMemcpy(x_ptr, x.data(), x.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
        actual.poison();
        by.upload(actual);
        UPS_ASSERT_OK(upsUnpoolForward(cuda.get(), &desc, &x_desc, x_ptr, &y_desc, by.get()));
        by.download(&actual);
        EXPECT_TRUE(tensors_identical(actual, expected));
      }
}

// Channels-last: the input-stationary spread kernel (C a multiple of the lanes, x and y aligned),
// and the scalar fallback (C odd, or x shifted), 1-D to 3-D, every dtype and both modes.
TEST(UnpoolVectorPaths, ChannelsLastSpreadAndScalarFallback) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  struct Case {
    std::vector<int64_t> spatial, scale;
    int64_t c;
    size_t x_shift_elements;
    const char* path;
  };
  const Case cases[] = {
      {{5, 3}, {2, 2}, 16, 0, "spread, x2"},         {{3, 4}, {3, 1}, 8, 0, "spread, x3 by x1"},
      {{2, 3, 2}, {1, 4, 2}, 8, 0, "spread, 3-D"},    {{7}, {4}, 24, 0, "spread, 1-D"},
      {{5, 3}, {2, 2}, 5, 0, "scalar: C odd"},       {{5, 3}, {2, 2}, 16, 1, "scalar: x shifted"},
  };
  HandleGuard cuda(UPS_BACKEND_CUDA), reference(UPS_BACKEND_REFERENCE);
  for (const Case& k : cases)
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
      for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS}) {
        SCOPED_TRACE(std::string(k.path) + " " + dtype_label(dtype) +
                     (mode == UPS_UNPOOL_NEAREST ? " nearest" : " bed-of-nails"));
        const int dims = static_cast<int>(k.spatial.size());
        upsUnpoolDesc_t desc{};
        UPS_ASSERT_OK(upsUnpoolDescInit(&desc, mode, dims, k.scale.data()));
        const upsTensorDesc_t x_desc = make_desc(dtype, UPS_LAYOUT_CHANNELS_LAST, 2, k.c, k.spatial);
        upsTensorDesc_t y_desc{};
        UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
        HostTensor x(x_desc), expected(y_desc), actual(y_desc);
        x.fill_random(rng, -100.0, 100.0);
        expected.poison();
        UPS_ASSERT_OK(upsUnpoolForward(reference.get(), &desc, &x_desc, x.data(), &y_desc, expected.data()));
        const size_t shift = k.x_shift_elements * static_cast<size_t>(dtype_bytes(dtype));
        Buffer bx(UPS_BACKEND_CUDA, x.bytes.size() + 16), by(UPS_BACKEND_CUDA, actual.bytes.size());
        char* x_ptr = static_cast<char*>(bx.get()) + shift;
        ASSERT_EQ(cudaMemcpy(x_ptr, x.data(), x.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
        actual.poison();
        by.upload(actual);
        UPS_ASSERT_OK(upsUnpoolForward(cuda.get(), &desc, &x_desc, x_ptr, &y_desc, by.get()));
        by.download(&actual);
        EXPECT_TRUE(tensors_identical(actual, expected));
      }
}

// Backward, channels-last: the 16-byte kernel (C a multiple of the lanes, dy and dx aligned) and the
// scalar one (C odd, or dy shifted), both modes, every dtype, against the reference: bed-of-nails
// bit for bit, nearest within the sum's bound (small integers: exact here as well).
TEST(UnpoolVectorPaths, BackwardChannelsLastVectorAndScalar) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  struct Case {
    std::vector<int64_t> spatial, scale;
    int64_t c;
    size_t dy_shift_elements;
    const char* path;
  };
  const Case cases[] = {
      {{5, 3}, {2, 2}, 16, 0, "vector, x2"},    {{2, 3, 2}, {1, 3, 2}, 8, 0, "vector, 3-D"},
      {{7}, {4}, 24, 0, "vector, 1-D"},         {{5, 3}, {2, 2}, 5, 0, "scalar: C odd"},
      {{5, 3}, {2, 2}, 16, 1, "scalar: dy shifted"},
  };
  HandleGuard cuda(UPS_BACKEND_CUDA), reference(UPS_BACKEND_REFERENCE);
  for (const Case& k : cases)
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
      for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS}) {
        SCOPED_TRACE(std::string(k.path) + " " + dtype_label(dtype) +
                     (mode == UPS_UNPOOL_NEAREST ? " nearest" : " bed-of-nails"));
        const int dims = static_cast<int>(k.spatial.size());
        upsUnpoolDesc_t desc{};
        UPS_ASSERT_OK(upsUnpoolDescInit(&desc, mode, dims, k.scale.data()));
        const upsTensorDesc_t dx_desc = make_desc(dtype, UPS_LAYOUT_CHANNELS_LAST, 2, k.c, k.spatial);
        upsTensorDesc_t dy_desc{};
        UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &dx_desc, &dy_desc));
        HostTensor dy(dy_desc), expected(dx_desc), actual(dx_desc);
        dy.fill_random(rng, -8.0, 8.0, true);  // small integers: every partial sum is exact in f16/bf16
        expected.poison();
        UPS_ASSERT_OK(upsUnpoolBackward(reference.get(), &desc, &dy_desc, dy.data(), &dx_desc, expected.data()));
        const size_t shift = k.dy_shift_elements * static_cast<size_t>(dtype_bytes(dtype));
        Buffer bdy(UPS_BACKEND_CUDA, dy.bytes.size() + 16), bdx(UPS_BACKEND_CUDA, actual.bytes.size());
        char* dy_ptr = static_cast<char*>(bdy.get()) + shift;
        ASSERT_EQ(cudaMemcpy(dy_ptr, dy.data(), dy.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
        actual.poison();
        bdx.upload(actual);
        UPS_ASSERT_OK(upsUnpoolBackward(cuda.get(), &desc, &dy_desc, dy_ptr, &dx_desc, bdx.get()));
        bdx.download(&actual);
        EXPECT_TRUE(tensors_identical(actual, expected));
      }
}

}  // namespace
}  // namespace upsample::test

// The index arithmetic beyond 2^31 elements, called directly (NOTE [ Index width ] in
// core/index_width.h): coordinates and offsets of a tensor of 7.35e10 elements round-trip, and
// the 32-bit rule's threshold. The functions are reachable in the static emulated library only,
// so this file is in UPS_EMULATED_TEST_SOURCES (label `emulated`).
#include <cstdint>

#include "cuda/common/tensor.cuh"  // the index arithmetic itself, callable on the host under emulation
#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

TEST(CudaIndexing, CoordinatesAndOffsetsBeyond2Pow31RoundTrip) {
  for (upsLayout_t layout : {UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST}) {
    // 3 x 5 x 1 x 70000 x 70000 = 7.35e10 elements, far beyond 2^31 (never allocated).
    detail::TensorGeometry g;
    g.dtype = UPS_DTYPE_F16;
    g.layout = layout;
    g.n = 3;
    g.c = 5;
    g.extent[0] = 1;
    g.extent[1] = 70000;
    g.extent[2] = 70000;
    const int64_t plane = g.plane();
    if (layout == UPS_LAYOUT_CHANNELS_FIRST) {
      g.stride[2] = 1, g.stride[1] = 70000, g.stride[0] = plane, g.stride_c = plane, g.stride_n = 5 * plane;
    } else {
      g.stride_c = 1, g.stride[2] = 5, g.stride[1] = 5 * 70000, g.stride[0] = 5 * plane, g.stride_n = 5 * plane;
    }
    EXPECT_FALSE(cuda::use_32bit_indexing({&g})) << "a tensor of 7.35e10 elements needs 64-bit indices";
    const cuda::DeviceTensor<int64_t> t = cuda::make_device_tensor<int64_t>(g);
    const int64_t total = g.elements();
    for (int64_t linear : {int64_t{0}, int64_t{1} << 31, (int64_t{1} << 31) + 12345, int64_t{1} << 33, total / 2 + 7,
                           total - 70001, total - 1}) {
      const cuda::Coordinates<int64_t> q = cuda::coordinates_of(t, linear);
      EXPECT_EQ(t.offset(q.n, q.c, q.d, q.h, q.w), linear) << "layout " << layout << ", linear " << linear;
      EXPECT_LT(q.n, g.n);
      EXPECT_LT(q.c, g.c);
      EXPECT_LT(q.h, g.extent[1]);
      EXPECT_LT(q.w, g.extent[2]);
    }
    // The last element's coordinates are the last along every axis.
    const cuda::Coordinates<int64_t> last = cuda::coordinates_of(t, total - 1);
    EXPECT_EQ(last.n, 2);
    EXPECT_EQ(last.c, 4);
    EXPECT_EQ(last.h, 69999);
    EXPECT_EQ(last.w, 69999);
  }
  // Just below the threshold the 32-bit path is allowed.
  detail::TensorGeometry small;
  small.n = 1, small.c = 1, small.extent[2] = (int64_t{1} << 31) - 2;
  EXPECT_TRUE(cuda::use_32bit_indexing({&small}));
  small.extent[2] = int64_t{1} << 31;
  EXPECT_FALSE(cuda::use_32bit_indexing({&small}));
}

}  // namespace
}  // namespace upsample::test

// A real op on a tensor of more than 2^31 elements (label `large`, its own executable): nearest
// 1-D, f16, x of 2^30 + 64 elements (2 GiB) to y of 2^31 + 128 elements (4 GiB), on the emulated
// backend, about a minute and 6 GiB of host memory.
#include <cstdint>
#include <vector>

#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

TEST(LargeTensor, NearestUnpool1dBeyond2Pow31Elements) {
  const int64_t width = (int64_t{1} << 30) + 64;
  const upsTensorDesc_t x_desc = make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {width});
  const upsUnpoolDesc_t desc = unpool_desc(UPS_UNPOOL_NEAREST, {2});
  upsTensorDesc_t y_desc;
  UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
  ASSERT_GT(y_desc.spatial[0], int64_t{1} << 31);
  // x[i] = (i mod 2039) as f16 (exact: integers below 2048), a pattern with no power-of-2 period.
  std::vector<uint16_t> x(static_cast<size_t>(width));
  for (int64_t i = 0; i < width; ++i)
    x[static_cast<size_t>(i)] = reference::float_to_half(static_cast<float>(i % 2039));
  void* dx = nullptr;
  void* dy = nullptr;
  ASSERT_EQ(cudaMalloc(&dx, static_cast<size_t>(width) * 2), cudaSuccess);
  ASSERT_EQ(cudaMalloc(&dy, static_cast<size_t>(2 * width) * 2), cudaSuccess);
  cudaMemcpy(dx, x.data(), static_cast<size_t>(width) * 2, cudaMemcpyHostToDevice);
  cudaMemset(dy, 0xFF, static_cast<size_t>(2 * width) * 2);  // NaN poison
  HandleGuard handle(UPS_BACKEND_CUDA);
  UPS_ASSERT_OK(handle.status());
  UPS_ASSERT_OK(upsUnpoolForward(handle.get(), &desc, &x_desc, dx, &y_desc, dy));
  cudaFree(dx);
  std::vector<uint16_t>().swap(x);
  std::vector<uint16_t> y(static_cast<size_t>(2 * width));
  cudaMemcpy(y.data(), dy, y.size() * 2, cudaMemcpyDeviceToHost);
  cudaFree(dy);
  std::vector<uint16_t> pattern(2039);
  for (int i = 0; i < 2039; ++i) pattern[static_cast<size_t>(i)] = reference::float_to_half(static_cast<float>(i));
  int64_t wrong = 0, first_wrong = -1;
  for (int64_t o = 0; o < 2 * width; ++o)
    if (y[static_cast<size_t>(o)] != pattern[static_cast<size_t>((o / 2) % 2039)]) {
      if (first_wrong < 0) first_wrong = o;
      ++wrong;
    }
  EXPECT_EQ(wrong, 0) << "first wrong element at " << first_wrong;
}

}  // namespace
}  // namespace upsample::test

// Links upsample from C++ through the header-only layer.
#include <cstdio>
#include <upsample/upsample.hpp>
#include <vector>

int main() {
  try {
    upsample::Handle handle(UPS_BACKEND_REFERENCE);
    const auto x_desc = upsample::tensor_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {2, 2});
    const std::vector<float> x = {1, 2, 3, 4};
    const auto unpool = upsample::unpool_desc(UPS_UNPOOL_NEAREST, {2, 2});
    const auto y_desc = upsample::unpool_output_desc(unpool, x_desc);
    std::vector<float> y(16);
    handle.unpool(unpool, x_desc, x.data(), y_desc, y.data());
    const float expected[16] = {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4};
    for (int i = 0; i < 16; ++i)
      if (y[i] != expected[i]) {
        std::fprintf(stderr, "y[%d] = %g, expected %g\n", i, y[i], expected[i]);
        return 1;
      }
  } catch (const upsample::Error& e) {
    std::fprintf(stderr, "upsample error: %s\n", e.what());
    return 1;
  }
  std::printf("consumer_cpp: nearest unpool correct\n");
  return 0;
}

// Max-pool backward where the windows tile dx (kernel == stride, dilation 1): every path the
// launcher picks (cuda/max_pool/max_pool_backward.cu) — the channels-last 16-byte kernel, the
// channels-first 16-byte kernel (W stride 2 or 4, no W padding or tail) and the scalar tiled
// kernel (C or W not a multiple of the lanes, W padding or tail, dy or dx shifted off alignment)
// — for every dtype, 1-D to 3-D, with padding, ceil mode and tails past the last window, against
// a gradient written here from upsample.h's definition: dx is 0, plus dy[p] at the position
// indices[p] names when that position lies in p's own window (kernel == stride: at most one such
// p per position, so the sum is 0 + dy[p], and -0 becomes +0 as in any sum from 0).
// Indices (I64 and I32 switches on every path): a real max-pool's, and arbitrary ones (other windows' positions, the
// tail, out of the plane, negative: all contribute nothing).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

int64_t plane_of(const upsTensorDesc_t& d) {
  int64_t plane = 1;
  for (int a = 0; a < d.spatial_dims; ++a) plane *= d.spatial[a];
  return plane;
}

// The gradient of max-pool from its definition, for windows of `kernel` positions at `stride`
// (== kernel here) starting at o*stride - padding.
HostTensor definition_gradient(const upsPoolDesc_t& pool, const HostTensor& dy, const HostTensor& indices,
                               const upsTensorDesc_t& dx_desc) {
  HostTensor dx(dx_desc);
  for (int64_t i = 0; i < dx.size(); ++i) dx.set(i, 0.0);
  const int dims = dx_desc.spatial_dims;
  const int64_t plane = plane_of(dx_desc);
  for_each_element(dy.desc, [&](int64_t n, int64_t c, const int64_t* o) {
    const int64_t at = offset_of(dy.desc, n, c, o);
    const int64_t index = indices.index(at);
    if (index < 0 || index >= plane) return;
    int64_t position[3] = {0, 0, 0};
    int64_t rest = index;
    for (int a = dims - 1; a >= 0; --a) {
      position[a] = rest % dx_desc.spatial[a];
      rest /= dx_desc.spatial[a];
    }
    for (int a = 0; a < dims; ++a) {
      const int64_t tap = position[a] - (o[a] * pool.stride[a] - pool.padding[a]);
      if (tap < 0 || tap >= pool.kernel[a]) return;  // not in its own window
    }
    const int64_t target = offset_of(dx_desc, n, c, position);
    dx.set(target, dx.get(target) + dy.get(at));
  });
  return dx;
}

TEST(MaxPoolBackwardTiledPaths, EveryPathEveryDtypeAgainstTheDefinition) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  struct Case {
    std::vector<int64_t> kernel, padding, spatial;
    bool ceil_mode;
    int64_t c;
    upsLayout_t layout;
    size_t dy_shift, dx_shift;  // elements
    const char* path;
  };
  const Case cases[] = {
      {{2, 2}, {0, 0}, {6, 8}, false, 16, UPS_LAYOUT_CHANNELS_LAST, 0, 0, "vec16, 2x2 tiling exactly"},
      {{2, 2}, {1, 1}, {5, 7}, false, 8, UPS_LAYOUT_CHANNELS_LAST, 0, 0, "vec16, padded"},
      {{3, 3}, {0, 1}, {8, 7}, false, 8, UPS_LAYOUT_CHANNELS_LAST, 0, 0, "vec16, 3x3, tails past the last window"},
      {{2, 2}, {0, 0}, {5, 5}, true, 8, UPS_LAYOUT_CHANNELS_LAST, 0, 0, "vec16, ceil mode"},
      {{2, 2, 2}, {0, 1, 0}, {3, 4, 5}, false, 8, UPS_LAYOUT_CHANNELS_LAST, 0, 0, "vec16, 3-D"},
      {{4}, {2}, {11}, false, 16, UPS_LAYOUT_CHANNELS_LAST, 0, 0, "vec16, 1-D"},
      {{2, 2}, {0, 0}, {5, 6}, false, 3, UPS_LAYOUT_CHANNELS_LAST, 0, 0, "scalar tiled, C odd"},
      {{2, 2}, {0, 0}, {4, 6}, false, 16, UPS_LAYOUT_CHANNELS_LAST, 1, 0, "scalar tiled, dy shifted"},
      {{2, 2}, {1, 0}, {4, 6}, false, 16, UPS_LAYOUT_CHANNELS_LAST, 0, 1, "scalar tiled, dx shifted"},
      {{2, 2}, {0, 0}, {6, 16}, false, 3, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, "cf vec16, W stride 2"},
      {{4, 4}, {1, 0}, {9, 32}, false, 2, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, "cf vec16, W stride 4 (f64: scalar)"},
      {{2, 2, 2}, {1, 0, 0}, {3, 5, 8}, false, 2, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, "cf vec16, 3-D, H tail"},
      {{2}, {0}, {24}, false, 3, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, "cf vec16, 1-D"},
      {{2, 2}, {0, 0}, {4, 6}, false, 3, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, "cf: W 6 (f64 vec16, else scalar)"},
      {{2, 2}, {0, 0}, {4, 16}, false, 3, UPS_LAYOUT_CHANNELS_FIRST, 1, 0, "scalar tiled, cf, dy shifted"},
      {{2, 2}, {0, 0}, {4, 16}, false, 3, UPS_LAYOUT_CHANNELS_FIRST, 0, 1, "scalar tiled, cf, dx shifted"},
      {{2, 2}, {0, 1}, {4, 16}, false, 3, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, "scalar tiled, cf, W padding"},
      {{2, 2}, {0, 0}, {4, 17}, false, 3, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, "scalar tiled, cf, W tail"},
      {{2, 2}, {1, 1}, {7, 6}, false, 4, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, "scalar tiled, channels-first"},
      {{3, 2, 2}, {1, 0, 1}, {4, 5, 3}, true, 2, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, "scalar tiled, 3-D ceil mode"},
      {{3}, {0}, {10}, false, 5, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, "scalar tiled, 1-D tail"},
  };
  for (const Case& k : cases)
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
      for (upsDataType_t switches : kSwitchDtypes)
        for (int source = 0; source < 2; ++source) {
          SCOPED_TRACE(std::string(k.path) + " " + dtype_label(dtype) + " " + dtype_label(switches) +
                       (source == 0 ? " max-pool indices" : " arbitrary indices"));
          const upsPoolDesc_t pool = pool_desc(k.kernel, k.kernel, k.padding, {}, k.ceil_mode);
          const upsTensorDesc_t dx_desc = make_desc(dtype, k.layout, 2, k.c, k.spatial);
          upsTensorDesc_t dy_desc{}, i_desc{};
          UPS_ASSERT_OK(upsMaxPoolOutputDesc(&pool, &dx_desc, &dy_desc, &i_desc));
          i_desc.dtype = switches;
          HostTensor dy(dy_desc), indices(i_desc);
          dy.fill_random(rng, -50.0, 50.0);
          for (int64_t e = 0; e < dy.size(); e += 5) dy.set(e, -0.0);  // must come back +0
          if (source == 0) {
            HostTensor x(dx_desc);
            x.fill_random(rng, -3, 3, /*integers=*/true);  // ties: the first maximum's index
            Backends be;
            indices = max_pool_forward(be.reference(), pool, x, switches).indices;
          } else {
            std::uniform_int_distribution<int64_t> any(-2, plane_of(dx_desc) + 1);
            for (int64_t i = 0; i < indices.size(); ++i) indices.set_index(i, any(rng));
          }
          const HostTensor expected = definition_gradient(pool, dy, indices, dx_desc);

          const size_t bytes = static_cast<size_t>(dtype_bytes(dtype));
          Buffer bdy(UPS_BACKEND_CUDA, dy.bytes.size() + 16), bi(UPS_BACKEND_CUDA, indices),
              bdx(UPS_BACKEND_CUDA, expected.bytes.size() + 16);
          char* dy_ptr = static_cast<char*>(bdy.get()) + k.dy_shift * bytes;
          char* dx_ptr = static_cast<char*>(bdx.get()) + k.dx_shift * bytes;
          ASSERT_EQ(cudaMemcpy(dy_ptr, dy.data(), dy.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
          HostTensor actual(dx_desc);
          actual.poison();
          ASSERT_EQ(cudaMemcpy(dx_ptr, actual.data(), actual.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
          HandleGuard h(UPS_BACKEND_CUDA);
          UPS_ASSERT_OK(upsMaxPoolBackward(h.get(), &pool, &dy_desc, dy_ptr, &i_desc, bi.get(), &dx_desc, dx_ptr));
          ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
          ASSERT_EQ(cudaMemcpy(actual.data(), dx_ptr, actual.bytes.size(), cudaMemcpyDeviceToHost), cudaSuccess);
          EXPECT_TRUE(tensors_identical(actual, expected));
        }
}

}  // namespace
}  // namespace upsample::test

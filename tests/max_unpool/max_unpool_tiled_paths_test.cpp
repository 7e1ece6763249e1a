// Max-unpool forward where the windows tile the output (kernel == stride): every path the launcher
// picks (cuda/max_unpool/max_unpool.cu) — the channels-last 16-byte kernel, the channels-first
// 16-byte kernel (W stride 2 or 4, no W padding or tail), the scalar tiled kernel (C not a
// multiple of the lanes, W padding or tail, x or y shifted off alignment), and the general path
// behind either when an index leaves its own window — for every dtype, against a scatter written
// here from the definition (zeros, then y[n, c, index] = x[n, c, p] in scan order: the latest wins).
// Indices (I64 and I32 switches, each on every path): a real max-pool's (each inside its window), each anywhere in its
// tile (tails included: the tiled kernel alone writes y), arbitrary positions with duplicates, and, under
// UPS_INDEX_CHECK_ASYNC, bad ones (skipped; the query names the first).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace upsample::test {
namespace {

upsPoolDesc_t tiled_pool(int64_t k, int64_t padding) {
  upsPoolDesc_t d{};
  d.spatial_dims = 2;
  for (int a = 0; a < 2; ++a) {
    d.kernel[a] = d.stride[a] = k;
    d.padding[a] = padding;
    d.dilation[a] = 1;
  }
  return d;
}

int64_t plane_of(const upsTensorDesc_t& d) { return element_count(d) / std::max<int64_t>(1, d.n * d.c); }

int64_t offset_in(const upsTensorDesc_t& d, int64_t n, int64_t c, int64_t p) {
  const int64_t plane = plane_of(d);
  return d.layout == UPS_LAYOUT_CHANNELS_LAST ? (n * plane + p) * d.c + c : (n * d.c + c) * plane + p;
}

// The definition, skipping bad indices (what an asynchronous check leaves).
HostTensor scatter(const HostTensor& x, const HostTensor& indices, const upsTensorDesc_t& y_desc) {
  HostTensor y(y_desc);
  for (int64_t i = 0; i < y.size(); ++i) y.set(i, 0.0);
  const int64_t in_plane = plane_of(x.desc), out_plane = plane_of(y_desc);
  for (int64_t n = 0; n < x.desc.n; ++n)
    for (int64_t c = 0; c < x.desc.c; ++c)
      for (int64_t p = 0; p < in_plane; ++p) {
        const int64_t index = indices.index(offset_in(x.desc, n, c, p));
        if (index < 0 || index >= out_plane) continue;
        std::memcpy(static_cast<char*>(y.data()) + offset_in(y_desc, n, c, index) * dtype_bytes(y_desc.dtype),
                    static_cast<const char*>(x.data()) + offset_in(x.desc, n, c, p) * dtype_bytes(x.desc.dtype),
                    static_cast<size_t>(dtype_bytes(x.desc.dtype)));
      }
  return y;
}

TEST(MaxUnpoolTiledPaths, EveryPathEveryDtypeAgainstTheDefinition) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  struct Case {
    int64_t k, padding, c;
    upsLayout_t layout;
    size_t x_shift, y_shift;   // elements
    int64_t extra_h, extra_w;  // output_size past the default extent (a tail)
    const char* path;
  };
  const Case cases[] = {
      {2, 0, 16, UPS_LAYOUT_CHANNELS_LAST, 0, 0, 0, 0, "vec16, SegNet 2x2"},
      {2, 1, 8, UPS_LAYOUT_CHANNELS_LAST, 0, 0, 0, 0, "vec16, padded"},
      {3, 0, 8, UPS_LAYOUT_CHANNELS_LAST, 0, 0, 2, 1, "vec16, 3x3, output_size adds a tail"},
      {2, 0, 3, UPS_LAYOUT_CHANNELS_LAST, 0, 0, 0, 0, "scalar tiled, C odd"},
      {2, 0, 16, UPS_LAYOUT_CHANNELS_LAST, 1, 0, 0, 0, "scalar tiled, x shifted"},
      {2, 0, 3, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, 0, 0, "cf vec16, W stride 2"},
      {2, 0, 3, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, 1, 0, "cf vec16, output_size adds an H tail"},
      {4, 0, 2, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, 0, 0, "cf vec16, W stride 4 (8-byte words: scalar)"},
      {2, 0, 3, UPS_LAYOUT_CHANNELS_FIRST, 1, 0, 0, 0, "scalar tiled, cf, x shifted (8-byte words: vec16)"},
      {2, 0, 3, UPS_LAYOUT_CHANNELS_FIRST, 0, 1, 0, 0, "scalar tiled, cf, y shifted (8-byte words too)"},
      {2, 0, 16, UPS_LAYOUT_CHANNELS_LAST, 0, 1, 0, 0, "scalar tiled, y shifted"},
      {2, 0, 3, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, 0, 1, "scalar tiled, cf, W tail"},
      {2, 1, 4, UPS_LAYOUT_CHANNELS_FIRST, 0, 0, 1, 1, "scalar tiled, channels-first"},
  };
  for (const Case& k : cases)
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
      for (upsDataType_t switches : kSwitchDtypes)
        for (int source = 0; source < 4; ++source) {
          SCOPED_TRACE(std::string(k.path) + " " + dtype_label(dtype) + " " + dtype_label(switches) +
                       (source == 0   ? " max-pool indices"
                        : source == 1 ? " arbitrary indices"
                        : source == 2 ? " bad indices, ASYNC"
                                      : " in-tile indices, tails included"));
          const upsPoolDesc_t pool = tiled_pool(k.k, k.padding);
          const upsTensorDesc_t x_desc = make_desc(dtype, k.layout, 2, k.c, {3, 4});
          upsTensorDesc_t y_desc{};
          UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x_desc, nullptr, &y_desc));
          if (k.extra_h != 0 || k.extra_w != 0) {
            const int64_t size[2] = {y_desc.spatial[0] + k.extra_h, y_desc.spatial[1] + k.extra_w};
            UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x_desc, size, &y_desc));
          }
          upsTensorDesc_t i_desc = x_desc;
          i_desc.dtype = switches;
          HostTensor x(x_desc), indices(i_desc);
          x.fill_random(rng, -50.0, 50.0);
          const int64_t out_plane = plane_of(y_desc);
          if (source == 0) {
            // Max-pool of a random y-shaped tensor (its output is x's shape when no tail was added).
            HandleGuard ref(UPS_BACKEND_REFERENCE);
            upsTensorDesc_t src = y_desc;
            src.dtype = UPS_DTYPE_F64;
            HostTensor ys(src);
            ys.fill_random(rng);
            upsTensorDesc_t pd{}, id{};
            UPS_ASSERT_OK(upsMaxPoolOutputDesc(&pool, &src, &pd, &id));
            id.dtype = switches;
            if (pd.spatial[0] != x_desc.spatial[0] || pd.spatial[1] != x_desc.spatial[1]) continue;
            HostTensor pooled(pd);
            UPS_ASSERT_OK(
                upsMaxPoolForward(ref.get(), &pool, &src, ys.data(), &pd, pooled.data(), &id, indices.data()));
          } else if (source == 3) {
            // Each index anywhere in its input's tile: its window, and for the last window on an
            // axis the tail past it too. None escapes, so the tiled kernel alone writes y.
            for_each_element(x_desc, [&](int64_t n, int64_t c, const int64_t* q) {
              int64_t position = 0;
              for (int a = 0; a < 2; ++a) {
                const int64_t first = q[a] * k.k - k.padding;
                const int64_t begin = std::max<int64_t>(first, 0);
                const int64_t end =
                    q[a] + 1 == x_desc.spatial[a] ? y_desc.spatial[a] : std::min(first + k.k, y_desc.spatial[a]);
                position = position * y_desc.spatial[a] + std::uniform_int_distribution<int64_t>(begin, end - 1)(rng);
              }
              indices.set_index(offset_of(x_desc, n, c, q), position);
            });
          } else {
            std::uniform_int_distribution<int64_t> any(0, out_plane - 1);
            for (int64_t i = 0; i < indices.size(); ++i) indices.set_index(i, any(rng));
            if (source == 2) {
              indices.set_index(5, out_plane);  // bad
              indices.set_index(indices.size() - 1, -3);
            }
          }
          const HostTensor expected = scatter(x, indices, y_desc);
          HandleGuard h(UPS_BACKEND_CUDA);
          if (source == 2) UPS_ASSERT_OK(upsSetIndexCheckMode(h.get(), UPS_INDEX_CHECK_ASYNC));
          const size_t bytes = static_cast<size_t>(dtype_bytes(dtype));
          Buffer bx(UPS_BACKEND_CUDA, x.bytes.size() + 16), bi(UPS_BACKEND_CUDA, indices);
          HostTensor actual(y_desc);
          actual.poison();
          Buffer by(UPS_BACKEND_CUDA, actual.bytes.size() + 16);
          char* x_ptr = static_cast<char*>(bx.get()) + k.x_shift * bytes;
          char* y_ptr = static_cast<char*>(by.get()) + k.y_shift * bytes;
          ASSERT_EQ(cudaMemcpy(x_ptr, x.data(), x.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
          ASSERT_EQ(cudaMemcpy(y_ptr, actual.data(), actual.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
          UPS_ASSERT_OK(upsMaxUnpoolForward(h.get(), &pool, &x_desc, x_ptr, &i_desc, bi.get(), &y_desc, y_ptr));
          ASSERT_EQ(cudaMemcpy(actual.data(), y_ptr, actual.bytes.size(), cudaMemcpyDeviceToHost), cudaSuccess);
          EXPECT_TRUE(tensors_identical(actual, expected));
          upsStatus_t runtime = UPS_STATUS_INTERNAL_ERROR;
          UPS_ASSERT_OK(upsQueryRuntimeError(h.get(), &runtime, UPS_ERRQUERY_BLOCKING));
          if (source == 2) {
            EXPECT_EQ(runtime, UPS_STATUS_INDEX_OUT_OF_RANGE);
            // Element 5 (n = 0) comes before the last element (n = 1) in (n, c, d, h, w) order in both
            // layouts: its value is the one reported.
            EXPECT_NE(std::string(upsGetLastErrorString()).find("= " + std::to_string(out_plane) + " is outside"),
                      std::string::npos)
                << upsGetLastErrorString();
          } else {
            EXPECT_EQ(runtime, UPS_STATUS_SUCCESS);
          }
        }
}

// Backward: the 16-byte gathers (channels-last with C a multiple of the lanes, channels-first with
// the plane a multiple of the lanes; dx aligned) and the scalar one (C odd, plane 12 for 2-byte
// words, dx shifted), every dtype and both switch dtypes, with valid indices (synchronous) and with bad ones under
// UPS_INDEX_CHECK_ASYNC (their dx is 0, the query names the first), against
// dx[n, c, p] = dy[n, c, indices[n, c, p]] written here.
TEST(MaxUnpoolTiledPaths, BackwardEveryPathEveryDtype) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  struct Case {
    int64_t c;
    upsLayout_t layout;
    size_t dx_shift;
    std::vector<int64_t> spatial;
    const char* path;
  };
  const Case cases[] = {
      {16, UPS_LAYOUT_CHANNELS_LAST, 0, {3, 4}, "vec16"},
      {8, UPS_LAYOUT_CHANNELS_LAST, 0, {3, 4}, "vec16, C 8"},
      {3, UPS_LAYOUT_CHANNELS_LAST, 0, {3, 4}, "scalar, C odd"},
      {16, UPS_LAYOUT_CHANNELS_LAST, 1, {3, 4}, "scalar, dx shifted"},
      {3, UPS_LAYOUT_CHANNELS_FIRST, 0, {4, 4}, "cf vec16, plane 16"},
      {4, UPS_LAYOUT_CHANNELS_FIRST, 0, {3, 4}, "cf, plane 12 (vec16 for 4- and 8-byte words, else scalar)"},
      {3, UPS_LAYOUT_CHANNELS_FIRST, 1, {4, 4}, "scalar, cf, dx shifted"}};
  const upsPoolDesc_t pool = tiled_pool(2, 0);
  for (const Case& k : cases)
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
      for (upsDataType_t switches : kSwitchDtypes)
        for (bool bad : {false, true}) {
          SCOPED_TRACE(std::string(k.path) + " " + dtype_label(dtype) + " " + dtype_label(switches) +
                       (bad ? " bad indices, ASYNC" : ""));
          const upsTensorDesc_t dx_desc = make_desc(dtype, k.layout, 2, k.c, k.spatial);
          upsTensorDesc_t dy_desc{};
          UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &dx_desc, nullptr, &dy_desc));
          upsTensorDesc_t i_desc = dx_desc;
          i_desc.dtype = switches;
          HostTensor dy(dy_desc), indices(i_desc), expected(dx_desc), actual(dx_desc);
          dy.fill_random(rng, -50.0, 50.0);
          const int64_t out_plane = plane_of(dy_desc), in_plane = plane_of(dx_desc);
          std::uniform_int_distribution<int64_t> any(0, out_plane - 1);
          for (int64_t i = 0; i < indices.size(); ++i) indices.set_index(i, any(rng));
          if (bad) {
            indices.set_index(7, -1);
            indices.set_index(indices.size() - 2, out_plane + 4);
          }
          const size_t bytes = static_cast<size_t>(dtype_bytes(dtype));
          for (int64_t n = 0; n < dx_desc.n; ++n)
            for (int64_t c = 0; c < dx_desc.c; ++c)
              for (int64_t p = 0; p < in_plane; ++p) {
                const int64_t at = offset_in(dx_desc, n, c, p), index = indices.index(at);
                if (index < 0 || index >= out_plane) {
                  expected.set(at, 0.0);
                  continue;
                }
                std::memcpy(static_cast<char*>(expected.data()) + at * bytes,
                            static_cast<const char*>(dy.data()) + offset_in(dy_desc, n, c, index) * bytes, bytes);
              }
          HandleGuard h(UPS_BACKEND_CUDA);
          if (bad) UPS_ASSERT_OK(upsSetIndexCheckMode(h.get(), UPS_INDEX_CHECK_ASYNC));
          Buffer bdy(UPS_BACKEND_CUDA, dy), bi(UPS_BACKEND_CUDA, indices),
              bdx(UPS_BACKEND_CUDA, actual.bytes.size() + 16);
          char* dx_ptr = static_cast<char*>(bdx.get()) + k.dx_shift * bytes;
          actual.poison();
          ASSERT_EQ(cudaMemcpy(dx_ptr, actual.data(), actual.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
          UPS_ASSERT_OK(upsMaxUnpoolBackward(h.get(), &pool, &dy_desc, bdy.get(), &i_desc, bi.get(), &dx_desc, dx_ptr));
          ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
          ASSERT_EQ(cudaMemcpy(actual.data(), dx_ptr, actual.bytes.size(), cudaMemcpyDeviceToHost), cudaSuccess);
          EXPECT_TRUE(tensors_identical(actual, expected));
          upsStatus_t runtime = UPS_STATUS_INTERNAL_ERROR;
          UPS_ASSERT_OK(upsQueryRuntimeError(h.get(), &runtime, UPS_ERRQUERY_BLOCKING));
          EXPECT_EQ(runtime, bad ? UPS_STATUS_INDEX_OUT_OF_RANGE : UPS_STATUS_SUCCESS);
          if (bad) {  // element 7 (n = 0) precedes the other bad one (n = 1)
            EXPECT_NE(std::string(upsGetLastErrorString()).find("] = -1 is outside"), std::string::npos)
                << upsGetLastErrorString();
          }
        }
}

}  // namespace
}  // namespace upsample::test

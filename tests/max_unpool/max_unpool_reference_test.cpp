// Max-unpooling, forward and backward, on the REFERENCE backend, against checks from outside
// the library: worked examples by hand (placement, explicit output size, duplicates); arbitrary
// switches against a sequential loop (the latest duplicate wins); adjointness with distinct
// switches and finite differences of the gradient; output and gradient shapes (PyTorch's
// output_size rule); every bad-input class, out-of-range indices included, as a table (status,
// message naming the first bad position, nothing written).
// Inputs are fresh and random (UPS_TEST_SEED replays a failure); outputs are poisoned first.
#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

// =============================================================================================
// Forward
// =============================================================================================

// Max-unpool: the pooled values of the 4x4 example with their indices go back to
// y[1] = 5, y[6] = 8, y[8] = 6, y[14] = 3, zeros elsewhere. With an explicit output size 5x5
// (default 4 +- stride 2, exclusive) the same flat indices land at (0,1), (1,1), (1,3), (2,4).
// Duplicates: x = [1, 2, 3] with indices [0, 0, 2] (k2 s1, extent (3-1)*1 + 2 = 4): the later
// input wins, y = [2, 0, 3, 0].
TEST(ReferenceMaxUnpoolExample, PlacementOutputSizeAndDuplicatesByHand) {
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(std::string(dtype_label(dtype)) + " " + layout_label(layout));
      const HostTensor x = tensor_of(make_desc(dtype, layout, 1, 1, {2, 2}), {5, 8, 6, 3});
      const HostTensor idx = indices_of(make_desc(UPS_DTYPE_I64, layout, 1, 1, {2, 2}), {1, 6, 8, 14});
      const HostTensor y = max_unpool_forward(ref, pool_desc({2, 2}), x, idx);
      ASSERT_TRUE(same_shape(y.desc, make_desc(dtype, layout, 1, 1, {4, 4})));
      EXPECT_TRUE(tensors_identical(y, tensor_of(y.desc, {0, 5, 0, 0, 0, 0, 8, 0, 6, 0, 0, 0, 0, 0, 3, 0})));

      const int64_t size5[2] = {5, 5};
      const HostTensor y5 = max_unpool_forward(ref, pool_desc({2, 2}), x, idx, size5);
      ASSERT_TRUE(same_shape(y5.desc, make_desc(dtype, layout, 1, 1, {5, 5})));
      EXPECT_TRUE(tensors_identical(y5, tensor_of(y5.desc, {0, 5, 0, 0, 0,  //
                                                            0, 8, 0, 6, 0,  //
                                                            0, 0, 0, 0, 3,  //
                                                            0, 0, 0, 0, 0,  //
                                                            0, 0, 0, 0, 0})));

      const HostTensor xd = tensor_of(make_desc(dtype, layout, 1, 1, {3}), {1, 2, 3});
      const HostTensor id = indices_of(make_desc(UPS_DTYPE_I64, layout, 1, 1, {3}), {0, 0, 2});
      const HostTensor yd = max_unpool_forward(ref, pool_desc({2}, {1}), xd, id);
      EXPECT_TRUE(tensors_identical(yd, tensor_of(yd.desc, {2, 0, 3, 0})));
    }
}

// Max-unpool on arbitrary switch indices (duplicates frequent, output size explicit or not):
// y is zero except y[n, c, indices[n, c, p]] = x[n, c, p], and where several p of one (n, c)
// plane share an index, the latest p in the plane's scan order wins. The expected y comes from
// a sequential loop written here.
TEST(ReferenceMaxUnpoolProperty, ScattersWithLatestDuplicateWinning) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  int duplicates = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    std::vector<int64_t> kernel, stride, padding, extent;
    for (int a = 0; a < dims; ++a) {
      kernel.push_back(uniform_int(rng, 1, 3));
      stride.push_back(uniform_int(rng, 1, 3));
      padding.push_back(uniform_int(rng, 0, kernel.back() / 2));
      extent.push_back(uniform_int(rng, 1, dims == 3 ? 3 : 5));
    }
    const upsPoolDesc_t pool = pool_desc(kernel, stride, padding);
    const upsDataType_t dtype = trial % 2 ? UPS_DTYPE_F32 : UPS_DTYPE_BF16;
    HostTensor x(make_desc(dtype, random_layout(rng), uniform_int(rng, 1, 2), uniform_int(rng, 1, 3), extent));
    upsTensorDesc_t y_desc;
    if (upsMaxUnpoolOutputDesc(&pool, &x.desc, nullptr, &y_desc) != UPS_STATUS_SUCCESS || element_count(y_desc) == 0)
      continue;  // no shape, or an empty plane (every index out of range, as in PyTorch)
    std::vector<int64_t> out_size(y_desc.spatial, y_desc.spatial + dims);
    if (trial % 3 == 0)  // an explicit size, anywhere strictly within a stride of the default
      for (int a = 0; a < dims; ++a)
        out_size[static_cast<size_t>(a)] =
            std::max<int64_t>(1, y_desc.spatial[a] + uniform_int(rng, -(stride[static_cast<size_t>(a)] - 1),
                                                                 stride[static_cast<size_t>(a)] - 1));
    SCOPED_TRACE(shape_text(x.desc) + " " + pool_text(pool) + " -> " +
                 shape_text(make_desc(dtype, x.desc.layout, 1, 1, out_size)));
    int64_t plane = 1;
    for (int64_t e : out_size) plane *= e;
    // A default extent of 0 (padding eats the window) is an empty plane, which no switch of a
    // non-empty x can address (the bad-input and geometry suites check that rejection).
    if (plane == 0) continue;
    x.fill_random(rng, 1, 9, /*integers=*/true);
    HostTensor indices(make_desc(UPS_DTYPE_I64, x.desc.layout, x.desc.n, x.desc.c, extent));
    for (int64_t i = 0; i < indices.size(); ++i) indices.as_i64()[i] = uniform_int(rng, 0, plane - 1);
    const HostTensor y = max_unpool_forward(ref, pool, x, indices, out_size.data());
    ASSERT_TRUE(same_shape(y.desc, make_desc(dtype, x.desc.layout, x.desc.n, x.desc.c, out_size)));

    HostTensor expected(y.desc);
    for (int64_t i = 0; i < expected.size(); ++i) expected.set(i, 0.0);
    std::set<std::pair<int64_t, int64_t>> taken;                            // (plane id, index)
    for_each_element(x.desc, [&](int64_t n, int64_t c, const int64_t* s) {  // scan order
      const int64_t index = indices.as_i64()[offset_of(indices.desc, n, c, s)];
      if (!taken.insert({n * x.desc.c + c, index}).second) ++duplicates;
      int64_t o[3] = {0, 0, 0}, rest = index;
      for (int a = dims - 1; a >= 0; --a)
        o[a] = rest % out_size[static_cast<size_t>(a)], rest /= out_size[static_cast<size_t>(a)];
      expected.set(offset_of(expected.desc, n, c, o), x.get(offset_of(x.desc, n, c, s)));
    });
    EXPECT_TRUE(tensors_identical(y, expected));
  }
  EXPECT_GT(duplicates, 0) << "no trial had duplicate indices";
}

// Max-unpool: default (in-1)*stride - 2*pad + kernel per axis; an explicit output size must lie
// strictly within one stride of it (PyTorch's MaxUnpool output_size rule).
TEST(ReferenceShapes, MaxUnpoolOutputDescDefaultAndExplicit) {
  struct Row {
    std::vector<int64_t> in, kernel, stride, padding, out;
  };
  const Row defaults[] = {
      {{2}, {2}, {2}, {0}, {4}},                  // SegNet k2 s2
      {{3}, {3}, {2}, {1}, {5}},                  // 2*2 - 2 + 3
      {{4, 5}, {2, 3}, {2, 3}, {0, 1}, {8, 13}},  // 6 + 2;  12 - 2 + 3
      {{2, 2, 3}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}, {4, 4, 6}},
      {{3}, {2}, {1}, {0}, {4}},   // stride 1
      {{7}, {4}, {3}, {2}, {18}},  // 18 - 4 + 4
  };
  for (const Row& row : defaults) {
    const upsPoolDesc_t pool = pool_desc(row.kernel, row.stride, row.padding);
    SCOPED_TRACE(pool_text(pool));
    const upsTensorDesc_t x = make_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST, 2, 3, row.in);
    upsTensorDesc_t y;
    UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, nullptr, &y));
    EXPECT_TRUE(same_shape(y, make_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST, 2, 3, row.out)));
  }
  // Explicit sizes for in 2, k2, s2 (default 4): 3, 4, 5 valid; 2 and 6 (one stride away) not.
  const upsPoolDesc_t pool = pool_desc({2, 2});
  const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 1, 2, {2, 2});
  for (int64_t size : {3, 4, 5}) {
    const int64_t output_size[2] = {size, 4};
    upsTensorDesc_t y;
    UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, output_size, &y));
    EXPECT_TRUE(same_shape(y, make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 1, 2, {size, 4})));
  }
  for (int64_t size : {2, 6, 0, -1}) {
    const int64_t output_size[2] = {4, size};
    upsTensorDesc_t y = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 9, 9, {9, 9});
    const upsTensorDesc_t before = y;
    EXPECT_EQ(upsMaxUnpoolOutputDesc(&pool, &x, output_size, &y), UPS_STATUS_BAD_PARAMETER) << "size " << size;
    EXPECT_NE(std::string(upsGetLastErrorString()).find("output_size"), std::string::npos) << upsGetLastErrorString();
    EXPECT_EQ(std::memcmp(&y, &before, sizeof y), 0) << "a rejected call wrote the descriptor";
  }
}

struct MaxUnpoolArgs {
  upsHandle_t handle = nullptr;
  upsPoolDesc_t desc{};
  upsTensorDesc_t x{}, indices{}, y{};
  const void* x_data = nullptr;
  const int64_t* indices_data = nullptr;
  void* y_data = nullptr;

  upsStatus_t run() const { return upsMaxUnpoolForward(handle, &desc, &x, x_data, &indices, indices_data, &y, y_data); }
};

TEST(ReferenceBadInput, MaxUnpoolRejectsBadInputsAndOutOfRangeIndices) {
  UPS_SEED_TRACE();
  UPS_REFERENCE_HANDLE(h);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (upsLayout_t layout : kLayouts) {
    SCOPED_TRACE(layout_label(layout));
    // Valid: pooled x (2, 3, 3, 4), k2 s2 -> y (2, 3, 6, 8), plane 48.
    MaxUnpoolArgs base;
    base.handle = h.get();
    base.desc = pool_desc({2, 2});
    HostTensor x(make_desc(UPS_DTYPE_F32, layout, 2, 3, {3, 4}));
    HostTensor indices(make_desc(UPS_DTYPE_I64, layout, 2, 3, {3, 4}));
    x.fill_random(rng, 1, 2);
    for (int64_t i = 0; i < indices.size(); ++i) indices.as_i64()[i] = uniform_int(rng, 0, 47);
    HostTensor y(make_desc(UPS_DTYPE_F32, layout, 2, 3, {6, 8}));
    y.poison();
    base.x = x.desc, base.indices = indices.desc, base.y = y.desc;
    base.x_data = x.data(), base.indices_data = indices.as_i64(), base.y_data = y.data();
    UPS_ASSERT_OK(base.run());
    EXPECT_TRUE(tensors_identical(y, max_unpool_forward(ref, base.desc, x, indices)));

    Sentinel out(y.bytes.size());
    base.y_data = out.data();
    // Out-of-range indices: several bad ones; the message names the first in (n, c, d, h, w)
    // order, which is not the first in memory for channels-last: (0, 2, 0, 0) comes before
    // (0, 1, 2, 3) in an NHWC buffer but after it in (n, c, d, h, w) order.
    HostTensor bad = indices;
    const int64_t first[3] = {2, 3, 0}, earlier_in_memory[3] = {0, 0, 0}, later[3] = {1, 1, 0};
    bad.as_i64()[offset_of(bad.desc, 0, 1, first)] = 48;
    bad.as_i64()[offset_of(bad.desc, 0, 2, earlier_in_memory)] = -1;
    bad.as_i64()[offset_of(bad.desc, 1, 0, later)] = 1000;
    HostTensor negative = indices;
    negative.as_i64()[offset_of(negative.desc, 1, 0, later)] = -1;
    const upsLayout_t other_layout =
        layout == UPS_LAYOUT_CHANNELS_FIRST ? UPS_LAYOUT_CHANNELS_LAST : UPS_LAYOUT_CHANNELS_FIRST;
    expect_rejected(
        {
            {"null handle", with(base, [&](MaxUnpoolArgs& a) { a.handle = nullptr; }), UPS_STATUS_INVALID_HANDLE,
             "handle"},
            {"null indices data", with(base, [&](MaxUnpoolArgs& a) { a.indices_data = nullptr; }),
             UPS_STATUS_NULL_POINTER, "indices"},
            {"F32 indices", with(base, [&](MaxUnpoolArgs& a) { a.indices.dtype = UPS_DTYPE_F32; }),
             UPS_STATUS_NOT_SUPPORTED, "indices"},
            {"indices shape differs from x", with(base, [&](MaxUnpoolArgs& a) { a.indices.spatial[0] = 2; }),
             UPS_STATUS_SHAPE_MISMATCH, "indices"},
            {"y one stride beyond the default", with(base, [&](MaxUnpoolArgs& a) { a.y.spatial[1] = 10; }),
             UPS_STATUS_SHAPE_MISMATCH, "y"},
            {"y channels differ from x", with(base, [&](MaxUnpoolArgs& a) { a.y.c = 2; }), UPS_STATUS_SHAPE_MISMATCH,
             "y"},
            {"y layout differs from x", with(base, [&](MaxUnpoolArgs& a) { a.y.layout = other_layout; }),
             UPS_STATUS_NOT_SUPPORTED, "y"},
            {"stride 0", with(base, [&](MaxUnpoolArgs& a) { a.desc.stride[0] = 0; }), UPS_STATUS_BAD_PARAMETER,
             "stride"},
            {"misaligned y", with(base, [&](MaxUnpoolArgs& a) { a.y_data = out.data(2); }), UPS_STATUS_MISALIGNED, "y"},
            {"index == plane size, and later bad ones",
             with(base, [&](MaxUnpoolArgs& a) { a.indices_data = bad.as_i64(); }), UPS_STATUS_INDEX_OUT_OF_RANGE,
             "indices[n=0, c=1, d=0, h=2, w=3]"},
            {"negative index", with(base, [&](MaxUnpoolArgs& a) { a.indices_data = negative.as_i64(); }),
             UPS_STATUS_INDEX_OUT_OF_RANGE, "indices[n=1, c=0, d=0, h=1, w=1]"},
        },
        {&out});
    MaxUnpoolArgs a = base;
    a.x.n = 0, a.indices.n = 0, a.y.n = 0, a.x_data = nullptr, a.indices_data = nullptr, a.y_data = nullptr;
    EXPECT_EQ(a.run(), UPS_STATUS_SUCCESS) << "empty tensors with null data: " << upsGetLastErrorString();
  }
}

// =============================================================================================
// Backward
// =============================================================================================

TEST(ReferenceBackwardExample, MaxUnpoolReadsAtSwitches) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  // Pooled x of width 2 (kernel 2, stride 2) -> y of width 4; switches 1 and 3; dy = [5, 6, 7, 8].
  const upsPoolDesc_t pool = pool_desc({2}, {2});
  const upsTensorDesc_t x_desc = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {2});
  upsTensorDesc_t i_desc = x_desc;
  i_desc.dtype = UPS_DTYPE_I64;
  HostTensor indices(i_desc);
  indices.as_i64()[0] = 1;
  indices.as_i64()[1] = 3;
  const HostTensor dy = tensor_of(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {4}), {5, 6, 7, 8});
  upsTensorDesc_t dx_desc;
  UPS_ASSERT_OK(upsMaxUnpoolBackwardOutputDesc(&pool, &dy.desc, &i_desc, &dx_desc));
  EXPECT_EQ(dx_desc.dtype, UPS_DTYPE_F32);
  EXPECT_EQ(dx_desc.spatial[0], 2);
  EXPECT_EQ(logical_values(max_unpool_backward(ref, pool, dy, indices, dx_desc)), (std::vector<double>{6, 8}));
  // Duplicates (PyTorch's rule): each reads the same dy element.
  indices.as_i64()[0] = 3;
  EXPECT_EQ(logical_values(max_unpool_backward(ref, pool, dy, indices, dx_desc)), (std::vector<double>{8, 8}));
}

TEST(ReferenceBackwardProperty, MaxUnpoolIsAdjointWithDistinctSwitches) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  int ran = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    const upsPoolDesc_t pool = random_pool(rng, dims, trial % 2 == 0);
    HostTensor x(make_desc(UPS_DTYPE_F64, random_layout(rng), uniform_int(rng, 1, 2), uniform_int(rng, 1, 3),
                           random_extents(rng, dims, 1, 5)));
    upsTensorDesc_t y_desc;
    if (upsMaxUnpoolOutputDesc(&pool, &x.desc, nullptr, &y_desc) != UPS_STATUS_SUCCESS || element_count(y_desc) == 0)
      continue;  // no shape, or an empty plane (every index out of range, as in PyTorch)
    upsTensorDesc_t i_desc = x.desc;
    i_desc.dtype = UPS_DTYPE_I64;
    HostTensor indices(i_desc);
    int64_t plane = 1;
    for (int a = 0; a < dims; ++a) plane *= y_desc.spatial[a];
    if (!fill_distinct_indices(rng, &indices, plane)) continue;
    ++ran;
    x.fill_random(rng);
    SCOPED_TRACE(shape_text(x.desc) + " -> " + shape_text(y_desc));
    const HostTensor y = max_unpool_forward(ref, pool, x, indices);
    HostTensor g(y_desc);
    g.fill_random(rng);
    const HostTensor dx = max_unpool_backward(ref, pool, g, indices, x.desc);
    EXPECT_TRUE(adjoint(inner(y, g), inner(x, dx), inner(y, g, true), "<max_unpool(x), g> vs <x, backward(g)>"));
  }
  EXPECT_GE(ran, 15);
}

// Central differences in f64 of <max_unpool(x), g>, with distinct switches.
TEST(ReferenceBackwardFiniteDifference, MaxUnpooling) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 12; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 2));
    const upsLayout_t layout = random_layout(rng);
    const upsPoolDesc_t pool = random_pool(rng, dims, true);
    HostTensor x(make_desc(UPS_DTYPE_F64, layout, 1, 2, random_extents(rng, dims, 1, 4)));
    upsTensorDesc_t y_desc;
    ASSERT_EQ(upsMaxUnpoolOutputDesc(&pool, &x.desc, nullptr, &y_desc), UPS_STATUS_SUCCESS);
    upsTensorDesc_t i_desc = x.desc;
    i_desc.dtype = UPS_DTYPE_I64;
    HostTensor indices(i_desc);
    int64_t plane = 1;
    for (int a = 0; a < dims; ++a) plane *= y_desc.spatial[a];
    ASSERT_TRUE(fill_distinct_indices(rng, &indices, plane));
    x.fill_random(rng);
    HostTensor g(y_desc);
    g.fill_random(rng);
    SCOPED_TRACE("max-unpool " + shape_text(x.desc));
    EXPECT_TRUE(matches_finite_differences(
        x, max_unpool_backward(ref, pool, g, indices, x.desc), 1e-3,
        [&](const HostTensor& v) { return inner(max_unpool_forward(ref, pool, v, indices), g); }, "max-unpool dx"));
  }
}

// The gradient's shape: the pooled shape, from dy (anywhere within a stride of the default
// unpooled extent) and the indices.
TEST(ReferenceBackwardShapes, MaxUnpoolQueries) {
  const upsPoolDesc_t pool = pool_desc({2, 2});
  const upsTensorDesc_t indices = make_desc(UPS_DTYPE_I64, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {4, 5});
  const upsTensorDesc_t y =
      make_desc(UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {8, 11});  // default 8x10, +1 within stride
  upsTensorDesc_t dx;
  UPS_ASSERT_OK(upsMaxUnpoolBackwardOutputDesc(&pool, &y, &indices, &dx));
  EXPECT_TRUE(same_shape(dx, make_desc(UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {4, 5})));
  const upsTensorDesc_t far = make_desc(UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {8, 12});
  EXPECT_EQ(upsMaxUnpoolBackwardOutputDesc(&pool, &far, &indices, &dx), UPS_STATUS_GRADIENT_SHAPE_MISMATCH);
}

TEST(ReferenceBadInputBackward, MaxUnpoolBackward) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  // Switches from a real max-pool: pooled (1, 2, 2, 3) of x (1, 2, 4, 6), k2 s2.
  const upsPoolDesc_t pool = pool_desc({2, 2});
  HostTensor x(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 1, 2, {4, 6}));
  x.fill_random(rng);
  const Pooled pooled = max_pool_forward(ref, pool, x);
  // Max-unpool backward: x here is the pooled tensor, y its unpooled (1, 2, 4, 6).
  const HostTensor& indices = pooled.indices;
  const upsTensorDesc_t pooled_desc = pooled.y.desc;
  HostTensor g(x.desc);  // dy of max-unpool has the unpooled shape
  g.fill_random(rng);
  Guarded gx(pooled_desc);
  UPS_ASSERT_OK(
      upsMaxUnpoolBackward(h.get(), &pool, &g.desc, g.data(), &indices.desc, indices.as_i64(), &gx.desc(), gx.data()));
  Guarded gout(pooled_desc);
  const upsTensorDesc_t far = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 1, 2, {4, 8});
  HostTensor bad = indices;
  bad.as_i64()[3] = 24;  // the plane has 24 positions
  expect_rejected(
      {
          {"dy beyond a stride of the default extent",
           [&] {
             return upsMaxUnpoolBackward(h.get(), &pool, &far, g.data(), &indices.desc, indices.as_i64(), &gout.desc(),
                                         gout.data());
           },
           UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy"},
          {"index == plane size",
           [&] {
             return upsMaxUnpoolBackward(h.get(), &pool, &g.desc, g.data(), &bad.desc, bad.as_i64(), &gout.desc(),
                                         gout.data());
           },
           UPS_STATUS_INDEX_OUT_OF_RANGE, "nothing was written"},
      },
      {&gout});
  size_t bytes = 1;
  UPS_ASSERT_OK(upsMaxUnpoolBackwardWorkspaceSize(h.get(), &pool, &g.desc, &pooled_desc, &bytes));
  EXPECT_EQ(bytes, 0u) << "the reference backend needs no workspace";
}

}  // namespace
}  // namespace upsample::test

// Max-unpool geometry as PyTorch's MaxUnpool{1,2,3}d, written from PyTorch's documented formulas
// (torch.nn.MaxUnpool2d docs and torch.nn.functional._unpool_output_size):
//   default extent   = (in - 1)*stride - 2*padding + kernel        (any padding >= 0)
//   explicit size s  : default - stride < s < default + stride     (and s >= 0: a tensor extent)
//   y is zero except y[n, c, indices[n, c, p]] = x[n, c, p]; an index outside the plane is an error
//   ("Found an invalid max index"), so a plane of size 0 accepts no index of a non-empty x.
// Checked: the shape function, and that forward and backward accept exactly the shapes it gives,
// on every backend (reference; CUDA, i.e. the emulated kernels in CI), against loops in this file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace upsample::test {
namespace {

upsPoolDesc_t pool_desc(int dims, int64_t kernel, int64_t stride, int64_t padding) {
  upsPoolDesc_t d{};
  d.spatial_dims = dims;
  for (int a = 0; a < UPS_MAX_SPATIAL_DIMS; ++a) {
    d.kernel[a] = kernel;
    d.stride[a] = stride;
    d.padding[a] = padding;
    d.dilation[a] = 1;
  }
  return d;
}

// PyTorch's formula, written out here independently of the library.
int64_t torch_default_extent(int64_t in, int64_t kernel, int64_t stride, int64_t padding) {
  return (in - 1) * stride - 2 * padding + kernel;
}
bool torch_accepts_size(int64_t size, int64_t def, int64_t stride) {
  return size >= 0 && size > def - stride && size < def + stride;
}

std::vector<upsBackend_t> backends() {
  std::vector<upsBackend_t> b{UPS_BACKEND_REFERENCE};
  if (upsCudaDeviceAvailable()) b.push_back(UPS_BACKEND_CUDA);
  return b;
}

// Forward and backward of one shape on one backend, checked against the definition. Indices are
// random positions of the output plane, distinct per plane (so the backward is the exact adjoint).
void run_both_directions(upsBackend_t backend, const upsPoolDesc_t& pool, const upsTensorDesc_t& x_desc,
                         const upsTensorDesc_t& y_desc, std::mt19937_64& rng) {
  HandleGuard h(backend);
  ASSERT_EQ(h.status(), UPS_STATUS_SUCCESS);
  HostTensor x(x_desc), y(y_desc), dy(y_desc), dx(x_desc);
  upsTensorDesc_t i_desc = x_desc;
  i_desc.dtype = UPS_DTYPE_I64;
  HostTensor indices(i_desc);
  x.fill_random(rng);
  dy.fill_random(rng);
  const int64_t in_plane = element_count(x_desc) / std::max<int64_t>(1, x_desc.n * x_desc.c);
  const int64_t out_plane = element_count(y_desc) / std::max<int64_t>(1, y_desc.n * y_desc.c);
  ASSERT_GE(out_plane, in_plane) << "test setup: distinct indices need a plane at least as large as x's";
  const bool last = x_desc.layout == UPS_LAYOUT_CHANNELS_LAST;
  const int64_t planes = x_desc.n * x_desc.c;
  // Positions are logical (n, c, p): translate to the layout's offsets.
  auto offset = [&](const upsTensorDesc_t& d, int64_t n, int64_t c, int64_t p) {
    const int64_t plane = element_count(d) / std::max<int64_t>(1, d.n * d.c);
    return last ? (n * plane + p) * d.c + c : (n * d.c + c) * plane + p;
  };
  std::vector<int64_t> perm(static_cast<size_t>(out_plane));
  for (int64_t q = 0; q < planes; ++q) {
    for (int64_t i = 0; i < out_plane; ++i) perm[static_cast<size_t>(i)] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    for (int64_t p = 0; p < in_plane; ++p)
      indices.as_i64()[offset(x_desc, q / x_desc.c, q % x_desc.c, p)] = perm[static_cast<size_t>(p)];
  }
  HostTensor y_expected(y_desc), dx_expected(x_desc);
  for (int64_t i = 0; i < y_expected.size(); ++i) y_expected.set(i, 0.0);
  for (int64_t q = 0; q < planes; ++q)
    for (int64_t p = 0; p < in_plane; ++p) {
      const int64_t n = q / x_desc.c, c = q % x_desc.c;
      const int64_t target = indices.as_i64()[offset(x_desc, n, c, p)];
      y_expected.set(offset(y_desc, n, c, target), x.get(offset(x_desc, n, c, p)));
      dx_expected.set(offset(x_desc, n, c, p), dy.get(offset(y_desc, n, c, target)));
    }
  y.poison();
  dx.poison();
  Buffer bx(backend, x), bi(backend, indices), by(backend, y), bdy(backend, dy), bdx(backend, dx);
  UPS_ASSERT_OK(upsMaxUnpoolForward(h.get(), &pool, &x_desc, bx.get(), &i_desc,
                                    static_cast<const int64_t*>(bi.get()), &y_desc, by.get()));
  UPS_ASSERT_OK(upsMaxUnpoolBackward(h.get(), &pool, &y_desc, bdy.get(), &i_desc,
                                     static_cast<const int64_t*>(bi.get()), &x_desc, bdx.get()));
  by.download(&y);
  bdx.download(&dx);
  EXPECT_TRUE(tensors_identical(y, y_expected)) << "forward";
  EXPECT_TRUE(tensors_identical(dx, dx_expected)) << "backward";
}

// The three mismatches of the issue, by hand.
TEST(MaxUnpoolGeometry, PaddedOneByOneWithExplicitInputSize_F32) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  // MaxPool2d(2, 2, padding=1, return_indices=True) on 1x1: pooled 1x1 with index 0; default
  // unpool extent (1-1)*2 - 2 + 2 = 0, output_size = (1, 1) is within one stride of it.
  const upsPoolDesc_t pool = pool_desc(2, 2, 2, 1);
  for (upsLayout_t layout : {UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST}) {
    const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, layout, 2, 3, {1, 1});
    const int64_t output_size[2] = {1, 1};
    upsTensorDesc_t y{};
    UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, output_size, &y));
    EXPECT_EQ(y.spatial[0], 1);
    EXPECT_EQ(y.spatial[1], 1);
    upsTensorDesc_t y_default{};
    UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, nullptr, &y_default));
    EXPECT_EQ(y_default.spatial[0], 0);
    for (upsBackend_t backend : backends()) run_both_directions(backend, pool, x, y, rng);
  }
}

TEST(MaxUnpoolGeometry, PaddingAboveHalfTheKernelIsAccepted_F32) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  // kernel 2, stride 2, padding 2 on length 3: (3-1)*2 - 4 + 2 = 2 (PyTorch gives length 2).
  const upsPoolDesc_t pool = pool_desc(1, 2, 2, 2);
  const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {3});
  upsTensorDesc_t y{};
  UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, nullptr, &y));
  EXPECT_EQ(y.spatial[0], 2);
  // Two positions, three inputs: every explicit size in (0, 4) is valid; 3 fits distinct indices.
  const int64_t three[1] = {3};
  UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, three, &y));
  for (upsBackend_t backend : backends()) run_both_directions(backend, pool, x, y, rng);
  // Max-pool keeps its own rule: padding <= kernel/2.
  upsTensorDesc_t pooled{}, pooled_indices{};
  EXPECT_EQ(upsMaxPoolOutputDesc(&pool, &x, &pooled, &pooled_indices), UPS_STATUS_BAD_PARAMETER);
}

// Max-unpool bounds neither padding nor (below 2^31) stride: kernel = stride = padding = 2^31 on a
// 2-position axis has default extent (2-1)*2^31 - 2^32 + 2^31 = 0, and any size below 2^31 is
// within one stride of it. Small tensors, yet the window coordinates (q*stride - padding) need 64
// bits: the fuzzer found the tiled kernel forming them in int32 (UBSan: 0 - -2^31).
TEST(MaxUnpoolGeometry, HugeStrideAndPaddingOnSmallTensors_F32) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  const int64_t huge = int64_t{1} << 31;
  const upsPoolDesc_t pool = pool_desc(1, huge, huge, huge);
  const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 2, {2});
  upsTensorDesc_t y{};
  UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, nullptr, &y));
  EXPECT_EQ(y.spatial[0], 0);
  const int64_t four[1] = {4};
  UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, four, &y));
  EXPECT_EQ(y.spatial[0], 4);
  for (upsBackend_t backend : backends()) run_both_directions(backend, pool, x, y, rng);
}

TEST(MaxUnpoolGeometry, ExtentZeroIsAnEmptyShapeAsInPyTorch_F32) {
  // Default extent 0 (kernel 2, stride 2, padding 1, input 1): the shape function gives it.
  const upsPoolDesc_t pool = pool_desc(2, 2, 2, 1);
  const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 3, {1, 1});
  upsTensorDesc_t y{};
  UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, nullptr, &y));
  EXPECT_EQ(y.spatial[0], 0);
  EXPECT_EQ(y.spatial[1], 0);
  // Explicit 0 is within one stride of the default 0 too.
  const int64_t zero[2] = {0, 1};
  upsTensorDesc_t y0{};
  UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, zero, &y0));
  EXPECT_EQ(y0.spatial[0], 0);
  EXPECT_EQ(y0.spatial[1], 1);
  // A negative default is no shape: kernel 2, stride 2, padding 2, input 1 gives -2.
  const upsPoolDesc_t wide = pool_desc(2, 2, 2, 2);
  EXPECT_EQ(upsMaxUnpoolOutputDesc(&wide, &x, nullptr, &y0), UPS_STATUS_BAD_PARAMETER);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("axis 0"), std::string::npos) << upsGetLastErrorString();

  for (upsBackend_t backend : backends()) {
    SCOPED_TRACE(backend == UPS_BACKEND_CUDA ? "cuda" : "reference");
    HandleGuard h(backend);
    ASSERT_EQ(h.status(), UPS_STATUS_SUCCESS);
    upsTensorDesc_t i_desc = x;
    i_desc.dtype = UPS_DTYPE_I64;
    HostTensor xs(x), is(i_desc), dxs(x);
    for (int64_t i = 0; i < is.size(); ++i) is.as_i64()[i] = 0;
    xs.set(0, 1.0);
    dxs.poison();
    Buffer bx(backend, xs), bi(backend, is), bdx(backend, dxs);
    // PyTorch: every index of a non-empty x is invalid in an empty plane ("Found an invalid max index").
    const auto* ip = static_cast<const int64_t*>(bi.get());
    EXPECT_EQ(upsMaxUnpoolForward(h.get(), &pool, &x, bx.get(), &i_desc, ip, &y, nullptr),
              UPS_STATUS_INDEX_OUT_OF_RANGE);
    EXPECT_NE(std::string(upsGetLastErrorString()).find("[0, 0)"), std::string::npos) << upsGetLastErrorString();
    EXPECT_EQ(upsMaxUnpoolBackward(h.get(), &pool, &y, nullptr, &i_desc, ip, &x, bdx.get()),
              UPS_STATUS_INDEX_OUT_OF_RANGE);
    HostTensor after(x);
    bdx.download(&after);
    for (int64_t i = 0; i < after.size(); ++i) EXPECT_TRUE(std::isnan(after.get(i))) << "dx written at " << i;
    // An empty batch: PyTorch returns an empty tensor; so do we, on every backend.
    const upsTensorDesc_t x_empty = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 0, 3, {1, 1});
    upsTensorDesc_t y_empty{}, i_empty = x_empty;
    i_empty.dtype = UPS_DTYPE_I64;
    UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x_empty, nullptr, &y_empty));
    UPS_ASSERT_OK(upsMaxUnpoolForward(h.get(), &pool, &x_empty, nullptr, &i_empty, nullptr, &y_empty, nullptr));
    UPS_ASSERT_OK(upsMaxUnpoolBackward(h.get(), &pool, &y_empty, nullptr, &i_empty, nullptr, &x_empty, nullptr));
  }
}

// The shape function and both ops accept exactly the same shapes: every (in, kernel, stride,
// padding) of a small grid — padding up to 2*kernel — and every explicit size around the default.
TEST(MaxUnpoolGeometry, ShapeFunctionAndOpsAgreeWithPyTorchFormula_F32) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  int checked_ops = 0;
  for (int64_t in = 1; in <= 3; ++in)
    for (int64_t kernel = 1; kernel <= 3; ++kernel)
      for (int64_t stride = 1; stride <= 3; ++stride)
        for (int64_t padding = 0; padding <= 2 * kernel; ++padding) {
          const upsPoolDesc_t pool = pool_desc(1, kernel, stride, padding);
          const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 2, {in});
          const int64_t def = torch_default_extent(in, kernel, stride, padding);
          SCOPED_TRACE("in " + std::to_string(in) + " kernel " + std::to_string(kernel) + " stride " +
                       std::to_string(stride) + " padding " + std::to_string(padding));
          upsTensorDesc_t y{};
          const upsStatus_t by_default = upsMaxUnpoolOutputDesc(&pool, &x, nullptr, &y);
          if (def >= 0) {
            ASSERT_EQ(by_default, UPS_STATUS_SUCCESS) << status_text(by_default);
            EXPECT_EQ(y.spatial[0], def);
          } else {
            EXPECT_EQ(by_default, UPS_STATUS_BAD_PARAMETER);
          }
          for (int64_t size = def - stride - 1; size <= def + stride + 1; ++size) {
            const int64_t explicit_size[1] = {size};
            const upsStatus_t status = upsMaxUnpoolOutputDesc(&pool, &x, explicit_size, &y);
            const bool accepted = torch_accepts_size(size, def, stride);
            EXPECT_EQ(status == UPS_STATUS_SUCCESS, accepted) << "size " << size << ": " << status_text(status);
            if (size < 0) continue;
            // The ops on the same shape (no data needed to decide a shape's acceptance: pointers
            // are checked after the shapes, so a rejected shape fails before they are looked at).
            upsTensorDesc_t y_given = x;
            y_given.spatial[0] = size;
            HandleGuard h(UPS_BACKEND_REFERENCE);
            upsTensorDesc_t i_desc = x;
            i_desc.dtype = UPS_DTYPE_I64;
            const upsStatus_t fwd = upsMaxUnpoolForward(h.get(), &pool, &x, nullptr, &i_desc, nullptr, &y_given, nullptr);
            const upsStatus_t bwd = upsMaxUnpoolBackward(h.get(), &pool, &y_given, nullptr, &i_desc, nullptr, &x, nullptr);
            if (!accepted) {
              EXPECT_EQ(fwd, UPS_STATUS_SHAPE_MISMATCH) << "size " << size;
              EXPECT_EQ(bwd, UPS_STATUS_GRADIENT_SHAPE_MISMATCH) << "size " << size;
            } else if (size == 0) {
              EXPECT_EQ(fwd, UPS_STATUS_INDEX_OUT_OF_RANGE) << "size 0, non-empty x";
              EXPECT_EQ(bwd, UPS_STATUS_INDEX_OUT_OF_RANGE) << "size 0, non-empty x";
            } else {
              // Accepted: the null data pointers are what is reported, not the shape.
              EXPECT_EQ(fwd, UPS_STATUS_NULL_POINTER) << "size " << size << ": " << status_text(fwd);
              EXPECT_EQ(bwd, UPS_STATUS_NULL_POINTER) << "size " << size << ": " << status_text(bwd);
              if (size >= in)
                for (upsBackend_t backend : backends()) {
                  run_both_directions(backend, pool, x, y_given, rng);
                  ++checked_ops;
                }
            }
          }
        }
  EXPECT_GT(checked_ops, 100);
}

// 2-D and 3-D, both layouts, all dtypes, with the default extents and the largest explicit ones.
TEST(MaxUnpoolGeometry, MultiAxisShapesEveryDtypeAndLayout) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  struct Case {
    int dims;
    int64_t kernel, stride, padding;
    std::vector<int64_t> in;
  };
  // Padding above kernel/2 (the second and fifth), extent-0 defaults made 1 by output_size (the first).
  const Case cases[] = {{2, 2, 2, 1, {1, 1}}, {2, 3, 2, 2, {3, 4}}, {2, 2, 2, 0, {3, 5}},
                        {3, 2, 1, 0, {2, 2, 3}}, {3, 3, 3, 2, {2, 2, 2}}, {1, 1, 3, 1, {4}}};
  for (const Case& k : cases)
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
      for (upsLayout_t layout : {UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST}) {
        const upsPoolDesc_t pool = pool_desc(k.dims, k.kernel, k.stride, k.padding);
        upsTensorDesc_t x{};
        UPS_ASSERT_OK(upsTensorDescInit(&x, dtype, layout, k.dims, 2, 3, k.in.data()));
        int64_t largest[3] = {0, 0, 0};
        int64_t in_plane = 1, out_plane = 1;
        for (int a = 0; a < k.dims; ++a) {
          largest[a] = torch_default_extent(k.in[static_cast<size_t>(a)], k.kernel, k.stride, k.padding) + k.stride - 1;
          in_plane *= k.in[static_cast<size_t>(a)];
          out_plane *= largest[a];
        }
        ASSERT_GE(out_plane, in_plane) << "test setup: distinct indices need room";
        upsTensorDesc_t y{};
        UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, largest, &y));
        SCOPED_TRACE(std::string(dtype_label(dtype)) + (layout == UPS_LAYOUT_CHANNELS_LAST ? " NHWC" : " NCHW"));
        for (upsBackend_t backend : backends()) run_both_directions(backend, pool, x, y, rng);
      }
}

}  // namespace
}  // namespace upsample::test

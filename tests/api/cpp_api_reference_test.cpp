// The C++ layer (include/upsample/upsample.hpp) on the REFERENCE backend: the builders fill the
// same descriptors as the C API, the Handle runs the same ops forward and backward (bit-identical
// results), and every failure throws upsample::Error carrying the status and the library's
// message (with nothing written).
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "tests/common/fixtures.h"
#include "upsample/upsample.hpp"

namespace upsample::test {
namespace {

// Runs `body`, expecting an upsample::Error with `status` whose message names `argument`.
template <typename Body>
::testing::AssertionResult throws_error(Body&& body, upsStatus_t status, const std::string& argument) {
  try {
    body();
  } catch (const upsample::Error& e) {
    if (e.status() != status)
      return ::testing::AssertionFailure() << "threw " << upsGetStatusName(e.status()) << ", expected "
                                           << upsGetStatusName(status) << " (" << e.what() << ")";
    if (std::string(e.what()).find(argument) == std::string::npos)
      return ::testing::AssertionFailure() << "message \"" << e.what() << "\" does not name \"" << argument << "\"";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw something else: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

// Field-by-field equality of descriptors (their padding bytes are unspecified).
::testing::AssertionResult same_conv_desc(const upsConvTransposeDesc_t& a, const upsConvTransposeDesc_t& b) {
  bool same = a.spatial_dims == b.spatial_dims && a.groups == b.groups && a.algorithm == b.algorithm &&
              a.deterministic == b.deterministic;
  for (int i = 0; same && i < a.spatial_dims; ++i)
    same = a.stride[i] == b.stride[i] && a.pad_begin[i] == b.pad_begin[i] && a.pad_end[i] == b.pad_end[i] &&
           a.output_padding[i] == b.output_padding[i] && a.dilation[i] == b.dilation[i];
  if (same) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "conv descriptors differ";
}

::testing::AssertionResult same_pool_desc(const upsPoolDesc_t& a, const upsPoolDesc_t& b) {
  bool same = a.spatial_dims == b.spatial_dims && a.ceil_mode == b.ceil_mode;
  for (int i = 0; same && i < a.spatial_dims; ++i)
    same = a.kernel[i] == b.kernel[i] && a.stride[i] == b.stride[i] && a.padding[i] == b.padding[i] &&
           a.dilation[i] == b.dilation[i];
  if (same) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << pool_text(a) << " vs " << pool_text(b);
}

TEST(ReferenceCppApi, BuildersAndHandleMatchTheCApi) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  upsample::Handle handle(UPS_BACKEND_REFERENCE);
  EXPECT_EQ(handle.backend(), UPS_BACKEND_REFERENCE);
  upsample::Handle moved(std::move(handle));
  EXPECT_EQ(handle.get(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  ASSERT_NE(moved.get(), nullptr);

  // Transposed convolution: DCGAN-like k4 s2 p1, groups 2, channels-last.
  const auto conv = upsample::ConvTranspose(2).stride({2, 2}).padding({1, 1}).groups(2).deterministic(true);
  const upsConvTransposeDesc_t expected_conv = conv_desc(2, {2, 2}, {1, 1}, {1, 1}, {0, 0}, {1, 1}, 2);
  EXPECT_EQ(conv.desc().deterministic, 1);
  upsConvTransposeDesc_t plain = conv.desc();
  plain.deterministic = 0;
  EXPECT_TRUE(same_conv_desc(plain, expected_conv));
  const upsTensorDesc_t x_desc = upsample::tensor_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 2, 4, {4, 4});
  const upsTensorDesc_t w_desc = upsample::tensor_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 4, 3, {4, 4});
  EXPECT_EQ(upsample::element_count(x_desc), 2 * 4 * 4 * 4);
  EXPECT_EQ(upsample::byte_size(w_desc), 4 * 3 * 4 * 4 * 4);
  const upsTensorDesc_t y_desc = conv.output_desc(x_desc, w_desc);
  EXPECT_TRUE(same_shape(y_desc, make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 2, 6, {8, 8})));
  EXPECT_EQ(moved.choose_algorithm(conv, x_desc, w_desc, y_desc), UPS_ALGO_GATHER) << "deterministic -> GATHER";
  EXPECT_NE(moved.choose_algorithm(upsample::ConvTranspose(conv).deterministic(false), x_desc, w_desc, y_desc),
            UPS_ALGO_AUTO);
  HostTensor x(x_desc), w(w_desc), bias(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 6, {1})), y(y_desc);
  x.fill_random(rng);
  w.fill_random(rng);
  bias.fill_random(rng);
  y.poison();
  moved.conv_transpose(conv, x_desc, x.data(), w_desc, w.data(), bias.data(), y_desc, y.data());
  EXPECT_TRUE(
      tensors_identical(y, conv_forward(Target{moved.get(), UPS_BACKEND_REFERENCE}, expected_conv, x, w, &bias)));

  // The other setters reach their fields.
  const auto full = upsample::ConvTranspose(3)
                        .stride({1, 2, 3})
                        .padding({0, 1, 2}, {2, 1, 0})
                        .output_padding({0, 1, 2})
                        .dilation({2, 1, 1})
                        .algorithm(UPS_ALGO_SCATTER_ATOMIC);
  upsConvTransposeDesc_t full_expected = conv_desc(3, {1, 2, 3}, {0, 1, 2}, {2, 1, 0}, {0, 1, 2}, {2, 1, 1});
  full_expected.algorithm = UPS_ALGO_SCATTER_ATOMIC;
  EXPECT_TRUE(same_conv_desc(full.desc(), full_expected));

  // Unpooling.
  const upsUnpoolDesc_t nearest = upsample::unpool_desc(UPS_UNPOOL_NEAREST, {3});
  HostTensor u(make_desc(UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST, 1, 2, {5}));
  u.fill_random(rng);
  const upsTensorDesc_t u_out = upsample::unpool_output_desc(nearest, u.desc);
  HostTensor uy(u_out);
  uy.poison();
  moved.unpool(nearest, u.desc, u.data(), u_out, uy.data());
  EXPECT_TRUE(tensors_identical(
      uy, unpool_forward(Target{moved.get(), UPS_BACKEND_REFERENCE}, unpool_desc(UPS_UNPOOL_NEAREST, {3}), u)));

  // Max-pool and max-unpool: Pool's stride defaults to the kernel, dilation to 1.
  const upsample::Pool pool({2, 2});
  EXPECT_TRUE(same_pool_desc(pool.desc(), pool_desc({2, 2})));
  const auto padded = upsample::Pool({3, 3}).stride({2, 1}).padding({1, 1}).dilation({1, 2}).ceil_mode(true);
  EXPECT_TRUE(same_pool_desc(padded.desc(), pool_desc({3, 3}, {2, 1}, {1, 1}, {1, 2}, true)));
  HostTensor p(make_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_LAST, 2, 3, {4, 6}));
  p.fill_random(rng);
  upsTensorDesc_t py_desc, pi_desc;
  pool.max_pool_output_desc(p.desc, &py_desc, &pi_desc);
  HostTensor py(py_desc), pi(pi_desc);
  py.poison();
  pi.poison();
  moved.max_pool(pool, p.desc, p.data(), py_desc, py.data(), pi_desc, pi.as_i64());
  const Pooled c_pooled = max_pool_forward(Target{moved.get(), UPS_BACKEND_REFERENCE}, pool.desc(), p);
  EXPECT_TRUE(tensors_identical(py, c_pooled.y));
  EXPECT_TRUE(tensors_identical(pi, c_pooled.indices));
  const upsTensorDesc_t unpooled_desc = pool.max_unpool_output_desc(py_desc);
  EXPECT_TRUE(same_shape(unpooled_desc, p.desc));
  HostTensor unpooled(unpooled_desc);
  unpooled.poison();
  moved.max_unpool(pool, py_desc, py.data(), pi_desc, pi.as_i64(), unpooled_desc, unpooled.data());
  EXPECT_TRUE(
      tensors_identical(unpooled, max_unpool_forward(Target{moved.get(), UPS_BACKEND_REFERENCE}, pool.desc(), py, pi)));
  const int64_t size[2] = {5, 7};
  EXPECT_TRUE(same_shape(pool.max_unpool_output_desc(py_desc, size),
                         make_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_LAST, 2, 3, {5, 7})));

  // Move assignment releases the old handle and takes the new one.
  upsample::Handle other(UPS_BACKEND_REFERENCE);
  const upsHandle_t other_raw = other.get();
  moved = std::move(other);
  EXPECT_EQ(moved.get(), other_raw);
  EXPECT_EQ(moved.backend(), UPS_BACKEND_REFERENCE);
}

TEST(ReferenceCppApi, FailuresThrowErrorWithStatus) {
  upsample::Handle handle(UPS_BACKEND_REFERENCE);
  const upsTensorDesc_t x = upsample::tensor_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 4, {3, 3});
  const upsTensorDesc_t w = upsample::tensor_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 4, 2, {3, 3});
  EXPECT_TRUE(throws_error([] { upsample::ConvTranspose bad(0); }, UPS_STATUS_BAD_EXTENT, "spatial_dims"));
  EXPECT_TRUE(throws_error([] { upsample::ConvTranspose(2).stride({1}); }, UPS_STATUS_BAD_PARAMETER, "conv"));
  EXPECT_TRUE(throws_error(
      [] {
        upsample::tensor_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {1, 1, 1, 1});
      },
      UPS_STATUS_BAD_EXTENT, "spatial"));
  EXPECT_TRUE(throws_error([] { upsample::tensor_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, -1, 1, {1}); },
                           UPS_STATUS_BAD_EXTENT, "desc"));
  EXPECT_TRUE(
      throws_error([&] { upsample::ConvTranspose(2).groups(3).output_desc(x, w); }, UPS_STATUS_BAD_GROUPS, "groups"));
  EXPECT_TRUE(throws_error(
      [&] {
        upsample::ConvTranspose(2).stride({2, 2}).output_padding({2, 0}).output_desc(x, w);
      },
      UPS_STATUS_BAD_OUTPUT_PADDING, "output_padding"));
  // A wrong y: SHAPE_MISMATCH, and y untouched.
  HostTensor xt(x), wt(w);
  std::mt19937_64 rng = make_rng();
  xt.fill_random(rng);
  wt.fill_random(rng);
  const upsTensorDesc_t y_wrong = upsample::tensor_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 2, {5, 6});
  Sentinel out(static_cast<size_t>(upsample::byte_size(y_wrong)));
  const upsample::ConvTranspose conv(2);
  EXPECT_TRUE(
      throws_error([&] { handle.conv_transpose(conv, x, xt.data(), w, wt.data(), nullptr, y_wrong, out.data()); },
                   UPS_STATUS_SHAPE_MISMATCH, "y"));
  EXPECT_TRUE(out.untouched());
  EXPECT_TRUE(throws_error(
      [] {
        upsample::Pool({3}).padding({-1}).max_unpool_output_desc(
            upsample::tensor_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {4}));
      },
      UPS_STATUS_BAD_PARAMETER, "padding"));
  // A bad switch index.
  const upsample::Pool pool({2});
  const upsTensorDesc_t px = upsample::tensor_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {2});
  const upsTensorDesc_t pi = upsample::tensor_desc(UPS_DTYPE_I64, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {2});
  const upsTensorDesc_t py = pool.max_unpool_output_desc(px);
  const float values[2] = {1.0f, 2.0f};
  const int64_t indices[2] = {1, 4};
  Sentinel unpool_out(static_cast<size_t>(upsample::byte_size(py)));
  EXPECT_TRUE(throws_error([&] { handle.max_unpool(pool, px, values, pi, indices, py, unpool_out.data()); },
                           UPS_STATUS_INDEX_OUT_OF_RANGE, "indices[n=0, c=0, d=0, h=0, w=1]"));
  EXPECT_TRUE(unpool_out.untouched());
  if (upsCudaDeviceAvailable() == 0) {
    EXPECT_TRUE(throws_error([] { upsample::Handle cuda(UPS_BACKEND_CUDA); }, UPS_STATUS_BACKEND_UNAVAILABLE, "CUDA"));
  }
}

TEST(ReferenceBackwardCppApi, HandleMethodsMatchTheCApi) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  upsample::Handle handle(UPS_BACKEND_REFERENCE);
  const Target ref{handle.get(), UPS_BACKEND_REFERENCE};
  auto conv = upsample::ConvTranspose(2).stride({2, 2}).padding({1, 1}).output_padding({1, 1});
  HostTensor x(upsample::tensor_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_LAST, 2, 3, {3, 4}));
  HostTensor w(upsample::tensor_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_LAST, 3, 2, {3, 3}));
  HostTensor dy(conv.output_desc(x.desc, w.desc));
  x.fill_random(rng);
  w.fill_random(rng);
  dy.fill_random(rng);
  EXPECT_TRUE(same_shape(conv.backward_data_output_desc(dy.desc, w.desc), x.desc));
  EXPECT_TRUE(same_shape(conv.backward_weight_output_desc(x.desc, dy.desc), w.desc));
  HostTensor dx(x.desc), dw(w.desc), db(bias_desc(UPS_DTYPE_F64, dy.desc.c));
  handle.conv_transpose_backward_data(conv, dy.desc, dy.data(), w.desc, w.data(), dx.desc, dx.data());
  handle.conv_transpose_backward_weight(conv, x.desc, x.data(), dy.desc, dy.data(), dw.desc, dw.data());
  handle.conv_transpose_backward_bias(conv, dy.desc, dy.data(), db.data());
  EXPECT_TRUE(tensors_identical(dx, conv_backward_data(ref, conv.desc(), dy, w, x.desc)));
  EXPECT_TRUE(tensors_identical(dw, conv_backward_weight(ref, conv.desc(), x, dy, w.desc)));
  EXPECT_TRUE(tensors_identical(db, conv_backward_bias(ref, conv.desc(), dy)));

  const upsUnpoolDesc_t nearest = upsample::unpool_desc(UPS_UNPOOL_NEAREST, {2, 2});
  HostTensor up(upsample::unpool_output_desc(nearest, x.desc)), ux(x.desc);
  up.fill_random(rng);
  handle.unpool_backward(nearest, up.desc, up.data(), ux.desc, ux.data());
  EXPECT_TRUE(tensors_identical(ux, unpool_backward(ref, nearest, up, x.desc)));

  const upsample::Pool pool({2, 2});
  upsTensorDesc_t y_desc, i_desc;
  pool.max_pool_output_desc(x.desc, &y_desc, &i_desc);
  const Pooled pooled = max_pool_forward(ref, pool.desc(), x);
  HostTensor g(y_desc), px(x.desc);
  g.fill_random(rng);
  handle.max_pool_backward(pool, g.desc, g.data(), pooled.indices.desc, pooled.indices.as_i64(), px.desc, px.data());
  EXPECT_TRUE(tensors_identical(px, max_pool_backward(ref, pool.desc(), g, pooled.indices, x.desc)));
  HostTensor mx(y_desc);
  handle.max_unpool_backward(pool, x.desc, x.data(), pooled.indices.desc, pooled.indices.as_i64(), y_desc, mx.data());
  EXPECT_TRUE(tensors_identical(mx, max_unpool_backward(ref, pool.desc(), x, pooled.indices, y_desc)));

  try {
    handle.conv_transpose_backward_data(conv, x.desc, x.data(), w.desc, w.data(), dx.desc, dx.data());
    ADD_FAILURE() << "expected upsample::Error";
  } catch (const upsample::Error& e) {
    EXPECT_EQ(e.status(), UPS_STATUS_GRADIENT_SHAPE_MISMATCH) << e.what();
  }
}

}  // namespace
}  // namespace upsample::test

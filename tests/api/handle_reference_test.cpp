// The API around the ops, on the REFERENCE backend: handles (create, destroy, double destroy,
// the CUDA backend where no GPU exists), descriptor helpers and their bad input, the handle's
// queries and settings (workspace sizes, algorithm choice, streams, a caller's workspace), and
// the status names.
#include <cstdint>
#include <iterator>
#include <set>
#include <string>
#include <utility>

#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

TEST(ReferenceBadInput, HandlesAndDescriptorFunctions) {
  upsHandle_t handle = nullptr;
  EXPECT_TRUE(rejected(upsCreate(nullptr, UPS_BACKEND_REFERENCE), UPS_STATUS_NULL_POINTER, "handle"));
  EXPECT_TRUE(rejected(upsCreate(&handle, enum_value<upsBackend_t>(3)), UPS_STATUS_BAD_PARAMETER, "backend"));
  EXPECT_EQ(handle, nullptr);
  UPS_ASSERT_OK(upsCreate(&handle, UPS_BACKEND_REFERENCE));
  upsBackend_t backend = UPS_BACKEND_CUDA;
  UPS_ASSERT_OK(upsGetBackend(handle, &backend));
  EXPECT_EQ(backend, UPS_BACKEND_REFERENCE);
  UPS_ASSERT_OK(upsDestroy(handle));
  EXPECT_TRUE(rejected(upsDestroy(handle), UPS_STATUS_INVALID_HANDLE, "handle")) << "double destroy";
  EXPECT_TRUE(rejected(upsGetBackend(handle, &backend), UPS_STATUS_INVALID_HANDLE, "handle"));
  EXPECT_TRUE(rejected(upsDestroy(nullptr), UPS_STATUS_INVALID_HANDLE, "handle"));

  // The CUDA backend where no GPU exists: a status and a message, no handle.
  upsHandle_t cuda = nullptr;
  const upsStatus_t status = upsCreate(&cuda, UPS_BACKEND_CUDA);
  if (upsCudaDeviceAvailable() == 0) {
    EXPECT_EQ(status, UPS_STATUS_BACKEND_UNAVAILABLE) << upsGetStatusName(status);
    EXPECT_STRNE(upsGetLastErrorString(), "");
    EXPECT_EQ(cuda, nullptr);
  } else {
    EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
    if (cuda != nullptr) {
      EXPECT_EQ(upsDestroy(cuda), UPS_STATUS_SUCCESS);
    }
  }

  // Descriptor helpers.
  upsTensorDesc_t desc;
  const int64_t spatial[3] = {4, 5, 6};
  UPS_ASSERT_OK(upsTensorDescInit(&desc, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 3, 2, 3, spatial));
  EXPECT_TRUE(same_shape(desc, make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 3, {4, 5, 6})));
  int64_t count = 0;
  UPS_ASSERT_OK(upsTensorDescElementCount(&desc, &count));
  EXPECT_EQ(count, 2 * 3 * 4 * 5 * 6);
  UPS_ASSERT_OK(upsTensorDescByteSize(&desc, &count));
  EXPECT_EQ(count, 2 * 3 * 4 * 5 * 6 * 2);
  // Rejected descriptor calls, each writing into guarded memory that must stay as it was.
  Sentinel out_desc(sizeof(upsTensorDesc_t)), out_count(sizeof(int64_t)), out_conv(sizeof(upsConvTransposeDesc_t));
  auto* guarded_desc = static_cast<upsTensorDesc_t*>(out_desc.data());
  auto* guarded_count = static_cast<int64_t*>(out_count.data());
  auto* guarded_conv = static_cast<upsConvTransposeDesc_t*>(out_conv.data());
  // 2^30 * 2^30 * 4 = 2^62 elements fit; as f64 they are 2^65 bytes.
  const upsTensorDesc_t big = make_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST, 1 << 30, 1 << 30, {4});
  const upsTensorDesc_t huge = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, kHuge, kHuge, {1});
  expect_rejected(
      {
          {"spatial_dims 4",
           [&] { return upsTensorDescInit(guarded_desc, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 4, 1, 1, spatial); },
           UPS_STATUS_BAD_EXTENT, "spatial_dims"},
          {"spatial_dims 0",
           [&] { return upsTensorDescInit(guarded_desc, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 0, 1, 1, spatial); },
           UPS_STATUS_BAD_EXTENT, "spatial_dims"},
          {"negative N",
           [&] { return upsTensorDescInit(guarded_desc, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, -1, 1, spatial); },
           UPS_STATUS_BAD_EXTENT, "desc"},
          {"null desc",
           [&] { return upsTensorDescInit(nullptr, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 1, 1, spatial); },
           UPS_STATUS_NULL_POINTER, "desc"},
          {"null spatial",
           [&] { return upsTensorDescInit(guarded_desc, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 1, 1, nullptr); },
           UPS_STATUS_NULL_POINTER, "spatial"},
          {"byte size beyond int64", [&] { return upsTensorDescByteSize(&big, guarded_count); }, UPS_STATUS_OVERFLOW,
           "desc"},
          {"element count beyond int64", [&] { return upsTensorDescElementCount(&huge, guarded_count); },
           UPS_STATUS_OVERFLOW, "desc"},
          {"null conv desc", [&] { return upsConvTransposeDescInit(nullptr, 2); }, UPS_STATUS_NULL_POINTER, "desc"},
          {"conv spatial_dims 4", [&] { return upsConvTransposeDescInit(guarded_conv, 4); }, UPS_STATUS_BAD_EXTENT,
           "spatial_dims"},
      },
      {&out_desc, &out_count, &out_conv});
  upsConvTransposeDesc_t conv;
  UPS_ASSERT_OK(upsConvTransposeDescInit(&conv, 3));
  const int64_t padding[3] = {1, 2, 3};
  UPS_ASSERT_OK(upsConvTransposeDescSetPadding(&conv, padding));
  for (int a = 0; a < 3; ++a) {
    EXPECT_EQ(conv.pad_begin[a], padding[a]);
    EXPECT_EQ(conv.pad_end[a], padding[a]);
    EXPECT_EQ(conv.stride[a], 1);
    EXPECT_EQ(conv.dilation[a], 1);
    EXPECT_EQ(conv.output_padding[a], 0);
  }
  EXPECT_EQ(conv.groups, 1);
  EXPECT_EQ(conv.algorithm, UPS_ALGO_AUTO);
  EXPECT_EQ(conv.deterministic, 0);

  // A successful call clears the message of an earlier failure.
  EXPECT_NE(upsTensorDescElementCount(&huge, &count), UPS_STATUS_SUCCESS);
  EXPECT_STRNE(upsGetLastErrorString(), "");
  UPS_ASSERT_OK(upsTensorDescElementCount(&desc, &count));
  EXPECT_STREQ(upsGetLastErrorString(), "");
}

// The handle's other entry points on the reference backend: no workspace is ever needed, AUTO
// resolves to a concrete algorithm (GATHER when deterministic), streams round-trip, and a
// caller's workspace is checked (null with a size, misaligned).
TEST(ReferenceBadInput, HandleQueriesAndSettings) {
  UPS_REFERENCE_HANDLE(h);
  const upsConvTransposeDesc_t conv = conv_desc(2, {2, 2}, {1, 1}, {1, 1});
  const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 4, {4, 4});
  const upsTensorDesc_t w = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 4, 2, {4, 4});
  upsTensorDesc_t y;
  UPS_ASSERT_OK(upsConvTransposeOutputDesc(&conv, &x, &w, &y));
  size_t bytes = 123;
  UPS_ASSERT_OK(upsConvTransposeWorkspaceSize(h.get(), &conv, &x, &w, &y, &bytes));
  EXPECT_EQ(bytes, 0u);
  upsAlgorithm_t algorithm = UPS_ALGO_AUTO;
  UPS_ASSERT_OK(upsConvTransposeChooseAlgorithm(h.get(), &conv, &x, &w, &y, &algorithm));
  EXPECT_NE(algorithm, UPS_ALGO_AUTO);
  upsConvTransposeDesc_t deterministic = conv;
  deterministic.deterministic = 1;
  UPS_ASSERT_OK(upsConvTransposeChooseAlgorithm(h.get(), &deterministic, &x, &w, &y, &algorithm));
  EXPECT_EQ(algorithm, UPS_ALGO_GATHER);
  upsTensorDesc_t y_bad = y;
  y_bad.spatial[0] += 1;
  EXPECT_TRUE(rejected(upsConvTransposeChooseAlgorithm(h.get(), &conv, &x, &w, &y_bad, &algorithm),
                       UPS_STATUS_SHAPE_MISMATCH, "y"));
  EXPECT_TRUE(
      rejected(upsConvTransposeWorkspaceSize(nullptr, &conv, &x, &w, &y, &bytes), UPS_STATUS_INVALID_HANDLE, "handle"));

  const upsPoolDesc_t pool = pool_desc({2, 2});
  const upsTensorDesc_t pooled = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 4, {2, 2});
  bytes = 123;
  UPS_ASSERT_OK(upsMaxUnpoolWorkspaceSize(h.get(), &pool, &pooled, &x, &bytes));
  EXPECT_EQ(bytes, 0u);
  EXPECT_TRUE(rejected(upsMaxUnpoolWorkspaceSize(h.get(), &pool, &pooled, &y, &bytes), UPS_STATUS_SHAPE_MISMATCH, "y"));

  upsStream_t stream = reinterpret_cast<upsStream_t>(uintptr_t{0x1000});
  UPS_ASSERT_OK(upsSetStream(h.get(), stream));
  upsStream_t got = nullptr;
  UPS_ASSERT_OK(upsGetStream(h.get(), &got));
  EXPECT_EQ(got, stream);
  UPS_ASSERT_OK(upsSetStream(h.get(), nullptr));
  EXPECT_TRUE(rejected(upsGetStream(h.get(), nullptr), UPS_STATUS_NULL_POINTER, "stream"));
  EXPECT_TRUE(rejected(upsSetWorkspace(h.get(), nullptr, 64), UPS_STATUS_NULL_POINTER, "workspace"));
  Buffer scratch(UPS_BACKEND_REFERENCE, 1024);
  EXPECT_TRUE(rejected(upsSetWorkspace(h.get(), static_cast<char*>(scratch.get()) + 1, 256), UPS_STATUS_MISALIGNED,
                       "workspace"));
  UPS_ASSERT_OK(upsSetWorkspace(h.get(), nullptr, 0));
}

// Every status has its own name, the enumerator's; an unknown value still gets a string.
// The statuses are numbered from 0 without gaps: every value up to the first unnamed one must
// have a distinct name (so a status added later is covered too), and the ones listed here their
// exact enumerator name.
TEST(ReferenceApi, StatusNamesNameEveryStatus) {
  const std::pair<upsStatus_t, const char*> names[] = {
      {UPS_STATUS_SUCCESS, "UPS_STATUS_SUCCESS"},
      {UPS_STATUS_INVALID_HANDLE, "UPS_STATUS_INVALID_HANDLE"},
      {UPS_STATUS_NULL_POINTER, "UPS_STATUS_NULL_POINTER"},
      {UPS_STATUS_BAD_EXTENT, "UPS_STATUS_BAD_EXTENT"},
      {UPS_STATUS_SHAPE_MISMATCH, "UPS_STATUS_SHAPE_MISMATCH"},
      {UPS_STATUS_BAD_PARAMETER, "UPS_STATUS_BAD_PARAMETER"},
      {UPS_STATUS_BAD_OUTPUT_PADDING, "UPS_STATUS_BAD_OUTPUT_PADDING"},
      {UPS_STATUS_BAD_GROUPS, "UPS_STATUS_BAD_GROUPS"},
      {UPS_STATUS_OVERFLOW, "UPS_STATUS_OVERFLOW"},
      {UPS_STATUS_NOT_SUPPORTED, "UPS_STATUS_NOT_SUPPORTED"},
      {UPS_STATUS_WRONG_BACKEND_MEMORY, "UPS_STATUS_WRONG_BACKEND_MEMORY"},
      {UPS_STATUS_MISALIGNED, "UPS_STATUS_MISALIGNED"},
      {UPS_STATUS_INDEX_OUT_OF_RANGE, "UPS_STATUS_INDEX_OUT_OF_RANGE"},
      {UPS_STATUS_WORKSPACE_TOO_SMALL, "UPS_STATUS_WORKSPACE_TOO_SMALL"},
      {UPS_STATUS_ALIASING, "UPS_STATUS_ALIASING"},
      {UPS_STATUS_BACKEND_UNAVAILABLE, "UPS_STATUS_BACKEND_UNAVAILABLE"},
      {UPS_STATUS_CUDA_ERROR, "UPS_STATUS_CUDA_ERROR"},
      {UPS_STATUS_ALLOC_FAILED, "UPS_STATUS_ALLOC_FAILED"},
      {UPS_STATUS_INTERNAL_ERROR, "UPS_STATUS_INTERNAL_ERROR"},
      {UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "UPS_STATUS_GRADIENT_SHAPE_MISMATCH"},
      {UPS_STATUS_STREAM_CAPTURING, "UPS_STATUS_STREAM_CAPTURING"},
      {UPS_STATUS_NOT_READY, "UPS_STATUS_NOT_READY"},
  };
  for (const auto& [status, name] : names) {
    ASSERT_NE(upsGetStatusName(status), nullptr);
    EXPECT_STREQ(upsGetStatusName(status), name);
  }
  const upsStatus_t unknown = enum_value<upsStatus_t>(1000);
  ASSERT_NE(upsGetStatusName(unknown), nullptr);
  const std::string unknown_name = upsGetStatusName(unknown);
  std::set<std::string> seen;
  int named = 0;
  for (; named < 1000 && upsGetStatusName(enum_value<upsStatus_t>(named)) != unknown_name; ++named) {
    const std::string name = upsGetStatusName(enum_value<upsStatus_t>(named));
    EXPECT_EQ(name.rfind("UPS_STATUS_", 0), 0u) << name;
    EXPECT_TRUE(seen.insert(name).second) << "two statuses named " << name;
  }
  // Every named status is in the table above: a new one must be added there too.
  EXPECT_EQ(named, static_cast<int>(std::size(names)));
  EXPECT_EQ(upsGetStatusName(enum_value<upsStatus_t>(-1)), unknown_name);
  // A failing call's message starts with its status's name.
  upsTensorDesc_t desc;
  const int64_t spatial[1] = {1};
  EXPECT_EQ(upsTensorDescInit(&desc, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 5, 1, 1, spatial),
            UPS_STATUS_BAD_EXTENT);
  EXPECT_EQ(std::string(upsGetLastErrorString()).rfind("UPS_STATUS_BAD_EXTENT", 0), 0u) << upsGetLastErrorString();
  EXPECT_EQ(upsGetVersion(), UPS_VERSION_MAJOR * 10000 + UPS_VERSION_MINOR * 100 + UPS_VERSION_PATCH);
}

TEST(ReferenceApi, GradientShapeStatusHasItsName) {
  EXPECT_STREQ(upsGetStatusName(UPS_STATUS_GRADIENT_SHAPE_MISMATCH), "UPS_STATUS_GRADIENT_SHAPE_MISMATCH");
  EXPECT_NE(std::string(upsGetStatusName(UPS_STATUS_GRADIENT_SHAPE_MISMATCH)),
            std::string(upsGetStatusName(UPS_STATUS_SHAPE_MISMATCH)));
}

}  // namespace
}  // namespace upsample::test

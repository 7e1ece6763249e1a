// Misuse of the CUDA backend: a workspace too small (refused, nothing written) and one of the
// queried size, host memory given to the CUDA backend and device memory to the reference,
// misaligned and aliased pointers, a destroyed handle. Each a distinct status and a message
// naming the argument. Built against libupsample.so (label `gpu`) and the emulated library
// (label `emulated`).
#include <string>
#include <vector>

#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

TEST(CudaMisuse, WorkspaceTooSmallIsRefusedAndAQueriedOneWorks) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  HandleGuard handle(UPS_BACKEND_CUDA);
  const upsPoolDesc_t pool = pool_desc({2, 2});
  const upsTensorDesc_t x_desc = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 2, {3, 3});
  upsTensorDesc_t i_desc = x_desc, y_desc;
  i_desc.dtype = UPS_DTYPE_I64;
  UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x_desc, nullptr, &y_desc));
  size_t needed = 0;
  UPS_ASSERT_OK(upsMaxUnpoolWorkspaceSize(handle.get(), &pool, &x_desc, &y_desc, &needed));
  ASSERT_GT(needed, 0u);

  HostTensor x(x_desc), indices(i_desc), y(y_desc);
  x.fill_random(rng);
  for (int64_t e = 0; e < indices.size(); ++e) indices.as_i64()[e] = e % 36;
  y.poison();
  Buffer dx(UPS_BACKEND_CUDA, x), di(UPS_BACKEND_CUDA, indices), dy(UPS_BACKEND_CUDA, y);
  Buffer small(UPS_BACKEND_CUDA, 256), enough(UPS_BACKEND_CUDA, needed);

  UPS_ASSERT_OK(upsSetWorkspace(handle.get(), small.get(), needed - 1));
  EXPECT_EQ(upsMaxUnpoolForward(handle.get(), &pool, &x_desc, dx.get(), &i_desc, static_cast<const int64_t*>(di.get()),
                                &y_desc, dy.get()),
            UPS_STATUS_WORKSPACE_TOO_SMALL);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("workspace"), std::string::npos) << upsGetLastErrorString();
  HostTensor after(y_desc);
  dy.download(&after);
  EXPECT_TRUE(tensors_identical(after, y)) << "a refused call wrote to y";

  UPS_ASSERT_OK(upsSetWorkspace(handle.get(), enough.get(), needed));
  UPS_ASSERT_OK(upsMaxUnpoolForward(handle.get(), &pool, &x_desc, dx.get(), &i_desc,
                                    static_cast<const int64_t*>(di.get()), &y_desc, dy.get()));
  // Back to handle-owned workspace.
  UPS_ASSERT_OK(upsSetWorkspace(handle.get(), nullptr, 0));
  UPS_ASSERT_OK(upsMaxUnpoolForward(handle.get(), &pool, &x_desc, dx.get(), &i_desc,
                                    static_cast<const int64_t*>(di.get()), &y_desc, dy.get()));
  // Host memory as a CUDA workspace is refused.
  std::vector<unsigned char> host_workspace(needed + 256);
  EXPECT_EQ(upsSetWorkspace(handle.get(), host_workspace.data(), needed), UPS_STATUS_WRONG_BACKEND_MEMORY);
}

TEST(CudaMisuse, MisalignedAndAliasedPointersAreRefused) {
  UPS_SKIP_WITHOUT_CUDA();
  HandleGuard handle(UPS_BACKEND_CUDA);
  const upsTensorDesc_t x_desc = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 1, 8, {4, 4});
  const upsUnpoolDesc_t desc = unpool_desc(UPS_UNPOOL_NEAREST, {2, 2});
  upsTensorDesc_t y_desc;
  UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
  Buffer buffer(UPS_BACKEND_CUDA, 8 * 1024);
  char* base = static_cast<char*>(buffer.get());
  // Not aligned to the f32 element: refused (an element-aligned pointer that is not 16-byte
  // aligned is accepted and takes the scalar path: see unpool/unpool_cuda_test.cpp).
  EXPECT_EQ(upsUnpoolForward(handle.get(), &desc, &x_desc, base + 2, &y_desc, base + 4096), UPS_STATUS_MISALIGNED);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("x:"), std::string::npos) << upsGetLastErrorString();
  // y overlapping x.
  EXPECT_EQ(upsUnpoolForward(handle.get(), &desc, &x_desc, base, &y_desc, base + 64), UPS_STATUS_ALIASING);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("y:"), std::string::npos) << upsGetLastErrorString();
}

TEST(CudaMisuse, DestroyedHandleIsRefused) {
  UPS_SKIP_WITHOUT_CUDA();
  upsHandle_t handle = nullptr;
  UPS_ASSERT_OK(upsCreate(&handle, UPS_BACKEND_CUDA));
  UPS_ASSERT_OK(upsDestroy(handle));
  upsStream_t stream;
  EXPECT_EQ(upsGetStream(handle, &stream), UPS_STATUS_INVALID_HANDLE);
  EXPECT_EQ(upsDestroy(handle), UPS_STATUS_INVALID_HANDLE);
}

// Host memory given to the CUDA backend is refused before anything runs.
TEST(CudaApi, HostPointerIsWrongBackendMemory) {
  UPS_SKIP_WITHOUT_CUDA();
  Backends be;
  const upsTensorDesc_t x_desc = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {4});
  const upsUnpoolDesc_t desc = unpool_desc(UPS_UNPOOL_NEAREST, {2});
  upsTensorDesc_t y_desc;
  UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
  std::vector<float> host_x(4, 1.0f);
  Buffer dy(UPS_BACKEND_CUDA, 8 * sizeof(float));
  const upsStatus_t status = upsUnpoolForward(be.cuda().handle, &desc, &x_desc, host_x.data(), &y_desc, dy.get());
  EXPECT_EQ(status, UPS_STATUS_WRONG_BACKEND_MEMORY);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("x:"), std::string::npos) << upsGetLastErrorString();
  // And device memory given to the reference backend.
  Buffer dx(UPS_BACKEND_CUDA, 4 * sizeof(float));
  std::vector<float> host_y(8, 0.0f);
  EXPECT_EQ(upsUnpoolForward(be.reference().handle, &desc, &x_desc, dx.get(), &y_desc, host_y.data()),
            UPS_STATUS_WRONG_BACKEND_MEMORY);
}

}  // namespace
}  // namespace upsample::test

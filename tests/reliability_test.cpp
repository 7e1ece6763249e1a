// Reliability of the CUDA backend under misuse, concurrency and tensors beyond 2^31 elements.
//
// Suites named Cuda* run with the `emulated` (and on a GPU the `gpu`) label; Large* tests are
// the `large` label: a real op end to end on a tensor of more than 2^31 elements.
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

#if defined(UPS_EMULATION)
#include "cuda/common/tensor.cuh"  // the index arithmetic itself, callable on the host under emulation
#endif

namespace upsample::test {
namespace {

// ---------------------------------------------------------------------------------------------
// Misuse: each a distinct status, a message naming the argument, and nothing written.
// ---------------------------------------------------------------------------------------------
TEST(CudaMisuse, WorkspaceTooSmallIsRefusedAndAQueriedOneWorks) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  HandleGuard handle(UPS_BACKEND_CUDA);
  upsPoolDesc_t pool{};
  pool.spatial_dims = 2;
  for (int a = 0; a < 2; ++a) pool.kernel[a] = pool.stride[a] = 2, pool.dilation[a] = 1;
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
  const upsUnpoolDesc_t desc{0, UPS_UNPOOL_NEAREST, 2, {2, 2, 0}};
  upsTensorDesc_t y_desc;
  UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
  Buffer buffer(UPS_BACKEND_CUDA, 8 * 1024);
  char* base = static_cast<char*>(buffer.get());
  // Not aligned to the f32 element: refused (an element-aligned pointer that is not 16-byte
  // aligned is accepted and takes the scalar path: see backend_test.cpp).
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

// ---------------------------------------------------------------------------------------------
// Concurrency: separate handles and streams on several host threads at once.
// ---------------------------------------------------------------------------------------------
TEST(CudaConcurrency, SeparateHandlesOnSeveralThreadsAllCorrect) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  constexpr int kThreads = 4, kRounds = 12;
  std::atomic<int> failures{0};
  std::vector<std::string> reports(kThreads);
  auto worker = [&](int id) {
    std::mt19937_64 rng(base_seed() ^ (0x9e3779b97f4a7c15ull * static_cast<uint64_t>(id + 1)));
    upsHandle_t cuda = nullptr, reference = nullptr;
    cudaStream_t stream = nullptr;
    if (upsCreate(&cuda, UPS_BACKEND_CUDA) != UPS_STATUS_SUCCESS ||
        upsCreate(&reference, UPS_BACKEND_REFERENCE) != UPS_STATUS_SUCCESS ||
        cudaStreamCreate(&stream) != cudaSuccess) {
      ++failures;
      reports[static_cast<size_t>(id)] = "setup failed";
      return;
    }
    upsSetStream(cuda, reinterpret_cast<upsStream_t>(stream));
    for (int round = 0; round < kRounds; ++round) {
      // A transposed convolution whose integer data make every sum exact.
      upsConvTransposeDesc_t conv;
      upsConvTransposeDescInit(&conv, 2);
      conv.stride[0] = conv.stride[1] = 1 + round % 3;
      conv.pad_begin[0] = conv.pad_end[1] = round % 2;
      conv.algorithm = round % 2 ? UPS_ALGO_GATHER : UPS_ALGO_SCATTER_ATOMIC;
      const upsTensorDesc_t x_desc = make_desc(UPS_DTYPE_F32, round % 2 ? UPS_LAYOUT_CHANNELS_LAST : UPS_LAYOUT_CHANNELS_FIRST,
                                               2, 3, {3 + id, 4});
      const upsTensorDesc_t w_desc = make_desc(UPS_DTYPE_F32, x_desc.layout, 3, 4, {3, 3});
      upsTensorDesc_t y_desc;
      upsConvTransposeOutputDesc(&conv, &x_desc, &w_desc, &y_desc);
      HostTensor x(x_desc), w(w_desc), expected(y_desc), actual(y_desc);
      x.fill_random(rng, -4, 4, true);
      w.fill_random(rng, -4, 4, true);
      expected.poison();
      actual.poison();
      upsConvTransposeForward(reference, &conv, &x_desc, x.data(), &w_desc, w.data(), nullptr, &y_desc, expected.data());
      Buffer dx(UPS_BACKEND_CUDA, x), dw(UPS_BACKEND_CUDA, w), dy(UPS_BACKEND_CUDA, actual);
      const upsStatus_t status =
          upsConvTransposeForward(cuda, &conv, &x_desc, dx.get(), &w_desc, dw.get(), nullptr, &y_desc, dy.get());
      cudaStreamSynchronize(stream);
      dy.download(&actual);
      const ::testing::AssertionResult same = tensors_identical(actual, expected);
      if (status != UPS_STATUS_SUCCESS || !same) {
        ++failures;
        reports[static_cast<size_t>(id)] = "thread " + std::to_string(id) + " round " + std::to_string(round) + ": " +
                                           upsGetStatusName(status) + " " + same.message();
        break;
      }
    }
    cudaStreamDestroy(stream);
    upsDestroy(cuda);
    upsDestroy(reference);
  };
  std::vector<std::thread> threads;
  for (int id = 0; id < kThreads; ++id) threads.emplace_back(worker, id);
  for (std::thread& t : threads) t.join();
  for (const std::string& r : reports) EXPECT_TRUE(r.empty()) << r;
  EXPECT_EQ(failures.load(), 0);
}

#if defined(UPS_EMULATION)
// ---------------------------------------------------------------------------------------------
// Index arithmetic beyond 2^31, directly (NOTE [ Index width ] in cuda/common/tensor.cuh).
// ---------------------------------------------------------------------------------------------
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
    for (int64_t linear : {int64_t{0}, int64_t{1} << 31, (int64_t{1} << 31) + 12345, int64_t{1} << 33,
                           total / 2 + 7, total - 70001, total - 1}) {
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

// ---------------------------------------------------------------------------------------------
// A real op on a tensor of more than 2^31 elements (label `large`): nearest 1-D, f16, x of
// 2^30 + 64 elements (2 GiB) to y of 2^31 + 128 elements (4 GiB), on the emulated backend.
// ---------------------------------------------------------------------------------------------
TEST(LargeTensor, NearestUnpool1dBeyond2Pow31Elements) {
  const int64_t width = (int64_t{1} << 30) + 64;
  const upsTensorDesc_t x_desc = make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {width});
  const upsUnpoolDesc_t desc{0, UPS_UNPOOL_NEAREST, 1, {2, 0, 0}};
  upsTensorDesc_t y_desc;
  UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
  ASSERT_GT(y_desc.spatial[0], int64_t{1} << 31);
  // x[i] = (i mod 2039) as f16 (exact: integers below 2048), a pattern with no power-of-2 period.
  std::vector<uint16_t> x(static_cast<size_t>(width));
  for (int64_t i = 0; i < width; ++i) x[static_cast<size_t>(i)] = reference::float_to_half(static_cast<float>(i % 2039));
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
#endif

}  // namespace
}  // namespace upsample::test

// Concurrency: separate handles and streams on several host threads at once, each running
// transposed convolutions whose integer data make every sum exact, all compared with the
// reference. Built against libupsample.so (label `gpu`) and the emulated library (label `emulated`).
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

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
      const upsTensorDesc_t x_desc =
          make_desc(UPS_DTYPE_F32, round % 2 ? UPS_LAYOUT_CHANNELS_LAST : UPS_LAYOUT_CHANNELS_FIRST, 2, 3, {3 + id, 4});
      const upsTensorDesc_t w_desc = make_desc(UPS_DTYPE_F32, x_desc.layout, 3, 4, {3, 3});
      upsTensorDesc_t y_desc;
      upsConvTransposeOutputDesc(&conv, &x_desc, &w_desc, &y_desc);
      HostTensor x(x_desc), w(w_desc), expected(y_desc), actual(y_desc);
      x.fill_random(rng, -4, 4, true);
      w.fill_random(rng, -4, 4, true);
      expected.poison();
      actual.poison();
      upsConvTransposeForward(reference, &conv, &x_desc, x.data(), &w_desc, w.data(), nullptr, &y_desc,
                              expected.data());
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
    // The handle first: upsDestroy synchronizes the handle's stream, which must still exist.
    if (upsDestroy(cuda) != UPS_STATUS_SUCCESS) ++failures;
    upsDestroy(reference);
    cudaStreamDestroy(stream);
  };
  std::vector<std::thread> threads;
  for (int id = 0; id < kThreads; ++id) threads.emplace_back(worker, id);
  for (std::thread& t : threads) t.join();
  for (const std::string& r : reports) EXPECT_TRUE(r.empty()) << r;
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace upsample::test

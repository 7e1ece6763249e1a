// AUTO for transposed convolution on the CUDA backend: which algorithm it picks (the engine, or
// GATHER for narrow channels) and that it keeps its promise of a result for every element-aligned
// x — an x the implicit GEMM would read in place but that is not 16-byte aligned runs GATHER —
// while a caller who forces IMPLICIT_GEMM on such an x gets MISALIGNED. Results are compared with
// the reference within the f16 bound (tests/common/compare.h).
#include <gtest/gtest.h>

#include <cstring>

#include "tests/common/fixtures.h"
#include "upsample/upsample.h"

namespace upsample::test {
namespace {

upsConvTransposeDesc_t conv2d_stride2() {
  upsConvTransposeDesc_t conv;
  upsConvTransposeDescInit(&conv, 2);
  conv.stride[0] = conv.stride[1] = 2;
  const int64_t pad[2] = {1, 1};
  upsConvTransposeDescSetPadding(&conv, pad);
  return conv;
}

upsAlgorithm_t auto_choice(upsHandle_t handle, const upsConvTransposeDesc_t& conv, const HostTensor& x,
                           const HostTensor& w) {
  upsTensorDesc_t y{};
  EXPECT_EQ(upsConvTransposeOutputDesc(&conv, &x.desc, &w.desc, &y), UPS_STATUS_SUCCESS);
  upsAlgorithm_t algorithm = UPS_ALGO_AUTO;
  EXPECT_EQ(upsConvTransposeChooseAlgorithm(handle, &conv, &x.desc, &w.desc, &y, &algorithm), UPS_STATUS_SUCCESS)
      << upsGetLastErrorString();
  return algorithm;
}

TEST(CudaConvTransposeAuto, PicksTheEngineForWideChannelsAndGatherForNarrowOnes) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_HANDLE(cuda, UPS_BACKEND_CUDA);
  const upsConvTransposeDesc_t conv = conv2d_stride2();
  const HostTensor x(make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 32, {6, 6}));
  const HostTensor w(make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 32, 16, {4, 4}));
  EXPECT_EQ(auto_choice(cuda.get(), conv, x, w), UPS_ALGO_IMPLICIT_GEMM);
  // Depthwise-like: 1 input channel per group on a 32-group problem.
  upsConvTransposeDesc_t grouped = conv;
  grouped.groups = 32;
  const HostTensor w_depthwise(make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 32, 1, {4, 4}));
  EXPECT_EQ(auto_choice(cuda.get(), grouped, x, w_depthwise), UPS_ALGO_GATHER);
}

TEST(CudaConvTransposeAuto, MisalignedInputRunsGatherUnderAutoAndIsRefusedWhenForced) {
  UPS_SKIP_WITHOUT_CUDA();
  Backends backends;
  auto rng = make_rng("auto-misaligned");
  upsConvTransposeDesc_t conv = conv2d_stride2();
  // C_in = 16 f16 channels = 32 bytes per position: the engine would read x in place.
  HostTensor x(make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 16, {5, 7}));
  HostTensor w(make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 16, 24, {4, 4}));
  x.fill_random(rng);
  w.fill_random(rng);
  const HostTensor expected = conv_forward(backends.reference(), conv, x, w);
  const HostTensor magnitude = conv_forward(backends.reference(), conv, absolute(x), absolute(w));
  upsTensorDesc_t y_desc{};
  ASSERT_EQ(upsConvTransposeOutputDesc(&conv, &x.desc, &w.desc, &y_desc), UPS_STATUS_SUCCESS);

  // x two bytes into a device buffer: element-aligned, not 16-byte aligned.
  Buffer x_storage(UPS_BACKEND_CUDA, x.bytes.size() + 16);
  void* x_shifted = static_cast<unsigned char*>(x_storage.get()) + 2;
  ASSERT_EQ(cudaMemcpy(x_shifted, x.bytes.data(), x.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
  Buffer bw(UPS_BACKEND_CUDA, w);
  HostTensor y(y_desc);
  y.poison();
  Buffer by(UPS_BACKEND_CUDA, y);
  const Target cuda = backends.cuda();

  ASSERT_EQ(upsConvTransposeForward(cuda.handle, &conv, &x.desc, x_shifted, &w.desc, bw.get(), nullptr, &y_desc,
                                    by.get()),
            UPS_STATUS_SUCCESS)
      << upsGetLastErrorString();
  by.download(&y);
  EXPECT_TRUE(tensors_within_bound(y, expected, magnitude, tolerance(UPS_DTYPE_F16)));

  conv.algorithm = UPS_ALGO_IMPLICIT_GEMM;
  HostTensor untouched(y_desc);
  untouched.poison();
  by.upload(untouched);
  EXPECT_EQ(upsConvTransposeForward(cuda.handle, &conv, &x.desc, x_shifted, &w.desc, bw.get(), nullptr, &y_desc,
                                    by.get()),
            UPS_STATUS_MISALIGNED);
  EXPECT_NE(std::strstr(upsGetLastErrorString(), "aligned"), nullptr) << upsGetLastErrorString();
  HostTensor after(y_desc);
  by.download(&after);
  EXPECT_TRUE(tensors_identical(after, untouched)) << "a refused call writes nothing";
}

// An input without channels: K is empty, so the output is the bias alone. The engine must not form
// operand pointers from the null x and the empty packed weights (the fuzzer found that under UBSan;
// the sanitize preset runs this test with it).
TEST(CudaConvTransposeAuto, ForcedEngineWithNoInputChannelsWritesTheBias) {
  UPS_SKIP_WITHOUT_CUDA();
  Backends backends;
  auto rng = make_rng("engine-no-channels");
  upsConvTransposeDesc_t conv = conv2d_stride2();
  conv.algorithm = UPS_ALGO_IMPLICIT_GEMM;
  for (upsDataType_t dtype : {UPS_DTYPE_F16, UPS_DTYPE_F32}) {
    const HostTensor x(make_desc(dtype, UPS_LAYOUT_CHANNELS_LAST, 2, 0, {3, 4}));
    const HostTensor w(make_desc(dtype, UPS_LAYOUT_CHANNELS_LAST, 0, 16, {4, 4}));
    HostTensor bias(make_desc(dtype, UPS_LAYOUT_CHANNELS_FIRST, 1, 16, {1}));
    bias.fill_random(rng);
    const HostTensor expected = conv_forward(backends.reference(), conv, x, w, &bias);
    const HostTensor actual = conv_forward(backends.cuda(), conv, x, w, &bias);
    EXPECT_TRUE(tensors_identical(actual, expected)) << dtype_label(dtype);
  }
}

}  // namespace
}  // namespace upsample::test

// upsConvTransposePlanAlgorithm (and its C++ counterpart plan_conv_transpose_algorithm): the
// algorithm the CUDA backend would run at a given compute capability, and why, with no handle and
// no device. The expectations come from the rules as documented (upsample.h, src/dispatch.cpp,
// cuda/conv_transpose/implicit_gemm/implicit_gemm.h), not from calling the decision function:
//   - the engine's tensor-core path (f16, bf16, f32 with TF32) needs sm_80; its SIMT path (f32
//     without TF32) runs from sm_75; below that AUTO falls back to GATHER;
//   - few outputs (< 2^18) with long reductions (>= 256 terms) go to SCATTER_ATOMIC unless the
//     deterministic flag is set;
//   - a stride above 16 is beyond the engine's phase tables: GATHER;
//   - a forced algorithm is returned as is, and one that cannot run there fails as the call would.
// With a CUDA device, the plan at the device's own capability must agree with
// upsConvTransposeChooseAlgorithm on a CUDA handle (skipped, saying why, without one).
// Built into the reference suite: the query touches no device.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <string>

#include "upsample/upsample.h"
#include "upsample/upsample.hpp"

namespace {

struct Problem {
  upsConvTransposeDesc_t conv{};
  upsTensorDesc_t x{}, w{}, y{};
};

// n x c_in x in^dims input, weight c_in x (c_out/groups) x kernel^dims, stride, symmetric pad.
Problem make_problem(upsDataType_t dtype, upsLayout_t layout, int dims, int64_t n, int64_t c_in, int64_t in,
                     int64_t c_out, int64_t kernel, int64_t stride, int64_t pad) {
  Problem p;
  const int64_t in_extents[3] = {in, in, in}, kernel_extents[3] = {kernel, kernel, kernel};
  EXPECT_EQ(upsTensorDescInit(&p.x, dtype, layout, dims, n, c_in, in_extents), UPS_STATUS_SUCCESS);
  EXPECT_EQ(upsTensorDescInit(&p.w, dtype, layout, dims, c_in, c_out, kernel_extents), UPS_STATUS_SUCCESS);
  EXPECT_EQ(upsConvTransposeDescInit(&p.conv, dims), UPS_STATUS_SUCCESS);
  for (int a = 0; a < dims; ++a) {
    p.conv.stride[a] = stride;
    p.conv.pad_begin[a] = p.conv.pad_end[a] = pad;
  }
  EXPECT_EQ(upsConvTransposeOutputDesc(&p.conv, &p.x, &p.w, &p.y), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
  return p;
}

// A 2-D layer the engine takes: f16 or bf16 channels-last, channels a multiple of 16 bytes, 8 x 64
// x 16x16 -> 8 x 64 x 32x32 (2^19 outputs: not "few"), k4 s2 p1.
Problem aligned_layer(upsDataType_t dtype, upsLayout_t layout = UPS_LAYOUT_CHANNELS_LAST) {
  return make_problem(dtype, layout, 2, 8, 64, 16, 64, 4, 2, 1);
}

struct Plan {
  upsStatus_t status;
  upsAlgorithm_t algorithm;
  std::string reason;
};

Plan plan(const Problem& p, int compute_capability) {
  upsAlgorithm_t algorithm = UPS_ALGO_AUTO;  // a plan never returns AUTO: a valid sentinel (UBSan checks enum loads)
  const char* reason = nullptr;
  const upsStatus_t status =
      upsConvTransposePlanAlgorithm(&p.conv, &p.x, &p.w, &p.y, compute_capability, &algorithm, &reason);
  Plan result{status, algorithm, reason != nullptr ? reason : ""};
  if (status == UPS_STATUS_SUCCESS) {
    EXPECT_NE(reason, nullptr);
  } else {
    result.reason = upsGetLastErrorString();
  }
  return result;
}

bool contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

TEST(ConvTransposePlan, TensorCoreDtypesTakeTheImplicitGemmFromSm80AndGatherBelow) {
  for (upsDataType_t dtype : {UPS_DTYPE_F16, UPS_DTYPE_BF16})
    for (upsLayout_t layout : {UPS_LAYOUT_CHANNELS_LAST, UPS_LAYOUT_CHANNELS_FIRST}) {
      SCOPED_TRACE(std::string(dtype == UPS_DTYPE_F16 ? "f16" : "bf16") +
                   (layout == UPS_LAYOUT_CHANNELS_LAST ? " nhwc" : " nchw"));
      const Problem p = aligned_layer(dtype, layout);
      for (int cc : {80, 86, 89, 90, 100}) {
        const Plan at = plan(p, cc);
        ASSERT_EQ(at.status, UPS_STATUS_SUCCESS) << at.reason;
        EXPECT_EQ(at.algorithm, UPS_ALGO_IMPLICIT_GEMM) << "sm_" << cc << ": " << at.reason;
        EXPECT_TRUE(contains(at.reason, "tensor-core")) << at.reason;
      }
      const Plan turing = plan(p, 75);
      ASSERT_EQ(turing.status, UPS_STATUS_SUCCESS) << turing.reason;
      EXPECT_EQ(turing.algorithm, UPS_ALGO_GATHER) << turing.reason;
      EXPECT_TRUE(contains(turing.reason, "8.0")) << "the reason names the architecture rule: " << turing.reason;
    }
}

TEST(ConvTransposePlan, F32WithoutTf32RunsTheSimtTwinEverywhereWithTf32OnlyFromSm80) {
  Problem p = aligned_layer(UPS_DTYPE_F32);
  for (int cc : {75, 80, 90}) {
    const Plan at = plan(p, cc);
    ASSERT_EQ(at.status, UPS_STATUS_SUCCESS) << at.reason;
    EXPECT_EQ(at.algorithm, UPS_ALGO_IMPLICIT_GEMM) << "sm_" << cc << ": " << at.reason;
    EXPECT_TRUE(contains(at.reason, "SIMT")) << at.reason;
  }
  p.conv.math_mode = UPS_MATH_ALLOW_TF32;
  const Plan hopper = plan(p, 90);
  EXPECT_EQ(hopper.algorithm, UPS_ALGO_IMPLICIT_GEMM) << hopper.reason;
  EXPECT_TRUE(contains(hopper.reason, "tensor-core")) << hopper.reason;
  const Plan turing = plan(p, 75);
  EXPECT_EQ(turing.algorithm, UPS_ALGO_GATHER) << turing.reason;
  // f64 is SIMT whatever the math mode says.
  const Problem f64 = aligned_layer(UPS_DTYPE_F64);
  EXPECT_EQ(plan(f64, 75).algorithm, UPS_ALGO_IMPLICIT_GEMM);
}

TEST(ConvTransposePlan, FewOutputsWithLongReductionsScatterUnlessDeterministic) {
  // A latent projection, one sample: 1x1 -> 4x4 (k4 s1), 512 output channels -> 8192 outputs, each
  // a sum over C_in x 16 taps.
  Problem p = make_problem(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 1, 256, 1, 512, 4, 1, 0);
  const Plan loose = plan(p, 90);
  EXPECT_EQ(loose.algorithm, UPS_ALGO_SCATTER_ATOMIC) << loose.reason;
  EXPECT_TRUE(contains(loose.reason, "deterministic")) << loose.reason;
  p.conv.deterministic = 1;
  const Plan strict = plan(p, 90);
  EXPECT_EQ(strict.algorithm, UPS_ALGO_IMPLICIT_GEMM) << strict.reason;
  // At the threshold (16 channels x 16 taps = 256 terms) and one channel below it (240).
  const Problem at_threshold = make_problem(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 1, 16, 1, 512, 4, 1, 0);
  EXPECT_EQ(plan(at_threshold, 90).algorithm, UPS_ALGO_SCATTER_ATOMIC);
  const Problem below = make_problem(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 1, 15, 1, 512, 4, 1, 0);
  EXPECT_EQ(plan(below, 90).algorithm, UPS_ALGO_IMPLICIT_GEMM);
}

TEST(ConvTransposePlan, StridesBeyondTheEnginesPhaseTablesFallBackToGather) {
  // 1-D, stride 17 (the engine's tables cover 16 per axis), 64 x 16 x 256 -> 64 x 16 x 4355.
  const Problem p = make_problem(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 1, 64, 16, 256, 16, 20, 17, 0);
  const Plan at = plan(p, 90);
  ASSERT_EQ(at.status, UPS_STATUS_SUCCESS) << at.reason;
  EXPECT_EQ(at.algorithm, UPS_ALGO_GATHER) << at.reason;
  EXPECT_TRUE(contains(at.reason, "stride")) << at.reason;
}

TEST(ConvTransposePlan, ForcedAlgorithmsAreReturnedOrRefusedAsTheCallWould) {
  Problem p = aligned_layer(UPS_DTYPE_F16);
  p.conv.algorithm = UPS_ALGO_GATHER;
  const Plan gather = plan(p, 90);
  EXPECT_EQ(gather.algorithm, UPS_ALGO_GATHER);
  EXPECT_TRUE(contains(gather.reason, "caller")) << gather.reason;
  p.conv.algorithm = UPS_ALGO_IMPLICIT_GEMM;
  EXPECT_EQ(plan(p, 80).algorithm, UPS_ALGO_IMPLICIT_GEMM);
  const Plan refused = plan(p, 75);
  EXPECT_EQ(refused.status, UPS_STATUS_NOT_SUPPORTED);
  EXPECT_TRUE(contains(refused.reason, "IMPLICIT_GEMM")) << refused.reason;
}

TEST(ConvTransposePlan, BadArgumentsGetAStatusAndAMessageNamingThem) {
  const Problem p = aligned_layer(UPS_DTYPE_F16);
  upsAlgorithm_t algorithm = UPS_ALGO_AUTO;
  for (int cc : {0, 70, 72, 1000, -90}) {
    EXPECT_EQ(upsConvTransposePlanAlgorithm(&p.conv, &p.x, &p.w, &p.y, cc, &algorithm, nullptr),
              UPS_STATUS_BAD_PARAMETER)
        << cc;
    EXPECT_TRUE(contains(upsGetLastErrorString(), "compute_capability")) << upsGetLastErrorString();
  }
  EXPECT_EQ(upsConvTransposePlanAlgorithm(&p.conv, &p.x, &p.w, &p.y, 90, nullptr, nullptr), UPS_STATUS_NULL_POINTER);
  EXPECT_TRUE(contains(upsGetLastErrorString(), "algorithm")) << upsGetLastErrorString();
  EXPECT_EQ(upsConvTransposePlanAlgorithm(nullptr, &p.x, &p.w, &p.y, 90, &algorithm, nullptr),
            UPS_STATUS_NULL_POINTER);
  // The problem is validated as the forward call validates it: groups that divide nothing.
  Problem bad = p;
  bad.conv.groups = 3;
  EXPECT_EQ(upsConvTransposePlanAlgorithm(&bad.conv, &bad.x, &bad.w, &bad.y, 90, &algorithm, nullptr),
            UPS_STATUS_BAD_GROUPS);
  // A null reason is allowed; the algorithm is still written.
  algorithm = UPS_ALGO_AUTO;  // never returned by a plan
  EXPECT_EQ(upsConvTransposePlanAlgorithm(&p.conv, &p.x, &p.w, &p.y, 90, &algorithm, nullptr), UPS_STATUS_SUCCESS);
  EXPECT_EQ(algorithm, UPS_ALGO_IMPLICIT_GEMM);
}

TEST(ConvTransposePlan, CppCounterpartGivesTheSameAnswerAndThrowsOnBadInput) {
  const Problem p = aligned_layer(UPS_DTYPE_BF16);
  upsample::ConvTranspose conv(2);
  conv.stride({2, 2}).padding({1, 1});
  const upsample::AlgorithmPlan at90 = upsample::plan_conv_transpose_algorithm(conv, p.x, p.w, p.y, 90);
  const Plan c90 = plan(p, 90);
  EXPECT_EQ(at90.algorithm, c90.algorithm);
  EXPECT_EQ(at90.reason, c90.reason);
  EXPECT_EQ(upsample::plan_conv_transpose_algorithm(conv, p.x, p.w, p.y, 75).algorithm, UPS_ALGO_GATHER);
  try {
    upsample::plan_conv_transpose_algorithm(conv, p.x, p.w, p.y, 61);
    ADD_FAILURE() << "compute capability 61 accepted";
  } catch (const upsample::Error& e) {
    EXPECT_EQ(e.status(), UPS_STATUS_BAD_PARAMETER);
  }
}

// With a GPU: the plan at the device's own capability is what a CUDA handle chooses.
TEST(ConvTransposePlan, AgreesWithTheCudaHandlesChoiceOnThisDevice) {
  if (upsCudaDeviceAvailable() == 0) GTEST_SKIP() << "no usable CUDA device: the plan is checked against the rules only";
  int device = 0, major = 0, minor = 0;
  ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), cudaSuccess);
  upsHandle_t handle = nullptr;
  ASSERT_EQ(upsCreate(&handle, UPS_BACKEND_CUDA), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
  Problem few = make_problem(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 1, 256, 1, 512, 4, 1, 0);
  Problem stride17 = make_problem(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 1, 64, 16, 256, 16, 20, 17, 0);
  Problem tf32 = aligned_layer(UPS_DTYPE_F32);
  tf32.conv.math_mode = UPS_MATH_ALLOW_TF32;
  for (const Problem& p : {aligned_layer(UPS_DTYPE_F16), aligned_layer(UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST),
                           aligned_layer(UPS_DTYPE_F32), tf32, few, stride17}) {
    upsAlgorithm_t chosen = UPS_ALGO_AUTO;
    ASSERT_EQ(upsConvTransposeChooseAlgorithm(handle, &p.conv, &p.x, &p.w, &p.y, &chosen), UPS_STATUS_SUCCESS)
        << upsGetLastErrorString();
    const Plan planned = plan(p, major * 10 + minor);
    ASSERT_EQ(planned.status, UPS_STATUS_SUCCESS) << planned.reason;
    EXPECT_EQ(planned.algorithm, chosen) << planned.reason;
  }
  upsDestroy(handle);
}

}  // namespace

// Shared test fixtures of the CUDA-vs-reference suites: the parameter cases (dtype x layout x
// rank, x algorithm, plus cases forced onto the 64-bit index path) and their test names, which
// say op, algorithm, dtype, layout and rank: CudaConvTransposeBackward/All.Scatter_BF16_NHWC_3d_Index64.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/common/tensor.h"
#include "upsample/upsample.h"

namespace upsample::test {

inline const char* algorithm_label(upsAlgorithm_t algorithm) {
  return algorithm == UPS_ALGO_GATHER ? "Gather" : algorithm == UPS_ALGO_SCATTER_ATOMIC ? "Scatter" : "Auto";
}

// One CUDA-vs-reference case; `algorithm` is GATHER for ops that have no other.
struct KernelCase {
  upsAlgorithm_t algorithm;
  upsDataType_t dtype;
  upsLayout_t layout;
  int dims;
  bool index64;
};

// Algorithm_DTYPE_LAYOUT_Nd[_Index64]; ops with one algorithm leave it out.
inline std::string kernel_case_name(const ::testing::TestParamInfo<KernelCase>& info, bool with_algorithm) {
  const KernelCase& c = info.param;
  return (with_algorithm ? std::string(algorithm_label(c.algorithm)) + "_" : std::string()) + dtype_label(c.dtype) +
         "_" + layout_label(c.layout) + "_" + std::to_string(c.dims) + "d" + (c.index64 ? "_Index64" : "");
}

inline std::string kernel_case_name_with_algorithm(const ::testing::TestParamInfo<KernelCase>& info) {
  return kernel_case_name(info, true);
}
inline std::string kernel_case_name_without_algorithm(const ::testing::TestParamInfo<KernelCase>& info) {
  return kernel_case_name(info, false);
}

// Every algorithm x float dtype x layout x rank.
inline std::vector<KernelCase> every_dtype_layout_rank(const std::vector<upsAlgorithm_t>& algorithms) {
  std::vector<KernelCase> cases;
  for (upsAlgorithm_t algorithm : algorithms)
    for (upsDataType_t dtype : kFloatDtypes)
      for (upsLayout_t layout : kLayouts)
        for (int dims = 1; dims <= 3; ++dims) cases.push_back({algorithm, dtype, layout, dims, false});
  return cases;
}

// The gradient suites: dtype x layout x rank with `algorithms`, plus 64-bit-index cases.
inline std::vector<KernelCase> grad_cases(const std::vector<upsAlgorithm_t>& algorithms) {
  std::vector<KernelCase> cases = every_dtype_layout_rank(algorithms);
  for (upsLayout_t layout : kLayouts) {
    cases.push_back({algorithms.front(), UPS_DTYPE_F32, layout, 2, true});
    cases.push_back({algorithms.back(), UPS_DTYPE_BF16, layout, 3, true});
  }
  return cases;
}

// The max-pool and max-unpool forward suites: dtype x layout x rank, plus 64-bit-index cases.
inline std::vector<KernelCase> pool_cases() {
  std::vector<KernelCase> cases = every_dtype_layout_rank({UPS_ALGO_GATHER});
  for (upsLayout_t layout : kLayouts) cases.push_back({UPS_ALGO_GATHER, UPS_DTYPE_F32, layout, 2, true});
  return cases;
}

}  // namespace upsample::test

// Shared test fixtures of the cuDNN comparison suites (tests/<family>/*_cudnn_test.cpp).
#pragma once

#include <cudnn.h>
#include <gtest/gtest.h>

#include <vector>

namespace upsample::test {

#define CUDNN_ASSERT(expr)                                                                                 \
  do {                                                                                                     \
    const cudnnStatus_t cudnn_status_ = (expr);                                                            \
    ASSERT_EQ(cudnn_status_, CUDNN_STATUS_SUCCESS) << #expr << ": " << cudnnGetErrorString(cudnn_status_); \
  } while (0)

// Dense strides (elements) of an N, C, spatial... tensor in a layout, in cuDNN's N, C, D, H, W order.
inline std::vector<int> dense_strides(const std::vector<int>& dims, bool channels_last) {
  const size_t rank = dims.size();
  std::vector<int> strides(rank);
  if (!channels_last) {
    strides[rank - 1] = 1;
    for (size_t i = rank - 1; i-- > 0;) strides[i] = strides[i + 1] * dims[i + 1];
  } else {
    strides[1] = 1;
    int running = dims[1];
    for (size_t i = rank - 1; i >= 2; --i) {
      strides[i] = running;
      running *= dims[i];
    }
    strides[0] = running;
  }
  return strides;
}

}  // namespace upsample::test

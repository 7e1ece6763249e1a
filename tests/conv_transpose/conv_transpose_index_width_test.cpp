// The transposed convolution where its 32-bit index rule is tight (NOTE [ Index width ] in
// core/index_width.h): dilations, strides and paddings near and at 2^31 on axes whose kernel has
// one tap, so that the extents and reaches are tiny and only the values themselves (and the index
// helpers' intermediates) are large. The fuzzer stopped on the first of these
// (fuzz/corpus/regression_conv_transpose_backward_data_huge_dilation): ceil_div formed
// 1 + (2^31 - 1) in int32 in the data gradient's landing taps.
//
// Every case runs forward, data, weight and bias gradients (GATHER and SCATTER_ATOMIC where they
// apply) on the emulated CUDA backend, with the default index width and with 64-bit indices
// forced, against the CPU reference. Inputs are fresh random small integers (seed printed;
// UPS_TEST_SEED fixes it) and every sum has at most C_in x 1 tap or N x C terms, so f32 and f64
// results are exact and compared bit for bit. Outputs are poisoned with NaN bytes first.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/index_width.h"
#include "upsample/upsample.h"

#if !defined(UPS_EMULATION)
#error "conv_transpose_index_width_test runs on the emulated CUDA backend"
#endif
#include "cuda/common/platform.cuh"

namespace {

uint64_t test_seed() {
  static const uint64_t seed = [] {
    const char* fixed = std::getenv("UPS_TEST_SEED");
    const uint64_t s = fixed ? std::strtoull(fixed, nullptr, 10) : std::random_device{}();
    std::printf("conv_transpose_index_width_test seed %llu\n", static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

// A 1-D transposed convolution with one kernel tap and a hostile axis parameter.
struct Case {
  const char* name;
  int64_t n, cin, cout, in, kernel, stride, dilation, pad_begin, pad_end, output_padding;
};

const Case kCases[] = {
    // The fuzzer's input: dilation 2^31 - 1 on a one-tap axis, padding 1 (so -base = 1).
    {"dilation_2pow31_minus_1_pad_1", 1, 2, 3, 2, 1, 1, (int64_t{1} << 31) - 1, 1, 0, 0},
    // Dilation 2^31: the largest validation allows, which int32 cannot hold at all.
    {"dilation_2pow31_pad_1", 2, 1, 2, 3, 1, 1, int64_t{1} << 31, 1, 0, 0},
    // Stride and padding near 2^30 and 2^31 on one input position.
    {"stride_2pow31_minus_1", 1, 2, 2, 1, 1, (int64_t{1} << 31) - 1, 1, 0, 0, 0},
    {"dilation_and_pad_2pow29", 1, 1, 2, 4, 2, 1, int64_t{1} << 29, int64_t{1} << 29, 0, 0},
};

struct Tensor {
  upsTensorDesc_t desc{};
  std::vector<float> host;
  float* device = nullptr;
};

void make_tensor(Tensor* t, int64_t n, int64_t c, int64_t w) {
  const int64_t spatial[1] = {w};
  ASSERT_EQ(upsTensorDescInit(&t->desc, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, n, c, spatial), UPS_STATUS_SUCCESS);
  t->host.assign(static_cast<size_t>(n * c * w), 0.0f);
  if (!t->host.empty()) {
    ASSERT_EQ(cudaMalloc(&t->device, t->host.size() * sizeof(float)), cudaSuccess);
  }
}

void fill_random(Tensor* t, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> value(-8, 8);
  for (float& v : t->host) v = static_cast<float>(value(rng));
  if (!t->host.empty()) {
    ASSERT_EQ(cudaMemcpy(t->device, t->host.data(), t->host.size() * sizeof(float), cudaMemcpyHostToDevice), cudaSuccess);
  }
}

void poison(Tensor* t) {
  if (!t->host.empty()) {
    ASSERT_EQ(cudaMemset(t->device, 0xFF, t->host.size() * sizeof(float)), cudaSuccess);
  }
}

std::vector<float> download(const Tensor& t) {
  std::vector<float> out(t.host.size());
  if (!out.empty()) {
    EXPECT_EQ(cudaMemcpy(out.data(), t.device, out.size() * sizeof(float), cudaMemcpyDeviceToHost), cudaSuccess);
  }
  return out;
}

void expect_bits_equal(const std::vector<float>& cuda, const std::vector<float>& reference, const std::string& what) {
  ASSERT_EQ(cuda.size(), reference.size()) << what;
  for (size_t i = 0; i < cuda.size(); ++i)
    ASSERT_EQ(std::memcmp(&cuda[i], &reference[i], sizeof(float)), 0)
        << what << " element " << i << ": cuda " << cuda[i] << ", reference " << reference[i];
}

class ConvTransposeIndexWidth : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    ASSERT_EQ(upsCreate(&cuda_, UPS_BACKEND_CUDA), UPS_STATUS_SUCCESS);
    ASSERT_EQ(upsCreate(&reference_, UPS_BACKEND_REFERENCE), UPS_STATUS_SUCCESS);
  }
  void TearDown() override {
    upsample::detail::set_force_64bit_indexing(false);
    upsDestroy(cuda_);
    upsDestroy(reference_);
  }
  upsHandle_t cuda_ = nullptr, reference_ = nullptr;
};

TEST_P(ConvTransposeIndexWidth, EveryDirectionMatchesTheReferenceOnBothIndexPaths) {
  const Case& c = GetParam();
  std::mt19937_64 rng(test_seed() ^ std::hash<std::string>{}(c.name));
  upsConvTransposeDesc_t conv;
  ASSERT_EQ(upsConvTransposeDescInit(&conv, 1), UPS_STATUS_SUCCESS);
  conv.stride[0] = c.stride;
  conv.dilation[0] = c.dilation;
  conv.pad_begin[0] = c.pad_begin;
  conv.pad_end[0] = c.pad_end;
  conv.output_padding[0] = c.output_padding;
  Tensor x, w, y, bias, dx, dw, db;
  make_tensor(&x, c.n, c.cin, c.in);
  make_tensor(&w, c.cin, c.cout, c.kernel);
  upsTensorDesc_t y_desc;
  ASSERT_EQ(upsConvTransposeOutputDesc(&conv, &x.desc, &w.desc, &y_desc), UPS_STATUS_SUCCESS) << c.name;
  ASSERT_GE(y_desc.spatial[0], 1) << c.name;
  make_tensor(&y, c.n, c.cout, y_desc.spatial[0]);
  make_tensor(&bias, 1, 1, c.cout);
  make_tensor(&dx, c.n, c.cin, c.in);
  make_tensor(&dw, c.cin, c.cout, c.kernel);
  make_tensor(&db, 1, 1, c.cout);
  fill_random(&x, rng);
  fill_random(&w, rng);
  fill_random(&bias, rng);
  Tensor& dy = y;  // the gradients read dy from y's buffer, refilled below

  for (upsAlgorithm_t algorithm : {UPS_ALGO_GATHER, UPS_ALGO_SCATTER_ATOMIC}) {
    conv.algorithm = algorithm;
    for (bool force64 : {false, true}) {
      const std::string what = std::string(c.name) + (algorithm == UPS_ALGO_GATHER ? " gather" : " scatter") +
                               (force64 ? " 64-bit" : " default width");
      upsample::detail::set_force_64bit_indexing(force64);
      // Forward.
      std::vector<float> y_reference(y.host.size(), 0.0f);
      ASSERT_EQ(upsConvTransposeForward(reference_, &conv, &x.desc, x.host.data(), &w.desc, w.host.data(),
                                        bias.host.data(), &y.desc, y_reference.data()),
                UPS_STATUS_SUCCESS)
          << upsGetLastErrorString();
      poison(&y);
      ASSERT_EQ(upsConvTransposeForward(cuda_, &conv, &x.desc, x.device, &w.desc, w.device, bias.device, &y.desc,
                                        y.device),
                UPS_STATUS_SUCCESS)
          << what << ": " << upsGetLastErrorString();
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      expect_bits_equal(download(y), y_reference, what + " forward");
      // Gradients from a fresh dy.
      fill_random(&dy, rng);
      std::vector<float> dx_reference(dx.host.size()), dw_reference(dw.host.size()), db_reference(db.host.size());
      upsConvTransposeDesc_t data_conv = conv;  // the data gradient is a gather only
      data_conv.algorithm = UPS_ALGO_GATHER;
      ASSERT_EQ(upsConvTransposeBackwardData(reference_, &data_conv, &dy.desc, dy.host.data(), &w.desc, w.host.data(),
                                             &dx.desc, dx_reference.data()),
                UPS_STATUS_SUCCESS)
          << upsGetLastErrorString();
      ASSERT_EQ(upsConvTransposeBackwardWeight(reference_, &conv, &x.desc, x.host.data(), &dy.desc, dy.host.data(),
                                               &dw.desc, dw_reference.data()),
                UPS_STATUS_SUCCESS)
          << upsGetLastErrorString();
      ASSERT_EQ(upsConvTransposeBackwardBias(reference_, &conv, &dy.desc, dy.host.data(), db_reference.data()),
                UPS_STATUS_SUCCESS)
          << upsGetLastErrorString();
      poison(&dx);
      poison(&dw);
      poison(&db);
      ASSERT_EQ(upsConvTransposeBackwardData(cuda_, &data_conv, &dy.desc, dy.device, &w.desc, w.device, &dx.desc, dx.device),
                UPS_STATUS_SUCCESS)
          << what << ": " << upsGetLastErrorString();
      ASSERT_EQ(upsConvTransposeBackwardWeight(cuda_, &conv, &x.desc, x.device, &dy.desc, dy.device, &dw.desc,
                                               dw.device),
                UPS_STATUS_SUCCESS)
          << what << ": " << upsGetLastErrorString();
      ASSERT_EQ(upsConvTransposeBackwardBias(cuda_, &conv, &dy.desc, dy.device, db.device), UPS_STATUS_SUCCESS) << what << ": " << upsGetLastErrorString();
      ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
      expect_bits_equal(download(dx), dx_reference, what + " data gradient");
      expect_bits_equal(download(dw), dw_reference, what + " weight gradient");
      expect_bits_equal(download(db), db_reference, what + " bias gradient");
    }
  }
  for (Tensor* t : {&x, &w, &y, &bias, &dx, &dw, &db}) cudaFree(t->device);
}

INSTANTIATE_TEST_SUITE_P(HostileAxis, ConvTransposeIndexWidth, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return std::string(param_info.param.name);
                         });

}  // namespace

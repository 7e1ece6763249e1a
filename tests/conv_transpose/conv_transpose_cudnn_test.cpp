// Transposed convolution and its gradients against cuDNN (label `cudnn`, real GPU only; the
// executable upsample_cudnn_tests links libupsample.so and cuDNN, which the library never links).
//
// Forward: a transposed convolution is the data gradient of the forward convolution with the
// same geometry: cuDNN's cudnnConvolutionBackwardData, given the forward filter (K = our C_in,
// C = our C_out/groups, k...) and "dy" = our x, produces "dx" = our y. cuDNN's convolution
// descriptor has symmetric padding only, and no bias, so the cases here use symmetric padding
// and no bias (the reference suite covers the rest). output_padding is expressed by dx's shape.
//
// Gradients: the transposed convolution's own gradients are therefore that convolution's forward
// and filter gradient, with our tensors in these roles:
//   our data gradient   dx = conv(dy, w):  cudnnConvolutionForward(x := our dy, w := our w, y := our dx)
//   our weight gradient dw:                cudnnConvolutionBackwardFilter(x := our dy, dy := our x, dw := our dw)
// where cuDNN's filter (K, C/groups, k...) is our weight (C_in, C_out/groups, k...) as it stands.
// cuDNN's convolution has symmetric padding and no output_padding; it sizes its output as
// floor((out + 2*pad - dilation*(k-1) - 1) / stride) + 1, which equals our input extent when
// output_padding < stride, so every case here keeps to that (the reference suite covers the rest).
#include <cudnn.h>

#include <string>
#include <tuple>
#include <vector>

#include "tests/common/cudnn.h"
#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

// =============================================================================================
// Forward: cudnnConvolutionBackwardData
// =============================================================================================
struct CudnnCase {
  const char* name;
  int dims;
  int64_t n, cin, cout, groups;
  std::vector<int64_t> in, k, stride, pad, output_padding, dilation;
};

std::vector<CudnnCase> cudnn_cases() {
  return {
      {"DCGAN_k4s2p1", 2, 2, 16, 8, 1, {4, 4}, {4, 4}, {2, 2}, {1, 1}, {0, 0}, {1, 1}},
      {"VAE_k3s2p1op1", 2, 1, 8, 8, 1, {6, 5}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}},
      {"Grouped_k3s2", 2, 2, 8, 12, 4, {5, 5}, {3, 3}, {2, 2}, {0, 0}, {0, 0}, {1, 1}},
      {"Depthwise_k4s2p1", 2, 1, 8, 8, 8, {5, 6}, {4, 4}, {2, 2}, {1, 1}, {0, 0}, {1, 1}},
      {"Dilated_k3s1d2", 2, 2, 4, 6, 1, {5, 5}, {3, 3}, {1, 1}, {2, 2}, {1, 1}, {2, 2}},
      {"Stride3_k2", 2, 1, 4, 4, 1, {4, 3}, {2, 2}, {3, 3}, {0, 0}, {2, 2}, {1, 1}},
      {"UNet3d_k2s2", 3, 1, 4, 4, 1, {3, 3, 3}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1}},
  };
}

class CudnnConvTranspose
    : public ::testing::TestWithParam<std::tuple<CudnnCase, upsDataType_t, upsLayout_t, upsAlgorithm_t>> {};

TEST_P(CudnnConvTranspose, MatchesBackwardData) {
  if (!upsCudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device on this machine: cuDNN comparisons need a GPU";
  UPS_SEED_TRACE();
  const auto [c, dtype, layout, algorithm] = GetParam();
  const bool channels_last = layout == UPS_LAYOUT_CHANNELS_LAST;
  if (channels_last && c.dims == 3)
    GTEST_SKIP() << "cuDNN's NDHWC dgrad support varies by version; covered by the reference suite";
  auto rng = make_rng();

  upsConvTransposeDesc_t conv;
  UPS_ASSERT_OK(upsConvTransposeDescInit(&conv, c.dims));
  for (int a = 0; a < c.dims; ++a) {
    conv.stride[a] = c.stride[static_cast<size_t>(a)];
    conv.pad_begin[a] = conv.pad_end[a] = c.pad[static_cast<size_t>(a)];
    conv.output_padding[a] = c.output_padding[static_cast<size_t>(a)];
    conv.dilation[a] = c.dilation[static_cast<size_t>(a)];
  }
  conv.groups = c.groups;
  conv.algorithm = algorithm;
  const upsTensorDesc_t x_desc = make_desc(dtype, layout, c.n, c.cin, c.in);
  const upsTensorDesc_t w_desc = make_desc(dtype, layout, c.cin, c.cout / c.groups, c.k);
  upsTensorDesc_t y_desc;
  UPS_ASSERT_OK(upsConvTransposeOutputDesc(&conv, &x_desc, &w_desc, &y_desc));

  HostTensor x(x_desc), w(w_desc), ours(y_desc), theirs(y_desc);
  x.fill_random(rng);
  w.fill_random(rng);
  ours.poison();
  theirs.poison();
  Buffer dx(UPS_BACKEND_CUDA, x), dw(UPS_BACKEND_CUDA, w), dy_ours(UPS_BACKEND_CUDA, ours),
      dy_theirs(UPS_BACKEND_CUDA, theirs);

  HandleGuard handle(UPS_BACKEND_CUDA);
  UPS_ASSERT_OK(upsConvTransposeForward(handle.get(), &conv, &x_desc, dx.get(), &w_desc, dw.get(), nullptr, &y_desc,
                                        dy_ours.get()));
  dy_ours.download(&ours);

  // cuDNN: forward conv from our y (its x) to our x (its y); we ask for its data gradient.
  cudnnHandle_t cudnn;
  CUDNN_ASSERT(cudnnCreate(&cudnn));
  const cudnnDataType_t data_type = dtype == UPS_DTYPE_F16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
  auto dims_of = [&](const upsTensorDesc_t& d) {
    std::vector<int> dims = {static_cast<int>(d.n), static_cast<int>(d.c)};
    for (int a = 0; a < d.spatial_dims; ++a) dims.push_back(static_cast<int>(d.spatial[a]));
    if (d.spatial_dims == 1) dims.insert(dims.begin() + 2, 1);  // 1-D as H = 1
    return dims;
  };
  cudnnTensorDescriptor_t dy_cudnn, dx_cudnn;
  cudnnFilterDescriptor_t filter;
  cudnnConvolutionDescriptor_t conv_cudnn;
  CUDNN_ASSERT(cudnnCreateTensorDescriptor(&dy_cudnn));
  CUDNN_ASSERT(cudnnCreateTensorDescriptor(&dx_cudnn));
  CUDNN_ASSERT(cudnnCreateFilterDescriptor(&filter));
  CUDNN_ASSERT(cudnnCreateConvolutionDescriptor(&conv_cudnn));
  const std::vector<int> x_dims = dims_of(x_desc), y_dims = dims_of(y_desc), w_dims = dims_of(w_desc);
  const std::vector<int> x_strides = dense_strides(x_dims, channels_last),
                         y_strides = dense_strides(y_dims, channels_last);
  CUDNN_ASSERT(cudnnSetTensorNdDescriptor(dy_cudnn, data_type, static_cast<int>(x_dims.size()), x_dims.data(),
                                          x_strides.data()));
  CUDNN_ASSERT(cudnnSetTensorNdDescriptor(dx_cudnn, data_type, static_cast<int>(y_dims.size()), y_dims.data(),
                                          y_strides.data()));
  CUDNN_ASSERT(cudnnSetFilterNdDescriptor(filter, data_type, channels_last ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                          static_cast<int>(w_dims.size()), w_dims.data()));
  std::vector<int> pad, stride, dilation;
  if (c.dims == 1) pad.push_back(0), stride.push_back(1), dilation.push_back(1);
  for (int a = 0; a < c.dims; ++a) {
    pad.push_back(static_cast<int>(c.pad[static_cast<size_t>(a)]));
    stride.push_back(static_cast<int>(c.stride[static_cast<size_t>(a)]));
    dilation.push_back(static_cast<int>(c.dilation[static_cast<size_t>(a)]));
  }
  CUDNN_ASSERT(cudnnSetConvolutionNdDescriptor(conv_cudnn, static_cast<int>(pad.size()), pad.data(), stride.data(),
                                               dilation.data(), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  CUDNN_ASSERT(cudnnSetConvolutionGroupCount(conv_cudnn, static_cast<int>(c.groups)));
  // fp32: no TF32, so cuDNN's answer is a true fp32 one; fp16 may use tensor cores.
  CUDNN_ASSERT(cudnnSetConvolutionMathType(conv_cudnn, dtype == UPS_DTYPE_F16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  int returned = 0;
  cudnnConvolutionBwdDataAlgoPerf_t perf[8];
  CUDNN_ASSERT(
      cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnn, filter, dy_cudnn, conv_cudnn, dx_cudnn, 8, &returned, perf));
  ASSERT_GT(returned, 0);
  size_t workspace_bytes = 0;
  CUDNN_ASSERT(cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn, filter, dy_cudnn, conv_cudnn, dx_cudnn, perf[0].algo,
                                                            &workspace_bytes));
  Buffer workspace(UPS_BACKEND_CUDA, workspace_bytes);
  const float one = 1.0f, zero = 0.0f;
  CUDNN_ASSERT(cudnnConvolutionBackwardData(cudnn, &one, filter, dw.get(), dy_cudnn, dx.get(), conv_cudnn, perf[0].algo,
                                            workspace.get(), workspace_bytes, &zero, dx_cudnn, dy_theirs.get()));
  dy_theirs.download(&theirs);
  cudnnDestroyConvolutionDescriptor(conv_cudnn);
  cudnnDestroyFilterDescriptor(filter);
  cudnnDestroyTensorDescriptor(dx_cudnn);
  cudnnDestroyTensorDescriptor(dy_cudnn);
  cudnnDestroy(cudnn);

  EXPECT_TRUE(tensors_close(ours, theirs, tolerance(dtype)));
}

std::string cudnn_name(const ::testing::TestParamInfo<CudnnConvTranspose::ParamType>& info) {
  const auto& [c, dtype, layout, algorithm] = info.param;
  return std::string(c.name) + "_" + (algorithm == UPS_ALGO_GATHER ? "Gather" : "Scatter") + "_" + dtype_label(dtype) +
         "_" + (layout == UPS_LAYOUT_CHANNELS_FIRST ? "NCHW" : "NHWC");
}

INSTANTIATE_TEST_SUITE_P(All, CudnnConvTranspose,
                         ::testing::Combine(::testing::ValuesIn(cudnn_cases()),
                                            ::testing::Values(UPS_DTYPE_F32, UPS_DTYPE_F16),
                                            ::testing::Values(UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST),
                                            ::testing::Values(UPS_ALGO_GATHER, UPS_ALGO_SCATTER_ATOMIC)),
                         cudnn_name);

// =============================================================================================
// Gradients: cudnnConvolutionForward (data) and cudnnConvolutionBackwardFilter (weight)
// =============================================================================================
struct CudnnGradCase {
  const char* name;
  int dims;
  int64_t n, cin, cout, groups;
  std::vector<int64_t> in, k, stride, pad, output_padding, dilation;
};

std::vector<CudnnGradCase> cudnn_grad_cases() {
  return {
      {"DCGAN_k4s2p1", 2, 2, 16, 8, 1, {4, 4}, {4, 4}, {2, 2}, {1, 1}, {0, 0}, {1, 1}},
      {"VAE_k3s2p1op1", 2, 1, 8, 8, 1, {6, 5}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}},
      {"Grouped_k3s2", 2, 2, 8, 12, 4, {5, 5}, {3, 3}, {2, 2}, {0, 0}, {0, 0}, {1, 1}},
      {"Depthwise_k4s2p1", 2, 1, 8, 8, 8, {5, 6}, {4, 4}, {2, 2}, {1, 1}, {0, 0}, {1, 1}},
      {"Dilated_k3s2d2", 2, 2, 4, 6, 1, {5, 5}, {3, 3}, {2, 2}, {2, 2}, {1, 1}, {2, 2}},
      {"Stride3_k2", 2, 1, 4, 4, 1, {4, 3}, {2, 2}, {3, 3}, {0, 0}, {2, 2}, {1, 1}},
      {"Wide64_k3s2p1", 2, 2, 64, 64, 1, {6, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}},
      {"HiFiGAN1d_k16s8p4", 1, 2, 16, 8, 1, {24}, {16}, {8}, {4}, {0}, {1}},
      {"UNet3d_k2s2", 3, 1, 4, 4, 1, {3, 3, 3}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1}},
  };
}

// N, C, spatial... as cuDNN wants them; 1-D as H = 1.
std::vector<int> cudnn_dims(const upsTensorDesc_t& d) {
  std::vector<int> dims = {static_cast<int>(d.n), static_cast<int>(d.c)};
  for (int a = 0; a < d.spatial_dims; ++a) dims.push_back(static_cast<int>(d.spatial[a]));
  if (d.spatial_dims == 1) dims.insert(dims.begin() + 2, 1);
  return dims;
}

enum class Gradient { kData, kWeight };

class CudnnConvTransposeBackward
    : public ::testing::TestWithParam<std::tuple<CudnnGradCase, upsDataType_t, upsLayout_t, Gradient, upsAlgorithm_t>> {
};

TEST_P(CudnnConvTransposeBackward, MatchesCudnn) {
  if (!upsCudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device on this machine: cuDNN comparisons need a GPU";
  UPS_SEED_TRACE();
  const auto [c, dtype, layout, gradient, algorithm] = GetParam();
  const bool channels_last = layout == UPS_LAYOUT_CHANNELS_LAST;
  if (channels_last && c.dims == 3)
    GTEST_SKIP() << "cuDNN's NDHWC support varies by version; covered by the reference suite";
  auto rng = make_rng();

  upsConvTransposeDesc_t conv;
  UPS_ASSERT_OK(upsConvTransposeDescInit(&conv, c.dims));
  for (int a = 0; a < c.dims; ++a) {
    const size_t i = static_cast<size_t>(a);
    conv.stride[a] = c.stride[i];
    conv.pad_begin[a] = conv.pad_end[a] = c.pad[i];
    conv.output_padding[a] = c.output_padding[i];
    conv.dilation[a] = c.dilation[i];
  }
  conv.groups = c.groups;
  conv.algorithm = algorithm;
  const upsTensorDesc_t x_desc = make_desc(dtype, layout, c.n, c.cin, c.in);
  const upsTensorDesc_t w_desc = make_desc(dtype, layout, c.cin, c.cout / c.groups, c.k);
  upsTensorDesc_t y_desc;
  UPS_ASSERT_OK(upsConvTransposeOutputDesc(&conv, &x_desc, &w_desc, &y_desc));

  HostTensor x(x_desc), w(w_desc), dy(y_desc);
  x.fill_random(rng);
  w.fill_random(rng);
  dy.fill_random(rng);
  const upsTensorDesc_t& out_desc = gradient == Gradient::kData ? x_desc : w_desc;
  HostTensor ours(out_desc), theirs(out_desc);
  ours.poison();
  theirs.poison();
  Buffer bx(UPS_BACKEND_CUDA, x), bw(UPS_BACKEND_CUDA, w), bdy(UPS_BACKEND_CUDA, dy), b_ours(UPS_BACKEND_CUDA, ours),
      b_theirs(UPS_BACKEND_CUDA, theirs);

  HandleGuard handle(UPS_BACKEND_CUDA);
  if (algorithm == UPS_ALGO_IMPLICIT_GEMM) {
    // The engine takes kernels of up to 16 taps per axis (64 in all) for the data gradient, and
    // f16/bf16 for the weight gradient: a case outside that is the reference suite's.
    size_t bytes = 0;
    const upsStatus_t status =
        gradient == Gradient::kData
            ? upsConvTransposeBackwardDataWorkspaceSize(handle.get(), &conv, &y_desc, &w_desc, &x_desc, &bytes)
            : upsConvTransposeBackwardWeightWorkspaceSize(handle.get(), &conv, &x_desc, &y_desc, &w_desc, &bytes);
    if (status == UPS_STATUS_NOT_SUPPORTED) GTEST_SKIP() << "outside the implicit GEMM: " << upsGetLastErrorString();
  }
  if (gradient == Gradient::kData)
    UPS_ASSERT_OK(upsConvTransposeBackwardData(handle.get(), &conv, &y_desc, bdy.get(), &w_desc, bw.get(), &x_desc,
                                               b_ours.get()));
  else
    UPS_ASSERT_OK(upsConvTransposeBackwardWeight(handle.get(), &conv, &x_desc, bx.get(), &y_desc, bdy.get(), &w_desc,
                                                 b_ours.get()));
  b_ours.download(&ours);

  // cuDNN's forward convolution maps our dy (its x) to our x (its y) with our w as its filter.
  cudnnHandle_t cudnn;
  CUDNN_ASSERT(cudnnCreate(&cudnn));
  const cudnnDataType_t data_type = dtype == UPS_DTYPE_F16 ? CUDNN_DATA_HALF : CUDNN_DATA_FLOAT;
  cudnnTensorDescriptor_t conv_in, conv_out;  // cuDNN's x (our dy) and y (our x)
  cudnnFilterDescriptor_t filter;
  cudnnConvolutionDescriptor_t conv_cudnn;
  CUDNN_ASSERT(cudnnCreateTensorDescriptor(&conv_in));
  CUDNN_ASSERT(cudnnCreateTensorDescriptor(&conv_out));
  CUDNN_ASSERT(cudnnCreateFilterDescriptor(&filter));
  CUDNN_ASSERT(cudnnCreateConvolutionDescriptor(&conv_cudnn));
  const std::vector<int> y_dims = cudnn_dims(y_desc), x_dims = cudnn_dims(x_desc), w_dims = cudnn_dims(w_desc);
  const std::vector<int> y_strides = dense_strides(y_dims, channels_last),
                         x_strides = dense_strides(x_dims, channels_last);
  CUDNN_ASSERT(
      cudnnSetTensorNdDescriptor(conv_in, data_type, static_cast<int>(y_dims.size()), y_dims.data(), y_strides.data()));
  CUDNN_ASSERT(cudnnSetTensorNdDescriptor(conv_out, data_type, static_cast<int>(x_dims.size()), x_dims.data(),
                                          x_strides.data()));
  CUDNN_ASSERT(cudnnSetFilterNdDescriptor(filter, data_type, channels_last ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                          static_cast<int>(w_dims.size()), w_dims.data()));
  std::vector<int> pad, stride, dilation;
  if (c.dims == 1) pad.push_back(0), stride.push_back(1), dilation.push_back(1);
  for (int a = 0; a < c.dims; ++a) {
    pad.push_back(static_cast<int>(c.pad[static_cast<size_t>(a)]));
    stride.push_back(static_cast<int>(c.stride[static_cast<size_t>(a)]));
    dilation.push_back(static_cast<int>(c.dilation[static_cast<size_t>(a)]));
  }
  CUDNN_ASSERT(cudnnSetConvolutionNdDescriptor(conv_cudnn, static_cast<int>(pad.size()), pad.data(), stride.data(),
                                               dilation.data(), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
  CUDNN_ASSERT(cudnnSetConvolutionGroupCount(conv_cudnn, static_cast<int>(c.groups)));
  // fp32: no TF32, so cuDNN's answer is a true fp32 one; fp16 may use tensor cores.
  CUDNN_ASSERT(cudnnSetConvolutionMathType(conv_cudnn, dtype == UPS_DTYPE_F16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH));
  // The geometry cuDNN derives must be ours (output_padding < stride in every case).
  std::vector<int> derived(x_dims.size());
  CUDNN_ASSERT(cudnnGetConvolutionNdForwardOutputDim(conv_cudnn, conv_in, filter, static_cast<int>(derived.size()),
                                                     derived.data()));
  ASSERT_EQ(derived, x_dims) << "cuDNN's forward convolution of dy does not have x's shape";

  const float one = 1.0f, zero = 0.0f;
  int returned = 0;
  size_t workspace_bytes = 0;
  if (gradient == Gradient::kData) {
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    CUDNN_ASSERT(
        cudnnGetConvolutionForwardAlgorithm_v7(cudnn, conv_in, filter, conv_cudnn, conv_out, 8, &returned, perf));
    ASSERT_GT(returned, 0);
    CUDNN_ASSERT(cudnnGetConvolutionForwardWorkspaceSize(cudnn, conv_in, filter, conv_cudnn, conv_out, perf[0].algo,
                                                         &workspace_bytes));
    Buffer workspace(UPS_BACKEND_CUDA, workspace_bytes);
    CUDNN_ASSERT(cudnnConvolutionForward(cudnn, &one, conv_in, bdy.get(), filter, bw.get(), conv_cudnn, perf[0].algo,
                                         workspace.get(), workspace_bytes, &zero, conv_out, b_theirs.get()));
    cudaDeviceSynchronize();
  } else {
    // Filter gradient of that convolution: its x is our dy, its dy is our x.
    cudnnConvolutionBwdFilterAlgoPerf_t perf[8];
    CUDNN_ASSERT(cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnn, conv_in, conv_out, conv_cudnn, filter, 8,
                                                               &returned, perf));
    ASSERT_GT(returned, 0);
    CUDNN_ASSERT(cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn, conv_in, conv_out, conv_cudnn, filter,
                                                                perf[0].algo, &workspace_bytes));
    Buffer workspace(UPS_BACKEND_CUDA, workspace_bytes);
    CUDNN_ASSERT(cudnnConvolutionBackwardFilter(cudnn, &one, conv_in, bdy.get(), conv_out, bx.get(), conv_cudnn,
                                                perf[0].algo, workspace.get(), workspace_bytes, &zero, filter,
                                                b_theirs.get()));
    cudaDeviceSynchronize();
  }
  b_theirs.download(&theirs);
  cudnnDestroyConvolutionDescriptor(conv_cudnn);
  cudnnDestroyFilterDescriptor(filter);
  cudnnDestroyTensorDescriptor(conv_out);
  cudnnDestroyTensorDescriptor(conv_in);
  cudnnDestroy(cudnn);

  EXPECT_TRUE(tensors_close(ours, theirs, tolerance(dtype)));
}

std::string cudnn_grad_name(const ::testing::TestParamInfo<CudnnConvTransposeBackward::ParamType>& info) {
  const auto& [c, dtype, layout, gradient, algorithm] = info.param;
  return std::string(c.name) + "_" + (gradient == Gradient::kData ? "Data" : "Weight") + "_" +
         (algorithm == UPS_ALGO_SCATTER_ATOMIC  ? "Scatter"
          : algorithm == UPS_ALGO_IMPLICIT_GEMM ? "ImplicitGemm"
                                                : "Gather") +
         "_" + dtype_label(dtype) + "_" + (layout == UPS_LAYOUT_CHANNELS_FIRST ? "NCHW" : "NHWC");
}

// The data gradient: GATHER and IMPLICIT_GEMM (every dtype); the weight gradient: GATHER,
// SCATTER_ATOMIC and, for f16, IMPLICIT_GEMM (the engine's weight gradient is f16/bf16 only).
std::vector<std::tuple<CudnnGradCase, upsDataType_t, upsLayout_t, Gradient, upsAlgorithm_t>> cudnn_grad_params() {
  std::vector<std::tuple<CudnnGradCase, upsDataType_t, upsLayout_t, Gradient, upsAlgorithm_t>> params;
  for (const CudnnGradCase& c : cudnn_grad_cases())
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F16})
      for (upsLayout_t layout : {UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST}) {
        params.emplace_back(c, dtype, layout, Gradient::kData, UPS_ALGO_GATHER);
        params.emplace_back(c, dtype, layout, Gradient::kData, UPS_ALGO_IMPLICIT_GEMM);
        params.emplace_back(c, dtype, layout, Gradient::kWeight, UPS_ALGO_GATHER);
        params.emplace_back(c, dtype, layout, Gradient::kWeight, UPS_ALGO_SCATTER_ATOMIC);
        if (dtype == UPS_DTYPE_F16) params.emplace_back(c, dtype, layout, Gradient::kWeight, UPS_ALGO_IMPLICIT_GEMM);
      }
  return params;
}

INSTANTIATE_TEST_SUITE_P(All, CudnnConvTransposeBackward, ::testing::ValuesIn(cudnn_grad_params()), cudnn_grad_name);

}  // namespace
}  // namespace upsample::test

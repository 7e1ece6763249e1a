// Transposed convolution against cuDNN (label `cudnn`, real GPU only).
//
// A transposed convolution is the data gradient of the forward convolution with the same
// geometry: cuDNN's cudnnConvolutionBackwardData, given the forward filter (K = our C_in,
// C = our C_out/groups, k...) and "dy" = our x, produces "dx" = our y. cuDNN's convolution
// descriptor has symmetric padding only, and no bias, so the cases here use symmetric padding
// and no bias (the reference suite covers the rest). output_padding is expressed by dx's shape.
#include <cudnn.h>

#include <string>
#include <vector>

#include "cudnn_util.h"
#include "test_util.h"

namespace upsample::test {
namespace {

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
  if (channels_last && c.dims == 3) GTEST_SKIP() << "cuDNN's NDHWC dgrad support varies by version; covered by the reference suite";
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
  const std::vector<int> x_strides = dense_strides(x_dims, channels_last), y_strides = dense_strides(y_dims, channels_last);
  CUDNN_ASSERT(cudnnSetTensorNdDescriptor(dy_cudnn, data_type, static_cast<int>(x_dims.size()), x_dims.data(), x_strides.data()));
  CUDNN_ASSERT(cudnnSetTensorNdDescriptor(dx_cudnn, data_type, static_cast<int>(y_dims.size()), y_dims.data(), y_strides.data()));
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
  CUDNN_ASSERT(cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnn, filter, dy_cudnn, conv_cudnn, dx_cudnn, 8, &returned, perf));
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

}  // namespace
}  // namespace upsample::test

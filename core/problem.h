// The validated problem descriptions that the API layer hands to a backend.
//
// NOTE [ Canonical 3-D geometry ]
// Every op is described internally in three spatial dimensions (D, H, W). A 1-D problem is a
// 3-D one with D = H = 1, a 2-D problem one with D = 1; the unused axes get extent 1, stride 1,
// dilation 1, kernel 1 and no padding, so they contribute nothing and cost one loop trip. One
// kernel family then serves 1-, 2- and 3-D. Each tensor carries element strides for its
// layout, so logical (n, c, d, h, w) coordinates map to memory the same way everywhere:
//   channels-first (NCDHW): strides (C*D*H*W, D*H*W, H*W, W, 1)
//   channels-last  (NDHWC): strides (D*H*W*C, 1, H*W*C, W*C, C)
// A transposed-convolution weight is a tensor with n = C_in, c = C_out/groups and spatial extents
// (kd, kh, kw), laid out by the same rule. Backends never see the public descriptors.
//
// This header is the bottom of the stack: it depends on nothing but the public header, and host
// (src/) and device (cuda/) code both build on it.
#pragma once

#include <cstdint>

#include "upsample/upsample.h"

namespace upsample::detail {

inline constexpr int kDims = 3;  // canonical spatial dimensions: D, H, W

struct TensorGeometry {
  upsDataType_t dtype = UPS_DTYPE_F32;
  upsLayout_t layout = UPS_LAYOUT_CHANNELS_FIRST;
  int64_t n = 0;
  int64_t c = 0;
  int64_t extent[kDims] = {1, 1, 1};  // D, H, W
  int64_t stride_n = 0;               // element strides, see NOTE [ Canonical 3-D geometry ]
  int64_t stride_c = 0;
  int64_t stride[kDims] = {0, 0, 0};

  int64_t plane() const { return extent[0] * extent[1] * extent[2]; }
  int64_t elements() const { return n * c * plane(); }
  int64_t offset(int64_t in, int64_t ic, int64_t id, int64_t ih, int64_t iw) const {
    return in * stride_n + ic * stride_c + id * stride[0] + ih * stride[1] + iw * stride[2];
  }
};

struct UnpoolProblem {
  upsUnpoolMode_t mode = UPS_UNPOOL_NEAREST;
  TensorGeometry input;
  TensorGeometry output;
  int64_t scale[kDims] = {1, 1, 1};
};

struct MaxPoolProblem {
  TensorGeometry input;
  TensorGeometry output;   // pooled values
  TensorGeometry indices;  // I64, same shape and layout as output
  int64_t kernel[kDims] = {1, 1, 1};
  int64_t stride[kDims] = {1, 1, 1};
  int64_t padding[kDims] = {0, 0, 0};
  int64_t dilation[kDims] = {1, 1, 1};
};

struct MaxUnpoolProblem {
  TensorGeometry input;    // pooled values
  TensorGeometry indices;  // I64, same shape and layout as input
  TensorGeometry output;
};

struct ConvTransposeProblem {
  TensorGeometry input;
  TensorGeometry weight;  // n = C_in, c = C_out / groups, extent = kernel
  TensorGeometry output;
  int64_t stride[kDims] = {1, 1, 1};
  int64_t pad_begin[kDims] = {0, 0, 0};
  int64_t dilation[kDims] = {1, 1, 1};
  int64_t groups = 1;
  bool has_bias = false;
  upsAlgorithm_t algorithm = UPS_ALGO_GATHER;  // resolved by dispatch: never AUTO
  TensorGeometry bias;     // C_out values of the output's dtype (set by validation)
  TensorGeometry no_bias;  // zero elements: what the pointer checks see when there is no bias

  int64_t in_channels_per_group() const { return input.c / groups; }
  int64_t out_channels_per_group() const { return weight.c; }
};

// A transposed convolution's bias gradient needs dy alone: db holds dy.c values of dy's dtype.
struct ConvTransposeBiasProblem {
  TensorGeometry dy;
  TensorGeometry db;  // dy.c values of dy's dtype
  upsAlgorithm_t algorithm = UPS_ALGO_GATHER;  // resolved by dispatch: never AUTO
};

}  // namespace upsample::detail

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
  TensorGeometry indices;  // I64 or I32, same shape and layout as output
  int64_t kernel[kDims] = {1, 1, 1};
  int64_t stride[kDims] = {1, 1, 1};
  int64_t padding[kDims] = {0, 0, 0};
  int64_t dilation[kDims] = {1, 1, 1};
};

struct MaxUnpoolProblem {
  TensorGeometry input;    // pooled values
  TensorGeometry indices;  // I64 or I32, same shape and layout as input
  TensorGeometry output;
  // The pooling windows, canonical (D, H, W; absent axes kernel = stride = 1, padding 0): where
  // kernel == stride on every axis they do not overlap (the single-pass kernel's case).
  int64_t kernel[kDims] = {1, 1, 1};
  int64_t stride[kDims] = {1, 1, 1};
  int64_t padding[kDims] = {0, 0, 0};
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
  bool auto_algorithm = false;                 // the algorithm was AUTO's choice, not the caller's
  bool deterministic = false;                  // the caller asked for run-to-run deterministic algorithms only
  bool allow_tf32 = false;                     // UPS_MATH_ALLOW_TF32: f32 may run on TF32 tensor cores
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

// ---- BEGIN issue 13: interpolation and pixel shuffle ---------------------------------------------
// An interpolation problem: each canonical axis maps output index o to input taps by one 1-D rule
// (see upsample.h's interpolation section). Axes beyond the op's rank (in = out = 1) are identity.
// The coordinate scales are held in both types PyTorch computes them in, each computed on the host
// by PyTorch's own expression in that type, so that every backend selects the same input indices.
struct InterpolateProblem {
  upsInterpolateMode_t mode = UPS_INTERPOLATE_NEAREST;
  TensorGeometry input;   // x (dx for the backward)
  TensorGeometry output;  // y (dy for the backward)
  bool align_corners = false;
  bool antialias = false;
  bool active[kDims] = {false, false, false};  // the op's real axes (the last spatial_dims)
  float scale_f32[kDims] = {1, 1, 1};          // coordinate scale s as float: nearest modes, f32/f16/bf16
  double scale_f64[kDims] = {1, 1, 1};         // the same in double: f64's linear, bicubic, antialias
};

// A pixel shuffle (or unshuffle): `input` is the tensor with C*r^k channels ("packed") on the
// shuffle's input side, or on the unshuffle's output side; the kernels move elements between the
// packed and the spatial tensor in either direction.
struct PixelShuffleProblem {
  TensorGeometry packed;   // (N, C*r^k, D, H, W)
  TensorGeometry spatial;  // (N, C, D*r, H*r, W*r) on the active axes
  int64_t factor = 1;
  int spatial_dims = 2;    // k: 2 or 3 (canonical D is 1 for 2-D)
  bool to_spatial = true;  // true: packed -> spatial (shuffle, or unshuffle's backward)
};
// ---- END issue 13 --------------------------------------------------------------------------------

}  // namespace upsample::detail

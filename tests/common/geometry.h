// Shared test fixtures: the problem geometries of every op family, built by hand or drawn at
// random, and their descriptors.
//
// Descriptors are built here and only here, field by field on a value-initialised struct (or by
// the library's Init function where one exists), never by positional aggregate initialisation:
// the public descriptors may gain leading members (a struct size, a version) without the tests
// changing.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "tests/common/tensor.h"
#include "upsample/upsample.h"

namespace upsample::test {

// ---------------------------------------------------------------------------------------------
// Unpooling
// ---------------------------------------------------------------------------------------------
inline upsUnpoolDesc_t unpool_desc(upsUnpoolMode_t mode, const std::vector<int64_t>& scale) {
  upsUnpoolDesc_t d{};
  d.mode = mode;
  d.spatial_dims = static_cast<int>(scale.size());
  for (size_t i = 0; i < scale.size() && i < 3; ++i) d.scale[i] = scale[i];
  return d;
}

inline upsUnpoolDesc_t random_unpool(std::mt19937_64& rng, upsUnpoolMode_t mode, int dims) {
  std::vector<int64_t> scale;
  for (int a = 0; a < dims; ++a) scale.push_back(uniform_int(rng, 1, 3));
  return unpool_desc(mode, scale);
}

// ---------------------------------------------------------------------------------------------
// Max-pooling and max-unpooling
// ---------------------------------------------------------------------------------------------
// Stride defaults to the kernel (PyTorch's), padding to 0, dilation to 1.
inline upsPoolDesc_t pool_desc(const std::vector<int64_t>& kernel, const std::vector<int64_t>& stride = {},
                               const std::vector<int64_t>& padding = {}, const std::vector<int64_t>& dilation = {},
                               bool ceil_mode = false) {
  upsPoolDesc_t d{};
  d.spatial_dims = static_cast<int>(kernel.size());
  for (size_t i = 0; i < kernel.size() && i < 3; ++i) {
    d.kernel[i] = kernel[i];
    d.stride[i] = i < stride.size() ? stride[i] : kernel[i];
    d.padding[i] = i < padding.size() ? padding[i] : 0;
    d.dilation[i] = i < dilation.size() ? dilation[i] : 1;
  }
  d.ceil_mode = ceil_mode ? 1 : 0;
  return d;
}

// Kernel vs stride (overlapping and gapped windows), padding, dilation, ceil mode; or, with
// `kernel_equals_stride`, the non-overlapping windows max-unpooling inverts.
inline upsPoolDesc_t random_pool(std::mt19937_64& rng, int dims, bool kernel_equals_stride) {
  std::vector<int64_t> kernel, stride, padding, dilation;
  for (int a = 0; a < dims; ++a) {
    kernel.push_back(uniform_int(rng, 1, 3));
    stride.push_back(kernel_equals_stride ? kernel.back() : uniform_int(rng, 1, 3));
    padding.push_back(kernel_equals_stride ? 0 : uniform_int(rng, 0, kernel.back() / 2));
    dilation.push_back(kernel_equals_stride ? 1 : uniform_int(rng, 1, 2));
  }
  const bool ceil_mode = kernel_equals_stride ? false : uniform_int(rng, 0, 1) == 1;
  return pool_desc(kernel, stride, padding, dilation, ceil_mode);
}

inline std::string pool_text(const upsPoolDesc_t& p) {
  std::string t = "pool";
  for (int a = 0; a < p.spatial_dims; ++a)
    t += " | k" + std::to_string(p.kernel[a]) + " s" + std::to_string(p.stride[a]) + " p" +
         std::to_string(p.padding[a]) + " d" + std::to_string(p.dilation[a]);
  return t + (p.ceil_mode ? " ceil" : " floor");
}

// `dims` random extents in [lo, hi] (at most 4 on 3-D problems, which grow fast).
inline std::vector<int64_t> random_extents(std::mt19937_64& rng, int dims, int64_t lo, int64_t hi) {
  std::vector<int64_t> extents;
  for (int a = 0; a < dims; ++a) extents.push_back(uniform_int(rng, lo, dims == 3 ? std::min<int64_t>(hi, 4) : hi));
  return extents;
}

// Distinct in-range switches for each (n, c) plane of an indices tensor: a random sample of the
// output plane's positions, so max-unpooling loses nothing and its backward is its exact adjoint.
// False (and nothing filled) when the plane has fewer positions than there are inputs.
inline bool fill_distinct_indices(std::mt19937_64& rng, HostTensor* indices, int64_t plane) {
  const upsTensorDesc_t& d = indices->desc;
  const std::vector<int64_t> spatial(d.spatial, d.spatial + d.spatial_dims);
  int64_t per_plane = 1;
  for (int64_t e : spatial) per_plane *= e;
  if (per_plane > plane) return false;
  std::vector<int64_t> positions(static_cast<size_t>(plane));
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t c = 0; c < d.c; ++c) {
      std::iota(positions.begin(), positions.end(), 0);
      std::shuffle(positions.begin(), positions.end(), rng);
      size_t k = 0;
      for_each_element(make_desc(d.dtype, d.layout, 1, 1, spatial), [&](int64_t, int64_t, const int64_t* s) {
        indices->as_i64()[offset_of(d, n, c, s)] = positions[k++];
      });
    }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Transposed convolution
// ---------------------------------------------------------------------------------------------
// Descriptor with PyTorch's defaults for the axes or fields not given.
inline upsConvTransposeDesc_t conv_desc(int dims, std::vector<int64_t> stride = {}, std::vector<int64_t> pad_begin = {},
                                        std::vector<int64_t> pad_end = {}, std::vector<int64_t> output_padding = {},
                                        std::vector<int64_t> dilation = {}, int64_t groups = 1) {
  upsConvTransposeDesc_t d;
  EXPECT_EQ(upsConvTransposeDescInit(&d, dims), UPS_STATUS_SUCCESS);
  for (int a = 0; a < dims; ++a) {
    const size_t i = static_cast<size_t>(a);
    if (i < stride.size()) d.stride[a] = stride[i];
    if (i < pad_begin.size()) d.pad_begin[a] = pad_begin[i];
    if (i < pad_end.size()) d.pad_end[a] = pad_end[i];
    if (i < output_padding.size()) d.output_padding[a] = output_padding[i];
    if (i < dilation.size()) d.dilation[a] = dilation[i];
  }
  d.groups = groups;
  return d;
}

// One transposed-convolution problem: batch, channels, groups and, per spatial axis, input extent,
// kernel, stride, both paddings, output_padding and dilation; `bias` says whether the forward
// suites run it with a bias.
struct ConvGeometry {
  int dims = 2;
  int64_t n = 1, cin = 1, cout = 1, groups = 1;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
  int64_t op[3] = {0, 0, 0}, dil[3] = {1, 1, 1};
  bool bias = false;

  // The output extent, computed here from the formula in upsample.h (not by the library).
  int64_t out(int a) const { return (in[a] - 1) * s[a] - pb[a] - pe[a] + dil[a] * (k[a] - 1) + op[a] + 1; }

  std::string text() const {
    std::string t = std::to_string(dims) + "-D n" + std::to_string(n) + " cin" + std::to_string(cin) + " cout" +
                    std::to_string(cout) + " groups" + std::to_string(groups) + (bias ? " bias" : "");
    for (int a = 0; a < dims; ++a)
      t += " | in" + std::to_string(in[a]) + " k" + std::to_string(k[a]) + " s" + std::to_string(s[a]) + " pad" +
           std::to_string(pb[a]) + "/" + std::to_string(pe[a]) + " op" + std::to_string(op[a]) + " dil" +
           std::to_string(dil[a]) + " -> " + std::to_string(out(a));
    return t;
  }

  upsConvTransposeDesc_t desc(upsAlgorithm_t algorithm = UPS_ALGO_AUTO, bool deterministic = false) const {
    upsConvTransposeDesc_t d =
        conv_desc(dims, {s, s + dims}, {pb, pb + dims}, {pe, pe + dims}, {op, op + dims}, {dil, dil + dims}, groups);
    d.algorithm = algorithm;
    d.deterministic = deterministic ? 1 : 0;
    return d;
  }
  upsTensorDesc_t x_desc(upsDataType_t dtype, upsLayout_t layout) const {
    return make_desc(dtype, layout, n, cin, std::vector<int64_t>(in, in + dims));
  }
  upsTensorDesc_t w_desc(upsDataType_t dtype, upsLayout_t layout) const {
    return make_desc(dtype, layout, cin, cout / groups, std::vector<int64_t>(k, k + dims));
  }
  upsTensorDesc_t y_desc(upsDataType_t dtype, upsLayout_t layout) const {
    std::vector<int64_t> o;
    for (int a = 0; a < dims; ++a) o.push_back(out(a));
    return make_desc(dtype, layout, n, cout, o);
  }
  upsTensorDesc_t bias_desc(upsDataType_t dtype) const {
    return make_desc(dtype, UPS_LAYOUT_CHANNELS_FIRST, 1, cout, {1});
  }
};

// The bias (and its gradient): C values, described as a (1, C, 1) tensor.
inline upsTensorDesc_t bias_desc(upsDataType_t dtype, int64_t channels) {
  return make_desc(dtype, UPS_LAYOUT_CHANNELS_FIRST, 1, channels, {1});
}

// A hand-written geometry, for edge and model shapes: per-axis lists (missing paddings 0,
// output_padding 0, dilation 1), run with a bias in the forward suites.
inline ConvGeometry conv_geometry(int dims, std::vector<int64_t> in, std::vector<int64_t> k, std::vector<int64_t> s,
                                  int64_t cin = 3, int64_t cout = 5, int64_t groups = 1, std::vector<int64_t> pb = {},
                                  std::vector<int64_t> pe = {}, std::vector<int64_t> op = {},
                                  std::vector<int64_t> dil = {}, int64_t n = 2) {
  ConvGeometry g;
  g.dims = dims;
  g.n = n;
  g.cin = cin;
  g.cout = cout;
  g.groups = groups;
  g.bias = true;
  for (int a = 0; a < dims; ++a) {
    const size_t i = static_cast<size_t>(a);
    g.in[a] = in[i];
    g.k[a] = k[i];
    g.s[a] = s[i];
    g.pb[a] = i < pb.size() ? pb[i] : 0;
    g.pe[a] = i < pe.size() ? pe[i] : 0;
    g.op[a] = i < op.size() ? op[i] : 0;
    g.dil[a] = i < dil.size() ? dil[i] : 1;
  }
  return g;
}

// How random_conv draws: channels per group, how often groups (1 in `grouped_one_in`) and
// dilation (1 in `dilated_one_in`) appear, the largest dilation, and whether a bias is drawn.
// The reference suites keep channels small (their oracles are O(n^2) loops); the kernel suites
// reach wider channel counts so several vector lanes and tiles are exercised.
struct ConvSampling {
  int64_t max_cin_per_group = 3, max_cout_per_group = 3, max_depthwise = 4;
  int64_t grouped_one_in = 3, dilated_one_in = 3, max_dilation = 3;
  bool random_bias = false;
};

// What the CUDA-vs-reference forward suite draws.
inline constexpr ConvSampling kKernelSampling{4, 5, 5, 4, 4, 2, true};

// Random geometry: spatial rank `dims`; stride below, equal to and above the kernel; dilation
// (gcd(stride, dilation) > 1 included); asymmetric padding; output_padding anywhere in its rule
// [0, max(stride, dilation)); groups, depthwise included. Redrawn until every output extent >= 1.
inline ConvGeometry random_conv(std::mt19937_64& rng, int dims, const ConvSampling& sampling = {}) {
  for (;;) {
    ConvGeometry g;
    g.dims = dims;
    g.groups = uniform_int(rng, 0, sampling.grouped_one_in - 1) == 0 ? uniform_int(rng, 2, 3) : 1;
    g.cin = g.groups * uniform_int(rng, 1, sampling.max_cin_per_group);
    g.cout = g.groups * uniform_int(rng, 1, sampling.max_cout_per_group);
    if (uniform_int(rng, 0, 5) == 0) g.cout = g.cin = g.groups = uniform_int(rng, 2, sampling.max_depthwise);
    g.n = uniform_int(rng, 1, 2);
    g.bias = sampling.random_bias && uniform_int(rng, 0, 1) == 1;
    bool ok = true;
    for (int a = 0; a < dims; ++a) {
      g.in[a] = uniform_int(rng, 1, dims == 3 ? 3 : 5);
      g.k[a] = uniform_int(rng, 1, dims == 1 ? 6 : 4);
      g.s[a] = uniform_int(rng, 1, 3);
      g.dil[a] = uniform_int(rng, 0, sampling.dilated_one_in - 1) == 0 ? uniform_int(rng, 2, sampling.max_dilation) : 1;
      g.pb[a] = uniform_int(rng, 0, 2);
      g.pe[a] = uniform_int(rng, 0, 2);
      g.op[a] = uniform_int(rng, 0, std::max(g.s[a], g.dil[a]) - 1);
      ok = ok && g.out(a) >= 1;
    }
    if (ok) return g;
  }
}

// random_conv with at most `max_channels` channels per group on either side.
inline ConvGeometry random_conv(std::mt19937_64& rng, int dims, int64_t max_channels) {
  ConvSampling sampling;
  sampling.max_cin_per_group = sampling.max_cout_per_group = max_channels;
  return random_conv(rng, dims, sampling);
}

}  // namespace upsample::test

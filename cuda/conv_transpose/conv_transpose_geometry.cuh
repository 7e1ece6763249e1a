// What every transposed-convolution kernel (forward and gradients) shares: the device geometry,
// its construction from a problem, and the epilogues.
#pragma once

#include "core/index_width.h"
#include "core/problem.h"
#include "cuda/common/element.cuh"
#include "cuda/common/fast_divmod.cuh"
#include "cuda/common/index_math.cuh"
#include "cuda/common/tensor.cuh"

namespace upsample::cuda {

template <typename IndexT>
struct ConvTransposeGeometry {
  DeviceTensor<IndexT> input;
  DeviceTensor<IndexT> weight;  // n = C_in, c = C_out/groups, extent = kernel
  DeviceTensor<IndexT> output;
  IndexT stride[3];
  IndexT pad_begin[3];
  IndexT dilation[3];
  IndexT cin_per_group;
  IndexT cout_per_group;
  // The divisors kernels divide by per element (NOTE [ Fast division ]).
  FastDivmod<IndexT> stride_div[3];
  FastDivmod<IndexT> cin_per_group_div;
  FastDivmod<IndexT> cout_per_group_div;
};

// Host: the device geometry of a problem (forward: input = x, weight = w, output = y; gradients:
// the gradients in those places). IndexT is the width conv_transpose_use_32bit_indexing chose.
template <typename IndexT>
ConvTransposeGeometry<IndexT> make_conv_transpose_geometry(const detail::ConvTransposeProblem& problem) {
  ConvTransposeGeometry<IndexT> g;
  g.input = make_device_tensor<IndexT>(problem.input);
  g.weight = make_device_tensor<IndexT>(problem.weight);
  g.output = make_device_tensor<IndexT>(problem.output);
  for (int a = 0; a < 3; ++a) {
    g.stride[a] = static_cast<IndexT>(problem.stride[a]);
    g.pad_begin[a] = static_cast<IndexT>(problem.pad_begin[a]);
    g.dilation[a] = static_cast<IndexT>(problem.dilation[a]);
    g.stride_div[a] = FastDivmod<IndexT>(problem.stride[a]);
  }
  g.cin_per_group = static_cast<IndexT>(problem.in_channels_per_group());
  g.cout_per_group = static_cast<IndexT>(problem.out_channels_per_group());
  g.cin_per_group_div = FastDivmod<IndexT>(problem.in_channels_per_group());
  g.cout_per_group_div = FastDivmod<IndexT>(problem.out_channels_per_group());
  return g;
}

// NOTE [ Epilogue ]
// What a kernel does to an output channel's finished sum before it narrows and stores it, as a
// compile-time type: `AccumT apply(AccumT acc, IndexT channel) const`. The launcher picks the
// type once (a null bias pointer is NoBias, so kernels hold no per-element `bias != nullptr`
// test) and passes the object by value. Bias is the first user; fused activations and residual
// adds (DESIGN.md's fused epilogues) are further types with the same member, added where the
// launcher picks.
struct NoBias {
  template <typename AccumT, typename IndexT>
  __device__ __forceinline__ AccumT apply(AccumT acc, IndexT) const {
    return acc;
  }
};

// acc + bias[channel], in the accumulation type (NOTE [ Accumulation types ]).
template <typename ElementT>
struct BiasEpilogue {
  const ElementT* bias;
  template <typename AccumT, typename IndexT>
  __device__ __forceinline__ AccumT apply(AccumT acc, IndexT channel) const {
    return acc + ElementTraits<ElementT>::to_accum(bias[channel]);
  }
};

// Calls function(epilogue) with the epilogue for `bias` (null: NoBias): the one place a launcher
// turns the run-time pointer into the compile-time seam.
template <typename ElementT, typename Function>
decltype(auto) with_bias_epilogue(const ElementT* bias, Function&& function) {
  if (bias != nullptr) return function(BiasEpilogue<ElementT>{bias});
  return function(NoBias{});
}

}  // namespace upsample::cuda

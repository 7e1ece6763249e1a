// The 1-D rule of every interpolation mode, on the device: which input taps (and weights) an
// output index reads along one axis. The forward kernel applies it per output; the backward kernel
// evaluates it for the outputs around each input to find exactly those that touch it.
//
// NOTE [ Interpolation coordinates ]
// The input indices an output reads are PyTorch's, computed in PyTorch's types: the coordinate
// type CoordT is float for f32/f16/bf16 and double for f64, and the nearest modes use float in
// every dtype (PyTorch's compute_scales_value<float>). Every operation that decides an index is
// written with the round-to-nearest intrinsics (__fmul_rn, __fadd_rn, ...): nvcc may not contract
// them into an FMA, so the kernels select the same indices as the CPU reference, which computes
// the same expressions one rounding per operation. Weights are smooth in the coordinate (linear,
// cubic and the antialias filters are continuous and vanish at the window edges), so the rounding
// of weight arithmetic only moves results within the tolerance, never across a tap.
//
// NOTE [ Exact inverse ranges ]
// Each rule maps output o to a contiguous run of input indices [first_index(o), last_index(o)],
// and both ends are non-decreasing in o (each is a monotone function of o followed by monotone
// roundings and clamps). The outputs whose stencils touch input i are therefore one interval
// [begin, end): begin is the first o with last_index(o) >= i, end - 1 the last o with
// first_index(o) <= i. The backward kernel starts from a guess (i * out / in in float) and walks
// with the same stencil function the forward uses, so the interval is exact, however the guess
// rounds: no floating-point inverse formula can drop or add an output at a cell border.
#pragma once

#include "cuda/common/element.cuh"
#include "cuda/common/fast_divmod.cuh"
#include "cuda/common/platform.cuh"

namespace upsample::cuda {

enum InterpKind : int {
  kInterpIdentity = 0,  // an axis beyond the op's rank: extent 1 on both sides
  kInterpNearest,
  kInterpNearestExact,
  kInterpLinear,
  kInterpCubic,
  kInterpArea,
  kInterpAntialiasLinear,
  kInterpAntialiasCubic
};

template <typename CoordT, typename IndexT>
struct InterpAxis {
  int kind;
  bool align_corners;
  IndexT in, out;
  CoordT scale;             // PyTorch's coordinate scale in CoordT
  float scale_f32;          // the same as float (nearest modes)
  CoordT support;           // antialias: half the filter's reach, in input cells
  CoordT invscale;          // antialias: 1 / max(scale, 1)
  float outputs_per_input;  // backward: out / in, for the first guess of NOTE [ Exact inverse ranges ]
  FastDivmod<int64_t> out_div;  // area: division by out (NOTE [ Fast division ])
};

template <typename CoordT, typename IndexT>
struct InterpStencil {
  IndexT first;  // nearest: the index; linear: the lower index; cubic: floor(src); area, antialias: window start
  IndexT count;  // taps
  IndexT step;   // linear: 1, or 0 at the last input
  CoordT t;      // linear: lambda of the upper tap; cubic: src - floor(src); antialias: start - center
  CoordT norm;   // area: 1 / count; antialias: 1 / (sum of the filter), or 1 when that sum is 0
};

// Round-to-nearest arithmetic nvcc cannot contract (NOTE [ Interpolation coordinates ]).
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float sub_rn(float a, float b) { return __fadd_rn(a, -b); }
__device__ __forceinline__ double sub_rn(double a, double b) { return __dadd_rn(a, -b); }
__device__ __forceinline__ float floor_of(float a) { return floorf(a); }
__device__ __forceinline__ double floor_of(double a) { return floor(a); }

template <typename IndexT>
__device__ __forceinline__ IndexT clamp_index(IndexT v, IndexT hi) {
  return v < 0 ? IndexT(0) : (v > hi ? hi : v);
}

// Keys' cubic convolution kernel pieces (A = -0.75 for bicubic, -0.5 for the antialias filter).
template <typename CoordT>
__device__ __forceinline__ CoordT cubic_near(CoordT x, CoordT a) {
  return ((a + 2) * x - (a + 3)) * x * x + 1;
}
template <typename CoordT>
__device__ __forceinline__ CoordT cubic_far(CoordT x, CoordT a) {
  return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

template <typename CoordT>
__device__ __forceinline__ CoordT antialias_filter(int kind, CoordT x) {
  if (x < 0) x = -x;
  if (kind == kInterpAntialiasLinear) return x < 1 ? 1 - x : CoordT(0);
  const CoordT a = CoordT(-0.5);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

template <typename CoordT, typename IndexT>
__device__ __forceinline__ CoordT antialias_arg(const InterpAxis<CoordT, IndexT>& ax, CoordT start_m_center,
                                                IndexT j) {
  return (static_cast<CoordT>(j) + start_m_center + CoordT(0.5)) * ax.invscale;
}

template <typename CoordT, typename IndexT>
__device__ __forceinline__ InterpStencil<CoordT, IndexT> make_stencil(const InterpAxis<CoordT, IndexT>& ax, IndexT o) {
  InterpStencil<CoordT, IndexT> s;
  s.first = 0;
  s.count = 1;
  s.step = 0;
  s.t = 0;
  s.norm = 1;
  switch (ax.kind) {
    case kInterpNearest: {
      const IndexT src = static_cast<IndexT>(floorf(__fmul_rn(static_cast<float>(o), ax.scale_f32)));
      s.first = src < ax.in - 1 ? src : ax.in - 1;
      break;
    }
    case kInterpNearestExact: {
      const IndexT src =
          static_cast<IndexT>(floorf(__fmul_rn(__fadd_rn(static_cast<float>(o), 0.5f), ax.scale_f32)));
      s.first = src < ax.in - 1 ? src : ax.in - 1;
      break;
    }
    case kInterpLinear: {
      CoordT real;
      if (ax.align_corners) {
        real = mul_rn(ax.scale, static_cast<CoordT>(o));
      } else {
        real = sub_rn(mul_rn(ax.scale, add_rn(static_cast<CoordT>(o), CoordT(0.5))), CoordT(0.5));
        if (real < CoordT(0)) real = 0;
      }
      s.first = static_cast<IndexT>(real);
      s.step = s.first < ax.in - 1 ? 1 : 0;
      s.t = sub_rn(real, static_cast<CoordT>(s.first));
      s.count = 2;
      break;
    }
    case kInterpCubic: {
      const CoordT real = ax.align_corners
                              ? mul_rn(ax.scale, static_cast<CoordT>(o))
                              : sub_rn(mul_rn(ax.scale, add_rn(static_cast<CoordT>(o), CoordT(0.5))), CoordT(0.5));
      const CoordT fl = floor_of(real);
      s.first = static_cast<IndexT>(fl);
      s.t = sub_rn(real, fl);
      s.count = 4;
      break;
    }
    case kInterpArea: {
      // Adaptive average pooling's window, exact in integers: floor(o*in/out) and ceil((o+1)*in/out)
      // (a float estimate could be one off), by multiply-high (NOTE [ Fast division ]). In 64 bits:
      // o * in mixes two tensors' extents, which NOTE [ Index width ] does not bound.
      const int64_t o64 = static_cast<int64_t>(o), in64 = static_cast<int64_t>(ax.in);
      s.first = static_cast<IndexT>(ax.out_div.div(o64 * in64));
      const IndexT end = static_cast<IndexT>(ax.out_div.div((o64 + 1) * in64 + static_cast<int64_t>(ax.out) - 1));
      s.count = end - s.first;
      s.norm = CoordT(1) / static_cast<CoordT>(s.count);
      break;
    }
    case kInterpAntialiasLinear:
    case kInterpAntialiasCubic: {
      const CoordT center = mul_rn(ax.scale, add_rn(static_cast<CoordT>(o), CoordT(0.5)));
      IndexT xmin = static_cast<IndexT>(add_rn(sub_rn(center, ax.support), CoordT(0.5)));
      if (xmin < 0) xmin = 0;
      IndexT xend = static_cast<IndexT>(add_rn(add_rn(center, ax.support), CoordT(0.5)));
      if (xend > ax.in) xend = ax.in;
      s.first = xmin;
      s.count = xend - xmin;
      s.t = sub_rn(static_cast<CoordT>(xmin), center);
      CoordT total = 0;
      for (IndexT j = 0; j < s.count; ++j) total += antialias_filter(ax.kind, antialias_arg(ax, s.t, j));
      s.norm = total != CoordT(0) ? CoordT(1) / total : CoordT(1);
      break;
    }
    default: break;  // identity: index 0, weight 1
  }
  return s;
}

template <typename CoordT, typename IndexT>
__device__ __forceinline__ IndexT tap_index(const InterpAxis<CoordT, IndexT>& ax, const InterpStencil<CoordT, IndexT>& s,
                                            IndexT j) {
  switch (ax.kind) {
    case kInterpLinear: return s.first + (j != 0 ? s.step : IndexT(0));
    case kInterpCubic: return clamp_index<IndexT>(s.first - 1 + j, ax.in - 1);
    case kInterpArea:
    case kInterpAntialiasLinear:
    case kInterpAntialiasCubic: return s.first + j;
    default: return s.first;
  }
}

template <typename CoordT, typename IndexT>
__device__ __forceinline__ CoordT tap_weight(const InterpAxis<CoordT, IndexT>& ax,
                                             const InterpStencil<CoordT, IndexT>& s, IndexT j) {
  switch (ax.kind) {
    case kInterpLinear: return j != 0 ? s.t : CoordT(1) - s.t;
    case kInterpCubic: {
      const CoordT a = CoordT(-0.75);
      switch (static_cast<int>(j)) {
        case 0: return cubic_far(s.t + CoordT(1), a);
        case 1: return cubic_near(s.t, a);
        case 2: return cubic_near(CoordT(1) - s.t, a);
        default: return cubic_far(CoordT(1) - s.t + CoordT(1), a);
      }
    }
    case kInterpArea: return s.norm;
    case kInterpAntialiasLinear:
    case kInterpAntialiasCubic: return antialias_filter(ax.kind, antialias_arg(ax, s.t, j)) * s.norm;
    default: return 1;
  }
}

// The lowest and highest input index the stencil reads (NOTE [ Exact inverse ranges ]).
template <typename CoordT, typename IndexT>
__device__ __forceinline__ IndexT first_index(const InterpAxis<CoordT, IndexT>& ax,
                                              const InterpStencil<CoordT, IndexT>& s) {
  return ax.kind == kInterpCubic ? clamp_index<IndexT>(s.first - 1, ax.in - 1) : s.first;
}
template <typename CoordT, typename IndexT>
__device__ __forceinline__ IndexT last_index(const InterpAxis<CoordT, IndexT>& ax,
                                             const InterpStencil<CoordT, IndexT>& s) {
  switch (ax.kind) {
    case kInterpLinear: return s.first + s.step;
    case kInterpCubic: return clamp_index<IndexT>(s.first + 2, ax.in - 1);
    case kInterpArea:
    case kInterpAntialiasLinear:
    case kInterpAntialiasCubic: return s.first + s.count - 1;
    default: return s.first;
  }
}

// The weight with which output stencil s reads input i: the sum of its taps that land on i (a
// clamped cubic or a linear stencil at the last input can land twice), in tap order.
template <typename CoordT, typename IndexT>
__device__ __forceinline__ CoordT weight_to(const InterpAxis<CoordT, IndexT>& ax, const InterpStencil<CoordT, IndexT>& s,
                                            IndexT i) {
  switch (ax.kind) {
    case kInterpLinear:
    case kInterpCubic: {
      CoordT w = 0;
      for (IndexT j = 0; j < s.count; ++j)
        if (tap_index(ax, s, j) == i) w += tap_weight(ax, s, j);
      return w;
    }
    case kInterpArea:
    case kInterpAntialiasLinear:
    case kInterpAntialiasCubic:
      return i >= s.first && i < s.first + s.count ? tap_weight(ax, s, i - s.first) : CoordT(0);
    default: return s.first == i ? CoordT(1) : CoordT(0);
  }
}

// The outputs whose stencils touch input i: [*begin, *end) (NOTE [ Exact inverse ranges ]).
template <typename CoordT, typename IndexT>
__device__ __forceinline__ void touching_outputs(const InterpAxis<CoordT, IndexT>& ax, IndexT i, IndexT* begin,
                                                 IndexT* end) {
  if (ax.kind == kInterpIdentity) {
    *begin = 0;
    *end = 1;
    return;
  }
  float guess_f = (static_cast<float>(i) + 0.5f) * ax.outputs_per_input;
  IndexT guess = guess_f >= static_cast<float>(ax.out) ? ax.out - 1 : static_cast<IndexT>(guess_f);
  if (guess < 0) guess = 0;
  IndexT o = guess;
  while (o > 0 && last_index(ax, make_stencil(ax, o - 1)) >= i) --o;
  while (o < ax.out && last_index(ax, make_stencil(ax, o)) < i) ++o;
  *begin = o;
  IndexT last = guess > o ? guess : o;
  if (last > ax.out - 1) last = ax.out - 1;
  while (last >= o && first_index(ax, make_stencil(ax, last)) > i) --last;
  while (last + 1 < ax.out && first_index(ax, make_stencil(ax, last + 1)) <= i) ++last;
  *end = last + 1 > o ? last + 1 : o;
}

}  // namespace upsample::cuda

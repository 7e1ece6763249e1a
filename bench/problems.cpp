#include "problems.h"

#include <algorithm>

namespace upsample::bench {
namespace {

struct ImplName {
  Impl impl;
  const char* name;
};
constexpr ImplName kImplNames[] = {{Impl::kGather, "gather"},
                                   {Impl::kScatterAtomic, "scatter_atomic"},
                                   {Impl::kImplicitGemm, "implicit_gemm"},
                                   {Impl::kImplicitGemmTf32, "implicit_gemm_tf32"},
                                   {Impl::kCuda, "cuda"},
                                   {Impl::kCudnn, "cudnn"},
                                   {Impl::kCudnnTf32, "cudnn_tf32"},
                                   {Impl::kReference, "reference"}};

bool set_error(std::string* error, const std::string& what) {
  *error = what + ": " + upsGetLastErrorString();
  return false;
}

// Pairs (i, k) on one axis with 0 <= i*stride - pad + k*dilation < out: the taps that land inside
// the output (NOTE [ Useful work ]).
int64_t taps_in_range(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation, int64_t out) {
  int64_t count = 0;
  for (int64_t k = 0; k < kernel; ++k) {
    // i*stride >= pad - k*dilation  and  i*stride < out + pad - k*dilation, with 0 <= i < in.
    const int64_t low = pad - k * dilation, high = out + pad - k * dilation;  // [low, high) for i*stride
    const int64_t first = low <= 0 ? 0 : (low + stride - 1) / stride;
    const int64_t last = high <= 0 ? -1 : std::min(in - 1, (high - 1) / stride);
    if (last >= first) count += last - first + 1;
  }
  return count;
}

}  // namespace

const char* impl_name(Impl impl) {
  for (const ImplName& entry : kImplNames)
    if (entry.impl == impl) return entry.name;
  return "?";
}

bool parse_impl(const std::string& text, Impl* impl) {
  for (const ImplName& entry : kImplNames)
    if (text == entry.name) {
      *impl = entry.impl;
      return true;
    }
  return false;
}

bool is_cudnn(Impl impl) { return impl == Impl::kCudnn || impl == Impl::kCudnnTf32; }

bool uses_tf32(Impl impl) { return impl == Impl::kImplicitGemmTf32 || impl == Impl::kCudnnTf32; }

upsAlgorithm_t algorithm_of(Impl impl) {
  switch (impl) {
    case Impl::kGather:
      return UPS_ALGO_GATHER;
    case Impl::kScatterAtomic:
      return UPS_ALGO_SCATTER_ATOMIC;
    case Impl::kImplicitGemm:
    case Impl::kImplicitGemmTf32:
      return UPS_ALGO_IMPLICIT_GEMM;
    default:
      return UPS_ALGO_AUTO;  // ops with one algorithm, the reference, cuDNN
  }
}

upsMathMode_t math_mode_of(Impl impl) {
  return impl == Impl::kImplicitGemmTf32 ? UPS_MATH_ALLOW_TF32 : UPS_MATH_DEFAULT;
}

std::vector<Impl> gpu_impls_for(Op op, upsDataType_t dtype) {
  if (layer_of(op) != Op::kConvTranspose) return {Impl::kCuda};
  std::vector<Impl> impls = {Impl::kGather};
  // The data gradient has no SCATTER_ATOMIC (upsample.h): it would be NOT_SUPPORTED.
  if (op != Op::kConvTransposeBackwardData) impls.push_back(Impl::kScatterAtomic);
  // The implicit GEMM runs the forward pass and the data gradient in every dtype (its TF32 row for
  // f32, where the math mode changes anything: f16/bf16 always use tensor cores), and the weight
  // gradient in f16/bf16. The bias gradient has no GEMM.
  if (op == Op::kConvTranspose || op == Op::kConvTransposeBackwardData) {
    impls.push_back(Impl::kImplicitGemm);
    if (dtype == UPS_DTYPE_F32) impls.push_back(Impl::kImplicitGemmTf32);
  }
  if (op == Op::kConvTransposeBackwardWeight && (dtype == UPS_DTYPE_F16 || dtype == UPS_DTYPE_BF16))
    impls.push_back(Impl::kImplicitGemm);
  impls.push_back(Impl::kCudnn);
  // TF32 is a way to compute fp32 convolutions; f16/bf16 rows already let cuDNN use tensor cores,
  // and cuDNN's bias gradient is a plain sum with no math type to choose.
  if (dtype == UPS_DTYPE_F32 && op != Op::kConvTransposeBackwardBias) impls.push_back(Impl::kCudnnTf32);
  return impls;
}

Operands operands_of(Op op) {
  switch (op) {
    case Op::kConvTranspose:
      return {{Tensor::kX, Tensor::kW}, Tensor::kY};
    case Op::kConvTransposeBackwardData:
      return {{Tensor::kY, Tensor::kW}, Tensor::kX};
    case Op::kConvTransposeBackwardWeight:
      return {{Tensor::kX, Tensor::kY}, Tensor::kW};
    case Op::kConvTransposeBackwardBias:
      return {{Tensor::kY}, Tensor::kBias};
    case Op::kNearest:
    case Op::kBedOfNails:
    case Op::kInterpolateLinear:
    case Op::kPixelShuffle:
      return {{Tensor::kX}, Tensor::kY};
    case Op::kNearestBackward:
    case Op::kBedOfNailsBackward:
    case Op::kInterpolateLinearBackward:
    case Op::kPixelShuffleBackward:
      return {{Tensor::kY}, Tensor::kX};
    case Op::kMaxUnpool:
    case Op::kMaxPoolBackward:
      return {{Tensor::kX, Tensor::kIndices}, Tensor::kY};
    case Op::kMaxUnpoolBackward:
      return {{Tensor::kY, Tensor::kIndices}, Tensor::kX};
  }
  return {{}, Tensor::kY};
}

const upsTensorDesc_t& desc_of(const OpDescriptors& d, Tensor tensor) {
  switch (tensor) {
    case Tensor::kX:
      return d.x;
    case Tensor::kW:
      return d.w;
    case Tensor::kIndices:
      return d.indices;
    case Tensor::kBias:
      return d.bias;
    case Tensor::kY:
      break;
  }
  return d.y;
}

const char* dtype_name(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F32:
      return "f32";
    case UPS_DTYPE_F16:
      return "f16";
    case UPS_DTYPE_BF16:
      return "bf16";
    case UPS_DTYPE_F64:
      return "f64";
    case UPS_DTYPE_I64:
      return "i64";
    case UPS_DTYPE_I32:
      return "i32";
  }
  return "?";
}

bool parse_dtype(const std::string& text, upsDataType_t* dtype) {
  for (upsDataType_t d : {UPS_DTYPE_F32, UPS_DTYPE_F16, UPS_DTYPE_BF16})
    if (text == dtype_name(d)) {
      *dtype = d;
      return true;
    }
  return false;
}

const char* layout_name(upsLayout_t layout) { return layout == UPS_LAYOUT_CHANNELS_LAST ? "nhwc" : "nchw"; }

bool parse_layout(const std::string& text, upsLayout_t* layout) {
  if (text == "nchw" || text == "channels_first") {
    *layout = UPS_LAYOUT_CHANNELS_FIRST;
    return true;
  }
  if (text == "nhwc" || text == "channels_last") {
    *layout = UPS_LAYOUT_CHANNELS_LAST;
    return true;
  }
  return false;
}

int64_t dtype_bytes(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F16:
    case UPS_DTYPE_BF16:
      return 2;
    case UPS_DTYPE_F32:
    case UPS_DTYPE_I32:
      return 4;
    case UPS_DTYPE_F64:
    case UPS_DTYPE_I64:
      return 8;
  }
  return 0;
}

int64_t element_count(const upsTensorDesc_t& desc) {
  int64_t count = 0;
  return upsTensorDescElementCount(&desc, &count) == UPS_STATUS_SUCCESS ? count : 0;
}

int64_t byte_count(const upsTensorDesc_t& desc) {
  int64_t bytes = 0;
  return upsTensorDescByteSize(&desc, &bytes) == UPS_STATUS_SUCCESS ? bytes : 0;
}

bool build_descriptors(const Problem& problem, upsAlgorithm_t algorithm, OpDescriptors* d, std::string* error,
                       upsMathMode_t math_mode) {
  const Shape& s = problem.shape;
  *d = OpDescriptors{};
  if (upsTensorDescInit(&d->x, problem.dtype, problem.layout, s.dims, s.n, s.c, s.in.data()) != UPS_STATUS_SUCCESS)
    return set_error(error, "input");
  switch (s.op) {
    case Op::kConvTranspose: {
      if (upsTensorDescInit(&d->w, problem.dtype, problem.layout, s.dims, s.c, s.groups > 0 ? s.cout / s.groups : 0,
                            s.kernel.data()) != UPS_STATUS_SUCCESS)
        return set_error(error, "weight");
      if (s.groups <= 0 || s.cout % s.groups != 0) {
        *error = "groups: " + std::to_string(s.groups) + " does not divide cout = " + std::to_string(s.cout);
        return false;
      }
      upsConvTransposeDescInit(&d->conv, s.dims);
      for (size_t a = 0; a < static_cast<size_t>(s.dims); ++a) {
        d->conv.stride[a] = s.stride[a];
        d->conv.pad_begin[a] = d->conv.pad_end[a] = s.pad[a];
        d->conv.output_padding[a] = s.output_padding[a];
        d->conv.dilation[a] = s.dilation[a];
      }
      d->conv.groups = s.groups;
      d->conv.algorithm = algorithm;
      d->conv.math_mode = math_mode;
      if (upsConvTransposeOutputDesc(&d->conv, &d->x, &d->w, &d->y) != UPS_STATUS_SUCCESS)
        return set_error(error, "transposed convolution");
      const int64_t ones[UPS_MAX_SPATIAL_DIMS] = {1, 1, 1};
      if (upsTensorDescInit(&d->bias, problem.dtype, problem.layout, s.dims, 1, s.cout, ones) != UPS_STATUS_SUCCESS)
        return set_error(error, "bias");
      return true;
    }
    case Op::kNearest:
    case Op::kBedOfNails: {
      int64_t scale[UPS_MAX_SPATIAL_DIMS] = {1, 1, 1};
      for (size_t a = 0; a < static_cast<size_t>(s.dims); ++a) scale[a] = s.stride[a];
      if (upsUnpoolDescInit(&d->unpool, s.op == Op::kNearest ? UPS_UNPOOL_NEAREST : UPS_UNPOOL_BED_OF_NAILS, s.dims,
                            scale) != UPS_STATUS_SUCCESS ||
          upsUnpoolOutputDesc(&d->unpool, &d->x, &d->y) != UPS_STATUS_SUCCESS)
        return set_error(error, "unpooling");
      return true;
    }
    case Op::kMaxUnpool: {
      int64_t window[UPS_MAX_SPATIAL_DIMS] = {1, 1, 1};
      const int64_t no_padding[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
      for (size_t a = 0; a < static_cast<size_t>(s.dims); ++a) window[a] = s.stride[a];
      if (upsPoolDescInit(&d->pool, s.dims, window, window, no_padding) != UPS_STATUS_SUCCESS ||
          upsMaxUnpoolOutputDesc(&d->pool, &d->x, nullptr, &d->y) != UPS_STATUS_SUCCESS)
        return set_error(error, "max-unpooling");
      d->indices = d->x;
      d->indices.dtype = s.int32_switches ? UPS_DTYPE_I32 : UPS_DTYPE_I64;
      return true;
    }
    case Op::kInterpolateLinear: {
      if (upsInterpolateDescInit(&d->interpolate, UPS_INTERPOLATE_LINEAR, s.dims) != UPS_STATUS_SUCCESS)
        return set_error(error, "interpolation");
      for (size_t a = 0; a < static_cast<size_t>(s.dims); ++a)
        d->interpolate.scale_factor[a] = static_cast<double>(s.stride[a]);
      if (upsInterpolateOutputDesc(&d->interpolate, &d->x, &d->y) != UPS_STATUS_SUCCESS)
        return set_error(error, "interpolation");
      return true;
    }
    case Op::kPixelShuffle:
      if (upsPixelShuffleDescInit(&d->shuffle, UPS_PIXEL_SHUFFLE, s.dims, s.stride[0]) != UPS_STATUS_SUCCESS ||
          upsPixelShuffleOutputDesc(&d->shuffle, &d->x, &d->y) != UPS_STATUS_SUCCESS)
        return set_error(error, "pixel shuffle");
      return true;
    default:
      break;  // a shape's op is a layer's forward op (shape.h)
  }
  *error = std::string("not a layer op: ") + op_name(s.op);
  return false;
}

AutoChoice auto_choice(const Problem& problem, upsMathMode_t math_mode, int compute_capability) {
  AutoChoice choice;
  choice.compute_capability = compute_capability;
  if (problem.op != Op::kConvTranspose) return choice;
  OpDescriptors d;
  if (!build_descriptors(problem, UPS_ALGO_AUTO, &d, &choice.reason, math_mode)) return choice;
  upsAlgorithm_t algorithm = UPS_ALGO_AUTO;
  const char* reason = nullptr;
  if (upsConvTransposePlanAlgorithm(&d.conv, &d.x, &d.w, &d.y, compute_capability, &algorithm, &reason) !=
      UPS_STATUS_SUCCESS) {
    choice.reason = upsGetLastErrorString();
    return choice;
  }
  switch (algorithm) {
    case UPS_ALGO_IMPLICIT_GEMM:
      choice.algorithm = impl_name(Impl::kImplicitGemm);
      break;
    case UPS_ALGO_SCATTER_ATOMIC:
      choice.algorithm = impl_name(Impl::kScatterAtomic);
      break;
    default:
      choice.algorithm = impl_name(Impl::kGather);
      break;
  }
  choice.reason = reason;
  return choice;
}

Work count_work(const Problem& problem) {
  const Shape& s = problem.shape;
  OpDescriptors d;
  std::string error;
  Work work;
  if (!build_descriptors(problem, UPS_ALGO_GATHER, &d, &error)) return work;
  for (Tensor tensor : operands_of(problem.op).all()) work.bytes += static_cast<double>(byte_count(desc_of(d, tensor)));
  if (moves_data_only(problem.op)) return work;
  if (problem.op == Op::kConvTransposeBackwardBias || problem.op == Op::kNearestBackward) {
    work.flops = static_cast<double>(element_count(d.y));  // one add per dy element
    return work;
  }
  if (layer_of(problem.op) == Op::kInterpolateLinear) {
    // One multiply-add per tap: 2^dims taps per y element, forward and backward alike.
    work.flops = 2.0 * static_cast<double>(int64_t{1} << s.dims) * static_cast<double>(element_count(d.y));
    return work;
  }
  double macs = static_cast<double>(s.n) * static_cast<double>(s.c) * static_cast<double>(s.cout / s.groups);
  for (size_t a = 0; a < static_cast<size_t>(s.dims); ++a)
    macs *=
        static_cast<double>(taps_in_range(s.in[a], s.kernel[a], s.stride[a], s.pad[a], s.dilation[a], d.y.spatial[a]));
  work.flops = 2 * macs;
  return work;
}

bool moves_data_only(Op op) {
  return layer_of(op) != Op::kConvTranspose && op != Op::kNearestBackward && layer_of(op) != Op::kInterpolateLinear;
}

Shape reduce_shape(const Shape& shape, const ReduceLimits& limits) {
  Shape s = shape;
  s.n = std::min(s.n, limits.max_batch);
  const int64_t groups = std::max<int64_t>(1, s.groups);
  // The largest count <= the cap with the full count's residue modulo 8 (see the header).
  auto cap_channels = [&](int64_t full) {
    if (full <= limits.max_channels_per_group) return full;
    const int64_t capped = limits.max_channels_per_group - (limits.max_channels_per_group - full % 8 + 8) % 8;
    return capped >= 1 ? capped : std::min<int64_t>(full, limits.max_channels_per_group);
  };
  const int64_t cin_per_group = cap_channels(s.c / groups);
  const int64_t cout_per_group = cap_channels(s.cout / groups);
  s.groups = std::min(groups, limits.max_groups);
  s.c = cin_per_group * s.groups;
  s.cout = s.op == Op::kConvTranspose ? cout_per_group * s.groups : s.c;
  if (s.op == Op::kPixelShuffle) {  // cout = c / r^dims; the capped c keeps its residue mod 8, r^dims divides 8 here
    int64_t block = 1;
    for (size_t a = 0; a < static_cast<size_t>(s.dims); ++a) block *= s.stride[a];
    s.c -= s.c % block;
    s.cout = s.c / block;
  }

  auto output_elements = [](const Shape& t) {
    const Extents out = t.out();
    int64_t count = t.n * t.cout;
    for (size_t a = 0; a < static_cast<size_t>(t.dims); ++a) count *= out[a];
    return count;
  };
  while (output_elements(s) > limits.max_output_elements) {
    // Halve the largest input axis whose output stays non-empty.
    constexpr size_t kNone = 3;
    size_t best = kNone;
    for (size_t a = 0; a < static_cast<size_t>(s.dims); ++a) {
      Shape trial = s;
      trial.in[a] = (s.in[a] + 1) / 2;
      if (s.in[a] <= 1 || trial.out()[a] < 1) continue;
      if (best == kNone || s.in[a] > s.in[best]) best = a;
    }
    if (best == kNone) break;
    s.in[best] = (s.in[best] + 1) / 2;
  }
  return s;
}

}  // namespace upsample::bench

// What one benchmark row computes: an op on a shape in a dtype and layout (a Problem), run by one
// implementation (an Impl); the library descriptors it needs, the tensors it reads and writes,
// the work it must do, and reduced copies of it for validation and for the no-GPU mode.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shape.h"
#include "upsample/upsample.h"

namespace upsample::bench {

// Who computes a row.
enum class Impl {
  kGather,         // upsample, UPS_ALGO_GATHER (transposed convolution and its gradients)
  kScatterAtomic,  // upsample, UPS_ALGO_SCATTER_ATOMIC (the forward, weight and bias gradients)
  kImplicitGemm,   // upsample, UPS_ALGO_IMPLICIT_GEMM, UPS_MATH_DEFAULT (the forward only): tensor cores for
                   // f16/bf16, the SIMT twin in exact f32
  kImplicitGemmTf32,  // the same with UPS_MATH_ALLOW_TF32 (f32 only): TF32 tensor cores, compared with
                      // cudnn_tf32
  kCuda,           // upsample's CUDA kernel of an op with one algorithm (the unpooling ops, both ways)
  kCudnn,          // cuDNN's call for the op (cudnn_runner.h), best algorithm of its own search;
                   // fp32 without TF32
  kCudnnTf32,      // the same with TF32 tensor cores allowed (fp32 convolutions only)
  kReference       // upsample's CPU reference (the no-GPU mode)
};

// "gather", "scatter_atomic", "implicit_gemm", "implicit_gemm_tf32", "cuda", "cudnn", "cudnn_tf32",
// "reference".
const char* impl_name(Impl impl);
bool parse_impl(const std::string& text, Impl* impl);
bool is_cudnn(Impl impl);
// Whether an implementation rounds f32 inputs to TF32 (implicit_gemm_tf32, cudnn_tf32).
bool uses_tf32(Impl impl);
// The library settings an upsample implementation runs with: the algorithm to force and the
// math mode (AUTO and UPS_MATH_DEFAULT for the ops with one algorithm, the reference and cuDNN).
upsAlgorithm_t algorithm_of(Impl impl);
upsMathMode_t math_mode_of(Impl impl);
// The GPU implementations that apply to an op and dtype, in table order.
std::vector<Impl> gpu_impls_for(Op op, upsDataType_t dtype);

// "f32", "f16", "bf16" / "nchw", "nhwc" (channels-first, channels-last at every rank).
const char* dtype_name(upsDataType_t dtype);
bool parse_dtype(const std::string& text, upsDataType_t* dtype);
const char* layout_name(upsLayout_t layout);
bool parse_layout(const std::string& text, upsLayout_t* layout);
int64_t dtype_bytes(upsDataType_t dtype);

struct Problem {
  Shape shape;
  Op op = Op::kConvTranspose;  // what runs on the shape: shape.op itself or one of its gradients
  upsDataType_t dtype = UPS_DTYPE_F32;
  upsLayout_t layout = UPS_LAYOUT_CHANNELS_FIRST;
};

// The library's descriptors of a problem's layer (shape.op), built through the public API (so a
// shape the library rejects fails here, with its message). Only the members the layer uses are
// filled; a gradient uses the same ones (NOTE [ Gradient tensors ]).
struct OpDescriptors {
  upsTensorDesc_t x{};        // the forward input
  upsTensorDesc_t w{};        // transposed convolution: weight (n = C_in, c = C_out/groups)
  upsTensorDesc_t y{};        // the forward output
  upsTensorDesc_t indices{};  // max-unpooling: the switches, I64 or I32 (shape.int32_switches), shaped like x
  upsTensorDesc_t bias{};     // transposed convolution: C_out values, described as 1 x C_out x 1...
  upsConvTransposeDesc_t conv{};
  upsUnpoolDesc_t unpool{};
  upsPoolDesc_t pool{};  // max-unpooling (and the max-pool that makes its switches)
  upsInterpolateDesc_t interpolate{};  // interpolate_linear: scale factor = stride
  upsPixelShuffleDesc_t shuffle{};     // pixel_shuffle: factor = stride
};
// algorithm, math_mode: for transposed convolution and its gradients, the algorithm to force
// (algorithm_of) and the math mode (math_mode_of).
bool build_descriptors(const Problem& problem, upsAlgorithm_t algorithm, OpDescriptors* descriptors,
                       std::string* error, upsMathMode_t math_mode = UPS_MATH_DEFAULT);

// What AUTO would run for a forward transposed convolution (upsConvTransposePlanAlgorithm): at a
// compute capability (major * 10 + minor), with the row's math mode. Empty algorithm when the
// problem is not a forward transposed convolution or the query fails (reason says why).
struct AutoChoice {
  std::string algorithm;  // "implicit_gemm", "gather", "scatter_atomic"
  std::string reason;
  int compute_capability = 0;
};
AutoChoice auto_choice(const Problem& problem, upsMathMode_t math_mode, int compute_capability);

// NOTE [ Gradient tensors ]
// A gradient has the tensors of its layer in other roles, so each lives in the slot of the
// forward tensor whose shape it has: dy in y, dx in x, dw in w, db in bias. max_pool_backward
// undoes the pool that made max_unpool's switches (window = stride = scale, pooling y-shaped
// tensors to x-shaped ones): its dy (pooled) is in x and its dx in y. Each op reads its inputs
// and writes one output:
//   op                                        reads        writes
//   conv_transpose                            x, w         y
//   conv_transpose_backward_data              y, w         x
//   conv_transpose_backward_weight            x, y         w
//   conv_transpose_backward_bias              y            bias
//   nearest, bed_of_nails                     x            y
//   nearest_backward, bed_of_nails_backward   y            x
//   max_unpool, max_pool_backward             x, indices   y
//   max_unpool_backward                       y, indices   x
enum class Tensor { kX, kW, kY, kIndices, kBias };
inline constexpr int kTensorCount = 5;
struct Operands {
  std::vector<Tensor> inputs;
  Tensor output;
  std::vector<Tensor> all() const {  // inputs, then the output
    std::vector<Tensor> tensors = inputs;
    tensors.push_back(output);
    return tensors;
  }
};
Operands operands_of(Op op);
const upsTensorDesc_t& desc_of(const OpDescriptors& descriptors, Tensor tensor);

int64_t element_count(const upsTensorDesc_t& desc);
int64_t byte_count(const upsTensorDesc_t& desc);

// NOTE [ Useful work ]
// FLOPs count 2 per multiply-add that the result needs: for transposed convolution, every
// (input position, kernel tap) pair whose output position lies inside the output, times
// C_in x C_out/groups per batch item. Taps that fall outside the output (cropped by padding) and
// the zeros a "zero-insertion" formulation would multiply are never counted. Its data and weight
// gradients need exactly the same multiply-adds (each pairs the same input positions with the
// same taps), so they count the same. Reductions count one add per element reduced: the bias
// gradient one per dy element, nearest_backward one per dy element (the sum over each scale
// cell). The other unpooling ops, both ways, and max_pool_backward (its windows never overlap
// here: each dx element receives at most one value) move data only. Bytes are the minimum any
// implementation must move: read each operand (NOTE [ Gradient tensors ]: inputs, weights,
// switch indices) once, write the result once; workspaces (SCATTER_ATOMIC's accumulator, the
// blocked reductions' partial sums, cuDNN's) are not counted. The forward rows use no bias
// (cuDNN's dgrad has none).
struct Work {
  double flops = 0;
  double bytes = 0;
  double intensity() const { return bytes > 0 ? flops / bytes : 0; }
};
Work count_work(const Problem& problem);
// Whether an op does no arithmetic (its results are input values, bit for bit).
bool moves_data_only(Op op);

// A smaller copy of a shape with the same op and geometry (kernel, stride, padding,
// output_padding, dilation): batch, groups and channels are capped, then the largest input axis is
// halved until the output has at most max_output_elements. A capped channel count per group keeps
// its residue modulo 8, so that it is a multiple of 16 bytes (for f16/bf16, and of 4 elements for
// f32) exactly when the full shape's is: the implicit GEMM then takes the same operand path (the
// channels-last input read in place, or packed first) on the copy as on the full shape.
struct ReduceLimits {
  int64_t max_batch;
  int64_t max_channels_per_group;
  int64_t max_groups;
  int64_t max_output_elements;
};
Shape reduce_shape(const Shape& shape, const ReduceLimits& limits);

}  // namespace upsample::bench

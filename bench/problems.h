// What one benchmark row computes: a shape in a dtype and layout (a Problem), run by one
// implementation (an Impl); the library descriptors it needs, the work it must do, and reduced
// copies of it for validation and for the no-GPU mode.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shape.h"
#include "upsample/upsample.h"

namespace upsample::bench {

// Who computes a row.
enum class Impl {
  kGather,         // upsample, UPS_ALGO_GATHER (transposed convolution)
  kScatterAtomic,  // upsample, UPS_ALGO_SCATTER_ATOMIC (transposed convolution)
  kCuda,           // upsample's CUDA kernel of an op with one algorithm (the unpooling ops)
  kCudnn,          // cuDNN backward-data, best algorithm of its own search; fp32 without TF32
  kCudnnTf32,      // the same with TF32 tensor cores allowed (fp32 rows only)
  kReference       // upsample's CPU reference (the no-GPU mode)
};

// "gather", "scatter_atomic", "cuda", "cudnn", "cudnn_tf32", "reference".
const char* impl_name(Impl impl);
bool parse_impl(const std::string& text, Impl* impl);
bool is_cudnn(Impl impl);
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
  upsDataType_t dtype = UPS_DTYPE_F32;
  upsLayout_t layout = UPS_LAYOUT_CHANNELS_FIRST;
};

// The library's descriptors for a problem, built through the public API (so a shape the library
// rejects fails here, with its message). Only the members the op uses are filled.
struct OpDescriptors {
  upsTensorDesc_t x{};        // input
  upsTensorDesc_t w{};        // transposed convolution: weight (n = C_in, c = C_out/groups)
  upsTensorDesc_t y{};        // output
  upsTensorDesc_t indices{};  // max-unpooling: the switches, I64, shaped like x
  upsConvTransposeDesc_t conv{};
  upsUnpoolDesc_t unpool{};
  upsPoolDesc_t pool{};  // max-unpooling (and the max-pool that makes its switches)
};
// algorithm: for transposed convolution, the one to force (GATHER or SCATTER_ATOMIC).
bool build_descriptors(const Problem& problem, upsAlgorithm_t algorithm, OpDescriptors* descriptors,
                       std::string* error);

int64_t element_count(const upsTensorDesc_t& desc);
int64_t byte_count(const upsTensorDesc_t& desc);

// NOTE [ Useful work ]
// FLOPs count 2 per multiply-add that the result needs: for transposed convolution, every
// (input position, kernel tap) pair whose output position lies inside the output, times
// C_in x C_out/groups per batch item. Taps that fall outside the output (cropped by padding) and
// the zeros a "zero-insertion" formulation would multiply are never counted. The unpooling ops do
// no arithmetic. Bytes are the minimum any implementation must move: read each input (and weight,
// and switch index) once, write each output once. Bias is not used (cuDNN's dgrad has none).
struct Work {
  double flops = 0;
  double bytes = 0;
  double intensity() const { return bytes > 0 ? flops / bytes : 0; }
};
Work count_work(const Problem& problem);

// A smaller copy of a shape with the same op and geometry (kernel, stride, padding,
// output_padding, dilation, channels per group): batch, groups and channels are capped, then the
// largest input axis is halved until the output has at most max_output_elements.
struct ReduceLimits {
  int64_t max_batch;
  int64_t max_channels_per_group;
  int64_t max_groups;
  int64_t max_output_elements;
};
Shape reduce_shape(const Shape& shape, const ReduceLimits& limits);

}  // namespace upsample::bench

// One benchmark shape: an op and its geometry, as the built-in table (shapes.h) and the shape text
// format (--add-shape, --shapes-file) describe it.
//
// NOTE [ Shape text format ]
// One shape per line; `#` starts a comment; blank lines are skipped. A line is `key=value` tokens
// separated by spaces, in any order:
//
//   name=vae.up op=conv_transpose n=1 c=512 in=128x128 cout=256 kernel=3 stride=2 pad=1 outpad=1
//   name=my.nearest op=nearest c=256 in=64x64 scale=2 source="my model, decoder block 3"
//
//   key       meaning                                                        default
//   op        conv_transpose | nearest | bed_of_nails | max_unpool           (required)
//             (the layer's forward op; its gradients run on the same shape)
//   c         input channels (C_in)                                          (required)
//   in        input spatial extents, outermost first: W, HxW or DxHxW;       (required)
//             their count sets the rank (1-D, 2-D, 3-D)
//   n         batch                                                          1
//   name      the row label; letters, digits, '.', '_', '-'                  user.<k> (k-th user shape)
//   source    where the layer comes from; quote it if it has spaces          "user"
//   conv_transpose only:
//   cout      output channels (C_out)                                        (required)
//   kernel    kernel extent                                                  (required)
//   stride, pad, outpad, dilation                                            1, 0, 0, 1
//   groups    channel groups (divides c and cout)                            1
//   nearest, bed_of_nails, max_unpool only:
//   scale     upsampling factor (max_unpool: window = stride of the pool it undoes)  2
//   max_unpool only:
//   switches  the switch indices' dtype: i64 (PyTorch's) or i32 (half the bytes)   i64
//
// Per-axis keys (kernel, stride, pad, outpad, dilation, scale) take one value for every axis or
// one per axis joined by 'x' (kernel=3x3x1). Padding is symmetric (PyTorch's `padding`), which is
// also what cuDNN's descriptor can express.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace upsample::bench {

// What a row computes. A shape is a layer, named by its forward op (the first four); the layer's
// gradients (upsample.h "Gradients") run on the same shape: conv_transpose has three
// (conv_transpose_backward_data, _weight, _bias), each unpooling op its own *_backward, and
// max_unpool also max_pool_backward, the gradient of the max-pool that makes its switches.
enum class Op {
  kConvTranspose,
  kNearest,
  kBedOfNails,
  kMaxUnpool,
  kConvTransposeBackwardData,
  kConvTransposeBackwardWeight,
  kConvTransposeBackwardBias,
  kNearestBackward,
  kBedOfNailsBackward,
  kMaxUnpoolBackward,
  kMaxPoolBackward,
  // issue 13: F.interpolate(scale_factor=stride, mode='bilinear'/'trilinear', align_corners=False) and
  // PixelShuffle(stride) (c = C*r^dims packed channels, cout = C), each with its gradient.
  kInterpolateLinear,
  kInterpolateLinearBackward,
  kPixelShuffle,
  kPixelShuffleBackward
};
enum class Direction { kForward, kBackward };

// "conv_transpose", ..., "conv_transpose_backward_weight", ..., "max_pool_backward": the names
// the --op filter and the results use (the text format's op= takes the four layer ops only).
const char* op_name(Op op);
bool parse_op(const std::string& text, Op* op);
// The layer an op runs on: itself for a forward op, the forward op for a gradient
// (max_unpool for max_pool_backward).
Op layer_of(Op op);
Direction direction_of(Op op);
// Every op in row order (each layer's forward op, then its gradients), and a layer's ops alone.
std::vector<Op> all_ops();
std::vector<Op> ops_of_layer(Op layer);
// "forward", "backward": the --direction filter.
const char* direction_name(Direction direction);
bool parse_direction(const std::string& text, Direction* direction);

using Extents = std::array<int64_t, 3>;  // the first `dims` entries are used, outermost first

struct Shape {
  std::string name;
  std::string source;
  Op op = Op::kConvTranspose;
  int dims = 2;
  int64_t n = 1;
  int64_t c = 1;     // C_in
  int64_t cout = 1;  // C_out (transposed convolution); equals c for the unpooling ops
  int64_t groups = 1;
  Extents in{1, 1, 1};
  // Transposed convolution: the kernel and its geometry. Unpooling ops: stride = kernel = scale
  // (max-unpooling undoes a pool whose window and stride are both `scale`).
  Extents kernel{1, 1, 1};
  Extents stride{1, 1, 1};
  Extents pad{0, 0, 0};
  Extents output_padding{0, 0, 0};
  Extents dilation{1, 1, 1};
  bool int32_switches = false;  // max-unpooling and its gradients: I32 switch indices instead of I64

  // Output spatial extents (PyTorch's formulas); may be < 1 for a nonsensical user shape, which the
  // library then rejects with a message.
  Extents out() const;
  // "64x512x4x4 -> 64x256x8x8 k4 s2 p1", for tables.
  std::string summary() const;
  // The shape as one line of the text format (round-trips through parse_shape_line).
  std::string to_line() const;
};

// Parses one line of the text format. On error returns false and sets *error to a message that
// names the offending token. A blank or comment-only line returns true with *is_shape = false.
bool parse_shape_line(const std::string& line, Shape* shape, bool* is_shape, std::string* error);

// Reads a file of shape lines, appending to *shapes; errors name the file and line.
bool read_shape_file(const std::string& path, std::vector<Shape>* shapes, std::string* error);

}  // namespace upsample::bench

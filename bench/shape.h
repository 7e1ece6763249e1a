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

enum class Op { kConvTranspose, kNearest, kBedOfNails, kMaxUnpool };

// "conv_transpose", "nearest", "bed_of_nails", "max_unpool": the names the text format and the
// --op filter use.
const char* op_name(Op op);
bool parse_op(const std::string& text, Op* op);

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

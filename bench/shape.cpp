// The shape text format (see NOTE [ Shape text format ] in shape.h): parsing and printing.
#include "shape.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace upsample::bench {
namespace {

struct OpName {
  Op op;
  const char* name;
  Op layer;
};
// In row order: each layer's forward op, then its gradients.
constexpr OpName kOpNames[] = {{Op::kConvTranspose, "conv_transpose", Op::kConvTranspose},
                               {Op::kConvTransposeBackwardData, "conv_transpose_backward_data", Op::kConvTranspose},
                               {Op::kConvTransposeBackwardWeight, "conv_transpose_backward_weight", Op::kConvTranspose},
                               {Op::kConvTransposeBackwardBias, "conv_transpose_backward_bias", Op::kConvTranspose},
                               {Op::kNearest, "nearest", Op::kNearest},
                               {Op::kNearestBackward, "nearest_backward", Op::kNearest},
                               {Op::kBedOfNails, "bed_of_nails", Op::kBedOfNails},
                               {Op::kBedOfNailsBackward, "bed_of_nails_backward", Op::kBedOfNails},
                               {Op::kMaxUnpool, "max_unpool", Op::kMaxUnpool},
                               {Op::kMaxUnpoolBackward, "max_unpool_backward", Op::kMaxUnpool},
                               {Op::kMaxPoolBackward, "max_pool_backward", Op::kMaxUnpool},
                               {Op::kInterpolateLinear, "interpolate_linear", Op::kInterpolateLinear},
                               {Op::kInterpolateLinearBackward, "interpolate_linear_backward", Op::kInterpolateLinear},
                               {Op::kPixelShuffle, "pixel_shuffle", Op::kPixelShuffle},
                               {Op::kPixelShuffleBackward, "pixel_shuffle_backward", Op::kPixelShuffle}};

const OpName& entry_of(Op op) {
  for (const OpName& entry : kOpNames)
    if (entry.op == op) return entry;
  return kOpNames[0];  // unreachable: every enumerator has an entry
}

bool fail(std::string* error, const std::string& message) {
  *error = message;
  return false;
}

bool parse_int(const std::string& text, int64_t* value) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || end != text.c_str() + text.size()) return false;
  *value = static_cast<int64_t>(v);
  return true;
}

// "4", "4x4" or "2x4x4" into up to three integers.
bool parse_extent_list(const std::string& text, std::vector<int64_t>* values) {
  values->clear();
  std::string item;
  std::istringstream stream(text);
  while (std::getline(stream, item, 'x')) {
    int64_t v = 0;
    if (!parse_int(item, &v)) return false;
    values->push_back(v);
  }
  return !values->empty() && values->size() <= 3;
}

// Splits a line into key=value tokens; a value may be double-quoted to hold spaces.
bool tokenize(const std::string& line, std::vector<std::pair<std::string, std::string>>* tokens, std::string* error) {
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i >= line.size() || line[i] == '#') break;
    const size_t key_begin = i;
    while (i < line.size() && line[i] != '=' && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i >= line.size() || line[i] != '=') {
      *error = "expected key=value, got '" + line.substr(key_begin, i - key_begin) + "'";
      return false;
    }
    const std::string key = line.substr(key_begin, i - key_begin);
    ++i;  // '='
    std::string value;
    if (i < line.size() && line[i] == '"') {
      const size_t close = line.find('"', i + 1);
      if (close == std::string::npos) {
        *error = "unterminated quote in the value of '" + key + "'";
        return false;
      }
      value = line.substr(i + 1, close - i - 1);
      i = close + 1;
    } else {
      const size_t value_begin = i;
      while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
      value = line.substr(value_begin, i - value_begin);
    }
    tokens->emplace_back(key, value);
  }
  return true;
}

bool valid_name(const std::string& name) {
  if (name.empty()) return false;
  for (char ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-') return false;
  return true;
}

std::string join_extents(const Extents& e, int dims, char separator = 'x') {
  std::string text;
  for (int a = 0; a < dims; ++a) {
    if (a > 0) text += separator;
    text += std::to_string(e[static_cast<size_t>(a)]);
  }
  return text;
}

// One value if every axis has it ("2"), else one per axis ("2x1").
std::string compact_extents(const Extents& e, int dims) {
  bool uniform = true;
  for (int a = 1; a < dims; ++a) uniform = uniform && e[static_cast<size_t>(a)] == e[0];
  return uniform ? std::to_string(e[0]) : join_extents(e, dims);
}

}  // namespace

const char* op_name(Op op) { return entry_of(op).name; }

bool parse_op(const std::string& text, Op* op) {
  for (const OpName& entry : kOpNames)
    if (text == entry.name) {
      *op = entry.op;
      return true;
    }
  return false;
}

Op layer_of(Op op) { return entry_of(op).layer; }

Direction direction_of(Op op) { return layer_of(op) == op ? Direction::kForward : Direction::kBackward; }

std::vector<Op> all_ops() {
  std::vector<Op> ops;
  for (const OpName& entry : kOpNames) ops.push_back(entry.op);
  return ops;
}

std::vector<Op> ops_of_layer(Op layer) {
  std::vector<Op> ops;
  for (const OpName& entry : kOpNames)
    if (entry.layer == layer) ops.push_back(entry.op);
  return ops;
}

const char* direction_name(Direction direction) { return direction == Direction::kForward ? "forward" : "backward"; }

bool parse_direction(const std::string& text, Direction* direction) {
  for (Direction d : {Direction::kForward, Direction::kBackward})
    if (text == direction_name(d)) {
      *direction = d;
      return true;
    }
  return false;
}

Extents Shape::out() const {
  Extents o{1, 1, 1};
  for (size_t a = 0; a < static_cast<size_t>(dims); ++a) {
    if (op == Op::kConvTranspose)
      o[a] = (in[a] - 1) * stride[a] - 2 * pad[a] + dilation[a] * (kernel[a] - 1) + output_padding[a] + 1;
    else
      o[a] = in[a] * stride[a];
  }
  return o;
}

std::string Shape::summary() const {
  std::string text = std::to_string(n) + "x" + std::to_string(c) + "x" + join_extents(in, dims) + " -> " +
                     std::to_string(n) + "x" + std::to_string(cout) + "x" + join_extents(out(), dims);
  if (op == Op::kConvTranspose) {
    text += " k" + compact_extents(kernel, dims) + " s" + compact_extents(stride, dims);
    bool any_pad = false, any_outpad = false, any_dilation = false;
    for (size_t a = 0; a < static_cast<size_t>(dims); ++a) {
      any_pad = any_pad || pad[a] != 0;
      any_outpad = any_outpad || output_padding[a] != 0;
      any_dilation = any_dilation || dilation[a] != 1;
    }
    if (any_pad) text += " p" + compact_extents(pad, dims);
    if (any_outpad) text += " op" + compact_extents(output_padding, dims);
    if (any_dilation) text += " d" + compact_extents(dilation, dims);
    if (groups != 1) text += " g" + std::to_string(groups);
  } else {
    text += " x" + compact_extents(stride, dims);
    if (int32_switches) text += " i32 switches";
  }
  return text;
}

std::string Shape::to_line() const {
  std::string line = "name=" + name + " op=" + op_name(op) + " n=" + std::to_string(n) + " c=" + std::to_string(c) +
                     " in=" + join_extents(in, dims);
  if (op == Op::kConvTranspose) {
    line += " cout=" + std::to_string(cout) + " kernel=" + compact_extents(kernel, dims) +
            " stride=" + compact_extents(stride, dims) + " pad=" + compact_extents(pad, dims) +
            " outpad=" + compact_extents(output_padding, dims) + " dilation=" + compact_extents(dilation, dims) +
            " groups=" + std::to_string(groups);
  } else {
    line += " scale=" + compact_extents(stride, dims);
    if (int32_switches) line += " switches=i32";
  }
  return line + " source=\"" + source + "\"";
}

bool parse_shape_line(const std::string& line, Shape* shape, bool* is_shape, std::string* error) {
  std::vector<std::pair<std::string, std::string>> tokens;
  *is_shape = false;
  if (!tokenize(line, &tokens, error)) return false;
  if (tokens.empty()) return true;
  *is_shape = true;

  std::map<std::string, std::string> values;
  for (const auto& [key, value] : tokens) {
    if (!values.emplace(key, value).second) {
      *error = "key '" + key + "' given twice";
      return false;
    }
  }
  auto take = [&](const char* key, std::string* value) {
    const auto it = values.find(key);
    if (it == values.end()) return false;
    *value = it->second;
    values.erase(it);
    return true;
  };

  Shape s;
  std::string text;
  const std::string layers = "conv_transpose, nearest, bed_of_nails or max_unpool";
  if (!take("op", &text)) return fail(error, "missing op= (" + layers + ")");
  if (!parse_op(text, &s.op) || direction_of(s.op) != Direction::kForward)
    return fail(error, "op: expected " + layers + " (a layer: its gradients run on it too), got '" + text + "'");
  if (take("name", &s.name) && !valid_name(s.name))
    return fail(error, "name: use letters, digits, '.', '_' or '-', got '" + s.name + "'");
  if (!take("source", &s.source)) s.source = "user";

  std::vector<int64_t> list;
  if (!take("in", &text)) return fail(error, "missing in= (input extents, e.g. in=32x32)");
  if (!parse_extent_list(text, &list)) return fail(error, "in: expected W, HxW or DxHxW, got '" + text + "'");
  s.dims = static_cast<int>(list.size());
  for (size_t a = 0; a < list.size(); ++a) s.in[a] = list[a];

  auto scalar = [&](const char* key, bool required, int64_t* value) {
    if (!take(key, &text)) {
      if (required) *error = std::string("missing ") + key + "=";
      return !required;
    }
    if (!parse_int(text, value)) {
      *error = std::string(key) + ": expected an integer, got '" + text + "'";
      return false;
    }
    return true;
  };
  // A per-axis key: one value for every axis, or exactly `dims` values.
  auto per_axis = [&](const char* key, bool required, Extents* value) {
    if (!take(key, &text)) {
      if (required) *error = std::string("missing ") + key + "=";
      return !required;
    }
    if (!parse_extent_list(text, &list) || (list.size() != 1 && list.size() != static_cast<size_t>(s.dims))) {
      *error =
          std::string(key) + ": expected one value or " + std::to_string(s.dims) + " joined by 'x', got '" + text + "'";
      return false;
    }
    for (size_t a = 0; a < static_cast<size_t>(s.dims); ++a) (*value)[a] = list.size() == 1 ? list[0] : list[a];
    return true;
  };

  if (!scalar("n", false, &s.n) || !scalar("c", true, &s.c)) return false;
  if (s.op == Op::kConvTranspose) {
    if (!scalar("cout", true, &s.cout) || !scalar("groups", false, &s.groups) || !per_axis("kernel", true, &s.kernel) ||
        !per_axis("stride", false, &s.stride) || !per_axis("pad", false, &s.pad) ||
        !per_axis("outpad", false, &s.output_padding) || !per_axis("dilation", false, &s.dilation))
      return false;
  } else {
    s.cout = s.c;
    s.stride = {2, 2, 2};
    if (!per_axis("scale", false, &s.stride)) return false;
    s.kernel = s.stride;
    if (s.op == Op::kMaxUnpool && take("switches", &text)) {
      if (text != "i64" && text != "i32") {
        *error = "switches: expected i64 or i32, got '" + text + "'";
        return false;
      }
      s.int32_switches = text == "i32";
    }
    if (s.op == Op::kPixelShuffle) {  // c packed channels -> cout = c / scale^dims
      int64_t block = 1;
      for (size_t a = 0; a < static_cast<size_t>(s.dims); ++a) block *= s.stride[a];
      if (block < 1 || s.c % block != 0) {
        *error = "c: pixel_shuffle needs c divisible by scale^dims = " + std::to_string(block);
        return false;
      }
      s.cout = s.c / block;
    }
  }
  if (!values.empty()) {
    *error = "unknown key '" + values.begin()->first + "' for op " + op_name(s.op);
    return false;
  }
  *shape = s;
  return true;
}

bool read_shape_file(const std::string& path, std::vector<Shape>* shapes, std::string* error) {
  std::ifstream file(path);
  if (!file) return fail(error, path + ": cannot open");
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    Shape shape;
    bool is_shape = false;
    std::string why;
    if (!parse_shape_line(line, &shape, &is_shape, &why)) {
      *error = path + ":" + std::to_string(number) + ": " + why;
      return false;
    }
    if (is_shape) shapes->push_back(shape);
  }
  return true;
}

}  // namespace upsample::bench

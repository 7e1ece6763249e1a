#include "options.h"

#include <cstdlib>
#include <set>
#include <sstream>

#include "shapes.h"

namespace upsample::bench {
namespace {

bool fail(std::string* error, const std::string& message) {
  *error = message;
  return false;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  std::istringstream stream(text);
  while (std::getline(stream, item, ','))
    if (!item.empty()) items.push_back(item);
  return items;
}

// Parses a comma-separated list with `parse_one`; names the bad item on error.
template <typename T, typename Parse>
bool parse_list(const std::string& flag, const std::string& text, Parse parse_one, const char* expected,
                std::vector<T>* out, std::string* error) {
  for (const std::string& item : split_list(text)) {
    T value;
    if (!parse_one(item, &value)) {
      *error = "--" + flag + ": unknown value '" + item + "' (expected " + expected + ")";
      return false;
    }
    out->push_back(value);
  }
  return true;
}

bool parse_number(const std::string& text, double* value) {
  char* end = nullptr;
  *value = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size();
}

bool matches(const std::string& pattern, const std::string& name) {
  return name.compare(0, pattern.size(), pattern) == 0;
}

}  // namespace

void print_usage(FILE* out) {
  std::fprintf(
      out,
      "usage: upsample_bench [options] [--benchmark_* flags]\n"
      "\n"
      "Times upsample's kernels, forward and gradients (and cuDNN on transposed convolutions and their\n"
      "gradients), on layers of real generative models, validating each against the CPU reference first.\n"
      "Without a CUDA device it lists the plan and times the CPU reference on reduced shapes instead.\n"
      "\n"
      "selection (comma-separated lists; default: everything that applies)\n"
      "  --op=LIST           conv_transpose, conv_transpose_backward_data, conv_transpose_backward_weight,\n"
      "                      conv_transpose_backward_bias, nearest, nearest_backward, bed_of_nails,\n"
      "                      bed_of_nails_backward, max_unpool, max_unpool_backward, max_pool_backward,\n"
      "                      interpolate_linear, interpolate_linear_backward, pixel_shuffle,\n"
      "                      pixel_shuffle_backward\n"
      "                      (a gradient runs on its layer's shapes: max_pool_backward on max_unpool's)\n"
      "  --direction=LIST    forward, backward (the gradients)\n"
      "  --shape=LIST        shape names or name prefixes (e.g. hifigan,dcgan.out)\n"
      "  --dtype=LIST        f32, f16, bf16\n"
      "  --layout=LIST       nchw, nhwc (channels-first / channels-last, at every rank)\n"
      "  --algorithm=LIST    gather, scatter_atomic, implicit_gemm, implicit_gemm_tf32 (f32 with TF32 allowed),\n"
      "                      cuda (the unpooling, interpolation and pixel-shuffle kernels), cudnn, cudnn_tf32,\n"
      "                      reference (the no-GPU mode)\n"
      "shapes\n"
      "  --add-shape=SPEC    one shape in the text format, e.g.\n"
      "                      --add-shape='op=conv_transpose n=8 c=64 in=32x32 cout=32 kernel=4 stride=2 pad=1'\n"
      "  --shapes-file=PATH  a file of such lines (# comments); see bench/shapes_example.txt\n"
      "  --no-builtin        only the shapes given with --add-shape / --shapes-file\n"
      "output and timing\n"
      "  --json=PATH         results (default bench_results.json); draw with bench/roofline.py\n"
      "  --min-time=SECONDS  measured time per row (default 0.1 on a GPU, 0.01 without; --quick 0.01 / 0.002)\n"
      "  --graph=auto|always|never  CUDA-graph timing (auto: ops faster than --graph-below)\n"
      "  --graph-below=US    auto graph threshold in microseconds (default 50)\n"
      "  --quick             short run: less time per row; without a GPU, smaller shapes too\n"
      "  --list              print the plan and the rows, run nothing\n"
      "  --no-progress       no progress bar on stderr\n"
      "  --no-gpu            the no-GPU mode even where a GPU exists\n"
      "  --seed=N            input values (default 2024)\n"
      "  --help              this text\n"
      "Google Benchmark's flags (--benchmark_repetitions=N, ...) also apply; its own output is not\n"
      "printed: the table, the JSON and the picture are the results.\n");
}

bool parse_options(int argc, char** argv, Options* o, std::string* error) {
  const std::set<std::string> switches = {"quick", "list", "no-progress", "no-builtin", "no-gpu"};
  const std::set<std::string> with_value = {"op",        "direction",   "shape",       "dtype", "layout",
                                            "algorithm", "add-shape",   "shapes-file", "json",  "min-time",
                                            "graph",     "graph-below", "seed"};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) return fail(error, "unexpected argument '" + arg + "'");
    std::string flag = arg.substr(2), value;
    const size_t equals = flag.find('=');
    if (equals != std::string::npos) {
      value = flag.substr(equals + 1);
      flag = flag.substr(0, equals);
    }
    if (switches.count(flag) == 0 && with_value.count(flag) == 0)
      return fail(error, "unknown option --" + flag + " (see --help)");
    if (switches.count(flag) != 0 && equals != std::string::npos) return fail(error, "--" + flag + " takes no value");
    if (with_value.count(flag) != 0 && equals == std::string::npos) {
      if (i + 1 >= argc) return fail(error, "--" + flag + " needs a value");
      value = argv[++i];
    }

    if (flag == "quick") {
      o->quick = true;
    } else if (flag == "list") {
      o->list_only = true;
    } else if (flag == "no-progress") {
      o->progress = false;
    } else if (flag == "no-builtin") {
      o->builtin = false;
    } else if (flag == "no-gpu") {
      o->no_gpu = true;
    } else if (flag == "op") {
      std::string names;
      for (Op op : all_ops()) names += (names.empty() ? "" : ", ") + std::string(op_name(op));
      if (!parse_list<Op>(flag, value, parse_op, names.c_str(), &o->ops, error)) return false;
    } else if (flag == "direction") {
      if (!parse_list<Direction>(flag, value, parse_direction, "forward, backward", &o->directions, error))
        return false;
    } else if (flag == "shape") {
      for (const std::string& item : split_list(value)) o->shape_patterns.push_back(item);
    } else if (flag == "dtype") {
      if (!parse_list<upsDataType_t>(flag, value, parse_dtype, "f32, f16, bf16", &o->dtypes, error)) return false;
    } else if (flag == "layout") {
      if (!parse_list<upsLayout_t>(flag, value, parse_layout, "nchw, nhwc", &o->layouts, error)) return false;
    } else if (flag == "algorithm") {
      if (!parse_list<Impl>(flag, value, parse_impl,
                            "gather, scatter_atomic, implicit_gemm, implicit_gemm_tf32, cuda, cudnn, cudnn_tf32, "
                            "reference",
                            &o->impls, error))
        return false;
    } else if (flag == "add-shape") {
      o->added_shapes.push_back(value);
    } else if (flag == "shapes-file") {
      o->shape_files.push_back(value);
    } else if (flag == "json") {
      o->json_path = value;
    } else if (flag == "min-time") {
      if (!parse_number(value, &o->min_time) || o->min_time < 0)
        return fail(error, "--min-time: expected seconds >= 0");
    } else if (flag == "graph-below") {
      if (!parse_number(value, &o->graph_below_us) || o->graph_below_us < 0)
        return fail(error, "--graph-below: expected microseconds >= 0");
    } else if (flag == "graph") {
      if (value == "auto") {
        o->graph = GraphMode::kAuto;
      } else if (value == "always") {
        o->graph = GraphMode::kAlways;
      } else if (value == "never") {
        o->graph = GraphMode::kNever;
      } else {
        return fail(error, "--graph: expected auto, always or never");
      }
    } else if (flag == "seed") {
      char* end = nullptr;
      o->seed = std::strtoull(value.c_str(), &end, 10);
      if (value.empty() || value[0] == '-' || end != value.c_str() + value.size())
        return fail(error, "--seed: expected a non-negative integer");
    }
  }
  return true;
}

bool select_shapes(const Options& options, std::vector<Shape>* shapes, std::string* error) {
  std::vector<Shape> all;
  if (options.builtin) all = builtin_shapes();

  std::vector<Shape> user;
  for (const std::string& line : options.added_shapes) {
    Shape shape;
    bool is_shape = false;
    std::string why;
    if (!parse_shape_line(line, &shape, &is_shape, &why) || !is_shape)
      return fail(error, "--add-shape '" + line + "': " + (why.empty() ? "empty" : why));
    user.push_back(shape);
  }
  for (const std::string& path : options.shape_files)
    if (!read_shape_file(path, &user, error)) return false;
  int unnamed = 0;
  for (Shape& shape : user) {
    if (shape.name.empty()) shape.name = "user." + std::to_string(++unnamed);
    // The library's own checks, now rather than row by row later.
    Problem problem;
    problem.shape = shape;
    OpDescriptors descriptors;
    std::string why;
    if (!build_descriptors(problem, UPS_ALGO_AUTO, &descriptors, &why))
      return fail(error, "shape " + shape.name + " (" + shape.to_line() + "): " + why);
    all.push_back(shape);
  }

  std::set<std::string> names;
  for (const Shape& shape : all)
    if (!names.insert(shape.name).second) return fail(error, "two shapes are named '" + shape.name + "'");

  for (const std::string& pattern : options.shape_patterns) {
    bool any = false;
    for (const Shape& shape : all) any = any || matches(pattern, shape.name);
    if (!any) return fail(error, "--shape: no shape is named '" + pattern + "' or starts with it");
  }
  shapes->clear();
  for (const Shape& shape : all) {
    bool by_name = options.shape_patterns.empty();
    for (const std::string& pattern : options.shape_patterns) by_name = by_name || matches(pattern, shape.name);
    bool by_op = false;
    for (Op op : ops_of_layer(shape.op)) by_op = by_op || op_selected(options, op);
    if (by_name && by_op) shapes->push_back(shape);
  }
  return true;
}

}  // namespace upsample::bench

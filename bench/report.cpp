#include "report.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "json_writer.h"

namespace upsample::bench {
namespace {

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

// Bytes of the problem's tensors in another dtype (the plan shows f32 and f16 side by side).
Work work_in(Problem problem, upsDataType_t dtype) {
  problem.dtype = dtype;
  return count_work(problem);
}

// Width of an op column: the longest op name among `items` (at least the header's).
template <typename T, typename OpOf>
int op_column_width(const std::vector<T>& items, OpOf op_of) {
  size_t width = 2;  // "op"
  for (const T& item : items) width = std::max(width, std::strlen(op_name(op_of(item))));
  return static_cast<int>(width);
}

std::string row_problem_text(const Row& row) {
  switch (row.status) {
    case RowStatus::kValidationFailed: {
      const Validation& v = row.validation;
      std::string text = "VALIDATION FAILED on " + v.shape + ": ";
      if (v.non_finite > 0) text += std::to_string(v.non_finite) + " NaN/inf outputs; ";
      return text + "rel. error " + format("%.2e", v.relative_error) + " (tolerance " + format("%.1e", v.tolerance) +
             "), max abs error " + format("%.2e", v.max_abs_error);
    }
    case RowStatus::kUnavailable:
      return "unavailable: " + row.message;
    case RowStatus::kError:
      return "ERROR: " + row.message;
    case RowStatus::kOk:
      break;
  }
  return "";
}

void write_peaks(JsonWriter& json, const Peaks& p) {
  json.begin_object();
  json.field("source", p.source);
  json.field("measured", p.measured);
  json.field("bandwidth_GBps", p.bandwidth / 1e9);
  json.field("fp32_simt_GFLOPs", p.fp32 / 1e9);
  json.field("f16_simt_GFLOPs", p.f16 / 1e9);
  json.field("bf16_simt_GFLOPs", p.bf16 / 1e9);
  json.key("tf32_tensor_GFLOPs");
  p.tf32_tensor > 0 ? json.value(p.tf32_tensor / 1e9) : json.null();
  json.key("f16_tensor_GFLOPs");
  p.f16_tensor > 0 ? json.value(p.f16_tensor / 1e9) : json.null();
  json.field("bandwidth_method", p.bandwidth_method);
  json.field("peak_method", p.peak_method);
  json.end_object();
}

void write_shape(JsonWriter& json, const Shape& s) {
  auto extents = [&](const char* name, const Extents& e) {
    json.key(name);
    json.begin_array();
    for (size_t a = 0; a < static_cast<size_t>(s.dims); ++a) json.value(e[a]);
    json.end_array();
  };
  json.begin_object();
  json.field("name", s.name);
  json.field("op", op_name(s.op));
  json.field("summary", s.summary());
  json.field("line", s.to_line());
  json.field("dims", s.dims);
  json.field("n", s.n);
  json.field("c_in", s.c);
  json.field("c_out", s.cout);
  json.field("groups", s.groups);
  extents("in", s.in);
  extents("out", s.out());
  extents("kernel", s.kernel);
  extents("stride", s.stride);
  extents("pad", s.pad);
  extents("output_padding", s.output_padding);
  extents("dilation", s.dilation);
  json.end_object();
}

void write_auto_choice(JsonWriter& json, const char* key, const AutoChoice& choice) {
  json.key(key);
  json.begin_object();
  json.key("algorithm");
  choice.algorithm.empty() ? json.null() : json.value(choice.algorithm);
  json.field("reason", choice.reason);
  json.field("compute_capability", choice.compute_capability);
  json.end_object();
}

// NOTE [ AUTO in the plan ]
// The library chooses from the device it runs on; the plan asks it (upsConvTransposePlanAlgorithm,
// the same decision function) for the nominal GPU's compute capability instead, per forward
// transposed-convolution shape, in each dtype, math mode and layout a row can have. The GPU run
// records, per forward row, the choice on its own device (the row's "auto_choice" in the JSON).
struct AutoVariant {
  const char* label;
  upsDataType_t dtype;
  upsMathMode_t math;
  upsLayout_t layout;
};
constexpr AutoVariant kAutoVariants[] = {
    {"f32 nchw", UPS_DTYPE_F32, UPS_MATH_DEFAULT, UPS_LAYOUT_CHANNELS_FIRST},
    {"f32 nhwc", UPS_DTYPE_F32, UPS_MATH_DEFAULT, UPS_LAYOUT_CHANNELS_LAST},
    {"tf32 nchw", UPS_DTYPE_F32, UPS_MATH_ALLOW_TF32, UPS_LAYOUT_CHANNELS_FIRST},
    {"tf32 nhwc", UPS_DTYPE_F32, UPS_MATH_ALLOW_TF32, UPS_LAYOUT_CHANNELS_LAST},
    {"f16 nchw", UPS_DTYPE_F16, UPS_MATH_DEFAULT, UPS_LAYOUT_CHANNELS_FIRST},
    {"f16 nhwc", UPS_DTYPE_F16, UPS_MATH_DEFAULT, UPS_LAYOUT_CHANNELS_LAST},
    {"bf16 nchw", UPS_DTYPE_BF16, UPS_MATH_DEFAULT, UPS_LAYOUT_CHANNELS_FIRST},
    {"bf16 nhwc", UPS_DTYPE_BF16, UPS_MATH_DEFAULT, UPS_LAYOUT_CHANNELS_LAST},
};

AutoChoice auto_choice_of(Problem problem, const AutoVariant& v) {
  problem.dtype = v.dtype;
  problem.layout = v.layout;
  return auto_choice(problem, v.math, kPlanComputeCapability);
}

void write_row(JsonWriter& json, const Row& row) {
  json.begin_object();
  json.field("shape", row.problem.shape.name);
  json.field("op", op_name(row.problem.op));
  json.field("layer_op", op_name(row.problem.shape.op));
  json.field("direction", direction_name(direction_of(row.problem.op)));
  json.field("source", row.problem.shape.source);
  json.field("dtype", dtype_name(row.problem.dtype));
  json.field("layout", layout_name(row.problem.layout));
  json.field("algorithm", impl_name(row.impl));
  json.field("status", status_name(row.status));
  json.field("message", row.message);
  json.key("problem");
  write_shape(json, row.problem.shape);
  json.key("timed_shape");
  write_shape(json, row.timed_shape);

  const Validation& v = row.validation;
  json.key("validation");
  json.begin_object();
  json.field("ran", v.ran);
  json.field("passed", v.passed);
  json.field("shape", v.shape);
  json.field("relative_error", v.relative_error);
  json.field("max_abs_error", v.max_abs_error);
  json.field("non_finite", v.non_finite);
  json.field("tolerance", v.tolerance);
  json.field("note", v.note);
  json.end_object();

  if (is_cudnn(row.impl)) {
    json.key("cudnn");
    json.begin_object();
    json.field("math_requested", row.cudnn.math_requested);
    json.field("chosen", row.cudnn.chosen);
    json.key("search");
    json.begin_array();
    for (const CudnnAlgorithm& a : row.cudnn.searched) {
      json.begin_object();
      json.field("algorithm", a.name);
      json.field("status", a.status);
      json.key("time_us");
      a.seconds >= 0 ? json.value(a.seconds * 1e6) : json.null();
      json.field("workspace_bytes", static_cast<uint64_t>(a.workspace_bytes));
      json.field("math", a.math);
      json.field("deterministic", a.deterministic);
      json.end_object();
    }
    json.end_array();
    json.end_object();
  }

  if (row.problem.op == Op::kConvTranspose) write_auto_choice(json, "auto_choice", row.auto_choice);

  json.field("flops", row.work.flops);
  json.field("bytes", row.work.bytes);
  json.field("intensity_flop_per_byte", row.work.intensity());
  if (row.timed()) {
    const Timing& t = row.timing;
    json.key("timing");
    json.begin_object();
    json.field("method", t.method);
    json.field("launches_per_sample", t.launches_per_sample);
    json.field("buffer_sets", t.buffer_sets);
    json.field("l2_flushed", t.l2_flushed);
    json.field("samples", static_cast<int64_t>(t.samples.size()));
    json.field("median_us", t.median() * 1e6);
    json.field("min_us", t.quantile(0) * 1e6);
    json.field("p10_us", t.quantile(0.1) * 1e6);
    json.field("p90_us", t.quantile(0.9) * 1e6);
    json.field("max_us", t.quantile(1) * 1e6);
    json.key("single_launch_us");
    t.single_launch > 0 ? json.value(t.single_launch * 1e6) : json.null();
    json.field("note", t.note);
    json.end_object();
    json.field("median_us", row.median * 1e6);
    json.field("GBps", row.gbps);
    json.field("GFLOPs", row.gflops);
    json.field("floor_us", row.floor.seconds * 1e6);
    json.field("floor_bound", row.floor.compute_bound ? "compute" : "memory");
    json.field("floor_peak", row.floor_peak);
    json.field("pct_of_floor", row.pct_of_floor);
    json.key("speedup_vs_cudnn");
    row.speedup_vs_cudnn > 0 ? json.value(row.speedup_vs_cudnn) : json.null();
    json.key("speedup_vs_cudnn_tf32");
    row.speedup_vs_cudnn_tf32 > 0 ? json.value(row.speedup_vs_cudnn_tf32) : json.null();
    json.key("speedup_vs_matching_cudnn");
    row.speedup_vs_matching_cudnn > 0 ? json.value(row.speedup_vs_matching_cudnn) : json.null();
  }
  json.end_object();
}

}  // namespace

std::string format_seconds(double seconds) {
  if (seconds <= 0) return "-";
  if (seconds < 1e-6) return format("%.1f ns", seconds * 1e9);
  if (seconds < 1e-3) return format("%.2f us", seconds * 1e6);
  if (seconds < 1) return format("%.3f ms", seconds * 1e3);
  return format("%.3f s", seconds);
}

// --- Progress -----------------------------------------------------------------------------------
Progress::Progress(size_t total, bool enabled)
    : total_(total), enabled_(enabled && total > 0), terminal_(isatty(fileno(stderr)) != 0) {}

void Progress::begin(size_t index, const std::string& label) {
  if (!enabled_) return;
  if (terminal_) {
    constexpr size_t kWidth = 30;
    const size_t filled = kWidth * index / total_;
    std::fprintf(stderr, "\r[%s%s] %zu/%zu %s\033[K", std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(), index + 1, total_, label.c_str());
  } else {
    const size_t tenth = 10 * index / total_;
    if (index == 0 || tenth != last_tenth_)
      std::fprintf(stderr, "[upsample_bench] row %zu/%zu: %s\n", index + 1, total_, label.c_str());
    last_tenth_ = tenth;
  }
  std::fflush(stderr);
}

void Progress::finish() {
  if (!enabled_) return;
  if (terminal_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "[upsample_bench] %zu rows done\n", total_);
}

// --- tables -------------------------------------------------------------------------------------
void print_plan(FILE* out, const std::vector<Problem>& plan, const Peaks& nominal) {
  std::set<std::string> shapes;
  for (const Problem& p : plan) shapes.insert(p.shape.name);
  std::fprintf(out,
               "Plan: %zu ops on %zu shapes (gradients on their layer's forward geometry, x -> y). Floors on %s:\n"
               "%.2f TB/s, %.0f TFLOP/s fp32 SIMT, %.0f TF32, %.0f f16/bf16 tensor.\n",
               plan.size(), shapes.size(), nominal.source.c_str(), nominal.bandwidth / 1e12, nominal.fp32 / 1e12,
               nominal.tf32_tensor / 1e12, nominal.f16_tensor / 1e12);
  const int op_width = op_column_width(plan, [](const Problem& p) { return p.op; });
  std::fprintf(out, "%-21s %-*s %-50s %9s %9s %11s %11s %9s %11s\n", "shape", op_width, "op", "geometry", "GFLOP",
               "MB f32", "floor fp32", "floor tf32", "MB f16", "floor f16");
  for (const Problem& p : plan) {
    const Work f32 = work_in(p, UPS_DTYPE_F32), f16 = work_in(p, UPS_DTYPE_F16);
    const double bw = nominal.bandwidth;
    std::fprintf(out, "%-21s %-*s %-50s %9.3f %9.2f %11s %11s %9.2f %11s\n", p.shape.name.c_str(), op_width,
                 op_name(p.op), p.shape.summary().c_str(), f32.flops / 1e9, f32.bytes / 1e6,
                 format_seconds(floor_of(f32.flops, f32.bytes, nominal.fp32, bw).seconds).c_str(),
                 format_seconds(floor_of(f32.flops, f32.bytes, nominal.tf32_tensor, bw).seconds).c_str(),
                 f16.bytes / 1e6,
                 format_seconds(floor_of(f16.flops, f16.bytes, nominal.f16_tensor, bw).seconds).c_str());
  }
  std::fprintf(out, "\n");
  print_auto_plan(out, plan);
}

void print_auto_plan(FILE* out, const std::vector<Problem>& plan) {
  std::vector<const Problem*> forward;
  for (const Problem& p : plan)
    if (p.op == Op::kConvTranspose) forward.push_back(&p);
  if (forward.empty()) return;
  std::fprintf(
      out,
      "AUTO on sm_%d (an H100), per transposed-convolution shape (upsConvTransposePlanAlgorithm: the library's\n"
      "own decision for that compute capability; tf32 = UPS_MATH_ALLOW_TF32; the gradients' AUTO, decided on the\n"
      "device by upsConvTransposeBackward{Data,Weight}ChooseAlgorithm: IMPLICIT_GEMM where its can_implement\n"
      "accepts (data: every dtype; weight: f16/bf16) with 8+ channels per group on both sides, else GATHER):\n",
      kPlanComputeCapability);
  std::fprintf(out, "%-21s", "shape");
  for (const AutoVariant& v : kAutoVariants) std::fprintf(out, " %-18s", v.label);
  std::fprintf(out, "\n");
  std::vector<std::string> reasons;  // numbered in order of first use
  for (const Problem* p : forward) {
    std::fprintf(out, "%-21s", p->shape.name.c_str());
    for (const AutoVariant& v : kAutoVariants) {
      const AutoChoice choice = auto_choice_of(*p, v);
      size_t index = 0;
      while (index < reasons.size() && reasons[index] != choice.reason) ++index;
      if (index == reasons.size()) reasons.push_back(choice.reason);
      const std::string cell = (choice.algorithm.empty() ? std::string("refused") : choice.algorithm) + " [" +
                               std::to_string(index + 1) + "]";
      std::fprintf(out, " %-18s", cell.c_str());
    }
    std::fprintf(out, "\n");
  }
  std::fprintf(out, "why:\n");
  for (size_t i = 0; i < reasons.size(); ++i) std::fprintf(out, "  [%zu] %s\n", i + 1, reasons[i].c_str());
  std::fprintf(out, "\n");
}

void print_table(FILE* out, const RunInfo& info, const std::vector<Row>& rows) {
  const Peaks& p = info.peaks;
  if (info.gpu) {
    std::fprintf(
        out,
        "Results on %s. Floors from %s: %.0f GB/s (copy), %.1f TFLOP/s fp32 FFMA, %.1f f16 HFMA2, %.1f bf16 HFMA2.\n",
        info.device.c_str(), p.source.c_str(), p.bandwidth / 1e9, p.fp32 / 1e12, p.f16 / 1e12, p.bf16 / 1e12);
  } else {
    std::fprintf(
        out,
        "Results of the CPU REFERENCE backend on reduced shapes (no GPU). These exercise the pipeline; they are\n"
        "not GPU numbers. Floors and %% of floor are computed against %s.\n",
        p.source.c_str());
  }
  const int op_width = op_column_width(rows, [](const Row& row) { return row.problem.op; });
  std::fprintf(out, "%-21s %-*s %-5s %-6s %-14s %11s %9s %10s %11s %7s %8s  %s\n", "shape", op_width, "op", "dtype",
               "layout", "algorithm", "median", "GB/s", "GFLOP/s", "floor", "%floor", "vs cuDNN",
               info.gpu ? "timing" : "timed shape");
  for (const Row& row : rows) {
    std::fprintf(out, "%-21s %-*s %-5s %-6s %-14s ", row.problem.shape.name.c_str(), op_width, op_name(row.problem.op),
                 dtype_name(row.problem.dtype), layout_name(row.problem.layout), impl_name(row.impl));
    if (!row.timed()) {
      std::fprintf(out, "%s\n", row_problem_text(row).c_str());
      continue;
    }
    const std::string gflops = row.work.flops > 0 ? format("%.1f", row.gflops) : "-";
    const std::string versus =
        row.speedup_vs_matching_cudnn > 0 ? format("%.2fx", row.speedup_vs_matching_cudnn) : "-";
    std::string timing = info.gpu ? row.timing.describe() : "host, " + row.timed_shape.summary();
    if (!row.timing.note.empty()) timing += " (" + row.timing.note + ")";
    const std::string pct = row.pct_of_floor >= 0.05 ? format("%.1f%%", row.pct_of_floor) : "<0.1%";
    std::fprintf(out, "%11s %9.1f %10s %11s %7s %8s  %s\n", format_seconds(row.median).c_str(), row.gbps,
                 gflops.c_str(), format_seconds(row.floor.seconds).c_str(), pct.c_str(), versus.c_str(),
                 timing.c_str());
  }
  std::fprintf(out, "\n");
}

void print_fastest(FILE* out, const std::vector<Row>& rows) {
  // Layers and ops in first-appearance order.
  using Key = std::tuple<std::string, Op, int, int>;
  std::vector<Key> order;
  std::map<Key, std::vector<const Row*>> layers;
  for (const Row& row : rows) {
    if (!row.timed()) continue;
    const Key key{row.problem.shape.name, row.problem.op, row.problem.dtype, row.problem.layout};
    if (layers.find(key) == layers.end()) order.push_back(key);
    layers[key].push_back(&row);
  }
  if (order.empty()) return;
  const int op_width = op_column_width(order, [](const Key& key) { return std::get<1>(key); });
  std::fprintf(out, "Fastest per layer and op (validated rows):\n");
  std::fprintf(out, "%-21s %-*s %-5s %-6s %-14s %11s %7s   %s\n", "shape", op_width, "op", "dtype", "layout", "fastest",
               "median", "%floor", "upsample's best vs cuDNN");
  for (const Key& key : order) {
    const std::vector<const Row*>& candidates = layers[key];
    const Row* fastest = nullptr;
    const Row* ours = nullptr;
    for (const Row* row : candidates) {
      if (fastest == nullptr || row->median < fastest->median) fastest = row;
      if (!is_cudnn(row->impl) && (ours == nullptr || row->median < ours->median)) ours = row;
    }
    std::string versus = "-";
    if (ours != nullptr && ours->speedup_vs_matching_cudnn > 0)
      versus = std::string(impl_name(ours->impl)) + " " + format("%.2fx", ours->speedup_vs_matching_cudnn) +
               (uses_tf32(ours->impl) ? " (vs cudnn_tf32)" : "");
    std::fprintf(out, "%-21s %-*s %-5s %-6s %-14s %11s %6.1f%%   %s\n", fastest->problem.shape.name.c_str(), op_width,
                 op_name(fastest->problem.op), dtype_name(fastest->problem.dtype), layout_name(fastest->problem.layout),
                 impl_name(fastest->impl), format_seconds(fastest->median).c_str(), fastest->pct_of_floor,
                 versus.c_str());
  }
  std::fprintf(out, "\n");
}

bool write_json(const std::string& path, const RunInfo& info, const std::vector<Problem>& plan,
                const std::vector<Row>& rows, std::string* error) {
  JsonWriter json;
  json.begin_object();
  json.field("schema", "upsample-bench/1");
  const int version = upsGetVersion();
  json.field("library_version", std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
                                    std::to_string(version % 100));
  json.field("mode", info.gpu ? "gpu" : "no-gpu");
  json.field("device", info.device);
  json.field("no_gpu_reason", info.no_gpu_reason);
  json.field("command_line", info.command_line);
  json.field("seconds", info.seconds);
  json.key("peaks");
  write_peaks(json, info.peaks);
  json.key("nominal_peaks");
  write_peaks(json, info.nominal);

  json.key("settings");
  json.begin_object();
  json.field("min_time_s", info.timing.min_time);
  json.field("graph", info.timing.graph == GraphMode::kAuto     ? "auto"
                      : info.timing.graph == GraphMode::kAlways ? "always"
                                                                : "never");
  json.field("graph_below_us", info.timing.graph_below * 1e6);
  json.field("seed", info.seed);
  json.field("quick", info.quick);
  json.field("cudnn", info.cudnn);
  json.field("tf32",
             "fp32 cudnn rows use CUDNN_FMA_MATH (no TF32); cudnn_tf32 rows use CUDNN_DEFAULT_MATH (TF32 tensor cores "
             "allowed); f16/bf16 cudnn rows use CUDNN_TENSOR_OP_MATH; the bias gradient "
             "(cudnnConvolutionBackwardBias) has no math type; upsample's implicit_gemm rows use tensor cores "
             "(mma.sync) for f16/bf16 and exact-f32 SIMT for f32, implicit_gemm_tf32 rows TF32 tensor cores "
             "(UPS_MATH_ALLOW_TF32), compared with cudnn_tf32 (speedup_vs_matching_cudnn); gather, "
             "scatter_atomic and the unpooling kernels use no tensor cores");
  json.field("cudnn_calls",
             "conv_transpose: cudnnConvolutionBackwardData; conv_transpose_backward_data: cudnnConvolutionForward; "
             "conv_transpose_backward_weight: cudnnConvolutionBackwardFilter; conv_transpose_backward_bias: "
             "cudnnConvolutionBackwardBias");
  json.field("bytes",
             "minimal: every operand read once, the result written once; workspaces (upsample's and cuDNN's) not "
             "counted");
  json.field("floor",
             "max(bytes / bandwidth, flops / peak); peak = the row dtype's SIMT FMA rate (fp32 FFMA, f16/bf16 HFMA2)");
  json.field(
      "timing",
      "median of per-iteration CUDA-event times after warm-up; L2 flushed before each iteration; ops faster than "
      "graph_below_us timed as CUDA graphs of many launches rotating through buffer sets > 2x L2");
  if (!info.gpu) {
    json.key("host_reduce_limits");
    json.begin_object();
    json.field("max_batch", info.host_limits.max_batch);
    json.field("max_channels_per_group", info.host_limits.max_channels_per_group);
    json.field("max_groups", info.host_limits.max_groups);
    json.field("max_output_elements", info.host_limits.max_output_elements);
    json.end_object();
  }
  json.end_object();

  json.key("plan");
  json.begin_array();
  for (const Problem& p : plan) {
    const Work f32 = work_in(p, UPS_DTYPE_F32), f16 = work_in(p, UPS_DTYPE_F16);
    const Peaks& n = info.nominal;
    json.begin_object();
    json.key("shape");
    write_shape(json, p.shape);
    json.field("op", op_name(p.op));
    json.field("direction", direction_name(direction_of(p.op)));
    json.field("source", p.shape.source);
    json.field("flops", f32.flops);
    json.field("bytes_f32", f32.bytes);
    json.field("bytes_f16", f16.bytes);
    json.field("nominal_floor_fp32_us", floor_of(f32.flops, f32.bytes, n.fp32, n.bandwidth).seconds * 1e6);
    json.field("nominal_floor_tf32_us", floor_of(f32.flops, f32.bytes, n.tf32_tensor, n.bandwidth).seconds * 1e6);
    json.field("nominal_floor_f16_tensor_us", floor_of(f16.flops, f16.bytes, n.f16_tensor, n.bandwidth).seconds * 1e6);
    if (p.op == Op::kConvTranspose) {  // NOTE [ AUTO in the plan ]
      json.key("auto_on_nominal_gpu");
      json.begin_array();
      for (const AutoVariant& v : kAutoVariants) {
        const AutoChoice choice = auto_choice_of(p, v);
        json.begin_object();
        json.field("dtype", dtype_name(v.dtype));
        json.field("math_mode", v.math == UPS_MATH_ALLOW_TF32 ? "allow_tf32" : "default");
        json.field("layout", layout_name(v.layout));
        json.key("algorithm");
        choice.algorithm.empty() ? json.null() : json.value(choice.algorithm);
        json.field("reason", choice.reason);
        json.field("compute_capability", choice.compute_capability);
        json.end_object();
      }
      json.end_array();
    }
    json.end_object();
  }
  json.end_array();

  json.key("rows");
  json.begin_array();
  for (const Row& row : rows) write_row(json, row);
  json.end_array();
  json.end_object();

  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  const std::string& text = json.text();
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size() && std::fputc('\n', file) != EOF;
  if (std::fclose(file) != 0 || !written) {
    *error = path + ": write failed";
    return false;
  }
  return true;
}

}  // namespace upsample::bench

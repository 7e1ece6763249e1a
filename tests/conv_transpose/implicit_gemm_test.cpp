// The implicit-GEMM transposed-convolution engine (cuda/conv_transpose/implicit_gemm) against the
// CPU reference, through the emulated CUDA runtime: the launcher is called directly (the public
// algorithm value is wired by dispatch separately).
//
// Every case: fresh random inputs (seed printed; UPS_TEST_SEED fixes it), the output poisoned with
// NaN bytes before the run, the result compared element by element with the f64 reference within
// tol x (sum of |terms|) (the op applied to |x|, |w|, |bias|), where tol covers the output rounding,
// the operand rounding (TF32) and K accumulation roundings; then a second run must give the same
// bits. Tests are named Engine_Dtype_Layout.
#include "cuda/conv_transpose/implicit_gemm/implicit_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/shapes.h"
#include "core/problem.h"
#include "cuda/common/platform.cuh"
#include "src/ops/conv_transpose/conv_transpose.h"
#include "src/reference_element.h"
#include "tests/common/sanitizer.h"

namespace upsample::test {
namespace {

using cuda::ImplicitGemmTile;

// One transposed convolution, per axis (D, H, W; unused leading axes are 1).
struct Case {
  const char* name;
  int dims;
  int64_t n, cin, cout, groups;
  int64_t in[3], kernel[3], stride[3], pad_begin[3], pad_end[3], dilation[3], output_padding[3];
  bool bias = true;
};

// An isotropic case of `dims` axes (the last `dims` of D, H, W carry the values).
Case iso(const char* name, int dims, int64_t n, int64_t cin, int64_t cout, int64_t groups, int64_t in, int64_t k,
         int64_t s, int64_t p, int64_t op = 0, int64_t dil = 1) {
  Case c{name, dims, n, cin, cout, groups, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, {1, 1, 1}, {0, 0, 0}};
  for (int a = 3 - dims; a < 3; ++a) {
    c.in[a] = in, c.kernel[a] = k, c.stride[a] = s, c.pad_begin[a] = p, c.pad_end[a] = p;
    c.dilation[a] = dil, c.output_padding[a] = op;
  }
  return c;
}

uint64_t seed_for(const std::string& salt) {
  static const uint64_t base = []() -> uint64_t {
    if (const char* fixed = std::getenv("UPS_TEST_SEED")) return std::strtoull(fixed, nullptr, 10);
    return static_cast<uint64_t>(std::random_device{}()) << 32 ^ std::random_device{}();
  }();
  return base ^ std::hash<std::string>{}(salt);
}

detail::TensorGeometry geometry(upsDataType_t dtype, upsLayout_t layout, int64_t n, int64_t c, const int64_t* e) {
  detail::TensorGeometry g;
  g.dtype = dtype;
  g.layout = layout;
  g.n = n;
  g.c = c;
  for (int a = 0; a < 3; ++a) g.extent[a] = e[a];
  const int64_t plane = e[0] * e[1] * e[2];
  if (layout == UPS_LAYOUT_CHANNELS_FIRST) {
    g.stride_n = c * plane, g.stride_c = plane;
    g.stride[0] = e[1] * e[2], g.stride[1] = e[2], g.stride[2] = 1;
  } else {
    g.stride_n = plane * c, g.stride_c = 1;
    g.stride[0] = e[1] * e[2] * c, g.stride[1] = e[2] * c, g.stride[2] = c;
  }
  return g;
}

detail::ConvTransposeProblem make_problem(const Case& c, upsDataType_t dtype, upsLayout_t layout) {
  detail::ConvTransposeProblem p;
  int64_t out[3];
  for (int a = 0; a < 3; ++a) {
    out[a] = (c.in[a] - 1) * c.stride[a] - c.pad_begin[a] - c.pad_end[a] + c.dilation[a] * (c.kernel[a] - 1) + 1 +
             c.output_padding[a];
    p.stride[a] = c.stride[a];
    p.pad_begin[a] = c.pad_begin[a];
    p.dilation[a] = c.dilation[a];
  }
  p.input = geometry(dtype, layout, c.n, c.cin, c.in);
  p.weight = geometry(dtype, layout, c.cin, c.cout / c.groups, c.kernel);
  p.output = geometry(dtype, layout, c.n, c.cout, out);
  p.groups = c.groups;
  p.has_bias = c.bias;
  return p;
}

int64_t dtype_bytes(upsDataType_t dtype) { return dtype == UPS_DTYPE_F64 ? 8 : dtype == UPS_DTYPE_F32 ? 4 : 2; }

struct Host {
  upsDataType_t dtype;
  std::vector<unsigned char> bytes;
  Host(upsDataType_t d, int64_t count) : dtype(d), bytes(static_cast<size_t>(count * dtype_bytes(d))) {}
  int64_t size() const { return static_cast<int64_t>(bytes.size()) / dtype_bytes(dtype); }
  double get(int64_t i) const { return reference::load(dtype, bytes.data(), i); }
  void set(int64_t i, double v) { reference::store(dtype, bytes.data(), i, v); }
};

// Uniform in [-1, 1), or integers in {-1, 0, 1} (then every sum below 2^8 is exact in every dtype).
Host random_tensor(upsDataType_t dtype, int64_t count, std::mt19937_64& rng, bool integers) {
  Host t(dtype, count);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  std::uniform_int_distribution<int> small(-1, 1);
  for (int64_t i = 0; i < count; ++i) t.set(i, integers ? small(rng) : uniform(rng));
  return t;
}

// The same values as f64 (or their absolute values).
Host widened(const Host& t, bool absolute) {
  Host out(UPS_DTYPE_F64, t.size());
  for (int64_t i = 0; i < t.size(); ++i) out.set(i, absolute ? std::fabs(t.get(i)) : t.get(i));
  return out;
}

struct DeviceBuffer {
  void* pointer = nullptr;
  explicit DeviceBuffer(size_t bytes) {
    if (bytes > 0) {
      EXPECT_EQ(cudaMalloc(&pointer, bytes), cudaSuccess);
    }
  }
  ~DeviceBuffer() {
    if (pointer != nullptr) cudaFree(pointer);
  }
};

// Rounding budget per element, relative to the sum of |terms|: the output's rounding, the operands'
// rounding inside the engine (TF32: 2^-11 each, two per product), and one accumulation rounding per
// term (f32 accumulation for every dtype but f64), doubled for slack.
double tolerance(upsDataType_t dtype, bool tf32, int64_t terms) {
  const double output = dtype == UPS_DTYPE_F16    ? std::ldexp(1.0, -11)
                        : dtype == UPS_DTYPE_BF16 ? std::ldexp(1.0, -8)
                        : dtype == UPS_DTYPE_F32  ? std::ldexp(1.0, -24)
                                                  : std::ldexp(1.0, -53);
  const double accumulate = dtype == UPS_DTYPE_F64 ? std::ldexp(1.0, -53) : std::ldexp(1.0, -24);
  const double operands = tf32 ? 2 * std::ldexp(1.0, -11) : 0.0;
  return 2.0 * (output + operands + static_cast<double>(terms + 1) * accumulate);
}

const char* layout_label(upsLayout_t layout) { return layout == UPS_LAYOUT_CHANNELS_LAST ? "NHWC" : "NCHW"; }

// Which GEMM of the engine a case runs: the forward pass (x, w, bias -> y), the data gradient
// (dy, w -> dx; NOTE [ Data gradient on the engine ] in implicit_gemm.cu) or the weight gradient
// (x, dy -> dw; NOTE [ Weight gradient on the engine ] in weight_gradient_kernel.cuh).
enum class Pass { kForward, kDataGradient, kWeightGradient };

// Runs one case on the engine and checks it against the f64 reference; then runs it again and
// requires the same bits. out_shift: the output starts that many elements into its buffer (an
// output that is not 16-byte aligned takes the element-wise store path). integers: inputs in
// {-1, 0, 1} and an exact comparison.
void check_pass(Pass pass, const Case& c, upsDataType_t dtype, upsLayout_t layout, bool allow_tf32,
                ImplicitGemmTile tile, int out_shift, bool integers) {
  const bool forward = pass == Pass::kForward, data = pass == Pass::kDataGradient;
  const std::string label = std::string(forward ? ""
                                        : data  ? "dgrad "
                                                : "wgrad ") +
                            c.name + " " + layout_label(layout) + " dtype " + std::to_string(dtype) +
                            (allow_tf32 ? " tf32" : "") + " tile " + std::to_string(static_cast<int>(tile));
  const uint64_t seed = seed_for(label);
  SCOPED_TRACE(label + ", seed " + std::to_string(seed) +
               " (UPS_TEST_SEED=" + std::to_string(seed ^ std::hash<std::string>{}(label)) + " reproduces it)");
  std::mt19937_64 rng(seed);
  const detail::ConvTransposeProblem problem = make_problem(c, dtype, layout);
  const cuda::ImplicitGemmSupport support =
      forward ? cuda::conv_transpose_implicit_gemm_can_implement(problem, allow_tf32)
      : data  ? cuda::conv_transpose_implicit_gemm_backward_data_can_implement(problem, allow_tf32)
              : cuda::conv_transpose_implicit_gemm_backward_weight_can_implement(problem);
  ASSERT_EQ(support.status, UPS_STATUS_SUCCESS) << support.reason;

  // The two operands (x and w forward, dy and w for the data gradient, x and dy for the weight
  // gradient), the bias (forward only), and the output (y, dx or dw).
  const detail::TensorGeometry& a_geometry = data ? problem.output : problem.input;
  const detail::TensorGeometry& b_geometry = forward || data ? problem.weight : problem.output;
  const detail::TensorGeometry& out_geometry = forward ? problem.output : data ? problem.input : problem.weight;
  const bool with_bias = forward && c.bias;
  const Host a = random_tensor(dtype, a_geometry.elements(), rng, integers);
  const Host w = random_tensor(dtype, b_geometry.elements(), rng, integers);
  const Host bias = random_tensor(dtype, problem.output.c, rng, integers);

  // Reference in f64 from the same (already rounded) values, and the sum of |terms|.
  detail::ConvTransposeProblem wide = problem;
  wide.input.dtype = wide.weight.dtype = wide.output.dtype = UPS_DTYPE_F64;
  Host expected(UPS_DTYPE_F64, out_geometry.elements()), magnitude(UPS_DTYPE_F64, out_geometry.elements());
  const Host ad = widened(a, false), wd = widened(w, false), bd = widened(bias, false);
  const Host aa = widened(a, true), wa = widened(w, true), ba = widened(bias, true);
  auto reference_run = [&](const Host& a_values, const Host& w_values, const Host& b_values, Host& out) {
    if (forward)
      return reference::conv_transpose_forward(wide, a_values.bytes.data(), w_values.bytes.data(),
                                               with_bias ? b_values.bytes.data() : nullptr, out.bytes.data());
    if (data)
      return reference::conv_transpose_backward_data(wide, a_values.bytes.data(), w_values.bytes.data(),
                                                     out.bytes.data());
    return reference::conv_transpose_backward_weight(wide, a_values.bytes.data(), w_values.bytes.data(),
                                                     out.bytes.data());
  };
  ASSERT_EQ(reference_run(ad, wd, bd, expected), UPS_STATUS_SUCCESS);
  ASSERT_EQ(reference_run(aa, wa, ba, magnitude), UPS_STATUS_SUCCESS);

  cuda::conv_transpose_implicit_gemm_force_tile(tile);
  const size_t workspace_bytes =
      forward ? cuda::conv_transpose_implicit_gemm_workspace_bytes(problem, allow_tf32)
      : data  ? cuda::conv_transpose_implicit_gemm_backward_data_workspace_bytes(problem, allow_tf32)
              : cuda::conv_transpose_implicit_gemm_backward_weight_workspace_bytes(problem);
  DeviceBuffer device_a(a.bytes.size()), device_w(w.bytes.size()), device_bias(bias.bytes.size());
  DeviceBuffer device_out(static_cast<size_t>((out_geometry.elements() + out_shift) * dtype_bytes(dtype)));
  DeviceBuffer device_workspace(workspace_bytes);
  void* const out_pointer = static_cast<char*>(device_out.pointer) + out_shift * dtype_bytes(dtype);
  ASSERT_EQ(cudaMemcpy(device_a.pointer, a.bytes.data(), a.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(device_w.pointer, w.bytes.data(), w.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(device_bias.pointer, bias.bytes.data(), bias.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
  cuda::ExecContext exec;
  exec.workspace = device_workspace.pointer;
  exec.workspace_bytes = workspace_bytes;

  Host first(dtype, out_geometry.elements());
  for (int run = 0; run < 2; ++run) {
    // NaN bytes (0xFF.. is NaN in every float dtype): an unwritten output fails the comparison.
    ASSERT_EQ(cudaMemset(out_pointer, 0xFF, first.bytes.size()), cudaSuccess);
    const upsStatus_t status = forward ? cuda::conv_transpose_implicit_gemm_forward(
                                             problem, allow_tf32, device_a.pointer, device_w.pointer,
                                             with_bias ? device_bias.pointer : nullptr, out_pointer, exec)
                               : data ? cuda::conv_transpose_implicit_gemm_backward_data(
                                            problem, allow_tf32, device_a.pointer, device_w.pointer, out_pointer, exec)
                                      : cuda::conv_transpose_implicit_gemm_backward_weight(
                                            problem, device_a.pointer, device_w.pointer, out_pointer, exec);
    ASSERT_EQ(status, UPS_STATUS_SUCCESS);
    Host out(dtype, out_geometry.elements());
    ASSERT_EQ(cudaMemcpy(out.bytes.data(), out_pointer, out.bytes.size(), cudaMemcpyDeviceToHost), cudaSuccess);
    if (run == 1) {
      EXPECT_EQ(std::memcmp(out.bytes.data(), first.bytes.data(), out.bytes.size()), 0) << "repeat differs in bits";
      break;
    }
    first = out;
    // Terms per output (at most): taps x the K side's channels per group (C_in/groups forward,
    // C_out/groups for the data gradient); N x input positions for the weight gradient.
    int64_t terms = forward ? c.cin / c.groups : data ? c.cout / c.groups : 1;
    for (int axis = 0; axis < 3; ++axis) terms *= forward || data ? c.kernel[axis] : c.in[axis];
    if (pass == Pass::kWeightGradient) terms *= c.n;
    const double tol = integers ? 0.0 : tolerance(dtype, allow_tf32 && dtype == UPS_DTYPE_F32, terms);
    int64_t mismatches = 0;
    std::ostringstream report;
    for (int64_t i = 0; i < out.size(); ++i) {
      const double got = out.get(i), want = expected.get(i), bound = tol * magnitude.get(i) + 1e-300;
      if (!(std::fabs(got - want) <= bound)) {
        if (mismatches < 5)
          report << "\n  [" << i << "] got " << got << ", expected " << want << " (bound " << bound << ")";
        ++mismatches;
      }
    }
    EXPECT_EQ(mismatches, 0) << mismatches << " of " << out.size() << " outputs beyond " << tol << " x sum of |terms|"
                             << report.str();
  }
  cuda::conv_transpose_implicit_gemm_force_tile(ImplicitGemmTile::kHeuristic);
}

void check_case(const Case& c, upsDataType_t dtype, upsLayout_t layout, bool allow_tf32,
                ImplicitGemmTile tile = ImplicitGemmTile::kHeuristic, int y_shift = 0, bool integers = false) {
  check_pass(Pass::kForward, c, dtype, layout, allow_tf32, tile, y_shift, integers);
}

void check_weight_gradient(const Case& c, upsDataType_t dtype, upsLayout_t layout,
                           ImplicitGemmTile tile = ImplicitGemmTile::kHeuristic, int dw_shift = 0,
                           bool integers = false) {
  check_pass(Pass::kWeightGradient, c, dtype, layout, false, tile, dw_shift, integers);
}

void check_data_gradient(const Case& c, upsDataType_t dtype, upsLayout_t layout, bool allow_tf32,
                         ImplicitGemmTile tile = ImplicitGemmTile::kHeuristic, int dx_shift = 0,
                         bool integers = false) {
  check_pass(Pass::kDataGradient, c, dtype, layout, allow_tf32, tile, dx_shift, integers);
}

// Reduced versions of bench/shapes.h's transposed convolutions: the same kernel, stride, padding,
// output padding, groups and rank; fewer channels, smaller inputs and batch.
std::vector<Case> reduced_benchmark_cases() {
  std::vector<Case> cases;
  for (const bench::BuiltinShape& b : bench::kBuiltinShapes) {
    if (b.op != bench::Op::kConvTranspose) continue;
    const int64_t scale_c = b.groups == b.c ? 1 : 16;  // depthwise keeps C = groups, reduced below
    int64_t cin = std::max<int64_t>(b.c / scale_c, b.groups == 1 ? 1 : b.groups);
    int64_t cout = std::max<int64_t>(b.cout / scale_c, 3);
    int64_t groups = b.groups;
    if (b.groups == b.c) cin = cout = groups = 24;  // depthwise: 24 channels, one per group
    if (cout % groups != 0) cout = groups * ((cout + groups - 1) / groups);
    const int64_t in = b.dims == 3 ? std::min<int64_t>(b.in, 3) : std::min<int64_t>(b.in, b.dims == 1 ? 12 : 5);
    cases.push_back(iso(b.name, b.dims, std::min<int64_t>(b.n, 2), cin, cout, groups, in, b.kernel, b.stride, b.pad,
                        b.output_padding));
  }
  return cases;
}

std::vector<Case> edge_cases() {
  std::vector<Case> cases = {
      iso("1x1 input", 2, 2, 16, 24, 1, 1, 4, 1, 0),
      iso("C not a multiple of 8", 2, 1, 3, 5, 1, 5, 3, 2, 1),
      iso("kernel < stride (phases without taps)", 2, 1, 8, 8, 1, 4, 2, 3, 0),
      iso("kernel > stride", 2, 1, 16, 16, 1, 4, 5, 2, 2),
      iso("dilation 2 with stride 2 (gcd > 1)", 2, 1, 8, 16, 1, 4, 3, 2, 1, 1, 2),
      iso("dilation 3, stride 2", 1, 2, 16, 8, 1, 9, 4, 2, 3, 0, 3),
      iso("output_padding", 2, 1, 16, 16, 1, 4, 3, 2, 1, 1),
      iso("groups", 2, 1, 32, 48, 4, 4, 4, 2, 1),
      iso("depthwise", 1, 2, 12, 12, 12, 7, 6, 3, 0),
      iso("1-D", 1, 2, 24, 16, 1, 10, 16, 8, 4),
      iso("3-D", 3, 1, 8, 8, 1, 3, 3, 2, 1, 1),
      iso("no bias, stride 1", 2, 1, 40, 72, 1, 5, 3, 1, 1),
  };
  Case asymmetric = iso("asymmetric padding", 2, 1, 8, 16, 1, 4, 4, 2, 0);
  asymmetric.pad_begin[1] = 2, asymmetric.pad_end[1] = 0, asymmetric.pad_begin[2] = 0, asymmetric.pad_end[2] = 3;
  cases.push_back(asymmetric);
  Case anisotropic = iso("anisotropic", 2, 1, 8, 8, 1, 3, 1, 1, 0);
  anisotropic.in[1] = 3, anisotropic.in[2] = 6, anisotropic.kernel[1] = 2, anisotropic.kernel[2] = 5;
  anisotropic.stride[1] = 1, anisotropic.stride[2] = 4, anisotropic.pad_begin[2] = anisotropic.pad_end[2] = 1;
  cases.push_back(anisotropic);
  cases[11].bias = false;  // "no bias, stride 1"
  return cases;
}

class ImplicitGemm : public ::testing::Test {
 protected:
  void SetUp() override {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) GTEST_SKIP() << "no CUDA device";
  }
};

TEST_F(ImplicitGemm, ReducedBenchmarkShapes_TensorOp_F16_NHWC) {
  for (const Case& c : reduced_benchmark_cases()) check_case(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, false);
}

TEST_F(ImplicitGemm, EdgeShapes_TensorOp_F16_NHWC) {
  for (const Case& c : edge_cases()) check_case(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, false);
}

TEST_F(ImplicitGemm, EdgeShapes_TensorOp_BF16_NHWC) {
  for (const Case& c : edge_cases()) check_case(c, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, false);
}

TEST_F(ImplicitGemm, EdgeShapes_TensorOp_F16_NCHW) {
  for (const Case& c : edge_cases()) check_case(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_FIRST, false);
}

TEST_F(ImplicitGemm, ReducedBenchmarkShapes_TensorOp_BF16_NCHW) {
  for (const Case& c : reduced_benchmark_cases()) check_case(c, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST, false);
}

TEST_F(ImplicitGemm, EdgeShapes_TensorOp_TF32_NHWC) {
  for (const Case& c : edge_cases()) check_case(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, true);
}

TEST_F(ImplicitGemm, EdgeShapes_Simt_F32_NHWC) {
  for (const Case& c : edge_cases()) check_case(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, false);
}

TEST_F(ImplicitGemm, EdgeShapes_Simt_F32_NCHW) {
  for (const Case& c : edge_cases()) check_case(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, false);
}

TEST_F(ImplicitGemm, EdgeShapes_Simt_F64_NHWC) {
  for (const Case& c : edge_cases()) check_case(c, UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_LAST, false);
}

// Every tile configuration on shapes that fill several of its tiles and cross a K tile boundary.
TEST_F(ImplicitGemm, EveryTile_TensorOp_F16_NHWC) {
  const Case c = iso("tiles", 2, 1, 40, 136, 1, 6, 3, 2, 1, 1);
  for (ImplicitGemmTile tile :
       {ImplicitGemmTile::k128x128, ImplicitGemmTile::k128x64, ImplicitGemmTile::k128x32, ImplicitGemmTile::k64x64})
    check_case(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, false, tile);
}

TEST_F(ImplicitGemm, EveryTile_TensorOp_BF16_TF32_Simt) {
  const Case c = iso("tiles", 2, 1, 24, 40, 1, 5, 4, 2, 1);
  check_case(c, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, false, ImplicitGemmTile::k128x128);
  check_case(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, true, ImplicitGemmTile::k128x64);
  check_case(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, false, ImplicitGemmTile::k128x128);
  check_case(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, false, ImplicitGemmTile::k64x64);
}

// The remaining dtype x layout pairs on a representative subset of the edge shapes.
TEST_F(ImplicitGemm, EdgeSubset_OtherDtypeLayoutPairs) {
  const std::vector<Case> all = edge_cases();
  const std::vector<Case> subset = {all[1], all[2], all[4], all[7], all[8], all[10], all[11], all[12]};
  for (const Case& c : subset) {
    check_case(c, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST, false);
    check_case(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, true);
    check_case(c, UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST, false);
  }
  for (const Case& c : reduced_benchmark_cases()) {
    check_case(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, true);
    check_case(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, false);
  }
}

// Several M tiles per phase, several N tiles, three K tiles per tap (C_in = 72 pads to 96 f16
// channels), under two forced tiles (the heuristic picks 64x64 here, which EveryTile covers).
TEST_F(ImplicitGemm, MultiTile_TensorOp_F16_BF16_NHWC) {
  const Case c = iso("multi-tile", 2, 2, 72, 136, 1, 9, 4, 2, 1);
  check_case(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, false, ImplicitGemmTile::k128x128);
  check_case(c, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, false, ImplicitGemmTile::k128x32);
}

// An output that is not 16-byte aligned (scalar channels-last stores), both paths.
TEST_F(ImplicitGemm, UnalignedOutput_F16_F32_NHWC) {
  const Case c = iso("unaligned y", 2, 1, 16, 24, 1, 4, 3, 2, 1, 1);
  check_case(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, false, ImplicitGemmTile::kHeuristic, 1);
  check_case(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, false, ImplicitGemmTile::kHeuristic, 1);
}

// Small-integer inputs: every product and partial sum is exact, so the result must equal the
// reference bit for bit in every dtype and path.
TEST_F(ImplicitGemm, IntegerInputsExact_AllPaths) {
  const Case c = iso("integers", 2, 2, 24, 40, 1, 5, 4, 2, 1);
  for (upsLayout_t layout : {UPS_LAYOUT_CHANNELS_LAST, UPS_LAYOUT_CHANNELS_FIRST}) {
    check_case(c, UPS_DTYPE_F16, layout, false, ImplicitGemmTile::kHeuristic, 0, true);
    check_case(c, UPS_DTYPE_BF16, layout, false, ImplicitGemmTile::kHeuristic, 0, true);
    check_case(c, UPS_DTYPE_F32, layout, true, ImplicitGemmTile::kHeuristic, 0, true);
    check_case(c, UPS_DTYPE_F32, layout, false, ImplicitGemmTile::kHeuristic, 0, true);
    check_case(c, UPS_DTYPE_F64, layout, false, ImplicitGemmTile::kHeuristic, 0, true);
  }
}

// The SIMT twin for f16/bf16 (forced: what a GPU below sm_80 could run; the emulated device is an
// sm_90).
TEST_F(ImplicitGemm, EdgeShapes_SimtBelowSm80_F16_BF16) {
  cuda::conv_transpose_implicit_gemm_force_simt(true);
  const std::vector<Case> all = edge_cases();
  for (const Case& c : all) check_case(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, false);
  for (const Case& c : {all[1], all[2], all[7], all[10]}) {
    check_case(c, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST, false);
    check_case(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, true);  // TF32 allowed, exact f32 runs
  }
  check_case(iso("simt 128x128", 2, 1, 24, 40, 1, 5, 4, 2, 1), UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, false,
             ImplicitGemmTile::k128x128);
  cuda::conv_transpose_implicit_gemm_force_simt(false);
}

TEST_F(ImplicitGemm, CanImplementAtComputeCapability) {
  const detail::ConvTransposeProblem p =
      make_problem(iso("cc", 2, 1, 16, 16, 1, 3, 2, 2, 0), UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST);
  cuda::ImplicitGemmSupport s = cuda::conv_transpose_implicit_gemm_can_implement_on(p, false, 90);
  EXPECT_EQ(s.status, UPS_STATUS_SUCCESS);
  EXPECT_NE(std::string(s.reason).find("tensor-core"), std::string::npos) << s.reason;
  s = cuda::conv_transpose_implicit_gemm_can_implement_on(p, false, 75);
  EXPECT_EQ(s.status, UPS_STATUS_NOT_SUPPORTED);
  EXPECT_NE(std::string(s.reason).find("8.0"), std::string::npos) << s.reason;
  detail::ConvTransposeProblem f32 = p;
  f32.input.dtype = f32.weight.dtype = f32.output.dtype = UPS_DTYPE_F32;
  s = cuda::conv_transpose_implicit_gemm_can_implement_on(f32, false, 75);
  EXPECT_EQ(s.status, UPS_STATUS_SUCCESS);
  EXPECT_NE(std::string(s.reason).find("SIMT"), std::string::npos) << s.reason;
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_can_implement_on(f32, true, 75).status, UPS_STATUS_NOT_SUPPORTED);
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_can_implement_on(f32, false, 70).status, UPS_STATUS_NOT_SUPPORTED);
}

TEST_F(ImplicitGemm, CanImplementSaysWhy) {
  Case c = iso("stride 17", 1, 1, 8, 8, 1, 4, 17, 17, 0);
  cuda::ImplicitGemmSupport s =
      cuda::conv_transpose_implicit_gemm_can_implement(make_problem(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST), false);
  EXPECT_EQ(s.status, UPS_STATUS_NOT_SUPPORTED);
  EXPECT_NE(std::string(s.reason).find("stride"), std::string::npos) << s.reason;
  c = iso("many taps", 1, 1, 8, 8, 1, 4, 40, 2, 0);
  s = cuda::conv_transpose_implicit_gemm_can_implement(make_problem(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST), false);
  EXPECT_EQ(s.status, UPS_STATUS_NOT_SUPPORTED);
  detail::ConvTransposeProblem p =
      make_problem(iso("i64", 1, 1, 8, 8, 1, 4, 2, 2, 0), UPS_DTYPE_I64, UPS_LAYOUT_CHANNELS_LAST);
  s = cuda::conv_transpose_implicit_gemm_can_implement(p, false);
  EXPECT_EQ(s.status, UPS_STATUS_NOT_SUPPORTED);
}

TEST_F(ImplicitGemm, RejectsMisalignedInputAndSmallWorkspace) {
  const Case c = iso("aligned", 2, 1, 16, 16, 1, 3, 2, 2, 0);
  const detail::ConvTransposeProblem p = make_problem(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST);
  const size_t bytes = cuda::conv_transpose_implicit_gemm_workspace_bytes(p, false);
  ASSERT_GT(bytes, 0u);
  DeviceBuffer x(static_cast<size_t>(p.input.elements() * 2 + 16)), w(static_cast<size_t>(p.weight.elements() * 2)),
      y(static_cast<size_t>(p.output.elements() * 2)), ws(bytes);
  cuda::ExecContext exec;
  exec.workspace = ws.pointer;
  exec.workspace_bytes = bytes - 1;
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_forward(p, false, x.pointer, w.pointer, nullptr, y.pointer, exec),
            UPS_STATUS_WORKSPACE_TOO_SMALL);
  exec.workspace_bytes = bytes;
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_forward(p, false, static_cast<char*>(x.pointer) + 2, w.pointer, nullptr,
                                                       y.pointer, exec),
            UPS_STATUS_MISALIGNED);
}

// --- the data gradient on the engine ---------------------------------------------------------------
// The same cases through the data gradient's view: dy is the A operand, w is read transposed and
// reversed, dx is the output (every edge shape: groups, depthwise, dilation, output_padding,
// asymmetric padding, 1-D, 3-D, phases without taps, channel counts off the 16-byte grid).

TEST_F(ImplicitGemm, DataGradient_ReducedBenchmarkShapes_TensorOp_BF16_NHWC) {
  for (const Case& c : sanitizer_subset(reduced_benchmark_cases()))
    check_data_gradient(c, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, false);
}

TEST_F(ImplicitGemm, DataGradient_ReducedBenchmarkShapes_TensorOp_F16_NCHW) {
  for (const Case& c : sanitizer_subset(reduced_benchmark_cases()))
    check_data_gradient(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_FIRST, false);
}

TEST_F(ImplicitGemm, DataGradient_EdgeShapes_TensorOp_F16_BF16) {
  for (const Case& c : sanitizer_subset(edge_cases())) {
    check_data_gradient(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, false);
    check_data_gradient(c, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST, false);
  }
}

TEST_F(ImplicitGemm, DataGradient_EdgeShapes_TF32_Simt_F32_F64) {
  for (const Case& c : sanitizer_subset(edge_cases())) {
    check_data_gradient(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, true);
    check_data_gradient(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, false);
    check_data_gradient(c, UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_LAST, false);
  }
}

TEST_F(ImplicitGemm, DataGradient_EveryTile) {
  // C_out/groups = 72 pads to 96 f16 channels: three K tiles per tap; C_in = 136 fills two N tiles.
  const Case c = iso("dgrad tiles", 2, 2, 136, 72, 1, 7, 4, 2, 1);
  for (ImplicitGemmTile tile :
       {ImplicitGemmTile::k128x128, ImplicitGemmTile::k128x64, ImplicitGemmTile::k128x32, ImplicitGemmTile::k64x64})
    if (!kSanitizerBuild || tile == ImplicitGemmTile::k128x128)
      check_data_gradient(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, false, tile);
  if (kSanitizerBuild) return;
  check_data_gradient(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, false, ImplicitGemmTile::k128x128);
  check_data_gradient(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, true, ImplicitGemmTile::k128x64);
}

TEST_F(ImplicitGemm, DataGradient_IntegerInputsExact_UnalignedOutput) {
  const Case c = iso("dgrad integers", 2, 2, 40, 24, 1, 5, 4, 2, 1, 1);
  for (upsLayout_t layout : {UPS_LAYOUT_CHANNELS_LAST, UPS_LAYOUT_CHANNELS_FIRST}) {
    check_data_gradient(c, UPS_DTYPE_F16, layout, false, ImplicitGemmTile::kHeuristic, 0, true);
    check_data_gradient(c, UPS_DTYPE_BF16, layout, false, ImplicitGemmTile::kHeuristic, 0, true);
    check_data_gradient(c, UPS_DTYPE_F32, layout, true, ImplicitGemmTile::kHeuristic, 0, true);
    check_data_gradient(c, UPS_DTYPE_F64, layout, false, ImplicitGemmTile::kHeuristic, 0, true);
  }
  check_data_gradient(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, false, ImplicitGemmTile::kHeuristic, 1);
  check_data_gradient(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, false, ImplicitGemmTile::kHeuristic, 1);
}

TEST_F(ImplicitGemm, DataGradient_SimtBelowSm80_F16_BF16) {
  cuda::conv_transpose_implicit_gemm_force_simt(true);
  const std::vector<Case> all = edge_cases();
  for (const Case& c : {all[1], all[4], all[7], all[9], all[10]}) {
    check_data_gradient(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, false);
    check_data_gradient(c, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST, false);
  }
  cuda::conv_transpose_implicit_gemm_force_simt(false);
}

TEST_F(ImplicitGemm, DataGradient_CanImplementSaysWhy) {
  // One phase holds every tap: 17 taps on an axis, or more than 64 in all, are refused.
  cuda::ImplicitGemmSupport s = cuda::conv_transpose_implicit_gemm_backward_data_can_implement(
      make_problem(iso("k17", 1, 1, 8, 8, 1, 4, 17, 2, 0), UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST), false);
  EXPECT_EQ(s.status, UPS_STATUS_NOT_SUPPORTED);
  EXPECT_NE(std::string(s.reason).find("16 taps"), std::string::npos) << s.reason;
  s = cuda::conv_transpose_implicit_gemm_backward_data_can_implement(
      make_problem(iso("k9x9", 2, 1, 8, 8, 1, 4, 9, 2, 0), UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST), false);
  EXPECT_EQ(s.status, UPS_STATUS_NOT_SUPPORTED);
  EXPECT_NE(std::string(s.reason).find("64 taps"), std::string::npos) << s.reason;
  // The forward takes that kernel (stride 2 splits it into phases of at most 25 taps).
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_can_implement(
                make_problem(iso("k9x9", 2, 1, 8, 8, 1, 4, 9, 2, 0), UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST), false)
                .status,
            UPS_STATUS_SUCCESS);
  // The anchor i * stride + (K-1) * dilation must stay below 2^30.
  detail::ConvTransposeProblem far =
      make_problem(iso("far", 1, 1, 8, 8, 1, 4, 2, 2, 0), UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST);
  far.dilation[2] = int64_t{1} << 30;
  s = cuda::conv_transpose_implicit_gemm_backward_data_can_implement(far, false);
  EXPECT_EQ(s.status, UPS_STATUS_OVERFLOW);
  const detail::ConvTransposeProblem f16 =
      make_problem(iso("cc", 2, 1, 16, 16, 1, 3, 2, 2, 0), UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST);
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_backward_data_can_implement_on(f16, false, 90).status,
            UPS_STATUS_SUCCESS);
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_backward_data_can_implement_on(f16, false, 75).status,
            UPS_STATUS_NOT_SUPPORTED);
}

TEST_F(ImplicitGemm, DataGradient_RejectsMisalignedDyAndSmallWorkspace) {
  const detail::ConvTransposeProblem p =
      make_problem(iso("aligned", 2, 1, 16, 16, 1, 3, 2, 2, 0), UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST);
  const size_t bytes = cuda::conv_transpose_implicit_gemm_backward_data_workspace_bytes(p, false);
  ASSERT_GT(bytes, 0u);
  DeviceBuffer dy(static_cast<size_t>(p.output.elements() * 2 + 16)), w(static_cast<size_t>(p.weight.elements() * 2)),
      dx(static_cast<size_t>(p.input.elements() * 2)), ws(bytes);
  cuda::ExecContext exec;
  exec.workspace = ws.pointer;
  exec.workspace_bytes = bytes - 1;
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_backward_data(p, false, dy.pointer, w.pointer, dx.pointer, exec),
            UPS_STATUS_WORKSPACE_TOO_SMALL);
  exec.workspace_bytes = bytes;
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_backward_data(p, false, static_cast<char*>(dy.pointer) + 2, w.pointer,
                                                             dx.pointer, exec),
            UPS_STATUS_MISALIGNED);
}

// --- the weight gradient on the engine -------------------------------------------------------------
// f16/bf16 on tensor cores: x and dy staged as position rows, ldmatrix.trans fragments, the
// shape-fixed K split into the f32 workspace, then the ordered combine. The same case lists as the
// other passes: every edge shape in both layouts (NCHW and channel counts off the 8-channel grid
// take the pack), the reduced benchmark shapes, exact small integers, repeats bit for bit.

TEST_F(ImplicitGemm, WeightGradient_ReducedBenchmarkShapes_BF16_NHWC_F16_NCHW) {
  for (const Case& c : sanitizer_subset(reduced_benchmark_cases())) {
    check_weight_gradient(c, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST);
    check_weight_gradient(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_FIRST);
  }
}

TEST_F(ImplicitGemm, WeightGradient_EdgeShapes_F16_BF16_BothLayouts) {
  for (const Case& c : sanitizer_subset(edge_cases())) {
    check_weight_gradient(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST);
    check_weight_gradient(c, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST);
  }
}

TEST_F(ImplicitGemm, WeightGradient_IntegerInputsExact_ManySplits) {
  // N x positions = 2 x 16 x 16 = 512 positions: 16 K tiles, split in two chunks (54 CTAs per
  // split over 9 taps); C_in/C_out of 72/136 cross the 64-channel tiles.
  const Case many = iso("wgrad splits", 2, 2, 72, 136, 1, 16, 3, 2, 1, 1);
  const Case groups = iso("wgrad groups", 2, 2, 48, 32, 2, 9, 4, 2, 1);
  if (kSanitizerBuild) {  // the same kernels: one layout per case suffices there
    check_weight_gradient(many, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, ImplicitGemmTile::kHeuristic, 0, true);
    check_weight_gradient(groups, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST, ImplicitGemmTile::kHeuristic, 0, true);
    return;
  }
  for (upsLayout_t layout : {UPS_LAYOUT_CHANNELS_LAST, UPS_LAYOUT_CHANNELS_FIRST})
    for (const Case& c : {many, groups}) {
      check_weight_gradient(c, UPS_DTYPE_F16, layout, ImplicitGemmTile::kHeuristic, 0, true);
      check_weight_gradient(c, UPS_DTYPE_BF16, layout, ImplicitGemmTile::kHeuristic, 0, true);
    }
  check_weight_gradient(many, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, ImplicitGemmTile::kHeuristic, 1);
}

// Both tile configurations on one shape (72 x 136 channels: partial tiles in both), and the
// 128 x 128 tile chosen by the heuristic (128+ channels on both sides).
TEST_F(ImplicitGemm, WeightGradient_EveryTile) {
  const Case c = iso("wgrad tiles", 2, 1, 72, 136, 1, 6, 3, 2, 1, 1);
  for (ImplicitGemmTile tile : {ImplicitGemmTile::k128x128, ImplicitGemmTile::k64x64}) {
    check_weight_gradient(c, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, tile);
    check_weight_gradient(c, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_FIRST, tile, 0, true);
  }
  check_weight_gradient(iso("wgrad large", 2, 1, 160, 128, 1, 5, 2, 2, 0), UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST);
}

TEST_F(ImplicitGemm, WeightGradient_CanImplementSaysWhy) {
  const Case c = iso("wgrad", 2, 1, 16, 16, 1, 3, 2, 2, 0);
  cuda::ImplicitGemmSupport s = cuda::conv_transpose_implicit_gemm_backward_weight_can_implement(
      make_problem(c, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST));
  EXPECT_EQ(s.status, UPS_STATUS_NOT_SUPPORTED);
  EXPECT_NE(std::string(s.reason).find("f16 and bf16"), std::string::npos) << s.reason;
  const detail::ConvTransposeProblem bf16 = make_problem(c, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST);
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_backward_weight_can_implement_on(bf16, 80).status, UPS_STATUS_SUCCESS);
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_backward_weight_can_implement_on(bf16, 75).status,
            UPS_STATUS_NOT_SUPPORTED);
  detail::ConvTransposeProblem huge = bf16;
  huge.input.n = int64_t{1} << 28;  // N x 9 positions >= 2^31
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_backward_weight_can_implement(huge).status, UPS_STATUS_OVERFLOW);
  // No output channels (C_out = 0): no channel tiles, an empty dw, and a plan that must not divide
  // by the empty CTA count (found by the fuzzer: a division by zero).
  const detail::ConvTransposeProblem no_channels =
      make_problem(iso("no channels", 2, 1, 16, 0, 1, 3, 2, 2, 0), UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST);
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_backward_weight_can_implement(no_channels).status, UPS_STATUS_SUCCESS);
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_backward_weight_workspace_bytes(no_channels), 0u);
  cuda::ExecContext exec;
  EXPECT_EQ(cuda::conv_transpose_implicit_gemm_backward_weight(no_channels, nullptr, nullptr, nullptr, exec),
            UPS_STATUS_SUCCESS);
}

}  // namespace
}  // namespace upsample::test

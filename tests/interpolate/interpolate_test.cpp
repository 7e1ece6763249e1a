// Interpolation (issue 13): hand-checked values from PyTorch's documented behaviour, output sizes
// with PyTorch's rounding, every bad input, adjointness and finite differences in f64, and the
// (emulated) CUDA kernels against the CPU reference on every mode x dtype x layout x rank,
// forward and backward, with bit-identical repeats of the backward.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/index_width.h"
#include "test_util.h"
#include "upsample/upsample.h"

namespace upsample::test {
namespace {

const upsBackend_t kBackends[] = {UPS_BACKEND_REFERENCE, UPS_BACKEND_CUDA};
const upsDataType_t kDtypes[] = {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16};
const upsLayout_t kLayouts[] = {UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST};

const char* mode_label(upsInterpolateMode_t m) {
  switch (m) {
    case UPS_INTERPOLATE_NEAREST: return "nearest";
    case UPS_INTERPOLATE_NEAREST_EXACT: return "nearest-exact";
    case UPS_INTERPOLATE_LINEAR: return "linear";
    case UPS_INTERPOLATE_BICUBIC: return "bicubic";
    case UPS_INTERPOLATE_AREA: return "area";
  }
  return "?";
}

upsInterpolateDesc_t sized(upsInterpolateMode_t mode, std::vector<int64_t> size, bool align = false,
                           bool antialias = false) {
  upsInterpolateDesc_t d;
  EXPECT_EQ(upsInterpolateDescInit(&d, mode, static_cast<int>(size.size())), UPS_STATUS_SUCCESS);
  for (size_t i = 0; i < size.size(); ++i) d.output_size[i] = size[i];
  d.align_corners = align;
  d.antialias = antialias;
  return d;
}

upsInterpolateDesc_t scaled(upsInterpolateMode_t mode, std::vector<double> scale, bool recompute = false,
                            bool align = false, bool antialias = false) {
  upsInterpolateDesc_t d;
  EXPECT_EQ(upsInterpolateDescInit(&d, mode, static_cast<int>(scale.size())), UPS_STATUS_SUCCESS);
  for (size_t i = 0; i < scale.size(); ++i) d.scale_factor[i] = scale[i];
  d.recompute_scale_factor = recompute;
  d.align_corners = align;
  d.antialias = antialias;
  return d;
}

std::string describe(const upsInterpolateDesc_t& d, const upsTensorDesc_t& x) {
  std::string s = std::string(mode_label(d.mode)) + " " + std::to_string(d.spatial_dims) + "-D " +
                  dtype_label(x.dtype) + (x.layout == UPS_LAYOUT_CHANNELS_LAST ? " NHWC" : " NCHW") + " in (";
  for (int i = 0; i < x.spatial_dims; ++i) s += (i ? "," : "") + std::to_string(x.spatial[i]);
  s += ") size (";
  for (int i = 0; i < d.spatial_dims; ++i) s += (i ? "," : "") + std::to_string(d.output_size[i]);
  s += ") scale (";
  for (int i = 0; i < d.spatial_dims; ++i) s += (i ? "," : "") + std::to_string(d.scale_factor[i]);
  s += ") align " + std::to_string(d.align_corners) + " aa " + std::to_string(d.antialias) + " recompute " +
       std::to_string(d.recompute_scale_factor) + " N " + std::to_string(x.n) + " C " + std::to_string(x.c);
  return s;
}

// Runs the forward on a backend: y poisoned first.
HostTensor run_forward(upsBackend_t backend, const upsInterpolateDesc_t& d, const HostTensor& x) {
  upsTensorDesc_t yd;
  EXPECT_EQ(upsInterpolateOutputDesc(&d, &x.desc, &yd), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
  HostTensor y(yd);
  y.poison();
  HandleGuard h(backend);
  Buffer bx(backend, x), by(backend, y);
  const upsStatus_t s = upsInterpolateForward(h.get(), &d, &x.desc, bx.get(), &yd, by.get());
  EXPECT_EQ(s, UPS_STATUS_SUCCESS) << status_text(s);
  by.download(&y);
  return y;
}

HostTensor run_backward(upsBackend_t backend, const upsInterpolateDesc_t& d, const HostTensor& dy,
                        const upsTensorDesc_t& x_desc) {
  HostTensor dx(x_desc);
  dx.poison();
  HandleGuard h(backend);
  Buffer bdy(backend, dy), bdx(backend, dx);
  const upsStatus_t s = upsInterpolateBackward(h.get(), &d, &dy.desc, bdy.get(), &x_desc, bdx.get());
  EXPECT_EQ(s, UPS_STATUS_SUCCESS) << status_text(s);
  bdx.download(&dx);
  return dx;
}

HostTensor from_values(upsDataType_t dtype, upsLayout_t layout, std::vector<int64_t> spatial,
                       const std::vector<double>& values) {
  HostTensor t(make_desc(dtype, layout, 1, 1, spatial));
  for (size_t i = 0; i < values.size(); ++i) t.set(static_cast<int64_t>(i), values[i]);
  return t;
}

void expect_values(const HostTensor& y, const std::vector<double>& expected, double tol) {
  ASSERT_EQ(y.size(), static_cast<int64_t>(expected.size()));
  for (int64_t i = 0; i < y.size(); ++i)
    EXPECT_NEAR(y.get(i), expected[static_cast<size_t>(i)], tol) << "element " << i;
}

// ---------------------------------------------------------------------------------------------
// Hand-checked values (PyTorch's documented results, recomputed by hand in the comments).
// ---------------------------------------------------------------------------------------------
class InterpolateHand : public ::testing::TestWithParam<upsBackend_t> {};

TEST_P(InterpolateHand, Bilinear2x2To4x4) {
  const HostTensor x = from_values(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, {2, 2}, {1, 2, 3, 4});
  // align_corners=False: s = 0.5, src = max(0.5*(o+0.5) - 0.5, 0) = 0, 0.25, 0.75, 1.25 (clamped to
  // the last input) per axis.
  expect_values(run_forward(GetParam(), sized(UPS_INTERPOLATE_LINEAR, {4, 4}), x),
                {1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0}, 1e-6);
  // align_corners=True: s = 1/3, src = 0, 1/3, 2/3, 1.
  // Each row is row 0 (1, 4/3, 5/3, 2) plus 2 * (its src = 0, 1/3, 2/3, 1).
  std::vector<double> aligned;
  for (int r = 0; r < 4; ++r)
    for (int w = 0; w < 4; ++w) aligned.push_back(1.0 + w / 3.0 + 2.0 * r / 3.0);
  expect_values(run_forward(GetParam(), sized(UPS_INTERPOLATE_LINEAR, {4, 4}, true), x), aligned, 1e-6);
  // scale_factor 2 without recompute maps by 1/2, the same as size 4: identical values.
  expect_values(run_forward(GetParam(), scaled(UPS_INTERPOLATE_LINEAR, {2.0, 2.0}), x),
                {1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0}, 1e-6);
}

TEST_P(InterpolateHand, NearestVersusNearestExactAtScale1_5) {
  // torch.arange(4.) at scale_factor 1.5 -> 6 outputs, s = float(1/1.5):
  //   nearest:       floor(o*s)       = 0 0 1 2 2 3
  //   nearest-exact: floor((o+0.5)*s) = 0 1 1 2 3 3
  const HostTensor x = from_values(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, {4}, {0, 1, 2, 3});
  expect_values(run_forward(GetParam(), scaled(UPS_INTERPOLATE_NEAREST, {1.5}), x), {0, 0, 1, 2, 2, 3}, 0);
  expect_values(run_forward(GetParam(), scaled(UPS_INTERPOLATE_NEAREST_EXACT, {1.5}), x), {0, 1, 1, 2, 3, 3}, 0);
  // Downscale 5 -> 2 by size: s = 2.5; nearest reads 0, 2; nearest-exact floor(1.25)=1, floor(3.75)=3.
  const HostTensor x5 = from_values(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, {5}, {0, 1, 2, 3, 4});
  expect_values(run_forward(GetParam(), sized(UPS_INTERPOLATE_NEAREST, {2}), x5), {0, 2}, 0);
  expect_values(run_forward(GetParam(), sized(UPS_INTERPOLATE_NEAREST_EXACT, {2}), x5), {1, 3}, 0);
}

TEST_P(InterpolateHand, BicubicValues) {
  // W: 4 -> 8, s = 0.5, A = -0.75. Output 0: src = -0.25, floor -1, t = 0.75, taps clamp(-2..1) =
  // 0 0 0 1 with coefficients -0.03515625 0.26171875 0.87890625 -0.10546875 -> 0.89453125.
  // Output 3: src = 1.25, taps 0..3, coefficients -0.10546875 0.87890625 0.26171875 -0.03515625
  // -> 2.41796875. H: 1 -> 1 is the identity (coefficients 0 1 0 0).
  const HostTensor x = from_values(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST, {1, 4}, {1, 2, 4, 8});
  const HostTensor y = run_forward(GetParam(), sized(UPS_INTERPOLATE_BICUBIC, {1, 8}), x);
  EXPECT_NEAR(y.get(0), 0.89453125, 1e-12);
  EXPECT_NEAR(y.get(3), 2.41796875, 1e-12);
}

TEST_P(InterpolateHand, AreaAndAntialias) {
  // Area 5 -> 3: windows [0,2) [1,4) [3,5).
  const HostTensor x5 = from_values(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST, {5}, {1, 2, 4, 8, 16});
  expect_values(run_forward(GetParam(), sized(UPS_INTERPOLATE_AREA, {3}), x5), {1.5, 14.0 / 3.0, 12.0}, 1e-12);
  // Antialiased bilinear W 4 -> 2 (s = 2, support 2, tent of half-width 2): output 0 centres at 1,
  // window [0, 3), weights 0.75 0.75 0.25 / 1.75; output 1 centres at 3, window [1, 4), weights
  // 0.25 0.75 0.75 / 1.75 (PIL's values).
  const HostTensor x = from_values(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST, {1, 4}, {1, 2, 4, 8});
  expect_values(run_forward(GetParam(), sized(UPS_INTERPOLATE_LINEAR, {1, 2}, false, true), x),
                {13.0 / 7.0, 9.5 / 1.75}, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Backends, InterpolateHand, ::testing::ValuesIn(kBackends),
                         [](const auto& param_info) { return param_info.param == UPS_BACKEND_CUDA ? "Cuda" : "Reference"; });

// ---------------------------------------------------------------------------------------------
// Output sizes: floor(in * scale) in double, as PyTorch computes them.
// ---------------------------------------------------------------------------------------------
TEST(InterpolateReference, OutputSizeRounding) {
  struct Case {
    int64_t in;
    double scale;
    int64_t out;
  } cases[] = {{7, 1.7, 11}, {10, 0.3, 3}, {3, 7.0 / 3.0, 7}, {5, 0.3, 1}, {100, 0.29, 28}, {13, 2.0, 26}, {1, 1.7, 1}};
  for (const Case& c : cases) {
    const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {c.in});
    const upsInterpolateDesc_t d = scaled(UPS_INTERPOLATE_LINEAR, {c.scale});
    upsTensorDesc_t y;
    UPS_ASSERT_OK(upsInterpolateOutputDesc(&d, &x, &y));
    EXPECT_EQ(y.spatial[0], c.out) << c.in << " * " << c.scale;
  }
}

// ---------------------------------------------------------------------------------------------
// Bad input: each gets its own status and a message naming the argument.
// ---------------------------------------------------------------------------------------------
TEST(InterpolateReference, BadInputTable) {
  const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {4, 4});
  struct Case {
    const char* what;
    upsInterpolateDesc_t desc;
    upsStatus_t status;
    const char* message;
  };
  auto both = scaled(UPS_INTERPOLATE_LINEAR, {2, 2});
  both.output_size[0] = both.output_size[1] = 8;
  auto neither = sized(UPS_INTERPOLATE_LINEAR, {0, 0});
  auto bad_mode = sized(UPS_INTERPOLATE_LINEAR, {8, 8});
  const int seven = 7;
  std::memcpy(&bad_mode.mode, &seven, sizeof seven);
  auto bad_struct = sized(UPS_INTERPOLATE_LINEAR, {8, 8});
  bad_struct.struct_size = 4;
  auto bicubic1d = sized(UPS_INTERPOLATE_LINEAR, {8});
  bicubic1d.mode = UPS_INTERPOLATE_BICUBIC;
  Case cases[] = {
      {"both size and scale", both, UPS_STATUS_BAD_PARAMETER, "are both set"},
      {"neither size nor scale", neither, UPS_STATUS_BAD_PARAMETER, "neither output_size nor scale_factor"},
      {"zero scale", scaled(UPS_INTERPOLATE_LINEAR, {2, 0.0}), UPS_STATUS_BAD_PARAMETER, "scale_factor[1]: expected > 0"},
      {"negative scale", scaled(UPS_INTERPOLATE_LINEAR, {-2, 2}), UPS_STATUS_BAD_PARAMETER,
       "scale_factor[0]: expected > 0"},
      {"infinite scale", scaled(UPS_INTERPOLATE_LINEAR, {2, INFINITY}), UPS_STATUS_BAD_PARAMETER,
       "scale_factor[1]: expected a finite value"},
      {"NaN scale", scaled(UPS_INTERPOLATE_LINEAR, {NAN, 2}), UPS_STATUS_BAD_PARAMETER,
       "scale_factor[0]: expected a finite value"},
      {"scale flooring to 0", scaled(UPS_INTERPOLATE_LINEAR, {0.1, 2}), UPS_STATUS_BAD_EXTENT, "output extent floor"},
      {"negative size", sized(UPS_INTERPOLATE_LINEAR, {8, -1}), UPS_STATUS_BAD_EXTENT, "output_size[1]"},
      {"align_corners with nearest", sized(UPS_INTERPOLATE_NEAREST, {8, 8}, true), UPS_STATUS_BAD_PARAMETER,
       "align_corners: only LINEAR and BICUBIC"},
      {"align_corners with area", sized(UPS_INTERPOLATE_AREA, {2, 2}, true), UPS_STATUS_BAD_PARAMETER,
       "align_corners: only LINEAR and BICUBIC"},
      {"antialias with nearest", sized(UPS_INTERPOLATE_NEAREST, {2, 2}, false, true), UPS_STATUS_BAD_PARAMETER,
       "antialias: only 2-D LINEAR"},
      {"antialias when upscaling", sized(UPS_INTERPOLATE_LINEAR, {8, 8}, false, true), UPS_STATUS_BAD_PARAMETER,
       "no axis of"},
      {"bad mode", bad_mode, UPS_STATUS_BAD_PARAMETER, "desc.mode"},
      {"struct_size too small", bad_struct, UPS_STATUS_BAD_PARAMETER, "struct_size"},
      {"bicubic 1-D", bicubic1d, UPS_STATUS_NOT_SUPPORTED, "BICUBIC is 2-D only"},
  };
  for (const Case& c : cases) {
    upsTensorDesc_t y;
    const upsTensorDesc_t xx = c.desc.spatial_dims == 1 ? make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {4}) : x;
    EXPECT_EQ(upsInterpolateOutputDesc(&c.desc, &xx, &y), c.status) << c.what << ": " << upsGetLastErrorString();
    EXPECT_NE(std::string(upsGetLastErrorString()).find(c.message), std::string::npos)
        << c.what << ": message was: " << upsGetLastErrorString();
  }
  // Antialias in 3-D linear has no filter; a wrong y or dy shape is named.
  auto aa3 = sized(UPS_INTERPOLATE_LINEAR, {2, 2, 2}, false, true);
  upsTensorDesc_t y;
  const upsTensorDesc_t x3 = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {4, 4, 4});
  EXPECT_EQ(upsInterpolateOutputDesc(&aa3, &x3, &y), UPS_STATUS_BAD_PARAMETER);
  HandleGuard h(UPS_BACKEND_REFERENCE);
  const auto d = sized(UPS_INTERPOLATE_LINEAR, {8, 8});
  const upsTensorDesc_t wrong = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {8, 7});
  std::vector<float> buf(1000);
  EXPECT_EQ(upsInterpolateForward(h.get(), &d, &x, buf.data(), &wrong, buf.data() + 100), UPS_STATUS_SHAPE_MISMATCH);
  EXPECT_EQ(upsInterpolateBackward(h.get(), &d, &wrong, buf.data(), &x, buf.data() + 500),
            UPS_STATUS_GRADIENT_SHAPE_MISMATCH);
  const upsTensorDesc_t empty_spatial = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {0, 4});
  EXPECT_EQ(upsInterpolateOutputDesc(&d, &empty_spatial, &y), UPS_STATUS_BAD_EXTENT);
  const upsTensorDesc_t ints = make_desc(UPS_DTYPE_I64, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {4, 4});
  EXPECT_EQ(upsInterpolateOutputDesc(&d, &ints, &y), UPS_STATUS_NOT_SUPPORTED);
}

// ---------------------------------------------------------------------------------------------
// The configurations every property below runs over: each mode at each of its ranks, up and down,
// by size and by scale (1.7, 0.3, 7/3, with and without recompute), align_corners, antialias, on
// prime extents.
// ---------------------------------------------------------------------------------------------
struct Config {
  upsInterpolateDesc_t desc;
  std::vector<int64_t> in;
};

std::vector<Config> configs() {
  std::vector<Config> out;
  const upsInterpolateMode_t modes[] = {UPS_INTERPOLATE_NEAREST, UPS_INTERPOLATE_NEAREST_EXACT, UPS_INTERPOLATE_LINEAR,
                                        UPS_INTERPOLATE_BICUBIC, UPS_INTERPOLATE_AREA};
  for (upsInterpolateMode_t m : modes)
    for (int dims = 1; dims <= 3; ++dims) {
      if (m == UPS_INTERPOLATE_BICUBIC && dims != 2) continue;
      const bool aligns = m == UPS_INTERPOLATE_LINEAR || m == UPS_INTERPOLATE_BICUBIC;
      std::vector<int64_t> in = dims == 1 ? std::vector<int64_t>{13} : dims == 2 ? std::vector<int64_t>{7, 11}
                                                                                 : std::vector<int64_t>{5, 3, 7};
      std::vector<double> up(static_cast<size_t>(dims)), down(static_cast<size_t>(dims)), mixed(static_cast<size_t>(dims));
      std::vector<int64_t> size_up(static_cast<size_t>(dims)), size_down(static_cast<size_t>(dims));
      for (int i = 0; i < dims; ++i) {
        up[static_cast<size_t>(i)] = 1.7;
        down[static_cast<size_t>(i)] = 0.3 + 0.1 * i;
        mixed[static_cast<size_t>(i)] = i % 2 ? 7.0 / 3.0 : 0.45;
        size_up[static_cast<size_t>(i)] = in[static_cast<size_t>(i)] * 2 + 3;
        size_down[static_cast<size_t>(i)] = (in[static_cast<size_t>(i)] + 1) / 3;
      }
      out.push_back({scaled(m, up), in});
      out.push_back({scaled(m, down), in});
      out.push_back({scaled(m, mixed, true), in});
      out.push_back({scaled(m, mixed, false), in});
      out.push_back({sized(m, size_up), in});
      out.push_back({sized(m, size_down), in});
      if (aligns) {
        out.push_back({sized(m, size_up, true), in});
        out.push_back({scaled(m, mixed, false, true), in});
      }
      if (dims == 2 && aligns) {
        out.push_back({sized(m, size_down, false, true), in});
        out.push_back({scaled(m, {0.3, 7.0 / 3.0}, false, false, true), {23, 5}});
        out.push_back({scaled(m, {0.45, 0.3}, false, true, true), {17, 29}});
      }
    }
  return out;
}

// Bound for a kernel-vs-reference comparison: |a - e| <= tol * magnitude, magnitude the sum of
// |terms| of the element. tol covers the accumulation (k terms, at most k * eps each, k < 64 here)
// and, for f16/bf16, one rounding of the result on each side (half an ulp each).
double bound_tolerance(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F64: return 64 * std::ldexp(1.0, -52);
    case UPS_DTYPE_F32: return 64 * std::ldexp(1.0, -23);
    case UPS_DTYPE_F16: return std::ldexp(1.0, -10) + 64 * std::ldexp(1.0, -23);
    case UPS_DTYPE_BF16: return std::ldexp(1.0, -7) + 64 * std::ldexp(1.0, -23);
    default: return 0;
  }
}

// The sum of |terms| per element: the op applied to |input| when every weight is >= 0 (nearest,
// linear, area, antialiased bilinear). Cubic weights are signed, so there the op on |input| can
// cancel; the bound then uses max|input| times an upper bound of the weights' absolute sum: per
// axis at most 1.3 (Keys' kernel's |lobes| for A = -0.75 or -0.5, normalized), times the number
// of outputs that touch an input for the backward (at most ceil(out/in) + 4 per axis).
HostTensor magnitude_of(const upsInterpolateDesc_t& d, const HostTensor& op_on_abs, const HostTensor& input,
                        const upsTensorDesc_t& x_desc, const upsTensorDesc_t& y_desc, bool backward) {
  upsTensorDesc_t md = op_on_abs.desc;
  md.dtype = UPS_DTYPE_F64;
  HostTensor m(md);
  double max_input = 0, factor = 1;
  for (int64_t i = 0; i < input.size(); ++i) max_input = std::max(max_input, std::fabs(input.get(i)));
  for (int a = 0; a < d.spatial_dims; ++a) {
    factor *= 1.3;
    if (backward) factor *= std::ceil(static_cast<double>(y_desc.spatial[a]) / static_cast<double>(x_desc.spatial[a])) + 4;
  }
  const bool signed_weights = d.mode == UPS_INTERPOLATE_BICUBIC;
  for (int64_t i = 0; i < m.size(); ++i)
    m.set(i, signed_weights ? std::max(std::fabs(op_on_abs.get(i)), max_input * factor) : std::fabs(op_on_abs.get(i)));
  return m;
}

class InterpolateCuda : public ::testing::TestWithParam<upsDataType_t> {};

// Restores the default index width when a test ends (it may force the 64-bit kernels).
struct Force64Guard {
  explicit Force64Guard(bool force) { upsample::detail::set_force_64bit_indexing(force); }
  ~Force64Guard() { upsample::detail::set_force_64bit_indexing(false); }
};

void compare_all_configs(upsDataType_t dtype) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  for (const Config& cfg : configs())
    for (upsLayout_t layout : kLayouts)
      for (int64_t c : {int64_t{3}, int64_t{16}}) {  // 16: the channels-last 16-byte path in every dtype
        const upsTensorDesc_t xd = make_desc(dtype, layout, 2, c, cfg.in);
        SCOPED_TRACE(describe(cfg.desc, xd));
        HostTensor x(xd);
        x.fill_random(rng);
        const HostTensor y_ref = run_forward(UPS_BACKEND_REFERENCE, cfg.desc, x);
        const HostTensor y_cuda = run_forward(UPS_BACKEND_CUDA, cfg.desc, x);
        const HostTensor y_mag = run_forward(UPS_BACKEND_REFERENCE, cfg.desc, absolute(x));
        if (cfg.desc.mode == UPS_INTERPOLATE_NEAREST || cfg.desc.mode == UPS_INTERPOLATE_NEAREST_EXACT)
          EXPECT_TRUE(tensors_identical(y_cuda, y_ref)) << "forward (data movement)";
        else
          EXPECT_TRUE(tensors_within_bound(y_cuda, y_ref, magnitude_of(cfg.desc, y_mag, x, xd, y_ref.desc, false),
                                           bound_tolerance(dtype)))
              << "forward";
        HostTensor dy(y_ref.desc);
        dy.fill_random(rng);
        const HostTensor dx_ref = run_backward(UPS_BACKEND_REFERENCE, cfg.desc, dy, xd);
        const HostTensor dx_cuda = run_backward(UPS_BACKEND_CUDA, cfg.desc, dy, xd);
        const HostTensor dx_mag = run_backward(UPS_BACKEND_REFERENCE, cfg.desc, absolute(dy), xd);
        EXPECT_TRUE(tensors_within_bound(dx_cuda, dx_ref, magnitude_of(cfg.desc, dx_mag, dy, xd, dy.desc, true),
                                         bound_tolerance(dtype)))
            << "backward";
        if (::testing::Test::HasFailure()) return;
      }
}

TEST_P(InterpolateCuda, ForwardAndBackwardMatchReference) { compare_all_configs(GetParam()); }

// The same on the kernels' 64-bit index path (NOTE [ Index width ]), which small tensors never take.
TEST_P(InterpolateCuda, ForwardAndBackwardMatchReference64BitIndices) {
  Force64Guard force(true);
  compare_all_configs(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Dtypes, InterpolateCuda, ::testing::ValuesIn(kDtypes),
                         [](const auto& param_info) { return std::string(dtype_label(param_info.param)); });

double dot(const HostTensor& a, const HostTensor& b, double* magnitude) {
  double s = 0, m = 0;
  for (int64_t i = 0; i < a.size(); ++i) s += a.get(i) * b.get(i), m += std::fabs(a.get(i) * b.get(i));
  *magnitude = m;
  return s;
}

// <forward(x), g> = <x, backward(g)> in f64, on both backends.
class InterpolateAdjoint : public ::testing::TestWithParam<upsBackend_t> {};

TEST_P(InterpolateAdjoint, F64) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  for (const Config& cfg : configs())
    for (upsLayout_t layout : kLayouts) {
      const upsTensorDesc_t xd = make_desc(UPS_DTYPE_F64, layout, 2, 3, cfg.in);
      SCOPED_TRACE(describe(cfg.desc, xd));
      HostTensor x(xd);
      x.fill_random(rng);
      const HostTensor y = run_forward(GetParam(), cfg.desc, x);
      HostTensor g(y.desc);
      g.fill_random(rng);
      const HostTensor dx = run_backward(GetParam(), cfg.desc, g, xd);
      double m1 = 0, m2 = 0;
      const double lhs = dot(y, g, &m1), rhs = dot(x, dx, &m2);
      EXPECT_NEAR(lhs, rhs, 1e-12 * (m1 + m2) * 64);
      if (HasFailure()) return;
    }
}

// Central differences of L(x) = <forward(x), g> against backward(g), f64, a few coordinates.
TEST_P(InterpolateAdjoint, FiniteDifferences) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  for (const Config& cfg : configs()) {
    const upsTensorDesc_t xd = make_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_LAST, 1, 2, cfg.in);
    SCOPED_TRACE(describe(cfg.desc, xd));
    HostTensor x(xd);
    x.fill_random(rng);
    const HostTensor y0 = run_forward(GetParam(), cfg.desc, x);
    HostTensor g(y0.desc);
    g.fill_random(rng);
    const HostTensor dx = run_backward(GetParam(), cfg.desc, g, xd);
    std::uniform_int_distribution<int64_t> pick(0, x.size() - 1);
    const double h = 1e-3;
    for (int k = 0; k < 3; ++k) {
      const int64_t i = pick(rng);
      HostTensor xp = x, xm = x;
      xp.set(i, x.get(i) + h);
      xm.set(i, x.get(i) - h);
      double mp = 0, mm = 0;
      const double fd = (dot(run_forward(GetParam(), cfg.desc, xp), g, &mp) -
                         dot(run_forward(GetParam(), cfg.desc, xm), g, &mm)) / (2 * h);
      EXPECT_NEAR(fd, dx.get(i), 1e-9 * (1 + mp / h)) << "element " << i;
    }
    if (HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, InterpolateAdjoint, ::testing::ValuesIn(kBackends),
                         [](const auto& param_info) { return param_info.param == UPS_BACKEND_CUDA ? "Cuda" : "Reference"; });

// The backward gather is bit-identical run to run (large fan-in: antialiased bicubic downscale and
// bilinear upscale, f32 and bf16, both layouts).
TEST(InterpolateCudaDeterminism, BackwardRepeatsBitIdentical) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  const upsInterpolateDesc_t descs[] = {scaled(UPS_INTERPOLATE_BICUBIC, {0.3, 0.45}, false, false, true),
                                        scaled(UPS_INTERPOLATE_LINEAR, {7.0 / 3.0, 1.7}),
                                        sized(UPS_INTERPOLATE_AREA, {5, 4})};
  for (const auto& d : descs)
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_BF16})
      for (upsLayout_t layout : kLayouts) {
        const upsTensorDesc_t xd = make_desc(dtype, layout, 2, 8, {19, 23});
        SCOPED_TRACE(describe(d, xd));
        upsTensorDesc_t yd;
        UPS_ASSERT_OK(upsInterpolateOutputDesc(&d, &xd, &yd));
        HostTensor dy(yd);
        dy.fill_random(rng);
        const HostTensor first = run_backward(UPS_BACKEND_CUDA, d, dy, xd);
        for (int run = 0; run < 4; ++run) EXPECT_TRUE(tensors_identical(run_backward(UPS_BACKEND_CUDA, d, dy, xd), first));
      }
}

// N = 0 or C = 0 succeeds without touching anything.
TEST(InterpolateCudaEmpty, EmptyBatchSucceeds) {
  for (upsBackend_t backend : kBackends) {
    HandleGuard h(backend);
    const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 0, 3, {4, 4});
    const auto d = sized(UPS_INTERPOLATE_LINEAR, {8, 8});
    upsTensorDesc_t y;
    UPS_ASSERT_OK(upsInterpolateOutputDesc(&d, &x, &y));
    UPS_ASSERT_OK(upsInterpolateForward(h.get(), &d, &x, nullptr, &y, nullptr));
    UPS_ASSERT_OK(upsInterpolateBackward(h.get(), &d, &y, nullptr, &x, nullptr));
  }
}

}  // namespace
}  // namespace upsample::test

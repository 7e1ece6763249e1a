// Transposed convolution, forward and its three gradients: the CUDA backend against the REFERENCE
// backend through the public API, every algorithm x dtype x layout x rank, some cases on the
// 64-bit index path; integer-valued inputs compared bit for bit, real-valued ones within the
// dtype's tolerance (gradients: elementwise within eps(dtype) x the sum of |terms|); hand-picked
// edge geometries and reduced model layers; the AUTO heuristic; bit-identical repeats of the
// deterministic paths; a caller's workspace of the queried size. Built twice: against
// libupsample.so (label `gpu`: a real GPU, or a skip with a message) and against the emulated
// library (label `emulated`: the kernels run on the CPU). Outputs are poisoned first.
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "tests/common/fixtures.h"
#include "tests/common/sanitizer.h"

namespace upsample::test {
namespace {

// =============================================================================================
// Forward
// =============================================================================================

// The descriptors of one geometry in one dtype, layout and algorithm (y's from the library's
// shape function, which the reference suite checks against PyTorch's table).
struct ConvDescs {
  upsConvTransposeDesc_t conv;
  upsTensorDesc_t x, w, y;
};

ConvDescs make_conv_descs(const ConvGeometry& g, upsDataType_t dtype, upsLayout_t layout, upsAlgorithm_t algorithm) {
  ConvDescs d{};
  d.conv = g.desc(algorithm);
  d.x = g.x_desc(dtype, layout);
  d.w = g.w_desc(dtype, layout);
  EXPECT_EQ(upsConvTransposeOutputDesc(&d.conv, &d.x, &d.w, &d.y), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
  return d;
}

struct ConvTensors {
  HostTensor x, w, bias;
};

ConvTensors random_conv_tensors(const ConvDescs& d, const ConvGeometry& g, std::mt19937_64& rng, bool integers) {
  ConvTensors t{HostTensor(d.x), HostTensor(d.w), HostTensor(make_desc(d.x.dtype, d.x.layout, 1, g.cout, {1}))};
  t.x.fill_random(rng, integers ? -3 : -1, integers ? 3 : 1, integers);
  t.w.fill_random(rng, integers ? -3 : -1, integers ? 3 : 1, integers);
  t.bias.fill_random(rng, integers ? -3 : -1, integers ? 3 : 1, integers);
  return t;
}

// The forward on one target, with the bias when the geometry asks for one.
HostTensor run_conv(Target target, const ConvDescs& d, const ConvTensors& t, const ConvGeometry& g) {
  return conv_forward(target, d.conv, t.x, t.w, g.bias ? &t.bias : nullptr);
}

// Every algorithm x dtype x layout x rank, 64-bit-index cases, and AUTO.
std::vector<KernelCase> all_conv_cases() {
  std::vector<KernelCase> cases = every_dtype_layout_rank({UPS_ALGO_GATHER, UPS_ALGO_SCATTER_ATOMIC});
  for (upsLayout_t layout : kLayouts) {
    cases.push_back({UPS_ALGO_GATHER, UPS_DTYPE_F32, layout, 2, true});
    cases.push_back({UPS_ALGO_SCATTER_ATOMIC, UPS_DTYPE_F16, layout, 2, true});
    cases.push_back({UPS_ALGO_AUTO, UPS_DTYPE_F32, layout, 2, false});
  }
  return cases;
}

class CudaConvTranspose : public ::testing::TestWithParam<KernelCase> {};

// Integer-valued inputs: every partial sum is exact in f32/f64, so the result must equal the
// reference bit for bit whatever the summation order. f16/bf16 round their output, so they are
// compared with their tolerance.
TEST_P(CudaConvTranspose, IntegerInputsMatchReference) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const KernelCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 16; ++trial) {
    const ConvGeometry g = random_conv(rng, c.dims, kKernelSampling);
    SCOPED_TRACE(g.text());
    const ConvDescs d = make_conv_descs(g, c.dtype, c.layout, c.algorithm);
    const ConvTensors t = random_conv_tensors(d, g, rng, /*integers=*/true);
    const HostTensor expected = run_conv(be.reference(), d, t, g);
    const HostTensor actual = run_conv(be.cuda(), d, t, g);
    if (c.dtype == UPS_DTYPE_F32 || c.dtype == UPS_DTYPE_F64)
      ASSERT_TRUE(tensors_identical(actual, expected));
    else
      ASSERT_TRUE(tensors_close(actual, expected, tolerance(c.dtype)));
  }
}

// Real-valued inputs, compared with the dtype's stated tolerance.
TEST_P(CudaConvTranspose, RealInputsMatchReference) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const KernelCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 8; ++trial) {
    const ConvGeometry g = random_conv(rng, c.dims, kKernelSampling);
    SCOPED_TRACE(g.text());
    const ConvDescs d = make_conv_descs(g, c.dtype, c.layout, c.algorithm);
    const ConvTensors t = random_conv_tensors(d, g, rng, /*integers=*/false);
    const HostTensor expected = run_conv(be.reference(), d, t, g);
    const HostTensor actual = run_conv(be.cuda(), d, t, g);
    ASSERT_TRUE(tensors_close(actual, expected, tolerance(c.dtype)));
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaConvTranspose, ::testing::ValuesIn(all_conv_cases()),
                         kernel_case_name_with_algorithm);

std::vector<ConvGeometry> edge_geometries() {
  return {
      conv_geometry(2, {1, 1}, {1, 1}, {1, 1}, 1, 1),                             // 1x1 everything
      conv_geometry(2, {7, 9}, {3, 3}, {1, 1}),                                   // odd extents, stride 1
      conv_geometry(2, {4, 4}, {4, 4}, {2, 2}, 16, 32, 1, {1, 1}, {1, 1}),        // DCGAN-style k4 s2 p1
      conv_geometry(2, {3, 5}, {2, 2}, {3, 3}),                                   // stride > kernel: gaps
      conv_geometry(2, {3, 3}, {5, 5}, {2, 2}, 3, 5, 1, {0, 2}, {1, 0}),          // kernel > stride, asymmetric pad
      conv_geometry(2, {3, 4}, {3, 3}, {2, 2}, 4, 6, 2, {1, 1}, {1, 1}, {1, 1}),  // groups, output_padding
      conv_geometry(2, {4, 4}, {3, 3}, {2, 2}, 6, 6, 6, {1, 1}, {1, 1}, {1, 1}),  // depthwise (VAE-like)
      conv_geometry(2, {3, 3}, {3, 3}, {2, 2}, 3, 4, 1, {0, 0}, {0, 0}, {1, 0}, {2, 3}),  // dilation, gcd(s, d) > 1
      conv_geometry(2, {2, 3}, {3, 2}, {1, 1}, 2, 3, 1, {0, 0}, {0, 0}, {1, 1},
                    {2, 2}),                                    // output_padding < dilation only
      conv_geometry(1, {9}, {16}, {8}, 4, 3, 1, {4}, {4}),      // HiFi-GAN-like k16 s8 p4
      conv_geometry(1, {5}, {6}, {3}, 8, 8, 8, {1}, {1}),       // depthwise 1-D k6 s3
      conv_geometry(1, {3}, {40}, {1}),                         // 40 taps: the direct gather path
      conv_geometry(3, {2, 3, 2}, {2, 2, 2}, {2, 2, 2}, 3, 4),  // 3-D U-Net k2 s2
      conv_geometry(3, {2, 2, 3}, {3, 3, 3}, {2, 2, 2}, 2, 3, 1, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}),  // 3-D k3 s2 p1 op1
      conv_geometry(2, {2, 2}, {3, 3}, {1, 1}, 40, 20),                      // channels beyond one tile/chunk
      conv_geometry(2, {3, 3}, {2, 2}, {2, 2}, 3, 5, 1, {}, {}, {}, {}, 0),  // empty batch
  };
}

// Every geometry with both algorithms, both layouts, f32 (integer data: exact) and `narrow`
// (compared with its tolerance).
void expect_geometries_match_reference(const std::vector<ConvGeometry>& geometries, upsDataType_t narrow) {
  Backends be;
  auto rng = make_rng();
  for (const ConvGeometry& g : geometries)
    for (upsAlgorithm_t algorithm : {UPS_ALGO_GATHER, UPS_ALGO_SCATTER_ATOMIC})
      for (upsLayout_t layout : kLayouts)
        for (upsDataType_t dtype : {UPS_DTYPE_F32, narrow}) {
          SCOPED_TRACE(g.text() + " " + (algorithm == UPS_ALGO_GATHER ? "gather " : "scatter ") + layout_label(layout) +
                       " " + dtype_label(dtype));
          const ConvDescs d = make_conv_descs(g, dtype, layout, algorithm);
          const ConvTensors t = random_conv_tensors(d, g, rng, /*integers=*/dtype == UPS_DTYPE_F32);
          const HostTensor expected = run_conv(be.reference(), d, t, g);
          const HostTensor actual = run_conv(be.cuda(), d, t, g);
          if (dtype == UPS_DTYPE_F32)
            ASSERT_TRUE(tensors_identical(actual, expected));
          else
            ASSERT_TRUE(tensors_close(actual, expected, tolerance(dtype)));
        }
}

TEST(CudaConvTransposeEdge, HandPickedGeometries) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  expect_geometries_match_reference(edge_geometries(), UPS_DTYPE_F16);
}

// Reduced copies of the generative-model layers of the benchmark set: several output boxes per
// phase, several output-channel tiles and input-channel chunks per block, realistic strides.
std::vector<ConvGeometry> model_geometries() {
  return {
      conv_geometry(2, {4, 4}, {4, 4}, {2, 2}, 64, 32, 1, {1, 1}, {1, 1}),                  // DCGAN generator
      conv_geometry(2, {16, 16}, {4, 4}, {2, 2}, 16, 8, 1, {1, 1}, {1, 1}, {}, {}, 1),      // pix2pix up-conv
      conv_geometry(2, {9, 9}, {3, 3}, {2, 2}, 16, 8, 1, {0, 0}, {0, 0}, {}, {}, 1),        // StyleGAN2 block
      conv_geometry(2, {9, 9}, {3, 3}, {2, 2}, 16, 16, 2, {0, 0}, {0, 0}, {}, {}, 1),       // ... grouped per sample
      conv_geometry(2, {12, 12}, {3, 3}, {2, 2}, 16, 8, 1, {1, 1}, {1, 1}, {1, 1}, {}, 1),  // VAE decoder
      conv_geometry(1, {40}, {16}, {8}, 32, 16, 1, {4}, {4}),                               // HiFi-GAN
      conv_geometry(1, {150}, {8}, {4}, 8, 4, 1, {2}, {2}),                                 // HiFi-GAN, long W
      conv_geometry(3, {5, 5, 5}, {2, 2, 2}, {2, 2, 2}, 8, 4, 1, {}, {}, {}, {}, 1),        // 3-D U-Net k2 s2
      conv_geometry(3, {4, 4, 4}, {3, 3, 3}, {2, 2, 2}, 8, 4, 1, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {},
                    1),                                                 // k3 s2 p1 op1
      conv_geometry(1, {20}, {6}, {3}, 32, 32, 32, {}, {}, {}, {}, 2),  // depthwise 1-D
  };
}

TEST(CudaConvTransposeEdge, ReducedModelShapes) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  expect_geometries_match_reference(model_geometries(), UPS_DTYPE_BF16);
}

// Whether AUTO may pick an algorithm under the deterministic flag: GATHER, or the implicit GEMM
// (no split-K: each output summed once, in a fixed order; see src/dispatch.cpp), never
// SCATTER_ATOMIC.
::testing::AssertionResult deterministic_choice(upsAlgorithm_t chosen) {
  if (chosen == UPS_ALGO_GATHER || chosen == UPS_ALGO_IMPLICIT_GEMM) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "the deterministic flag let AUTO choose algorithm " << chosen;
}

// GATHER, and whatever AUTO picks under the deterministic flag, are deterministic: repeated runs
// give identical bits (real-valued inputs, where the summation order matters).
TEST(CudaConvTransposeEdge, GatherAndDeterministicAutoAreBitIdenticalAcrossRuns) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
  const int repeats = upsCudaDeviceAvailable() ? 5 : 3;
  for (int trial = 0; trial < 4; ++trial) {
    const ConvGeometry g = random_conv(rng, 2, kKernelSampling);
    SCOPED_TRACE(g.text());
    ConvDescs d = make_conv_descs(g, UPS_DTYPE_F32, trial % 2 ? UPS_LAYOUT_CHANNELS_LAST : UPS_LAYOUT_CHANNELS_FIRST,
                                  UPS_ALGO_AUTO);
    d.conv.deterministic = 1;
    upsAlgorithm_t chosen;
    UPS_ASSERT_OK(upsConvTransposeChooseAlgorithm(be.cuda().handle, &d.conv, &d.x, &d.w, &d.y, &chosen));
    EXPECT_TRUE(deterministic_choice(chosen));
    const ConvTensors t = random_conv_tensors(d, g, rng, /*integers=*/false);
    for (upsAlgorithm_t algorithm : {UPS_ALGO_AUTO, UPS_ALGO_GATHER}) {
      SCOPED_TRACE(algorithm_label(algorithm));
      d.conv.algorithm = algorithm;
      const HostTensor first = run_conv(be.cuda(), d, t, g);
      for (int r = 1; r < repeats; ++r) ASSERT_TRUE(tensors_identical(run_conv(be.cuda(), d, t, g), first));
    }
  }
}

// AUTO: the heuristic of src/dispatch.cpp, and the deterministic flag overriding it.
TEST(CudaConvTransposeEdge, AutoHeuristicPicksScatterForLongReductionsOnly) {
  UPS_SKIP_WITHOUT_CUDA();
  Backends be;
  // Tiny output, long reduction (C_in 512 x 4 taps): SCATTER_ATOMIC parallelizes over inputs.
  ConvDescs small = make_conv_descs(conv_geometry(2, {1, 1}, {2, 2}, {2, 2}, 512, 3), UPS_DTYPE_F32,
                                    UPS_LAYOUT_CHANNELS_FIRST, UPS_ALGO_AUTO);
  upsAlgorithm_t chosen;
  UPS_ASSERT_OK(upsConvTransposeChooseAlgorithm(be.cuda().handle, &small.conv, &small.x, &small.w, &small.y, &chosen));
  EXPECT_EQ(chosen, UPS_ALGO_SCATTER_ATOMIC);
  small.conv.deterministic = 1;
  UPS_ASSERT_OK(upsConvTransposeChooseAlgorithm(be.cuda().handle, &small.conv, &small.x, &small.w, &small.y, &chosen));
  EXPECT_TRUE(deterministic_choice(chosen));
  // A large output: never SCATTER_ATOMIC (GATHER, or the implicit GEMM where it can implement the problem).
  const ConvDescs large = make_conv_descs(conv_geometry(2, {64, 64}, {4, 4}, {2, 2}, 64, 64, 1, {1, 1}, {1, 1}),
                                          UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, UPS_ALGO_AUTO);
  UPS_ASSERT_OK(upsConvTransposeChooseAlgorithm(be.cuda().handle, &large.conv, &large.x, &large.w, &large.y, &chosen));
  EXPECT_TRUE(deterministic_choice(chosen)) << "a large output";
}

// =============================================================================================
// Backward
// =============================================================================================

struct ConvData {
  HostTensor x, w, dy;
};

ConvData random_conv_data(const ConvGeometry& g, upsDataType_t dtype, upsLayout_t layout, std::mt19937_64& rng,
                          bool integers) {
  ConvData t{HostTensor(g.x_desc(dtype, layout)), HostTensor(g.w_desc(dtype, layout)),
             HostTensor(g.y_desc(dtype, layout))};
  t.x.fill_random(rng, integers ? -3 : -1, integers ? 3 : 1, integers);
  t.w.fill_random(rng, integers ? -3 : -1, integers ? 3 : 1, integers);
  t.dy.fill_random(rng, integers ? -3 : -1, integers ? 3 : 1, integers);
  return t;
}

// All three gradients of one geometry on both backends.
void expect_conv_gradients_match(const Backends& be, const ConvGeometry& g, upsDataType_t dtype, upsLayout_t layout,
                                 upsAlgorithm_t algorithm, std::mt19937_64& rng, bool integers) {
  const ConvData t = random_conv_data(g, dtype, layout, rng, integers);
  const upsConvTransposeDesc_t reduction = g.desc(algorithm);
  // The data gradient has GATHER only: SCATTER_ATOMIC cases run it with AUTO.
  const upsConvTransposeDesc_t data = g.desc(algorithm == UPS_ALGO_SCATTER_ATOMIC ? UPS_ALGO_AUTO : algorithm);
  const HostTensor dx = conv_backward_data(be.cuda(), data, t.dy, t.w, t.x.desc);
  const HostTensor dx_ref = conv_backward_data(be.reference(), data, t.dy, t.w, t.x.desc);
  const HostTensor dw = conv_backward_weight(be.cuda(), reduction, t.x, t.dy, t.w.desc);
  const HostTensor dw_ref = conv_backward_weight(be.reference(), reduction, t.x, t.dy, t.w.desc);
  const HostTensor db = conv_backward_bias(be.cuda(), reduction, t.dy);
  const HostTensor db_ref = conv_backward_bias(be.reference(), reduction, t.dy);
  if (integers && (dtype == UPS_DTYPE_F32 || dtype == UPS_DTYPE_F64)) {
    EXPECT_TRUE(tensors_identical(dx, dx_ref)) << "dx";
    EXPECT_TRUE(tensors_identical(dw, dw_ref)) << "dw";
    EXPECT_TRUE(tensors_identical(db, db_ref)) << "db";
    return;
  }
  // Real-valued data: each element within the dtype's tolerance times the sum of |terms| it adds
  // (the reference on |inputs|), the bound a reordered sum keeps even where terms cancel — which
  // the long reductions of dw and db do, so a relative norm of their small results would not hold.
  const HostTensor dy_abs = absolute(t.dy), x_abs = absolute(t.x), w_abs = absolute(t.w);
  const double tol = tolerance(dtype);
  EXPECT_TRUE(tensors_within_bound(dx, dx_ref, conv_backward_data(be.reference(), data, dy_abs, w_abs, t.x.desc), tol))
      << "dx";
  EXPECT_TRUE(
      tensors_within_bound(dw, dw_ref, conv_backward_weight(be.reference(), reduction, x_abs, dy_abs, t.w.desc), tol))
      << "dw";
  EXPECT_TRUE(tensors_within_bound(db, db_ref, conv_backward_bias(be.reference(), reduction, dy_abs), tol)) << "db";
}

class CudaConvTransposeBackward : public ::testing::TestWithParam<KernelCase> {};

TEST_P(CudaConvTransposeBackward, IntegerInputsMatchReference) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const KernelCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 10; ++trial) {
    const ConvGeometry g = random_conv(rng, c.dims, 4);
    SCOPED_TRACE(g.text());
    expect_conv_gradients_match(be, g, c.dtype, c.layout, c.algorithm, rng, /*integers=*/true);
    if (HasFailure()) return;
  }
}

TEST_P(CudaConvTransposeBackward, RealInputsMatchReference) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const KernelCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 6; ++trial) {
    const ConvGeometry g = random_conv(rng, c.dims, 4);
    SCOPED_TRACE(g.text());
    expect_conv_gradients_match(be, g, c.dtype, c.layout, c.algorithm, rng, /*integers=*/false);
    if (HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaConvTransposeBackward,
                         ::testing::ValuesIn(grad_cases({UPS_ALGO_GATHER, UPS_ALGO_SCATTER_ATOMIC})),
                         kernel_case_name_with_algorithm);

// Geometries that reach every path of the plans: for the reductions, 64x64 channel tiles (4x4 per
// thread), several chunks (the workspace and the combine pass), the position tree of narrow
// channel tiles (depthwise: 256 threads on positions), RGB outputs, boxes cut by padding, an empty
// batch; for the data gradient, the tiled kernel's channel groups and chunks, and the direct
// kernel (a reach beyond the staged box limit, weights beyond shared memory).
std::vector<ConvGeometry> backward_edge_geometries() {
  return {
      conv_geometry(2, {1, 1}, {1, 1}, {1, 1}, 1, 1),                                      // 1x1 everything
      conv_geometry(2, {3, 5}, {2, 2}, {3, 3}, 3, 5),                                      // stride > kernel: gaps
      conv_geometry(2, {3, 3}, {5, 5}, {2, 2}, 3, 5, 1, {0, 2}, {1, 0}),                   // asymmetric padding
      conv_geometry(2, {3, 3}, {3, 3}, {2, 2}, 3, 4, 1, {0, 0}, {0, 0}, {1, 0}, {2, 3}),   // dilation, gcd > 1
      conv_geometry(2, {3, 3}, {3, 3}, {1, 1}, 2, 2, 1, {2, 2}, {2, 2}),                   // padding cuts taps: 1x1 out
      conv_geometry(2, {4, 4}, {3, 3}, {2, 2}, 64, 64, 1, {1, 1}, {1, 1}, {1, 1}, {}, 1),  // 64x64 tiles, micro 4
      conv_geometry(2, {3, 3}, {2, 2}, {2, 2}, 130, 70, 1, {}, {}, {}, {}, 1),             // partial 64-wide tiles
      conv_geometry(2, {32, 32}, {2, 2}, {2, 2}, 16, 16, 1, {}, {}, {}, {}, 1),            // several chunks
      conv_geometry(2, {64, 72}, {3, 3}, {2, 2}, 2, 2, 2, {1, 1}, {1, 1}, {1, 1}, {}, 2),  // depthwise, chunks
      conv_geometry(2, {16, 16}, {4, 4}, {2, 2}, 32, 3, 1, {1, 1}, {1, 1}),                // RGB output
      conv_geometry(1, {9}, {16}, {8}, 4, 3, 1, {4}, {4}),                                 // HiFi-GAN-like k16 s8
      conv_geometry(3, {2, 3, 2}, {2, 2, 2}, {2, 2, 2}, 3, 4),                             // 3-D k2 s2
      conv_geometry(3, {2, 2, 3}, {3, 3, 3}, {2, 2, 2}, 2, 3, 1, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}),  // 3-D k3 s2 p1
      conv_geometry(2, {3, 3}, {2, 2}, {2, 2}, 3, 5, 1, {}, {}, {}, {}, 0),  // empty batch: zeros
      conv_geometry(1, {3}, {3}, {1}, 2, 3, 1, {}, {}, {}, {2100}),          // data grad: direct (reach)
      conv_geometry(3, {1, 1, 2}, {9, 9, 9}, {1, 1, 1}, 16, 2),              // data grad: direct (shared)
  };
}

TEST(CudaConvTransposeBackwardEdge, HandPickedGeometries) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
  for (const ConvGeometry& g : backward_edge_geometries())
    for (upsAlgorithm_t algorithm : {UPS_ALGO_GATHER, UPS_ALGO_SCATTER_ATOMIC})
      for (upsLayout_t layout : kLayouts) {
        const upsDataType_t dtype = algorithm == UPS_ALGO_GATHER ? UPS_DTYPE_F32 : UPS_DTYPE_F16;
        // One combination of the four runs every kernel on its 64-bit index path.
        const bool index64 = algorithm == UPS_ALGO_SCATTER_ATOMIC && layout == UPS_LAYOUT_CHANNELS_LAST;
        IndexWidth width(index64);
        SCOPED_TRACE(g.text() + " " + (algorithm == UPS_ALGO_GATHER ? "gather " : "scatter ") + layout_label(layout) +
                     " " + dtype_label(dtype) + (index64 ? " index64" : ""));
        expect_conv_gradients_match(be, g, dtype, layout, algorithm, rng, /*integers=*/true);
        if (HasFailure()) return;
      }
}

// The chunked plans are really taken: the workspace query says so.
TEST(CudaConvTransposeBackwardEdge, ChunkedReductionsUseTheWorkspace) {
  UPS_SKIP_WITHOUT_CUDA();
  Backends be;
  for (const ConvGeometry& g : {conv_geometry(2, {32, 32}, {2, 2}, {2, 2}, 16, 16, 1, {}, {}, {}, {}, 1),
                                conv_geometry(2, {64, 72}, {3, 3}, {2, 2}, 2, 2, 2, {1, 1}, {1, 1}, {1, 1}, {}, 2)}) {
    SCOPED_TRACE(g.text());
    const upsConvTransposeDesc_t conv = g.desc(UPS_ALGO_GATHER);
    const upsTensorDesc_t x = g.x_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST),
                          w = g.w_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST),
                          y = g.y_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST);
    size_t weight_bytes = 0, bias_bytes = 0;
    UPS_ASSERT_OK(upsConvTransposeBackwardWeightWorkspaceSize(be.cuda().handle, &conv, &x, &y, &w, &weight_bytes));
    UPS_ASSERT_OK(upsConvTransposeBackwardBiasWorkspaceSize(be.cuda().handle, &conv, &y, &bias_bytes));
    int64_t w_elements = element_count(w);
    EXPECT_GE(weight_bytes, 2 * sizeof(float) * static_cast<size_t>(w_elements)) << "expected two or more chunks";
    EXPECT_GE(bias_bytes, 2 * sizeof(float) * static_cast<size_t>(g.cout)) << "expected two or more chunks";
  }
}

// Real-valued inputs, where the order of additions shows: the deterministic paths give the same
// bits on every run (GATHER for the reductions, with several chunks among the shapes; the gather
// of the data gradient). The unpooling and max-pooling gradients have their own such tests.
TEST(CudaConvTransposeBackwardEdge, DeterministicPathsAreBitIdenticalAcrossRuns) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
  const int repeats = kDeterminismRepeats;
  std::vector<ConvGeometry> shapes = {
      conv_geometry(2, {32, 32}, {2, 2}, {2, 2}, 16, 16, 1, {}, {}, {}, {}, 1),
      conv_geometry(2, {4, 4}, {3, 3}, {2, 2}, 64, 64, 1, {1, 1}, {1, 1}, {1, 1}, {}, 1)};
  for (int trial = 0; trial < 3; ++trial) shapes.push_back(random_conv(rng, 2, 4));
  for (size_t s = 0; s < shapes.size(); ++s) {
    const ConvGeometry& g = shapes[s];
    const upsLayout_t layout = s % 2 ? UPS_LAYOUT_CHANNELS_LAST : UPS_LAYOUT_CHANNELS_FIRST;
    SCOPED_TRACE(g.text() + " " + layout_label(layout));
    const upsConvTransposeDesc_t conv = g.desc(UPS_ALGO_AUTO, /*deterministic=*/true);
    const ConvData t = random_conv_data(g, UPS_DTYPE_F32, layout, rng, /*integers=*/false);
    upsAlgorithm_t chosen;
    UPS_ASSERT_OK(upsConvTransposeBackwardWeightChooseAlgorithm(be.cuda().handle, &conv, &t.x.desc, &t.dy.desc,
                                                                &t.w.desc, &chosen));
    EXPECT_EQ(chosen, UPS_ALGO_GATHER);
    const HostTensor dx = conv_backward_data(be.cuda(), conv, t.dy, t.w, t.x.desc);
    const HostTensor dw = conv_backward_weight(be.cuda(), conv, t.x, t.dy, t.w.desc);
    const HostTensor db = conv_backward_bias(be.cuda(), conv, t.dy);
    for (int r = 1; r < repeats; ++r) {
      ASSERT_TRUE(tensors_identical(conv_backward_data(be.cuda(), conv, t.dy, t.w, t.x.desc), dx));
      ASSERT_TRUE(tensors_identical(conv_backward_weight(be.cuda(), conv, t.x, t.dy, t.w.desc), dw));
      ASSERT_TRUE(tensors_identical(conv_backward_bias(be.cuda(), conv, t.dy), db));
    }
    EXPECT_TRUE(
        tensors_close(dw, conv_backward_weight(be.reference(), conv, t.x, t.dy, t.w.desc), tolerance(UPS_DTYPE_F32)));
  }
}

// A caller's workspace of exactly the queried size suffices; one byte less is refused.
TEST(CudaConvTransposeBackwardEdge, UserWorkspaceOfQueriedSize) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
  const ConvGeometry g = conv_geometry(2, {32, 32}, {2, 2}, {2, 2}, 16, 16, 1, {}, {}, {}, {}, 1);
  const ConvData t = random_conv_data(g, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, rng, /*integers=*/true);
  for (upsAlgorithm_t algorithm : {UPS_ALGO_GATHER, UPS_ALGO_SCATTER_ATOMIC}) {
    const upsConvTransposeDesc_t conv = g.desc(algorithm);
    size_t bytes = 0;
    UPS_ASSERT_OK(
        upsConvTransposeBackwardWeightWorkspaceSize(be.cuda().handle, &conv, &t.x.desc, &t.dy.desc, &t.w.desc, &bytes));
    ASSERT_GT(bytes, 0u);
    HandleGuard own(UPS_BACKEND_CUDA);
    Buffer workspace(UPS_BACKEND_CUDA, bytes);
    UPS_ASSERT_OK(upsSetWorkspace(own.get(), workspace.get(), bytes));
    EXPECT_TRUE(tensors_close(conv_backward_weight({own.get(), UPS_BACKEND_CUDA}, conv, t.x, t.dy, t.w.desc),
                              conv_backward_weight(be.reference(), conv, t.x, t.dy, t.w.desc),
                              tolerance(UPS_DTYPE_F16)));
    UPS_ASSERT_OK(upsSetWorkspace(own.get(), workspace.get(), bytes - 1));
    Buffer bx(UPS_BACKEND_CUDA, t.x), bdy(UPS_BACKEND_CUDA, t.dy), bdw(UPS_BACKEND_CUDA, t.w);
    EXPECT_EQ(upsConvTransposeBackwardWeight(own.get(), &conv, &t.x.desc, bx.get(), &t.dy.desc, bdy.get(), &t.w.desc,
                                             bdw.get()),
              UPS_STATUS_WORKSPACE_TOO_SMALL);
  }
}

// The data gradient on the implicit-GEMM engine through the public API: forced IMPLICIT_GEMM on
// every hand-picked geometry the engine accepts (it refuses kernels above 16 taps per axis or 64 in
// all), in each dtype and both layouts, against the reference backend (integers: exact for
// f32/f64, within tolerance for f16/bf16 where dy values up to 3 times sums exceed the 11-bit or
// 8-bit significands), and run twice for identical bits.
TEST(CudaConvTransposeBackwardEdge, DataGradientImplicitGemmMatchesReference) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
  int accepted = 0;
  struct Variant {
    upsDataType_t dtype;
    upsLayout_t layout;
    upsMathMode_t math;
  };
  const Variant variants[] = {{UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, UPS_MATH_DEFAULT},
                              {UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_FIRST, UPS_MATH_DEFAULT},
                              {UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, UPS_MATH_ALLOW_TF32},
                              {UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, UPS_MATH_DEFAULT},
                              {UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_LAST, UPS_MATH_DEFAULT}};
  const std::vector<ConvGeometry> geometries = sanitizer_subset(backward_edge_geometries());
  for (const ConvGeometry& g : geometries)
    for (const Variant& v : variants) {
      SCOPED_TRACE(g.text() + " " + layout_label(v.layout) + " " + dtype_label(v.dtype) +
                   (v.math == UPS_MATH_ALLOW_TF32 ? " tf32" : ""));
      upsConvTransposeDesc_t conv = g.desc(UPS_ALGO_IMPLICIT_GEMM);
      conv.math_mode = v.math;
      const ConvData t = random_conv_data(g, v.dtype, v.layout, rng, /*integers=*/true);
      size_t bytes = 0;
      const upsStatus_t status =
          upsConvTransposeBackwardDataWorkspaceSize(be.cuda().handle, &conv, &t.dy.desc, &t.w.desc, &t.x.desc, &bytes);
      if (status == UPS_STATUS_NOT_SUPPORTED) continue;  // a kernel beyond the engine's tap tables
      UPS_ASSERT_OK(status);
      ++accepted;
      const HostTensor dx = conv_backward_data(be.cuda(), conv, t.dy, t.w, t.x.desc);
      const HostTensor dx_ref = conv_backward_data(be.reference(), conv, t.dy, t.w, t.x.desc);
      if (v.dtype == UPS_DTYPE_F32 || v.dtype == UPS_DTYPE_F64) {
        // Integers in [-3, 3]: every product and sum is exact in f32 (and in TF32's 10-bit operands).
        EXPECT_TRUE(tensors_identical(dx, dx_ref)) << "dx";
      } else {
        const HostTensor bound = conv_backward_data(be.reference(), conv, absolute(t.dy), absolute(t.w), t.x.desc);
        EXPECT_TRUE(tensors_within_bound(dx, dx_ref, bound, tolerance(v.dtype))) << "dx";
      }
      EXPECT_TRUE(tensors_identical(conv_backward_data(be.cuda(), conv, t.dy, t.w, t.x.desc), dx)) << "repeat";
      if (HasFailure()) return;
    }
  // Every geometry in every variant but the 9x9x9 kernel's (729 taps, beyond the tap table).
  int refused_geometries = 0;
  for (const ConvGeometry& g : geometries) refused_geometries += g.dims == 3 && g.k[0] == 9 ? 1 : 0;
  EXPECT_EQ(accepted, 5 * static_cast<int>(geometries.size() - refused_geometries)) << "the engine refused a case";
}

// AUTO for the data gradient: the engine where it applies with 8+ channels per group on both sides,
// GATHER for few channels (depthwise) and for kernels the engine refuses; a caller's workspace of
// the queried size suffices and one byte less is refused.
TEST(CudaConvTransposeBackwardEdge, DataGradientAutoChoiceAndWorkspace) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
  struct Expectation {
    ConvGeometry g;
    upsAlgorithm_t algorithm;
  };
  const Expectation cases[] = {
      {conv_geometry(2, {8, 8}, {4, 4}, {2, 2}, 64, 32, 1, {1, 1}, {1, 1}), UPS_ALGO_IMPLICIT_GEMM},
      {conv_geometry(2, {8, 8}, {3, 3}, {2, 2}, 16, 16, 16, {1, 1}, {1, 1}), UPS_ALGO_GATHER},  // depthwise
      {conv_geometry(3, {1, 1, 2}, {9, 9, 9}, {1, 1, 1}, 16, 16), UPS_ALGO_GATHER},             // 729 taps
  };
  for (const Expectation& e : cases) {
    SCOPED_TRACE(e.g.text());
    const upsConvTransposeDesc_t conv = e.g.desc(UPS_ALGO_AUTO);
    const ConvData t = random_conv_data(e.g, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, rng, /*integers=*/true);
    upsAlgorithm_t chosen{};
    UPS_ASSERT_OK(upsConvTransposeBackwardDataChooseAlgorithm(be.cuda().handle, &conv, &t.dy.desc, &t.w.desc, &t.x.desc,
                                                              &chosen));
    EXPECT_EQ(chosen, e.algorithm);
    size_t bytes = 0;
    UPS_ASSERT_OK(
        upsConvTransposeBackwardDataWorkspaceSize(be.cuda().handle, &conv, &t.dy.desc, &t.w.desc, &t.x.desc, &bytes));
    EXPECT_EQ(bytes > 0, e.algorithm == UPS_ALGO_IMPLICIT_GEMM);
    if (bytes == 0) continue;
    HandleGuard own(UPS_BACKEND_CUDA);
    Buffer workspace(UPS_BACKEND_CUDA, bytes);
    UPS_ASSERT_OK(upsSetWorkspace(own.get(), workspace.get(), bytes));
    const HostTensor bound = conv_backward_data(be.reference(), conv, absolute(t.dy), absolute(t.w), t.x.desc);
    EXPECT_TRUE(tensors_within_bound(conv_backward_data({own.get(), UPS_BACKEND_CUDA}, conv, t.dy, t.w, t.x.desc),
                                     conv_backward_data(be.reference(), conv, t.dy, t.w, t.x.desc), bound,
                                     tolerance(UPS_DTYPE_BF16)));
    UPS_ASSERT_OK(upsSetWorkspace(own.get(), workspace.get(), bytes - 1));
    Buffer bdy(UPS_BACKEND_CUDA, t.dy), bw(UPS_BACKEND_CUDA, t.w), bdx(UPS_BACKEND_CUDA, t.x);
    EXPECT_EQ(upsConvTransposeBackwardData(own.get(), &conv, &t.dy.desc, bdy.get(), &t.w.desc, bw.get(), &t.x.desc,
                                           bdx.get()),
              UPS_STATUS_WORKSPACE_TOO_SMALL);
  }
}

// Adjointness of the three engines (forward, data gradient, weight gradient all forced onto
// IMPLICIT_GEMM): <conv(x, w), dy> = <x, dgrad(dy, w)> = <w, wgrad(x, dy)>. f16 integers in
// [-3, 3] on shapes whose sums stay below 2048 keep every product, sum and output exact (f32
// accumulation, integers exact in f16), so the three inner products must agree exactly, computed
// in double. Strided, padded, grouped, dilated, 1-D and 3-D, both layouts.
TEST(CudaConvTransposeBackwardEdge, GradientEnginesAreExactAdjointsOfTheForward) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
  const ConvGeometry shapes[] = {
      conv_geometry(2, {6, 5}, {3, 3}, {2, 2}, 16, 16, 1, {1, 1}, {1, 1}, {1, 1}),
      conv_geometry(2, {5, 5}, {4, 4}, {2, 2}, 16, 24, 2, {1, 1}, {1, 1}),
      conv_geometry(2, {4, 4}, {3, 3}, {2, 2}, 8, 16, 1, {2, 0}, {0, 1}, {1, 1}, {2, 1}),
      conv_geometry(1, {12}, {8}, {4}, 16, 8, 1, {2}, {2}),
      conv_geometry(3, {3, 3, 2}, {3, 3, 3}, {2, 2, 2}, 8, 8, 1, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}),
  };
  auto dot = [](const HostTensor& a, const HostTensor& b) {
    double sum = 0.0;
    for (int64_t i = 0; i < a.size(); ++i) sum += a.get(i) * b.get(i);
    return sum;
  };
  for (const ConvGeometry& g : shapes)
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(g.text() + " " + layout_label(layout));
      upsConvTransposeDesc_t conv = g.desc(UPS_ALGO_IMPLICIT_GEMM);
      const ConvData t = random_conv_data(g, UPS_DTYPE_F16, layout, rng, /*integers=*/true);
      const HostTensor y = conv_forward(be.cuda(), conv, t.x, t.w, nullptr);
      const HostTensor dx = conv_backward_data(be.cuda(), conv, t.dy, t.w, t.x.desc);
      const HostTensor dw = conv_backward_weight(be.cuda(), conv, t.x, t.dy, t.w.desc);
      const double forward = dot(y, t.dy);
      EXPECT_EQ(dot(t.x, dx), forward) << "data gradient";
      EXPECT_EQ(dot(t.w, dw), forward) << "weight gradient";
      EXPECT_NE(forward, 0.0) << "a vacuous identity";
      if (HasFailure()) return;
    }
}

// Finite differences through the engine, f64 (its SIMT twin), forward and data gradient both
// forced onto IMPLICIT_GEMM: for a random direction v, <dy, (y(x + h v) - y(x - h v)) / 2h> must
// equal <dgrad(dy), v>. The op is linear, so the central difference is exact but for rounding: a
// relative tolerance of 1e-9. (The weight gradient's engine is f16/bf16 only; its exact f16
// adjointness is the test above.)
TEST(CudaConvTransposeBackwardEdge, DataGradientEngineMatchesFiniteDifferences) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
  const ConvGeometry shapes[] = {conv_geometry(2, {5, 4}, {3, 3}, {2, 2}, 16, 24, 2, {1, 1}, {1, 1}, {1, 0}),
                                 conv_geometry(1, {9}, {8}, {4}, 8, 16, 1, {2}, {2}, {}, {2})};
  auto dot = [](const HostTensor& a, const HostTensor& b) {
    double sum = 0.0;
    for (int64_t i = 0; i < a.size(); ++i) sum += a.get(i) * b.get(i);
    return sum;
  };
  for (const ConvGeometry& g : shapes)
    for (upsLayout_t layout : kLayouts) {
      SCOPED_TRACE(g.text() + " " + layout_label(layout));
      const upsConvTransposeDesc_t conv = g.desc(UPS_ALGO_IMPLICIT_GEMM);
      const ConvData t = random_conv_data(g, UPS_DTYPE_F64, layout, rng, /*integers=*/false);
      HostTensor v(t.x.desc), x_plus(t.x.desc), x_minus(t.x.desc);
      v.fill_random(rng);
      const double h = 1e-3;
      for (int64_t i = 0; i < v.size(); ++i) {
        x_plus.set(i, t.x.get(i) + h * v.get(i));
        x_minus.set(i, t.x.get(i) - h * v.get(i));
      }
      const double difference = (dot(conv_forward(be.cuda(), conv, x_plus, t.w), t.dy) -
                                 dot(conv_forward(be.cuda(), conv, x_minus, t.w), t.dy)) /
                                (2 * h);
      const double adjoint = dot(conv_backward_data(be.cuda(), conv, t.dy, t.w, t.x.desc), v);
      EXPECT_NEAR(difference, adjoint, 1e-9 * (1.0 + std::fabs(adjoint)));
    }
}

// The weight gradient on the engine through the public API: forced IMPLICIT_GEMM (f16/bf16) on
// every hand-picked geometry, both layouts, against the reference backend within the dtype's
// tolerance of the sum of |terms|, twice for identical bits; the bias gradient with the same desc
// runs its reduction. Then AUTO's choice: the engine for f16/bf16 with 8+ channels per group on
// both sides, GATHER for f32, few channels, or an x that is not 16-byte aligned (the fallback
// result checked too).
TEST(CudaConvTransposeBackwardEdge, WeightGradientImplicitGemmMatchesReference) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
  for (const ConvGeometry& g : sanitizer_subset(backward_edge_geometries()))
    for (const auto& [dtype, layout] :
         {std::pair{UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST}, std::pair{UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_FIRST}}) {
      // The 9x9x9 kernel is 729 one-tile GEMMs: minutes under the emulation's sanitizer builds
      // for nothing the 27-tap 3-D geometry does not cover.
      if (g.dims == 3 && g.k[0] == 9) continue;
      SCOPED_TRACE(g.text() + " " + layout_label(layout) + " " + dtype_label(dtype));
      const upsConvTransposeDesc_t conv = g.desc(UPS_ALGO_IMPLICIT_GEMM);
      const ConvData t = random_conv_data(g, dtype, layout, rng, /*integers=*/false);
      const HostTensor dw = conv_backward_weight(be.cuda(), conv, t.x, t.dy, t.w.desc);
      const HostTensor bound = conv_backward_weight(be.reference(), conv, absolute(t.x), absolute(t.dy), t.w.desc);
      EXPECT_TRUE(tensors_within_bound(dw, conv_backward_weight(be.reference(), conv, t.x, t.dy, t.w.desc), bound,
                                       tolerance(dtype)))
          << "dw";
      EXPECT_TRUE(tensors_identical(conv_backward_weight(be.cuda(), conv, t.x, t.dy, t.w.desc), dw)) << "repeat";
      EXPECT_TRUE(tensors_within_bound(conv_backward_bias(be.cuda(), conv, t.dy),
                                       conv_backward_bias(be.reference(), conv, t.dy),
                                       conv_backward_bias(be.reference(), conv, absolute(t.dy)), tolerance(dtype)))
          << "db";
      if (HasFailure()) return;
    }
}

TEST(CudaConvTransposeBackwardEdge, WeightGradientAutoChoice) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
  struct Expectation {
    ConvGeometry g;
    upsDataType_t dtype;
    upsAlgorithm_t algorithm;
  };
  const ConvGeometry wide = conv_geometry(2, {8, 8}, {4, 4}, {2, 2}, 64, 32, 1, {1, 1}, {1, 1});
  const Expectation cases[] = {
      {wide, UPS_DTYPE_BF16, UPS_ALGO_IMPLICIT_GEMM},
      {wide, UPS_DTYPE_F32, UPS_ALGO_GATHER},
      {conv_geometry(2, {8, 8}, {3, 3}, {2, 2}, 16, 16, 16, {1, 1}, {1, 1}), UPS_DTYPE_BF16, UPS_ALGO_GATHER},
  };
  for (const Expectation& e : cases) {
    SCOPED_TRACE(e.g.text() + " " + dtype_label(e.dtype));
    const upsConvTransposeDesc_t conv = e.g.desc(UPS_ALGO_AUTO);
    const upsTensorDesc_t x = e.g.x_desc(e.dtype, UPS_LAYOUT_CHANNELS_LAST),
                          w = e.g.w_desc(e.dtype, UPS_LAYOUT_CHANNELS_LAST),
                          y = e.g.y_desc(e.dtype, UPS_LAYOUT_CHANNELS_LAST);
    upsAlgorithm_t chosen{};
    UPS_ASSERT_OK(upsConvTransposeBackwardWeightChooseAlgorithm(be.cuda().handle, &conv, &x, &y, &w, &chosen));
    EXPECT_EQ(chosen, e.algorithm);
  }
  // AUTO with an x two bytes past a 16-byte boundary: GATHER runs it, within the workspace AUTO's
  // query reported.
  const ConvData t = random_conv_data(wide, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, rng, /*integers=*/true);
  const upsConvTransposeDesc_t conv = wide.desc(UPS_ALGO_AUTO);
  size_t bytes = 0;
  UPS_ASSERT_OK(
      upsConvTransposeBackwardWeightWorkspaceSize(be.cuda().handle, &conv, &t.x.desc, &t.dy.desc, &t.w.desc, &bytes));
  HandleGuard own(UPS_BACKEND_CUDA);
  Buffer workspace(UPS_BACKEND_CUDA, bytes);
  UPS_ASSERT_OK(upsSetWorkspace(own.get(), workspace.get(), bytes));
  Buffer bx(UPS_BACKEND_CUDA, static_cast<size_t>(element_count(t.x.desc) * 2 + 16)), bdy(UPS_BACKEND_CUDA, t.dy);
  char* shifted_x = static_cast<char*>(bx.get()) + 2;
  ASSERT_EQ(cudaMemcpy(shifted_x, t.x.data(), static_cast<size_t>(element_count(t.x.desc) * 2), cudaMemcpyHostToDevice),
            cudaSuccess);
  HostTensor dw(t.w.desc);
  dw.poison();
  Buffer bdw(UPS_BACKEND_CUDA, dw);
  UPS_ASSERT_OK(upsConvTransposeBackwardWeight(own.get(), &conv, &t.x.desc, shifted_x, &t.dy.desc, bdy.get(), &t.w.desc,
                                               bdw.get()));
  bdw.download(&dw);
  EXPECT_TRUE(tensors_within_bound(dw, conv_backward_weight(be.reference(), conv, t.x, t.dy, t.w.desc),
                                   conv_backward_weight(be.reference(), conv, absolute(t.x), absolute(t.dy), t.w.desc),
                                   tolerance(UPS_DTYPE_BF16)));
}

}  // namespace
}  // namespace upsample::test

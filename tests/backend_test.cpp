// One suite, every backend: the CUDA backend's ops against the REFERENCE backend, through the
// public API, on random and edge shapes covering op x dtype x layout x algorithm x 1/2/3-D.
//
// In the emulated build (label `emulated`) the CUDA backend's kernels run on the CPU through the
// emulation layer; in the real build (label `gpu`) they run on a GPU, or the tests skip with a
// message when there is none. Outputs are poisoned (NaN) before every run, so an element a kernel
// fails to write fails the comparison.
#include <algorithm>
#include <string>
#include <vector>

#include "test_util.h"

#if defined(UPS_EMULATION)
#include "core/index_width.h"  // set_force_64bit_indexing: reachable in the static emulated library only
#endif

namespace upsample::test {
namespace {

const upsDataType_t kFloatDtypes[] = {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16};
const upsLayout_t kLayouts[] = {UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST};

const char* layout_label(upsLayout_t layout) { return layout == UPS_LAYOUT_CHANNELS_FIRST ? "NCHW" : "NHWC"; }

int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

std::string shape_text(const upsTensorDesc_t& d) {
  std::string s = "(" + std::to_string(d.n) + ", " + std::to_string(d.c);
  for (int i = 0; i < d.spatial_dims; ++i) s += ", " + std::to_string(d.spatial[i]);
  return s + ")";
}

// Runs an op on both backends: `run(handle, buffers...)` is called once per backend.
class CudaFixture {
 public:
  CudaFixture() : cuda_(UPS_BACKEND_CUDA), reference_(UPS_BACKEND_REFERENCE) {}
  upsHandle_t cuda() const { return cuda_.get(); }
  upsHandle_t reference() const { return reference_.get(); }

 private:
  HandleGuard cuda_;
  HandleGuard reference_;
};

// Whether kernels run on the 64-bit index path in this scope (emulated build only).
class IndexWidth {
 public:
  explicit IndexWidth(bool force64) {
#if defined(UPS_EMULATION)
    upsample::detail::set_force_64bit_indexing(force64);
#else
    (void)force64;
#endif
  }
  ~IndexWidth() {
#if defined(UPS_EMULATION)
    upsample::detail::set_force_64bit_indexing(false);
#endif
  }
};

// ---------------------------------------------------------------------------------------------
// Unpooling
// ---------------------------------------------------------------------------------------------
struct UnpoolCase {
  upsUnpoolMode_t mode;
  upsDataType_t dtype;
  upsLayout_t layout;
  int dims;
  bool index64;
};

std::string unpool_name(const ::testing::TestParamInfo<UnpoolCase>& info) {
  const UnpoolCase& c = info.param;
  return std::string(c.mode == UPS_UNPOOL_NEAREST ? "Nearest" : "BedOfNails") + "_" + dtype_label(c.dtype) + "_" +
         layout_label(c.layout) + "_" + std::to_string(c.dims) + "d" + (c.index64 ? "_Index64" : "");
}

class CudaUnpool : public ::testing::TestWithParam<UnpoolCase> {};

TEST_P(CudaUnpool, MatchesReferenceBitForBit) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const UnpoolCase c = GetParam();
  CudaFixture fx;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  // Shapes: random small ones, plus channel counts that are and are not multiples of the
  // 16-byte vector (2, 4 or 8 lanes), and widths that are and are not.
  for (int trial = 0; trial < 12; ++trial) {
    std::vector<int64_t> spatial, scale;
    for (int a = 0; a < c.dims; ++a) {
      spatial.push_back(uniform_int(rng, 1, c.dims == 3 ? 4 : 7));
      scale.push_back(uniform_int(rng, 1, 3));
    }
    const int64_t channels = trial % 2 == 0 ? 8 * uniform_int(rng, 1, 2) : uniform_int(rng, 1, 5);
    const upsTensorDesc_t x_desc = make_desc(c.dtype, c.layout, uniform_int(rng, 1, 2), channels, spatial);
    upsUnpoolDesc_t desc{};
    desc.mode = c.mode;
    desc.spatial_dims = c.dims;
    for (int a = 0; a < c.dims; ++a) desc.scale[a] = scale[static_cast<size_t>(a)];
    upsTensorDesc_t y_desc;
    UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
    SCOPED_TRACE("x " + shape_text(x_desc) + " -> y " + shape_text(y_desc));

    HostTensor x(x_desc), expected(y_desc), actual(y_desc);
    x.fill_random(rng, -4, 4);
    expected.poison();
    UPS_ASSERT_OK(upsUnpoolForward(fx.reference(), &desc, &x_desc, x.data(), &y_desc, expected.data()));
    Buffer dx(UPS_BACKEND_CUDA, x);
    actual.poison();
    Buffer dy(UPS_BACKEND_CUDA, actual);
    UPS_ASSERT_OK(upsUnpoolForward(fx.cuda(), &desc, &x_desc, dx.get(), &y_desc, dy.get()));
    dy.download(&actual);
    ASSERT_TRUE(tensors_identical(actual, expected));
  }
}

std::vector<UnpoolCase> all_unpool_cases() {
  std::vector<UnpoolCase> cases;
  for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS})
    for (upsDataType_t dtype : kFloatDtypes)
      for (upsLayout_t layout : kLayouts)
        for (int dims = 1; dims <= 3; ++dims) cases.push_back({mode, dtype, layout, dims, false});
  for (upsLayout_t layout : kLayouts) cases.push_back({UPS_UNPOOL_NEAREST, UPS_DTYPE_F16, layout, 2, true});
  for (upsLayout_t layout : kLayouts) cases.push_back({UPS_UNPOOL_BED_OF_NAILS, UPS_DTYPE_F32, layout, 3, true});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(All, CudaUnpool, ::testing::ValuesIn(all_unpool_cases()), unpool_name);

// The 16-byte path requires alignment: an offset (but element-aligned) pointer takes the scalar
// path and must give the same answer.
TEST(CudaUnpoolEdge, UnalignedVectorPointersUseScalarPath) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  CudaFixture fx;
  auto rng = make_rng();
  for (upsLayout_t layout : kLayouts) {
    const upsTensorDesc_t x_desc = make_desc(UPS_DTYPE_F32, layout, 1, 8, {3, 4});
    upsUnpoolDesc_t desc{0, UPS_UNPOOL_NEAREST, 2, {2, 2, 0}};
    upsTensorDesc_t y_desc;
    UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
    HostTensor x(x_desc), expected(y_desc), actual(y_desc);
    x.fill_random(rng);
    UPS_ASSERT_OK(upsUnpoolForward(fx.reference(), &desc, &x_desc, x.data(), &y_desc, expected.data()));
    Buffer dx(UPS_BACKEND_CUDA, x.bytes.size() + 16), dy(UPS_BACKEND_CUDA, actual.bytes.size() + 16);
    char* x_shifted = static_cast<char*>(dx.get()) + 4;
    char* y_shifted = static_cast<char*>(dy.get()) + 4;
    cudaMemcpy(x_shifted, x.data(), x.bytes.size(), cudaMemcpyHostToDevice);
    actual.poison();
    cudaMemcpy(y_shifted, actual.data(), actual.bytes.size(), cudaMemcpyHostToDevice);
    UPS_ASSERT_OK(upsUnpoolForward(fx.cuda(), &desc, &x_desc, x_shifted, &y_desc, y_shifted));
    cudaMemcpy(actual.data(), y_shifted, actual.bytes.size(), cudaMemcpyDeviceToHost);
    EXPECT_TRUE(tensors_identical(actual, expected)) << layout_label(layout);
  }
}

// ---------------------------------------------------------------------------------------------
// Max-pooling and max-unpooling
// ---------------------------------------------------------------------------------------------
struct PoolCase {
  upsDataType_t dtype;
  upsLayout_t layout;
  int dims;
  bool index64;
};

std::string pool_name(const ::testing::TestParamInfo<PoolCase>& info) {
  const PoolCase& c = info.param;
  return std::string(dtype_label(c.dtype)) + "_" + layout_label(c.layout) + "_" + std::to_string(c.dims) + "d" +
         (c.index64 ? "_Index64" : "");
}

std::vector<PoolCase> all_pool_cases() {
  std::vector<PoolCase> cases;
  for (upsDataType_t dtype : kFloatDtypes)
    for (upsLayout_t layout : kLayouts)
      for (int dims = 1; dims <= 3; ++dims) cases.push_back({dtype, layout, dims, false});
  for (upsLayout_t layout : kLayouts) cases.push_back({UPS_DTYPE_F32, layout, 2, true});
  return cases;
}

upsPoolDesc_t random_pool(std::mt19937_64& rng, int dims, bool kernel_equals_stride) {
  upsPoolDesc_t p{};
  p.spatial_dims = dims;
  for (int a = 0; a < dims; ++a) {
    p.kernel[a] = uniform_int(rng, 1, 3);
    p.stride[a] = kernel_equals_stride ? p.kernel[a] : uniform_int(rng, 1, 3);
    p.padding[a] = kernel_equals_stride ? 0 : uniform_int(rng, 0, p.kernel[a] / 2);
    p.dilation[a] = kernel_equals_stride ? 1 : uniform_int(rng, 1, 2);
  }
  p.ceil_mode = kernel_equals_stride ? 0 : static_cast<int>(uniform_int(rng, 0, 1));
  return p;
}

class CudaMaxPool : public ::testing::TestWithParam<PoolCase> {};

TEST_P(CudaMaxPool, ValuesAndIndicesMatchReference) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const PoolCase c = GetParam();
  CudaFixture fx;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 6; ++trial) {
    const upsPoolDesc_t pool = random_pool(rng, c.dims, false);
    std::vector<int64_t> spatial;
    for (int a = 0; a < c.dims; ++a) spatial.push_back(uniform_int(rng, 3, c.dims == 3 ? 5 : 9));
    const upsTensorDesc_t x_desc = make_desc(c.dtype, c.layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 5), spatial);
    upsTensorDesc_t y_desc, i_desc;
    if (upsMaxPoolOutputDesc(&pool, &x_desc, &y_desc, &i_desc) != UPS_STATUS_SUCCESS) continue;  // window too large
    SCOPED_TRACE("x " + shape_text(x_desc) + " -> y " + shape_text(y_desc));
    HostTensor x(x_desc);
    // Few distinct values (ties), negatives (a zero from padding would be wrong), and one NaN.
    x.fill_random(rng, -3, 3, /*integers=*/true);
    if (trial == 3) x.set(uniform_int(rng, 0, x.size() - 1), std::nan(""));
    HostTensor y_ref(y_desc), i_ref(i_desc), y(y_desc), i(i_desc);
    y_ref.poison();
    i_ref.poison();
    UPS_ASSERT_OK(upsMaxPoolForward(fx.reference(), &pool, &x_desc, x.data(), &y_desc, y_ref.data(), &i_desc,
                                    i_ref.as_i64()));
    y.poison();
    i.poison();
    Buffer dx(UPS_BACKEND_CUDA, x), dy(UPS_BACKEND_CUDA, y), di(UPS_BACKEND_CUDA, i);
    UPS_ASSERT_OK(upsMaxPoolForward(fx.cuda(), &pool, &x_desc, dx.get(), &y_desc, dy.get(), &i_desc,
                                    static_cast<int64_t*>(di.get())));
    dy.download(&y);
    di.download(&i);
    ASSERT_TRUE(tensors_identical(y, y_ref));
    ASSERT_TRUE(tensors_identical(i, i_ref));
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaMaxPool, ::testing::ValuesIn(all_pool_cases()), pool_name);

class CudaMaxUnpool : public ::testing::TestWithParam<PoolCase> {};

TEST_P(CudaMaxUnpool, MatchesReferenceIncludingDuplicates) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const PoolCase c = GetParam();
  CudaFixture fx;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 4; ++trial) {
    const upsPoolDesc_t pool = random_pool(rng, c.dims, trial % 2 == 0);
    std::vector<int64_t> spatial;
    for (int a = 0; a < c.dims; ++a) spatial.push_back(uniform_int(rng, 1, c.dims == 3 ? 3 : 6));
    const upsTensorDesc_t x_desc = make_desc(c.dtype, c.layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 4), spatial);
    upsTensorDesc_t y_desc;
    if (upsMaxUnpoolOutputDesc(&pool, &x_desc, nullptr, &y_desc) != UPS_STATUS_SUCCESS || element_count(y_desc) == 0)
      continue;  // no shape, or an empty plane (every index out of range, as in PyTorch)
    SCOPED_TRACE("x " + shape_text(x_desc) + " -> y " + shape_text(y_desc));
    upsTensorDesc_t i_desc = x_desc;
    i_desc.dtype = UPS_DTYPE_I64;
    int64_t plane = 1;
    for (int a = 0; a < c.dims; ++a) plane *= y_desc.spatial[a];
    HostTensor x(x_desc), indices(i_desc);
    x.fill_random(rng, -2, 2);
    // Random in-range switches: duplicates are likely, and the documented rule decides them.
    for (int64_t e = 0; e < indices.size(); ++e) indices.as_i64()[e] = uniform_int(rng, 0, plane - 1);
    HostTensor expected(y_desc), actual(y_desc);
    expected.poison();
    UPS_ASSERT_OK(upsMaxUnpoolForward(fx.reference(), &pool, &x_desc, x.data(), &i_desc, indices.as_i64(), &y_desc,
                                      expected.data()));
    actual.poison();
    Buffer dx(UPS_BACKEND_CUDA, x), di(UPS_BACKEND_CUDA, indices), dy(UPS_BACKEND_CUDA, actual);
    UPS_ASSERT_OK(upsMaxUnpoolForward(fx.cuda(), &pool, &x_desc, dx.get(), &i_desc,
                                      static_cast<const int64_t*>(di.get()), &y_desc, dy.get()));
    dy.download(&actual);
    ASSERT_TRUE(tensors_identical(actual, expected));

    // Two bad indices: both backends name the same first position, and y is untouched.
    if (indices.size() >= 2) {
      const int64_t first = uniform_int(rng, 0, indices.size() - 2);
      indices.as_i64()[first] = plane;
      indices.as_i64()[indices.size() - 1] = -1;
      di.upload(indices);
      upsStatus_t status = upsMaxUnpoolForward(fx.reference(), &pool, &x_desc, x.data(), &i_desc, indices.as_i64(),
                                               &y_desc, expected.data());
      ASSERT_EQ(status, UPS_STATUS_INDEX_OUT_OF_RANGE);
      const std::string reference_message = upsGetLastErrorString();
      status = upsMaxUnpoolForward(fx.cuda(), &pool, &x_desc, dx.get(), &i_desc, static_cast<const int64_t*>(di.get()),
                                   &y_desc, dy.get());
      ASSERT_EQ(status, UPS_STATUS_INDEX_OUT_OF_RANGE);
      EXPECT_EQ(std::string(upsGetLastErrorString()), reference_message);
      HostTensor after(y_desc);
      dy.download(&after);
      EXPECT_TRUE(tensors_identical(after, actual)) << "a rejected max-unpool wrote to y";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaMaxUnpool, ::testing::ValuesIn(all_pool_cases()), pool_name);

// ---------------------------------------------------------------------------------------------
// Transposed convolution
// ---------------------------------------------------------------------------------------------
struct ConvGeometry {
  int dims = 2;
  int64_t n = 1, cin = 1, cout = 1, groups = 1;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
  int64_t op[3] = {0, 0, 0}, dil[3] = {1, 1, 1};
  bool bias = false;

  std::string text() const {
    std::string t = std::to_string(dims) + "d n" + std::to_string(n) + " cin" + std::to_string(cin) + " cout" +
                    std::to_string(cout) + " g" + std::to_string(groups) + (bias ? " bias" : "");
    for (int a = 0; a < dims; ++a)
      t += " | in" + std::to_string(in[a]) + " k" + std::to_string(k[a]) + " s" + std::to_string(s[a]) + " p" +
           std::to_string(pb[a]) + "/" + std::to_string(pe[a]) + " op" + std::to_string(op[a]) + " d" +
           std::to_string(dil[a]);
    return t;
  }
};

// Random geometry: stride below, equal to and above the kernel, dilation, asymmetric padding,
// output_padding within its rule, groups (depthwise included).
ConvGeometry random_conv(std::mt19937_64& rng, int dims) {
  for (;;) {
    ConvGeometry g;
    g.dims = dims;
    g.groups = uniform_int(rng, 0, 3) == 0 ? uniform_int(rng, 2, 3) : 1;
    g.cin = g.groups * uniform_int(rng, 1, 4);
    g.cout = g.groups * uniform_int(rng, 1, 5);
    if (uniform_int(rng, 0, 5) == 0) g.cout = g.cin = g.groups = uniform_int(rng, 2, 5);  // depthwise
    g.n = uniform_int(rng, 1, 2);
    g.bias = uniform_int(rng, 0, 1) == 1;
    bool ok = true;
    for (int a = 0; a < dims; ++a) {
      g.in[a] = uniform_int(rng, 1, dims == 3 ? 3 : 5);
      g.k[a] = uniform_int(rng, 1, dims == 1 ? 6 : 4);
      g.s[a] = uniform_int(rng, 1, 3);
      g.dil[a] = uniform_int(rng, 0, 3) == 0 ? 2 : 1;
      g.pb[a] = uniform_int(rng, 0, 2);
      g.pe[a] = uniform_int(rng, 0, 2);
      g.op[a] = uniform_int(rng, 0, std::max(g.s[a], g.dil[a]) - 1);
      const int64_t out = (g.in[a] - 1) * g.s[a] - g.pb[a] - g.pe[a] + g.dil[a] * (g.k[a] - 1) + g.op[a] + 1;
      ok = ok && out >= 1;
    }
    if (ok) return g;
  }
}

struct ConvDescs {
  upsConvTransposeDesc_t conv;
  upsTensorDesc_t x, w, y;
};

ConvDescs make_conv_descs(const ConvGeometry& g, upsDataType_t dtype, upsLayout_t layout, upsAlgorithm_t algorithm) {
  ConvDescs d{};
  upsConvTransposeDescInit(&d.conv, g.dims);
  std::vector<int64_t> in, k;
  for (int a = 0; a < g.dims; ++a) {
    d.conv.stride[a] = g.s[a];
    d.conv.pad_begin[a] = g.pb[a];
    d.conv.pad_end[a] = g.pe[a];
    d.conv.output_padding[a] = g.op[a];
    d.conv.dilation[a] = g.dil[a];
    in.push_back(g.in[a]);
    k.push_back(g.k[a]);
  }
  d.conv.groups = g.groups;
  d.conv.algorithm = algorithm;
  d.x = make_desc(dtype, layout, g.n, g.cin, in);
  d.w = make_desc(dtype, layout, g.cin, g.cout / g.groups, k);
  upsConvTransposeOutputDesc(&d.conv, &d.x, &d.w, &d.y);
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

// Runs one backend; returns the output.
HostTensor run_conv(upsHandle_t handle, upsBackend_t backend, const ConvDescs& d, const ConvTensors& t,
                    const ConvGeometry& g) {
  HostTensor y(d.y);
  y.poison();
  Buffer dx(backend, t.x), dw(backend, t.w), db(backend, t.bias), dy(backend, y);
  const upsStatus_t status = upsConvTransposeForward(handle, &d.conv, &d.x, dx.get(), &d.w, dw.get(),
                                                     g.bias ? db.get() : nullptr, &d.y, dy.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  dy.download(&y);
  return y;
}

struct ConvCase {
  upsAlgorithm_t algorithm;
  upsDataType_t dtype;
  upsLayout_t layout;
  int dims;
  bool index64;
};

std::string conv_name(const ::testing::TestParamInfo<ConvCase>& info) {
  const ConvCase& c = info.param;
  return std::string(c.algorithm == UPS_ALGO_GATHER ? "Gather" : c.algorithm == UPS_ALGO_SCATTER_ATOMIC ? "Scatter" : "Auto") +
         "_" + dtype_label(c.dtype) + "_" + layout_label(c.layout) + "_" + std::to_string(c.dims) + "d" +
         (c.index64 ? "_Index64" : "");
}

std::vector<ConvCase> all_conv_cases() {
  std::vector<ConvCase> cases;
  for (upsAlgorithm_t algorithm : {UPS_ALGO_GATHER, UPS_ALGO_SCATTER_ATOMIC})
    for (upsDataType_t dtype : kFloatDtypes)
      for (upsLayout_t layout : kLayouts)
        for (int dims = 1; dims <= 3; ++dims) cases.push_back({algorithm, dtype, layout, dims, false});
  for (upsLayout_t layout : kLayouts) {
    cases.push_back({UPS_ALGO_GATHER, UPS_DTYPE_F32, layout, 2, true});
    cases.push_back({UPS_ALGO_SCATTER_ATOMIC, UPS_DTYPE_F16, layout, 2, true});
    cases.push_back({UPS_ALGO_AUTO, UPS_DTYPE_F32, layout, 2, false});
  }
  return cases;
}

class CudaConvTranspose : public ::testing::TestWithParam<ConvCase> {};

// Integer-valued inputs: every partial sum is exact in f32/f64, so the result must equal the
// reference bit for bit whatever the summation order. f16/bf16 round their output, so they are
// compared with their tolerance.
TEST_P(CudaConvTranspose, IntegerInputsMatchReference) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const ConvCase c = GetParam();
  CudaFixture fx;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 16; ++trial) {
    const ConvGeometry g = random_conv(rng, c.dims);
    SCOPED_TRACE(g.text());
    const ConvDescs d = make_conv_descs(g, c.dtype, c.layout, c.algorithm);
    const ConvTensors t = random_conv_tensors(d, g, rng, /*integers=*/true);
    const HostTensor expected = run_conv(fx.reference(), UPS_BACKEND_REFERENCE, d, t, g);
    const HostTensor actual = run_conv(fx.cuda(), UPS_BACKEND_CUDA, d, t, g);
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
  const ConvCase c = GetParam();
  CudaFixture fx;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 8; ++trial) {
    const ConvGeometry g = random_conv(rng, c.dims);
    SCOPED_TRACE(g.text());
    const ConvDescs d = make_conv_descs(g, c.dtype, c.layout, c.algorithm);
    const ConvTensors t = random_conv_tensors(d, g, rng, /*integers=*/false);
    const HostTensor expected = run_conv(fx.reference(), UPS_BACKEND_REFERENCE, d, t, g);
    const HostTensor actual = run_conv(fx.cuda(), UPS_BACKEND_CUDA, d, t, g);
    ASSERT_TRUE(tensors_close(actual, expected, tolerance(c.dtype)));
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaConvTranspose, ::testing::ValuesIn(all_conv_cases()), conv_name);

// Edge geometries, by hand: each runs with both algorithms, both layouts, in f32 (exact with
// integer inputs) and f16.
ConvGeometry edge(int dims, std::vector<int64_t> in, std::vector<int64_t> k, std::vector<int64_t> s,
                  int64_t cin = 3, int64_t cout = 5, int64_t groups = 1, std::vector<int64_t> pb = {},
                  std::vector<int64_t> pe = {}, std::vector<int64_t> op = {}, std::vector<int64_t> dil = {},
                  int64_t n = 2) {
  ConvGeometry g;
  g.dims = dims;
  g.n = n;
  g.cin = cin;
  g.cout = cout;
  g.groups = groups;
  g.bias = true;
  for (int a = 0; a < dims; ++a) {
    const size_t i = static_cast<size_t>(a);
    g.in[a] = in[i];
    g.k[a] = k[i];
    g.s[a] = s[i];
    g.pb[a] = i < pb.size() ? pb[i] : 0;
    g.pe[a] = i < pe.size() ? pe[i] : 0;
    g.op[a] = i < op.size() ? op[i] : 0;
    g.dil[a] = i < dil.size() ? dil[i] : 1;
  }
  return g;
}

std::vector<ConvGeometry> edge_geometries() {
  return {
      edge(2, {1, 1}, {1, 1}, {1, 1}, 1, 1),                                   // 1x1 everything
      edge(2, {7, 9}, {3, 3}, {1, 1}),                                         // odd extents, stride 1
      edge(2, {4, 4}, {4, 4}, {2, 2}, 16, 32, 1, {1, 1}, {1, 1}),              // DCGAN-style k4 s2 p1
      edge(2, {3, 5}, {2, 2}, {3, 3}),                                         // stride > kernel: gaps
      edge(2, {3, 3}, {5, 5}, {2, 2}, 3, 5, 1, {0, 2}, {1, 0}),                 // kernel > stride, asymmetric pad
      edge(2, {3, 4}, {3, 3}, {2, 2}, 4, 6, 2, {1, 1}, {1, 1}, {1, 1}),        // groups, output_padding
      edge(2, {4, 4}, {3, 3}, {2, 2}, 6, 6, 6, {1, 1}, {1, 1}, {1, 1}),        // depthwise (VAE-like)
      edge(2, {3, 3}, {3, 3}, {2, 2}, 3, 4, 1, {0, 0}, {0, 0}, {1, 0}, {2, 3}), // dilation, gcd(s, d) > 1
      edge(2, {2, 3}, {3, 2}, {1, 1}, 2, 3, 1, {0, 0}, {0, 0}, {1, 1}, {2, 2}), // output_padding < dilation only
      edge(1, {9}, {16}, {8}, 4, 3, 1, {4}, {4}),                              // HiFi-GAN-like k16 s8 p4
      edge(1, {5}, {6}, {3}, 8, 8, 8, {1}, {1}),                               // depthwise 1-D k6 s3
      edge(1, {3}, {40}, {1}),                                                 // 40 taps: the direct gather path
      edge(3, {2, 3, 2}, {2, 2, 2}, {2, 2, 2}, 3, 4),                          // 3-D U-Net k2 s2
      edge(3, {2, 2, 3}, {3, 3, 3}, {2, 2, 2}, 2, 3, 1, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}), // 3-D k3 s2 p1 op1
      edge(2, {2, 2}, {3, 3}, {1, 1}, 40, 20),                                 // channels beyond one tile/chunk
      edge(2, {3, 3}, {2, 2}, {2, 2}, 3, 5, 1, {}, {}, {}, {}, 0),              // empty batch
  };
}

// Every geometry with both algorithms, both layouts, f32 (integer data: exact) and `narrow`
// (compared with its tolerance).
void expect_geometries_match_reference(const std::vector<ConvGeometry>& geometries, upsDataType_t narrow) {
  CudaFixture fx;
  auto rng = make_rng();
  for (const ConvGeometry& g : geometries)
    for (upsAlgorithm_t algorithm : {UPS_ALGO_GATHER, UPS_ALGO_SCATTER_ATOMIC})
      for (upsLayout_t layout : kLayouts)
        for (upsDataType_t dtype : {UPS_DTYPE_F32, narrow}) {
          SCOPED_TRACE(g.text() + " " + (algorithm == UPS_ALGO_GATHER ? "gather " : "scatter ") + layout_label(layout) +
                       " " + dtype_label(dtype));
          const ConvDescs d = make_conv_descs(g, dtype, layout, algorithm);
          const ConvTensors t = random_conv_tensors(d, g, rng, /*integers=*/dtype == UPS_DTYPE_F32);
          const HostTensor expected = run_conv(fx.reference(), UPS_BACKEND_REFERENCE, d, t, g);
          const HostTensor actual = run_conv(fx.cuda(), UPS_BACKEND_CUDA, d, t, g);
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
      edge(2, {4, 4}, {4, 4}, {2, 2}, 64, 32, 1, {1, 1}, {1, 1}),               // DCGAN generator
      edge(2, {16, 16}, {4, 4}, {2, 2}, 16, 8, 1, {1, 1}, {1, 1}, {}, {}, 1),    // pix2pix up-conv
      edge(2, {9, 9}, {3, 3}, {2, 2}, 16, 8, 1, {0, 0}, {0, 0}, {}, {}, 1),      // StyleGAN2 block
      edge(2, {9, 9}, {3, 3}, {2, 2}, 16, 16, 2, {0, 0}, {0, 0}, {}, {}, 1),     // ... grouped per sample
      edge(2, {12, 12}, {3, 3}, {2, 2}, 16, 8, 1, {1, 1}, {1, 1}, {1, 1}, {}, 1), // VAE decoder
      edge(1, {40}, {16}, {8}, 32, 16, 1, {4}, {4}),                            // HiFi-GAN
      edge(1, {150}, {8}, {4}, 8, 4, 1, {2}, {2}),                              // HiFi-GAN, long W
      edge(3, {5, 5, 5}, {2, 2, 2}, {2, 2, 2}, 8, 4, 1, {}, {}, {}, {}, 1),      // 3-D U-Net k2 s2
      edge(3, {4, 4, 4}, {3, 3, 3}, {2, 2, 2}, 8, 4, 1, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {}, 1),  // k3 s2 p1 op1
      edge(1, {20}, {6}, {3}, 32, 32, 32, {}, {}, {}, {}, 2),                   // depthwise 1-D
  };
}

TEST(CudaConvTransposeEdge, ReducedModelShapes) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  expect_geometries_match_reference(model_geometries(), UPS_DTYPE_BF16);
}

// GATHER is deterministic: repeated runs give identical bits (real-valued inputs, where the
// summation order matters).
TEST(CudaConvTransposeEdge, GatherIsBitIdenticalAcrossRuns) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  CudaFixture fx;
  auto rng = make_rng();
  const int repeats = upsCudaDeviceAvailable() ? 5 : 3;
  for (int trial = 0; trial < 4; ++trial) {
    const ConvGeometry g = random_conv(rng, 2);
    SCOPED_TRACE(g.text());
    ConvDescs d = make_conv_descs(g, UPS_DTYPE_F32, trial % 2 ? UPS_LAYOUT_CHANNELS_LAST : UPS_LAYOUT_CHANNELS_FIRST,
                                  UPS_ALGO_AUTO);
    d.conv.deterministic = 1;
    upsAlgorithm_t chosen;
    UPS_ASSERT_OK(upsConvTransposeChooseAlgorithm(fx.cuda(), &d.conv, &d.x, &d.w, &d.y, &chosen));
    EXPECT_EQ(chosen, UPS_ALGO_GATHER) << "the deterministic flag must select GATHER";
    const ConvTensors t = random_conv_tensors(d, g, rng, /*integers=*/false);
    const HostTensor first = run_conv(fx.cuda(), UPS_BACKEND_CUDA, d, t, g);
    for (int r = 1; r < repeats; ++r) ASSERT_TRUE(tensors_identical(run_conv(fx.cuda(), UPS_BACKEND_CUDA, d, t, g), first));
  }
}

// AUTO: the heuristic of src/dispatch.cpp, and the deterministic flag overriding it.
TEST(CudaConvTransposeEdge, AutoHeuristicPicksScatterForLongReductionsOnly) {
  UPS_SKIP_WITHOUT_CUDA();
  CudaFixture fx;
  // Tiny output, long reduction (C_in 512 x 4 taps): SCATTER_ATOMIC parallelizes over inputs.
  ConvDescs small = make_conv_descs(edge(2, {1, 1}, {2, 2}, {2, 2}, 512, 3), UPS_DTYPE_F32,
                                    UPS_LAYOUT_CHANNELS_FIRST, UPS_ALGO_AUTO);
  upsAlgorithm_t chosen;
  UPS_ASSERT_OK(upsConvTransposeChooseAlgorithm(fx.cuda(), &small.conv, &small.x, &small.w, &small.y, &chosen));
  EXPECT_EQ(chosen, UPS_ALGO_SCATTER_ATOMIC);
  small.conv.deterministic = 1;
  UPS_ASSERT_OK(upsConvTransposeChooseAlgorithm(fx.cuda(), &small.conv, &small.x, &small.w, &small.y, &chosen));
  EXPECT_EQ(chosen, UPS_ALGO_GATHER);
  // A large output: GATHER.
  const ConvDescs large = make_conv_descs(edge(2, {64, 64}, {4, 4}, {2, 2}, 64, 64, 1, {1, 1}, {1, 1}), UPS_DTYPE_F32,
                                          UPS_LAYOUT_CHANNELS_FIRST, UPS_ALGO_AUTO);
  UPS_ASSERT_OK(upsConvTransposeChooseAlgorithm(fx.cuda(), &large.conv, &large.x, &large.w, &large.y, &chosen));
  EXPECT_EQ(chosen, UPS_ALGO_GATHER);
}

// Host memory given to the CUDA backend is refused before anything runs.
TEST(CudaApi, HostPointerIsWrongBackendMemory) {
  UPS_SKIP_WITHOUT_CUDA();
  CudaFixture fx;
  const upsTensorDesc_t x_desc = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {4});
  upsUnpoolDesc_t desc{0, UPS_UNPOOL_NEAREST, 1, {2, 0, 0}};
  upsTensorDesc_t y_desc;
  UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
  std::vector<float> host_x(4, 1.0f);
  Buffer dy(UPS_BACKEND_CUDA, 8 * sizeof(float));
  const upsStatus_t status = upsUnpoolForward(fx.cuda(), &desc, &x_desc, host_x.data(), &y_desc, dy.get());
  EXPECT_EQ(status, UPS_STATUS_WRONG_BACKEND_MEMORY);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("x:"), std::string::npos) << upsGetLastErrorString();
  // And device memory given to the reference backend.
  Buffer dx(UPS_BACKEND_CUDA, 4 * sizeof(float));
  std::vector<float> host_y(8, 0.0f);
  EXPECT_EQ(upsUnpoolForward(fx.reference(), &desc, &x_desc, dx.get(), &y_desc, host_y.data()),
            UPS_STATUS_WRONG_BACKEND_MEMORY);
}

}  // namespace
}  // namespace upsample::test

// The backward (gradient) ops, through the public API, on every backend.
//
// Reference suites (names start with "Reference"): the REFERENCE backend against checks from
// outside the library:
//   1. worked examples, by hand;
//   2. adjointness in f64 on random shapes: each op is linear in the argument it is differentiated
//      by, so <forward(x), g> = <x, backward(g)> (and <conv_t(x, w), g> = <w, backward_weight(x, g)>),
//      with forward(x) computed by the library's forward ops;
//   3. finite differences in f64 on small random cases, of the loss <forward(x), g>;
//   4. the gradient-shape queries, and every bad-input class (status, a message naming the
//      argument, outputs untouched).
// CUDA suites (names contain "Cuda", so the `emulated` and `gpu` CTest filters pick them up): the
// CUDA backend against the reference, one suite for every op x dtype x layout x rank (x algorithm),
// with poisoned outputs, per-dtype tolerances, integer-valued inputs compared bit for bit, the
// 64-bit index path forced in some cases, and bit-identical repeats of the deterministic paths.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "test_util.h"
#include "upsample/upsample.hpp"

#if defined(UPS_EMULATION)
#include "core/index_width.h"  // set_force_64bit_indexing: reachable in the static emulated library only
#endif

namespace upsample::test {
namespace {

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------
const upsDataType_t kFloatDtypes[] = {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16};
const upsLayout_t kLayouts[] = {UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST};

const char* layout_label(upsLayout_t layout) { return layout == UPS_LAYOUT_CHANNELS_FIRST ? "NCHW" : "NHWC"; }

int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

upsLayout_t random_layout(std::mt19937_64& rng) { return kLayouts[uniform_int(rng, 0, 1)]; }

std::string shape_text(const upsTensorDesc_t& d) {
  std::string s = std::string(dtype_label(d.dtype)) + " " + layout_label(d.layout) + " (" + std::to_string(d.n) +
                  ", " + std::to_string(d.c);
  for (int i = 0; i < d.spatial_dims; ++i) s += ", " + std::to_string(d.spatial[i]);
  return s + ")";
}

// Calls f(n, c, s) for every element in logical order (n, c, then spatial axes outermost first).
template <typename F>
void for_each_element(const upsTensorDesc_t& d, F&& f) {
  int64_t extent[3] = {1, 1, 1};
  for (int a = 0; a < d.spatial_dims; ++a) extent[a] = d.spatial[a];
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t s0 = 0; s0 < extent[0]; ++s0)
        for (int64_t s1 = 0; s1 < extent[1]; ++s1)
          for (int64_t s2 = 0; s2 < extent[2]; ++s2) {
            const int64_t s[3] = {s0, s1, s2};
            f(n, c, s);
          }
}

// <a, b> over two tensors of one logical shape (each in its own layout); with `absolute`, of |a|*|b|.
double inner(const HostTensor& a, const HostTensor& b, bool absolute = false) {
  double sum = 0.0;
  for_each_element(a.desc, [&](int64_t n, int64_t c, const int64_t* s) {
    const double p = a.get(offset_of(a.desc, n, c, s)) * b.get(offset_of(b.desc, n, c, s));
    sum += absolute ? std::fabs(p) : p;
  });
  return sum;
}

// A tensor of `desc` holding `logical` values, given in channels-first order.
HostTensor tensor_of(const upsTensorDesc_t& desc, const std::vector<double>& logical) {
  HostTensor t(desc);
  EXPECT_EQ(static_cast<int64_t>(logical.size()), t.size()) << "literal has the wrong element count";
  size_t i = 0;
  for_each_element(desc, [&](int64_t n, int64_t c, const int64_t* s) {
    t.set(offset_of(desc, n, c, s), i < logical.size() ? logical[i] : 0.0);
    ++i;
  });
  return t;
}

// The logical values of a tensor, in channels-first order.
std::vector<double> logical_values(const HostTensor& t) {
  std::vector<double> values;
  for_each_element(t.desc, [&](int64_t n, int64_t c, const int64_t* s) { values.push_back(t.get(offset_of(t.desc, n, c, s))); });
  return values;
}

HostTensor filled(const upsTensorDesc_t& desc, double value) {
  HostTensor t(desc);
  for (int64_t i = 0; i < t.size(); ++i) t.set(i, value);
  return t;
}

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
  IndexWidth(const IndexWidth&) = delete;
  IndexWidth& operator=(const IndexWidth&) = delete;
};

#define UPS_HANDLE(name, backend)      \
  HandleGuard name(backend);           \
  UPS_ASSERT_OK(name.status())

// ---------------------------------------------------------------------------------------------
// Op runners: each uploads its inputs to the backend, poisons its output, runs, downloads. A
// failing status is a test failure, and the poisoned output comes back (later checks fail too).
// ---------------------------------------------------------------------------------------------
struct Target {
  upsHandle_t handle;
  upsBackend_t backend;
};

HostTensor unpool_forward(Target r, const upsUnpoolDesc_t& desc, const HostTensor& x) {
  upsTensorDesc_t y_desc{};
  EXPECT_EQ(upsUnpoolOutputDesc(&desc, &x.desc, &y_desc), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
  HostTensor y(y_desc);
  y.poison();
  Buffer bx(r.backend, x), by(r.backend, y);
  const upsStatus_t status = upsUnpoolForward(r.handle, &desc, &x.desc, bx.get(), &y_desc, by.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  by.download(&y);
  return y;
}

HostTensor unpool_backward(Target r, const upsUnpoolDesc_t& desc, const HostTensor& dy, const upsTensorDesc_t& dx_desc) {
  HostTensor dx(dx_desc);
  dx.poison();
  Buffer bdy(r.backend, dy), bdx(r.backend, dx);
  const upsStatus_t status = upsUnpoolBackward(r.handle, &desc, &dy.desc, bdy.get(), &dx_desc, bdx.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  bdx.download(&dx);
  return dx;
}

struct Pooled {
  HostTensor y, indices;
};

Pooled max_pool_forward(Target r, const upsPoolDesc_t& desc, const HostTensor& x) {
  upsTensorDesc_t y_desc{}, i_desc{};
  EXPECT_EQ(upsMaxPoolOutputDesc(&desc, &x.desc, &y_desc, &i_desc), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
  Pooled out{HostTensor(y_desc), HostTensor(i_desc)};
  out.y.poison();
  out.indices.poison();
  Buffer bx(r.backend, x), by(r.backend, out.y), bi(r.backend, out.indices);
  const upsStatus_t status = upsMaxPoolForward(r.handle, &desc, &x.desc, bx.get(), &y_desc, by.get(), &i_desc,
                                               static_cast<int64_t*>(bi.get()));
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  by.download(&out.y);
  bi.download(&out.indices);
  return out;
}

HostTensor max_pool_backward(Target r, const upsPoolDesc_t& desc, const HostTensor& dy, const HostTensor& indices,
                             const upsTensorDesc_t& dx_desc) {
  HostTensor dx(dx_desc);
  dx.poison();
  Buffer bdy(r.backend, dy), bi(r.backend, indices), bdx(r.backend, dx);
  const upsStatus_t status = upsMaxPoolBackward(r.handle, &desc, &dy.desc, bdy.get(), &indices.desc,
                                                static_cast<const int64_t*>(bi.get()), &dx_desc, bdx.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  bdx.download(&dx);
  return dx;
}

HostTensor max_unpool_forward(Target r, const upsPoolDesc_t& desc, const HostTensor& x, const HostTensor& indices,
                              const upsTensorDesc_t& y_desc) {
  HostTensor y(y_desc);
  y.poison();
  Buffer bx(r.backend, x), bi(r.backend, indices), by(r.backend, y);
  const upsStatus_t status = upsMaxUnpoolForward(r.handle, &desc, &x.desc, bx.get(), &indices.desc,
                                                 static_cast<const int64_t*>(bi.get()), &y_desc, by.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  by.download(&y);
  return y;
}

HostTensor max_unpool_backward(Target r, const upsPoolDesc_t& desc, const HostTensor& dy, const HostTensor& indices,
                               const upsTensorDesc_t& dx_desc) {
  HostTensor dx(dx_desc);
  dx.poison();
  Buffer bdy(r.backend, dy), bi(r.backend, indices), bdx(r.backend, dx);
  const upsStatus_t status = upsMaxUnpoolBackward(r.handle, &desc, &dy.desc, bdy.get(), &indices.desc,
                                                  static_cast<const int64_t*>(bi.get()), &dx_desc, bdx.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  bdx.download(&dx);
  return dx;
}

HostTensor conv_forward(Target r, const upsConvTransposeDesc_t& conv, const HostTensor& x, const HostTensor& w,
                        const HostTensor* bias = nullptr) {
  upsTensorDesc_t y_desc{};
  EXPECT_EQ(upsConvTransposeOutputDesc(&conv, &x.desc, &w.desc, &y_desc), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
  HostTensor y(y_desc);
  y.poison();
  Buffer bx(r.backend, x), bw(r.backend, w), by(r.backend, y);
  Buffer bb(r.backend, bias != nullptr ? bias->bytes.size() : 0);
  if (bias != nullptr) bb.upload(*bias);
  const upsStatus_t status = upsConvTransposeForward(r.handle, &conv, &x.desc, bx.get(), &w.desc, bw.get(),
                                                     bias != nullptr ? bb.get() : nullptr, &y_desc, by.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  by.download(&y);
  return y;
}

HostTensor conv_backward_data(Target r, const upsConvTransposeDesc_t& conv, const HostTensor& dy, const HostTensor& w,
                              const upsTensorDesc_t& dx_desc) {
  HostTensor dx(dx_desc);
  dx.poison();
  Buffer bdy(r.backend, dy), bw(r.backend, w), bdx(r.backend, dx);
  const upsStatus_t status =
      upsConvTransposeBackwardData(r.handle, &conv, &dy.desc, bdy.get(), &w.desc, bw.get(), &dx_desc, bdx.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  bdx.download(&dx);
  return dx;
}

HostTensor conv_backward_weight(Target r, const upsConvTransposeDesc_t& conv, const HostTensor& x, const HostTensor& dy,
                                const upsTensorDesc_t& dw_desc) {
  HostTensor dw(dw_desc);
  dw.poison();
  Buffer bx(r.backend, x), bdy(r.backend, dy), bdw(r.backend, dw);
  const upsStatus_t status =
      upsConvTransposeBackwardWeight(r.handle, &conv, &x.desc, bx.get(), &dy.desc, bdy.get(), &dw_desc, bdw.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  bdw.download(&dw);
  return dw;
}

upsTensorDesc_t bias_desc(upsDataType_t dtype, int64_t channels) {
  return make_desc(dtype, UPS_LAYOUT_CHANNELS_FIRST, 1, channels, {1});
}

HostTensor conv_backward_bias(Target r, const upsConvTransposeDesc_t& conv, const HostTensor& dy) {
  HostTensor db(bias_desc(dy.desc.dtype, dy.desc.c));
  db.poison();
  Buffer bdy(r.backend, dy), bdb(r.backend, db);
  const upsStatus_t status = upsConvTransposeBackwardBias(r.handle, &conv, &dy.desc, bdy.get(), bdb.get());
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << status_text(status);
  bdb.download(&db);
  return db;
}

// ---------------------------------------------------------------------------------------------
// Random geometries
// ---------------------------------------------------------------------------------------------
upsUnpoolDesc_t random_unpool(std::mt19937_64& rng, upsUnpoolMode_t mode, int dims) {
  upsUnpoolDesc_t d{};
  d.mode = mode;
  d.spatial_dims = dims;
  for (int a = 0; a < dims; ++a) d.scale[a] = uniform_int(rng, 1, 3);
  return d;
}

// Pooling geometry: kernel vs stride (overlapping and gapped windows), padding, dilation, ceil mode.
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

std::vector<int64_t> random_extents(std::mt19937_64& rng, int dims, int64_t lo, int64_t hi) {
  std::vector<int64_t> extents;
  for (int a = 0; a < dims; ++a) extents.push_back(uniform_int(rng, lo, dims == 3 ? std::min<int64_t>(hi, 4) : hi));
  return extents;
}

// Distinct in-range switches for each (n, c) plane of an indices tensor: a random sample of the
// output plane's positions, so max-unpooling loses nothing and its backward is its exact adjoint.
// False (and nothing filled) when the plane has fewer positions than there are inputs.
bool fill_distinct_indices(std::mt19937_64& rng, HostTensor* indices, int64_t plane) {
  const upsTensorDesc_t& d = indices->desc;
  const std::vector<int64_t> spatial(d.spatial, d.spatial + d.spatial_dims);
  int64_t per_plane = 1;
  for (int64_t e : spatial) per_plane *= e;
  if (per_plane > plane) return false;
  std::vector<int64_t> positions(static_cast<size_t>(plane));
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t c = 0; c < d.c; ++c) {
      std::iota(positions.begin(), positions.end(), 0);
      std::shuffle(positions.begin(), positions.end(), rng);
      size_t k = 0;
      for_each_element(make_desc(d.dtype, d.layout, 1, 1, spatial), [&](int64_t, int64_t, const int64_t* s) {
        indices->as_i64()[offset_of(d, n, c, s)] = positions[k++];
      });
    }
  return true;
}

struct ConvGeometry {
  int dims = 2;
  int64_t n = 1, cin = 1, cout = 1, groups = 1;
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, pe[3] = {0, 0, 0};
  int64_t op[3] = {0, 0, 0}, dil[3] = {1, 1, 1};

  int64_t out(int a) const { return (in[a] - 1) * s[a] - pb[a] - pe[a] + dil[a] * (k[a] - 1) + op[a] + 1; }

  std::string text() const {
    std::string t = std::to_string(dims) + "-D n" + std::to_string(n) + " cin" + std::to_string(cin) + " cout" +
                    std::to_string(cout) + " g" + std::to_string(groups);
    for (int a = 0; a < dims; ++a)
      t += " | in" + std::to_string(in[a]) + " k" + std::to_string(k[a]) + " s" + std::to_string(s[a]) + " p" +
           std::to_string(pb[a]) + "/" + std::to_string(pe[a]) + " op" + std::to_string(op[a]) + " d" +
           std::to_string(dil[a]) + " -> " + std::to_string(out(a));
    return t;
  }
  upsConvTransposeDesc_t desc(upsAlgorithm_t algorithm = UPS_ALGO_AUTO, bool deterministic = false) const {
    upsConvTransposeDesc_t d;
    EXPECT_EQ(upsConvTransposeDescInit(&d, dims), UPS_STATUS_SUCCESS);
    for (int a = 0; a < dims; ++a) {
      d.stride[a] = s[a];
      d.pad_begin[a] = pb[a];
      d.pad_end[a] = pe[a];
      d.output_padding[a] = op[a];
      d.dilation[a] = dil[a];
    }
    d.groups = groups;
    d.algorithm = algorithm;
    d.deterministic = deterministic ? 1 : 0;
    return d;
  }
  upsTensorDesc_t x_desc(upsDataType_t dtype, upsLayout_t layout) const {
    return make_desc(dtype, layout, n, cin, std::vector<int64_t>(in, in + dims));
  }
  upsTensorDesc_t w_desc(upsDataType_t dtype, upsLayout_t layout) const {
    return make_desc(dtype, layout, cin, cout / groups, std::vector<int64_t>(k, k + dims));
  }
  upsTensorDesc_t y_desc(upsDataType_t dtype, upsLayout_t layout) const {
    std::vector<int64_t> o;
    for (int a = 0; a < dims; ++a) o.push_back(out(a));
    return make_desc(dtype, layout, n, cout, o);
  }
};

// Stride below, equal to and above the kernel, dilation (gcd(stride, dilation) > 1 included),
// asymmetric padding, output_padding within its rule, groups and depthwise.
ConvGeometry random_conv(std::mt19937_64& rng, int dims, int64_t max_channels = 4) {
  for (;;) {
    ConvGeometry g;
    g.dims = dims;
    g.groups = uniform_int(rng, 0, 2) == 0 ? uniform_int(rng, 2, 3) : 1;
    g.cin = g.groups * uniform_int(rng, 1, max_channels);
    g.cout = g.groups * uniform_int(rng, 1, max_channels);
    if (uniform_int(rng, 0, 5) == 0) g.cout = g.cin = g.groups = uniform_int(rng, 2, 4);  // depthwise
    g.n = uniform_int(rng, 1, 2);
    bool ok = true;
    for (int a = 0; a < dims; ++a) {
      g.in[a] = uniform_int(rng, 1, dims == 3 ? 3 : 5);
      g.k[a] = uniform_int(rng, 1, dims == 1 ? 6 : 4);
      g.s[a] = uniform_int(rng, 1, 3);
      g.dil[a] = uniform_int(rng, 0, 2) == 0 ? uniform_int(rng, 2, 3) : 1;
      g.pb[a] = uniform_int(rng, 0, 2);
      g.pe[a] = uniform_int(rng, 0, 2);
      g.op[a] = uniform_int(rng, 0, std::max(g.s[a], g.dil[a]) - 1);
      ok = ok && g.out(a) >= 1;
    }
    if (ok) return g;
  }
}

// A hand-written geometry (symmetric defaults), for edge and model shapes.
ConvGeometry conv_geometry(int dims, std::vector<int64_t> in, std::vector<int64_t> k, std::vector<int64_t> s,
                           int64_t cin, int64_t cout, int64_t groups = 1, std::vector<int64_t> pb = {},
                           std::vector<int64_t> pe = {}, std::vector<int64_t> op = {}, std::vector<int64_t> dil = {},
                           int64_t n = 2) {
  ConvGeometry g;
  g.dims = dims;
  g.n = n;
  g.cin = cin;
  g.cout = cout;
  g.groups = groups;
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

// =============================================================================================
// Reference: worked examples, by hand
// =============================================================================================
TEST(ReferenceBackwardExample, UnpoolNearestSumsCellsBedOfNailsTakesFirst) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  for (upsLayout_t layout : kLayouts) {
    SCOPED_TRACE(layout_label(layout));
    // dy 4x4 = 1..16 in rows; scale 2: each dx element gathers its 2x2 cell.
    const upsTensorDesc_t dy_desc = make_desc(UPS_DTYPE_F32, layout, 1, 1, {4, 4});
    std::vector<double> values(16);
    std::iota(values.begin(), values.end(), 1.0);
    const HostTensor dy = tensor_of(dy_desc, values);
    upsUnpoolDesc_t nearest{0, UPS_UNPOOL_NEAREST, 2, {2, 2, 0}};
    upsTensorDesc_t dx_desc;
    UPS_ASSERT_OK(upsUnpoolBackwardOutputDesc(&nearest, &dy_desc, &dx_desc));
    EXPECT_EQ(dx_desc.spatial[0], 2);
    EXPECT_EQ(dx_desc.spatial[1], 2);
    EXPECT_EQ(logical_values(unpool_backward(ref, nearest, dy, dx_desc)), (std::vector<double>{14, 22, 46, 54}));
    upsUnpoolDesc_t nails{0, UPS_UNPOOL_BED_OF_NAILS, 2, {2, 2, 0}};
    EXPECT_EQ(logical_values(unpool_backward(ref, nails, dy, dx_desc)), (std::vector<double>{1, 3, 9, 11}));
  }
}

TEST(ReferenceBackwardExample, MaxPoolRoutesToSwitchesSummingOverlaps) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  // x = [1, 3, 2, 5, 4], kernel 3, stride 1: windows [1 3 2] [3 2 5] [2 5 4] -> switches 1, 3, 3.
  upsPoolDesc_t pool{};
  pool.spatial_dims = 1;
  pool.kernel[0] = 3;
  pool.stride[0] = 1;
  pool.dilation[0] = 1;
  const HostTensor x = tensor_of(make_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {5}), {1, 3, 2, 5, 4});
  const Pooled pooled = max_pool_forward(ref, pool, x);
  ASSERT_EQ(pooled.indices.size(), 3);
  EXPECT_EQ(pooled.indices.as_i64()[0], 1);
  EXPECT_EQ(pooled.indices.as_i64()[1], 3);
  EXPECT_EQ(pooled.indices.as_i64()[2], 3);
  const HostTensor dy = tensor_of(pooled.y.desc, {10, 20, 30});
  EXPECT_EQ(logical_values(max_pool_backward(ref, pool, dy, pooled.indices, x.desc)),
            (std::vector<double>{0, 10, 0, 50, 0}));
  // An index that names no position of its own window contributes nothing.
  HostTensor foreign = pooled.indices;
  foreign.as_i64()[0] = 4;  // window 0 covers positions 0..2
  EXPECT_EQ(logical_values(max_pool_backward(ref, pool, dy, foreign, x.desc)), (std::vector<double>{0, 0, 0, 50, 0}));
}

TEST(ReferenceBackwardExample, MaxUnpoolReadsAtSwitches) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  // Pooled x of width 2 (kernel 2, stride 2) -> y of width 4; switches 1 and 3; dy = [5, 6, 7, 8].
  upsPoolDesc_t pool{};
  pool.spatial_dims = 1;
  pool.kernel[0] = 2;
  pool.stride[0] = 2;
  const upsTensorDesc_t x_desc = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {2});
  upsTensorDesc_t i_desc = x_desc;
  i_desc.dtype = UPS_DTYPE_I64;
  HostTensor indices(i_desc);
  indices.as_i64()[0] = 1;
  indices.as_i64()[1] = 3;
  const HostTensor dy = tensor_of(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {4}), {5, 6, 7, 8});
  upsTensorDesc_t dx_desc;
  UPS_ASSERT_OK(upsMaxUnpoolBackwardOutputDesc(&pool, &dy.desc, &i_desc, &dx_desc));
  EXPECT_EQ(dx_desc.dtype, UPS_DTYPE_F32);
  EXPECT_EQ(dx_desc.spatial[0], 2);
  EXPECT_EQ(logical_values(max_unpool_backward(ref, pool, dy, indices, dx_desc)), (std::vector<double>{6, 8}));
  // Duplicates (PyTorch's rule): each reads the same dy element.
  indices.as_i64()[0] = 3;
  EXPECT_EQ(logical_values(max_unpool_backward(ref, pool, dy, indices, dx_desc)), (std::vector<double>{8, 8}));
}

// 1-D, x = [1, 2], w = [1, 10, 100], stride 2: y = [1, 10, 102, 20, 200]. With dy = [1..5]:
//   dx[i] = sum_k dy[2i + k] w[k]    = [1 + 20 + 300, 3 + 40 + 500]  = [321, 543]
//   dw[k] = sum_i x[i] dy[2i + k]    = [1 + 6, 2 + 8, 3 + 10]         = [7, 10, 13]
//   db    = sum dy                   = 15
// and <y, dy> = 1407 = <x, dx> = <w, dw>: the adjoint identities, by hand.
TEST(ReferenceBackwardExample, ConvTransposeGradientsByHand) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  for (upsLayout_t layout : kLayouts) {
    SCOPED_TRACE(layout_label(layout));
    const ConvGeometry g = conv_geometry(1, {2}, {3}, {2}, 1, 1, 1, {}, {}, {}, {}, 1);
    const upsConvTransposeDesc_t conv = g.desc();
    const HostTensor x = tensor_of(g.x_desc(UPS_DTYPE_F32, layout), {1, 2});
    const HostTensor w = tensor_of(g.w_desc(UPS_DTYPE_F32, layout), {1, 10, 100});
    EXPECT_EQ(logical_values(conv_forward(ref, conv, x, w)), (std::vector<double>{1, 10, 102, 20, 200}));
    const HostTensor dy = tensor_of(g.y_desc(UPS_DTYPE_F32, layout), {1, 2, 3, 4, 5});
    EXPECT_EQ(logical_values(conv_backward_data(ref, conv, dy, w, x.desc)), (std::vector<double>{321, 543}));
    EXPECT_EQ(logical_values(conv_backward_weight(ref, conv, x, dy, w.desc)), (std::vector<double>{7, 10, 13}));
    EXPECT_EQ(logical_values(conv_backward_bias(ref, conv, dy)), (std::vector<double>{15}));
  }
}

// Groups, padding and output_padding by hand: 2 groups of one channel each, k 2, stride 2,
// pad 1/0, output_padding 1: y extent (2-1)*2 - 1 + 1 + 1 + 1 = 4, landing o = 2i - 1 + k.
TEST(ReferenceBackwardExample, GroupsPaddingOutputPaddingByHand) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  const ConvGeometry g = conv_geometry(1, {2}, {2}, {2}, 2, 2, 2, {1}, {0}, {1}, {}, 1);
  const upsConvTransposeDesc_t conv = g.desc();
  ASSERT_EQ(g.out(0), 4);
  const HostTensor x = tensor_of(g.x_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST), {1, 2, 3, 4});  // c0: 1 2; c1: 3 4
  const HostTensor w = tensor_of(g.w_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST), {1, 2, 3, 4});  // ci0: 1 2; ci1: 3 4
  const HostTensor dy = tensor_of(g.y_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_FIRST), {1, 2, 3, 4, 5, 6, 7, 8});
  // Channel 0: i=0 lands k=1 at o=0; i=1 lands k=0,1 at o=1,2. dx0 = [dy0*w1, dy1*w0 + dy2*w1] = [2, 2+6].
  // Channel 1 (dy 5..8, w 3 4): dx1 = [5*4, 6*3 + 7*4] = [20, 46].
  EXPECT_EQ(logical_values(conv_backward_data(ref, conv, dy, w, x.desc)), (std::vector<double>{2, 8, 20, 46}));
  // dw0 = [x1*dy1, x0*dy0 + x1*dy2] = [2*2, 1*1 + 2*3] = [4, 7]; dw1 = [4*6, 3*5 + 4*7] = [24, 43].
  EXPECT_EQ(logical_values(conv_backward_weight(ref, conv, x, dy, w.desc)), (std::vector<double>{4, 7, 24, 43}));
  EXPECT_EQ(logical_values(conv_backward_bias(ref, conv, dy)), (std::vector<double>{10, 26}));
}

// =============================================================================================
// Reference: adjointness in f64 on random shapes
// =============================================================================================
// |lhs - rhs| within a few f64 roundings of the sum of |terms|.
::testing::AssertionResult adjoint(double lhs, double rhs, double scale, const char* what) {
  if (std::fabs(lhs - rhs) <= 1e-12 * std::max(scale, 1e-300)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << lhs << " vs " << rhs << " (scale " << scale << ")";
}

TEST(ReferenceBackwardProperty, UnpoolIsAdjointOfForward) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 40; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    const upsUnpoolMode_t mode = trial % 2 ? UPS_UNPOOL_NEAREST : UPS_UNPOOL_BED_OF_NAILS;
    const upsUnpoolDesc_t desc = random_unpool(rng, mode, dims);
    HostTensor x(make_desc(UPS_DTYPE_F64, random_layout(rng), uniform_int(rng, 1, 2), uniform_int(rng, 1, 3),
                           random_extents(rng, dims, 1, 5)));
    x.fill_random(rng);
    SCOPED_TRACE(shape_text(x.desc) + (mode == UPS_UNPOOL_NEAREST ? " nearest" : " bed-of-nails"));
    const HostTensor y = unpool_forward(ref, desc, x);
    HostTensor g(y.desc);
    g.fill_random(rng);
    const HostTensor dx = unpool_backward(ref, desc, g, x.desc);
    EXPECT_TRUE(adjoint(inner(y, g), inner(x, dx), inner(y, g, true), "<unpool(x), g> vs <x, unpool_backward(g)>"));
  }
}

// Max-pooling with indices is, for its switches, the gather y[p] = x[indices[p]]: its adjoint is
// the routing backward op, so <maxpool(x), g> = <x, max_pool_backward(g)>.
TEST(ReferenceBackwardProperty, MaxPoolBackwardIsAdjointOfSwitchGather) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  int ran = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    const upsPoolDesc_t pool = random_pool(rng, dims, false);
    HostTensor x(make_desc(UPS_DTYPE_F64, random_layout(rng), uniform_int(rng, 1, 2), uniform_int(rng, 1, 3),
                           random_extents(rng, dims, 2, 7)));
    upsTensorDesc_t y_desc, i_desc;
    if (upsMaxPoolOutputDesc(&pool, &x.desc, &y_desc, &i_desc) != UPS_STATUS_SUCCESS) continue;
    ++ran;
    x.fill_random(rng, -3, 3, /*integers=*/trial % 2 == 0);  // ties half the time
    SCOPED_TRACE(shape_text(x.desc));
    const Pooled pooled = max_pool_forward(ref, pool, x);
    HostTensor g(y_desc);
    g.fill_random(rng);
    const HostTensor dx = max_pool_backward(ref, pool, g, pooled.indices, x.desc);
    EXPECT_TRUE(adjoint(inner(pooled.y, g), inner(x, dx), inner(pooled.y, g, true),
                        "<maxpool(x), g> vs <x, max_pool_backward(g)>"));
  }
  EXPECT_GE(ran, 20);
}

TEST(ReferenceBackwardProperty, MaxUnpoolIsAdjointWithDistinctSwitches) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  int ran = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 3));
    const upsPoolDesc_t pool = random_pool(rng, dims, trial % 2 == 0);
    HostTensor x(make_desc(UPS_DTYPE_F64, random_layout(rng), uniform_int(rng, 1, 2), uniform_int(rng, 1, 3),
                           random_extents(rng, dims, 1, 5)));
    upsTensorDesc_t y_desc;
    if (upsMaxUnpoolOutputDesc(&pool, &x.desc, nullptr, &y_desc) != UPS_STATUS_SUCCESS || element_count(y_desc) == 0)
      continue;  // no shape, or an empty plane (every index out of range, as in PyTorch)
    upsTensorDesc_t i_desc = x.desc;
    i_desc.dtype = UPS_DTYPE_I64;
    HostTensor indices(i_desc);
    int64_t plane = 1;
    for (int a = 0; a < dims; ++a) plane *= y_desc.spatial[a];
    if (!fill_distinct_indices(rng, &indices, plane)) continue;
    ++ran;
    x.fill_random(rng);
    SCOPED_TRACE(shape_text(x.desc) + " -> " + shape_text(y_desc));
    const HostTensor y = max_unpool_forward(ref, pool, x, indices, y_desc);
    HostTensor g(y_desc);
    g.fill_random(rng);
    const HostTensor dx = max_unpool_backward(ref, pool, g, indices, x.desc);
    EXPECT_TRUE(adjoint(inner(y, g), inner(x, dx), inner(y, g, true), "<max_unpool(x), g> vs <x, backward(g)>"));
  }
  EXPECT_GE(ran, 15);
}

// <conv_t(x, w), g> = <x, backward_data(g, w)> = <w, backward_weight(x, g)>, and the bias part
// <conv_t(x, w, b) - conv_t(x, w), g> = <b, backward_bias(g)>.
TEST(ReferenceBackwardProperty, ConvTransposeGradientsAreAdjoints) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 60; ++trial) {
    const ConvGeometry g = random_conv(rng, static_cast<int>(uniform_int(rng, 1, 3)));
    const upsLayout_t layout = random_layout(rng);
    SCOPED_TRACE(g.text() + " " + layout_label(layout));
    const upsConvTransposeDesc_t conv = g.desc();
    HostTensor x(g.x_desc(UPS_DTYPE_F64, layout)), w(g.w_desc(UPS_DTYPE_F64, layout)),
        b(bias_desc(UPS_DTYPE_F64, g.cout)), z(g.y_desc(UPS_DTYPE_F64, layout));
    x.fill_random(rng);
    w.fill_random(rng);
    b.fill_random(rng);
    z.fill_random(rng);
    const HostTensor y = conv_forward(ref, conv, x, w);
    const HostTensor y_bias = conv_forward(ref, conv, x, w, &b);
    const double lhs = inner(y, z), scale = inner(y, z, true) + inner(y_bias, z, true);
    const HostTensor dx = conv_backward_data(ref, conv, z, w, x.desc);
    const HostTensor dw = conv_backward_weight(ref, conv, x, z, w.desc);
    const HostTensor db = conv_backward_bias(ref, conv, z);
    EXPECT_TRUE(adjoint(lhs, inner(x, dx), scale, "<conv_t(x, w), g> vs <x, backward_data(g, w)>"));
    EXPECT_TRUE(adjoint(lhs, inner(w, dw), scale, "<conv_t(x, w), g> vs <w, backward_weight(x, g)>"));
    EXPECT_TRUE(adjoint(inner(y_bias, z) - lhs, inner(b, db), scale, "<bias part, g> vs <b, backward_bias(g)>"));
  }
}

// =============================================================================================
// Reference: finite differences in f64
// =============================================================================================
// Central differences of L(v) = <forward(v), g> for each element of `v`, against `gradient`.
// `loss` evaluates L on a perturbed copy; the step is small against the data's spacing.
template <typename Loss>
::testing::AssertionResult matches_finite_differences(const HostTensor& v, const HostTensor& gradient, double step,
                                                      Loss&& loss, const char* what) {
  HostTensor probe = v;
  for (int64_t e = 0; e < v.size(); ++e) {
    probe.set(e, v.get(e) + step);
    const double up = loss(probe);
    probe.set(e, v.get(e) - step);
    const double down = loss(probe);
    probe.set(e, v.get(e));
    const double numeric = (up - down) / (2 * step);
    const double analytic = gradient.get(e);
    if (!(std::fabs(numeric - analytic) <= 1e-7 * (1.0 + std::fabs(analytic))))
      return ::testing::AssertionFailure() << what << "[" << e << "]: finite difference " << numeric << ", gradient "
                                           << analytic;
  }
  return ::testing::AssertionSuccess();
}

TEST(ReferenceBackwardFiniteDifference, ConvTransposeDataWeightBias) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 12; ++trial) {
    const ConvGeometry g = random_conv(rng, static_cast<int>(uniform_int(rng, 1, 2)), 2);
    const upsLayout_t layout = random_layout(rng);
    SCOPED_TRACE(g.text() + " " + layout_label(layout));
    const upsConvTransposeDesc_t conv = g.desc();
    HostTensor x(g.x_desc(UPS_DTYPE_F64, layout)), w(g.w_desc(UPS_DTYPE_F64, layout)),
        b(bias_desc(UPS_DTYPE_F64, g.cout)), z(g.y_desc(UPS_DTYPE_F64, layout));
    x.fill_random(rng);
    w.fill_random(rng);
    b.fill_random(rng);
    z.fill_random(rng);
    const double step = 1e-3;
    EXPECT_TRUE(matches_finite_differences(
        x, conv_backward_data(ref, conv, z, w, x.desc), step,
        [&](const HostTensor& v) { return inner(conv_forward(ref, conv, v, w, &b), z); }, "dx"));
    EXPECT_TRUE(matches_finite_differences(
        w, conv_backward_weight(ref, conv, x, z, w.desc), step,
        [&](const HostTensor& v) { return inner(conv_forward(ref, conv, x, v, &b), z); }, "dw"));
    EXPECT_TRUE(matches_finite_differences(
        b, conv_backward_bias(ref, conv, z), step,
        [&](const HostTensor& v) { return inner(conv_forward(ref, conv, x, w, &v), z); }, "db"));
  }
}

TEST(ReferenceBackwardFiniteDifference, UnpoolingAndPooling) {
  UPS_SEED_TRACE();
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const Target ref{h.get(), UPS_BACKEND_REFERENCE};
  auto rng = make_rng();
  for (int trial = 0; trial < 12; ++trial) {
    const int dims = static_cast<int>(uniform_int(rng, 1, 2));
    const upsLayout_t layout = random_layout(rng);
    // Unpooling, both modes.
    {
      const upsUnpoolDesc_t desc = random_unpool(rng, trial % 2 ? UPS_UNPOOL_NEAREST : UPS_UNPOOL_BED_OF_NAILS, dims);
      HostTensor x(make_desc(UPS_DTYPE_F64, layout, 1, 2, random_extents(rng, dims, 1, 3)));
      x.fill_random(rng);
      const HostTensor y = unpool_forward(ref, desc, x);
      HostTensor g(y.desc);
      g.fill_random(rng);
      SCOPED_TRACE("unpool " + shape_text(x.desc));
      EXPECT_TRUE(matches_finite_differences(
          x, unpool_backward(ref, desc, g, x.desc), 1e-3,
          [&](const HostTensor& v) { return inner(unpool_forward(ref, desc, v), g); }, "unpool dx"));
    }
    // Max-pooling: distinct values a unit apart, so a step of 1/4 never moves a maximum.
    {
      const upsPoolDesc_t pool = random_pool(rng, dims, false);
      HostTensor x(make_desc(UPS_DTYPE_F64, layout, 1, 2, random_extents(rng, dims, 2, 5)));
      upsTensorDesc_t y_desc, i_desc;
      if (upsMaxPoolOutputDesc(&pool, &x.desc, &y_desc, &i_desc) == UPS_STATUS_SUCCESS) {
        std::vector<double> values(static_cast<size_t>(x.size()));
        std::iota(values.begin(), values.end(), -static_cast<double>(values.size() / 2));
        std::shuffle(values.begin(), values.end(), rng);
        for (int64_t e = 0; e < x.size(); ++e) x.set(e, values[static_cast<size_t>(e)]);
        const Pooled pooled = max_pool_forward(ref, pool, x);
        HostTensor g(y_desc);
        g.fill_random(rng);
        SCOPED_TRACE("max-pool " + shape_text(x.desc));
        EXPECT_TRUE(matches_finite_differences(
            x, max_pool_backward(ref, pool, g, pooled.indices, x.desc), 0.25,
            [&](const HostTensor& v) { return inner(max_pool_forward(ref, pool, v).y, g); }, "max-pool dx"));
      }
    }
    // Max-unpooling with distinct switches.
    {
      const upsPoolDesc_t pool = random_pool(rng, dims, true);
      HostTensor x(make_desc(UPS_DTYPE_F64, layout, 1, 2, random_extents(rng, dims, 1, 4)));
      upsTensorDesc_t y_desc;
      ASSERT_EQ(upsMaxUnpoolOutputDesc(&pool, &x.desc, nullptr, &y_desc), UPS_STATUS_SUCCESS);
      upsTensorDesc_t i_desc = x.desc;
      i_desc.dtype = UPS_DTYPE_I64;
      HostTensor indices(i_desc);
      int64_t plane = 1;
      for (int a = 0; a < dims; ++a) plane *= y_desc.spatial[a];
      ASSERT_TRUE(fill_distinct_indices(rng, &indices, plane));
      x.fill_random(rng);
      HostTensor g(y_desc);
      g.fill_random(rng);
      SCOPED_TRACE("max-unpool " + shape_text(x.desc));
      EXPECT_TRUE(matches_finite_differences(
          x, max_unpool_backward(ref, pool, g, indices, x.desc), 1e-3,
          [&](const HostTensor& v) { return inner(max_unpool_forward(ref, pool, v, indices, y_desc), g); },
          "max-unpool dx"));
    }
  }
}

// =============================================================================================
// Reference: gradient-shape queries
// =============================================================================================
::testing::AssertionResult same_shape(const upsTensorDesc_t& a, const upsTensorDesc_t& b) {
  bool same = a.dtype == b.dtype && a.layout == b.layout && a.spatial_dims == b.spatial_dims && a.n == b.n &&
              a.c == b.c;
  for (int i = 0; same && i < a.spatial_dims; ++i) same = a.spatial[i] == b.spatial[i];
  if (same) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << shape_text(a) << " vs " << shape_text(b);
}

// dx from (dy, w) and dw from (x, dy) give back x's and w's shapes for every geometry.
TEST(ReferenceBackwardShapes, ConvTransposeQueriesInvertTheOutputShape) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  for (int trial = 0; trial < 200; ++trial) {
    const ConvGeometry g = random_conv(rng, static_cast<int>(uniform_int(rng, 1, 3)));
    const upsLayout_t layout = random_layout(rng);
    SCOPED_TRACE(g.text());
    const upsConvTransposeDesc_t conv = g.desc();
    const upsTensorDesc_t x = g.x_desc(UPS_DTYPE_BF16, layout), w = g.w_desc(UPS_DTYPE_BF16, layout),
                          y = g.y_desc(UPS_DTYPE_BF16, layout);
    upsTensorDesc_t dx, dw;
    UPS_ASSERT_OK(upsConvTransposeBackwardDataOutputDesc(&conv, &y, &w, &dx));
    EXPECT_TRUE(same_shape(dx, x));
    UPS_ASSERT_OK(upsConvTransposeBackwardWeightOutputDesc(&conv, &x, &y, &dw));
    EXPECT_TRUE(same_shape(dw, w));
  }
  // An extent that no input extent produces: k 3, s 2, p 1 (no output_padding) give out = 2*in - 1,
  // always odd.
  const ConvGeometry g = conv_geometry(2, {4, 4}, {3, 3}, {2, 2}, 2, 2, 1, {1, 1}, {1, 1});
  const upsConvTransposeDesc_t conv = g.desc();
  const upsTensorDesc_t w = g.w_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST);
  const upsTensorDesc_t bad_y = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 2, {7, 8});
  upsTensorDesc_t dx;
  EXPECT_EQ(upsConvTransposeBackwardDataOutputDesc(&conv, &bad_y, &w, &dx), UPS_STATUS_GRADIENT_SHAPE_MISMATCH);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("dy"), std::string::npos) << upsGetLastErrorString();
}

TEST(ReferenceBackwardShapes, UnpoolAndMaxUnpoolQueries) {
  const upsUnpoolDesc_t desc{0, UPS_UNPOOL_NEAREST, 3, {1, 2, 3}};
  const upsTensorDesc_t dy = make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 5, {3, 4, 9});
  upsTensorDesc_t dx;
  UPS_ASSERT_OK(upsUnpoolBackwardOutputDesc(&desc, &dy, &dx));
  EXPECT_TRUE(same_shape(dx, make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 5, {3, 2, 3})));
  const upsTensorDesc_t ragged = make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 2, 5, {3, 4, 8});
  EXPECT_EQ(upsUnpoolBackwardOutputDesc(&desc, &ragged, &dx), UPS_STATUS_GRADIENT_SHAPE_MISMATCH);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("dy"), std::string::npos) << upsGetLastErrorString();

  upsPoolDesc_t pool{};
  pool.spatial_dims = 2;
  pool.kernel[0] = pool.kernel[1] = 2;
  pool.stride[0] = pool.stride[1] = 2;
  const upsTensorDesc_t indices = make_desc(UPS_DTYPE_I64, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {4, 5});
  const upsTensorDesc_t y = make_desc(UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {8, 11});  // default 8x10, +1 within stride
  UPS_ASSERT_OK(upsMaxUnpoolBackwardOutputDesc(&pool, &y, &indices, &dx));
  EXPECT_TRUE(same_shape(dx, make_desc(UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {4, 5})));
  const upsTensorDesc_t far = make_desc(UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {8, 12});
  EXPECT_EQ(upsMaxUnpoolBackwardOutputDesc(&pool, &far, &indices, &dx), UPS_STATUS_GRADIENT_SHAPE_MISMATCH);
}

// =============================================================================================
// Reference: every bad-input class
// =============================================================================================
// The status is `expected`, the message names `argument`, and `output` (filled with a byte
// pattern before the call) is untouched.
class Guarded {
 public:
  explicit Guarded(const upsTensorDesc_t& desc) : tensor_(desc) {
    for (size_t i = 0; i < tensor_.bytes.size(); ++i) tensor_.bytes[i] = static_cast<unsigned char>(i * 131 + 7);
    pattern_ = tensor_.bytes;
  }
  void* data() { return tensor_.data(); }
  const upsTensorDesc_t& desc() const { return tensor_.desc; }
  bool untouched() const { return tensor_.bytes == pattern_; }

 private:
  HostTensor tensor_;
  std::vector<unsigned char> pattern_;
};

::testing::AssertionResult rejected(upsStatus_t status, upsStatus_t expected, const std::string& argument,
                                    const Guarded* output = nullptr) {
  const std::string message = upsGetLastErrorString();
  if (status != expected)
    return ::testing::AssertionFailure() << "status " << upsGetStatusName(status) << ", expected "
                                         << upsGetStatusName(expected) << " (message: \"" << message << "\")";
  if (message.find(argument) == std::string::npos)
    return ::testing::AssertionFailure() << "message \"" << message << "\" does not name \"" << argument << "\"";
  if (output != nullptr && !output->untouched())
    return ::testing::AssertionFailure() << "a rejected call wrote its output";
  return ::testing::AssertionSuccess();
}

TEST(ReferenceBackwardErrors, UnpoolBackward) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const upsUnpoolDesc_t desc{0, UPS_UNPOOL_NEAREST, 2, {2, 2, 0}};
  HostTensor dy(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 3, {8, 6}));
  Guarded dx(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 3, {4, 3}));
  UPS_ASSERT_OK(upsUnpoolBackward(h.get(), &desc, &dy.desc, dy.data(), &dx.desc(), dx.data()));
  Guarded out(dx.desc());
  const upsTensorDesc_t wrong = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 3, {8, 7});
  EXPECT_TRUE(rejected(upsUnpoolBackward(h.get(), &desc, &wrong, dy.data(), &out.desc(), out.data()),
                       UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: expected shape (N=2, C=3, H=8, W=6)", &out));
  const upsTensorDesc_t other_n = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {8, 6});
  EXPECT_TRUE(rejected(upsUnpoolBackward(h.get(), &desc, &other_n, dy.data(), &out.desc(), out.data()),
                       UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy", &out));
  const upsTensorDesc_t half = make_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_FIRST, 2, 3, {8, 6});
  EXPECT_TRUE(rejected(upsUnpoolBackward(h.get(), &desc, &half, dy.data(), &out.desc(), out.data()),
                       UPS_STATUS_NOT_SUPPORTED, "dy.dtype", &out));
  EXPECT_TRUE(rejected(upsUnpoolBackward(h.get(), &desc, &dy.desc, dy.data(), &out.desc(), nullptr),
                       UPS_STATUS_NULL_POINTER, "dx"));
  EXPECT_TRUE(rejected(upsUnpoolBackward(h.get(), &desc, &dy.desc, nullptr, &out.desc(), out.data()),
                       UPS_STATUS_NULL_POINTER, "dy", &out));
  EXPECT_TRUE(rejected(upsUnpoolBackward(h.get(), &desc, &dy.desc, dy.data(), &dx.desc(), dy.data()),
                       UPS_STATUS_ALIASING, "dx"));
  EXPECT_TRUE(rejected(upsUnpoolBackward(nullptr, &desc, &dy.desc, dy.data(), &out.desc(), out.data()),
                       UPS_STATUS_INVALID_HANDLE, "handle", &out));
  EXPECT_TRUE(rejected(upsUnpoolBackward(h.get(), nullptr, &dy.desc, dy.data(), &out.desc(), out.data()),
                       UPS_STATUS_NULL_POINTER, "desc", &out));
  upsUnpoolDesc_t zero_scale = desc;
  zero_scale.scale[1] = 0;
  EXPECT_TRUE(rejected(upsUnpoolBackward(h.get(), &zero_scale, &dy.desc, dy.data(), &out.desc(), out.data()),
                       UPS_STATUS_BAD_PARAMETER, "scale", &out));
  upsTensorDesc_t dx_desc;
  EXPECT_TRUE(rejected(upsUnpoolBackwardOutputDesc(&desc, &dy.desc, nullptr), UPS_STATUS_NULL_POINTER, "dx"));
  EXPECT_TRUE(rejected(upsUnpoolBackwardOutputDesc(&desc, &wrong, &dx_desc), UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy"));
}

TEST(ReferenceBackwardErrors, MaxPoolAndMaxUnpoolBackward) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  auto rng = make_rng();
  upsPoolDesc_t pool{};
  pool.spatial_dims = 2;
  pool.kernel[0] = pool.kernel[1] = 2;
  pool.stride[0] = pool.stride[1] = 2;
  pool.dilation[0] = pool.dilation[1] = 1;
  HostTensor x(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 1, 2, {4, 6}));
  x.fill_random(rng);
  const Pooled pooled = max_pool_forward({h.get(), UPS_BACKEND_REFERENCE}, pool, x);  // y: (1, 2, 2, 3)
  HostTensor dy(pooled.y.desc);
  dy.fill_random(rng);
  Guarded dx(x.desc);
  UPS_ASSERT_OK(upsMaxPoolBackward(h.get(), &pool, &dy.desc, dy.data(), &pooled.indices.desc, pooled.indices.as_i64(),
                                   &dx.desc(), dx.data()));
  Guarded out(x.desc);
  const upsTensorDesc_t wrong = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 1, 2, {2, 2});
  EXPECT_TRUE(rejected(upsMaxPoolBackward(h.get(), &pool, &wrong, dy.data(), &pooled.indices.desc,
                                          pooled.indices.as_i64(), &out.desc(), out.data()),
                       UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: expected shape (N=1, C=2, H=2, W=3)", &out));
  upsTensorDesc_t wrong_indices = pooled.indices.desc;
  wrong_indices.spatial[1] = 2;
  EXPECT_TRUE(rejected(upsMaxPoolBackward(h.get(), &pool, &dy.desc, dy.data(), &wrong_indices, pooled.indices.as_i64(),
                                          &out.desc(), out.data()),
                       UPS_STATUS_SHAPE_MISMATCH, "indices", &out));
  upsTensorDesc_t float_indices = pooled.indices.desc;
  float_indices.dtype = UPS_DTYPE_F64;
  EXPECT_TRUE(rejected(upsMaxPoolBackward(h.get(), &pool, &dy.desc, dy.data(), &float_indices, pooled.indices.as_i64(),
                                          &out.desc(), out.data()),
                       UPS_STATUS_NOT_SUPPORTED, "indices.dtype", &out));
  EXPECT_TRUE(rejected(upsMaxPoolBackward(h.get(), &pool, &dy.desc, dy.data(), &pooled.indices.desc, nullptr,
                                          &out.desc(), out.data()),
                       UPS_STATUS_NULL_POINTER, "indices", &out));

  // Max-unpool backward: x here is the pooled tensor, y its unpooled (1, 2, 4, 6).
  const HostTensor& indices = pooled.indices;
  const upsTensorDesc_t pooled_desc = pooled.y.desc;
  HostTensor g(x.desc);  // dy of max-unpool has the unpooled shape
  g.fill_random(rng);
  Guarded gx(pooled_desc);
  UPS_ASSERT_OK(upsMaxUnpoolBackward(h.get(), &pool, &g.desc, g.data(), &indices.desc, indices.as_i64(), &gx.desc(),
                                     gx.data()));
  Guarded gout(pooled_desc);
  const upsTensorDesc_t far = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 1, 2, {4, 8});
  EXPECT_TRUE(rejected(upsMaxUnpoolBackward(h.get(), &pool, &far, g.data(), &indices.desc, indices.as_i64(),
                                            &gout.desc(), gout.data()),
                       UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy", &gout));
  HostTensor bad = indices;
  bad.as_i64()[3] = 24;  // the plane has 24 positions
  EXPECT_TRUE(rejected(upsMaxUnpoolBackward(h.get(), &pool, &g.desc, g.data(), &bad.desc, bad.as_i64(), &gout.desc(),
                                            gout.data()),
                       UPS_STATUS_INDEX_OUT_OF_RANGE, "nothing was written", &gout));
  size_t bytes = 1;
  UPS_ASSERT_OK(upsMaxUnpoolBackwardWorkspaceSize(h.get(), &pool, &g.desc, &pooled_desc, &bytes));
  EXPECT_EQ(bytes, 0u) << "the reference backend needs no workspace";
}

TEST(ReferenceBackwardErrors, ConvTransposeBackward) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  auto rng = make_rng();
  // x (2, 4, 3, 3), w (4, 3, 3, 3), groups 2 -> y (2, 6, 6, 6): stride 2, padding 1, output_padding 1.
  const ConvGeometry geometry = conv_geometry(2, {3, 3}, {3, 3}, {2, 2}, 4, 6, 2, {1, 1}, {1, 1}, {1, 1});
  const upsConvTransposeDesc_t conv = geometry.desc();
  HostTensor x(geometry.x_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST)),
      w(geometry.w_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST)),
      dy(geometry.y_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST));
  x.fill_random(rng);
  w.fill_random(rng);
  dy.fill_random(rng);
  Guarded dx(x.desc), dw(w.desc), db(bias_desc(UPS_DTYPE_F32, 6));
  UPS_ASSERT_OK(upsConvTransposeBackwardData(h.get(), &conv, &dy.desc, dy.data(), &w.desc, w.data(), &dx.desc(), dx.data()));
  UPS_ASSERT_OK(upsConvTransposeBackwardWeight(h.get(), &conv, &x.desc, x.data(), &dy.desc, dy.data(), &dw.desc(),
                                               dw.data()));
  UPS_ASSERT_OK(upsConvTransposeBackwardBias(h.get(), &conv, &dy.desc, dy.data(), db.data()));
  EXPECT_STREQ(upsGetLastErrorString(), "");

  Guarded out_x(x.desc), out_w(w.desc), out_b(bias_desc(UPS_DTYPE_F32, 6));
  const upsTensorDesc_t wrong_dy = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 6, {6, 5});
  EXPECT_TRUE(rejected(upsConvTransposeBackwardData(h.get(), &conv, &wrong_dy, dy.data(), &w.desc, w.data(),
                                                    &out_x.desc(), out_x.data()),
                       UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: expected shape (N=2, C=6, H=6, W=6)", &out_x));
  EXPECT_TRUE(rejected(upsConvTransposeBackwardWeight(h.get(), &conv, &x.desc, x.data(), &wrong_dy, dy.data(),
                                                      &out_w.desc(), out_w.data()),
                       UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy: expected shape (N=2, C=6, H=6, W=6)", &out_w));
  // dw with the wrong C_in, the wrong kernel (then dy no longer matches), the wrong dtype.
  upsTensorDesc_t dw_wrong = w.desc;
  dw_wrong.n = 2;
  EXPECT_TRUE(rejected(upsConvTransposeBackwardWeight(h.get(), &conv, &x.desc, x.data(), &dy.desc, dy.data(), &dw_wrong,
                                                      out_w.data()),
                       UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dw: expected N = C_in = 4", &out_w));
  dw_wrong = w.desc;
  dw_wrong.spatial[0] = 2;
  EXPECT_TRUE(rejected(upsConvTransposeBackwardWeight(h.get(), &conv, &x.desc, x.data(), &dy.desc, dy.data(), &dw_wrong,
                                                      out_w.data()),
                       UPS_STATUS_GRADIENT_SHAPE_MISMATCH, "dy", &out_w));
  dw_wrong = w.desc;
  dw_wrong.dtype = UPS_DTYPE_F64;
  EXPECT_TRUE(rejected(upsConvTransposeBackwardWeight(h.get(), &conv, &x.desc, x.data(), &dy.desc, dy.data(), &dw_wrong,
                                                      out_w.data()),
                       UPS_STATUS_NOT_SUPPORTED, "dw.dtype", &out_w));
  // w that does not fit dx.
  upsTensorDesc_t w_wrong = w.desc;
  w_wrong.n = 3;
  EXPECT_TRUE(rejected(upsConvTransposeBackwardData(h.get(), &conv, &dy.desc, dy.data(), &w_wrong, w.data(),
                                                    &out_x.desc(), out_x.data()),
                       UPS_STATUS_SHAPE_MISMATCH, "w", &out_x));
  // Algorithms: the data gradient has no SCATTER_ATOMIC; determinism rules SCATTER_ATOMIC out.
  upsConvTransposeDesc_t atomic = conv;
  atomic.algorithm = UPS_ALGO_SCATTER_ATOMIC;
  EXPECT_TRUE(rejected(upsConvTransposeBackwardData(h.get(), &atomic, &dy.desc, dy.data(), &w.desc, w.data(),
                                                    &out_x.desc(), out_x.data()),
                       UPS_STATUS_NOT_SUPPORTED, "algorithm", &out_x));
  UPS_ASSERT_OK(upsConvTransposeBackwardWeight(h.get(), &atomic, &x.desc, x.data(), &dy.desc, dy.data(), &dw.desc(),
                                               dw.data()));
  atomic.deterministic = 1;
  EXPECT_TRUE(rejected(upsConvTransposeBackwardWeight(h.get(), &atomic, &x.desc, x.data(), &dy.desc, dy.data(),
                                                      &out_w.desc(), out_w.data()),
                       UPS_STATUS_NOT_SUPPORTED, "algorithm", &out_w));
  EXPECT_TRUE(rejected(upsConvTransposeBackwardBias(h.get(), &atomic, &dy.desc, dy.data(), out_b.data()),
                       UPS_STATUS_NOT_SUPPORTED, "algorithm", &out_b));
  // Bias: null db, a dy of the wrong rank, aliasing.
  EXPECT_TRUE(rejected(upsConvTransposeBackwardBias(h.get(), &conv, &dy.desc, dy.data(), nullptr),
                       UPS_STATUS_NULL_POINTER, "db"));
  const upsTensorDesc_t dy_1d = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 6, {36});
  EXPECT_TRUE(rejected(upsConvTransposeBackwardBias(h.get(), &conv, &dy_1d, dy.data(), out_b.data()),
                       UPS_STATUS_SHAPE_MISMATCH, "dy.spatial_dims", &out_b));
  EXPECT_TRUE(rejected(upsConvTransposeBackwardBias(h.get(), &conv, &dy.desc, dy.data(), dy.data()),
                       UPS_STATUS_ALIASING, "db"));
  // Queries: algorithm and workspace.
  upsAlgorithm_t chosen = UPS_ALGO_SCATTER_ATOMIC;
  upsConvTransposeDesc_t deterministic = conv;
  deterministic.deterministic = 1;
  UPS_ASSERT_OK(upsConvTransposeBackwardWeightChooseAlgorithm(h.get(), &deterministic, &x.desc, &dy.desc, &w.desc,
                                                              &chosen));
  EXPECT_EQ(chosen, UPS_ALGO_GATHER);
  size_t bytes = 1;
  UPS_ASSERT_OK(upsConvTransposeBackwardWeightWorkspaceSize(h.get(), &conv, &x.desc, &dy.desc, &w.desc, &bytes));
  EXPECT_EQ(bytes, 0u);
  bytes = 1;
  UPS_ASSERT_OK(upsConvTransposeBackwardBiasWorkspaceSize(h.get(), &conv, &dy.desc, &bytes));
  EXPECT_EQ(bytes, 0u);
  EXPECT_TRUE(rejected(upsConvTransposeBackwardBiasWorkspaceSize(h.get(), &conv, &dy.desc, nullptr),
                       UPS_STATUS_NULL_POINTER, "workspace_bytes"));
}

TEST(ReferenceBackwardErrors, GradientShapeStatusHasItsName) {
  EXPECT_STREQ(upsGetStatusName(UPS_STATUS_GRADIENT_SHAPE_MISMATCH), "UPS_STATUS_GRADIENT_SHAPE_MISMATCH");
  EXPECT_NE(std::string(upsGetStatusName(UPS_STATUS_GRADIENT_SHAPE_MISMATCH)),
            std::string(upsGetStatusName(UPS_STATUS_SHAPE_MISMATCH)));
}

// Empty tensors succeed without writing; an empty reduction (N = 0) writes zeros.
TEST(ReferenceBackwardErrors, EmptyTensors) {
  UPS_HANDLE(h, UPS_BACKEND_REFERENCE);
  const ConvGeometry geometry = conv_geometry(2, {3, 3}, {2, 2}, {2, 2}, 2, 3, 1, {}, {}, {}, {}, 0);
  const upsConvTransposeDesc_t conv = geometry.desc();
  const upsTensorDesc_t x = geometry.x_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST);
  const upsTensorDesc_t y = geometry.y_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST);
  HostTensor dw(geometry.w_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST)), db(bias_desc(UPS_DTYPE_F32, 3));
  dw.poison();
  db.poison();
  UPS_ASSERT_OK(upsConvTransposeBackwardData(h.get(), &conv, &y, nullptr, &dw.desc, dw.data(), &x, nullptr));
  UPS_ASSERT_OK(upsConvTransposeBackwardWeight(h.get(), &conv, &x, nullptr, &y, nullptr, &dw.desc, dw.data()));
  UPS_ASSERT_OK(upsConvTransposeBackwardBias(h.get(), &conv, &y, nullptr, db.data()));
  EXPECT_TRUE(tensors_identical(dw, filled(dw.desc, 0.0)));
  EXPECT_TRUE(tensors_identical(db, filled(db.desc, 0.0)));
}

// =============================================================================================
// Reference: the C++ layer
// =============================================================================================
TEST(ReferenceBackwardCppApi, HandleMethodsMatchTheCApi) {
  UPS_SEED_TRACE();
  auto rng = make_rng();
  upsample::Handle handle(UPS_BACKEND_REFERENCE);
  const Target ref{handle.get(), UPS_BACKEND_REFERENCE};
  auto conv = upsample::ConvTranspose(2).stride({2, 2}).padding({1, 1}).output_padding({1, 1});
  HostTensor x(upsample::tensor_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_LAST, 2, 3, {3, 4}));
  HostTensor w(upsample::tensor_desc(UPS_DTYPE_F64, UPS_LAYOUT_CHANNELS_LAST, 3, 2, {3, 3}));
  HostTensor dy(conv.output_desc(x.desc, w.desc));
  x.fill_random(rng);
  w.fill_random(rng);
  dy.fill_random(rng);
  EXPECT_TRUE(same_shape(conv.backward_data_output_desc(dy.desc, w.desc), x.desc));
  EXPECT_TRUE(same_shape(conv.backward_weight_output_desc(x.desc, dy.desc), w.desc));
  HostTensor dx(x.desc), dw(w.desc), db(bias_desc(UPS_DTYPE_F64, dy.desc.c));
  handle.conv_transpose_backward_data(conv, dy.desc, dy.data(), w.desc, w.data(), dx.desc, dx.data());
  handle.conv_transpose_backward_weight(conv, x.desc, x.data(), dy.desc, dy.data(), dw.desc, dw.data());
  handle.conv_transpose_backward_bias(conv, dy.desc, dy.data(), db.data());
  EXPECT_TRUE(tensors_identical(dx, conv_backward_data(ref, conv.desc(), dy, w, x.desc)));
  EXPECT_TRUE(tensors_identical(dw, conv_backward_weight(ref, conv.desc(), x, dy, w.desc)));
  EXPECT_TRUE(tensors_identical(db, conv_backward_bias(ref, conv.desc(), dy)));

  const upsUnpoolDesc_t nearest = upsample::unpool_desc(UPS_UNPOOL_NEAREST, {2, 2});
  HostTensor up(upsample::unpool_output_desc(nearest, x.desc)), ux(x.desc);
  up.fill_random(rng);
  handle.unpool_backward(nearest, up.desc, up.data(), ux.desc, ux.data());
  EXPECT_TRUE(tensors_identical(ux, unpool_backward(ref, nearest, up, x.desc)));

  const upsample::Pool pool({2, 2});
  upsTensorDesc_t y_desc, i_desc;
  pool.max_pool_output_desc(x.desc, &y_desc, &i_desc);
  const Pooled pooled = max_pool_forward(ref, pool.desc(), x);
  HostTensor g(y_desc), px(x.desc);
  g.fill_random(rng);
  handle.max_pool_backward(pool, g.desc, g.data(), pooled.indices.desc, pooled.indices.as_i64(), px.desc, px.data());
  EXPECT_TRUE(tensors_identical(px, max_pool_backward(ref, pool.desc(), g, pooled.indices, x.desc)));
  HostTensor mx(y_desc);
  handle.max_unpool_backward(pool, x.desc, x.data(), pooled.indices.desc, pooled.indices.as_i64(), y_desc, mx.data());
  EXPECT_TRUE(tensors_identical(mx, max_unpool_backward(ref, pool.desc(), x, pooled.indices, y_desc)));

  try {
    handle.conv_transpose_backward_data(conv, x.desc, x.data(), w.desc, w.data(), dx.desc, dx.data());
    ADD_FAILURE() << "expected upsample::Error";
  } catch (const upsample::Error& e) {
    EXPECT_EQ(e.status(), UPS_STATUS_GRADIENT_SHAPE_MISMATCH) << e.what();
  }
}

// =============================================================================================
// CUDA backend against the reference
// =============================================================================================
struct Backends {
  Backends() : cuda_(UPS_BACKEND_CUDA), reference_(UPS_BACKEND_REFERENCE) {}
  Target cuda() const { return {cuda_.get(), UPS_BACKEND_CUDA}; }
  Target reference() const { return {reference_.get(), UPS_BACKEND_REFERENCE}; }

 private:
  HandleGuard cuda_;
  HandleGuard reference_;
};

struct GradCase {
  upsAlgorithm_t algorithm;
  upsDataType_t dtype;
  upsLayout_t layout;
  int dims;
  bool index64;
};

std::string grad_name(const ::testing::TestParamInfo<GradCase>& info) {
  const GradCase& c = info.param;
  return std::string(c.algorithm == UPS_ALGO_SCATTER_ATOMIC ? "Scatter" : c.algorithm == UPS_ALGO_AUTO ? "Auto" : "Gather") +
         "_" + dtype_label(c.dtype) + "_" + layout_label(c.layout) + "_" + std::to_string(c.dims) + "d" +
         (c.index64 ? "_Index64" : "");
}

// dtype x layout x rank with `algorithms`, plus 64-bit-index cases.
std::vector<GradCase> grad_cases(std::vector<upsAlgorithm_t> algorithms) {
  std::vector<GradCase> cases;
  for (upsAlgorithm_t algorithm : algorithms)
    for (upsDataType_t dtype : kFloatDtypes)
      for (upsLayout_t layout : kLayouts)
        for (int dims = 1; dims <= 3; ++dims) cases.push_back({algorithm, dtype, layout, dims, false});
  for (upsLayout_t layout : kLayouts) {
    cases.push_back({algorithms.front(), UPS_DTYPE_F32, layout, 2, true});
    cases.push_back({algorithms.back(), UPS_DTYPE_BF16, layout, 3, true});
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// Unpooling
// ---------------------------------------------------------------------------------------------
class CudaUnpoolBackward : public ::testing::TestWithParam<GradCase> {};

TEST_P(CudaUnpoolBackward, BothModesMatchReference) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const GradCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 12; ++trial) {
    const upsUnpoolMode_t mode = trial % 2 ? UPS_UNPOOL_NEAREST : UPS_UNPOOL_BED_OF_NAILS;
    const upsUnpoolDesc_t desc = random_unpool(rng, mode, c.dims);
    const upsTensorDesc_t x_desc =
        make_desc(c.dtype, c.layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 9), random_extents(rng, c.dims, 1, 6));
    upsTensorDesc_t y_desc;
    UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
    const bool integers = trial % 4 < 2;  // integer sums are exact in every dtype here (<= 27 cells of |v| <= 4)
    SCOPED_TRACE(shape_text(y_desc) + (mode == UPS_UNPOOL_NEAREST ? " nearest" : " bed-of-nails") +
                 (integers ? " integers" : ""));
    HostTensor dy(y_desc);
    dy.fill_random(rng, -4, 4, integers);
    const HostTensor expected = unpool_backward(be.reference(), desc, dy, x_desc);
    const HostTensor actual = unpool_backward(be.cuda(), desc, dy, x_desc);
    if (integers || mode == UPS_UNPOOL_BED_OF_NAILS)
      ASSERT_TRUE(tensors_identical(actual, expected));
    else
      ASSERT_TRUE(tensors_close(actual, expected, tolerance(c.dtype)));
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaUnpoolBackward, ::testing::ValuesIn(grad_cases({UPS_ALGO_GATHER})), grad_name);

// ---------------------------------------------------------------------------------------------
// Max-pooling and max-unpooling
// ---------------------------------------------------------------------------------------------
class CudaMaxPoolBackward : public ::testing::TestWithParam<GradCase> {};

TEST_P(CudaMaxPoolBackward, RoutesLikeReferenceIncludingForeignIndices) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const GradCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 8; ++trial) {
    const upsPoolDesc_t pool = random_pool(rng, c.dims, trial % 4 == 0);
    const upsTensorDesc_t x_desc =
        make_desc(c.dtype, c.layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 5), random_extents(rng, c.dims, 2, 8));
    upsTensorDesc_t y_desc, i_desc;
    if (upsMaxPoolOutputDesc(&pool, &x_desc, &y_desc, &i_desc) != UPS_STATUS_SUCCESS) continue;
    SCOPED_TRACE(shape_text(x_desc) + " -> " + shape_text(y_desc));
    HostTensor x(x_desc);
    x.fill_random(rng, -3, 3, /*integers=*/true);  // ties: overlapping windows share switches
    Pooled pooled = max_pool_forward(be.reference(), pool, x);
    if (trial % 3 == 2)  // switches that name no position of their window: ignored on both backends
      for (int64_t e = 0; e < pooled.indices.size(); e += 3) pooled.indices.as_i64()[e] = uniform_int(rng, -2, 40);
    HostTensor dy(y_desc);
    const bool integers = trial % 2 == 0;
    dy.fill_random(rng, -4, 4, integers);
    const HostTensor expected = max_pool_backward(be.reference(), pool, dy, pooled.indices, x_desc);
    const HostTensor actual = max_pool_backward(be.cuda(), pool, dy, pooled.indices, x_desc);
    if (integers)  // small integer sums: exact in every dtype
      ASSERT_TRUE(tensors_identical(actual, expected));
    else
      ASSERT_TRUE(tensors_close(actual, expected, tolerance(c.dtype)));
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaMaxPoolBackward, ::testing::ValuesIn(grad_cases({UPS_ALGO_GATHER})), grad_name);

class CudaMaxUnpoolBackward : public ::testing::TestWithParam<GradCase> {};

TEST_P(CudaMaxUnpoolBackward, GathersLikeReferenceAndChecksIndices) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const GradCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 4; ++trial) {
    const upsPoolDesc_t pool = random_pool(rng, c.dims, trial % 2 == 0);
    const upsTensorDesc_t x_desc =
        make_desc(c.dtype, c.layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 4), random_extents(rng, c.dims, 1, 6));
    upsTensorDesc_t y_desc;
    if (upsMaxUnpoolOutputDesc(&pool, &x_desc, nullptr, &y_desc) != UPS_STATUS_SUCCESS || element_count(y_desc) == 0)
      continue;  // no shape, or an empty plane (every index out of range, as in PyTorch)
    SCOPED_TRACE(shape_text(x_desc) + " -> " + shape_text(y_desc));
    upsTensorDesc_t i_desc = x_desc;
    i_desc.dtype = UPS_DTYPE_I64;
    int64_t plane = 1;
    for (int a = 0; a < c.dims; ++a) plane *= y_desc.spatial[a];
    HostTensor indices(i_desc), dy(y_desc);
    for (int64_t e = 0; e < indices.size(); ++e) indices.as_i64()[e] = uniform_int(rng, 0, plane - 1);  // duplicates too
    dy.fill_random(rng);
    const HostTensor expected = max_unpool_backward(be.reference(), pool, dy, indices, x_desc);
    const HostTensor actual = max_unpool_backward(be.cuda(), pool, dy, indices, x_desc);
    ASSERT_TRUE(tensors_identical(actual, expected));

    // Two bad indices: both backends name the same first position, and dx is untouched.
    if (indices.size() >= 2) {
      const int64_t first = uniform_int(rng, 0, indices.size() - 2);
      indices.as_i64()[first] = plane;
      indices.as_i64()[indices.size() - 1] = -1;
      HostTensor ref_dx(x_desc);
      upsStatus_t status = upsMaxUnpoolBackward(be.reference().handle, &pool, &y_desc, dy.data(), &i_desc,
                                                indices.as_i64(), &x_desc, ref_dx.data());
      ASSERT_EQ(status, UPS_STATUS_INDEX_OUT_OF_RANGE);
      const std::string reference_message = upsGetLastErrorString();
      Buffer bdy(UPS_BACKEND_CUDA, dy), bi(UPS_BACKEND_CUDA, indices), bdx(UPS_BACKEND_CUDA, actual);
      status = upsMaxUnpoolBackward(be.cuda().handle, &pool, &y_desc, bdy.get(), &i_desc,
                                    static_cast<const int64_t*>(bi.get()), &x_desc, bdx.get());
      ASSERT_EQ(status, UPS_STATUS_INDEX_OUT_OF_RANGE);
      EXPECT_EQ(std::string(upsGetLastErrorString()), reference_message);
      HostTensor after(x_desc);
      bdx.download(&after);
      EXPECT_TRUE(tensors_identical(after, actual)) << "a rejected max-unpool backward wrote to dx";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaMaxUnpoolBackward, ::testing::ValuesIn(grad_cases({UPS_ALGO_GATHER})), grad_name);

// ---------------------------------------------------------------------------------------------
// Transposed convolution
// ---------------------------------------------------------------------------------------------
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
  EXPECT_TRUE(tensors_within_bound(dw, dw_ref, conv_backward_weight(be.reference(), reduction, x_abs, dy_abs, t.w.desc),
                                   tol))
      << "dw";
  EXPECT_TRUE(tensors_within_bound(db, db_ref, conv_backward_bias(be.reference(), reduction, dy_abs), tol)) << "db";
}

class CudaConvTransposeBackward : public ::testing::TestWithParam<GradCase> {};

TEST_P(CudaConvTransposeBackward, IntegerInputsMatchReference) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const GradCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 10; ++trial) {
    const ConvGeometry g = random_conv(rng, c.dims);
    SCOPED_TRACE(g.text());
    expect_conv_gradients_match(be, g, c.dtype, c.layout, c.algorithm, rng, /*integers=*/true);
    if (HasFailure()) return;
  }
}

TEST_P(CudaConvTransposeBackward, RealInputsMatchReference) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const GradCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 6; ++trial) {
    const ConvGeometry g = random_conv(rng, c.dims);
    SCOPED_TRACE(g.text());
    expect_conv_gradients_match(be, g, c.dtype, c.layout, c.algorithm, rng, /*integers=*/false);
    if (HasFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaConvTransposeBackward,
                         ::testing::ValuesIn(grad_cases({UPS_ALGO_GATHER, UPS_ALGO_SCATTER_ATOMIC})), grad_name);

// Geometries that reach every path of the plans: for the reductions, 64x64 channel tiles (4x4 per
// thread), several chunks (the workspace and the combine pass), the position tree of narrow
// channel tiles (depthwise: 256 threads on positions), RGB outputs, boxes cut by padding, an empty
// batch; for the data gradient, the tiled kernel's channel groups and chunks, and the direct
// kernel (a reach beyond the staged box limit, weights beyond shared memory).
std::vector<ConvGeometry> backward_edge_geometries() {
  return {
      conv_geometry(2, {1, 1}, {1, 1}, {1, 1}, 1, 1),                                  // 1x1 everything
      conv_geometry(2, {3, 5}, {2, 2}, {3, 3}, 3, 5),                                  // stride > kernel: gaps
      conv_geometry(2, {3, 3}, {5, 5}, {2, 2}, 3, 5, 1, {0, 2}, {1, 0}),               // asymmetric padding
      conv_geometry(2, {3, 3}, {3, 3}, {2, 2}, 3, 4, 1, {0, 0}, {0, 0}, {1, 0}, {2, 3}),  // dilation, gcd > 1
      conv_geometry(2, {3, 3}, {3, 3}, {1, 1}, 2, 2, 1, {2, 2}, {2, 2}),               // padding cuts taps: 1x1 out
      conv_geometry(2, {4, 4}, {3, 3}, {2, 2}, 64, 64, 1, {1, 1}, {1, 1}, {1, 1}, {}, 1),  // 64x64 tiles, micro 4
      conv_geometry(2, {3, 3}, {2, 2}, {2, 2}, 130, 70, 1, {}, {}, {}, {}, 1),         // partial 64-wide tiles
      conv_geometry(2, {32, 32}, {2, 2}, {2, 2}, 16, 16, 1, {}, {}, {}, {}, 1),        // several chunks
      conv_geometry(2, {64, 72}, {3, 3}, {2, 2}, 2, 2, 2, {1, 1}, {1, 1}, {1, 1}, {}, 2),  // depthwise, chunks
      conv_geometry(2, {16, 16}, {4, 4}, {2, 2}, 32, 3, 1, {1, 1}, {1, 1}),            // RGB output
      conv_geometry(1, {9}, {16}, {8}, 4, 3, 1, {4}, {4}),                             // HiFi-GAN-like k16 s8
      conv_geometry(3, {2, 3, 2}, {2, 2, 2}, {2, 2, 2}, 3, 4),                         // 3-D k2 s2
      conv_geometry(3, {2, 2, 3}, {3, 3, 3}, {2, 2, 2}, 2, 3, 1, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}),  // 3-D k3 s2 p1
      conv_geometry(2, {3, 3}, {2, 2}, {2, 2}, 3, 5, 1, {}, {}, {}, {}, 0),            // empty batch: zeros
      conv_geometry(1, {3}, {3}, {1}, 2, 3, 1, {}, {}, {}, {2100}),                    // data grad: direct (reach)
      conv_geometry(3, {1, 1, 2}, {9, 9, 9}, {1, 1, 1}, 16, 2),                        // data grad: direct (shared)
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
// bits on every run (GATHER for the reductions, with several chunks among the shapes; the gathers
// of the data gradient, unpooling and max-pooling).
TEST(CudaConvTransposeBackwardEdge, DeterministicPathsAreBitIdenticalAcrossRuns) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
#if defined(UPS_EMULATION)
  const int repeats = 3;  // the emulation is sequential: repeats show a wrong order, not races
#else
  const int repeats = 50;  // on a GPU, where scheduling varies from run to run
#endif
  std::vector<ConvGeometry> shapes = {conv_geometry(2, {32, 32}, {2, 2}, {2, 2}, 16, 16, 1, {}, {}, {}, {}, 1),
                                      conv_geometry(2, {4, 4}, {3, 3}, {2, 2}, 64, 64, 1, {1, 1}, {1, 1}, {1, 1}, {}, 1)};
  for (int trial = 0; trial < 3; ++trial) shapes.push_back(random_conv(rng, 2));
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
    EXPECT_TRUE(tensors_close(dw, conv_backward_weight(be.reference(), conv, t.x, t.dy, t.w.desc), tolerance(UPS_DTYPE_F32)));
  }
  // Unpooling (nearest) and max-pooling backward sum too.
  const upsUnpoolDesc_t nearest{0, UPS_UNPOOL_NEAREST, 2, {3, 2, 0}};
  HostTensor up(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 2, 5, {9, 8}));
  up.fill_random(rng);
  const upsTensorDesc_t ux = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 2, 5, {3, 4});
  const HostTensor first_unpool = unpool_backward(be.cuda(), nearest, up, ux);
  upsPoolDesc_t pool{};
  pool.spatial_dims = 2;
  pool.kernel[0] = pool.kernel[1] = 3;
  pool.stride[0] = pool.stride[1] = 1;
  pool.dilation[0] = pool.dilation[1] = 1;
  HostTensor px(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {7, 7}));
  px.fill_random(rng, 0, 2, /*integers=*/true);  // many ties: switches shared by overlapping windows
  const Pooled pooled = max_pool_forward(be.reference(), pool, px);
  HostTensor g(pooled.y.desc);
  g.fill_random(rng);
  const HostTensor first_pool = max_pool_backward(be.cuda(), pool, g, pooled.indices, px.desc);
  for (int r = 1; r < repeats; ++r) {
    ASSERT_TRUE(tensors_identical(unpool_backward(be.cuda(), nearest, up, ux), first_unpool));
    ASSERT_TRUE(tensors_identical(max_pool_backward(be.cuda(), pool, g, pooled.indices, px.desc), first_pool));
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
                              conv_backward_weight(be.reference(), conv, t.x, t.dy, t.w.desc), tolerance(UPS_DTYPE_F16)));
    UPS_ASSERT_OK(upsSetWorkspace(own.get(), workspace.get(), bytes - 1));
    Buffer bx(UPS_BACKEND_CUDA, t.x), bdy(UPS_BACKEND_CUDA, t.dy), bdw(UPS_BACKEND_CUDA, t.w);
    EXPECT_EQ(upsConvTransposeBackwardWeight(own.get(), &conv, &t.x.desc, bx.get(), &t.dy.desc, bdy.get(), &t.w.desc,
                                             bdw.get()),
              UPS_STATUS_WORKSPACE_TOO_SMALL);
  }
}

}  // namespace
}  // namespace upsample::test

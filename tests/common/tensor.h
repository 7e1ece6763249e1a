// Shared test fixtures: host tensors of any dtype, fresh random data with printed seeds,
// poisoning, logical (layout-independent) element access, and literal tensors.
//
// Every test binary includes these through tests/common/fixtures.h. The same CUDA test sources
// build twice: against libupsample.so (the real CUDA runtime) and against the emulated library
// (cuda/emu: kernels run on the CPU); nothing here depends on which.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "src/reference_element.h"
#include "upsample/upsample.h"

namespace upsample::test {

// ---------------------------------------------------------------------------------------------
// Seeds: fresh per run unless UPS_TEST_SEED is set; every test prints its seed on failure.
// ---------------------------------------------------------------------------------------------
inline uint64_t base_seed() {
  static const uint64_t seed = [] {
    if (const char* fixed = std::getenv("UPS_TEST_SEED"))
      return static_cast<uint64_t>(std::strtoull(fixed, nullptr, 10));
    return static_cast<uint64_t>(std::random_device{}()) << 32 ^ std::random_device{}();
  }();
  return seed;
}

// A generator for one test: the base seed mixed with the test's name, so tests are independent.
inline std::mt19937_64 make_rng(const std::string& salt = "") {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = salt;
  if (info != nullptr) name += std::string(info->test_suite_name()) + "." + info->name();
  return std::mt19937_64(base_seed() ^ std::hash<std::string>{}(name));
}

#define UPS_SEED_TRACE() SCOPED_TRACE("UPS_TEST_SEED=" + std::to_string(::upsample::test::base_seed()))

// ---------------------------------------------------------------------------------------------
// Host tensors
// ---------------------------------------------------------------------------------------------
inline int64_t dtype_bytes(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F32:
      return 4;
    case UPS_DTYPE_F64:
      return 8;
    case UPS_DTYPE_F16:
      return 2;
    case UPS_DTYPE_BF16:
      return 2;
    case UPS_DTYPE_I64:
      return 8;
    case UPS_DTYPE_I32:
      return 4;
  }
  return 0;
}

inline const char* dtype_label(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F32:
      return "F32";
    case UPS_DTYPE_F64:
      return "F64";
    case UPS_DTYPE_F16:
      return "F16";
    case UPS_DTYPE_BF16:
      return "BF16";
    case UPS_DTYPE_I64:
      return "I64";
    case UPS_DTYPE_I32:
      return "I32";
  }
  return "?";
}

inline upsTensorDesc_t make_desc(upsDataType_t dtype, upsLayout_t layout, int64_t n, int64_t c,
                                 std::vector<int64_t> spatial) {
  upsTensorDesc_t d{};
  d.dtype = dtype;
  d.layout = layout;
  d.spatial_dims = static_cast<int>(spatial.size());
  d.n = n;
  d.c = c;
  for (size_t i = 0; i < spatial.size() && i < 3; ++i) d.spatial[i] = spatial[i];
  return d;
}

inline int64_t element_count(const upsTensorDesc_t& d) {
  int64_t count = d.n * d.c;
  for (int i = 0; i < d.spatial_dims; ++i) count *= d.spatial[i];
  return count;
}

// Memory offset of logical (n, c, s0[, s1[, s2]]) in a dense tensor of either layout.
inline int64_t offset_of(const upsTensorDesc_t& d, int64_t n, int64_t c, const int64_t* s) {
  int64_t spatial = 0;
  for (int i = 0; i < d.spatial_dims; ++i) spatial = spatial * d.spatial[i] + s[i];
  int64_t plane = 1;
  for (int i = 0; i < d.spatial_dims; ++i) plane *= d.spatial[i];
  if (d.layout == UPS_LAYOUT_CHANNELS_FIRST) return (n * d.c + c) * plane + spatial;
  return (n * plane + spatial) * d.c + c;
}

struct HostTensor {
  upsTensorDesc_t desc{};
  std::vector<unsigned char> bytes;

  HostTensor() = default;
  explicit HostTensor(const upsTensorDesc_t& d)
      : desc(d), bytes(static_cast<size_t>(element_count(d) * dtype_bytes(d.dtype))) {}

  int64_t size() const { return element_count(desc); }
  void* data() { return bytes.data(); }
  const void* data() const { return bytes.data(); }
  double get(int64_t i) const { return reference::load(desc.dtype, bytes.data(), i); }
  void set(int64_t i, double v) { reference::store(desc.dtype, bytes.data(), i, v); }
  int64_t* as_i64() { return reinterpret_cast<int64_t*>(bytes.data()); }
  const int64_t* as_i64() const { return reinterpret_cast<const int64_t*>(bytes.data()); }
  // Switch indices of either dtype (I64 or I32), exactly.
  int64_t index(int64_t i) const { return reference::load_index(desc.dtype, bytes.data(), i); }
  void set_index(int64_t i, int64_t v) { reference::store_index(desc.dtype, bytes.data(), i, v); }

  // Uniform values in [lo, hi); integer-valued when `integers` (exact in every dtype for small
  // ranges, so sums compare bit for bit).
  void fill_random(std::mt19937_64& rng, double lo = -1.0, double hi = 1.0, bool integers = false) {
    std::uniform_real_distribution<double> uniform(lo, hi);
    for (int64_t i = 0; i < size(); ++i) set(i, integers ? std::floor(uniform(rng)) : uniform(rng));
  }
  // NaN in float tensors, a recognisable garbage value in index tensors: an element a kernel
  // forgets to write then fails the comparison.
  void poison() {
    if (detail::is_index_dtype(desc.dtype)) {
      for (int64_t i = 0; i < size(); ++i)
        set_index(i, desc.dtype == UPS_DTYPE_I64 ? INT64_C(0x5a5a5a5a5a5a5a5a) : 0x5a5a5a5a);
    } else {
      for (int64_t i = 0; i < size(); ++i) set(i, std::nan(""));
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Vocabulary of the suites: dtypes, layouts, labels, random integers
// ---------------------------------------------------------------------------------------------
inline constexpr upsDataType_t kFloatDtypes[] = {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16};
inline constexpr upsDataType_t kNarrowDtypes[] = {UPS_DTYPE_F32, UPS_DTYPE_F16, UPS_DTYPE_BF16};
inline constexpr upsLayout_t kLayouts[] = {UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST};
inline constexpr upsDataType_t kSwitchDtypes[] = {UPS_DTYPE_I64, UPS_DTYPE_I32};

// NCHW / NHWC whatever the rank: the labels are names of the two layouts, used in test names
// (CudaUnpool/All.Nearest_F16_NHWC_3d) and traces.
inline const char* layout_label(upsLayout_t layout) { return layout == UPS_LAYOUT_CHANNELS_FIRST ? "NCHW" : "NHWC"; }

inline int64_t uniform_int(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

inline upsLayout_t random_layout(std::mt19937_64& rng) { return kLayouts[uniform_int(rng, 0, 1)]; }

// "F32 NHWC (2, 3, 4, 5)": dtype, layout, N, C, spatial extents.
inline std::string shape_text(const upsTensorDesc_t& d) {
  std::string s = std::string(dtype_label(d.dtype)) + " " + layout_label(d.layout) + " (" + std::to_string(d.n) + ", " +
                  std::to_string(d.c);
  for (int i = 0; i < d.spatial_dims; ++i) s += ", " + std::to_string(d.spatial[i]);
  return s + ")";
}

// ---------------------------------------------------------------------------------------------
// Logical element access
// ---------------------------------------------------------------------------------------------
// Calls f(n, c, s) for every element in logical order: n, c, then the spatial axes outermost
// first (s holds spatial_dims coordinates). The i-th call is logical element i.
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

// A tensor of `desc` (any layout) holding `logical`, given in channels-first order.
inline HostTensor tensor_of(const upsTensorDesc_t& desc, const std::vector<double>& logical) {
  HostTensor t(desc);
  EXPECT_EQ(static_cast<int64_t>(logical.size()), t.size()) << "literal has the wrong element count";
  size_t i = 0;
  for_each_element(desc, [&](int64_t n, int64_t c, const int64_t* s) {
    t.set(offset_of(desc, n, c, s), i < logical.size() ? logical[i] : 0.0);
    ++i;
  });
  return t;
}

// Integer index tensors (I64 or I32) in logical order.
inline HostTensor indices_of(const upsTensorDesc_t& desc, const std::vector<int64_t>& logical) {
  HostTensor t(desc);
  size_t i = 0;
  for_each_element(
      desc, [&](int64_t n, int64_t c, const int64_t* s) { t.set_index(offset_of(desc, n, c, s), logical[i++]); });
  return t;
}

// The logical values of a tensor, in channels-first order.
inline std::vector<double> logical_values(const HostTensor& t) {
  std::vector<double> values;
  for_each_element(
      t.desc, [&](int64_t n, int64_t c, const int64_t* s) { values.push_back(t.get(offset_of(t.desc, n, c, s))); });
  return values;
}

// The same logical tensor in another layout and/or dtype (values rounded to the new dtype).
inline HostTensor converted(const HostTensor& t, upsDataType_t dtype, upsLayout_t layout) {
  upsTensorDesc_t d = t.desc;
  d.dtype = dtype;
  d.layout = layout;
  HostTensor out(d);
  for_each_element(t.desc, [&](int64_t n, int64_t c, const int64_t* s) {
    out.set(offset_of(d, n, c, s), t.get(offset_of(t.desc, n, c, s)));
  });
  return out;
}

inline HostTensor filled(const upsTensorDesc_t& desc, double value) {
  HostTensor t(desc);
  for (int64_t i = 0; i < t.size(); ++i) t.set(i, value);
  return t;
}

// The same tensor with every element replaced by its absolute value.
inline HostTensor absolute(const HostTensor& t) {
  HostTensor out = t;
  for (int64_t i = 0; i < t.size(); ++i) out.set(i, std::fabs(t.get(i)));
  return out;
}

// <a, b> over two tensors of one logical shape (each in its own layout); with `absolute`, of |a|*|b|.
inline double inner(const HostTensor& a, const HostTensor& b, bool absolute = false) {
  double sum = 0.0;
  for_each_element(a.desc, [&](int64_t n, int64_t c, const int64_t* s) {
    const double p = a.get(offset_of(a.desc, n, c, s)) * b.get(offset_of(b.desc, n, c, s));
    sum += absolute ? std::fabs(p) : p;
  });
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Ranks: a 1-D problem is a 2-D one with H = 1 and a 3-D one with D = H = 1; a 2-D problem is a
// 3-D one with D = 1. Extent-1 axes change no memory offset, so the same bytes describe both.
// ---------------------------------------------------------------------------------------------
// The descriptor with `extra` leading extent-1 axes.
inline upsTensorDesc_t lifted_desc(const upsTensorDesc_t& d, int extra) {
  upsTensorDesc_t out = d;
  out.spatial_dims = d.spatial_dims + extra;
  for (int a = 0; a < out.spatial_dims; ++a) out.spatial[a] = a < extra ? 1 : d.spatial[a - extra];
  return out;
}

inline HostTensor lifted(const HostTensor& t, int extra) {
  HostTensor out(lifted_desc(t.desc, extra));
  out.bytes = t.bytes;
  return out;
}

}  // namespace upsample::test

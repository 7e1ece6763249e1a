// Shared helpers of the test suites: host tensors of any dtype, fresh random data with printed
// seeds, poisoning, buffers on either backend, and the comparison report.
//
// The same test sources build twice: against libupsample.so (backends REFERENCE and, when a GPU
// exists, CUDA) and against the emulated library (CUDA backend = kernels run on the CPU). The
// CUDA runtime calls below (cudaMalloc, cudaMemcpy) are the real ones in the first build and the
// emulation layer's in the second.
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

#include "common/platform.cuh"
#include "src/reference_element.h"
#include "upsample/upsample.h"

namespace upsample::test {

// ---------------------------------------------------------------------------------------------
// Seeds: fresh per run unless UPS_TEST_SEED is set; every test prints its seed on failure.
// ---------------------------------------------------------------------------------------------
inline uint64_t base_seed() {
  static const uint64_t seed = [] {
    if (const char* fixed = std::getenv("UPS_TEST_SEED")) return static_cast<uint64_t>(std::strtoull(fixed, nullptr, 10));
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
    case UPS_DTYPE_F32: return 4;
    case UPS_DTYPE_F64: return 8;
    case UPS_DTYPE_F16: return 2;
    case UPS_DTYPE_BF16: return 2;
    case UPS_DTYPE_I64: return 8;
  }
  return 0;
}

inline const char* dtype_label(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F32: return "F32";
    case UPS_DTYPE_F64: return "F64";
    case UPS_DTYPE_F16: return "F16";
    case UPS_DTYPE_BF16: return "BF16";
    case UPS_DTYPE_I64: return "I64";
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
  explicit HostTensor(const upsTensorDesc_t& d) : desc(d), bytes(static_cast<size_t>(element_count(d) * dtype_bytes(d.dtype))) {}

  int64_t size() const { return element_count(desc); }
  void* data() { return bytes.data(); }
  const void* data() const { return bytes.data(); }
  double get(int64_t i) const { return reference::load(desc.dtype, bytes.data(), i); }
  void set(int64_t i, double v) { reference::store(desc.dtype, bytes.data(), i, v); }
  int64_t* as_i64() { return reinterpret_cast<int64_t*>(bytes.data()); }
  const int64_t* as_i64() const { return reinterpret_cast<const int64_t*>(bytes.data()); }

  // Uniform values in [lo, hi); integer-valued when `integers` (exact in every dtype for small
  // ranges, so sums compare bit for bit).
  void fill_random(std::mt19937_64& rng, double lo = -1.0, double hi = 1.0, bool integers = false) {
    std::uniform_real_distribution<double> uniform(lo, hi);
    for (int64_t i = 0; i < size(); ++i) set(i, integers ? std::floor(uniform(rng)) : uniform(rng));
  }
  // NaN in float tensors, a recognisable garbage value in index tensors: an element a kernel
  // forgets to write then fails the comparison.
  void poison() {
    if (desc.dtype == UPS_DTYPE_I64) {
      for (int64_t i = 0; i < size(); ++i) as_i64()[i] = INT64_C(0x5a5a5a5a5a5a5a5a);
    } else {
      for (int64_t i = 0; i < size(); ++i) set(i, std::nan(""));
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Buffers on a backend: host memory for REFERENCE, device memory for CUDA.
// ---------------------------------------------------------------------------------------------
class Buffer {
 public:
  Buffer(upsBackend_t backend, size_t bytes) : backend_(backend), bytes_(bytes) {
    if (bytes_ == 0) return;
    if (backend_ == UPS_BACKEND_CUDA) {
      if (cudaMalloc(&pointer_, bytes_) != cudaSuccess) pointer_ = nullptr;
    } else {
      host_.resize(bytes_ + 64);
      pointer_ = host_.data();
    }
  }
  Buffer(upsBackend_t backend, const HostTensor& t) : Buffer(backend, t.bytes.size()) { upload(t); }
  ~Buffer() {
    if (backend_ == UPS_BACKEND_CUDA && pointer_ != nullptr) cudaFree(pointer_);
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void* get() const { return pointer_; }
  void upload(const HostTensor& t) {
    if (bytes_ == 0) return;
    if (backend_ == UPS_BACKEND_CUDA)
      cudaMemcpy(pointer_, t.bytes.data(), bytes_, cudaMemcpyHostToDevice);
    else
      std::memcpy(pointer_, t.bytes.data(), bytes_);
  }
  void download(HostTensor* t) const {
    if (bytes_ == 0) return;
    if (backend_ == UPS_BACKEND_CUDA) {
      cudaDeviceSynchronize();
      cudaMemcpy(t->bytes.data(), pointer_, bytes_, cudaMemcpyDeviceToHost);
    } else {
      std::memcpy(t->bytes.data(), pointer_, bytes_);
    }
  }

 private:
  upsBackend_t backend_;
  size_t bytes_;
  void* pointer_ = nullptr;
  std::vector<unsigned char> host_;
};

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------
// Relative tolerance ||out - ref|| / ||ref|| per dtype (DESIGN.md "Numbers that matter"): f64 and
// f32 results are sums in the dtype's own precision; f16/bf16 accumulate in float but are
// rounded to 11 / 8 significant bits on output.
inline double tolerance(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F64: return 1e-12;
    case UPS_DTYPE_F32: return 1e-5;
    case UPS_DTYPE_F16: return 1e-2;
    case UPS_DTYPE_BF16: return 1e-2;
    case UPS_DTYPE_I64: return 0.0;
  }
  return 0.0;
}

// Relative-norm comparison with a report: mismatch count, worst absolute and relative error with
// its index, and the first few differing values. NaN anywhere in `actual` fails (unless the
// reference has NaN at the same place).
inline ::testing::AssertionResult tensors_close(const HostTensor& actual, const HostTensor& expected, double rel_tol) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << "size " << actual.size() << " vs expected " << expected.size();
  double diff2 = 0.0, ref2 = 0.0, worst_abs = 0.0, worst_rel = 0.0;
  int64_t worst_index = -1, mismatches = 0, nans = 0, non_finite = 0;
  std::ostringstream first;
  int shown = 0;
  for (int64_t i = 0; i < actual.size(); ++i) {
    const double a = actual.get(i), e = expected.get(i);
    if (std::isnan(a) || std::isnan(e)) {
      if (std::isnan(a) && std::isnan(e)) continue;
      ++nans;
      ++mismatches;
      if (shown < 5) first << "\n  [" << i << "] got " << a << ", expected " << e, ++shown;
      continue;
    }
    if (std::isinf(a) || std::isinf(e)) {
      if (a == e) continue;
      ++mismatches;
      ++non_finite;
      if (shown < 5) first << "\n  [" << i << "] got " << a << ", expected " << e, ++shown;
      continue;
    }
    const double d = std::fabs(a - e);
    diff2 += d * d;
    ref2 += e * e;
    const double rel = d / std::max(std::fabs(e), 1e-30);
    if (d > worst_abs) worst_abs = d, worst_index = i, worst_rel = rel;
    if (d > rel_tol * std::max(1.0, std::fabs(e)) * 4) {
      ++mismatches;
      if (shown < 5) first << "\n  [" << i << "] got " << a << ", expected " << e, ++shown;
    }
  }
  const double rel_norm = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  if (nans == 0 && non_finite == 0 && rel_norm <= rel_tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "||out-ref||/||ref|| = " << rel_norm << " (tolerance " << rel_tol << "), "
                                       << mismatches << " of " << actual.size() << " elements differ (" << nans
                                       << " NaN/unwritten); worst abs error " << worst_abs << " (rel " << worst_rel
                                       << ") at index " << worst_index << first.str();
}

// Elementwise |actual - expected| <= rel_tol * magnitude, where magnitude[i] is the sum of the
// absolute values of the terms that expected[i] sums (the op applied to |inputs|). This is the
// bound a reordered floating-point sum obeys, so it holds under cancellation, where a relative
// norm of a small result would not. NaN positions must agree.
inline ::testing::AssertionResult tensors_within_bound(const HostTensor& actual, const HostTensor& expected,
                                                       const HostTensor& magnitude, double rel_tol) {
  if (actual.size() != expected.size() || magnitude.size() != expected.size())
    return ::testing::AssertionFailure() << "sizes differ";
  int64_t mismatches = 0, worst_index = -1;
  double worst_ratio = 0.0;
  std::ostringstream first;
  int shown = 0;
  for (int64_t i = 0; i < actual.size(); ++i) {
    const double a = actual.get(i), e = expected.get(i), m = magnitude.get(i);
    bool ok;
    if (std::isnan(a) || std::isnan(e)) {
      ok = std::isnan(a) && std::isnan(e);
    } else {
      const double bound = rel_tol * m + 1e-300;
      ok = std::fabs(a - e) <= bound;
      if (std::fabs(a - e) / bound > worst_ratio) worst_ratio = std::fabs(a - e) / bound, worst_index = i;
    }
    if (!ok) {
      ++mismatches;
      if (shown < 5) first << "\n  [" << i << "] got " << a << ", expected " << e << " (sum of |terms| " << m << ")", ++shown;
    }
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << mismatches << " of " << actual.size() << " elements beyond " << rel_tol
                                       << " x sum of |terms|; worst at index " << worst_index << " ("
                                       << worst_ratio << " x the bound)" << first.str();
}

// The same tensor with every element replaced by its absolute value.
inline HostTensor absolute(const HostTensor& t) {
  HostTensor out = t;
  for (int64_t i = 0; i < t.size(); ++i) out.set(i, std::fabs(t.get(i)));
  return out;
}

// Bit-for-bit equality (data movement, integer-valued sums, determinism).
inline ::testing::AssertionResult tensors_identical(const HostTensor& actual, const HostTensor& expected) {
  if (actual.bytes == expected.bytes) return ::testing::AssertionSuccess();
  if (actual.bytes.size() != expected.bytes.size())
    return ::testing::AssertionFailure() << "byte sizes differ: " << actual.bytes.size() << " vs "
                                         << expected.bytes.size();
  int64_t mismatches = 0;
  std::ostringstream first;
  int shown = 0;
  for (int64_t i = 0; i < actual.size(); ++i) {
    const size_t width = static_cast<size_t>(dtype_bytes(actual.desc.dtype));
    if (std::memcmp(&actual.bytes[static_cast<size_t>(i) * width], &expected.bytes[static_cast<size_t>(i) * width], width) != 0) {
      ++mismatches;
      if (shown < 5) {
        if (actual.desc.dtype == UPS_DTYPE_I64)
          first << "\n  [" << i << "] got " << actual.as_i64()[i] << ", expected " << expected.as_i64()[i];
        else
          first << "\n  [" << i << "] got " << actual.get(i) << ", expected " << expected.get(i);
        ++shown;
      }
    }
  }
  return ::testing::AssertionFailure() << mismatches << " of " << actual.size() << " elements differ" << first.str();
}

// The status and the message, for assertion output.
inline std::string status_text(upsStatus_t status) {
  return std::string(upsGetStatusName(status)) + " (" + upsGetLastErrorString() + ")";
}

#define UPS_ASSERT_OK(expr)                                                                    \
  do {                                                                                         \
    const upsStatus_t ups_test_status_ = (expr);                                               \
    ASSERT_EQ(ups_test_status_, UPS_STATUS_SUCCESS) << ::upsample::test::status_text(ups_test_status_); \
  } while (0)

// A handle for a backend, or a skip when the CUDA backend has no device here.
class HandleGuard {
 public:
  explicit HandleGuard(upsBackend_t backend) { status_ = upsCreate(&handle_, backend); }
  ~HandleGuard() {
    if (handle_ != nullptr) upsDestroy(handle_);
  }
  upsHandle_t get() const { return handle_; }
  upsStatus_t status() const { return status_; }

 private:
  upsHandle_t handle_ = nullptr;
  upsStatus_t status_ = UPS_STATUS_SUCCESS;
};

#define UPS_SKIP_WITHOUT_CUDA()                                                                        \
  do {                                                                                                 \
    if (!upsCudaDeviceAvailable())                                                                     \
      GTEST_SKIP() << "no CUDA device on this machine: the CUDA backend runs on the emulated suite "  \
                      "(label 'emulated') here, and on a GPU with label 'gpu'";                        \
  } while (0)

}  // namespace upsample::test

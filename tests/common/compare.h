// Shared test fixtures: comparisons with a mismatch report (count, worst error and where, the
// first few values), per-dtype tolerances, shape equality, and status assertions.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>

#include "core/dtype.h"
#include "tests/common/tensor.h"
#include "upsample/upsample.h"

namespace upsample::test {

using detail::is_index_dtype;

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------
// Relative tolerance ||out - ref|| / ||ref|| per dtype (DESIGN.md "Numbers that matter"): f64 and
// f32 results are sums in the dtype's own precision; f16/bf16 accumulate in float but are
// rounded to 11 / 8 significant bits on output.
inline double tolerance(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F64:
      return 1e-12;
    case UPS_DTYPE_F32:
      return 1e-5;
    case UPS_DTYPE_F16:
      return 1e-2;
    case UPS_DTYPE_BF16:
      return 1e-2;
    case UPS_DTYPE_I64:
    case UPS_DTYPE_I32:
      return 0.0;
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

// Spacing of the dtype's subnormals (its smallest positive value). Below the smallest normal the
// grid is absolute, not relative: a result rounded to f16 near 1e-6 can be one step (2^-24, about
// 6e-8, i.e. 4% of the value) from an independently rounded reference, however exact both sums.
inline double subnormal_spacing(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F64:
      return std::numeric_limits<double>::denorm_min();
    case UPS_DTYPE_F32:
      return static_cast<double>(std::numeric_limits<float>::denorm_min());
    case UPS_DTYPE_F16:
      return std::ldexp(1.0, -24);
    case UPS_DTYPE_BF16:
      return std::ldexp(1.0, -133);
    case UPS_DTYPE_I64:
    case UPS_DTYPE_I32:
      return 0.0;
  }
  return 0.0;
}

// Elementwise |actual - expected| <= rel_tol * magnitude + one subnormal step of the dtype, where
// magnitude[i] is the sum of the absolute values of the terms that expected[i] sums (the op
// applied to |inputs|). This is the bound a reordered floating-point sum obeys, so it holds under
// cancellation, where a relative norm of a small result would not; the absolute step covers
// both sides' final rounding when the result is subnormal. NaN positions must agree.
inline ::testing::AssertionResult tensors_within_bound(const HostTensor& actual, const HostTensor& expected,
                                                       const HostTensor& magnitude, double rel_tol) {
  if (actual.size() != expected.size() || magnitude.size() != expected.size())
    return ::testing::AssertionFailure() << "sizes differ";
  int64_t mismatches = 0, worst_index = -1;
  double worst_ratio = 0.0;
  const double subnormal_floor = std::max(subnormal_spacing(actual.desc.dtype), 1e-300);
  std::ostringstream first;
  int shown = 0;
  for (int64_t i = 0; i < actual.size(); ++i) {
    const double a = actual.get(i), e = expected.get(i), m = magnitude.get(i);
    bool ok;
    if (std::isnan(a) || std::isnan(e)) {
      ok = std::isnan(a) && std::isnan(e);
    } else {
      const double bound = rel_tol * m + subnormal_floor;
      ok = std::fabs(a - e) <= bound;
      if (std::fabs(a - e) / bound > worst_ratio) worst_ratio = std::fabs(a - e) / bound, worst_index = i;
    }
    if (!ok) {
      ++mismatches;
      if (shown < 5)
        first << "\n  [" << i << "] got " << a << ", expected " << e << " (sum of |terms| " << m << ")", ++shown;
    }
  }
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << mismatches << " of " << actual.size() << " elements beyond " << rel_tol
                                       << " x sum of |terms| + " << subnormal_floor << "; worst at index " << worst_index << " (" << worst_ratio
                                       << " x the bound)" << first.str();
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
    if (std::memcmp(&actual.bytes[static_cast<size_t>(i) * width], &expected.bytes[static_cast<size_t>(i) * width],
                    width) != 0) {
      ++mismatches;
      if (shown < 5) {
        if (is_index_dtype(actual.desc.dtype))
          first << "\n  [" << i << "] got " << actual.index(i) << ", expected " << expected.index(i);
        else
          first << "\n  [" << i << "] got " << actual.get(i) << ", expected " << expected.get(i);
        ++shown;
      }
    }
  }
  return ::testing::AssertionFailure() << mismatches << " of " << actual.size() << " elements differ" << first.str();
}

// Logical (layout-independent) equality of two tensors of one logical shape: bit-for-bit
// equal doubles (NaN matching NaN, signed zeros told apart), or equal indices.
inline ::testing::AssertionResult logically_identical(const HostTensor& a, const HostTensor& b) {
  if (a.desc.n != b.desc.n || a.desc.c != b.desc.c || a.size() != b.size())
    return ::testing::AssertionFailure() << "shapes differ: " << shape_text(a.desc) << " vs " << shape_text(b.desc);
  int64_t mismatches = 0;
  std::ostringstream first;
  int64_t i = 0;
  for_each_element(a.desc, [&](int64_t n, int64_t c, const int64_t* s) {
    const int64_t oa = offset_of(a.desc, n, c, s), ob = offset_of(b.desc, n, c, s);
    bool same;
    if (is_index_dtype(a.desc.dtype)) {
      same = a.index(oa) == b.index(ob);
    } else {
      const double va = a.get(oa), vb = b.get(ob);
      same = std::isnan(va) ? std::isnan(vb) : va == vb && std::signbit(va) == std::signbit(vb);
    }
    if (!same && mismatches++ < 5)
      first << "\n  logical [" << i << "] got "
            << (is_index_dtype(a.desc.dtype) ? static_cast<double>(a.index(oa)) : a.get(oa)) << ", expected "
            << (is_index_dtype(b.desc.dtype) ? static_cast<double>(b.index(ob)) : b.get(ob));
    ++i;
  });
  if (mismatches == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << mismatches << " of " << a.size() << " elements differ" << first.str();
}

// Same dtype, layout, rank and extents.
inline ::testing::AssertionResult same_shape(const upsTensorDesc_t& a, const upsTensorDesc_t& b) {
  bool same =
      a.dtype == b.dtype && a.layout == b.layout && a.spatial_dims == b.spatial_dims && a.n == b.n && a.c == b.c;
  for (int i = 0; same && i < a.spatial_dims; ++i) same = a.spatial[i] == b.spatial[i];
  if (same) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << shape_text(a) << " vs " << shape_text(b);
}

// The result of a problem lifted by `extra` extent-1 axes equals the low-rank result, bit for bit.
inline ::testing::AssertionResult same_result(const HostTensor& high, const HostTensor& low, int extra) {
  if (!same_shape(high.desc, lifted_desc(low.desc, extra)))
    return ::testing::AssertionFailure() << "shape " << shape_text(high.desc) << ", expected "
                                         << shape_text(lifted_desc(low.desc, extra));
  return tensors_identical(high, lifted(low, extra));
}

// Adjointness: |lhs - rhs| within a few f64 roundings of the sum of |terms|.
inline ::testing::AssertionResult adjoint(double lhs, double rhs, double scale, const char* what) {
  if (std::fabs(lhs - rhs) <= 1e-12 * std::max(scale, 1e-300)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": " << lhs << " vs " << rhs << " (scale " << scale << ")";
}

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
      return ::testing::AssertionFailure()
             << what << "[" << e << "]: finite difference " << numeric << ", gradient " << analytic;
  }
  return ::testing::AssertionSuccess();
}

// The status and the message, for assertion output.
inline std::string status_text(upsStatus_t status) {
  return std::string(upsGetStatusName(status)) + " (" + upsGetLastErrorString() + ")";
}

#define UPS_ASSERT_OK(expr)                                                                             \
  do {                                                                                                  \
    const upsStatus_t ups_test_status_ = (expr);                                                        \
    ASSERT_EQ(ups_test_status_, UPS_STATUS_SUCCESS) << ::upsample::test::status_text(ups_test_status_); \
  } while (0)

}  // namespace upsample::test

// Whether this test binary is built with a sanitizer (AddressSanitizer or ThreadSanitizer, the
// `sanitize` and `tsan` presets). CI runs the emulated suite under both (.ci/run), about 3x and
// 20x slower than the plain build. The heaviest shape sweeps take a spread subset there: every
// kernel path and barrier (TSan's concern) still runs, while the full sweep over shapes stays the
// plain build's.
#pragma once

#include <cstddef>
#include <vector>

namespace upsample::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif

// All of `cases`, or every fifth (first, sixth, ...) under a sanitizer.
template <typename T>
std::vector<T> sanitizer_subset(const std::vector<T>& cases) {
  if (!kSanitizerBuild) return cases;
  std::vector<T> subset;
  for (size_t i = 0; i < cases.size(); i += 5) subset.push_back(cases[i]);
  return subset;
}

}  // namespace upsample::test

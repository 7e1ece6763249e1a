// Shared test fixtures for bad input: guarded output buffers, the "rejected" assertion, and the
// table runner every bad-input test uses.
//
// A bad-input test is a table of rows {what, call, expected status, message fragment}. The runner
// makes each call, and requires its status, a non-empty message containing the fragment (the
// argument's name and what was expected), and every guarded output byte for byte as it was before
// (nothing written, guard bytes around each buffer included).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "tests/common/backend.h"
#include "tests/common/tensor.h"
#include "upsample/upsample.h"

namespace upsample::test {

// A host buffer holding a byte pattern, with guard bytes before and after the data.
class Sentinel {
 public:
  explicit Sentinel(size_t bytes) : storage_(bytes + 2 * kGuard) {
    for (size_t i = 0; i < storage_.size(); ++i) storage_[i] = pattern(i);
  }
  void* data(size_t offset = 0) { return storage_.data() + kGuard + offset; }
  ::testing::AssertionResult untouched() const {
    for (size_t i = 0; i < storage_.size(); ++i)
      if (storage_[i] != pattern(i))
        return ::testing::AssertionFailure()
               << "output byte " << static_cast<long long>(i) - static_cast<long long>(kGuard)
               << " was written by a rejected call";
    return ::testing::AssertionSuccess();
  }
  static constexpr size_t kGuard = 64;

 private:
  static unsigned char pattern(size_t i) { return static_cast<unsigned char>((i * 131 + 7) & 0xff); }
  std::vector<unsigned char> storage_;
};

// A sentinel buffer sized for a tensor, carrying its descriptor.
class Guarded : public Sentinel {
 public:
  explicit Guarded(const upsTensorDesc_t& desc)
      : Sentinel(static_cast<size_t>(element_count(desc) * dtype_bytes(desc.dtype))), desc_(desc) {}
  const upsTensorDesc_t& desc() const { return desc_; }

 private:
  upsTensorDesc_t desc_;
};

// The status is `expected`, and the message is non-empty and contains `fragment`.
inline ::testing::AssertionResult rejected(upsStatus_t status, upsStatus_t expected, const std::string& fragment) {
  const std::string message = upsGetLastErrorString();
  if (status != expected)
    return ::testing::AssertionFailure() << "status " << upsGetStatusName(status) << ", expected "
                                         << upsGetStatusName(expected) << " (message: \"" << message << "\")";
  if (message.empty()) return ::testing::AssertionFailure() << upsGetStatusName(status) << " with an empty message";
  if (message.find(fragment) == std::string::npos)
    return ::testing::AssertionFailure() << "message \"" << message << "\" does not name \"" << fragment << "\"";
  return ::testing::AssertionSuccess();
}

// One row of a bad-input table.
struct BadCall {
  std::string what;                   // the input class, for the failure trace
  std::function<upsStatus_t()> call;  // the call, with one argument broken
  upsStatus_t status;                 // the status it must return
  std::string fragment;               // what its message must contain
};

// Every row rejected with its status and message, and every guarded output untouched after it.
inline void expect_rejected(const std::vector<BadCall>& rows, const std::vector<const Sentinel*>& outputs) {
  for (const BadCall& row : rows) {
    SCOPED_TRACE(row.what);
    EXPECT_TRUE(rejected(row.call(), row.status, row.fragment));
    for (const Sentinel* output : outputs) EXPECT_TRUE(output->untouched());
  }
}

// The call `args.run()` on a copy of `valid` changed by `change`: a row's call, for ops whose
// arguments are gathered in a struct (the forward suites' XArgs).
template <typename Args, typename Change>
std::function<upsStatus_t()> with(const Args& valid, Change&& change) {
  Args args = valid;
  change(args);
  return [args] { return args.run(); };
}

// A handle value that was live once and has been destroyed.
inline upsHandle_t destroyed_handle() {
  upsHandle_t handle = nullptr;
  EXPECT_EQ(upsCreate(&handle, UPS_BACKEND_REFERENCE), UPS_STATUS_SUCCESS);
  EXPECT_EQ(upsDestroy(handle), UPS_STATUS_SUCCESS);
  return handle;
}

// An extent whose square overflows int64.
inline constexpr int64_t kHuge = int64_t{1} << 40;

// An enum holding a value outside its enumerators, as a C caller can pass one.
template <typename Enum>
Enum enum_value(int value) {
  static_assert(sizeof(Enum) == sizeof(int), "C enums are int-sized here");
  Enum e;
  std::memcpy(&e, &value, sizeof e);
  return e;
}

}  // namespace upsample::test

// Status and the thread-local last-error message, shared by every layer of the host side and by
// the CUDA launchers. A failing function calls fail(status, parts...) and returns what it returns;
// the C entry points clear the message on entry, so a successful call leaves it empty.
#pragma once

#include <cstring>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include "upsample/upsample.h"

namespace upsample::detail {

void set_last_error(upsStatus_t status, std::string message);
void clear_last_error();
const char* last_error_message();

// Builds the message from its parts with operator<< and records it; returns the status so that
// `return fail(UPS_STATUS_BAD_GROUPS, "groups: expected ...");` reads as one statement.
template <typename... Parts>
upsStatus_t fail(upsStatus_t status, Parts&&... parts) {
  std::ostringstream message;
  (message << ... << std::forward<Parts>(parts));
  set_last_error(status, message.str());
  return status;
}

// The integer a caller stored in an enum argument or field. A C caller may store any int there,
// and reading a C enum object that holds a value outside its enumerators' range is undefined in
// C++; validation therefore reads the bits, and only validated values are used as enums.
template <typename Enum>
int raw_enum(const Enum& value) {
  static_assert(std::is_enum_v<Enum> && sizeof(Enum) == sizeof(int), "a C enum of int size");
  int raw;
  std::memcpy(&raw, &value, sizeof raw);
  return raw;
}

// Propagates a non-success status from a call whose message is already recorded.
#define UPS_RETURN_IF_ERROR(expr)                        \
  do {                                                   \
    const upsStatus_t ups_status_ = (expr);              \
    if (ups_status_ != UPS_STATUS_SUCCESS) return ups_status_; \
  } while (0)

}  // namespace upsample::detail

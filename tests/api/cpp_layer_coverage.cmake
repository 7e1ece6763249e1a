# Fails unless every function upsample.h exports (UPS_API) is called somewhere in upsample.hpp,
# so a C function added without its C++ counterpart is caught. An exported ...Sized function is
# covered by its static inline wrapper (upsTensorDescInitSized by upsTensorDescInit): the C++
# layer calls the wrapper, which passes the caller's sizeof.
#   cmake -DHEADER=include/upsample/upsample.h -DCPP_HEADER=include/upsample/upsample.hpp -P cpp_layer_coverage.cmake
cmake_minimum_required(VERSION 3.25)  # script mode: this version's policies (IN_LIST, ...)
file(READ "${HEADER}" c_text)
file(READ "${CPP_HEADER}" cpp_text)
# The declarations: "UPS_API <return type> <name>(" (the name is the last word before the paren).
string(REGEX MATCHALL "UPS_API[^(;]*\\(" declarations "${c_text}")
list(LENGTH declarations count)
if(count EQUAL 0)
  message(FATAL_ERROR "no UPS_API function found in ${HEADER}")
endif()
set(missing "")
foreach(declaration IN LISTS declarations)
  string(REGEX MATCH "([A-Za-z_][A-Za-z0-9_]*)[ \t\r\n]*\\($" _ "${declaration}")
  set(name "${CMAKE_MATCH_1}")
  set(called "${name}")
  if(name MATCHES "^(.+)Sized$")
    set(called "${CMAKE_MATCH_1}")
  endif()
  string(REGEX MATCH "[^A-Za-z0-9_]${called}[ \t\r\n]*\\(" found "${cpp_text}")
  if(NOT found)
    list(APPEND missing "${name}")
  endif()
endforeach()
if(missing)
  list(JOIN missing "\n  " text)
  message(FATAL_ERROR "C functions of upsample.h with no C++ counterpart in upsample.hpp (add a wrapper that "
                      "calls each, and a check in tests/api/abi_test.cpp):\n  ${text}")
endif()
message(STATUS "upsample.hpp calls all ${count} C functions of upsample.h")

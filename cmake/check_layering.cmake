# The layering rule of DESIGN.md, checked: dependencies form one straight stack
#   include/upsample  <-  core/  <-  cuda/  <-  src/
# and no include runs back up. Run as `cmake -DSOURCE_DIR=<repo> -P check_layering.cmake` (the
# `layering` CTest test). Per layer, what a quoted #include may name:
#   include/upsample/  only "upsample/..."
#   core/              "core/..." and "upsample/..."
#   cuda/emu/          only files of cuda/emu/ ("cuda/emu/..." or "emu/..."): the emulation is self-contained
#   cuda/ (the rest)   "core/...", "cuda/...", "upsample/..." — never "src/..."
#   src/               "core/...", "src/...", "upsample/...", and of cuda/ only the plain C++ launcher
#                      headers (cuda/runtime.h, cuda/<family>/....h), never kernels (.cuh) or .cu;
#                      the CPU reference (src/ops/*/reference.cpp, src/reference_element.h) includes
#                      nothing from cuda/ at all: it is what the kernels are checked against.
# A quoted include that names a file beside the including one ("platform.cuh") stays in its layer.
cmake_minimum_required(VERSION 3.25)
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "pass -DSOURCE_DIR=<repository root>")
endif()

set(violations "")
set(checked 0)
file(GLOB_RECURSE files RELATIVE "${SOURCE_DIR}"
  "${SOURCE_DIR}/include/*.h" "${SOURCE_DIR}/include/*.hpp"
  "${SOURCE_DIR}/core/*.h" "${SOURCE_DIR}/core/*.cpp"
  "${SOURCE_DIR}/cuda/*.h" "${SOURCE_DIR}/cuda/*.cuh" "${SOURCE_DIR}/cuda/*.cu" "${SOURCE_DIR}/cuda/*.cpp"
  "${SOURCE_DIR}/src/*.h" "${SOURCE_DIR}/src/*.cpp")
foreach(file IN LISTS files)
  math(EXPR checked "${checked} + 1")
  get_filename_component(dir "${file}" DIRECTORY)
  file(STRINGS "${SOURCE_DIR}/${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]+\"")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([^\"]+)\".*$" "\\1" target "${line}")
    if(EXISTS "${SOURCE_DIR}/${dir}/${target}" AND NOT target MATCHES "^(core|cuda|src|upsample)/")
      continue()  # beside the including file: same layer
    endif()
    set(ok FALSE)
    if(file MATCHES "^include/")
      if(target MATCHES "^upsample/")
        set(ok TRUE)
      endif()
    elseif(file MATCHES "^core/")
      if(target MATCHES "^(core|upsample)/")
        set(ok TRUE)
      endif()
    elseif(file MATCHES "^cuda/emu/")
      if(target MATCHES "^(cuda/)?emu/")  # "emu/..." resolves through the cuda/ include directory
        set(ok TRUE)
      endif()
    elseif(file MATCHES "^cuda/")
      if(target MATCHES "^(core|cuda|upsample)/")
        set(ok TRUE)
      endif()
    elseif(file MATCHES "^src/ops/[^/]+/reference\\.cpp$" OR file STREQUAL "src/reference_element.h")
      if(target MATCHES "^(core|src|upsample)/")
        set(ok TRUE)
      endif()
    elseif(file MATCHES "^src/")
      if(target MATCHES "^(core|src|upsample)/" OR target MATCHES "^cuda/.*\\.h$")
        set(ok TRUE)
      endif()
    endif()
    if(NOT ok)
      list(APPEND violations "${file}: #include \"${target}\"")
    endif()
  endforeach()
endforeach()

if(violations)
  string(REPLACE ";" "\n  " lines "${violations}")
  message(FATAL_ERROR "includes that break the layering (include <- core <- cuda <- src):\n  ${lines}")
endif()
message(STATUS "layering: ${checked} files, every include runs down the stack")

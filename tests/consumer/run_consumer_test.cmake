# Installs the built library to a scratch prefix, then configures, builds and runs the consumer
# project against the installed package only.
cmake_minimum_required(VERSION 3.25)  # script mode: this version's policies (IN_LIST, ...)
file(REMOVE_RECURSE "${WORK_DIR}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix"
                RESULT_VARIABLE result OUTPUT_QUIET)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cmake --install failed")
endif()

# The installed headers are the whole public interface: none may cite the library's private
# sources (src/, core/, cuda/), which a user of the package does not have.
file(GLOB_RECURSE installed_headers "${WORK_DIR}/prefix/include/upsample/*")
foreach(header IN LISTS installed_headers)
  file(READ "${header}" header_text)
  if(header_text MATCHES "(^|[^A-Za-z0-9_/])(src|core|cuda)/[A-Za-z0-9_/]+\\.(h|hpp|cpp|cu|cuh)")
    message(FATAL_ERROR "${header} cites a private source path: ${CMAKE_MATCH_0}")
  endif()
endforeach()

# What the version promises (README "Compatibility"): while the major version is 0 the ABI holds
# within a minor version, so the soname carries the minor and the package accepts a request for
# its own MAJOR.MINOR only; from 1.0, the major version's.
file(GLOB_RECURSE version_files "${WORK_DIR}/prefix/upsampleConfigVersion.cmake")
list(GET version_files 0 version_path)
file(READ "${version_path}" version_file)
if(NOT version_file MATCHES "set\\(PACKAGE_VERSION \"([0-9]+)\\.([0-9]+)\\.([0-9]+)\"\\)")
  message(FATAL_ERROR "no PACKAGE_VERSION in the installed ${version_path}")
endif()
set(major ${CMAKE_MATCH_1})
set(minor ${CMAKE_MATCH_2})
# <prefix>/<libdir>/cmake/upsample/upsampleConfigVersion.cmake
get_filename_component(libdir "${version_path}" DIRECTORY)
get_filename_component(libdir "${libdir}/../.." ABSOLUTE)
if(major EQUAL 0)
  set(soname "libupsample.so.0.${minor}")
else()
  set(soname "libupsample.so.${major}")
endif()
if(NOT EXISTS "${libdir}/${soname}")
  message(FATAL_ERROR "the installed library has no ${soname}: the soname does not say what version ${major}.${minor} promises")
endif()
math(EXPR next_minor "${minor} + 1")
set(accepted "${major}.${minor}")
set(refused "${major}.${next_minor}")
if(major EQUAL 0 AND minor GREATER 0)
  math(EXPR previous_minor "${minor} - 1")
  list(APPEND refused "0.${previous_minor}")  # 0.x: another minor is another ABI
endif()
foreach(request IN LISTS accepted refused)
  execute_process(COMMAND ${CMAKE_COMMAND} -S "${CMAKE_CURRENT_LIST_DIR}/version" -B "${WORK_DIR}/version_${request}"
                          "-DREQUEST=${request}" "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix"
                  RESULT_VARIABLE result OUTPUT_QUIET ERROR_QUIET)
  if(request IN_LIST refused AND result EQUAL 0)
    message(FATAL_ERROR "find_package(upsample ${request}) accepted version ${major}.${minor}")
  elseif(NOT request IN_LIST refused AND NOT result EQUAL 0)
    message(FATAL_ERROR "find_package(upsample ${request}) refused version ${major}.${minor}")
  endif()
endforeach()

execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/build" -G Ninja
                        "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix"
                RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "configuring the consumer against the installed package failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/build" RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "building the consumer failed")
endif()
foreach(program consumer_c consumer_cpp)
  execute_process(COMMAND "${WORK_DIR}/build/${program}" RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${program} failed")
  endif()
endforeach()

# README snippets are complete programs: extracts every ```c and ```cpp block of README.md into a
# file of its own, installs the built library to a scratch prefix, and builds each block against
# the installed package (tests/consumer/readme). A block that is not a whole program (a missing
# include, main or declaration) fails to compile, and so fails this test.
#   cmake -DBUILD_DIR=... -DREADME=README.md -DSOURCE_DIR=tests/consumer/readme -DWORK_DIR=... -P run_readme_snippets.cmake
cmake_minimum_required(VERSION 3.25)  # script mode: this version's policies (IN_LIST, ...)
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/snippets")
file(READ "${README}" text)

# Walks the fences in order: "```c" or "```cpp" alone on its line opens a block, the next "```"
# line closes it. (Read as one string: a list of lines would split at every ';' of the code.)
set(snippets "")
set(index 0)
string(LENGTH "${text}" remaining)
while(remaining GREATER 0)
  string(REGEX MATCH "(^|\n)```(c|cpp)\n" opening "${text}")
  if(NOT opening)
    break()
  endif()
  set(language "${CMAKE_MATCH_2}")
  string(FIND "${text}" "${opening}" start)
  string(LENGTH "${opening}" opening_length)
  math(EXPR start "${start} + ${opening_length}")
  string(SUBSTRING "${text}" ${start} -1 text)
  string(FIND "${text}" "\n```" end)
  if(end EQUAL -1)
    message(FATAL_ERROR "README.md: a ```${language} block is never closed")
  endif()
  math(EXPR end "${end} + 1")
  string(SUBSTRING "${text}" 0 ${end} code)
  string(SUBSTRING "${text}" ${end} -1 text)
  math(EXPR index "${index} + 1")
  set(file "${WORK_DIR}/snippets/readme_snippet_${index}.${language}")
  file(WRITE "${file}" "${code}")
  list(APPEND snippets "${file}")
  string(LENGTH "${text}" remaining)
endwhile()
list(LENGTH snippets count)
if(count EQUAL 0)
  message(FATAL_ERROR "README.md has no ```c or ```cpp block")
endif()
message(STATUS "README.md: ${count} C/C++ blocks")

execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix"
                RESULT_VARIABLE result OUTPUT_QUIET)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cmake --install failed")
endif()
# The list goes in a file: a ';'-separated list would be split on the command line.
file(WRITE "${WORK_DIR}/snippets.cmake" "set(SNIPPETS \"${snippets}\")\n")
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/build" -G Ninja
                        "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix" "-DSNIPPET_LIST=${WORK_DIR}/snippets.cmake"
                RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "configuring the README snippets against the installed package failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/build" RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "a README code block does not compile or link as a program of its own (see above; the "
                      "blocks are in ${WORK_DIR}/snippets, numbered in README order)")
endif()

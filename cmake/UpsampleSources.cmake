# The library's sources, listed once: the shared library and the test-only emulated build
# (tests/CMakeLists.txt) compile the same files.
set(UPS_HOST_SOURCES
  src/api.cpp
  src/api_common.cpp
  src/dispatch.cpp
  src/handle.cpp
  src/status.cpp
  src/validate.cpp
  src/reference/conv_transpose.cpp
  src/reference/max_pool.cpp
  src/reference/unpool.cpp)

set(UPS_CUDA_SOURCES
  cuda/conv_transpose.cu
  cuda/max_pool.cu
  cuda/runtime.cu
  cuda/unpool.cu)

# Gradients (backward passes).
list(APPEND UPS_HOST_SOURCES
  src/api_backward.cpp
  src/validate_backward.cpp
  src/reference/conv_transpose_backward.cpp
  src/reference/max_pool_backward.cpp
  src/reference/unpool_backward.cpp)

list(APPEND UPS_CUDA_SOURCES
  cuda/conv_transpose_backward.cu
  cuda/max_pool_backward.cu
  cuda/unpool_backward.cu)

# The library's sources, listed once: the shared library and the test-only emulated build
# (tests/CMakeLists.txt) compile the same files. One block per layer, one line per op family.

# core/: what host and device code share (problems, statuses, dtype facts, index-width rules).
set(UPS_CORE_SOURCES
  core/index_width.cpp
  core/status.cpp)

# src/: the host side — the one entry path, dispatch, the handle, and per family its validation,
# entry points and CPU reference.
set(UPS_HOST_SOURCES
  ${UPS_CORE_SOURCES}
  src/dispatch.cpp
  src/entry.cpp
  src/handle.cpp
  src/tensor_desc.cpp
  src/validate_common.cpp
  src/ops/unpool/api.cpp src/ops/unpool/validate.cpp src/ops/unpool/reference.cpp
  src/ops/max_pool/api.cpp src/ops/max_pool/validate.cpp src/ops/max_pool/reference.cpp
  src/ops/max_unpool/api.cpp src/ops/max_unpool/validate.cpp src/ops/max_unpool/reference.cpp
  src/ops/conv_transpose/api.cpp src/ops/conv_transpose/validate.cpp src/ops/conv_transpose/reference.cpp
  src/ops/interpolate/api.cpp src/ops/interpolate/validate.cpp src/ops/interpolate/reference.cpp
  src/ops/pixel_shuffle/api.cpp src/ops/pixel_shuffle/validate.cpp src/ops/pixel_shuffle/reference.cpp)

# cuda/: the device side — runtime services and per family its launchers (kernels in .cuh files).
# Both builds compile these; see UPS_GPU_ONLY_SOURCES for kernels the emulation cannot run.
set(UPS_CUDA_SOURCES
  cuda/runtime.cu
  cuda/unpool/unpool_forward.cu cuda/unpool/unpool_backward.cu
  cuda/max_pool/max_pool_forward.cu cuda/max_pool/max_pool_backward.cu
  cuda/max_unpool/max_unpool.cu
  cuda/conv_transpose/conv_transpose_forward.cu cuda/conv_transpose/conv_transpose_backward.cu
  cuda/interpolate/interpolate.cu cuda/pixel_shuffle/pixel_shuffle.cu
  cuda/conv_transpose/implicit_gemm/implicit_gemm.cu     # the implicit GEMM engine: forward, data gradient
  cuda/conv_transpose/implicit_gemm/weight_gradient.cu   # the engine's weight gradient (split K, combine)
  )

# Kernels only a GPU can run (inline PTX or features with no emulation): compiled into the shared
# library, skipped by the emulated build. Keep it empty or tiny, and list it in the README.
# Today: none.
set(UPS_GPU_ONLY_SOURCES)

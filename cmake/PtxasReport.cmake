# `cmake --build build --target ptxas_report` compiles every CUDA source for each architecture in
# UPS_PTXAS_ARCHS with `-Xptxas -v` and prints each kernel's registers, shared memory, stack
# frame and spills; it fails if any kernel spills. The CTest test `ptxas_no_spills` runs it.
# sm_75: the oldest target (tensor-core paths compile to their guarded stubs there); sm_80: the
# oldest with the mma.sync/cp.async paths; sm_90: Hopper.
set(UPS_PTXAS_ARCHS "75;80;90" CACHE STRING "Architectures (sm_XX numbers) the ptxas report compiles for")

set(_ups_ptxas_sources "")
foreach(source IN LISTS UPS_CUDA_SOURCES UPS_GPU_ONLY_SOURCES)
  list(APPEND _ups_ptxas_sources ${PROJECT_SOURCE_DIR}/${source})
endforeach()
string(REPLACE ";" "," _ups_ptxas_sources_csv "${_ups_ptxas_sources}")
string(REPLACE ";" "," _ups_ptxas_archs_csv "${UPS_PTXAS_ARCHS}")

set(UPS_PTXAS_COMMAND ${CMAKE_COMMAND}
  -DNVCC=${CMAKE_CUDA_COMPILER}
  -DSOURCES=${_ups_ptxas_sources_csv}
  -DARCHS=${_ups_ptxas_archs_csv}
  -DINCLUDES=${PROJECT_SOURCE_DIR}/include,${PROJECT_SOURCE_DIR}
  -DREPORT=${PROJECT_BINARY_DIR}/ptxas_report.txt
  -P ${PROJECT_SOURCE_DIR}/cmake/ptxas_check.cmake)
add_custom_target(ptxas_report COMMAND ${UPS_PTXAS_COMMAND} VERBATIM USES_TERMINAL)

# `cmake --build <dir> --target sass_report` prints the SASS instruction mix of the implicit-GEMM
# engine's main loops (forward and data gradient; weight gradient) for sm_80 and sm_90 (HMMA/LDSM/LDGSTS against integer and address work) and
# fails if a main loop calls a subroutine (an integer division) or touches local memory. It needs
# cuobjdump: the toolkit's, or PyPI's nvidia-cuda-cuobjdump (set CUOBJDUMP to its path).
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_custom_target(sass_report
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/cmake/sass_report.py
            ${PROJECT_SOURCE_DIR}/cuda/conv_transpose/implicit_gemm/implicit_gemm.cu
            --arch 80 90 --kernel conv_transpose_implicit_gemm_kernel
            -I ${PROJECT_SOURCE_DIR} -I ${PROJECT_SOURCE_DIR}/include
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/cmake/sass_report.py
            ${PROJECT_SOURCE_DIR}/cuda/conv_transpose/implicit_gemm/weight_gradient.cu
            --arch 80 90 --kernel conv_transpose_weight_gradient_kernel
            -I ${PROJECT_SOURCE_DIR} -I ${PROJECT_SOURCE_DIR}/include
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} VERBATIM USES_TERMINAL)
endif()

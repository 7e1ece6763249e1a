# `cmake --build build --target ptxas_report` compiles every CUDA source for each architecture in
# UPS_PTXAS_ARCHS with `-Xptxas -v` and prints each kernel's registers, shared memory, stack
# frame and spills; it fails if any kernel spills. The CTest test `ptxas_no_spills` runs it.
set(UPS_PTXAS_ARCHS "75;90" CACHE STRING "Architectures (sm_XX numbers) the ptxas report compiles for")

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

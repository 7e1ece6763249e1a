// Failures in the benchmark harness are exceptions carrying the failing call's text: a row whose
// setup or run throws is reported as an error row, and the suite goes on with the next one.
// (Library calls use upsample::check from upsample.hpp, which throws upsample::Error the same way.)
#pragma once

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace upsample::bench {

[[noreturn]] inline void throw_cuda_error(cudaError_t error, const char* what, const char* file, int line) {
  cudaGetLastError();  // clear a non-sticky error so the next row starts clean
  throw std::runtime_error(std::string(what) + " failed: " + cudaGetErrorName(error) + " (" +
                           cudaGetErrorString(error) + ") at " + file + ":" + std::to_string(line));
}

}  // namespace upsample::bench

#define BENCH_CUDA_CHECK(expr)                                                           \
  do {                                                                                   \
    const cudaError_t bench_cuda_error_ = (expr);                                        \
    if (bench_cuda_error_ != cudaSuccess)                                                \
      ::upsample::bench::throw_cuda_error(bench_cuda_error_, #expr, __FILE__, __LINE__); \
  } while (0)

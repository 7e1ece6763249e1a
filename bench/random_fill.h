// Benchmark inputs: uniform values in [-1, 1) from a counter-based hash of (seed, element index),
// so host and device produce the same bits for the same seed. That is what lets validation run the
// REFERENCE backend on host tensors and a GPU implementation on device tensors without copying
// inputs between them, and fill gigabyte tensors on the device in microseconds.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "upsample/upsample.h"

namespace upsample::bench {

// dtype: f32, f16 or bf16 (rounded to nearest even from the float value).
void fill_uniform_host(upsDataType_t dtype, void* data, int64_t count, uint64_t seed);
void fill_uniform_device(upsDataType_t dtype, void* data, int64_t count, uint64_t seed, cudaStream_t stream);

// The value of one element, as a double (to decode host tensors of any of those dtypes).
double element_value(upsDataType_t dtype, const void* data, int64_t index);

}  // namespace upsample::bench

// What every C API entry point shares after descriptor validation: the data-pointer checks and
// the execution context of a CUDA call. See api.cpp for the order of checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "../cuda/backend.h"
#include "handle.h"
#include "problem.h"

namespace upsample::detail {

// One data argument of an op: its name for messages, its pointer, and the geometry that says how
// many bytes of what element type it spans.
struct DataArg {
  const char* name;
  const void* pointer;
  const TensorGeometry* geometry;
  bool is_output;
};

int64_t byte_size(const TensorGeometry& g);

// Every pointer check — null for a non-empty tensor, alignment to the element size, which memory
// (host memory to the CUDA backend or device memory to the reference backend is refused) — then:
// no output may overlap any other argument.
upsStatus_t check_data(const upsContext& handle, std::initializer_list<DataArg> args);

// The handle's stream and a workspace of at least `workspace_bytes` for a CUDA call.
upsStatus_t make_exec(upsHandle_t handle, size_t workspace_bytes, cuda::ExecContext* exec);

// A vector of C values of `like`'s dtype (a bias or its gradient), for the pointer checks.
TensorGeometry channel_vector(const TensorGeometry& like);

}  // namespace upsample::detail

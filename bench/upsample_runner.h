// upsample's own implementations through the public C API: GATHER or SCATTER_ATOMIC transposed
// convolution and its gradients, the unpooling kernels both ways, or any of them on the REFERENCE
// backend.
#pragma once

#include "runner.h"
#include "upsample/upsample.hpp"

namespace upsample::bench {

class UpsampleRunner : public Runner {
 public:
  // `descriptors` already carry the algorithm to force (build_descriptors). The runner owns its
  // handle (on `stream` for the CUDA backend): the workspace the op needs is allocated here and
  // given to that handle with upsSetWorkspace, so no call allocates, and no other runner can
  // change it.
  UpsampleRunner(upsBackend_t backend, cudaStream_t stream, const Problem& problem, const OpDescriptors& descriptors);

  void enqueue(const TensorSet& set) override;
  // Every op, max-unpooling too: its handle checks indices asynchronously (UPS_INDEX_CHECK_ASYNC,
  // set in the constructor), so no call synchronizes and each is timed inside a graph like the rest.
  bool capturable() const override { return true; }

 private:
  Handle handle_;
  Op op_;
  OpDescriptors descriptors_;
  Buffer workspace_;  // declared after handle_: freed before the handle that points to it
};

}  // namespace upsample::bench

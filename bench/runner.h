// The one operation a benchmark row times: an implementation bound to a problem, enqueuing one
// forward pass on a tensor set. Implementations: upsample_runner.h (the library, either backend)
// and cudnn_runner.h (cuDNN's backward-data convolution).
#pragma once

#include "tensors.h"

namespace upsample::bench {

class Runner {
 public:
  virtual ~Runner() = default;
  // One forward pass reading set.x (set.w, set.indices) and writing set.y. On the GPU it is
  // enqueued on the runner's stream and returns at once; it allocates nothing and copies nothing
  // (workspaces are sized and allocated when the runner is made). Throws on failure.
  virtual void enqueue(const TensorSet& set) = 0;
  // False when the op waits for the device inside the call (so it cannot be captured in a graph).
  virtual bool capturable() const { return true; }
};

}  // namespace upsample::bench

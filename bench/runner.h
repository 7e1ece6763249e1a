// The one operation a benchmark row times: an implementation bound to a problem, enqueuing one
// call of its op (forward or gradient) on a tensor set. Implementations: upsample_runner.h (the
// library, either backend) and cudnn_runner.h (cuDNN's corresponding calls).
#pragma once

#include "tensors.h"

namespace upsample::bench {

class Runner {
 public:
  virtual ~Runner() = default;
  // One call reading the op's inputs in `set` and writing its output there (operands_of,
  // NOTE [ Gradient tensors ] in problems.h). On the GPU it is enqueued on the runner's stream
  // and returns at once; it allocates nothing and copies nothing (workspaces are sized and
  // allocated when the runner is made). Throws on failure.
  virtual void enqueue(const TensorSet& set) = 0;
  // False when the op waits for the device inside the call (so it cannot be captured in a graph).
  virtual bool capturable() const { return true; }
};

}  // namespace upsample::bench

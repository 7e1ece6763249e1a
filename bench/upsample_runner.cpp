#include "upsample_runner.h"

namespace upsample::bench {

UpsampleRunner::UpsampleRunner(upsBackend_t backend, cudaStream_t stream, const Problem& problem,
                               const OpDescriptors& descriptors)
    : handle_(backend), op_(problem.shape.op), descriptors_(descriptors) {
  handle_.set_stream(reinterpret_cast<upsStream_t>(stream));
  const OpDescriptors& d = descriptors_;
  size_t bytes = 0;
  if (op_ == Op::kConvTranspose)
    check(upsConvTransposeWorkspaceSize(handle_.get(), &d.conv, &d.x, &d.w, &d.y, &bytes));
  else if (op_ == Op::kMaxUnpool)
    check(upsMaxUnpoolWorkspaceSize(handle_.get(), &d.pool, &d.x, &d.y, &bytes));
  if (bytes == 0) return;  // the REFERENCE backend never needs one
  workspace_ = Buffer(Memory::kDevice, bytes);
  handle_.set_workspace(workspace_.get(), workspace_.bytes());
}

void UpsampleRunner::enqueue(const TensorSet& set) {
  const OpDescriptors& d = descriptors_;
  const upsHandle_t h = handle_.get();
  switch (op_) {
    case Op::kConvTranspose:
      check(upsConvTransposeForward(h, &d.conv, &d.x, set.x, &d.w, set.w, nullptr, &d.y, set.y));
      return;
    case Op::kNearest:
    case Op::kBedOfNails:
      check(upsUnpoolForward(h, &d.unpool, &d.x, set.x, &d.y, set.y));
      return;
    case Op::kMaxUnpool:
      check(upsMaxUnpoolForward(h, &d.pool, &d.x, set.x, &d.indices, set.indices, &d.y, set.y));
      return;
  }
}

}  // namespace upsample::bench

#include "upsample_runner.h"

namespace upsample::bench {
namespace {

// What the op needs on this handle (0 on the REFERENCE backend, and for the ops that never need one).
size_t workspace_bytes(upsHandle_t h, Op op, const OpDescriptors& d) {
  size_t bytes = 0;
  switch (op) {
    case Op::kConvTranspose:
      check(upsConvTransposeWorkspaceSize(h, &d.conv, &d.x, &d.w, &d.y, &bytes));
      break;
    case Op::kConvTransposeBackwardData:
      check(upsConvTransposeBackwardDataWorkspaceSize(h, &d.conv, &d.y, &d.w, &d.x, &bytes));
      break;
    case Op::kConvTransposeBackwardWeight:
      check(upsConvTransposeBackwardWeightWorkspaceSize(h, &d.conv, &d.x, &d.y, &d.w, &bytes));
      break;
    case Op::kConvTransposeBackwardBias:
      check(upsConvTransposeBackwardBiasWorkspaceSize(h, &d.conv, &d.y, &bytes));
      break;
    case Op::kMaxUnpool:
      check(upsMaxUnpoolWorkspaceSize(h, &d.pool, &d.x, &d.y, &bytes));
      break;
    case Op::kMaxUnpoolBackward:
      check(upsMaxUnpoolBackwardWorkspaceSize(h, &d.pool, &d.y, &d.x, &bytes));
      break;
    default:
      break;
  }
  return bytes;
}

}  // namespace

UpsampleRunner::UpsampleRunner(upsBackend_t backend, cudaStream_t stream, const Problem& problem,
                               const OpDescriptors& descriptors)
    : handle_(backend), op_(problem.op), descriptors_(descriptors) {
  handle_.set_stream(reinterpret_cast<upsStream_t>(stream));
  // Max-unpooling's index check on the device, no read-back: timed as PyTorch-style callers run it
  // (eager and in graphs alike); the benchmark's indices come from a real max-pool, never bad.
  handle_.set_index_check_mode(UPS_INDEX_CHECK_ASYNC);
  const size_t bytes = workspace_bytes(handle_.get(), op_, descriptors_);
  if (bytes == 0) return;  // the REFERENCE backend never needs one
  workspace_ = Buffer(Memory::kDevice, bytes);
  handle_.set_workspace(workspace_.get(), workspace_.bytes());
}

// Gradients find their tensors in the slots of the forward tensors of the same shape
// (NOTE [ Gradient tensors ]): dy in y, dx in x, dw in w, db in bias.
void UpsampleRunner::enqueue(const TensorSet& set) {
  const OpDescriptors& d = descriptors_;
  const upsHandle_t h = handle_.get();
  switch (op_) {
    case Op::kConvTranspose:
      check(upsConvTransposeForward(h, &d.conv, &d.x, set.x, &d.w, set.w, nullptr, &d.y, set.y));
      return;
    case Op::kConvTransposeBackwardData:
      check(upsConvTransposeBackwardData(h, &d.conv, &d.y, set.y, &d.w, set.w, &d.x, set.x));
      return;
    case Op::kConvTransposeBackwardWeight:
      check(upsConvTransposeBackwardWeight(h, &d.conv, &d.x, set.x, &d.y, set.y, &d.w, set.w));
      return;
    case Op::kConvTransposeBackwardBias:
      check(upsConvTransposeBackwardBias(h, &d.conv, &d.y, set.y, set.bias));
      return;
    case Op::kNearest:
    case Op::kBedOfNails:
      check(upsUnpoolForward(h, &d.unpool, &d.x, set.x, &d.y, set.y));
      return;
    case Op::kNearestBackward:
    case Op::kBedOfNailsBackward:
      check(upsUnpoolBackward(h, &d.unpool, &d.y, set.y, &d.x, set.x));
      return;
    case Op::kMaxUnpool:
      check(upsMaxUnpoolForward(h, &d.pool, &d.x, set.x, &d.indices, set.indices, &d.y, set.y));
      return;
    case Op::kMaxUnpoolBackward:
      check(upsMaxUnpoolBackward(h, &d.pool, &d.y, set.y, &d.indices, set.indices, &d.x, set.x));
      return;
    case Op::kInterpolateLinear:
      check(upsInterpolateForward(h, &d.interpolate, &d.x, set.x, &d.y, set.y));
      return;
    case Op::kInterpolateLinearBackward:
      check(upsInterpolateBackward(h, &d.interpolate, &d.y, set.y, &d.x, set.x));
      return;
    case Op::kPixelShuffle:
      check(upsPixelShuffleForward(h, &d.shuffle, &d.x, set.x, &d.y, set.y));
      return;
    case Op::kPixelShuffleBackward:
      check(upsPixelShuffleBackward(h, &d.shuffle, &d.y, set.y, &d.x, set.x));
      return;
    case Op::kMaxPoolBackward:  // the pool maps y-shaped tensors to x-shaped ones: dy is x-shaped
      check(upsMaxPoolBackward(h, &d.pool, &d.x, set.x, &d.indices, set.indices, &d.y, set.y));
      return;
  }
}

}  // namespace upsample::bench

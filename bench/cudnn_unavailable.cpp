// Built instead of cudnn_runner.cpp when cuDNN is not found (or UPS_WITH_CUDNN is OFF): the suite
// then reports its cuDNN rows as unavailable and leaves the speed-up column empty.
#include "cudnn_runner.h"

namespace upsample::bench {

std::unique_ptr<CudnnSession> CudnnSession::open(cudaStream_t, std::string* why) {
  *why = "upsample_bench was built without cuDNN (UPS_WITH_CUDNN=OFF, or cudnn.h / libcudnn not found)";
  return nullptr;
}

}  // namespace upsample::bench

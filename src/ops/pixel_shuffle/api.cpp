// The pixel-shuffle family's C entry points: one Op row per entry point, run by the one entry path
// (NOTE [ Entry path ] in src/entry.h).
#include "cuda/pixel_shuffle/pixel_shuffle.h"
#include "src/entry.h"
#include "src/ops/pixel_shuffle/pixel_shuffle.h"

namespace upsample::detail {
namespace {

// Forward and backward differ only in validation and in which tensor is which.
struct PixelShuffleArgs {
  const upsPixelShuffleDesc_t* desc;
  const upsTensorDesc_t* in_desc;  // x (forward) or dy (backward)
  const void* in;
  const upsTensorDesc_t* out_desc;  // y (forward) or dx (backward)
  void* out;
};

template <bool kBackward>
struct PixelShuffleOp : OpDefaults {
  using Problem = PixelShuffleProblem;
  using Args = PixelShuffleArgs;
  static upsStatus_t validate(const Args& a, Problem* p) {
    return kBackward ? validate_pixel_shuffle_backward(a.desc, a.in_desc, a.out_desc, p)
                     : validate_pixel_shuffle(a.desc, a.in_desc, a.out_desc, p);
  }
  static DataArgs data(const Args& a, const Problem& p) {
    const TensorGeometry* source = p.to_spatial ? &p.packed : &p.spatial;
    const TensorGeometry* destination = p.to_spatial ? &p.spatial : &p.packed;
    return {{kBackward ? "dy" : "x", a.in, source, false}, {kBackward ? "dx" : "y", a.out, destination, true}};
  }
  static upsStatus_t reference(const Args& a, const Problem& p) { return reference::pixel_shuffle(p, a.in, a.out); }
  static upsStatus_t cuda(const Args& a, const Problem& p, const cuda::ExecContext& exec) {
    return cuda::pixel_shuffle(p, a.in, a.out, exec);
  }
};

}  // namespace
}  // namespace upsample::detail

using namespace upsample::detail;  // NOLINT: this file is the C API's implementation

extern "C" {

upsStatus_t upsPixelShuffleDescInitSized(upsPixelShuffleDesc_t* desc, size_t struct_size,
                                         upsPixelShuffleDirection_t direction, int spatial_dims, int64_t factor) {
  clear_last_error();
  return pixel_shuffle_desc_init(desc, struct_size, direction, spatial_dims, factor);
}

upsStatus_t upsPixelShuffleOutputDesc(const upsPixelShuffleDesc_t* desc, const upsTensorDesc_t* x,
                                      upsTensorDesc_t* y) {
  clear_last_error();
  return pixel_shuffle_output_desc(desc, x, y);
}

upsStatus_t upsPixelShuffleForward(upsHandle_t handle, const upsPixelShuffleDesc_t* desc,
                                   const upsTensorDesc_t* x_desc, const void* x, const upsTensorDesc_t* y_desc,
                                   void* y) {
  return run_op<PixelShuffleOp<false>>(handle, {desc, x_desc, x, y_desc, y});
}

upsStatus_t upsPixelShuffleBackward(upsHandle_t handle, const upsPixelShuffleDesc_t* desc,
                                    const upsTensorDesc_t* dy_desc, const void* dy, const upsTensorDesc_t* dx_desc,
                                    void* dx) {
  return run_op<PixelShuffleOp<true>>(handle, {desc, dy_desc, dy, dx_desc, dx});
}

}  // extern "C"

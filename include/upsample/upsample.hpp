// upsample: the C++17 convenience layer over the C API (header-only).
//
// RAII for the handle, exceptions instead of status codes, and builders for descriptors:
//
//   upsample::Handle handle(UPS_BACKEND_CUDA);
//   auto conv = upsample::ConvTranspose(2).stride({2, 2}).padding({1, 1});
//   auto x = upsample::tensor_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 8, 64, {32, 32});
//   auto w = upsample::tensor_desc(UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 64, 32, {4, 4});
//   auto y = conv.output_desc(x, w);
//   handle.conv_transpose(conv, x, d_x, w, d_w, d_bias, y, d_y);
//
// Every call that fails throws upsample::Error carrying the status and the library's message.
// Every C function of upsample.h has a counterpart here (the `cpp_layer_covers_c_api` test checks
// it): free functions for the library-wide queries, builders for descriptors (each filled by its
// ...Init function, so its struct_size is this header's), the shape queries on the descriptor
// objects, and the ops, workspace-size queries and algorithm choices on Handle.
#ifndef UPSAMPLE_UPSAMPLE_HPP
#define UPSAMPLE_UPSAMPLE_HPP

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "upsample/upsample.h"

namespace upsample {

class Error : public std::runtime_error {
 public:
  Error(upsStatus_t status, const std::string& message) : std::runtime_error(message), status_(status) {}
  upsStatus_t status() const noexcept { return status_; }

 private:
  upsStatus_t status_;
};

inline void check(upsStatus_t status) {
  if (status != UPS_STATUS_SUCCESS) throw Error(status, upsGetLastErrorString());
}

// The enumerator's name, e.g. "UPS_STATUS_BAD_GROUPS".
inline std::string status_name(upsStatus_t status) { return upsGetStatusName(status); }
// The message of the last failed call on this thread ("" after a success).
inline std::string last_error() { return upsGetLastErrorString(); }
// The library's version as MAJOR*10000 + MINOR*100 + PATCH (the loaded library's, which may be
// newer than this header's UPS_VERSION_*).
inline int version() { return upsGetVersion(); }
// Whether a CUDA device is usable from this process, without creating a handle.
inline bool cuda_device_available() { return upsCudaDeviceAvailable() != 0; }

namespace detail {
inline void copy_extents(std::initializer_list<int64_t> values, int64_t* out, int* count) {
  if (values.size() < 1 || values.size() > UPS_MAX_SPATIAL_DIMS)
    throw Error(UPS_STATUS_BAD_EXTENT, "expected 1, 2 or 3 spatial extents, got " + std::to_string(values.size()));
  int i = 0;
  for (int64_t v : values) out[i++] = v;
  *count = i;
}
}  // namespace detail

// A tensor descriptor; spatial extents outermost first: {W}, {H, W} or {D, H, W}.
inline upsTensorDesc_t tensor_desc(upsDataType_t dtype, upsLayout_t layout, int64_t n, int64_t c,
                                   std::initializer_list<int64_t> spatial) {
  int64_t extents[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  int dims = 0;
  detail::copy_extents(spatial, extents, &dims);
  upsTensorDesc_t desc;
  check(upsTensorDescInit(&desc, dtype, layout, dims, n, c, extents));
  return desc;
}

inline int64_t element_count(const upsTensorDesc_t& desc) {
  int64_t count = 0;
  check(upsTensorDescElementCount(&desc, &count));
  return count;
}

inline int64_t byte_size(const upsTensorDesc_t& desc) {
  int64_t bytes = 0;
  check(upsTensorDescByteSize(&desc, &bytes));
  return bytes;
}

// An unpooling descriptor; one scale factor per spatial axis, outermost first.
inline upsUnpoolDesc_t unpool_desc(upsUnpoolMode_t mode, std::initializer_list<int64_t> scale) {
  int64_t factors[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  int dims = 0;
  detail::copy_extents(scale, factors, &dims);
  upsUnpoolDesc_t desc;
  check(upsUnpoolDescInit(&desc, mode, dims, factors));
  return desc;
}

inline upsTensorDesc_t unpool_output_desc(const upsUnpoolDesc_t& desc, const upsTensorDesc_t& x) {
  upsTensorDesc_t y;
  check(upsUnpoolOutputDesc(&desc, &x, &y));
  return y;
}
// dx (x's shape) from the gradient dy of the unpooled output.
inline upsTensorDesc_t unpool_backward_output_desc(const upsUnpoolDesc_t& desc, const upsTensorDesc_t& dy) {
  upsTensorDesc_t dx;
  check(upsUnpoolBackwardOutputDesc(&desc, &dy, &dx));
  return dx;
}

// Pooling geometry; stride defaults to the kernel (as PyTorch's), padding to 0, dilation to 1.
class Pool {
 public:
  explicit Pool(std::initializer_list<int64_t> kernel) {
    int64_t extents[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
    const int64_t zeros[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
    int dims = 0;
    detail::copy_extents(kernel, extents, &dims);
    check(upsPoolDescInit(&desc_, dims, extents, extents, zeros));
  }
  Pool& stride(std::initializer_list<int64_t> v) { return set(v, desc_.stride); }
  Pool& padding(std::initializer_list<int64_t> v) { return set(v, desc_.padding); }
  Pool& dilation(std::initializer_list<int64_t> v) { return set(v, desc_.dilation); }
  Pool& ceil_mode(bool on) {
    desc_.ceil_mode = on ? 1 : 0;
    return *this;
  }
  const upsPoolDesc_t& desc() const { return desc_; }

  // Pooled output and its indices.
  void max_pool_output_desc(const upsTensorDesc_t& x, upsTensorDesc_t* y, upsTensorDesc_t* indices) const {
    check(upsMaxPoolOutputDesc(&desc_, &x, y, indices));
  }
  upsTensorDesc_t max_unpool_output_desc(const upsTensorDesc_t& x, const int64_t* output_size = nullptr) const {
    upsTensorDesc_t y;
    check(upsMaxUnpoolOutputDesc(&desc_, &x, output_size, &y));
    return y;
  }
  // Max-unpooling's gradient: dx (the indices' shape, dy's dtype and layout) from dy.
  upsTensorDesc_t max_unpool_backward_output_desc(const upsTensorDesc_t& dy, const upsTensorDesc_t& indices) const {
    upsTensorDesc_t dx;
    check(upsMaxUnpoolBackwardOutputDesc(&desc_, &dy, &indices, &dx));
    return dx;
  }

 private:
  Pool& set(std::initializer_list<int64_t> values, int64_t* out) {
    int count = 0;
    detail::copy_extents(values, out, &count);
    if (count != desc_.spatial_dims) throw Error(UPS_STATUS_BAD_PARAMETER, "pool: extents count differs from kernel's");
    return *this;
  }
  upsPoolDesc_t desc_;
};

// Transposed-convolution geometry with PyTorch's defaults.
class ConvTranspose {
 public:
  explicit ConvTranspose(int spatial_dims) { check(upsConvTransposeDescInit(&desc_, spatial_dims)); }
  ConvTranspose& stride(std::initializer_list<int64_t> v) { return set(v, desc_.stride); }
  // Symmetric padding (PyTorch's `padding`): pad_begin = pad_end = v.
  ConvTranspose& padding(std::initializer_list<int64_t> v) {
    int64_t values[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
    set(v, values);
    check(upsConvTransposeDescSetPadding(&desc_, values));
    return *this;
  }
  ConvTranspose& padding(std::initializer_list<int64_t> begin, std::initializer_list<int64_t> end) {
    set(begin, desc_.pad_begin);
    return set(end, desc_.pad_end);
  }
  ConvTranspose& output_padding(std::initializer_list<int64_t> v) { return set(v, desc_.output_padding); }
  ConvTranspose& dilation(std::initializer_list<int64_t> v) { return set(v, desc_.dilation); }
  ConvTranspose& groups(int64_t g) {
    desc_.groups = g;
    return *this;
  }
  ConvTranspose& algorithm(upsAlgorithm_t a) {
    desc_.algorithm = a;
    return *this;
  }
  ConvTranspose& deterministic(bool on) {
    desc_.deterministic = on ? 1 : 0;
    return *this;
  }
  ConvTranspose& math_mode(upsMathMode_t mode) {
    desc_.math_mode = mode;
    return *this;
  }
  const upsConvTransposeDesc_t& desc() const { return desc_; }

  upsTensorDesc_t output_desc(const upsTensorDesc_t& x, const upsTensorDesc_t& w) const {
    upsTensorDesc_t y;
    check(upsConvTransposeOutputDesc(&desc_, &x, &w, &y));
    return y;
  }
  // Gradient shapes: dx from dy and w, dw from x and dy.
  upsTensorDesc_t backward_data_output_desc(const upsTensorDesc_t& dy, const upsTensorDesc_t& w) const {
    upsTensorDesc_t dx;
    check(upsConvTransposeBackwardDataOutputDesc(&desc_, &dy, &w, &dx));
    return dx;
  }
  upsTensorDesc_t backward_weight_output_desc(const upsTensorDesc_t& x, const upsTensorDesc_t& dy) const {
    upsTensorDesc_t dw;
    check(upsConvTransposeBackwardWeightOutputDesc(&desc_, &x, &dy, &dw));
    return dw;
  }

 private:
  ConvTranspose& set(std::initializer_list<int64_t> values, int64_t* out) {
    int count = 0;
    detail::copy_extents(values, out, &count);
    if (count != desc_.spatial_dims)
      throw Error(UPS_STATUS_BAD_PARAMETER, "conv-transpose: extents count differs from spatial_dims");
    return *this;
  }
  upsConvTransposeDesc_t desc_;
};

// upsConvTransposePlanAlgorithm: the algorithm the CUDA backend would run for this transposed
// convolution on a GPU of compute capability `compute_capability` (major * 10 + minor, e.g. 90),
// and why. Needs no handle and no device.
struct AlgorithmPlan {
  upsAlgorithm_t algorithm;
  std::string reason;
};
inline AlgorithmPlan plan_conv_transpose_algorithm(const ConvTranspose& conv, const upsTensorDesc_t& x_desc,
                                                   const upsTensorDesc_t& w_desc, const upsTensorDesc_t& y_desc,
                                                   int compute_capability) {
  AlgorithmPlan plan{UPS_ALGO_AUTO, ""};
  const char* reason = nullptr;
  check(upsConvTransposePlanAlgorithm(&conv.desc(), &x_desc, &w_desc, &y_desc, compute_capability, &plan.algorithm,
                                      &reason));
  plan.reason = reason;
  return plan;
}

// --- issue 13: interpolation and pixel shuffle ----------------------------------------------------
// An interpolation descriptor with explicit output extents ({W}, {H, W} or {D, H, W}).
inline upsInterpolateDesc_t interpolate_desc(upsInterpolateMode_t mode, std::initializer_list<int64_t> output_size,
                                             bool align_corners = false, bool antialias = false) {
  int64_t extents[UPS_MAX_SPATIAL_DIMS] = {0, 0, 0};
  int dims = 0;
  detail::copy_extents(output_size, extents, &dims);
  upsInterpolateDesc_t desc;
  check(upsInterpolateDescInit(&desc, mode, dims));
  for (int i = 0; i < dims; ++i) desc.output_size[i] = extents[i];
  desc.align_corners = align_corners ? 1 : 0;
  desc.antialias = antialias ? 1 : 0;
  return desc;
}

// An interpolation descriptor with per-axis scale factors (PyTorch's scale_factor).
inline upsInterpolateDesc_t interpolate_desc_scaled(upsInterpolateMode_t mode, std::initializer_list<double> scale,
                                                    bool align_corners = false, bool antialias = false,
                                                    bool recompute_scale_factor = false) {
  if (scale.size() < 1 || scale.size() > UPS_MAX_SPATIAL_DIMS)
    throw Error(UPS_STATUS_BAD_EXTENT, "expected 1, 2 or 3 scale factors, got " + std::to_string(scale.size()));
  upsInterpolateDesc_t desc;
  check(upsInterpolateDescInit(&desc, mode, static_cast<int>(scale.size())));
  int i = 0;
  for (double v : scale) desc.scale_factor[i++] = v;
  desc.align_corners = align_corners ? 1 : 0;
  desc.antialias = antialias ? 1 : 0;
  desc.recompute_scale_factor = recompute_scale_factor ? 1 : 0;
  return desc;
}

inline upsTensorDesc_t interpolate_output_desc(const upsInterpolateDesc_t& desc, const upsTensorDesc_t& x) {
  upsTensorDesc_t y;
  check(upsInterpolateOutputDesc(&desc, &x, &y));
  return y;
}

inline upsPixelShuffleDesc_t pixel_shuffle_desc(upsPixelShuffleDirection_t direction, int spatial_dims,
                                                int64_t factor) {
  upsPixelShuffleDesc_t desc;
  check(upsPixelShuffleDescInit(&desc, direction, spatial_dims, factor));
  return desc;
}

inline upsTensorDesc_t pixel_shuffle_output_desc(const upsPixelShuffleDesc_t& desc, const upsTensorDesc_t& x) {
  upsTensorDesc_t y;
  check(upsPixelShuffleOutputDesc(&desc, &x, &y));
  return y;
}
// --- end issue 13 ---------------------------------------------------------------------------------

// Owns an upsHandle_t. Movable, not copyable.
class Handle {
 public:
  explicit Handle(upsBackend_t backend) { check(upsCreate(&handle_, backend)); }
  ~Handle() {
    if (handle_ != nullptr) upsDestroy(handle_);
  }
  Handle(Handle&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      if (handle_ != nullptr) upsDestroy(handle_);
      handle_ = other.handle_;
      other.handle_ = nullptr;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  upsHandle_t get() const noexcept { return handle_; }
  upsBackend_t backend() const {
    upsBackend_t b;
    check(upsGetBackend(handle_, &b));
    return b;
  }
  void set_stream(upsStream_t stream) { check(upsSetStream(handle_, stream)); }
  upsStream_t stream() const {
    upsStream_t s;
    check(upsGetStream(handle_, &s));
    return s;
  }
  // A caller-owned workspace (device memory on the CUDA backend), sized with the *_workspace_size
  // queries below; set_workspace(nullptr, 0) returns to handle-owned workspace.
  void set_workspace(void* workspace, size_t bytes) { check(upsSetWorkspace(handle_, workspace, bytes)); }

  // Device-side errors and CUDA graphs (upsample.h, "Errors found on the device").
  void set_index_check_mode(upsIndexCheckMode_t mode) { check(upsSetIndexCheckMode(handle_, mode)); }
  upsIndexCheckMode_t index_check_mode() const {
    upsIndexCheckMode_t m;
    check(upsGetIndexCheckMode(handle_, &m));
    return m;
  }
  // The recorded runtime error, if any: throws upsample::Error carrying its status and message;
  // returns false when a non-blocking query finds the stream still busy (nothing known yet).
  bool check_runtime_error(upsErrQueryMode_t mode = UPS_ERRQUERY_BLOCKING) {
    upsStatus_t status = UPS_STATUS_SUCCESS;
    check(upsQueryRuntimeError(handle_, &status, mode));
    if (status == UPS_STATUS_NOT_READY) return false;
    check(status);
    return true;
  }

  // Workspace-size queries: the bytes the matching op needs on this handle (0 on the reference).
  size_t max_unpool_workspace_size(const Pool& pool, const upsTensorDesc_t& x_desc, const upsTensorDesc_t& y_desc) {
    size_t bytes = 0;
    check(upsMaxUnpoolWorkspaceSize(handle_, &pool.desc(), &x_desc, &y_desc, &bytes));
    return bytes;
  }
  size_t max_unpool_backward_workspace_size(const Pool& pool, const upsTensorDesc_t& dy_desc,
                                            const upsTensorDesc_t& dx_desc) {
    size_t bytes = 0;
    check(upsMaxUnpoolBackwardWorkspaceSize(handle_, &pool.desc(), &dy_desc, &dx_desc, &bytes));
    return bytes;
  }
  size_t conv_transpose_workspace_size(const ConvTranspose& conv, const upsTensorDesc_t& x_desc,
                                       const upsTensorDesc_t& w_desc, const upsTensorDesc_t& y_desc) {
    size_t bytes = 0;
    check(upsConvTransposeWorkspaceSize(handle_, &conv.desc(), &x_desc, &w_desc, &y_desc, &bytes));
    return bytes;
  }
  size_t conv_transpose_backward_data_workspace_size(const ConvTranspose& conv, const upsTensorDesc_t& dy_desc,
                                                     const upsTensorDesc_t& w_desc, const upsTensorDesc_t& dx_desc) {
    size_t bytes = 0;
    check(upsConvTransposeBackwardDataWorkspaceSize(handle_, &conv.desc(), &dy_desc, &w_desc, &dx_desc, &bytes));
    return bytes;
  }
  size_t conv_transpose_backward_weight_workspace_size(const ConvTranspose& conv, const upsTensorDesc_t& x_desc,
                                                       const upsTensorDesc_t& dy_desc, const upsTensorDesc_t& dw_desc) {
    size_t bytes = 0;
    check(upsConvTransposeBackwardWeightWorkspaceSize(handle_, &conv.desc(), &x_desc, &dy_desc, &dw_desc, &bytes));
    return bytes;
  }
  size_t conv_transpose_backward_bias_workspace_size(const ConvTranspose& conv, const upsTensorDesc_t& dy_desc) {
    size_t bytes = 0;
    check(upsConvTransposeBackwardBiasWorkspaceSize(handle_, &conv.desc(), &dy_desc, &bytes));
    return bytes;
  }

  void unpool(const upsUnpoolDesc_t& desc, const upsTensorDesc_t& x_desc, const void* x, const upsTensorDesc_t& y_desc,
              void* y) {
    check(upsUnpoolForward(handle_, &desc, &x_desc, x, &y_desc, y));
  }
  void max_pool(const Pool& pool, const upsTensorDesc_t& x_desc, const void* x, const upsTensorDesc_t& y_desc, void* y,
                const upsTensorDesc_t& indices_desc, void* indices) {
    check(upsMaxPoolForward(handle_, &pool.desc(), &x_desc, x, &y_desc, y, &indices_desc, indices));
  }
  void max_unpool(const Pool& pool, const upsTensorDesc_t& x_desc, const void* x, const upsTensorDesc_t& indices_desc,
                  const void* indices, const upsTensorDesc_t& y_desc, void* y) {
    check(upsMaxUnpoolForward(handle_, &pool.desc(), &x_desc, x, &indices_desc, indices, &y_desc, y));
  }
  void conv_transpose(const ConvTranspose& conv, const upsTensorDesc_t& x_desc, const void* x,
                      const upsTensorDesc_t& w_desc, const void* w, const void* bias, const upsTensorDesc_t& y_desc,
                      void* y) {
    check(upsConvTransposeForward(handle_, &conv.desc(), &x_desc, x, &w_desc, w, bias, &y_desc, y));
  }
  // The algorithm AUTO would run for this transposed convolution on this handle.
  upsAlgorithm_t choose_algorithm(const ConvTranspose& conv, const upsTensorDesc_t& x_desc,
                                  const upsTensorDesc_t& w_desc, const upsTensorDesc_t& y_desc) {
    upsAlgorithm_t algorithm;
    check(upsConvTransposeChooseAlgorithm(handle_, &conv.desc(), &x_desc, &w_desc, &y_desc, &algorithm));
    return algorithm;
  }
  // The algorithm AUTO would run for its data gradient.
  upsAlgorithm_t choose_backward_data_algorithm(const ConvTranspose& conv, const upsTensorDesc_t& dy_desc,
                                                const upsTensorDesc_t& w_desc, const upsTensorDesc_t& dx_desc) {
    upsAlgorithm_t algorithm;
    check(upsConvTransposeBackwardDataChooseAlgorithm(handle_, &conv.desc(), &dy_desc, &w_desc, &dx_desc, &algorithm));
    return algorithm;
  }
  // The algorithm AUTO would run for its weight (and bias) gradient.
  upsAlgorithm_t choose_backward_weight_algorithm(const ConvTranspose& conv, const upsTensorDesc_t& x_desc,
                                                  const upsTensorDesc_t& dy_desc, const upsTensorDesc_t& dw_desc) {
    upsAlgorithm_t algorithm;
    check(
        upsConvTransposeBackwardWeightChooseAlgorithm(handle_, &conv.desc(), &x_desc, &dy_desc, &dw_desc, &algorithm));
    return algorithm;
  }

  // Gradients (see "Gradients" in upsample.h): dy is the loss gradient w.r.t. the forward output;
  // dx, dw, db the gradients written.
  void unpool_backward(const upsUnpoolDesc_t& desc, const upsTensorDesc_t& dy_desc, const void* dy,
                       const upsTensorDesc_t& dx_desc, void* dx) {
    check(upsUnpoolBackward(handle_, &desc, &dy_desc, dy, &dx_desc, dx));
  }
  void max_pool_backward(const Pool& pool, const upsTensorDesc_t& dy_desc, const void* dy,
                         const upsTensorDesc_t& indices_desc, const void* indices, const upsTensorDesc_t& dx_desc,
                         void* dx) {
    check(upsMaxPoolBackward(handle_, &pool.desc(), &dy_desc, dy, &indices_desc, indices, &dx_desc, dx));
  }
  void max_unpool_backward(const Pool& pool, const upsTensorDesc_t& dy_desc, const void* dy,
                           const upsTensorDesc_t& indices_desc, const void* indices, const upsTensorDesc_t& dx_desc,
                           void* dx) {
    check(upsMaxUnpoolBackward(handle_, &pool.desc(), &dy_desc, dy, &indices_desc, indices, &dx_desc, dx));
  }
  void conv_transpose_backward_data(const ConvTranspose& conv, const upsTensorDesc_t& dy_desc, const void* dy,
                                    const upsTensorDesc_t& w_desc, const void* w, const upsTensorDesc_t& dx_desc,
                                    void* dx) {
    check(upsConvTransposeBackwardData(handle_, &conv.desc(), &dy_desc, dy, &w_desc, w, &dx_desc, dx));
  }
  void conv_transpose_backward_weight(const ConvTranspose& conv, const upsTensorDesc_t& x_desc, const void* x,
                                      const upsTensorDesc_t& dy_desc, const void* dy, const upsTensorDesc_t& dw_desc,
                                      void* dw) {
    check(upsConvTransposeBackwardWeight(handle_, &conv.desc(), &x_desc, x, &dy_desc, dy, &dw_desc, dw));
  }
  // db: C_out = dy_desc.c values of dy's dtype.
  void conv_transpose_backward_bias(const ConvTranspose& conv, const upsTensorDesc_t& dy_desc, const void* dy,
                                    void* db) {
    check(upsConvTransposeBackwardBias(handle_, &conv.desc(), &dy_desc, dy, db));
  }

  // --- issue 13: interpolation and pixel shuffle, forward and backward ---------------------------
  void interpolate(const upsInterpolateDesc_t& desc, const upsTensorDesc_t& x_desc, const void* x,
                   const upsTensorDesc_t& y_desc, void* y) {
    check(upsInterpolateForward(handle_, &desc, &x_desc, x, &y_desc, y));
  }
  // dx_desc: the forward's x descriptor.
  void interpolate_backward(const upsInterpolateDesc_t& desc, const upsTensorDesc_t& dy_desc, const void* dy,
                            const upsTensorDesc_t& dx_desc, void* dx) {
    check(upsInterpolateBackward(handle_, &desc, &dy_desc, dy, &dx_desc, dx));
  }
  void pixel_shuffle(const upsPixelShuffleDesc_t& desc, const upsTensorDesc_t& x_desc, const void* x,
                     const upsTensorDesc_t& y_desc, void* y) {
    check(upsPixelShuffleForward(handle_, &desc, &x_desc, x, &y_desc, y));
  }
  void pixel_shuffle_backward(const upsPixelShuffleDesc_t& desc, const upsTensorDesc_t& dy_desc, const void* dy,
                              const upsTensorDesc_t& dx_desc, void* dx) {
    check(upsPixelShuffleBackward(handle_, &desc, &dy_desc, dy, &dx_desc, dx));
  }

 private:
  upsHandle_t handle_ = nullptr;
};

}  // namespace upsample

#endif  // UPSAMPLE_UPSAMPLE_HPP

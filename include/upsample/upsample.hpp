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

inline upsUnpoolDesc_t unpool_desc(upsUnpoolMode_t mode, std::initializer_list<int64_t> scale) {
  upsUnpoolDesc_t desc{};
  desc.mode = mode;
  detail::copy_extents(scale, desc.scale, &desc.spatial_dims);
  return desc;
}

inline upsTensorDesc_t unpool_output_desc(const upsUnpoolDesc_t& desc, const upsTensorDesc_t& x) {
  upsTensorDesc_t y;
  check(upsUnpoolOutputDesc(&desc, &x, &y));
  return y;
}

// Pooling geometry; stride defaults to the kernel (as PyTorch's), padding to 0, dilation to 1.
class Pool {
 public:
  explicit Pool(std::initializer_list<int64_t> kernel) : desc_{} {
    detail::copy_extents(kernel, desc_.kernel, &desc_.spatial_dims);
    for (int i = 0; i < desc_.spatial_dims; ++i) {
      desc_.stride[i] = desc_.kernel[i];
      desc_.dilation[i] = 1;
    }
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
  ConvTranspose& padding(std::initializer_list<int64_t> v) {
    set(v, desc_.pad_begin);
    return set(v, desc_.pad_end);
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
  void set_workspace(void* workspace, size_t bytes) { check(upsSetWorkspace(handle_, workspace, bytes)); }

  void unpool(const upsUnpoolDesc_t& desc, const upsTensorDesc_t& x_desc, const void* x, const upsTensorDesc_t& y_desc,
              void* y) {
    check(upsUnpoolForward(handle_, &desc, &x_desc, x, &y_desc, y));
  }
  void max_pool(const Pool& pool, const upsTensorDesc_t& x_desc, const void* x, const upsTensorDesc_t& y_desc, void* y,
                const upsTensorDesc_t& indices_desc, int64_t* indices) {
    check(upsMaxPoolForward(handle_, &pool.desc(), &x_desc, x, &y_desc, y, &indices_desc, indices));
  }
  void max_unpool(const Pool& pool, const upsTensorDesc_t& x_desc, const void* x, const upsTensorDesc_t& indices_desc,
                  const int64_t* indices, const upsTensorDesc_t& y_desc, void* y) {
    check(upsMaxUnpoolForward(handle_, &pool.desc(), &x_desc, x, &indices_desc, indices, &y_desc, y));
  }
  void conv_transpose(const ConvTranspose& conv, const upsTensorDesc_t& x_desc, const void* x,
                      const upsTensorDesc_t& w_desc, const void* w, const void* bias, const upsTensorDesc_t& y_desc,
                      void* y) {
    check(upsConvTransposeForward(handle_, &conv.desc(), &x_desc, x, &w_desc, w, bias, &y_desc, y));
  }
  upsAlgorithm_t choose_algorithm(const ConvTranspose& conv, const upsTensorDesc_t& x_desc,
                                  const upsTensorDesc_t& w_desc, const upsTensorDesc_t& y_desc) {
    upsAlgorithm_t algorithm;
    check(upsConvTransposeChooseAlgorithm(handle_, &conv.desc(), &x_desc, &w_desc, &y_desc, &algorithm));
    return algorithm;
  }

  // Gradients (see "Gradients" in upsample.h): dy is the loss gradient w.r.t. the forward output;
  // dx, dw, db the gradients written.
  void unpool_backward(const upsUnpoolDesc_t& desc, const upsTensorDesc_t& dy_desc, const void* dy,
                       const upsTensorDesc_t& dx_desc, void* dx) {
    check(upsUnpoolBackward(handle_, &desc, &dy_desc, dy, &dx_desc, dx));
  }
  void max_pool_backward(const Pool& pool, const upsTensorDesc_t& dy_desc, const void* dy,
                         const upsTensorDesc_t& indices_desc, const int64_t* indices, const upsTensorDesc_t& dx_desc,
                         void* dx) {
    check(upsMaxPoolBackward(handle_, &pool.desc(), &dy_desc, dy, &indices_desc, indices, &dx_desc, dx));
  }
  void max_unpool_backward(const Pool& pool, const upsTensorDesc_t& dy_desc, const void* dy,
                           const upsTensorDesc_t& indices_desc, const int64_t* indices, const upsTensorDesc_t& dx_desc,
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

 private:
  upsHandle_t handle_ = nullptr;
};

}  // namespace upsample

#endif  // UPSAMPLE_UPSAMPLE_HPP

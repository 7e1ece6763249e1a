// Runs every op of upsample on built-in inputs — the course notes' worked example among them —
// through the best available backend (CUDA when a device exists, else the CPU reference), and
// prints what it computed.
#include <cuda_runtime.h>

#include <cstdio>
#include <vector>

#include "upsample/upsample.hpp"

namespace {

// Host or device memory holding a copy of `host`, as the backend needs.
class Memory {
 public:
  Memory(upsBackend_t backend, const void* host, size_t bytes) : backend_(backend), bytes_(bytes) {
    if (backend_ == UPS_BACKEND_CUDA) {
      cudaMalloc(&pointer_, bytes);
      if (host != nullptr) cudaMemcpy(pointer_, host, bytes, cudaMemcpyHostToDevice);
    } else {
      storage_.assign(static_cast<const unsigned char*>(host), static_cast<const unsigned char*>(host) + (host ? bytes : 0));
      storage_.resize(bytes);
      pointer_ = storage_.data();
    }
  }
  ~Memory() {
    if (backend_ == UPS_BACKEND_CUDA) cudaFree(pointer_);
  }
  void* get() const { return pointer_; }
  template <typename T>
  std::vector<T> read() const {
    std::vector<T> out(bytes_ / sizeof(T));
    if (backend_ == UPS_BACKEND_CUDA)
      cudaMemcpy(out.data(), pointer_, bytes_, cudaMemcpyDeviceToHost);
    else
      std::copy(storage_.begin(), storage_.end(), reinterpret_cast<unsigned char*>(out.data()));
    return out;
  }

 private:
  upsBackend_t backend_;
  size_t bytes_;
  void* pointer_ = nullptr;
  std::vector<unsigned char> storage_;
};

template <typename T>
void print_matrix(const char* title, const std::vector<T>& values, int64_t rows, int64_t cols) {
  std::printf("%s\n", title);
  for (int64_t r = 0; r < rows; ++r) {
    std::printf("  [");
    for (int64_t c = 0; c < cols; ++c) std::printf(c ? " %6g" : "%6g", static_cast<double>(values[r * cols + c]));
    std::printf(" ]\n");
  }
}

}  // namespace

int main() {
  const bool gpu = upsCudaDeviceAvailable() != 0;
  const upsBackend_t backend = gpu ? UPS_BACKEND_CUDA : UPS_BACKEND_REFERENCE;
  std::printf("upsample %d.%d.%d demo\n", UPS_VERSION_MAJOR, UPS_VERSION_MINOR, UPS_VERSION_PATCH);
  if (gpu)
    std::printf("backend: CUDA (device found)\n\n");
  else
    std::printf("backend: REFERENCE (no CUDA device found on this machine, so the CPU reference runs)\n\n");

  try {
    upsample::Handle handle(backend);
    const auto f32 = UPS_DTYPE_F32;
    const auto nchw = UPS_LAYOUT_CHANNELS_FIRST;

    // 1. Transposed convolution: the worked example, stride 1, no padding.
    {
      const std::vector<float> x = {2, 0, 4, 1};
      const std::vector<float> w = {4, 2, 1, 1, 0, 3, 0, 5, 2};
      const auto x_desc = upsample::tensor_desc(f32, nchw, 1, 1, {2, 2});
      const auto w_desc = upsample::tensor_desc(f32, nchw, 1, 1, {3, 3});
      upsample::ConvTranspose conv(2);
      const auto y_desc = conv.output_desc(x_desc, w_desc);
      Memory dx(backend, x.data(), 16), dw(backend, w.data(), 36), dy(backend, nullptr, 64);
      handle.conv_transpose(conv, x_desc, dx.get(), w_desc, dw.get(), nullptr, y_desc, dy.get());
      print_matrix("transposed convolution of [[2,0],[4,1]] with [[4,2,1],[1,0,3],[0,5,2]], stride 1:",
                   dy.read<float>(), 4, 4);
    }
    // 2. Transposed convolution, stride 2, padding 1, output_padding 1 (a 2x2 input to 4x4).
    {
      const std::vector<float> x = {1, 2, 3, 4};
      const std::vector<float> w = {1, 1, 1, 1, 1, 1, 1, 1, 1};
      const auto x_desc = upsample::tensor_desc(f32, nchw, 1, 1, {2, 2});
      const auto w_desc = upsample::tensor_desc(f32, nchw, 1, 1, {3, 3});
      auto conv = upsample::ConvTranspose(2).stride({2, 2}).padding({1, 1}).output_padding({1, 1});
      const auto y_desc = conv.output_desc(x_desc, w_desc);
      Memory dx(backend, x.data(), 16), dw(backend, w.data(), 36), dy(backend, nullptr, 64);
      handle.conv_transpose(conv, x_desc, dx.get(), w_desc, dw.get(), nullptr, y_desc, dy.get());
      print_matrix("\ntransposed convolution of [[1,2],[3,4]] with a 3x3 ones kernel, stride 2, padding 1, "
                   "output_padding 1:", dy.read<float>(), 4, 4);
    }
    // 3. Nearest-neighbour and bed-of-nails unpooling, scale 2.
    const std::vector<float> small = {1, 2, 3, 4};
    const auto small_desc = upsample::tensor_desc(f32, nchw, 1, 1, {2, 2});
    for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS}) {
      const auto desc = upsample::unpool_desc(mode, {2, 2});
      const auto y_desc = upsample::unpool_output_desc(desc, small_desc);
      Memory dx(backend, small.data(), 16), dy(backend, nullptr, 64);
      handle.unpool(desc, small_desc, dx.get(), y_desc, dy.get());
      print_matrix(mode == UPS_UNPOOL_NEAREST ? "\nnearest-neighbour unpooling of [[1,2],[3,4]], scale 2:"
                                              : "\nbed-of-nails unpooling of [[1,2],[3,4]], scale 2:",
                   dy.read<float>(), 4, 4);
    }
    // 4. Max-pooling with indices, then max-unpooling: every maximum goes back to its place.
    {
      const std::vector<float> x = {1, 5, 2, 0, 3, 4, 8, 1, 0, 2, 7, 9, 6, 1, 3, 2};
      const auto x_desc = upsample::tensor_desc(f32, nchw, 1, 1, {4, 4});
      upsample::Pool pool({2, 2});
      upsTensorDesc_t p_desc, i_desc;
      pool.max_pool_output_desc(x_desc, &p_desc, &i_desc);
      Memory dx(backend, x.data(), 64), dp(backend, nullptr, 16), di(backend, nullptr, 32), dy(backend, nullptr, 64);
      handle.max_pool(pool, x_desc, dx.get(), p_desc, dp.get(), i_desc, static_cast<int64_t*>(di.get()));
      const auto y_desc = pool.max_unpool_output_desc(p_desc);
      handle.max_unpool(pool, p_desc, dp.get(), i_desc, static_cast<const int64_t*>(di.get()), y_desc, dy.get());
      print_matrix("\nmax-pool input:", x, 4, 4);
      print_matrix("max-pool 2x2 values:", dp.read<float>(), 2, 2);
      print_matrix("max-pool 2x2 switches (flat index in the 4x4 plane):", di.read<int64_t>(), 2, 2);
      print_matrix("max-unpool of those values to their switches:", dy.read<float>(), 4, 4);
    }
  } catch (const upsample::Error& e) {
    std::fprintf(stderr, "upsample error: %s\n", e.what());
    return 1;
  }
  return 0;
}

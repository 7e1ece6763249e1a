// The C++ half of the PyTorch cross-check (check.py is the other): for each configuration on stdin
// (one per line: mode dims dtype n c extents... size|scale values... align_corners antialias
// recompute_scale_factor), builds x[i] = 2 sin(0.37 i + 0.1) and dy[i] = cos(0.11 i) (flat
// channels-first index), runs upsInterpolateForward and upsInterpolateBackward on the reference
// backend and on the CUDA backend (the emulated kernels in this build), and prints the output
// extents and the four results (Y, DX: reference; Y2, DX2: CUDA), or ERROR with the message when the
// library rejects the configuration. check.py recomputes the same with PyTorch and compares.
// Lines starting with "ps" run pixel shuffle / unshuffle (2-D) the same way.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>
#include "upsample/upsample.h"
#include "common/platform.cuh"
#include "src/reference_element.h"

static void run(upsBackend_t backend, const upsInterpolateDesc_t& d, const upsTensorDesc_t& xd, const upsTensorDesc_t& yd,
                const std::vector<unsigned char>& x, const std::vector<unsigned char>& dy, std::vector<unsigned char>* y,
                std::vector<unsigned char>* dx) {
  upsHandle_t h;
  upsCreate(&h, backend);
  void *bx, *by, *bdy, *bdx;
  if (backend == UPS_BACKEND_CUDA) {
    cudaMalloc(&bx, x.size()); cudaMalloc(&by, y->size()); cudaMalloc(&bdy, dy.size()); cudaMalloc(&bdx, dx->size());
    cudaMemcpy(bx, x.data(), x.size(), cudaMemcpyHostToDevice);
    cudaMemcpy(bdy, dy.data(), dy.size(), cudaMemcpyHostToDevice);
  } else {
    bx = const_cast<unsigned char*>(x.data()); by = y->data(); bdy = const_cast<unsigned char*>(dy.data()); bdx = dx->data();
  }
  if (upsInterpolateForward(h, &d, &xd, bx, &yd, by) != UPS_STATUS_SUCCESS) std::cerr << "fwd fail " << upsGetLastErrorString() << "\n";
  if (upsInterpolateBackward(h, &d, &yd, bdy, &xd, bdx) != UPS_STATUS_SUCCESS) std::cerr << "bwd fail " << upsGetLastErrorString() << "\n";
  if (backend == UPS_BACKEND_CUDA) {
    cudaDeviceSynchronize();
    cudaMemcpy(y->data(), by, y->size(), cudaMemcpyDeviceToHost);
    cudaMemcpy(dx->data(), bdx, dx->size(), cudaMemcpyDeviceToHost);
  }
  upsDestroy(h);
}

// Pixel shuffle lines: "ps direction n c h w r" (2-D; PyTorch has no 3-D form to compare with).
static void pixel_shuffle_line(std::istringstream& s) {
  int direction;
  int64_t n, c, ext[2], r;
  s >> direction >> n >> c >> ext[0] >> ext[1] >> r;
  upsPixelShuffleDesc_t d;
  upsPixelShuffleDescInit(&d, static_cast<upsPixelShuffleDirection_t>(direction), 2, r);
  upsTensorDesc_t xd, yd;
  upsTensorDescInit(&xd, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, n, c, ext);
  if (upsPixelShuffleOutputDesc(&d, &xd, &yd) != UPS_STATUS_SUCCESS) {
    std::printf("ERROR %s\n", upsGetLastErrorString());
    return;
  }
  const int64_t count = n * c * ext[0] * ext[1];
  std::vector<float> x(static_cast<size_t>(count)), y(x.size()), dx(x.size()), y2(x.size()), dx2(x.size());
  for (int64_t i = 0; i < count; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i);
  for (upsBackend_t backend : {UPS_BACKEND_REFERENCE, UPS_BACKEND_CUDA}) {
    std::vector<float>& out = backend == UPS_BACKEND_CUDA ? y2 : y;
    std::vector<float>& back = backend == UPS_BACKEND_CUDA ? dx2 : dx;
    upsHandle_t h;
    upsCreate(&h, backend);
    const size_t bytes = x.size() * sizeof(float);
    float *bx = x.data(), *by = out.data(), *bdx = back.data();
    if (backend == UPS_BACKEND_CUDA) {
      cudaMalloc(reinterpret_cast<void**>(&bx), bytes);
      cudaMalloc(reinterpret_cast<void**>(&by), bytes);
      cudaMalloc(reinterpret_cast<void**>(&bdx), bytes);
      cudaMemcpy(bx, x.data(), bytes, cudaMemcpyHostToDevice);
    }
    upsPixelShuffleForward(h, &d, &xd, bx, &yd, by);
    upsPixelShuffleBackward(h, &d, &yd, by, &xd, bdx);  // the gradient of y = the inverse applied to y
    if (backend == UPS_BACKEND_CUDA) {
      cudaDeviceSynchronize();
      cudaMemcpy(out.data(), by, bytes, cudaMemcpyDeviceToHost);
      cudaMemcpy(back.data(), bdx, bytes, cudaMemcpyDeviceToHost);
    }
    upsDestroy(h);
  }
  std::printf("OUT %lld %lld %lld\n", static_cast<long long>(yd.c), static_cast<long long>(yd.spatial[0]),
              static_cast<long long>(yd.spatial[1]));
  for (const auto& [tag, v] : {std::pair<const char*, const std::vector<float>*>{"Y", &y}, {"DX", &dx}, {"Y2", &y2},
                               {"DX2", &dx2}}) {
    std::printf("%s", tag);
    for (float e : *v) std::printf(" %.9g", static_cast<double>(e));
    std::printf("\n");
  }
}

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::istringstream s(line);
    if (line.rfind("ps ", 0) == 0) {
      std::string tag;
      s >> tag;
      pixel_shuffle_line(s);
      continue;
    }
    int mode, dims, dtype, align, aa, recompute; std::string how; int64_t n, c, in[3] = {1, 1, 1}; double v[3] = {0, 0, 0};
    s >> mode >> dims >> dtype >> n >> c;
    for (int i = 0; i < dims; ++i) s >> in[i];
    s >> how;
    for (int i = 0; i < dims; ++i) s >> v[i];
    s >> align >> aa >> recompute;
    upsInterpolateDesc_t d;
    upsInterpolateDescInit(&d, static_cast<upsInterpolateMode_t>(mode), dims);
    for (int i = 0; i < dims; ++i) {
      if (how == "size") d.output_size[i] = static_cast<int64_t>(v[i]); else d.scale_factor[i] = v[i];
    }
    d.align_corners = align; d.antialias = aa; d.recompute_scale_factor = recompute;
    upsTensorDesc_t xd, yd;
    upsTensorDescInit(&xd, static_cast<upsDataType_t>(dtype), UPS_LAYOUT_CHANNELS_FIRST, dims, n, c, in);
    if (upsInterpolateOutputDesc(&d, &xd, &yd) != UPS_STATUS_SUCCESS) { std::printf("ERROR %s\n", upsGetLastErrorString()); continue; }
    int64_t xe = n * c, ye = n * c;
    for (int i = 0; i < dims; ++i) xe *= in[i], ye *= yd.spatial[i];
    const int64_t w = dtype == UPS_DTYPE_F64 ? 8 : 4;
    std::vector<unsigned char> x(xe * w), dy(ye * w), y(ye * w), dx(xe * w), y2(ye * w), dx2(xe * w);
    for (int64_t i = 0; i < xe; ++i) upsample::reference::store(xd.dtype, x.data(), i, std::sin(0.37 * static_cast<double>(i) + 0.1) * 2.0);
    for (int64_t i = 0; i < ye; ++i) upsample::reference::store(xd.dtype, dy.data(), i, std::cos(0.11 * static_cast<double>(i)));
    run(UPS_BACKEND_REFERENCE, d, xd, yd, x, dy, &y, &dx);
    run(UPS_BACKEND_CUDA, d, xd, yd, x, dy, &y2, &dx2);
    std::printf("OUT");
    for (int i = 0; i < dims; ++i) std::printf(" %lld", static_cast<long long>(yd.spatial[i]));
    std::printf("\n");
    auto dump = [&](const char* tag, const std::vector<unsigned char>& b, int64_t count) {
      std::printf("%s", tag);
      for (int64_t i = 0; i < count; ++i) std::printf(" %.17g", upsample::reference::load(xd.dtype, b.data(), i));
      std::printf("\n");
    };
    dump("Y", y, ye); dump("DX", dx, xe); dump("Y2", y2, ye); dump("DX2", dx2, xe);
  }
}

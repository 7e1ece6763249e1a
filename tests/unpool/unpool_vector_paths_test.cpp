// Unpooling forward and backward, every kernel path the launchers pick (cuda/unpool/*.cu), for
// every dtype and both modes, bit for bit against the reference, outputs poisoned.
// Channels-first forward: the row-spread kernel (W_in a multiple of the lanes, x and y 16-byte
// aligned, W scale 1, 2 or 4 at compile time: one input vector to its cell's rows), the 16-byte
// output-vector kernel with the W scale fixed at compile time (x2, x4: one narrower vector load
// duplicated in registers; taken when x is aligned only for that narrower load, or W_in is not
// whole vectors), the same kernel with the scale read at run time (W scale 3, or x not aligned for
// the narrower load), and the scalar fallback (W_out not a multiple of the lane count).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace upsample::test {
namespace {

struct PathCase {
  std::vector<int64_t> spatial, scale;
  size_t x_shift_bytes;  // x moved inside its buffer (rounded up to the element size)
  const char* path;
};

TEST(UnpoolVectorPaths, ChannelsFirstEveryScaleAlignmentAndDtype) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  // W_in = 8: whole 16-byte vectors in every dtype (8, 4 or 2 lanes).
  const PathCase cases[] = {
      {{3, 8}, {2, 2}, 0, "row spread, W scale 2"},
      {{3, 8}, {1, 4}, 0, "row spread, W scale 4"},
      {{3, 8}, {3, 1}, 0, "row spread, W scale 1"},
      {{2, 3, 8}, {2, 3, 2}, 0, "row spread, 3-D"},
      {{37, 64}, {2, 2}, 0, "row spread, many blocks and a partial last one"},
      {{3, 4}, {2, 2}, 0, "W_in 4: row spread for f32/f64, output-vector kernel x2 for f16/bf16"},
      {{3, 8}, {2, 2}, 8, "x aligned to 8 bytes: output-vector kernel, W scale 2 at compile time"},
      {{3, 8}, {1, 4}, 4, "x aligned to 4 bytes: output-vector kernel, W scale 4 at compile time (f16/f32)"},
      {{3, 8}, {2, 3}, 0, "output-vector kernel, W scale 3 (run time)"},
      {{2, 8}, {1, 2}, 2, "x shifted by one element: output-vector kernel (run time; f64: x2 at compile time)"},
      {{3, 3}, {2, 2}, 0, "scalar: W_out 6 not a multiple of the lanes"},
      {{3, 5}, {1, 4}, 4, "scalar: W_out 20, x shifted"},
  };
  HandleGuard cuda(UPS_BACKEND_CUDA), reference(UPS_BACKEND_REFERENCE);
  for (const PathCase& k : cases)
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
      for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS}) {
        SCOPED_TRACE(std::string(k.path) + " " + dtype_label(dtype) +
                     (mode == UPS_UNPOOL_NEAREST ? " nearest" : " bed-of-nails"));
        const int dims = static_cast<int>(k.spatial.size());
        upsUnpoolDesc_t desc{};
        UPS_ASSERT_OK(upsUnpoolDescInit(&desc, mode, dims, k.scale.data()));
        const upsTensorDesc_t x_desc = make_desc(dtype, UPS_LAYOUT_CHANNELS_FIRST, 2, 3, k.spatial);
        upsTensorDesc_t y_desc{};
        UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
        HostTensor x(x_desc), expected(y_desc), actual(y_desc);
        x.fill_random(rng, -100.0, 100.0);
        expected.poison();
        UPS_ASSERT_OK(upsUnpoolForward(reference.get(), &desc, &x_desc, x.data(), &y_desc, expected.data()));
        // x at a byte offset (a whole number of elements) inside a larger buffer; y 16-byte
        // aligned (cudaMalloc's base).
        const size_t element = static_cast<size_t>(dtype_bytes(dtype));
        const size_t shift = (k.x_shift_bytes + element - 1) / element * element;
        Buffer bx(UPS_BACKEND_CUDA, x.bytes.size() + 16), by(UPS_BACKEND_CUDA, actual.bytes.size());
        char* x_ptr = static_cast<char*>(bx.get()) + shift;
        ASSERT_EQ(cudaMemcpy(x_ptr, x.data(), x.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
        actual.poison();
        by.upload(actual);
        UPS_ASSERT_OK(upsUnpoolForward(cuda.get(), &desc, &x_desc, x_ptr, &y_desc, by.get()));
        by.download(&actual);
        EXPECT_TRUE(tensors_identical(actual, expected));
      }
}

// Channels-last: the input-stationary spread kernel (C a multiple of the lanes, x and y aligned;
// W scale 1, 2 or 4 at compile time, others at run time; more input vectors than one chunk of
// blocks), and the scalar fallback (C odd, or x shifted), 1-D to 3-D, every dtype and both modes.
TEST(UnpoolVectorPaths, ChannelsLastSpreadAndScalarFallback) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  struct Case {
    std::vector<int64_t> spatial, scale;
    int64_t c;
    size_t x_shift_elements;
    const char* path;
  };
  const Case cases[] = {
      {{5, 3}, {2, 2}, 16, 0, "spread, W scale 2"},
      {{3, 4}, {3, 1}, 8, 0, "spread, W scale 1"},
      {{2, 3, 2}, {1, 4, 2}, 8, 0, "spread, 3-D"},
      {{7}, {4}, 24, 0, "spread, 1-D, W scale 4"},
      {{3, 5}, {2, 4}, 8, 0, "spread, W scale 4"},
      {{4, 3}, {2, 3}, 16, 0, "spread, W scale 3 (run time)"},
      {{2, 2, 3}, {2, 1, 5}, 8, 0, "spread, 3-D, W scale 5 (run time)"},
      {{33, 40}, {2, 2}, 16, 0, "spread, many blocks and a partial last one"},
      {{5, 3}, {2, 2}, 5, 0, "scalar: C odd"},
      {{5, 3}, {2, 2}, 16, 1, "scalar: x shifted"},
  };
  HandleGuard cuda(UPS_BACKEND_CUDA), reference(UPS_BACKEND_REFERENCE);
  for (const Case& k : cases)
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
      for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS}) {
        SCOPED_TRACE(std::string(k.path) + " " + dtype_label(dtype) +
                     (mode == UPS_UNPOOL_NEAREST ? " nearest" : " bed-of-nails"));
        const int dims = static_cast<int>(k.spatial.size());
        upsUnpoolDesc_t desc{};
        UPS_ASSERT_OK(upsUnpoolDescInit(&desc, mode, dims, k.scale.data()));
        const upsTensorDesc_t x_desc = make_desc(dtype, UPS_LAYOUT_CHANNELS_LAST, 2, k.c, k.spatial);
        upsTensorDesc_t y_desc{};
        UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
        HostTensor x(x_desc), expected(y_desc), actual(y_desc);
        x.fill_random(rng, -100.0, 100.0);
        expected.poison();
        UPS_ASSERT_OK(upsUnpoolForward(reference.get(), &desc, &x_desc, x.data(), &y_desc, expected.data()));
        const size_t shift = k.x_shift_elements * static_cast<size_t>(dtype_bytes(dtype));
        Buffer bx(UPS_BACKEND_CUDA, x.bytes.size() + 16), by(UPS_BACKEND_CUDA, actual.bytes.size());
        char* x_ptr = static_cast<char*>(bx.get()) + shift;
        ASSERT_EQ(cudaMemcpy(x_ptr, x.data(), x.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
        actual.poison();
        by.upload(actual);
        UPS_ASSERT_OK(upsUnpoolForward(cuda.get(), &desc, &x_desc, x_ptr, &y_desc, by.get()));
        by.download(&actual);
        EXPECT_TRUE(tensors_identical(actual, expected));
      }
}

// Backward, both layouts: the 16-byte kernels (channels-last: C a multiple of the lanes;
// channels-first: dx's W a multiple of the lanes and the W scale 1, 2 or 4; dy and dx aligned)
// and the scalar one (C odd, W scale 3, or dy shifted), both modes, every dtype, against the
// reference on small integers (every partial sum exact: bit for bit). Then, on real-valued dy,
// each vector path against the scalar kernel (dy shifted by 16 bytes plus one element): they add
// in the same order and accumulation type, so they must agree to the bit.
TEST(UnpoolVectorPaths, BackwardVectorAndScalarBothLayouts) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  struct Case {
    upsLayout_t layout;
    std::vector<int64_t> spatial, scale;
    int64_t c;
    size_t dy_shift_elements;
    const char* path;
  };
  constexpr upsLayout_t kLast = UPS_LAYOUT_CHANNELS_LAST, kFirst = UPS_LAYOUT_CHANNELS_FIRST;
  const Case cases[] = {
      {kLast, {5, 3}, {2, 2}, 16, 0, "channels-last vector, x2"},
      {kLast, {2, 3, 2}, {1, 3, 2}, 8, 0, "channels-last vector, 3-D"},
      {kLast, {7}, {4}, 24, 0, "channels-last vector, 1-D"},
      {kLast, {5, 3}, {2, 2}, 5, 0, "channels-last scalar: C odd"},
      {kLast, {5, 3}, {2, 2}, 16, 1, "channels-last scalar: dy shifted"},
      {kFirst, {3, 8}, {2, 2}, 3, 0, "channels-first vector, W scale 2"},
      {kFirst, {3, 8}, {1, 4}, 3, 0, "channels-first vector, W scale 4"},
      {kFirst, {3, 8}, {3, 1}, 3, 0, "channels-first vector, W scale 1"},
      {kFirst, {2, 3, 16}, {2, 3, 2}, 2, 0, "channels-first vector, 3-D"},
      {kFirst, {24, 40}, {2, 4}, 3, 0, "channels-first vector, many blocks"},
      {kFirst, {3, 8}, {2, 3}, 3, 0, "channels-first scalar: W scale 3"},
      {kFirst, {3, 5}, {2, 2}, 3, 0, "channels-first scalar: W 5 not whole vectors"},
      {kFirst, {3, 8}, {2, 2}, 3, 1, "channels-first scalar: dy shifted"},
  };
  HandleGuard cuda(UPS_BACKEND_CUDA), reference(UPS_BACKEND_REFERENCE);
  for (const Case& k : cases)
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F64, UPS_DTYPE_F16, UPS_DTYPE_BF16})
      for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS}) {
        SCOPED_TRACE(std::string(k.path) + " " + dtype_label(dtype) +
                     (mode == UPS_UNPOOL_NEAREST ? " nearest" : " bed-of-nails"));
        const int dims = static_cast<int>(k.spatial.size());
        upsUnpoolDesc_t desc{};
        UPS_ASSERT_OK(upsUnpoolDescInit(&desc, mode, dims, k.scale.data()));
        const upsTensorDesc_t dx_desc = make_desc(dtype, k.layout, 2, k.c, k.spatial);
        upsTensorDesc_t dy_desc{};
        UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &dx_desc, &dy_desc));
        const size_t element = static_cast<size_t>(dtype_bytes(dtype));
        // Runs the CUDA backward on dy placed `shift` bytes into a device buffer.
        auto run_cuda = [&](const HostTensor& dy, size_t shift) {
          HostTensor dx(dx_desc);
          Buffer bdy(UPS_BACKEND_CUDA, dy.bytes.size() + 32), bdx(UPS_BACKEND_CUDA, dx.bytes.size());
          char* dy_ptr = static_cast<char*>(bdy.get()) + shift;
          EXPECT_EQ(cudaMemcpy(dy_ptr, dy.data(), dy.bytes.size(), cudaMemcpyHostToDevice), cudaSuccess);
          dx.poison();
          bdx.upload(dx);
          EXPECT_EQ(upsUnpoolBackward(cuda.get(), &desc, &dy_desc, dy_ptr, &dx_desc, bdx.get()), UPS_STATUS_SUCCESS);
          bdx.download(&dx);
          return dx;
        };
        HostTensor dy(dy_desc), expected(dx_desc);
        dy.fill_random(rng, -8.0, 8.0, true);  // small integers: every partial sum is exact in f16/bf16
        expected.poison();
        UPS_ASSERT_OK(upsUnpoolBackward(reference.get(), &desc, &dy_desc, dy.data(), &dx_desc, expected.data()));
        EXPECT_TRUE(tensors_identical(run_cuda(dy, k.dy_shift_elements * element), expected)) << "vs reference";
        HostTensor dy_real(dy_desc);
        dy_real.fill_random(rng, -1.0, 1.0);
        EXPECT_TRUE(
            tensors_identical(run_cuda(dy_real, k.dy_shift_elements * element), run_cuda(dy_real, 16 + element)))
            << "vs the scalar kernel on real values";
      }
}

}  // namespace
}  // namespace upsample::test

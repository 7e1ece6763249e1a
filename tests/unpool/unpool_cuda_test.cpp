// Unpooling (nearest, bed-of-nails), forward and backward: the CUDA backend against the
// REFERENCE backend through the public API, every mode x dtype x layout x rank, some cases on the
// 64-bit index path. Built twice: against libupsample.so (label `gpu`: a real GPU, or a skip with
// a message) and against the emulated library (label `emulated`: the kernels run on the CPU).
// Outputs are poisoned first, so an element a kernel forgets to write fails the comparison.
#include <string>
#include <vector>

#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

// =============================================================================================
// Forward
// =============================================================================================
struct UnpoolCase {
  upsUnpoolMode_t mode;
  upsDataType_t dtype;
  upsLayout_t layout;
  int dims;
  bool index64;
};

std::string unpool_name(const ::testing::TestParamInfo<UnpoolCase>& info) {
  const UnpoolCase& c = info.param;
  return std::string(c.mode == UPS_UNPOOL_NEAREST ? "Nearest" : "BedOfNails") + "_" + dtype_label(c.dtype) + "_" +
         layout_label(c.layout) + "_" + std::to_string(c.dims) + "d" + (c.index64 ? "_Index64" : "");
}

class CudaUnpool : public ::testing::TestWithParam<UnpoolCase> {};

TEST_P(CudaUnpool, MatchesReferenceBitForBit) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const UnpoolCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  // Shapes: random small ones, plus channel counts that are and are not multiples of the
  // 16-byte vector (2, 4 or 8 lanes), and widths that are and are not.
  for (int trial = 0; trial < 12; ++trial) {
    std::vector<int64_t> spatial, scale;
    for (int a = 0; a < c.dims; ++a) {
      spatial.push_back(uniform_int(rng, 1, c.dims == 3 ? 4 : 7));
      scale.push_back(uniform_int(rng, 1, 3));
    }
    const int64_t channels = trial % 2 == 0 ? 8 * uniform_int(rng, 1, 2) : uniform_int(rng, 1, 5);
    HostTensor x(make_desc(c.dtype, c.layout, uniform_int(rng, 1, 2), channels, spatial));
    const upsUnpoolDesc_t desc = unpool_desc(c.mode, scale);
    SCOPED_TRACE("x " + shape_text(x.desc));
    x.fill_random(rng, -4, 4);
    const HostTensor expected = unpool_forward(be.reference(), desc, x);
    const HostTensor actual = unpool_forward(be.cuda(), desc, x);
    ASSERT_TRUE(tensors_identical(actual, expected));
  }
}

std::vector<UnpoolCase> all_unpool_cases() {
  std::vector<UnpoolCase> cases;
  for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS})
    for (upsDataType_t dtype : kFloatDtypes)
      for (upsLayout_t layout : kLayouts)
        for (int dims = 1; dims <= 3; ++dims) cases.push_back({mode, dtype, layout, dims, false});
  for (upsLayout_t layout : kLayouts) cases.push_back({UPS_UNPOOL_NEAREST, UPS_DTYPE_F16, layout, 2, true});
  for (upsLayout_t layout : kLayouts) cases.push_back({UPS_UNPOOL_BED_OF_NAILS, UPS_DTYPE_F32, layout, 3, true});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(All, CudaUnpool, ::testing::ValuesIn(all_unpool_cases()), unpool_name);

// The 16-byte path requires alignment: an offset (but element-aligned) pointer takes the scalar
// path and must give the same answer.
TEST(CudaUnpoolEdge, UnalignedVectorPointersUseScalarPath) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
  for (upsLayout_t layout : kLayouts) {
    const upsTensorDesc_t x_desc = make_desc(UPS_DTYPE_F32, layout, 1, 8, {3, 4});
    const upsUnpoolDesc_t desc = unpool_desc(UPS_UNPOOL_NEAREST, {2, 2});
    upsTensorDesc_t y_desc;
    UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
    HostTensor x(x_desc), actual(y_desc);
    x.fill_random(rng);
    const HostTensor expected = unpool_forward(be.reference(), desc, x);
    Buffer dx(UPS_BACKEND_CUDA, x.bytes.size() + 16), dy(UPS_BACKEND_CUDA, actual.bytes.size() + 16);
    char* x_shifted = static_cast<char*>(dx.get()) + 4;
    char* y_shifted = static_cast<char*>(dy.get()) + 4;
    cudaMemcpy(x_shifted, x.data(), x.bytes.size(), cudaMemcpyHostToDevice);
    actual.poison();
    cudaMemcpy(y_shifted, actual.data(), actual.bytes.size(), cudaMemcpyHostToDevice);
    UPS_ASSERT_OK(upsUnpoolForward(be.cuda().handle, &desc, &x_desc, x_shifted, &y_desc, y_shifted));
    cudaMemcpy(actual.data(), y_shifted, actual.bytes.size(), cudaMemcpyDeviceToHost);
    EXPECT_TRUE(tensors_identical(actual, expected)) << layout_label(layout);
  }
}

// =============================================================================================
// Backward
// =============================================================================================
class CudaUnpoolBackward : public ::testing::TestWithParam<KernelCase> {};

TEST_P(CudaUnpoolBackward, BothModesMatchReference) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const KernelCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 12; ++trial) {
    const upsUnpoolMode_t mode = trial % 2 ? UPS_UNPOOL_NEAREST : UPS_UNPOOL_BED_OF_NAILS;
    const upsUnpoolDesc_t desc = random_unpool(rng, mode, c.dims);
    const upsTensorDesc_t x_desc =
        make_desc(c.dtype, c.layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 9), random_extents(rng, c.dims, 1, 6));
    upsTensorDesc_t y_desc;
    UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x_desc, &y_desc));
    const bool integers = trial % 4 < 2;  // integer sums are exact in every dtype here (<= 27 cells of |v| <= 4)
    SCOPED_TRACE(shape_text(y_desc) + (mode == UPS_UNPOOL_NEAREST ? " nearest" : " bed-of-nails") +
                 (integers ? " integers" : ""));
    HostTensor dy(y_desc);
    dy.fill_random(rng, -4, 4, integers);
    const HostTensor expected = unpool_backward(be.reference(), desc, dy, x_desc);
    const HostTensor actual = unpool_backward(be.cuda(), desc, dy, x_desc);
    if (integers || mode == UPS_UNPOOL_BED_OF_NAILS)
      ASSERT_TRUE(tensors_identical(actual, expected));
    else
      ASSERT_TRUE(tensors_close(actual, expected, tolerance(c.dtype)));
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaUnpoolBackward, ::testing::ValuesIn(grad_cases({UPS_ALGO_GATHER})),
                         kernel_case_name_with_algorithm);

// Nearest's gradient sums each cell in a fixed order: repeated runs on real-valued inputs give the
// same bits (the README's determinism guarantee).
TEST(CudaUnpoolBackwardEdge, NearestIsBitIdenticalAcrossRuns) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
  const int repeats = kDeterminismRepeats;
  const upsUnpoolDesc_t nearest = unpool_desc(UPS_UNPOOL_NEAREST, {3, 2});
  HostTensor up(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 2, 5, {9, 8}));
  up.fill_random(rng);
  const upsTensorDesc_t ux = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 2, 5, {3, 4});
  const HostTensor first = unpool_backward(be.cuda(), nearest, up, ux);
  for (int r = 1; r < repeats; ++r) ASSERT_TRUE(tensors_identical(unpool_backward(be.cuda(), nearest, up, ux), first));
  EXPECT_TRUE(tensors_close(first, unpool_backward(be.reference(), nearest, up, ux), tolerance(UPS_DTYPE_F32)));
}

}  // namespace
}  // namespace upsample::test

// Max-pooling with indices, forward and backward: the CUDA backend against the REFERENCE backend
// through the public API, every dtype x layout x rank, some cases on the 64-bit index path, I64 and
// I32 switches in alternate trials; ties,
// NaN and padding in the forward, foreign switches in the backward, bit-identical repeats. Built
// twice: against libupsample.so (label `gpu`: a real GPU, or a skip with a message) and against the
// emulated library (label `emulated`: the kernels run on the CPU). Outputs are poisoned first.
#include <cmath>
#include <string>
#include <vector>

#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

// =============================================================================================
// Forward
// =============================================================================================
class CudaMaxPool : public ::testing::TestWithParam<KernelCase> {};

TEST_P(CudaMaxPool, ValuesAndIndicesMatchReference) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const KernelCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 6; ++trial) {
    const upsPoolDesc_t pool = random_pool(rng, c.dims, false);
    std::vector<int64_t> spatial;
    for (int a = 0; a < c.dims; ++a) spatial.push_back(uniform_int(rng, 3, c.dims == 3 ? 5 : 9));
    HostTensor x(make_desc(c.dtype, c.layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 5), spatial));
    upsTensorDesc_t y_desc, i_desc;
    if (upsMaxPoolOutputDesc(&pool, &x.desc, &y_desc, &i_desc) != UPS_STATUS_SUCCESS) continue;  // window too large
    const upsDataType_t switches = kSwitchDtypes[trial % 2];
    SCOPED_TRACE("x " + shape_text(x.desc) + " -> y " + shape_text(y_desc) + " " + pool_text(pool) + " switches " +
                 dtype_label(switches));
    // Few distinct values (ties), negatives (a zero from padding would be wrong), and one NaN.
    x.fill_random(rng, -3, 3, /*integers=*/true);
    if (trial == 3) x.set(uniform_int(rng, 0, x.size() - 1), std::nan(""));
    const Pooled expected = max_pool_forward(be.reference(), pool, x, switches);
    const Pooled actual = max_pool_forward(be.cuda(), pool, x, switches);
    ASSERT_TRUE(tensors_identical(actual.y, expected.y));
    ASSERT_TRUE(tensors_identical(actual.indices, expected.indices));
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaMaxPool, ::testing::ValuesIn(pool_cases()), kernel_case_name_without_algorithm);

// =============================================================================================
// Backward
// =============================================================================================
class CudaMaxPoolBackward : public ::testing::TestWithParam<KernelCase> {};

TEST_P(CudaMaxPoolBackward, RoutesLikeReferenceIncludingForeignIndices) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const KernelCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 8; ++trial) {
    const upsPoolDesc_t pool = random_pool(rng, c.dims, trial % 4 == 0);
    const upsTensorDesc_t x_desc =
        make_desc(c.dtype, c.layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 5), random_extents(rng, c.dims, 2, 8));
    upsTensorDesc_t y_desc, i_desc;
    if (upsMaxPoolOutputDesc(&pool, &x_desc, &y_desc, &i_desc) != UPS_STATUS_SUCCESS) continue;
    const upsDataType_t switches = kSwitchDtypes[trial % 2];
    SCOPED_TRACE(shape_text(x_desc) + " -> " + shape_text(y_desc) + " switches " + dtype_label(switches));
    HostTensor x(x_desc);
    x.fill_random(rng, -3, 3, /*integers=*/true);  // ties: overlapping windows share switches
    Pooled pooled = max_pool_forward(be.reference(), pool, x, switches);
    if (trial % 3 == 2)  // switches that name no position of their window: ignored on both backends
      for (int64_t e = 0; e < pooled.indices.size(); e += 3) pooled.indices.set_index(e, uniform_int(rng, -2, 40));
    HostTensor dy(y_desc);
    const bool integers = trial % 2 == 0;
    dy.fill_random(rng, -4, 4, integers);
    const HostTensor expected = max_pool_backward(be.reference(), pool, dy, pooled.indices, x_desc);
    const HostTensor actual = max_pool_backward(be.cuda(), pool, dy, pooled.indices, x_desc);
    if (integers)  // small integer sums: exact in every dtype
      ASSERT_TRUE(tensors_identical(actual, expected));
    else
      ASSERT_TRUE(tensors_close(actual, expected, tolerance(c.dtype)));
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaMaxPoolBackward, ::testing::ValuesIn(grad_cases({UPS_ALGO_GATHER})),
                         kernel_case_name_with_algorithm);

// The gradient sums the contributions of overlapping windows in a fixed order: repeated runs on
// real-valued inputs give the same bits (many ties: switches shared by overlapping windows).
TEST(CudaMaxPoolBackwardEdge, OverlappingWindowsAreBitIdenticalAcrossRuns) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  Backends be;
  auto rng = make_rng();
  const int repeats = kDeterminismRepeats;
  const upsPoolDesc_t pool = pool_desc({3, 3}, {1, 1});
  HostTensor px(make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 3, {7, 7}));
  px.fill_random(rng, 0, 2, /*integers=*/true);
  const Pooled pooled = max_pool_forward(be.reference(), pool, px);
  HostTensor g(pooled.y.desc);
  g.fill_random(rng);
  const HostTensor first = max_pool_backward(be.cuda(), pool, g, pooled.indices, px.desc);
  for (int r = 1; r < repeats; ++r)
    ASSERT_TRUE(tensors_identical(max_pool_backward(be.cuda(), pool, g, pooled.indices, px.desc), first));
  EXPECT_TRUE(tensors_close(first, max_pool_backward(be.reference(), pool, g, pooled.indices, px.desc),
                            tolerance(UPS_DTYPE_F32)));
}

}  // namespace
}  // namespace upsample::test

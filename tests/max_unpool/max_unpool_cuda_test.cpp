// Max-unpooling, forward and backward: the CUDA backend against the REFERENCE backend through
// the public API, every dtype x layout x rank, some cases on the 64-bit index path, I64 and I32
// switches in alternate trials; random switches
// (duplicates: the documented rule decides), and out-of-range indices named alike on both backends
// with nothing written. Built twice: against libupsample.so (label `gpu`: a real GPU, or a skip
// with a message) and against the emulated library (label `emulated`: the kernels run on the CPU).
#include <string>
#include <vector>

#include "tests/common/fixtures.h"

namespace upsample::test {
namespace {

// =============================================================================================
// Forward
// =============================================================================================
class CudaMaxUnpool : public ::testing::TestWithParam<KernelCase> {};

TEST_P(CudaMaxUnpool, MatchesReferenceIncludingDuplicates) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const KernelCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 4; ++trial) {
    const upsPoolDesc_t pool = random_pool(rng, c.dims, trial % 2 == 0);
    std::vector<int64_t> spatial;
    for (int a = 0; a < c.dims; ++a) spatial.push_back(uniform_int(rng, 1, c.dims == 3 ? 3 : 6));
    const upsTensorDesc_t x_desc =
        make_desc(c.dtype, c.layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 4), spatial);
    upsTensorDesc_t y_desc;
    if (upsMaxUnpoolOutputDesc(&pool, &x_desc, nullptr, &y_desc) != UPS_STATUS_SUCCESS || element_count(y_desc) == 0)
      continue;  // no shape, or an empty plane (every index out of range, as in PyTorch)
    upsTensorDesc_t i_desc = x_desc;
    i_desc.dtype = kSwitchDtypes[trial % 2];
    SCOPED_TRACE("x " + shape_text(x_desc) + " -> y " + shape_text(y_desc) + " switches " + dtype_label(i_desc.dtype));
    int64_t plane = 1;
    for (int a = 0; a < c.dims; ++a) plane *= y_desc.spatial[a];
    if (plane == 0) continue;  // an empty output plane: no switch of a non-empty x is valid
    HostTensor x(x_desc), indices(i_desc);
    x.fill_random(rng, -2, 2);
    // Random in-range switches: duplicates are likely, and the documented rule decides them.
    for (int64_t e = 0; e < indices.size(); ++e) indices.set_index(e, uniform_int(rng, 0, plane - 1));
    HostTensor expected(y_desc), actual(y_desc);
    expected.poison();
    UPS_ASSERT_OK(upsMaxUnpoolForward(be.reference().handle, &pool, &x_desc, x.data(), &i_desc, indices.data(), &y_desc,
                                      expected.data()));
    actual.poison();
    Buffer dx(UPS_BACKEND_CUDA, x), di(UPS_BACKEND_CUDA, indices), dy(UPS_BACKEND_CUDA, actual);
    UPS_ASSERT_OK(
        upsMaxUnpoolForward(be.cuda().handle, &pool, &x_desc, dx.get(), &i_desc, di.get(), &y_desc, dy.get()));
    dy.download(&actual);
    ASSERT_TRUE(tensors_identical(actual, expected));

    // Two bad indices: both backends name the same first position, and y is untouched.
    if (indices.size() >= 2) {
      const int64_t first = uniform_int(rng, 0, indices.size() - 2);
      indices.set_index(first, plane);
      indices.set_index(indices.size() - 1, -1);
      di.upload(indices);
      upsStatus_t status = upsMaxUnpoolForward(be.reference().handle, &pool, &x_desc, x.data(), &i_desc, indices.data(),
                                               &y_desc, expected.data());
      ASSERT_EQ(status, UPS_STATUS_INDEX_OUT_OF_RANGE);
      const std::string reference_message = upsGetLastErrorString();
      status = upsMaxUnpoolForward(be.cuda().handle, &pool, &x_desc, dx.get(), &i_desc, di.get(), &y_desc, dy.get());
      ASSERT_EQ(status, UPS_STATUS_INDEX_OUT_OF_RANGE);
      EXPECT_EQ(std::string(upsGetLastErrorString()), reference_message);
      HostTensor after(y_desc);
      dy.download(&after);
      EXPECT_TRUE(tensors_identical(after, actual)) << "a rejected max-unpool wrote to y";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaMaxUnpool, ::testing::ValuesIn(pool_cases()), kernel_case_name_without_algorithm);

// =============================================================================================
// Backward
// =============================================================================================
class CudaMaxUnpoolBackward : public ::testing::TestWithParam<KernelCase> {};

TEST_P(CudaMaxUnpoolBackward, GathersLikeReferenceAndChecksIndices) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  const KernelCase c = GetParam();
  Backends be;
  IndexWidth width(c.index64);
  auto rng = make_rng();
  for (int trial = 0; trial < 4; ++trial) {
    const upsPoolDesc_t pool = random_pool(rng, c.dims, trial % 2 == 0);
    const upsTensorDesc_t x_desc =
        make_desc(c.dtype, c.layout, uniform_int(rng, 1, 2), uniform_int(rng, 1, 4), random_extents(rng, c.dims, 1, 6));
    upsTensorDesc_t y_desc;
    if (upsMaxUnpoolOutputDesc(&pool, &x_desc, nullptr, &y_desc) != UPS_STATUS_SUCCESS || element_count(y_desc) == 0)
      continue;  // no shape, or an empty plane (every index out of range, as in PyTorch)
    upsTensorDesc_t i_desc = x_desc;
    i_desc.dtype = kSwitchDtypes[trial % 2];
    SCOPED_TRACE(shape_text(x_desc) + " -> " + shape_text(y_desc) + " switches " + dtype_label(i_desc.dtype));
    int64_t plane = 1;
    for (int a = 0; a < c.dims; ++a) plane *= y_desc.spatial[a];
    if (plane == 0) continue;  // an empty output plane: no switch of a non-empty x is valid
    HostTensor indices(i_desc), dy(y_desc);
    for (int64_t e = 0; e < indices.size(); ++e)
      indices.set_index(e, uniform_int(rng, 0, plane - 1));  // duplicates too
    dy.fill_random(rng);
    const HostTensor expected = max_unpool_backward(be.reference(), pool, dy, indices, x_desc);
    const HostTensor actual = max_unpool_backward(be.cuda(), pool, dy, indices, x_desc);
    ASSERT_TRUE(tensors_identical(actual, expected));

    // Two bad indices: both backends name the same first position, and dx is untouched.
    if (indices.size() >= 2) {
      const int64_t first = uniform_int(rng, 0, indices.size() - 2);
      indices.set_index(first, plane);
      indices.set_index(indices.size() - 1, -1);
      HostTensor ref_dx(x_desc);
      upsStatus_t status = upsMaxUnpoolBackward(be.reference().handle, &pool, &y_desc, dy.data(), &i_desc,
                                                indices.data(), &x_desc, ref_dx.data());
      ASSERT_EQ(status, UPS_STATUS_INDEX_OUT_OF_RANGE);
      const std::string reference_message = upsGetLastErrorString();
      Buffer bdy(UPS_BACKEND_CUDA, dy), bi(UPS_BACKEND_CUDA, indices), bdx(UPS_BACKEND_CUDA, actual);
      status = upsMaxUnpoolBackward(be.cuda().handle, &pool, &y_desc, bdy.get(), &i_desc, bi.get(), &x_desc, bdx.get());
      ASSERT_EQ(status, UPS_STATUS_INDEX_OUT_OF_RANGE);
      EXPECT_EQ(std::string(upsGetLastErrorString()), reference_message);
      HostTensor after(x_desc);
      bdx.download(&after);
      EXPECT_TRUE(tensors_identical(after, actual)) << "a rejected max-unpool backward wrote to dx";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, CudaMaxUnpoolBackward, ::testing::ValuesIn(grad_cases({UPS_ALGO_GATHER})),
                         kernel_case_name_with_algorithm);

}  // namespace
}  // namespace upsample::test

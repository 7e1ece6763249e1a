// The public ABI's versioned descriptors (NOTE [ Descriptor versions ] in src/descriptor.h) and
// the C++ layer's reach over the C API.
//
// - Every C function that reads a descriptor, with each of its descriptor arguments in turn given
//   a struct_size that is too small, too large or garbage: BAD_PARAMETER naming that argument's
//   struct_size, and nothing written. With struct_size 0 (a hand-filled, zero-initialised
//   descriptor) and with the exact size, the same call succeeds with the same result.
// - An "old caller": a descriptor of the first layout's size in a buffer with guard bytes after
//   it is never written past its size by the functions that write descriptors.
// - The rule for sizes between the first layout and this release's, on a made-up descriptor that
//   has grown by one field (this release's descriptors are all still at their first layout).
// - The Init functions set struct_size; the ...InitSized functions check the size they are given.
// - Every C function of upsample.h has a C++ counterpart that gives the C function's result (the
//   `cpp_layer_covers_c_api` test checks by name that none is missing).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "src/descriptor.h"
#include "upsample/upsample.h"
#include "upsample/upsample.hpp"

namespace {

using upsample::detail::DescTraits;

uint64_t test_seed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("UPS_TEST_SEED");
    return env != nullptr ? std::strtoull(env, nullptr, 10) : std::random_device{}() * 0x9E3779B97F4A7C15ull;
  }();
  return seed;
}

#define ABI_SEED_TRACE() SCOPED_TRACE("UPS_TEST_SEED=" + std::to_string(test_seed()))

constexpr unsigned char kPoison = 0xCD;

template <typename T>
void poison(T* value) {
  std::memset(static_cast<void*>(value), kPoison, sizeof(T));
}

template <typename T>
bool is_poisoned(const T& value) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(&value);
  for (size_t i = 0; i < sizeof(T); ++i)
    if (bytes[i] != kPoison) return false;
  return true;
}

// Small valid problems of every op family on the reference backend, with their data.
struct Problem {
  upsUnpoolDesc_t unpool{};
  upsPoolDesc_t pool{};
  upsConvTransposeDesc_t conv{};
  // unpooling: ux -> uy; max-pool: px -> py, pidx; max-unpool: py, pidx -> px; conv: cx, cw -> cy
  upsTensorDesc_t ux{}, uy{}, px{}, py{}, pidx{}, cx{}, cw{}, cy{};
  std::vector<float> ux_data, uy_data, px_data, py_data, cx_data, cw_data, cy_data, bias;
  std::vector<int64_t> pidx_data;
  // Outputs of the calls: poisoned before each, compared after.
  upsTensorDesc_t out{}, out2{};
  size_t workspace = 0;
  upsAlgorithm_t algorithm{};
  std::vector<float> out_data;
  std::vector<int64_t> out_indices;

  void poison_outputs() {
    poison(&out);
    poison(&out2);
    poison(&workspace);
    poison(&algorithm);
    std::memset(out_data.data(), kPoison, out_data.size() * sizeof(float));
    std::memset(out_indices.data(), kPoison, out_indices.size() * sizeof(int64_t));
  }
  bool outputs_poisoned() const {
    bool all = is_poisoned(out) && is_poisoned(out2) && is_poisoned(workspace) && is_poisoned(algorithm);
    for (float v : out_data) all = all && is_poisoned(v);
    for (int64_t v : out_indices) all = all && is_poisoned(v);
    return all;
  }
};

std::vector<float> random_floats(size_t count, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> small(-8, 8);  // small integers: exact in every op here
  std::vector<float> v(count);
  for (float& x : v) x = static_cast<float>(small(rng));
  return v;
}

// Descriptors filled by the Init functions (struct_size = sizeof) and data for each op.
Problem make_problem(std::mt19937_64& rng) {
  Problem p;
  const int64_t scale[2] = {2, 2}, k2[2] = {2, 2}, zero[2] = {0, 0};
  EXPECT_EQ(upsUnpoolDescInit(&p.unpool, UPS_UNPOOL_NEAREST, 2, scale), UPS_STATUS_SUCCESS);
  EXPECT_EQ(upsPoolDescInit(&p.pool, 2, k2, k2, zero), UPS_STATUS_SUCCESS);
  EXPECT_EQ(upsConvTransposeDescInit(&p.conv, 2), UPS_STATUS_SUCCESS);
  p.conv.stride[0] = p.conv.stride[1] = 2;
  const int64_t pad[2] = {1, 1};
  EXPECT_EQ(upsConvTransposeDescSetPadding(&p.conv, pad), UPS_STATUS_SUCCESS);
  const int64_t s34[2] = {3, 4}, s68[2] = {6, 8}, s44[2] = {4, 4}, s22[2] = {2, 2}, s33[2] = {3, 3}, s55[2] = {5, 5};
  const upsLayout_t cf = UPS_LAYOUT_CHANNELS_FIRST;
  EXPECT_EQ(upsTensorDescInit(&p.ux, UPS_DTYPE_F32, cf, 2, 1, 2, s34), UPS_STATUS_SUCCESS);
  EXPECT_EQ(upsTensorDescInit(&p.uy, UPS_DTYPE_F32, cf, 2, 1, 2, s68), UPS_STATUS_SUCCESS);
  EXPECT_EQ(upsTensorDescInit(&p.px, UPS_DTYPE_F32, cf, 2, 1, 2, s44), UPS_STATUS_SUCCESS);
  EXPECT_EQ(upsTensorDescInit(&p.py, UPS_DTYPE_F32, cf, 2, 1, 2, s22), UPS_STATUS_SUCCESS);
  EXPECT_EQ(upsTensorDescInit(&p.pidx, UPS_DTYPE_I64, cf, 2, 1, 2, s22), UPS_STATUS_SUCCESS);
  EXPECT_EQ(upsTensorDescInit(&p.cx, UPS_DTYPE_F32, cf, 2, 1, 4, s33), UPS_STATUS_SUCCESS);
  EXPECT_EQ(upsTensorDescInit(&p.cw, UPS_DTYPE_F32, cf, 2, 4, 2, s33), UPS_STATUS_SUCCESS);
  EXPECT_EQ(upsTensorDescInit(&p.cy, UPS_DTYPE_F32, cf, 2, 1, 2, s55), UPS_STATUS_SUCCESS);
  p.ux_data = random_floats(2 * 12, rng);
  p.uy_data = random_floats(2 * 48, rng);
  p.px_data = random_floats(2 * 16, rng);
  p.py_data = random_floats(2 * 4, rng);
  p.cx_data = random_floats(4 * 9, rng);
  p.cw_data = random_floats(4 * 2 * 9, rng);
  p.cy_data = random_floats(2 * 25, rng);
  p.bias = random_floats(2, rng);
  // Valid switches: each window's first position (h = 2*i, w = 2*j in the 4x4 plane).
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) p.pidx_data.push_back((2 * i) * 4 + 2 * j);
  p.out_data.assign(128, 0.0f);
  p.out_indices.assign(8, 0);
  return p;
}

// One C function that reads descriptors: the names its messages give them, where each one's
// struct_size lives in a Problem, and the call (writing only Problem's outputs).
struct DescArgRef {
  const char* name;
  std::function<size_t*(Problem&)> struct_size;
};
struct Call {
  const char* function;
  std::vector<DescArgRef> args;
  std::function<upsStatus_t(upsHandle_t, Problem&)> call;
};

DescArgRef arg(const char* name, upsTensorDesc_t Problem::*member) {
  return {name, [member](Problem& p) { return &(p.*member).struct_size; }};
}
DescArgRef unpool_arg() {
  return {"unpool desc", [](Problem& p) { return &p.unpool.struct_size; }};
}
DescArgRef pool_arg() {
  return {"pool desc", [](Problem& p) { return &p.pool.struct_size; }};
}
DescArgRef conv_arg(const char* name = "conv desc") {
  return {name, [](Problem& p) { return &p.conv.struct_size; }};
}

std::vector<Call> every_call() {
  using P = Problem;
  std::vector<Call> calls;
  calls.push_back({"upsTensorDescElementCount", {arg("desc", &P::ux)}, [](upsHandle_t, P& p) {
                     return upsTensorDescElementCount(&p.ux, reinterpret_cast<int64_t*>(&p.workspace));
                   }});
  calls.push_back({"upsTensorDescByteSize", {arg("desc", &P::ux)}, [](upsHandle_t, P& p) {
                     return upsTensorDescByteSize(&p.ux, reinterpret_cast<int64_t*>(&p.workspace));
                   }});
  calls.push_back({"upsUnpoolOutputDesc", {unpool_arg(), arg("x", &P::ux)}, [](upsHandle_t, P& p) {
                     return upsUnpoolOutputDesc(&p.unpool, &p.ux, &p.out);
                   }});
  calls.push_back({"upsUnpoolForward", {unpool_arg(), arg("x", &P::ux), arg("y", &P::uy)}, [](upsHandle_t h, P& p) {
                     return upsUnpoolForward(h, &p.unpool, &p.ux, p.ux_data.data(), &p.uy, p.out_data.data());
                   }});
  calls.push_back({"upsUnpoolBackwardOutputDesc", {unpool_arg(), arg("dy", &P::uy)}, [](upsHandle_t, P& p) {
                     return upsUnpoolBackwardOutputDesc(&p.unpool, &p.uy, &p.out);
                   }});
  calls.push_back({"upsUnpoolBackward", {unpool_arg(), arg("dy", &P::uy), arg("dx", &P::ux)}, [](upsHandle_t h, P& p) {
                     return upsUnpoolBackward(h, &p.unpool, &p.uy, p.uy_data.data(), &p.ux, p.out_data.data());
                   }});
  calls.push_back({"upsMaxPoolOutputDesc", {pool_arg(), arg("x", &P::px)}, [](upsHandle_t, P& p) {
                     return upsMaxPoolOutputDesc(&p.pool, &p.px, &p.out, &p.out2);
                   }});
  calls.push_back({"upsMaxPoolForward",
                   {pool_arg(), arg("x", &P::px), arg("y", &P::py), arg("indices", &P::pidx)},
                   [](upsHandle_t h, P& p) {
                     return upsMaxPoolForward(h, &p.pool, &p.px, p.px_data.data(), &p.py, p.out_data.data(), &p.pidx,
                                              p.out_indices.data());
                   }});
  calls.push_back({"upsMaxPoolBackward",
                   {pool_arg(), arg("dy", &P::py), arg("indices", &P::pidx), arg("dx", &P::px)},
                   [](upsHandle_t h, P& p) {
                     return upsMaxPoolBackward(h, &p.pool, &p.py, p.py_data.data(), &p.pidx, p.pidx_data.data(), &p.px,
                                               p.out_data.data());
                   }});
  calls.push_back({"upsMaxUnpoolOutputDesc", {pool_arg(), arg("x", &P::py)}, [](upsHandle_t, P& p) {
                     return upsMaxUnpoolOutputDesc(&p.pool, &p.py, nullptr, &p.out);
                   }});
  calls.push_back(
      {"upsMaxUnpoolWorkspaceSize", {pool_arg(), arg("x", &P::py), arg("y", &P::px)}, [](upsHandle_t h, P& p) {
         return upsMaxUnpoolWorkspaceSize(h, &p.pool, &p.py, &p.px, &p.workspace);
       }});
  calls.push_back({"upsMaxUnpoolForward",
                   {pool_arg(), arg("x", &P::py), arg("indices", &P::pidx), arg("y", &P::px)},
                   [](upsHandle_t h, P& p) {
                     return upsMaxUnpoolForward(h, &p.pool, &p.py, p.py_data.data(), &p.pidx, p.pidx_data.data(), &p.px,
                                                p.out_data.data());
                   }});
  calls.push_back({"upsMaxUnpoolBackwardOutputDesc",
                   {pool_arg(), arg("dy", &P::px), arg("indices", &P::pidx)},
                   [](upsHandle_t, P& p) { return upsMaxUnpoolBackwardOutputDesc(&p.pool, &p.px, &p.pidx, &p.out); }});
  calls.push_back(
      {"upsMaxUnpoolBackwardWorkspaceSize",
       {pool_arg(), arg("dy", &P::px), arg("dx", &P::py)},
       [](upsHandle_t h, P& p) { return upsMaxUnpoolBackwardWorkspaceSize(h, &p.pool, &p.px, &p.py, &p.workspace); }});
  calls.push_back({"upsMaxUnpoolBackward",
                   {pool_arg(), arg("dy", &P::px), arg("indices", &P::pidx), arg("dx", &P::py)},
                   [](upsHandle_t h, P& p) {
                     return upsMaxUnpoolBackward(h, &p.pool, &p.px, p.px_data.data(), &p.pidx, p.pidx_data.data(),
                                                 &p.py, p.out_data.data());
                   }});
  calls.push_back({"upsConvTransposeOutputDesc",
                   {conv_arg(), arg("x", &P::cx), arg("w", &P::cw)},
                   [](upsHandle_t, P& p) { return upsConvTransposeOutputDesc(&p.conv, &p.cx, &p.cw, &p.out); }});
  calls.push_back({"upsConvTransposeWorkspaceSize",
                   {conv_arg(), arg("x", &P::cx), arg("w", &P::cw), arg("y", &P::cy)},
                   [](upsHandle_t h, P& p) {
                     return upsConvTransposeWorkspaceSize(h, &p.conv, &p.cx, &p.cw, &p.cy, &p.workspace);
                   }});
  calls.push_back({"upsConvTransposeChooseAlgorithm",
                   {conv_arg(), arg("x", &P::cx), arg("w", &P::cw), arg("y", &P::cy)},
                   [](upsHandle_t h, P& p) {
                     return upsConvTransposeChooseAlgorithm(h, &p.conv, &p.cx, &p.cw, &p.cy, &p.algorithm);
                   }});
  calls.push_back({"upsConvTransposeForward",
                   {conv_arg(), arg("x", &P::cx), arg("w", &P::cw), arg("y", &P::cy)},
                   [](upsHandle_t h, P& p) {
                     return upsConvTransposeForward(h, &p.conv, &p.cx, p.cx_data.data(), &p.cw, p.cw_data.data(),
                                                    p.bias.data(), &p.cy, p.out_data.data());
                   }});
  calls.push_back(
      {"upsConvTransposeBackwardDataOutputDesc",
       {conv_arg(), arg("dy", &P::cy), arg("w", &P::cw)},
       [](upsHandle_t, P& p) { return upsConvTransposeBackwardDataOutputDesc(&p.conv, &p.cy, &p.cw, &p.out); }});
  calls.push_back({"upsConvTransposeBackwardDataWorkspaceSize",
                   {conv_arg(), arg("dy", &P::cy), arg("w", &P::cw), arg("dx", &P::cx)},
                   [](upsHandle_t h, P& p) {
                     return upsConvTransposeBackwardDataWorkspaceSize(h, &p.conv, &p.cy, &p.cw, &p.cx, &p.workspace);
                   }});
  calls.push_back({"upsConvTransposeBackwardDataChooseAlgorithm",
                   {conv_arg(), arg("dy", &P::cy), arg("w", &P::cw), arg("dx", &P::cx)},
                   [](upsHandle_t h, P& p) {
                     return upsConvTransposeBackwardDataChooseAlgorithm(h, &p.conv, &p.cy, &p.cw, &p.cx, &p.algorithm);
                   }});
  calls.push_back({"upsConvTransposeBackwardData",
                   {conv_arg(), arg("dy", &P::cy), arg("w", &P::cw), arg("dx", &P::cx)},
                   [](upsHandle_t h, P& p) {
                     return upsConvTransposeBackwardData(h, &p.conv, &p.cy, p.cy_data.data(), &p.cw, p.cw_data.data(),
                                                         &p.cx, p.out_data.data());
                   }});
  calls.push_back(
      {"upsConvTransposeBackwardWeightOutputDesc",
       {conv_arg(), arg("x", &P::cx), arg("dy", &P::cy)},
       [](upsHandle_t, P& p) { return upsConvTransposeBackwardWeightOutputDesc(&p.conv, &p.cx, &p.cy, &p.out); }});
  calls.push_back({"upsConvTransposeBackwardWeightWorkspaceSize",
                   {conv_arg(), arg("x", &P::cx), arg("dy", &P::cy), arg("dw", &P::cw)},
                   [](upsHandle_t h, P& p) {
                     return upsConvTransposeBackwardWeightWorkspaceSize(h, &p.conv, &p.cx, &p.cy, &p.cw, &p.workspace);
                   }});
  calls.push_back({"upsConvTransposeBackwardWeightChooseAlgorithm",
                   {conv_arg(), arg("x", &P::cx), arg("dy", &P::cy), arg("dw", &P::cw)},
                   [](upsHandle_t h, P& p) {
                     return upsConvTransposeBackwardWeightChooseAlgorithm(h, &p.conv, &p.cx, &p.cy, &p.cw,
                                                                          &p.algorithm);
                   }});
  calls.push_back({"upsConvTransposeBackwardWeight",
                   {conv_arg(), arg("x", &P::cx), arg("dy", &P::cy), arg("dw", &P::cw)},
                   [](upsHandle_t h, P& p) {
                     return upsConvTransposeBackwardWeight(h, &p.conv, &p.cx, p.cx_data.data(), &p.cy, p.cy_data.data(),
                                                           &p.cw, p.out_data.data());
                   }});
  calls.push_back(
      {"upsConvTransposeBackwardBiasWorkspaceSize", {conv_arg(), arg("dy", &P::cy)}, [](upsHandle_t h, P& p) {
         return upsConvTransposeBackwardBiasWorkspaceSize(h, &p.conv, &p.cy, &p.workspace);
       }});
  calls.push_back({"upsConvTransposeBackwardBias", {conv_arg(), arg("dy", &P::cy)}, [](upsHandle_t h, P& p) {
                     return upsConvTransposeBackwardBias(h, &p.conv, &p.cy, p.cy_data.data(), p.out_data.data());
                   }});
  calls.push_back({"upsConvTransposeDescSetPadding", {conv_arg("desc")}, [](upsHandle_t, P& p) {
                     const int64_t pad[2] = {1, 1};
                     return upsConvTransposeDescSetPadding(&p.conv, pad);
                   }});
  return calls;
}

class ReferenceHandle {
 public:
  ReferenceHandle() { EXPECT_EQ(upsCreate(&handle_, UPS_BACKEND_REFERENCE), UPS_STATUS_SUCCESS); }
  ~ReferenceHandle() { upsDestroy(handle_); }
  upsHandle_t get() const { return handle_; }

 private:
  upsHandle_t handle_ = nullptr;
};

// The first layout's size of each descriptor (this release: all of it).
constexpr size_t kTensorBase = DescTraits<upsTensorDesc_t>::kBaseSize;

// Every descriptor's struct_size set to `size`.
void set_all_struct_sizes(Problem* p, size_t size) {
  for (upsTensorDesc_t* d : {&p->ux, &p->uy, &p->px, &p->py, &p->pidx, &p->cx, &p->cw, &p->cy}) d->struct_size = size;
  p->unpool.struct_size = size;
  p->pool.struct_size = size;
  p->conv.struct_size = size;
}

// Descriptors compared member by member (their padding bytes carry nothing).
bool same_desc(const upsTensorDesc_t& a, const upsTensorDesc_t& b) {
  bool same = a.struct_size == b.struct_size && a.dtype == b.dtype && a.layout == b.layout &&
              a.spatial_dims == b.spatial_dims && a.n == b.n && a.c == b.c;
  for (int i = 0; i < UPS_MAX_SPATIAL_DIMS; ++i) same = same && a.spatial[i] == b.spatial[i];
  return same;
}
bool same_desc(const upsUnpoolDesc_t& a, const upsUnpoolDesc_t& b) {
  bool same = a.struct_size == b.struct_size && a.mode == b.mode && a.spatial_dims == b.spatial_dims;
  for (int i = 0; i < UPS_MAX_SPATIAL_DIMS; ++i) same = same && a.scale[i] == b.scale[i];
  return same;
}
bool same_desc(const upsPoolDesc_t& a, const upsPoolDesc_t& b) {
  bool same = a.struct_size == b.struct_size && a.spatial_dims == b.spatial_dims && a.ceil_mode == b.ceil_mode;
  for (int i = 0; i < UPS_MAX_SPATIAL_DIMS; ++i)
    same = same && a.kernel[i] == b.kernel[i] && a.stride[i] == b.stride[i] && a.padding[i] == b.padding[i] &&
           a.dilation[i] == b.dilation[i];
  return same;
}
bool same_desc(const upsConvTransposeDesc_t& a, const upsConvTransposeDesc_t& b) {
  bool same = a.struct_size == b.struct_size && a.spatial_dims == b.spatial_dims && a.groups == b.groups &&
              a.algorithm == b.algorithm && a.deterministic == b.deterministic && a.math_mode == b.math_mode;
  for (int i = 0; i < UPS_MAX_SPATIAL_DIMS; ++i)
    same = same && a.stride[i] == b.stride[i] && a.pad_begin[i] == b.pad_begin[i] && a.pad_end[i] == b.pad_end[i] &&
           a.output_padding[i] == b.output_padding[i] && a.dilation[i] == b.dilation[i];
  return same;
}

// The outputs of a call other than descriptors as bytes, for comparing two runs.
std::vector<unsigned char> output_bytes(const Problem& p) {
  std::vector<unsigned char> bytes;
  const auto append = [&bytes](const void* data, size_t n) {
    const auto* b = static_cast<const unsigned char*>(data);
    bytes.insert(bytes.end(), b, b + n);
  };
  append(&p.workspace, sizeof p.workspace);
  append(&p.algorithm, sizeof p.algorithm);
  append(p.out_data.data(), p.out_data.size() * sizeof(float));
  append(p.out_indices.data(), p.out_indices.size() * sizeof(int64_t));
  return bytes;
}

TEST(Abi, StructSizeZeroAndExactGiveTheSameResult) {
  ABI_SEED_TRACE();
  std::mt19937_64 rng(test_seed());
  ReferenceHandle handle;
  for (const Call& call : every_call()) {
    SCOPED_TRACE(call.function);
    Problem exact = make_problem(rng);
    Problem zero = exact;
    set_all_struct_sizes(&zero, 0);
    exact.poison_outputs();
    zero.poison_outputs();
    ASSERT_EQ(call.call(handle.get(), exact), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
    ASSERT_EQ(call.call(handle.get(), zero), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
    const bool writes_its_desc = std::string(call.function) == "upsConvTransposeDescSetPadding";
    if (!writes_its_desc) {
      EXPECT_FALSE(exact.outputs_poisoned()) << "the call wrote nothing";
    }
    // A descriptor the library writes carries the effective size: sizeof for the exact caller,
    // the first layout's size for struct_size 0 (the same, in this release).
    if (!is_poisoned(exact.out)) {
      EXPECT_EQ(exact.out.struct_size, sizeof(upsTensorDesc_t));
      EXPECT_EQ(zero.out.struct_size, kTensorBase);
    }
    EXPECT_EQ(output_bytes(exact), output_bytes(zero));
    EXPECT_EQ(is_poisoned(exact.out), is_poisoned(zero.out));
    if (!is_poisoned(exact.out)) {
      EXPECT_TRUE(same_desc(exact.out, zero.out));
    }
    if (!is_poisoned(exact.out2)) {
      EXPECT_TRUE(same_desc(exact.out2, zero.out2));
    }
    if (writes_its_desc) {  // written back at the effective size: the first layout's for 0
      EXPECT_TRUE(same_desc(exact.conv, zero.conv));
      EXPECT_EQ(zero.conv.struct_size, DescTraits<upsConvTransposeDesc_t>::kBaseSize);
    }
  }
}

// For every call and each descriptor it reads: `size` as that descriptor's struct_size is
// refused with BAD_PARAMETER naming it, and no output is written.
void expect_struct_size_refused(size_t size, std::mt19937_64& rng) {
  ReferenceHandle handle;
  for (const Call& call : every_call()) {
    for (const DescArgRef& a : call.args) {
      SCOPED_TRACE(std::string(call.function) + " with " + a.name + ".struct_size = " + std::to_string(size));
      Problem p = make_problem(rng);
      *a.struct_size(p) = size;
      const Problem before = p;
      p.poison_outputs();
      EXPECT_EQ(call.call(handle.get(), p), UPS_STATUS_BAD_PARAMETER);
      const std::string message = upsGetLastErrorString();
      EXPECT_NE(message.find(std::string(a.name) + ".struct_size: expected 0 or "), std::string::npos) << message;
      EXPECT_NE(message.find("got " + std::to_string(size)), std::string::npos) << message;
      EXPECT_NE(message.find("Init"), std::string::npos) << message;  // names the Init function to use
      EXPECT_TRUE(p.outputs_poisoned()) << "a refused call wrote an output";
      EXPECT_TRUE(same_desc(p.conv, before.conv)) << "a refused call changed its descriptor";
    }
  }
}

TEST(Abi, StructSizeTooSmallIsRefused) {
  ABI_SEED_TRACE();
  std::mt19937_64 rng(test_seed());
  for (size_t size : {size_t{1}, size_t{4}, sizeof(size_t), kTensorBase / 2, size_t{39}})
    expect_struct_size_refused(size, rng);
}

TEST(Abi, StructSizeTooLargeIsRefused) {
  ABI_SEED_TRACE();
  std::mt19937_64 rng(test_seed());
  // One past each descriptor's sizeof, a newer caller's plausible size, a page.
  for (size_t size : {sizeof(upsConvTransposeDesc_t) + 1, sizeof(upsConvTransposeDesc_t) + 8, size_t{4096}})
    expect_struct_size_refused(size, rng);
}

TEST(Abi, StructSizeGarbageIsRefused) {
  ABI_SEED_TRACE();
  std::mt19937_64 rng(test_seed());
  for (size_t size : {SIZE_MAX, size_t{0xCDCDCDCDCDCDCDCDull}, size_t{0x8000000000000000ull}})
    expect_struct_size_refused(size, rng);
  std::uniform_int_distribution<uint64_t> any(sizeof(upsConvTransposeDesc_t) + 1, UINT64_MAX);
  for (int i = 0; i < 3; ++i) expect_struct_size_refused(static_cast<size_t>(any(rng)), rng);
}

// Sizes that lie in range for one descriptor but not another: a tensor descriptor is smaller than
// a convolution descriptor, so a conv desc claiming a tensor desc's size is too small.
TEST(Abi, EachDescriptorHasItsOwnRange) {
  ABI_SEED_TRACE();
  std::mt19937_64 rng(test_seed());
  ASSERT_LT(sizeof(upsUnpoolDesc_t), sizeof(upsConvTransposeDesc_t));
  ReferenceHandle handle;
  Problem p = make_problem(rng);
  p.conv.struct_size = sizeof(upsUnpoolDesc_t);
  EXPECT_EQ(upsConvTransposeOutputDesc(&p.conv, &p.cx, &p.cw, &p.out), UPS_STATUS_BAD_PARAMETER);
  p = make_problem(rng);
  p.ux.struct_size = sizeof(upsConvTransposeDesc_t);
  ASSERT_GT(sizeof(upsConvTransposeDesc_t), sizeof(upsTensorDesc_t));
  EXPECT_EQ(upsUnpoolOutputDesc(&p.unpool, &p.ux, &p.out), UPS_STATUS_BAD_PARAMETER);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("x.struct_size"), std::string::npos);
}

// A caller compiled against the first layout: its descriptors are kBaseSize bytes, followed in
// its memory by something else (here guard bytes). Descriptors written for it stop at its size.
TEST(Abi, OldCallerIsNeverWrittenPastItsSize) {
  ABI_SEED_TRACE();
  std::mt19937_64 rng(test_seed());
  constexpr size_t kGuard = 64;
  struct Guarded {
    alignas(upsTensorDesc_t) unsigned char bytes[sizeof(upsConvTransposeDesc_t) + kGuard];
  };
  const auto fresh = [] {
    Guarded g;
    std::memset(g.bytes, 0xA5, sizeof g.bytes);
    return g;
  };
  const auto guard_intact = [](const Guarded& g, size_t size) {
    for (size_t i = size; i < sizeof g.bytes; ++i)
      if (g.bytes[i] != 0xA5) return false;
    return true;
  };
  Problem p = make_problem(rng);
  set_all_struct_sizes(&p, kTensorBase);
  p.unpool.struct_size = DescTraits<upsUnpoolDesc_t>::kBaseSize;
  p.pool.struct_size = DescTraits<upsPoolDesc_t>::kBaseSize;
  p.conv.struct_size = DescTraits<upsConvTransposeDesc_t>::kBaseSize;

  using Writer = std::function<upsStatus_t(upsTensorDesc_t*, upsTensorDesc_t*)>;
  const std::vector<std::pair<const char*, Writer>> writers = {
      {"upsUnpoolOutputDesc",
       [&](upsTensorDesc_t* y, upsTensorDesc_t*) { return upsUnpoolOutputDesc(&p.unpool, &p.ux, y); }},
      {"upsUnpoolBackwardOutputDesc",
       [&](upsTensorDesc_t* dx, upsTensorDesc_t*) { return upsUnpoolBackwardOutputDesc(&p.unpool, &p.uy, dx); }},
      {"upsMaxPoolOutputDesc",
       [&](upsTensorDesc_t* y, upsTensorDesc_t* i) { return upsMaxPoolOutputDesc(&p.pool, &p.px, y, i); }},
      {"upsMaxUnpoolOutputDesc",
       [&](upsTensorDesc_t* y, upsTensorDesc_t*) { return upsMaxUnpoolOutputDesc(&p.pool, &p.py, nullptr, y); }},
      {"upsMaxUnpoolBackwardOutputDesc",
       [&](upsTensorDesc_t* dx, upsTensorDesc_t*) {
         return upsMaxUnpoolBackwardOutputDesc(&p.pool, &p.px, &p.pidx, dx);
       }},
      {"upsConvTransposeOutputDesc",
       [&](upsTensorDesc_t* y, upsTensorDesc_t*) { return upsConvTransposeOutputDesc(&p.conv, &p.cx, &p.cw, y); }},
      {"upsConvTransposeBackwardDataOutputDesc",
       [&](upsTensorDesc_t* dx, upsTensorDesc_t*) {
         return upsConvTransposeBackwardDataOutputDesc(&p.conv, &p.cy, &p.cw, dx);
       }},
      {"upsConvTransposeBackwardWeightOutputDesc",
       [&](upsTensorDesc_t* dw, upsTensorDesc_t*) {
         return upsConvTransposeBackwardWeightOutputDesc(&p.conv, &p.cx, &p.cy, dw);
       }},
  };
  for (const auto& [name, write] : writers) {
    SCOPED_TRACE(name);
    Guarded y = fresh(), second = fresh();
    auto* y_desc = reinterpret_cast<upsTensorDesc_t*>(y.bytes);
    auto* second_desc = reinterpret_cast<upsTensorDesc_t*>(second.bytes);
    ASSERT_EQ(write(y_desc, second_desc), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
    EXPECT_TRUE(guard_intact(y, kTensorBase)) << "wrote past the caller's " << kTensorBase << " bytes";
    EXPECT_TRUE(guard_intact(second, kTensorBase));
    size_t written_size = 0;
    std::memcpy(&written_size, y.bytes, sizeof written_size);
    EXPECT_EQ(written_size, kTensorBase);
  }

  // The Init functions, given the first layout's size, and SetPadding on such a descriptor.
  const int64_t ext[2] = {2, 3}, zero[2] = {0, 0};
  Guarded g = fresh();
  ASSERT_EQ(upsTensorDescInitSized(reinterpret_cast<upsTensorDesc_t*>(g.bytes), kTensorBase, UPS_DTYPE_F32,
                                   UPS_LAYOUT_CHANNELS_LAST, 2, 1, 1, ext),
            UPS_STATUS_SUCCESS);
  EXPECT_TRUE(guard_intact(g, kTensorBase));
  g = fresh();
  const size_t unpool_base = DescTraits<upsUnpoolDesc_t>::kBaseSize;
  ASSERT_EQ(
      upsUnpoolDescInitSized(reinterpret_cast<upsUnpoolDesc_t*>(g.bytes), unpool_base, UPS_UNPOOL_NEAREST, 2, ext),
      UPS_STATUS_SUCCESS);
  EXPECT_TRUE(guard_intact(g, unpool_base));
  g = fresh();
  const size_t pool_base = DescTraits<upsPoolDesc_t>::kBaseSize;
  ASSERT_EQ(upsPoolDescInitSized(reinterpret_cast<upsPoolDesc_t*>(g.bytes), pool_base, 2, ext, ext, zero),
            UPS_STATUS_SUCCESS);
  EXPECT_TRUE(guard_intact(g, pool_base));
  g = fresh();
  const size_t conv_base = DescTraits<upsConvTransposeDesc_t>::kBaseSize;
  auto* conv = reinterpret_cast<upsConvTransposeDesc_t*>(g.bytes);
  ASSERT_EQ(upsConvTransposeDescInitSized(conv, conv_base, 2), UPS_STATUS_SUCCESS);
  EXPECT_TRUE(guard_intact(g, conv_base));
  ASSERT_EQ(upsConvTransposeDescSetPadding(conv, ext), UPS_STATUS_SUCCESS);
  EXPECT_TRUE(guard_intact(g, conv_base));
}

// --- the size rule on a descriptor that has grown: this release's descriptors are all at their
// first layout, so "smaller than this release but valid" is exercised on a made-up pair ---------
struct GrownDescV1 {  // what an old caller compiled
  size_t struct_size;
  int64_t a;
  int32_t b;
  int32_t reserved;  // explicit: the old struct has no tail padding for a new field to land in
};
struct GrownDesc {  // this "release": one field appended
  size_t struct_size;
  int64_t a;
  int32_t b;
  int32_t reserved;
  int64_t appended;
};

}  // namespace

template <>
struct upsample::detail::DescTraits<GrownDesc> {
  static constexpr size_t kBaseSize = sizeof(GrownDescV1);
  static constexpr const char* kInit = "GrownDescInit";
  static GrownDesc defaults() {
    GrownDesc d{};
    d.appended = 42;  // the value that keeps an old caller's behaviour
    return d;
  }
};

namespace {

TEST(Abi, SizeRuleAcceptsEveryLayoutFromTheFirstToTheCurrent) {
  using upsample::detail::effective_desc_size;
  static_assert(offsetof(GrownDesc, appended) >= sizeof(GrownDescV1), "appended past the old sizeof");
  constexpr size_t base = sizeof(GrownDescV1), current = sizeof(GrownDesc);
  EXPECT_EQ(effective_desc_size(0, base, current), base);
  EXPECT_EQ(effective_desc_size(base, base, current), base);
  EXPECT_EQ(effective_desc_size(current, base, current), current);
  EXPECT_EQ(effective_desc_size(base - 1, base, current), 0u);
  EXPECT_EQ(effective_desc_size(current + 1, base, current), 0u);
  EXPECT_EQ(effective_desc_size(SIZE_MAX, base, current), 0u);
}

TEST(Abi, OldCallerOfAGrownDescriptorReadsDefaultsAndIsWrittenToItsSize) {
  using upsample::detail::read_desc;
  using upsample::detail::write_desc;
  // Reading an old caller's descriptor: its fields, then this release's default for the rest —
  // never the bytes that follow it in the caller's memory.
  struct {
    GrownDescV1 desc;
    int64_t next;  // whatever the caller keeps after its descriptor
  } old_caller{{sizeof(GrownDescV1), 7, 8, 0}, -1};
  GrownDesc read{};
  ASSERT_EQ(read_desc(reinterpret_cast<const GrownDesc*>(&old_caller.desc), "old", &read), UPS_STATUS_SUCCESS);
  EXPECT_EQ(read.struct_size, sizeof(GrownDescV1));
  EXPECT_EQ(read.a, 7);
  EXPECT_EQ(read.b, 8);
  EXPECT_EQ(read.appended, 42) << "a field the old caller does not have comes from the defaults";
  // struct_size 0: the first layout, likewise.
  old_caller.desc.struct_size = 0;
  ASSERT_EQ(read_desc(reinterpret_cast<const GrownDesc*>(&old_caller.desc), "old", &read), UPS_STATUS_SUCCESS);
  EXPECT_EQ(read.struct_size, sizeof(GrownDescV1));
  EXPECT_EQ(read.appended, 42);
  // A current caller's field is read.
  GrownDesc current{sizeof(GrownDesc), 1, 2, 0, 3};
  ASSERT_EQ(read_desc(&current, "current", &read), UPS_STATUS_SUCCESS);
  EXPECT_EQ(read.appended, 3);
  // Out of range, on each side.
  current.struct_size = sizeof(GrownDescV1) - 1;
  EXPECT_EQ(read_desc(&current, "current", &read), UPS_STATUS_BAD_PARAMETER);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("current.struct_size: expected 0 or between 24 and 32"),
            std::string::npos)
      << upsGetLastErrorString();
  current.struct_size = sizeof(GrownDesc) + 1;
  EXPECT_EQ(read_desc(&current, "current", &read), UPS_STATUS_BAD_PARAMETER);

  // Writing for an old caller: its size's bytes, the following ones untouched.
  GrownDesc value{sizeof(GrownDescV1), 10, 11, 0, 12};
  old_caller.next = -1;
  write_desc(value, reinterpret_cast<GrownDesc*>(&old_caller.desc));
  EXPECT_EQ(old_caller.desc.a, 10);
  EXPECT_EQ(old_caller.desc.struct_size, sizeof(GrownDescV1));
  EXPECT_EQ(old_caller.next, -1) << "wrote past the old caller's descriptor";
}

TEST(Abi, InitFunctionsSetStructSize) {
  const int64_t ext[3] = {2, 3, 4}, zero[3] = {0, 0, 0};
  upsTensorDesc_t t;
  poison(&t);
  ASSERT_EQ(upsTensorDescInit(&t, UPS_DTYPE_F16, UPS_LAYOUT_CHANNELS_LAST, 3, 2, 5, ext), UPS_STATUS_SUCCESS);
  EXPECT_EQ(t.struct_size, sizeof t);
  EXPECT_EQ(t.dtype, UPS_DTYPE_F16);
  EXPECT_EQ(t.spatial[2], 4);
  upsUnpoolDesc_t u;
  poison(&u);
  ASSERT_EQ(upsUnpoolDescInit(&u, UPS_UNPOOL_BED_OF_NAILS, 3, ext), UPS_STATUS_SUCCESS);
  EXPECT_EQ(u.struct_size, sizeof u);
  EXPECT_EQ(u.mode, UPS_UNPOOL_BED_OF_NAILS);
  EXPECT_EQ(u.spatial_dims, 3);
  EXPECT_EQ(u.scale[1], 3);
  upsPoolDesc_t p;
  poison(&p);
  ASSERT_EQ(upsPoolDescInit(&p, 2, ext, ext + 1, zero), UPS_STATUS_SUCCESS);
  EXPECT_EQ(p.struct_size, sizeof p);
  EXPECT_EQ(p.kernel[1], 3);
  EXPECT_EQ(p.stride[0], 3);
  EXPECT_EQ(p.padding[0], 0);
  EXPECT_EQ(p.dilation[0], 1);
  EXPECT_EQ(p.dilation[1], 1);
  EXPECT_EQ(p.ceil_mode, 0);
  upsConvTransposeDesc_t c;
  poison(&c);
  ASSERT_EQ(upsConvTransposeDescInit(&c, 1), UPS_STATUS_SUCCESS);
  EXPECT_EQ(c.struct_size, sizeof c);
  EXPECT_EQ(c.stride[0], 1);
  EXPECT_EQ(c.groups, 1);
  EXPECT_EQ(c.algorithm, UPS_ALGO_AUTO);
  EXPECT_EQ(c.math_mode, UPS_MATH_DEFAULT);
  // The Sized forms with 0 (what a caller that cannot take sizeof may pass): the first layout.
  poison(&c);
  ASSERT_EQ(upsConvTransposeDescInitSized(&c, 0, 2), UPS_STATUS_SUCCESS);
  EXPECT_EQ(c.struct_size, DescTraits<upsConvTransposeDesc_t>::kBaseSize);
}

TEST(Abi, InitSizedRefusesBadSizesAndArguments) {
  const int64_t ext[2] = {2, 2}, zero[2] = {0, 0}, bad[2] = {2, 0};
  for (size_t size : {size_t{1}, sizeof(size_t), sizeof(upsConvTransposeDesc_t) + 1, SIZE_MAX}) {
    SCOPED_TRACE(size);
    upsTensorDesc_t t;
    upsUnpoolDesc_t u;
    upsPoolDesc_t p;
    upsConvTransposeDesc_t c;
    poison(&t);
    poison(&u);
    poison(&p);
    poison(&c);
    EXPECT_EQ(upsTensorDescInitSized(&t, size, UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 2, 1, 1, ext),
              UPS_STATUS_BAD_PARAMETER);
    EXPECT_NE(std::string(upsGetLastErrorString()).find("desc.struct_size: expected 0 or"), std::string::npos);
    EXPECT_EQ(upsUnpoolDescInitSized(&u, size, UPS_UNPOOL_NEAREST, 2, ext), UPS_STATUS_BAD_PARAMETER);
    EXPECT_EQ(upsPoolDescInitSized(&p, size, 2, ext, ext, zero), UPS_STATUS_BAD_PARAMETER);
    EXPECT_EQ(upsConvTransposeDescInitSized(&c, size, 2), UPS_STATUS_BAD_PARAMETER);
    EXPECT_TRUE(is_poisoned(t) && is_poisoned(u) && is_poisoned(p) && is_poisoned(c)) << "a refused Init wrote";
  }
  upsUnpoolDesc_t u;
  upsPoolDesc_t p;
  EXPECT_EQ(upsUnpoolDescInit(nullptr, UPS_UNPOOL_NEAREST, 2, ext), UPS_STATUS_NULL_POINTER);
  EXPECT_EQ(upsUnpoolDescInit(&u, UPS_UNPOOL_NEAREST, 2, nullptr), UPS_STATUS_NULL_POINTER);
  EXPECT_EQ(upsUnpoolDescInit(&u, UPS_UNPOOL_NEAREST, 4, ext), UPS_STATUS_BAD_EXTENT);
  EXPECT_EQ(upsUnpoolDescInit(&u, UPS_UNPOOL_NEAREST, 2, bad), UPS_STATUS_BAD_PARAMETER);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("scale[1]"), std::string::npos);
  upsUnpoolMode_t unknown;
  const int seven = 7;
  std::memcpy(&unknown, &seven, sizeof unknown);
  EXPECT_EQ(upsUnpoolDescInit(&u, unknown, 2, ext), UPS_STATUS_BAD_PARAMETER);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("mode"), std::string::npos);
  EXPECT_EQ(upsPoolDescInit(nullptr, 2, ext, ext, zero), UPS_STATUS_NULL_POINTER);
  EXPECT_EQ(upsPoolDescInit(&p, 2, nullptr, ext, zero), UPS_STATUS_NULL_POINTER);
  EXPECT_EQ(upsPoolDescInit(&p, 0, ext, ext, zero), UPS_STATUS_BAD_EXTENT);
  EXPECT_EQ(upsPoolDescInit(&p, 2, ext, bad, zero), UPS_STATUS_BAD_PARAMETER);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("stride[1]"), std::string::npos);
  const int64_t negative[2] = {0, -1};
  EXPECT_EQ(upsPoolDescInit(&p, 2, ext, ext, negative), UPS_STATUS_BAD_PARAMETER);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("padding[1]"), std::string::npos);
}

// A descriptor filled by hand from zero, as C callers wrote before the Init functions existed.
TEST(Abi, ZeroInitialisedHandFilledDescriptorsWork) {
  upsPoolDesc_t pool = {};
  pool.spatial_dims = 1;
  pool.kernel[0] = pool.stride[0] = 2;
  pool.dilation[0] = 1;
  upsTensorDesc_t x = {};
  x.dtype = UPS_DTYPE_F64;
  x.spatial_dims = 1;
  x.n = 1;
  x.c = 1;
  x.spatial[0] = 6;
  upsTensorDesc_t y, indices;
  ASSERT_EQ(upsMaxPoolOutputDesc(&pool, &x, &y, &indices), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
  EXPECT_EQ(y.spatial[0], 3);
  EXPECT_EQ(y.struct_size, kTensorBase);
  EXPECT_EQ(indices.dtype, UPS_DTYPE_I64);
}

// --- the C++ layer reaches every C function and agrees with it ---------------------------------
TEST(CppLayer, LibraryQueries) {
  EXPECT_EQ(upsample::version(), upsGetVersion());
  EXPECT_EQ(upsample::status_name(UPS_STATUS_BAD_GROUPS), "UPS_STATUS_BAD_GROUPS");
  EXPECT_EQ(upsample::cuda_device_available(), upsCudaDeviceAvailable() != 0);
  try {
    upsample::tensor_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, -1, 1, {2});
    ADD_FAILURE() << "a negative extent was accepted";
  } catch (const upsample::Error& e) {
    EXPECT_EQ(e.status(), UPS_STATUS_BAD_EXTENT);
    EXPECT_EQ(upsample::last_error(), e.what());
  }
}

TEST(CppLayer, DescriptorsMatchTheCInitFunctions) {
  const int64_t ext[2] = {3, 5}, zero[2] = {0, 0};
  upsTensorDesc_t t;
  ASSERT_EQ(upsTensorDescInit(&t, UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, 2, 2, 7, ext), UPS_STATUS_SUCCESS);
  const upsTensorDesc_t tc = upsample::tensor_desc(UPS_DTYPE_BF16, UPS_LAYOUT_CHANNELS_LAST, 2, 7, {3, 5});
  EXPECT_TRUE(same_desc(t, tc));
  int64_t count = 0, bytes = 0;
  ASSERT_EQ(upsTensorDescElementCount(&t, &count), UPS_STATUS_SUCCESS);
  ASSERT_EQ(upsTensorDescByteSize(&t, &bytes), UPS_STATUS_SUCCESS);
  EXPECT_EQ(upsample::element_count(tc), count);
  EXPECT_EQ(upsample::byte_size(tc), bytes);

  upsUnpoolDesc_t u;
  ASSERT_EQ(upsUnpoolDescInit(&u, UPS_UNPOOL_NEAREST, 2, ext), UPS_STATUS_SUCCESS);
  const upsUnpoolDesc_t uc = upsample::unpool_desc(UPS_UNPOOL_NEAREST, {3, 5});
  EXPECT_TRUE(same_desc(u, uc));

  upsPoolDesc_t p;
  ASSERT_EQ(upsPoolDescInit(&p, 2, ext, ext, zero), UPS_STATUS_SUCCESS);
  const upsample::Pool pc({3, 5});
  EXPECT_TRUE(same_desc(p, pc.desc()));

  upsConvTransposeDesc_t c;
  ASSERT_EQ(upsConvTransposeDescInit(&c, 2), UPS_STATUS_SUCCESS);
  ASSERT_EQ(upsConvTransposeDescSetPadding(&c, ext), UPS_STATUS_SUCCESS);
  c.stride[0] = 2;
  c.math_mode = UPS_MATH_ALLOW_TF32;
  const auto cc = upsample::ConvTranspose(2).padding({3, 5}).stride({2, 1}).math_mode(UPS_MATH_ALLOW_TF32);
  EXPECT_TRUE(same_desc(c, cc.desc()));
}

// Runs every op, shape query, workspace query and algorithm choice through the C++ layer on one
// backend and compares each result with the C function's.
void expect_cpp_matches_c(upsBackend_t backend) {
  ABI_SEED_TRACE();
  std::mt19937_64 rng(test_seed());
  Problem p = make_problem(rng);
  upsample::Handle handle(backend);
  upsHandle_t h = handle.get();
  EXPECT_EQ(handle.backend(), backend);
  handle.set_stream(nullptr);
  EXPECT_EQ(handle.stream(), nullptr);
  handle.set_workspace(nullptr, 0);
  // Host data for the reference backend; the emulated CUDA backend's device memory is host memory
  // allocated through cudaMalloc, so the tests of the emulated build run the C++ layer's queries
  // only there (the ops themselves are covered by the C call table above on the reference).
  const bool run_ops = backend == UPS_BACKEND_REFERENCE;
  const upsample::Pool pool({2, 2});
  auto conv = upsample::ConvTranspose(2).stride({2, 2}).padding({1, 1});

  // Unpooling.
  upsTensorDesc_t y;
  ASSERT_EQ(upsUnpoolOutputDesc(&p.unpool, &p.ux, &y), UPS_STATUS_SUCCESS);
  EXPECT_TRUE(same_desc(upsample::unpool_output_desc(p.unpool, p.ux), y));
  ASSERT_EQ(upsUnpoolBackwardOutputDesc(&p.unpool, &p.uy, &y), UPS_STATUS_SUCCESS);
  EXPECT_TRUE(same_desc(upsample::unpool_backward_output_desc(p.unpool, p.uy), y));
  // Max-pooling and max-unpooling.
  upsTensorDesc_t yi;
  ASSERT_EQ(upsMaxPoolOutputDesc(&p.pool, &p.px, &y, &yi), UPS_STATUS_SUCCESS);
  upsTensorDesc_t cy, cyi;
  pool.max_pool_output_desc(p.px, &cy, &cyi);
  EXPECT_TRUE(same_desc(cy, y) && same_desc(cyi, yi));
  ASSERT_EQ(upsMaxUnpoolOutputDesc(&p.pool, &p.py, nullptr, &y), UPS_STATUS_SUCCESS);
  EXPECT_TRUE(same_desc(pool.max_unpool_output_desc(p.py), y));
  ASSERT_EQ(upsMaxUnpoolBackwardOutputDesc(&p.pool, &p.px, &p.pidx, &y), UPS_STATUS_SUCCESS);
  EXPECT_TRUE(same_desc(pool.max_unpool_backward_output_desc(p.px, p.pidx), y));
  size_t bytes = 0;
  ASSERT_EQ(upsMaxUnpoolWorkspaceSize(h, &p.pool, &p.py, &p.px, &bytes), UPS_STATUS_SUCCESS);
  EXPECT_EQ(handle.max_unpool_workspace_size(pool, p.py, p.px), bytes);
  ASSERT_EQ(upsMaxUnpoolBackwardWorkspaceSize(h, &p.pool, &p.px, &p.py, &bytes), UPS_STATUS_SUCCESS);
  EXPECT_EQ(handle.max_unpool_backward_workspace_size(pool, p.px, p.py), bytes);
  // Transposed convolution.
  ASSERT_EQ(upsConvTransposeOutputDesc(&p.conv, &p.cx, &p.cw, &y), UPS_STATUS_SUCCESS);
  EXPECT_TRUE(same_desc(conv.output_desc(p.cx, p.cw), y));
  ASSERT_EQ(upsConvTransposeBackwardDataOutputDesc(&p.conv, &p.cy, &p.cw, &y), UPS_STATUS_SUCCESS);
  EXPECT_TRUE(same_desc(conv.backward_data_output_desc(p.cy, p.cw), y));
  ASSERT_EQ(upsConvTransposeBackwardWeightOutputDesc(&p.conv, &p.cx, &p.cy, &y), UPS_STATUS_SUCCESS);
  EXPECT_TRUE(same_desc(conv.backward_weight_output_desc(p.cx, p.cy), y));
  for (upsAlgorithm_t algorithm : {UPS_ALGO_AUTO, UPS_ALGO_GATHER, UPS_ALGO_SCATTER_ATOMIC}) {
    SCOPED_TRACE(algorithm);
    conv.algorithm(algorithm);
    p.conv.algorithm = algorithm;
    ASSERT_EQ(upsConvTransposeWorkspaceSize(h, &p.conv, &p.cx, &p.cw, &p.cy, &bytes), UPS_STATUS_SUCCESS);
    EXPECT_EQ(handle.conv_transpose_workspace_size(conv, p.cx, p.cw, p.cy), bytes);
    upsAlgorithm_t chosen{};
    ASSERT_EQ(upsConvTransposeChooseAlgorithm(h, &p.conv, &p.cx, &p.cw, &p.cy, &chosen), UPS_STATUS_SUCCESS);
    EXPECT_EQ(handle.choose_algorithm(conv, p.cx, p.cw, p.cy), chosen);
    if (algorithm != UPS_ALGO_SCATTER_ATOMIC) {  // the data gradient has no scatter variant
      ASSERT_EQ(upsConvTransposeBackwardDataWorkspaceSize(h, &p.conv, &p.cy, &p.cw, &p.cx, &bytes), UPS_STATUS_SUCCESS);
      EXPECT_EQ(handle.conv_transpose_backward_data_workspace_size(conv, p.cy, p.cw, p.cx), bytes);
      ASSERT_EQ(upsConvTransposeBackwardDataChooseAlgorithm(h, &p.conv, &p.cy, &p.cw, &p.cx, &chosen),
                UPS_STATUS_SUCCESS);
      EXPECT_EQ(handle.choose_backward_data_algorithm(conv, p.cy, p.cw, p.cx), chosen);
    }
    ASSERT_EQ(upsConvTransposeBackwardWeightWorkspaceSize(h, &p.conv, &p.cx, &p.cy, &p.cw, &bytes), UPS_STATUS_SUCCESS);
    EXPECT_EQ(handle.conv_transpose_backward_weight_workspace_size(conv, p.cx, p.cy, p.cw), bytes);
    ASSERT_EQ(upsConvTransposeBackwardWeightChooseAlgorithm(h, &p.conv, &p.cx, &p.cy, &p.cw, &chosen),
              UPS_STATUS_SUCCESS);
    EXPECT_EQ(handle.choose_backward_weight_algorithm(conv, p.cx, p.cy, p.cw), chosen);
    ASSERT_EQ(upsConvTransposeBackwardBiasWorkspaceSize(h, &p.conv, &p.cy, &bytes), UPS_STATUS_SUCCESS);
    EXPECT_EQ(handle.conv_transpose_backward_bias_workspace_size(conv, p.cy), bytes);
  }
  conv.algorithm(UPS_ALGO_AUTO);
  p.conv.algorithm = UPS_ALGO_AUTO;
  if (!run_ops) return;

  // The ops: the C++ call's output bit for bit equal to the C call's (both poisoned first).
  std::vector<float> c_out(128), cpp_out(128);
  std::vector<int64_t> c_idx(8), cpp_idx(8);
  const auto run = [&](const char* what, const std::function<upsStatus_t(float*, int64_t*)>& c_call,
                       const std::function<void(float*, int64_t*)>& cpp_call) {
    SCOPED_TRACE(what);
    std::memset(c_out.data(), kPoison, c_out.size() * sizeof(float));
    std::memset(cpp_out.data(), kPoison, cpp_out.size() * sizeof(float));
    std::fill(c_idx.begin(), c_idx.end(), -7);
    std::fill(cpp_idx.begin(), cpp_idx.end(), -7);
    ASSERT_EQ(c_call(c_out.data(), c_idx.data()), UPS_STATUS_SUCCESS) << upsGetLastErrorString();
    cpp_call(cpp_out.data(), cpp_idx.data());
    EXPECT_EQ(std::memcmp(c_out.data(), cpp_out.data(), c_out.size() * sizeof(float)), 0);
    EXPECT_EQ(c_idx, cpp_idx);
    EXPECT_FALSE(is_poisoned(c_out[0])) << "the op wrote nothing";
  };
  run(
      "unpool", [&](float* o, int64_t*) { return upsUnpoolForward(h, &p.unpool, &p.ux, p.ux_data.data(), &p.uy, o); },
      [&](float* o, int64_t*) { handle.unpool(p.unpool, p.ux, p.ux_data.data(), p.uy, o); });
  run(
      "unpool_backward",
      [&](float* o, int64_t*) { return upsUnpoolBackward(h, &p.unpool, &p.uy, p.uy_data.data(), &p.ux, o); },
      [&](float* o, int64_t*) { handle.unpool_backward(p.unpool, p.uy, p.uy_data.data(), p.ux, o); });
  run(
      "max_pool",
      [&](float* o, int64_t* i) {
        return upsMaxPoolForward(h, &p.pool, &p.px, p.px_data.data(), &p.py, o, &p.pidx, i);
      },
      [&](float* o, int64_t* i) { handle.max_pool(pool, p.px, p.px_data.data(), p.py, o, p.pidx, i); });
  run(
      "max_pool_backward",
      [&](float* o, int64_t*) {
        return upsMaxPoolBackward(h, &p.pool, &p.py, p.py_data.data(), &p.pidx, p.pidx_data.data(), &p.px, o);
      },
      [&](float* o, int64_t*) {
        handle.max_pool_backward(pool, p.py, p.py_data.data(), p.pidx, p.pidx_data.data(), p.px, o);
      });
  run(
      "max_unpool",
      [&](float* o, int64_t*) {
        return upsMaxUnpoolForward(h, &p.pool, &p.py, p.py_data.data(), &p.pidx, p.pidx_data.data(), &p.px, o);
      },
      [&](float* o, int64_t*) {
        handle.max_unpool(pool, p.py, p.py_data.data(), p.pidx, p.pidx_data.data(), p.px, o);
      });
  run(
      "max_unpool_backward",
      [&](float* o, int64_t*) {
        return upsMaxUnpoolBackward(h, &p.pool, &p.px, p.px_data.data(), &p.pidx, p.pidx_data.data(), &p.py, o);
      },
      [&](float* o, int64_t*) {
        handle.max_unpool_backward(pool, p.px, p.px_data.data(), p.pidx, p.pidx_data.data(), p.py, o);
      });
  run(
      "conv_transpose",
      [&](float* o, int64_t*) {
        return upsConvTransposeForward(h, &p.conv, &p.cx, p.cx_data.data(), &p.cw, p.cw_data.data(), p.bias.data(),
                                       &p.cy, o);
      },
      [&](float* o, int64_t*) {
        handle.conv_transpose(conv, p.cx, p.cx_data.data(), p.cw, p.cw_data.data(), p.bias.data(), p.cy, o);
      });
  run(
      "conv_transpose_backward_data",
      [&](float* o, int64_t*) {
        return upsConvTransposeBackwardData(h, &p.conv, &p.cy, p.cy_data.data(), &p.cw, p.cw_data.data(), &p.cx, o);
      },
      [&](float* o, int64_t*) {
        handle.conv_transpose_backward_data(conv, p.cy, p.cy_data.data(), p.cw, p.cw_data.data(), p.cx, o);
      });
  run(
      "conv_transpose_backward_weight",
      [&](float* o, int64_t*) {
        return upsConvTransposeBackwardWeight(h, &p.conv, &p.cx, p.cx_data.data(), &p.cy, p.cy_data.data(), &p.cw, o);
      },
      [&](float* o, int64_t*) {
        handle.conv_transpose_backward_weight(conv, p.cx, p.cx_data.data(), p.cy, p.cy_data.data(), p.cw, o);
      });
  run(
      "conv_transpose_backward_bias",
      [&](float* o, int64_t*) { return upsConvTransposeBackwardBias(h, &p.conv, &p.cy, p.cy_data.data(), o); },
      [&](float* o, int64_t*) { handle.conv_transpose_backward_bias(conv, p.cy, p.cy_data.data(), o); });
}

TEST(CppLayer, EveryFunctionMatchesCOnTheReferenceBackend) { expect_cpp_matches_c(UPS_BACKEND_REFERENCE); }

TEST(CppLayer, QueriesMatchCOnTheCudaBackend) {
  if (!upsCudaDeviceAvailable()) GTEST_SKIP() << "no CUDA device (real or emulated) in this build";
  expect_cpp_matches_c(UPS_BACKEND_CUDA);
}

}  // namespace

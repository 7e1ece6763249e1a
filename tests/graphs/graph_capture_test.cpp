// Every op captured into a CUDA graph and replayed (tests/graphs): forward and backward, every
// CUDA path (layouts, dtypes, vector and scalar paths, algorithms), with fresh inputs uploaded
// between replays and each replay's outputs compared with the reference backend run on the same
// inputs. Also: the handle under capture (no allocation, sync or free; the distinct status),
// device-side index errors through upsQueryRuntimeError, and the index-check modes.
//
// In CI these run on the emulation layer, whose stream capture refuses what the CUDA runtime
// refuses (NOTE [ Stream capture under the emulation ]); on a GPU they run on the real runtime.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/common/bad_input.h"
#include "tests/test_util.h"

namespace upsample::test {
namespace {

// One op call on any backend: pointers to its inputs, then its outputs.
using OpCall = std::function<upsStatus_t(upsHandle_t, const std::vector<void*>& in, const std::vector<void*>& out)>;

struct OpCase {
  std::string name;
  std::vector<HostTensor> inputs;
  std::vector<HostTensor> outputs;
  OpCall call;
  bool exact = true;  // data movement: bit-identical; arithmetic: within tolerance(dtype)
  // Fresh inputs for a replay (default: uniform random values in every float input).
  std::function<void(std::mt19937_64&, std::vector<HostTensor>&)> refill = {};
};

void default_refill(std::mt19937_64& rng, std::vector<HostTensor>& inputs) {
  for (HostTensor& t : inputs)
    if (t.desc.dtype != UPS_DTYPE_I64) t.fill_random(rng, -2.0, 2.0, true);  // small integers: exact sums
}

struct Stream {
  Stream() { EXPECT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess); }
  ~Stream() { cudaStreamDestroy(stream); }
  cudaStream_t stream = nullptr;
};

struct GraphExec {
  ~GraphExec() {
    if (exec != nullptr) cudaGraphExecDestroy(exec);
    if (graph != nullptr) cudaGraphDestroy(graph);
  }
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
};

// The reference backend on the same inputs.
std::vector<HostTensor> reference_outputs(const OpCase& op) {
  HandleGuard h(UPS_BACKEND_REFERENCE);
  std::vector<HostTensor> inputs = op.inputs, outputs = op.outputs;
  std::vector<void*> in, out;
  for (HostTensor& t : inputs) in.push_back(t.data());
  for (HostTensor& t : outputs) {
    t.poison();
    out.push_back(t.data());
  }
  const upsStatus_t status = op.call(h.get(), in, out);
  EXPECT_EQ(status, UPS_STATUS_SUCCESS) << op.name << " (reference): " << status_text(status);
  return outputs;
}

// Capture `op` once on a CUDA handle, then replay it `replays` times with fresh inputs.
void capture_and_replay(OpCase op, std::mt19937_64& rng, int replays = 3) {
  SCOPED_TRACE(op.name);
  if (!op.refill) op.refill = default_refill;
  Stream s;  // declared first: the handle, destroyed before it, synchronizes its stream on upsDestroy
  HandleGuard h(UPS_BACKEND_CUDA);
  ASSERT_EQ(h.status(), UPS_STATUS_SUCCESS);
  UPS_ASSERT_OK(upsSetStream(h.get(), reinterpret_cast<upsStream_t>(s.stream)));
  op.refill(rng, op.inputs);
  std::vector<std::unique_ptr<Buffer>> in_buffers, out_buffers;
  std::vector<void*> in, out;
  for (const HostTensor& t : op.inputs) {
    in_buffers.push_back(std::make_unique<Buffer>(UPS_BACKEND_CUDA, t));
    in.push_back(in_buffers.back()->get());
  }
  for (const HostTensor& t : op.outputs) {
    out_buffers.push_back(std::make_unique<Buffer>(UPS_BACKEND_CUDA, t.bytes.size()));
    out.push_back(out_buffers.back()->get());
  }
  // One eager call sizes the handle's own workspace (capture may not grow it).
  UPS_ASSERT_OK(op.call(h.get(), in, out));
  ASSERT_EQ(cudaStreamSynchronize(s.stream), cudaSuccess);

  GraphExec g;
  ASSERT_EQ(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  const upsStatus_t captured = op.call(h.get(), in, out);
  const cudaError_t ended = cudaStreamEndCapture(s.stream, &g.graph);
  ASSERT_EQ(captured, UPS_STATUS_SUCCESS) << status_text(captured);
  ASSERT_EQ(ended, cudaSuccess) << cudaGetErrorString(ended);
  ASSERT_EQ(cudaGraphInstantiate(&g.exec, g.graph, 0), cudaSuccess);

  for (int replay = 0; replay < replays; ++replay) {
    SCOPED_TRACE("replay " + std::to_string(replay));
    op.refill(rng, op.inputs);
    for (size_t i = 0; i < op.inputs.size(); ++i) in_buffers[i]->upload(op.inputs[i]);
    for (size_t i = 0; i < op.outputs.size(); ++i) {
      HostTensor poison = op.outputs[i];
      poison.poison();
      out_buffers[i]->upload(poison);
    }
    ASSERT_EQ(cudaGraphLaunch(g.exec, s.stream), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(s.stream), cudaSuccess);
    upsStatus_t runtime = UPS_STATUS_INTERNAL_ERROR;
    UPS_ASSERT_OK(upsQueryRuntimeError(h.get(), &runtime, UPS_ERRQUERY_BLOCKING));
    EXPECT_EQ(runtime, UPS_STATUS_SUCCESS) << upsGetLastErrorString();
    const std::vector<HostTensor> expected = reference_outputs(op);
    for (size_t i = 0; i < op.outputs.size(); ++i) {
      HostTensor actual = op.outputs[i];
      out_buffers[i]->download(&actual);
      if (op.exact)
        EXPECT_TRUE(tensors_identical(actual, expected[i])) << "output " << i;
      else
        EXPECT_TRUE(tensors_close(actual, expected[i], tolerance(actual.desc.dtype))) << "output " << i;
    }
  }
}

upsTensorDesc_t with_dtype(upsTensorDesc_t d, upsDataType_t dtype) {
  d.dtype = dtype;
  return d;
}

// Distinct random positions per (n, c) plane of `plane` positions (a permutation prefix).
void fill_indices(std::mt19937_64& rng, HostTensor& indices, int64_t plane) {
  const upsTensorDesc_t& d = indices.desc;
  const int64_t planes = d.n * d.c, per = element_count(d) / std::max<int64_t>(1, planes);
  std::vector<int64_t> perm(static_cast<size_t>(plane));
  for (int64_t q = 0; q < planes; ++q) {
    for (int64_t i = 0; i < plane; ++i) perm[static_cast<size_t>(i)] = i;
    std::shuffle(perm.begin(), perm.end(), rng);
    const int64_t n = q / d.c, c = q % d.c;
    for (int64_t p = 0; p < per; ++p) {
      const int64_t offset = d.layout == UPS_LAYOUT_CHANNELS_LAST ? (n * per + p) * d.c + c : q * per + p;
      indices.as_i64()[offset] = perm[static_cast<size_t>(p % plane)];
    }
  }
}

const upsDataType_t kDtypes[] = {UPS_DTYPE_F32, UPS_DTYPE_F16, UPS_DTYPE_BF16, UPS_DTYPE_F64};
const upsLayout_t kLayouts[] = {UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST};

std::string label(upsDataType_t dtype, upsLayout_t layout) {
  return std::string(dtype_label(dtype)) + (layout == UPS_LAYOUT_CHANNELS_LAST ? "_NHWC" : "_NCHW");
}

// Channel counts that take the vector paths (a multiple of every vector width) and the scalar
// fallback (odd), and spatial extents that make rows unaligned.
struct Shape {
  int64_t c;
  std::vector<int64_t> spatial;
};
const Shape kShapes[] = {{8, {4, 6}}, {3, {5, 7}}};

TEST(GraphCapture, UnpoolForwardAndBackwardReplay) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  for (upsUnpoolMode_t mode : {UPS_UNPOOL_NEAREST, UPS_UNPOOL_BED_OF_NAILS})
    for (upsDataType_t dtype : kDtypes)
      for (upsLayout_t layout : kLayouts)
        for (const Shape& shape : kShapes)
          for (int64_t scale : {2, 3}) {
            upsUnpoolDesc_t desc{};
            const int64_t scales[2] = {scale, 2};
            UPS_ASSERT_OK(upsUnpoolDescInit(&desc, mode, 2, scales));
            const upsTensorDesc_t x = make_desc(dtype, layout, 2, shape.c, shape.spatial);
            upsTensorDesc_t y{};
            UPS_ASSERT_OK(upsUnpoolOutputDesc(&desc, &x, &y));
            const std::string name = std::string(mode == UPS_UNPOOL_NEAREST ? "nearest" : "bed_of_nails") + "_x" +
                                     std::to_string(scale) + "_C" + std::to_string(shape.c) + "_" + label(dtype, layout);
            OpCase forward{name + "_forward", {HostTensor(x)}, {HostTensor(y)},
                           [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                             return upsUnpoolForward(h, &desc, &x, in[0], &y, out[0]);
                           }};
            capture_and_replay(forward, rng);
            OpCase backward{name + "_backward", {HostTensor(y)}, {HostTensor(x)},
                            [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                              return upsUnpoolBackward(h, &desc, &y, in[0], &x, out[0]);
                            }};
            backward.exact = mode == UPS_UNPOOL_BED_OF_NAILS;  // nearest backward sums its cell
            capture_and_replay(backward, rng);
          }
}

upsPoolDesc_t pool_desc(int64_t kernel, int64_t stride, int64_t padding) {
  upsPoolDesc_t d{};
  d.spatial_dims = 2;
  for (int a = 0; a < 2; ++a) {
    d.kernel[a] = kernel;
    d.stride[a] = stride;
    d.padding[a] = padding;
    d.dilation[a] = 1;
  }
  return d;
}

TEST(GraphCapture, MaxPoolForwardAndBackwardReplay) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  for (upsDataType_t dtype : kDtypes)
    for (upsLayout_t layout : kLayouts)
      for (int64_t kernel : {2, 3}) {
        const upsPoolDesc_t pool = pool_desc(kernel, 2, kernel / 2);
        const upsTensorDesc_t x = make_desc(dtype, layout, 2, 3, {6, 7});
        upsTensorDesc_t y{}, i{};
        UPS_ASSERT_OK(upsMaxPoolOutputDesc(&pool, &x, &y, &i));
        const std::string name = "max_pool_k" + std::to_string(kernel) + "_" + label(dtype, layout);
        OpCase forward{name + "_forward", {HostTensor(x)}, {HostTensor(y), HostTensor(i)},
                       [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                         return upsMaxPoolForward(h, &pool, &x, in[0], &y, out[0], &i, static_cast<int64_t*>(out[1]));
                       }};
        // Distinct values: the winner is unique, so indices compare exactly too.
        forward.refill = [](std::mt19937_64& r, std::vector<HostTensor>& inputs) {
          HostTensor& t = inputs[0];
          std::vector<double> values(static_cast<size_t>(t.size()));
          for (size_t k = 0; k < values.size(); ++k) values[k] = static_cast<double>(k) - 40.0;
          std::shuffle(values.begin(), values.end(), r);
          for (int64_t k = 0; k < t.size(); ++k) t.set(k, values[static_cast<size_t>(k)]);
        };
        capture_and_replay(forward, rng);
        // Backward: indices as max-pool writes them (any in-window position), fresh per replay.
        HostTensor dx(x);
        OpCase backward{name + "_backward", {HostTensor(y), HostTensor(i)}, {HostTensor(x)},
                        [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                          return upsMaxPoolBackward(h, &pool, &y, in[0], &i, static_cast<const int64_t*>(in[1]), &x,
                                                    out[0]);
                        }};
        backward.exact = false;  // overlapping windows sum
        backward.refill = [pool, x](std::mt19937_64& r, std::vector<HostTensor>& inputs) {
          inputs[0].fill_random(r, -2.0, 2.0, true);
          // Indices from a real max-pool of random data on the reference backend.
          HandleGuard ref(UPS_BACKEND_REFERENCE);
          HostTensor xs(x), ys(inputs[0].desc);
          xs.fill_random(r);
          upsTensorDesc_t yd = inputs[0].desc, id = inputs[1].desc;
          EXPECT_EQ(upsMaxPoolForward(ref.get(), &pool, &x, xs.data(), &yd, ys.data(), &id, inputs[1].as_i64()),
                    UPS_STATUS_SUCCESS);
        };
        capture_and_replay(backward, rng);
      }
}

TEST(GraphCapture, MaxUnpoolForwardAndBackwardReplay) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  struct Geometry {
    int64_t kernel, stride, padding;
    const char* what;
  };
  // Tiled (SegNet: kernel == stride, the single pass), tiled with padding, overlapping (general path).
  const Geometry geometries[] = {{2, 2, 0, "tiled"}, {2, 2, 1, "tiled_padded"}, {3, 2, 1, "overlapping"}};
  for (const Geometry& geo : geometries)
    for (upsDataType_t dtype : kDtypes)
      for (upsLayout_t layout : kLayouts) {
        const upsPoolDesc_t pool = pool_desc(geo.kernel, geo.stride, geo.padding);
        const upsTensorDesc_t x = make_desc(dtype, layout, 2, 3, {3, 4});
        upsTensorDesc_t y{};
        UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, nullptr, &y));
        const upsTensorDesc_t i = with_dtype(x, UPS_DTYPE_I64);
        const int64_t plane = element_count(y) / (y.n * y.c);
        const std::string name = std::string("max_unpool_") + geo.what + "_" + label(dtype, layout);
        // Indices: a real max-pool's (each inside its own window) on even replays, arbitrary
        // positions of the plane (escaping their windows, with duplicates) on odd ones.
        auto replay_count = std::make_shared<int>(0);
        auto refill = [=](std::mt19937_64& r, std::vector<HostTensor>& inputs) {
          inputs[0].fill_random(r, -2.0, 2.0, true);
          HostTensor& indices = inputs[1];
          if ((*replay_count)++ % 2 == 0) {
            // Max-pool (same kernel, stride, padding) of a random y-shaped tensor: x-shaped indices.
            HandleGuard ref(UPS_BACKEND_REFERENCE);
            const upsTensorDesc_t src = with_dtype(y, UPS_DTYPE_F32);
            HostTensor ys(src), pooled(with_dtype(x, UPS_DTYPE_F32));
            ys.fill_random(r);
            upsTensorDesc_t pd{}, id{};
            if (upsMaxPoolOutputDesc(&pool, &src, &pd, &id) == UPS_STATUS_SUCCESS && pd.spatial[0] == x.spatial[0] &&
                pd.spatial[1] == x.spatial[1]) {
              EXPECT_EQ(upsMaxPoolForward(ref.get(), &pool, &src, ys.data(), &pd, pooled.data(), &id, indices.as_i64()),
                        UPS_STATUS_SUCCESS);
              return;
            }
            ADD_FAILURE() << "test setup: max-pool of y does not give x's shape";
          }
          std::uniform_int_distribution<int64_t> any(0, plane - 1);
          for (int64_t k = 0; k < indices.size(); ++k) indices.as_i64()[k] = any(r);
        };
        OpCase forward{name + "_forward", {HostTensor(x), HostTensor(i)}, {HostTensor(y)},
                       [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                         return upsMaxUnpoolForward(h, &pool, &x, in[0], &i, static_cast<const int64_t*>(in[1]), &y,
                                                    out[0]);
                       }};
        forward.refill = refill;
        capture_and_replay(forward, rng, 4);
        *replay_count = 0;
        OpCase backward{name + "_backward", {HostTensor(y), HostTensor(i)}, {HostTensor(x)},
                        [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                          return upsMaxUnpoolBackward(h, &pool, &y, in[0], &i, static_cast<const int64_t*>(in[1]), &x,
                                                      out[0]);
                        }};
        backward.refill = refill;
        capture_and_replay(backward, rng, 4);
      }
}

TEST(GraphCapture, ConvTransposeEveryAlgorithmAndGradientReplay) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  const upsAlgorithm_t algorithms[] = {UPS_ALGO_GATHER, UPS_ALGO_SCATTER_ATOMIC, UPS_ALGO_IMPLICIT_GEMM};
  for (upsAlgorithm_t algorithm : algorithms)
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F16})
      for (upsLayout_t layout : kLayouts) {
        upsConvTransposeDesc_t desc;
        UPS_ASSERT_OK(upsConvTransposeDescInit(&desc, 2));
        for (int a = 0; a < 2; ++a) {
          desc.stride[a] = 2;
          desc.pad_begin[a] = desc.pad_end[a] = 1;
        }
        desc.algorithm = algorithm;
        const upsTensorDesc_t x = make_desc(dtype, layout, 2, 8, {3, 4});
        const upsTensorDesc_t w = make_desc(dtype, layout, 8, 8, {4, 4});
        upsTensorDesc_t y{};
        UPS_ASSERT_OK(upsConvTransposeOutputDesc(&desc, &x, &w, &y));
        const upsTensorDesc_t bias = make_desc(dtype, UPS_LAYOUT_CHANNELS_FIRST, 1, 8, {1});
        const std::string name = "conv_transpose_algo" + std::to_string(static_cast<int>(algorithm)) + "_" +
                                 label(dtype, layout);
        OpCase forward{name + "_forward", {HostTensor(x), HostTensor(w), HostTensor(bias)}, {HostTensor(y)},
                       [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                         return upsConvTransposeForward(h, &desc, &x, in[0], &w, in[1], in[2], &y, out[0]);
                       }};
        forward.exact = false;
        capture_and_replay(forward, rng);
        if (algorithm != UPS_ALGO_GATHER) continue;  // the gradients' own paths, once per dtype and layout
        upsConvTransposeDesc_t auto_desc = desc;
        auto_desc.algorithm = UPS_ALGO_AUTO;
        OpCase data{name + "_backward_data", {HostTensor(y), HostTensor(w)}, {HostTensor(x)},
                    [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                      return upsConvTransposeBackwardData(h, &auto_desc, &y, in[0], &w, in[1], &x, out[0]);
                    }};
        data.exact = false;
        capture_and_replay(data, rng);
        OpCase weight{name + "_backward_weight", {HostTensor(x), HostTensor(y)}, {HostTensor(w)},
                      [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                        return upsConvTransposeBackwardWeight(h, &auto_desc, &x, in[0], &y, in[1], &w, out[0]);
                      }};
        weight.exact = false;
        capture_and_replay(weight, rng);
        const upsTensorDesc_t db = bias;
        OpCase bias_grad{name + "_backward_bias", {HostTensor(y)}, {HostTensor(db)},
                         [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                           return upsConvTransposeBackwardBias(h, &auto_desc, &y, in[0], out[0]);
                         }};
        bias_grad.exact = false;
        capture_and_replay(bias_grad, rng);
      }
}

// ---- the handle under capture ------------------------------------------------------------------

TEST(GraphCapture, InterpolateEveryModeForwardAndBackwardReplay) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  struct ModeCase {
    upsInterpolateMode_t mode;
    const char* name;
    double scale;
    bool align_corners, antialias;
  };
  // Up and down scaling, the corner rule and the antialias filter: each changes the kernels' path.
  const ModeCase modes[] = {{UPS_INTERPOLATE_NEAREST, "nearest", 1.7, false, false},
                            {UPS_INTERPOLATE_NEAREST_EXACT, "nearest_exact", 0.6, false, false},
                            {UPS_INTERPOLATE_LINEAR, "bilinear", 2.0, false, false},
                            {UPS_INTERPOLATE_LINEAR, "bilinear_corners", 1.5, true, false},
                            {UPS_INTERPOLATE_LINEAR, "bilinear_antialias", 0.5, false, true},
                            {UPS_INTERPOLATE_BICUBIC, "bicubic", 2.0, false, false},
                            {UPS_INTERPOLATE_AREA, "area", 0.5, false, false}};
  for (const ModeCase& m : modes)
    for (upsDataType_t dtype : {UPS_DTYPE_F32, UPS_DTYPE_F16})
      for (upsLayout_t layout : kLayouts)
        for (const Shape& shape : kShapes) {
          upsInterpolateDesc_t desc{};
          UPS_ASSERT_OK(upsInterpolateDescInit(&desc, m.mode, 2));
          desc.scale_factor[0] = desc.scale_factor[1] = m.scale;
          desc.align_corners = m.align_corners;
          desc.antialias = m.antialias;
          const upsTensorDesc_t x = make_desc(dtype, layout, 2, shape.c, {8, 10});
          upsTensorDesc_t y{};
          UPS_ASSERT_OK(upsInterpolateOutputDesc(&desc, &x, &y));
          const std::string name =
              std::string(m.name) + "_C" + std::to_string(shape.c) + "_" + label(dtype, layout);
          OpCase forward{name + "_forward", {HostTensor(x)}, {HostTensor(y)},
                         [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                           return upsInterpolateForward(h, &desc, &x, in[0], &y, out[0]);
                         }};
          forward.exact = m.mode == UPS_INTERPOLATE_NEAREST || m.mode == UPS_INTERPOLATE_NEAREST_EXACT;
          capture_and_replay(forward, rng);
          OpCase backward{name + "_backward", {HostTensor(y)}, {HostTensor(x)},
                          [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                            return upsInterpolateBackward(h, &desc, &y, in[0], &x, out[0]);
                          }};
          backward.exact = false;  // sums of weighted dy
          capture_and_replay(backward, rng);
        }
}

TEST(GraphCapture, PixelShuffleAndUnshuffleReplay) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  for (upsPixelShuffleDirection_t direction : {UPS_PIXEL_SHUFFLE, UPS_PIXEL_UNSHUFFLE})
    for (upsDataType_t dtype : kDtypes)
      for (upsLayout_t layout : kLayouts)
        for (int64_t channels : {3, 8}) {
          upsPixelShuffleDesc_t desc{};
          UPS_ASSERT_OK(upsPixelShuffleDescInit(&desc, direction, 2, 2));
          const bool shuffle = direction == UPS_PIXEL_SHUFFLE;
          const upsTensorDesc_t x =
              make_desc(dtype, layout, 2, shuffle ? channels * 4 : channels, shuffle ? std::vector<int64_t>{3, 5}
                                                                                     : std::vector<int64_t>{6, 10});
          upsTensorDesc_t y{};
          UPS_ASSERT_OK(upsPixelShuffleOutputDesc(&desc, &x, &y));
          const std::string name = std::string(shuffle ? "shuffle" : "unshuffle") + "_C" + std::to_string(channels) +
                                   "_" + label(dtype, layout);
          capture_and_replay({name + "_forward", {HostTensor(x)}, {HostTensor(y)},
                              [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                                return upsPixelShuffleForward(h, &desc, &x, in[0], &y, out[0]);
                              }},
                             rng);
          capture_and_replay({name + "_backward", {HostTensor(y)}, {HostTensor(x)},
                              [=](upsHandle_t h, const std::vector<void*>& in, const std::vector<void*>& out) {
                                return upsPixelShuffleBackward(h, &desc, &y, in[0], &x, out[0]);
                              }},
                             rng);
        }
}

TEST(GraphCapture, WorkspaceGrowthDuringCaptureIsRefusedWithoutBreakingTheCapture) {
  UPS_SKIP_WITHOUT_CUDA();
  Stream s;  // outlives the handle (see capture_and_replay)
  HandleGuard h(UPS_BACKEND_CUDA);
  UPS_ASSERT_OK(upsSetStream(h.get(), reinterpret_cast<upsStream_t>(s.stream)));
  const upsPoolDesc_t pool = pool_desc(2, 2, 0);
  const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 2, {2, 2});
  const upsTensorDesc_t i = with_dtype(x, UPS_DTYPE_I64);
  upsTensorDesc_t y{};
  UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, nullptr, &y));
  HostTensor xs(x), is(i), ys(y);
  for (int64_t k = 0; k < is.size(); ++k) is.as_i64()[k] = 0;
  Buffer bx(UPS_BACKEND_CUDA, xs), bi(UPS_BACKEND_CUDA, is), by(UPS_BACKEND_CUDA, ys);
  const auto* ip = static_cast<const int64_t*>(bi.get());

  // Fresh handle, no workspace yet: the op would have to allocate.
  GraphExec g;
  ASSERT_EQ(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(upsMaxUnpoolForward(h.get(), &pool, &x, bx.get(), &i, ip, &y, by.get()), UPS_STATUS_STREAM_CAPTURING);
  const std::string message = upsGetLastErrorString();
  EXPECT_NE(message.find("upsSetWorkspace"), std::string::npos) << message;
  EXPECT_NE(message.find("WorkspaceSize"), std::string::npos) << message;
  // Nor may the handle be destroyed, nor its errors be read back, while capturing.
  EXPECT_EQ(upsDestroy(h.get()), UPS_STATUS_STREAM_CAPTURING);
  upsStatus_t runtime = UPS_STATUS_SUCCESS;
  EXPECT_EQ(upsQueryRuntimeError(h.get(), &runtime, UPS_ERRQUERY_BLOCKING), UPS_STATUS_STREAM_CAPTURING);
  // Synchronous checking cannot run under capture either: a clear status, not a broken capture.
  UPS_ASSERT_OK(upsSetIndexCheckMode(h.get(), UPS_INDEX_CHECK_SYNC));
  ASSERT_EQ(cudaStreamEndCapture(s.stream, &g.graph), cudaSuccess) << "the refused calls left the capture valid";

  // A caller-sized workspace makes the same capture work.
  size_t bytes = 0;
  UPS_ASSERT_OK(upsMaxUnpoolWorkspaceSize(h.get(), &pool, &x, &y, &bytes));
  Buffer workspace(UPS_BACKEND_CUDA, bytes);
  UPS_ASSERT_OK(upsSetWorkspace(h.get(), workspace.get(), bytes));
  ASSERT_EQ(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(upsMaxUnpoolForward(h.get(), &pool, &x, bx.get(), &i, ip, &y, by.get()), UPS_STATUS_STREAM_CAPTURING)
      << "SYNC mode under capture";
  UPS_ASSERT_OK(upsSetIndexCheckMode(h.get(), UPS_INDEX_CHECK_AUTO));
  EXPECT_EQ(upsMaxUnpoolForward(h.get(), &pool, &x, bx.get(), &i, ip, &y, by.get()), UPS_STATUS_SUCCESS)
      << status_text(UPS_STATUS_SUCCESS);
  GraphExec g2;
  ASSERT_EQ(cudaStreamEndCapture(s.stream, &g2.graph), cudaSuccess);
  ASSERT_EQ(cudaGraphInstantiate(&g2.exec, g2.graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(g2.exec, s.stream), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(s.stream), cudaSuccess);
  UPS_ASSERT_OK(upsQueryRuntimeError(h.get(), &runtime, UPS_ERRQUERY_BLOCKING));
  EXPECT_EQ(runtime, UPS_STATUS_SUCCESS);
}

TEST(GraphCapture, WorkspaceOutgrownAfterCaptureStaysValidForTheGraph) {
  UPS_SKIP_WITHOUT_CUDA();
  UPS_SEED_TRACE();
  auto rng = make_rng();
  Stream s;  // outlives the handle (see capture_and_replay)
  HandleGuard h(UPS_BACKEND_CUDA);
  UPS_ASSERT_OK(upsSetStream(h.get(), reinterpret_cast<upsStream_t>(s.stream)));
  const upsPoolDesc_t pool = pool_desc(3, 2, 1);  // overlapping: uses the workspace's winners
  const upsTensorDesc_t small = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 2, {3, 3});
  const upsTensorDesc_t large = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 4, 8, {9, 9});
  upsTensorDesc_t ys{}, yl{};
  UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &small, nullptr, &ys));
  UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &large, nullptr, &yl));
  const upsTensorDesc_t is_desc = with_dtype(small, UPS_DTYPE_I64), il_desc = with_dtype(large, UPS_DTYPE_I64);
  HostTensor xs(small), is(is_desc), out_s(ys), xl(large), il(il_desc), out_l(yl);
  xs.fill_random(rng);
  xl.fill_random(rng);
  fill_indices(rng, is, element_count(ys) / (ys.n * ys.c));
  fill_indices(rng, il, element_count(yl) / (yl.n * yl.c));
  Buffer bxs(UPS_BACKEND_CUDA, xs), bis(UPS_BACKEND_CUDA, is), bys(UPS_BACKEND_CUDA, out_s);
  Buffer bxl(UPS_BACKEND_CUDA, xl), bil(UPS_BACKEND_CUDA, il), byl(UPS_BACKEND_CUDA, out_l);
  auto small_call = [&] {
    return upsMaxUnpoolForward(h.get(), &pool, &small, bxs.get(), &is_desc, static_cast<const int64_t*>(bis.get()),
                               &ys, bys.get());
  };
  UPS_ASSERT_OK(small_call());
  GraphExec g;
  ASSERT_EQ(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  UPS_ASSERT_OK(small_call());
  ASSERT_EQ(cudaStreamEndCapture(s.stream, &g.graph), cudaSuccess);
  ASSERT_EQ(cudaGraphInstantiate(&g.exec, g.graph, 0), cudaSuccess);
  // The handle's workspace grows for a larger call; the graph still holds the old buffer.
  UPS_ASSERT_OK(upsMaxUnpoolForward(h.get(), &pool, &large, bxl.get(), &il_desc,
                                    static_cast<const int64_t*>(bil.get()), &yl, byl.get()));
  HostTensor poison(ys);
  poison.poison();
  bys.upload(poison);
  ASSERT_EQ(cudaGraphLaunch(g.exec, s.stream), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(s.stream), cudaSuccess);
  HostTensor actual(ys), expected(ys);
  bys.download(&actual);
  HandleGuard ref(UPS_BACKEND_REFERENCE);
  UPS_ASSERT_OK(upsMaxUnpoolForward(ref.get(), &pool, &small, xs.data(), &is_desc, is.as_i64(), &ys, expected.data()));
  EXPECT_TRUE(tensors_identical(actual, expected));
}

// A bad index inside a replayed graph: the replay writes nothing out of range, and the query
// reports the first offending position with the words of the synchronous check.
TEST(GraphCapture, BadIndexInReplayIsReportedByTheQuery) {
  UPS_SKIP_WITHOUT_CUDA();
  for (bool backward : {false, true})
    for (int64_t kernel : {2, 3}) {
      SCOPED_TRACE(std::string(backward ? "backward" : "forward") + " kernel " + std::to_string(kernel));
      Stream s;  // outlives the handle (see capture_and_replay)
      HandleGuard h(UPS_BACKEND_CUDA);
      UPS_ASSERT_OK(upsSetStream(h.get(), reinterpret_cast<upsStream_t>(s.stream)));
      const upsPoolDesc_t pool = pool_desc(kernel, 2, 0);
      const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_LAST, 2, 3, {2, 2});
      const upsTensorDesc_t i = with_dtype(x, UPS_DTYPE_I64);
      upsTensorDesc_t y{};
      UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, nullptr, &y));
      const int64_t plane = element_count(y) / (y.n * y.c);
      HostTensor xs(x), is(i), ys(y);
      auto rng = make_rng(backward ? "backward" : "forward");
      xs.fill_random(rng);
      for (int64_t k = 0; k < is.size(); ++k) is.as_i64()[k] = k % plane;
      ys.fill_random(rng);
      Buffer bx(UPS_BACKEND_CUDA, xs), bi(UPS_BACKEND_CUDA, is), by(UPS_BACKEND_CUDA, ys);
      const auto* ip = static_cast<const int64_t*>(bi.get());
      auto call = [&] {
        return backward ? upsMaxUnpoolBackward(h.get(), &pool, &y, by.get(), &i, ip, &x, bx.get())
                        : upsMaxUnpoolForward(h.get(), &pool, &x, bx.get(), &i, ip, &y, by.get());
      };
      UPS_ASSERT_OK(call());
      GraphExec g;
      ASSERT_EQ(cudaStreamBeginCapture(s.stream, cudaStreamCaptureModeGlobal), cudaSuccess);
      UPS_ASSERT_OK(call());
      ASSERT_EQ(cudaStreamEndCapture(s.stream, &g.graph), cudaSuccess);
      ASSERT_EQ(cudaGraphInstantiate(&g.exec, g.graph, 0), cudaSuccess);
      // Two bad indices: (n=1, c=2, h=0, w=1) and a later one; the first in (n, c, d, h, w) order
      // is reported. Channels-last offset of (n, c, h, w) is ((n*H + h)*W + w)*C + c.
      HostTensor bad = is;
      bad.as_i64()[((1 * 2 + 0) * 2 + 1) * 3 + 2] = plane;       // first
      bad.as_i64()[((1 * 2 + 1) * 2 + 1) * 3 + 2] = -5;          // later in scan order
      bi.upload(bad);
      ASSERT_EQ(cudaGraphLaunch(g.exec, s.stream), cudaSuccess);
      upsStatus_t runtime = UPS_STATUS_SUCCESS;
      UPS_ASSERT_OK(upsQueryRuntimeError(h.get(), &runtime, UPS_ERRQUERY_BLOCKING));
      EXPECT_EQ(runtime, UPS_STATUS_INDEX_OUT_OF_RANGE);
      const std::string message = upsGetLastErrorString();
      const std::string expected_head = "indices[n=1, c=2, d=0, h=0, w=1] = " + std::to_string(plane) +
                                        " is outside the output plane [0, " + std::to_string(plane) +
                                        ") (first offending position in (n, c, d, h, w) order)";
      EXPECT_NE(message.find(expected_head), std::string::npos) << message;
      // The same words as the synchronous check (reference backend), up to what was written.
      HandleGuard ref(UPS_BACKEND_REFERENCE);
      HostTensor out_ref = backward ? HostTensor(x) : HostTensor(y);
      const upsStatus_t sync = backward
                                   ? upsMaxUnpoolBackward(ref.get(), &pool, &y, ys.data(), &i, bad.as_i64(), &x,
                                                          out_ref.data())
                                   : upsMaxUnpoolForward(ref.get(), &pool, &x, xs.data(), &i, bad.as_i64(), &y,
                                                         out_ref.data());
      EXPECT_EQ(sync, UPS_STATUS_INDEX_OUT_OF_RANGE);
      EXPECT_NE(std::string(upsGetLastErrorString()).find(expected_head), std::string::npos) << upsGetLastErrorString();
      // Read once: the record is clear afterwards.
      UPS_ASSERT_OK(upsQueryRuntimeError(h.get(), &runtime, UPS_ERRQUERY_NONBLOCKING));
      EXPECT_EQ(runtime, UPS_STATUS_SUCCESS);
      // Nothing out of range: the valid elements are right (forward: the bad inputs skipped;
      // backward: their dx is 0), as the reference computes with the bad ones dropped.
      HostTensor actual = backward ? HostTensor(x) : HostTensor(y);
      (backward ? bx : by).download(&actual);
      if (backward) {
        for (int64_t k = 0; k < actual.size(); ++k) {
          const int64_t index = bad.as_i64()[k];
          if (index < 0 || index >= plane) {
            EXPECT_EQ(actual.get(k), 0.0) << k;
          } else {
            // Channels-last: element k is (n, p, c) with p the plane position.
            const int64_t c = k % 3, n = k / (3 * 4);
            EXPECT_EQ(actual.get(k), ys.get((n * plane + index) * 3 + c)) << k;
          }
        }
      } else {
        HostTensor expected(y);
        for (int64_t k = 0; k < expected.size(); ++k) expected.set(k, 0.0);
        for (int64_t k = 0; k < bad.size(); ++k) {
          const int64_t index = bad.as_i64()[k];
          if (index < 0 || index >= plane) continue;
          const int64_t c = k % 3, n = k / (3 * 4);
          expected.set((n * plane + index) * 3 + c, xs.get(k));
        }
        EXPECT_TRUE(tensors_identical(actual, expected));
      }
    }
}

TEST(GraphCapture, IndexCheckModes) {
  UPS_SKIP_WITHOUT_CUDA();
  HandleGuard h(UPS_BACKEND_CUDA);
  upsIndexCheckMode_t mode = UPS_INDEX_CHECK_SYNC;
  UPS_ASSERT_OK(upsGetIndexCheckMode(h.get(), &mode));
  EXPECT_EQ(mode, UPS_INDEX_CHECK_AUTO) << "the default (README: CUDA graphs)";
  EXPECT_EQ(upsSetIndexCheckMode(h.get(), enum_value<upsIndexCheckMode_t>(7)), UPS_STATUS_BAD_PARAMETER);
  upsStatus_t runtime = UPS_STATUS_SUCCESS;
  EXPECT_EQ(upsQueryRuntimeError(h.get(), &runtime, enum_value<upsErrQueryMode_t>(5)), UPS_STATUS_BAD_PARAMETER);
  EXPECT_EQ(upsQueryRuntimeError(h.get(), nullptr, UPS_ERRQUERY_BLOCKING), UPS_STATUS_NULL_POINTER);
  EXPECT_EQ(upsQueryRuntimeError(nullptr, &runtime, UPS_ERRQUERY_BLOCKING), UPS_STATUS_INVALID_HANDLE);

  const upsPoolDesc_t pool = pool_desc(2, 2, 0);
  const upsTensorDesc_t x = make_desc(UPS_DTYPE_F32, UPS_LAYOUT_CHANNELS_FIRST, 1, 1, {2, 2});
  const upsTensorDesc_t i = with_dtype(x, UPS_DTYPE_I64);
  upsTensorDesc_t y{};
  UPS_ASSERT_OK(upsMaxUnpoolOutputDesc(&pool, &x, nullptr, &y));
  HostTensor xs(x), is(i), ys(y);
  for (int64_t k = 0; k < 4; ++k) xs.set(k, static_cast<double>(k + 1));
  is.as_i64()[0] = 0;
  is.as_i64()[1] = 2;
  is.as_i64()[2] = 99;  // bad
  is.as_i64()[3] = 15;
  ys.poison();
  Buffer bx(UPS_BACKEND_CUDA, xs), bi(UPS_BACKEND_CUDA, is), by(UPS_BACKEND_CUDA, ys);
  const auto* ip = static_cast<const int64_t*>(bi.get());
  // AUTO and SYNC outside capture: the status from the call, y untouched (still poison).
  for (upsIndexCheckMode_t m : {UPS_INDEX_CHECK_AUTO, UPS_INDEX_CHECK_SYNC}) {
    UPS_ASSERT_OK(upsSetIndexCheckMode(h.get(), m));
    EXPECT_EQ(upsMaxUnpoolForward(h.get(), &pool, &x, bx.get(), &i, ip, &y, by.get()), UPS_STATUS_INDEX_OUT_OF_RANGE);
    EXPECT_NE(std::string(upsGetLastErrorString()).find("nothing was written"), std::string::npos);
    HostTensor after(y);
    by.download(&after);
    for (int64_t k = 0; k < after.size(); ++k) EXPECT_TRUE(std::isnan(after.get(k))) << k;
    UPS_ASSERT_OK(upsQueryRuntimeError(h.get(), &runtime, UPS_ERRQUERY_BLOCKING));
    EXPECT_EQ(runtime, UPS_STATUS_SUCCESS) << "a synchronous report is not reported twice";
  }
  // ASYNC: SUCCESS from the call, the report from the query; y holds every in-range element.
  UPS_ASSERT_OK(upsSetIndexCheckMode(h.get(), UPS_INDEX_CHECK_ASYNC));
  UPS_ASSERT_OK(upsMaxUnpoolForward(h.get(), &pool, &x, bx.get(), &i, ip, &y, by.get()));
  UPS_ASSERT_OK(upsQueryRuntimeError(h.get(), &runtime, UPS_ERRQUERY_BLOCKING));
  EXPECT_EQ(runtime, UPS_STATUS_INDEX_OUT_OF_RANGE);
  EXPECT_NE(std::string(upsGetLastErrorString()).find("indices[n=0, c=0, d=0, h=1, w=0] = 99"), std::string::npos)
      << upsGetLastErrorString();
  HostTensor after(y);
  by.download(&after);
  for (int64_t k = 0; k < after.size(); ++k) {
    const double expected = k == 0 ? 1.0 : k == 2 ? 2.0 : k == 15 ? 4.0 : 0.0;
    EXPECT_EQ(after.get(k), expected) << k;
  }
  // The first error since the last query is kept; a later one does not replace it.
  UPS_ASSERT_OK(upsMaxUnpoolForward(h.get(), &pool, &x, bx.get(), &i, ip, &y, by.get()));
  HostTensor worse = is;
  worse.as_i64()[0] = -1;
  bi.upload(worse);
  UPS_ASSERT_OK(upsMaxUnpoolForward(h.get(), &pool, &x, bx.get(), &i, ip, &y, by.get()));
  UPS_ASSERT_OK(upsQueryRuntimeError(h.get(), &runtime, UPS_ERRQUERY_NONBLOCKING));
  EXPECT_EQ(runtime, UPS_STATUS_INDEX_OUT_OF_RANGE);  // the emulation's streams are idle at once
  EXPECT_NE(std::string(upsGetLastErrorString()).find("indices[n=0, c=0, d=0, h=1, w=0] = 99"), std::string::npos)
      << upsGetLastErrorString();
  // The reference backend's record is always clean.
  HandleGuard ref(UPS_BACKEND_REFERENCE);
  UPS_ASSERT_OK(upsQueryRuntimeError(ref.get(), &runtime, UPS_ERRQUERY_BLOCKING));
  EXPECT_EQ(runtime, UPS_STATUS_SUCCESS);
}

}  // namespace
}  // namespace upsample::test

// cuDNN's convolution calls as a transposed convolution and its gradients (NOTE [ Transposed
// convolution in cuDNN's terms ] in cudnn_runner.h).
#include "cudnn_runner.h"

#include <cudnn.h>

#include <algorithm>
#include <climits>
#include <stdexcept>

#include "cuda_check.h"

namespace upsample::bench {
namespace {

void check_cudnn(cudnnStatus_t status, const char* what) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  char detail[512] = "";
  cudnnGetLastErrorString(detail, sizeof detail);
  throw std::runtime_error(std::string(what) + ": " + cudnnGetErrorString(status) +
                           (detail[0] ? std::string(" (") + detail + ")" : ""));
}

const char* math_name(cudnnMathType_t math) {
  switch (math) {
    case CUDNN_DEFAULT_MATH:
      return "CUDNN_DEFAULT_MATH";
    case CUDNN_TENSOR_OP_MATH:
      return "CUDNN_TENSOR_OP_MATH";
    case CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION:
      return "CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION";
    case CUDNN_FMA_MATH:
      return "CUDNN_FMA_MATH";
  }
  return "?";
}

int to_int(int64_t value) {
  if (value > INT_MAX)
    throw std::runtime_error("an extent of " + std::to_string(value) + " exceeds cuDNN's int descriptors");
  return static_cast<int>(value);
}

// N, C, spatial... of a descriptor in cuDNN's order; a 1-D problem gets H = 1.
std::vector<int> dims_of(const upsTensorDesc_t& d) {
  std::vector<int> dims = {to_int(d.n), to_int(d.c)};
  if (d.spatial_dims == 1) dims.push_back(1);
  for (int a = 0; a < d.spatial_dims; ++a) dims.push_back(to_int(d.spatial[a]));
  return dims;
}

// Dense element strides of an N, C, spatial... tensor in a layout, in cuDNN's N, C, D, H, W order.
std::vector<int> dense_strides(const std::vector<int>& dims, bool channels_last) {
  const size_t rank = dims.size();
  std::vector<int> strides(rank);
  if (!channels_last) {
    strides[rank - 1] = 1;
    for (size_t i = rank - 1; i-- > 0;) strides[i] = strides[i + 1] * dims[i + 1];
    return strides;
  }
  strides[1] = 1;
  int running = dims[1];
  for (size_t i = rank - 1; i >= 2; --i) {
    strides[i] = running;
    running *= dims[i];
  }
  strides[0] = running;
  return strides;
}

cudnnDataType_t data_type(upsDataType_t dtype) {
  switch (dtype) {
    case UPS_DTYPE_F16:
      return CUDNN_DATA_HALF;
    case UPS_DTYPE_BF16:
      return CUDNN_DATA_BFLOAT16;
    default:
      return CUDNN_DATA_FLOAT;
  }
}

// The cuDNN descriptors of one problem, named by our tensors (see the NOTE in cudnn_runner.h):
// the convolution C maps y-shaped tensors to x-shaped ones with our weight as its filter; the
// bias gradient is a 1 x C_out x 1 (x 1 ...) tensor.
class Descriptors {
 public:
  explicit Descriptors(const Problem& problem) {
    check_cudnn(cudnnCreateTensorDescriptor(&x), "cudnnCreateTensorDescriptor");
    check_cudnn(cudnnCreateTensorDescriptor(&y), "cudnnCreateTensorDescriptor");
    check_cudnn(cudnnCreateTensorDescriptor(&bias), "cudnnCreateTensorDescriptor");
    check_cudnn(cudnnCreateFilterDescriptor(&filter), "cudnnCreateFilterDescriptor");
    check_cudnn(cudnnCreateConvolutionDescriptor(&conv), "cudnnCreateConvolutionDescriptor");

    OpDescriptors ours;
    std::string error;
    if (!build_descriptors(problem, UPS_ALGO_GATHER, &ours, &error)) throw std::runtime_error(error);
    const bool channels_last = problem.layout == UPS_LAYOUT_CHANNELS_LAST;
    const cudnnDataType_t type = data_type(problem.dtype);
    auto set_tensor = [&](cudnnTensorDescriptor_t desc, const upsTensorDesc_t& of, const char* what) {
      const std::vector<int> dims = dims_of(of), strides = dense_strides(dims, channels_last);
      check_cudnn(cudnnSetTensorNdDescriptor(desc, type, static_cast<int>(dims.size()), dims.data(), strides.data()),
                  what);
    };
    set_tensor(x, ours.x, "our x descriptor");
    set_tensor(y, ours.y, "our y descriptor");
    set_tensor(bias, ours.bias, "bias descriptor");
    x_dims_ = dims_of(ours.x);
    const std::vector<int> w_dims = dims_of(ours.w);
    check_cudnn(cudnnSetFilterNdDescriptor(filter, type, channels_last ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW,
                                           static_cast<int>(w_dims.size()), w_dims.data()),
                "filter (our weight) descriptor");

    const Shape& s = problem.shape;
    std::vector<int> pad, stride, dilation;
    if (s.dims == 1) {  // the H = 1 axis
      pad.push_back(0);
      stride.push_back(1);
      dilation.push_back(1);
    }
    for (size_t a = 0; a < static_cast<size_t>(s.dims); ++a) {
      pad.push_back(to_int(s.pad[a]));
      stride.push_back(to_int(s.stride[a]));
      dilation.push_back(to_int(s.dilation[a]));
    }
    check_cudnn(cudnnSetConvolutionNdDescriptor(conv, static_cast<int>(pad.size()), pad.data(), stride.data(),
                                                dilation.data(), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
                "convolution descriptor");
    check_cudnn(cudnnSetConvolutionGroupCount(conv, to_int(s.groups)), "cudnnSetConvolutionGroupCount");
  }
  ~Descriptors() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(filter);
    cudnnDestroyTensorDescriptor(bias);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;

  // Throws unless C maps our y's shape to our x's (output_padding < stride on every axis).
  void check_convolution_geometry() const {
    std::vector<int> derived(x_dims_.size());
    check_cudnn(
        cudnnGetConvolutionNdForwardOutputDim(conv, y, filter, static_cast<int>(derived.size()), derived.data()),
        "cudnnGetConvolutionNdForwardOutputDim");
    if (derived != x_dims_)
      throw std::runtime_error(
          "cuDNN's convolution of this geometry does not give x's extents back (output_padding >= stride), so no "
          "cuDNN call computes it");
  }

  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t filter = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

 private:
  std::vector<int> x_dims_;
};

const float kOne = 1.0f, kZero = 0.0f;  // alpha and beta: float for float, half and bfloat16 data

// The three convolution calls, in one shape for ConvolutionRunner: their algorithm enum and perf
// struct, algorithm names (indexed by the enum), workspace query, search and call, with our
// tensors in the roles of the NOTE in cudnn_runner.h.
struct BackwardDataCall {  // our conv_transpose
  using Algo = cudnnConvolutionBwdDataAlgo_t;
  using Perf = cudnnConvolutionBwdDataAlgoPerf_t;
  static constexpr int kCount = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
  static constexpr const char* kNames[kCount] = {
      "CUDNN_CONVOLUTION_BWD_DATA_ALGO_0",        "CUDNN_CONVOLUTION_BWD_DATA_ALGO_1",
      "CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT",      "CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING",
      "CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD", "CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED"};
  static constexpr const char* kCall = "cudnnConvolutionBackwardData";
  static constexpr const char* kFind = "cudnnFindConvolutionBackwardDataAlgorithmEx";

  static cudnnStatus_t workspace_size(cudnnHandle_t h, const Descriptors& d, Algo algo, size_t* bytes) {
    return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.filter, d.x, d.conv, d.y, algo, bytes);
  }
  static cudnnStatus_t find(cudnnHandle_t h, const Descriptors& d, const TensorSet& t, int* returned, Perf* perf,
                            void* workspace, size_t bytes) {
    return cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.filter, t.w, d.x, t.x, d.conv, d.y, t.y, kCount, returned,
                                                       perf, workspace, bytes);
  }
  static cudnnStatus_t run(cudnnHandle_t h, const Descriptors& d, Algo algo, const TensorSet& t, void* workspace,
                           size_t bytes) {
    return cudnnConvolutionBackwardData(h, &kOne, d.filter, t.w, d.x, t.x, d.conv, algo, workspace, bytes, &kZero, d.y,
                                        t.y);
  }
};

struct ForwardCall {  // our conv_transpose_backward_data
  using Algo = cudnnConvolutionFwdAlgo_t;
  using Perf = cudnnConvolutionFwdAlgoPerf_t;
  static constexpr int kCount = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
  static constexpr const char* kNames[kCount] = {
      "CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM", "CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM",
      "CUDNN_CONVOLUTION_FWD_ALGO_GEMM",          "CUDNN_CONVOLUTION_FWD_ALGO_DIRECT",
      "CUDNN_CONVOLUTION_FWD_ALGO_FFT",           "CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING",
      "CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD",      "CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED"};
  static constexpr const char* kCall = "cudnnConvolutionForward";
  static constexpr const char* kFind = "cudnnFindConvolutionForwardAlgorithmEx";

  static cudnnStatus_t workspace_size(cudnnHandle_t h, const Descriptors& d, Algo algo, size_t* bytes) {
    return cudnnGetConvolutionForwardWorkspaceSize(h, d.y, d.filter, d.conv, d.x, algo, bytes);
  }
  static cudnnStatus_t find(cudnnHandle_t h, const Descriptors& d, const TensorSet& t, int* returned, Perf* perf,
                            void* workspace, size_t bytes) {
    return cudnnFindConvolutionForwardAlgorithmEx(h, d.y, t.y, d.filter, t.w, d.conv, d.x, t.x, kCount, returned, perf,
                                                  workspace, bytes);
  }
  static cudnnStatus_t run(cudnnHandle_t h, const Descriptors& d, Algo algo, const TensorSet& t, void* workspace,
                           size_t bytes) {
    return cudnnConvolutionForward(h, &kOne, d.y, t.y, d.filter, t.w, d.conv, algo, workspace, bytes, &kZero, d.x, t.x);
  }
};

struct BackwardFilterCall {  // our conv_transpose_backward_weight
  using Algo = cudnnConvolutionBwdFilterAlgo_t;
  using Perf = cudnnConvolutionBwdFilterAlgoPerf_t;
  static constexpr int kCount = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
  static constexpr const char* kNames[kCount] = {
      "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0",         "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1",
      "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT",       "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3",
      "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD",  "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED",
      "CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING"};
  static constexpr const char* kCall = "cudnnConvolutionBackwardFilter";
  static constexpr const char* kFind = "cudnnFindConvolutionBackwardFilterAlgorithmEx";

  static cudnnStatus_t workspace_size(cudnnHandle_t h, const Descriptors& d, Algo algo, size_t* bytes) {
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.y, d.x, d.conv, d.filter, algo, bytes);
  }
  static cudnnStatus_t find(cudnnHandle_t h, const Descriptors& d, const TensorSet& t, int* returned, Perf* perf,
                            void* workspace, size_t bytes) {
    return cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.y, t.y, d.x, t.x, d.conv, d.filter, t.w, kCount, returned,
                                                         perf, workspace, bytes);
  }
  static cudnnStatus_t run(cudnnHandle_t h, const Descriptors& d, Algo algo, const TensorSet& t, void* workspace,
                           size_t bytes) {
    return cudnnConvolutionBackwardFilter(h, &kOne, d.y, t.y, d.x, t.x, d.conv, algo, workspace, bytes, &kZero,
                                          d.filter, t.w);
  }
};

template <typename Call>
const char* algorithm_name(typename Call::Algo algo) {
  const int index = static_cast<int>(algo);
  return index >= 0 && index < Call::kCount ? Call::kNames[index] : "CUDNN_CONVOLUTION_ALGO_?";
}

// One convolution call with the algorithm of cuDNN's own search.
template <typename Call>
class ConvolutionRunner : public Runner {
 public:
  ConvolutionRunner(cudnnHandle_t handle, const Problem& problem, cudnnMathType_t math, const TensorSet& search_set,
                    int preferred, CudnnChoice* choice)
      : handle_(handle), descriptors_(problem) {
    descriptors_.check_convolution_geometry();
    choice->math_requested = math_name(math);
    check_cudnn(cudnnSetConvolutionMathType(descriptors_.conv, math), "cudnnSetConvolutionMathType");
    const typename Call::Perf chosen = search(search_set, preferred, choice);
    algorithm_ = chosen.algo;
    // Run with the math type the search measured it with.
    check_cudnn(cudnnSetConvolutionMathType(descriptors_.conv, chosen.mathType), "cudnnSetConvolutionMathType");
    check_cudnn(Call::workspace_size(handle_, descriptors_, algorithm_, &workspace_bytes_),
                (std::string(Call::kCall) + "'s workspace size").c_str());
    workspace_ = Buffer(Memory::kDevice, workspace_bytes_);
  }

  void enqueue(const TensorSet& set) override {
    check_cudnn(Call::run(handle_, descriptors_, algorithm_, set, workspace_.get(), workspace_bytes_), Call::kCall);
  }

 private:
  typename Call::Perf search(const TensorSet& set, int preferred, CudnnChoice* choice) {
    // Workspace for the search: the most any algorithm asks for, within a quarter of free memory.
    size_t free_bytes = 0, total_bytes = 0, search_bytes = 0;
    BENCH_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    for (int a = 0; a < Call::kCount; ++a) {
      const auto algo = static_cast<typename Call::Algo>(a);
      size_t bytes = 0;
      if (Call::workspace_size(handle_, descriptors_, algo, &bytes) == CUDNN_STATUS_SUCCESS && bytes <= free_bytes / 4)
        search_bytes = std::max(search_bytes, bytes);
    }
    Buffer search_workspace(Memory::kDevice, search_bytes);
    typename Call::Perf perf[Call::kCount];
    int returned = 0;
    check_cudnn(Call::find(handle_, descriptors_, set, &returned, perf, search_workspace.get(), search_bytes),
                Call::kFind);

    const typename Call::Perf *fastest = nullptr, *wanted = nullptr;
    for (int i = 0; i < returned; ++i) {
      const typename Call::Perf& p = perf[i];
      CudnnAlgorithm entry;
      entry.name = algorithm_name<Call>(p.algo);
      entry.status = cudnnGetErrorString(p.status);
      entry.seconds = p.status == CUDNN_STATUS_SUCCESS ? static_cast<double>(p.time) * 1e-3 : -1;
      entry.workspace_bytes = p.memory;
      entry.math = math_name(p.mathType);
      entry.deterministic = p.determinism == CUDNN_DETERMINISTIC;
      choice->searched.push_back(entry);
      if (p.status != CUDNN_STATUS_SUCCESS) continue;
      if (fastest == nullptr) fastest = &p;  // cuDNN returns the fastest first
      if (wanted == nullptr && static_cast<int>(p.algo) == preferred) wanted = &p;
    }
    const typename Call::Perf* best = wanted != nullptr ? wanted : fastest;
    if (best == nullptr) throw std::runtime_error("cuDNN's search found no algorithm that runs this problem");
    choice->chosen = algorithm_name<Call>(best->algo);
    choice->chosen_id = static_cast<int>(best->algo);
    return *best;
  }

  cudnnHandle_t handle_;
  Descriptors descriptors_;
  typename Call::Algo algorithm_{};
  size_t workspace_bytes_ = 0;
  Buffer workspace_;
};

// Our conv_transpose_backward_bias: one call, no algorithm, no math type, no workspace.
class BiasRunner : public Runner {
 public:
  BiasRunner(cudnnHandle_t handle, const Problem& problem, CudnnChoice* choice)
      : handle_(handle), descriptors_(problem) {
    choice->chosen = "cudnnConvolutionBackwardBias";
  }

  void enqueue(const TensorSet& set) override {
    check_cudnn(
        cudnnConvolutionBackwardBias(handle_, &kOne, descriptors_.y, set.y, &kZero, descriptors_.bias, set.bias),
        "cudnnConvolutionBackwardBias");
  }

 private:
  cudnnHandle_t handle_;
  Descriptors descriptors_;
};

class CudnnSessionImpl : public CudnnSession {
 public:
  explicit CudnnSessionImpl(cudnnHandle_t handle) : handle_(handle) {}
  ~CudnnSessionImpl() override { cudnnDestroy(handle_); }

  std::string version() const override {
    const size_t v = cudnnGetVersion();  // major*10000 + minor*100 + patch since cuDNN 9
    return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
  }

  std::unique_ptr<Runner> make_runner(const Problem& problem, bool allow_tf32, const TensorSet& search_set,
                                      int preferred, CudnnChoice* choice) override {
    cudnnMathType_t math = CUDNN_TENSOR_OP_MATH;
    if (problem.dtype == UPS_DTYPE_F32) math = allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    switch (problem.op) {
      case Op::kConvTranspose:
        return std::make_unique<ConvolutionRunner<BackwardDataCall>>(handle_, problem, math, search_set, preferred,
                                                                     choice);
      case Op::kConvTransposeBackwardData:
        return std::make_unique<ConvolutionRunner<ForwardCall>>(handle_, problem, math, search_set, preferred, choice);
      case Op::kConvTransposeBackwardWeight:
        return std::make_unique<ConvolutionRunner<BackwardFilterCall>>(handle_, problem, math, search_set, preferred,
                                                                       choice);
      case Op::kConvTransposeBackwardBias:
        return std::make_unique<BiasRunner>(handle_, problem, choice);
      default:
        throw std::runtime_error(std::string("cuDNN has no call for ") + op_name(problem.op));
    }
  }

 private:
  cudnnHandle_t handle_;
};

}  // namespace

std::unique_ptr<CudnnSession> CudnnSession::open(cudaStream_t stream, std::string* why) {
  cudnnHandle_t handle = nullptr;
  cudnnStatus_t status = cudnnCreate(&handle);
  if (status == CUDNN_STATUS_SUCCESS) status = cudnnSetStream(handle, stream);
  if (status != CUDNN_STATUS_SUCCESS) {
    if (handle != nullptr) cudnnDestroy(handle);
    *why = std::string("cuDNN did not start: ") + cudnnGetErrorString(status);
    return nullptr;
  }
  return std::make_unique<CudnnSessionImpl>(handle);
}

}  // namespace upsample::bench

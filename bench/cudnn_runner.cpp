// cuDNN's backward-data convolution as a transposed convolution (see the NOTE in cudnn_runner.h).
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

const char* algorithm_name(cudnnConvolutionBwdDataAlgo_t algo) {
  switch (algo) {
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_0:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_0";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_1:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_1";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD";
    case CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED";
    default:
      return "CUDNN_CONVOLUTION_BWD_DATA_ALGO_?";
  }
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

// The four cuDNN descriptors of one problem (see the NOTE in cudnn_runner.h).
class Descriptors {
 public:
  Descriptors(const Problem& problem, cudnnMathType_t math) {
    check_cudnn(cudnnCreateTensorDescriptor(&dy), "cudnnCreateTensorDescriptor");
    check_cudnn(cudnnCreateTensorDescriptor(&dx), "cudnnCreateTensorDescriptor");
    check_cudnn(cudnnCreateFilterDescriptor(&filter), "cudnnCreateFilterDescriptor");
    check_cudnn(cudnnCreateConvolutionDescriptor(&conv), "cudnnCreateConvolutionDescriptor");

    OpDescriptors ours;
    std::string error;
    if (!build_descriptors(problem, UPS_ALGO_GATHER, &ours, &error)) throw std::runtime_error(error);
    const bool channels_last = problem.layout == UPS_LAYOUT_CHANNELS_LAST;
    const cudnnDataType_t type = data_type(problem.dtype);
    const std::vector<int> x_dims = dims_of(ours.x), y_dims = dims_of(ours.y), w_dims = dims_of(ours.w);
    const std::vector<int> x_strides = dense_strides(x_dims, channels_last),
                           y_strides = dense_strides(y_dims, channels_last);
    const int rank = static_cast<int>(x_dims.size());
    check_cudnn(cudnnSetTensorNdDescriptor(dy, type, rank, x_dims.data(), x_strides.data()), "dy (our x) descriptor");
    check_cudnn(cudnnSetTensorNdDescriptor(dx, type, rank, y_dims.data(), y_strides.data()), "dx (our y) descriptor");
    check_cudnn(cudnnSetFilterNdDescriptor(filter, type, channels_last ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, rank,
                                           w_dims.data()),
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
    check_cudnn(cudnnSetConvolutionMathType(conv, math), "cudnnSetConvolutionMathType");
  }
  ~Descriptors() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(filter);
    cudnnDestroyTensorDescriptor(dx);
    cudnnDestroyTensorDescriptor(dy);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;

  cudnnTensorDescriptor_t dy = nullptr, dx = nullptr;
  cudnnFilterDescriptor_t filter = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
};

class CudnnRunner : public Runner {
 public:
  CudnnRunner(cudnnHandle_t handle, const Problem& problem, cudnnMathType_t math, const TensorSet& search_set,
              int preferred, CudnnChoice* choice)
      : handle_(handle), descriptors_(problem, math) {
    choice->math_requested = math_name(math);
    const cudnnConvolutionBwdDataAlgoPerf_t chosen = search(search_set, preferred, choice);
    algorithm_ = chosen.algo;
    // Run with the math type the search measured it with.
    check_cudnn(cudnnSetConvolutionMathType(descriptors_.conv, chosen.mathType), "cudnnSetConvolutionMathType");
    check_cudnn(
        cudnnGetConvolutionBackwardDataWorkspaceSize(handle_, descriptors_.filter, descriptors_.dy, descriptors_.conv,
                                                     descriptors_.dx, algorithm_, &workspace_bytes_),
        "cudnnGetConvolutionBackwardDataWorkspaceSize");
    workspace_ = Buffer(Memory::kDevice, workspace_bytes_);
  }

  void enqueue(const TensorSet& set) override {
    const float one = 1.0f, zero = 0.0f;
    check_cudnn(cudnnConvolutionBackwardData(handle_, &one, descriptors_.filter, set.w, descriptors_.dy, set.x,
                                             descriptors_.conv, algorithm_, workspace_.get(), workspace_bytes_, &zero,
                                             descriptors_.dx, set.y),
                "cudnnConvolutionBackwardData");
  }

 private:
  cudnnConvolutionBwdDataAlgoPerf_t search(const TensorSet& set, int preferred, CudnnChoice* choice) {
    // Workspace for the search: the most any algorithm asks for, within a quarter of free memory.
    size_t free_bytes = 0, total_bytes = 0, search_bytes = 0;
    BENCH_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    for (int a = 0; a < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT; ++a) {
      size_t bytes = 0;
      if (cudnnGetConvolutionBackwardDataWorkspaceSize(handle_, descriptors_.filter, descriptors_.dy, descriptors_.conv,
                                                       descriptors_.dx, static_cast<cudnnConvolutionBwdDataAlgo_t>(a),
                                                       &bytes) == CUDNN_STATUS_SUCCESS &&
          bytes <= free_bytes / 4)
        search_bytes = std::max(search_bytes, bytes);
    }
    Buffer search_workspace(Memory::kDevice, search_bytes);
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int returned = 0;
    check_cudnn(cudnnFindConvolutionBackwardDataAlgorithmEx(handle_, descriptors_.filter, set.w, descriptors_.dy, set.x,
                                                            descriptors_.conv, descriptors_.dx, set.y,
                                                            CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf,
                                                            search_workspace.get(), search_bytes),
                "cudnnFindConvolutionBackwardDataAlgorithmEx");

    const cudnnConvolutionBwdDataAlgoPerf_t *fastest = nullptr, *wanted = nullptr;
    for (int i = 0; i < returned; ++i) {
      const cudnnConvolutionBwdDataAlgoPerf_t& p = perf[i];
      CudnnAlgorithm entry;
      entry.name = algorithm_name(p.algo);
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
    const cudnnConvolutionBwdDataAlgoPerf_t* best = wanted != nullptr ? wanted : fastest;
    if (best == nullptr) throw std::runtime_error("cuDNN's search found no algorithm that runs this problem");
    choice->chosen = algorithm_name(best->algo);
    choice->chosen_id = static_cast<int>(best->algo);
    return *best;
  }

  cudnnHandle_t handle_;
  Descriptors descriptors_;
  cudnnConvolutionBwdDataAlgo_t algorithm_ = CUDNN_CONVOLUTION_BWD_DATA_ALGO_0;
  size_t workspace_bytes_ = 0;
  Buffer workspace_;
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
    if (problem.shape.op != Op::kConvTranspose) throw std::runtime_error("cuDNN rows are transposed convolutions only");
    cudnnMathType_t math = CUDNN_TENSOR_OP_MATH;
    if (problem.dtype == UPS_DTYPE_F32) math = allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    return std::make_unique<CudnnRunner>(handle_, problem, math, search_set, preferred, choice);
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

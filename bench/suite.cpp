#include "suite.h"

#include <exception>
#include <map>
#include <tuple>

#include "cuda_check.h"
#include "cudnn_runner.h"
#include "upsample_runner.h"
#include "validation.h"

namespace upsample::bench {
namespace {

OpDescriptors descriptors_or_throw(const Problem& problem, Impl impl) {
  OpDescriptors d;
  std::string error;
  if (!build_descriptors(problem, algorithm_of(impl), &d, &error, math_mode_of(impl)))
    throw std::runtime_error(error);
  return d;
}

// The current device's compute capability (major * 10 + minor), 0 if it cannot be read.
int device_compute_capability() {
  int device = 0, major = 0, minor = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return major * 10 + minor;
}

// Median, throughput, floor and % of floor of a timed row (NOTE [ The floor ]).
void fill_metrics(Row& row, const Peaks& peaks) {
  Problem timed = row.problem;
  timed.shape = row.timed_shape;
  row.work = count_work(timed);
  row.median = row.timing.median();
  if (row.median <= 0) return;
  row.gbps = row.work.bytes / row.median / 1e9;
  row.gflops = row.work.flops / row.median / 1e9;
  row.floor_peak = peaks.simt_peak_label(row.problem.dtype);
  row.floor = floor_of(row.work.flops, row.work.bytes, peaks.simt_peak(row.problem.dtype), peaks.bandwidth);
  row.pct_of_floor = 100.0 * row.floor.seconds / row.median;
}

class GpuSuite : public Suite {
 public:
  GpuSuite(const Peaks& peaks, const TimingOptions& timing, uint64_t seed, std::string* cudnn_note)
      : peaks_(peaks),
        timing_(timing),
        seed_(seed),
        stream_(make_stream()),
        flusher_(stream_),
        validator_(seed, stream_),
        compute_capability_(device_compute_capability()) {
    cudnn_ = CudnnSession::open(stream_, &cudnn_unavailable_);
    *cudnn_note = cudnn_ ? "cuDNN " + cudnn_->version() : cudnn_unavailable_;
  }
  ~GpuSuite() override {
    cudnn_.reset();  // its handle is bound to the stream
    cudaStreamDestroy(stream_);
  }

  void run(Row& row) override {
    row.timed_shape = row.problem.shape;
    // What AUTO picks on this device for the row's problem and math mode (a forward transposed
    // convolution; the same decision a CUDA handle makes, NOTE in src/dispatch.cpp).
    if (compute_capability_ > 0)
      row.auto_choice = auto_choice(row.problem, math_mode_of(row.impl), compute_capability_);
    try {
      run_row(row);
    } catch (const std::exception& e) {
      // cuDNN declining a problem (a layout, dtype or size it does not run here) is not upsample's
      // failure: the row is unavailable. Anything else is an error of the row.
      row.status = is_cudnn(row.impl) ? RowStatus::kUnavailable : RowStatus::kError;
      row.message = e.what();
    }
  }

 private:
  static cudaStream_t make_stream() {
    cudaStream_t stream = nullptr;
    BENCH_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));  // graphs need a non-default stream
    return stream;
  }

  std::unique_ptr<Runner> make_runner(const Problem& problem, Impl impl, const TensorSet& set, int preferred,
                                      CudnnChoice* choice) {
    if (is_cudnn(impl)) return cudnn_->make_runner(problem, impl == Impl::kCudnnTf32, set, preferred, choice);
    return std::make_unique<UpsampleRunner>(UPS_BACKEND_CUDA, stream_, problem, descriptors_or_throw(problem, impl));
  }

  void run_row(Row& row) {
    if (is_cudnn(row.impl) && !cudnn_) {
      row.status = RowStatus::kUnavailable;
      row.message = cudnn_unavailable_;
      return;
    }
    // Full-size tensors first: a cuDNN row's search on them decides the algorithm that is then
    // validated and timed.
    const OpDescriptors descriptors = descriptors_or_throw(row.problem, row.impl);
    ProblemTensors tensors(row.problem, descriptors, Memory::kDevice, seed_, stream_);
    std::unique_ptr<Runner> runner = make_runner(row.problem, row.impl, tensors.set(0), -1, &row.cudnn);

    std::string validated_with;
    row.validation = validator_.check(row.problem, row.impl, [&](const Problem& reduced, const TensorSet& set) {
      CudnnChoice choice;
      std::unique_ptr<Runner> small = make_runner(reduced, row.impl, set, row.cudnn.chosen_id, &choice);
      validated_with = choice.chosen;
      return small;
    });
    if (!validated_with.empty()) row.validation.note = "validated with " + validated_with;
    if (!row.validation.passed) {
      row.status = RowStatus::kValidationFailed;
      row.message = "wrong results on the reduced copy: not timed";
      return;
    }
    row.timing = time_on_gpu(*runner, tensors, stream_, flusher_, timing_, row.label());
    fill_metrics(row, peaks_);
  }

  Peaks peaks_;
  TimingOptions timing_;
  uint64_t seed_;
  cudaStream_t stream_;
  L2Flusher flusher_;
  Validator validator_;
  std::unique_ptr<CudnnSession> cudnn_;
  std::string cudnn_unavailable_;
  int compute_capability_;
};

class HostSuite : public Suite {
 public:
  HostSuite(const Peaks& peaks, const TimingOptions& timing, uint64_t seed, const ReduceLimits& limits)
      : peaks_(peaks), timing_(timing), seed_(seed), limits_(limits) {}

  void run(Row& row) override {
    row.timed_shape = reduce_shape(row.problem.shape, limits_);
    // No device: AUTO's choice on the plan's GPU (an H100, sm_90) for the full shape.
    row.auto_choice = auto_choice(row.problem, math_mode_of(row.impl), kPlanComputeCapability);
    row.validation.note = "not validated: the REFERENCE backend is what GPU rows are validated against";
    try {
      Problem timed = row.problem;
      timed.shape = row.timed_shape;
      const OpDescriptors descriptors = descriptors_or_throw(timed, row.impl);
      ProblemTensors tensors(timed, descriptors, Memory::kHost, seed_, nullptr);
      UpsampleRunner runner(UPS_BACKEND_REFERENCE, nullptr, timed, descriptors);
      row.timing = time_on_host(runner, tensors, timing_, row.label());
      fill_metrics(row, peaks_);
    } catch (const std::exception& e) {
      row.status = RowStatus::kError;
      row.message = e.what();
    }
  }

 private:
  Peaks peaks_;
  TimingOptions timing_;
  uint64_t seed_;
  ReduceLimits limits_;
};

}  // namespace

std::vector<Problem> plan_problems(const std::vector<Shape>& shapes, const Options& options) {
  std::vector<Problem> plan;
  for (const Shape& shape : shapes)
    for (Op op : ops_of_layer(shape.op)) {
      if (!op_selected(options, op)) continue;
      Problem problem;
      problem.shape = shape;
      problem.op = op;
      plan.push_back(problem);
    }
  return plan;
}

std::vector<Row> plan_rows(const std::vector<Problem>& plan, const Options& options, bool gpu) {
  const std::vector<upsDataType_t> dtypes =
      options.dtypes.empty() ? std::vector<upsDataType_t>{UPS_DTYPE_F32, UPS_DTYPE_F16, UPS_DTYPE_BF16}
                             : options.dtypes;
  const std::vector<upsLayout_t> layouts =
      options.layouts.empty() ? std::vector<upsLayout_t>{UPS_LAYOUT_CHANNELS_FIRST, UPS_LAYOUT_CHANNELS_LAST}
                              : options.layouts;
  std::vector<Row> rows;
  for (const Problem& problem : plan)
    for (upsDataType_t dtype : dtypes)
      for (upsLayout_t layout : layouts) {
        const std::vector<Impl> impls = gpu ? gpu_impls_for(problem.op, dtype) : std::vector<Impl>{Impl::kReference};
        for (Impl impl : impls) {
          if (!selected(options.impls, impl)) continue;
          Row row;
          row.problem = problem;
          row.problem.dtype = dtype;
          row.problem.layout = layout;
          row.impl = impl;
          row.timed_shape = problem.shape;
          rows.push_back(row);
        }
      }
  return rows;
}

std::unique_ptr<Suite> make_gpu_suite(const Peaks& peaks, const TimingOptions& timing, uint64_t seed,
                                      std::string* cudnn_note) {
  return std::make_unique<GpuSuite>(peaks, timing, seed, cudnn_note);
}

std::unique_ptr<Suite> make_host_suite(const Peaks& peaks, const TimingOptions& timing, uint64_t seed,
                                       const ReduceLimits& limits) {
  return std::make_unique<HostSuite>(peaks, timing, seed, limits);
}

void compare_with_cudnn(std::vector<Row>& rows) {
  using Key = std::tuple<std::string, Op, int, int, Impl>;
  auto key = [](const Row& row, Impl impl) {
    return Key{row.problem.shape.name, row.problem.op, row.problem.dtype, row.problem.layout, impl};
  };
  std::map<Key, double> medians;
  for (const Row& row : rows)
    if (row.timed() && is_cudnn(row.impl)) medians[key(row, row.impl)] = row.median;
  for (Row& row : rows) {
    if (!row.timed()) continue;
    auto speedup = [&](Impl baseline) {
      if (row.impl == baseline) return 0.0;
      const auto it = medians.find(key(row, baseline));
      return it == medians.end() ? 0.0 : it->second / row.median;
    };
    row.speedup_vs_cudnn = speedup(Impl::kCudnn);
    row.speedup_vs_cudnn_tf32 = speedup(Impl::kCudnnTf32);
    // A TF32 row races cuDNN in TF32; an exact-f32, f16 or bf16 row cuDNN's default.
    row.speedup_vs_matching_cudnn = uses_tf32(row.impl) ? row.speedup_vs_cudnn_tf32 : row.speedup_vs_cudnn;
  }
}

}  // namespace upsample::bench

#include "validation.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "random_fill.h"
#include "upsample_runner.h"

namespace upsample::bench {
namespace {

void compare(upsDataType_t dtype, const std::vector<unsigned char>& actual, const std::vector<unsigned char>& expected,
             Validation* v) {
  if (actual.size() != expected.size()) throw std::runtime_error("validation: output sizes differ");
  const int64_t count = static_cast<int64_t>(actual.size()) / dtype_bytes(dtype);
  double diff2 = 0, ref2 = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double a = element_value(dtype, actual.data(), i), e = element_value(dtype, expected.data(), i);
    if (!std::isfinite(e)) continue;  // random inputs in [-1, 1) never give one; skip rather than guess
    if (!std::isfinite(a)) {
      ++v->non_finite;
      continue;
    }
    const double d = std::fabs(a - e);
    v->max_abs_error = std::max(v->max_abs_error, d);
    diff2 += d * d;
    ref2 += e * e;
  }
  v->relative_error = ref2 > 0 ? std::sqrt(diff2 / ref2) : std::sqrt(diff2);
  v->passed = v->non_finite == 0 && (v->tolerance == 0 ? v->max_abs_error == 0 : v->relative_error <= v->tolerance);
}

}  // namespace

double validation_tolerance(Op op, upsDataType_t dtype, Impl impl) {
  if (moves_data_only(op)) return 0;  // exact
  if (dtype == UPS_DTYPE_F16 || dtype == UPS_DTYPE_BF16) return 1e-2;
  if (uses_tf32(impl)) return 5e-3;  // implicit_gemm_tf32, cudnn_tf32
  if (impl == Impl::kCudnn) return 1e-4;
  return 1e-5;
}

const std::vector<unsigned char>& Validator::reference_output(const Problem& reduced) {
  const std::string key = std::string(op_name(reduced.op)) + " " + reduced.shape.to_line() + " " +
                          dtype_name(reduced.dtype) + " " + layout_name(reduced.layout);
  const auto cached = cache_.find(key);
  if (cached != cache_.end()) return cached->second;
  OpDescriptors d;
  std::string error;
  if (!build_descriptors(reduced, UPS_ALGO_AUTO, &d, &error)) throw std::runtime_error("validation: " + error);
  ProblemTensors tensors(reduced, d, Memory::kHost, seed_, nullptr);
  UpsampleRunner reference(UPS_BACKEND_REFERENCE, nullptr, reduced, d);
  reference.enqueue(tensors.set(0));
  return cache_.emplace(key, tensors.output_bytes(0)).first->second;
}

Validation Validator::check(const Problem& problem, Impl impl, const RunnerFactory& make_runner) {
  Problem reduced = problem;
  reduced.shape = reduce_shape(problem.shape, kValidationLimits);
  Validation v;
  v.ran = true;
  v.shape = reduced.shape.summary();
  v.tolerance = validation_tolerance(problem.op, problem.dtype, impl);

  const std::vector<unsigned char>& expected = reference_output(reduced);
  OpDescriptors d;
  std::string error;
  if (!build_descriptors(reduced, UPS_ALGO_AUTO, &d, &error)) throw std::runtime_error("validation: " + error);
  ProblemTensors tensors(reduced, d, Memory::kDevice, seed_, stream_);
  std::unique_ptr<Runner> runner = make_runner(reduced, tensors.set(0));
  tensors.poison_output(0);  // a cuDNN search has written y: only the call under test may
  runner->enqueue(tensors.set(0));
  compare(problem.dtype, tensors.output_bytes(0), expected, &v);
  return v;
}

}  // namespace upsample::bench

#include "measure.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <functional>

#include "cuda_check.h"

namespace upsample::bench {
namespace {

constexpr int kWarmupLaunches = 3;
constexpr int kProbeLaunches = 3;
constexpr double kGraphSeconds = 1e-3;  // work per graph launch
constexpr int kMinGraphLaunches = 8;
constexpr int kMaxGraphLaunches = 1000;
constexpr int kMaxBufferSets = 128;

// Google Benchmark prints nothing: the suite has its own table, progress bar and JSON.
class SilentReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>&) override {}
};

// Registers one benchmark whose iterations each call `iteration` (which returns the seconds it
// measured), runs it until `min_time` of measured time, and unregisters it. Registering one row
// at a time keeps only that row's tensors alive. An exception from `iteration` stops the run and
// is rethrown here.
void run_google_benchmark(const std::string& name, double min_time, const std::function<double()>& iteration) {
  std::exception_ptr failure;
  benchmark::RegisterBenchmark(name.c_str(),
                               [&](benchmark::State& state) {
                                 for (auto _ : state) {
                                   try {
                                     state.SetIterationTime(iteration());
                                   } catch (...) {
                                     failure = std::current_exception();
                                     state.SkipWithError("the measured call failed");
                                     break;
                                   }
                                 }
                               })
      ->UseManualTime()
      ->MinTime(std::max(min_time, 1e-6))  // Google Benchmark requires a positive minimum
      ->Unit(benchmark::kMicrosecond);
  SilentReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter, ".");  // "." matches the one registered name
  benchmark::ClearRegisteredBenchmarks();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

double Timing::median() const { return quantile(0.5); }

double Timing::quantile(double q) const {
  if (samples.empty()) return 0;
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const double position = q * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return sorted[below] + fraction * (sorted[above] - sorted[below]);
}

std::string Timing::describe() const {
  std::string text = method;
  if (method == "graph")
    text += " x" + std::to_string(launches_per_sample) + ", " + std::to_string(buffer_sets) + " sets";
  if (l2_flushed) text += ", L2 flushed";
  return text;
}

Timing time_on_gpu(Runner& runner, ProblemTensors& tensors, cudaStream_t stream, L2Flusher& flusher,
                   const TimingOptions& options, const std::string& name) {
  Timing timing;
  timing.l2_flushed = true;
  EventTimer timer(stream);

  for (int i = 0; i < kWarmupLaunches; ++i) runner.enqueue(tensors.set(0));
  BENCH_CUDA_CHECK(cudaStreamSynchronize(stream));

  auto time_single = [&] {
    flusher.flush();
    timer.start();
    runner.enqueue(tensors.set(0));
    timer.stop();
    return timer.seconds();
  };
  std::vector<double> probe;
  for (int i = 0; i < kProbeLaunches; ++i) probe.push_back(time_single());
  std::sort(probe.begin(), probe.end());
  const double single = probe[probe.size() / 2];
  timing.single_launch = single;

  bool use_graph =
      options.graph == GraphMode::kAlways || (options.graph == GraphMode::kAuto && single < options.graph_below);
  if (use_graph && !runner.capturable()) {
    timing.note = "not graph-captured: the op synchronizes its stream inside the call";
    use_graph = false;
  }
  CapturedGraph graph;
  if (use_graph) {
    const double set_bytes = std::max<double>(1.0, static_cast<double>(tensors.set_bytes()));
    const int sets = std::clamp(
        static_cast<int>(std::ceil(2.0 * static_cast<double>(flusher.l2_bytes()) / set_bytes)) + 1, 1, kMaxBufferSets);
    const int launches = std::clamp(static_cast<int>(std::ceil(kGraphSeconds / std::max(single, 1e-7))),
                                    kMinGraphLaunches, kMaxGraphLaunches);
    tensors.grow(sets);
    std::string why;
    if (graph.capture(
            stream, launches, [&](int k) { runner.enqueue(tensors.set(k % sets)); }, &why)) {
      timing.method = "graph";
      timing.launches_per_sample = launches;
      timing.buffer_sets = sets;
      graph.launch(stream);  // warm-up: the first launch of a graph uploads it
      BENCH_CUDA_CHECK(cudaStreamSynchronize(stream));
    } else {
      timing.note = "graph capture failed (" + why + "); timed as single launches";
    }
  }

  const bool graphed = timing.method == "graph";
  const int per_sample = timing.launches_per_sample;
  run_google_benchmark(name, options.min_time, [&] {
    double seconds = 0;
    if (graphed) {
      flusher.flush();
      timer.start();
      graph.launch(stream);
      timer.stop();
      seconds = timer.seconds();
    } else {
      seconds = time_single();
    }
    timing.samples.push_back(seconds / per_sample);
    return seconds;
  });
  return timing;
}

Timing time_on_host(Runner& runner, ProblemTensors& tensors, const TimingOptions& options, const std::string& name) {
  Timing timing;
  timing.method = "host";
  runner.enqueue(tensors.set(0));  // warm-up: first touch of the pages
  run_google_benchmark(name, options.min_time, [&] {
    const auto begin = std::chrono::steady_clock::now();
    runner.enqueue(tensors.set(0));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    timing.samples.push_back(seconds);
    return seconds;
  });
  return timing;
}

}  // namespace upsample::bench

// Command line of upsample_bench: filters, user shapes, output and timing settings. Google
// Benchmark's own --benchmark_* flags are taken out by benchmark::Initialize before these are read.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "measure.h"
#include "problems.h"
#include "shape.h"

namespace upsample::bench {

struct Options {
  // Filters; an empty list selects everything.
  std::vector<Op> ops;                      // forward ops and gradients (shape.h)
  std::vector<Direction> directions;        // forward, backward
  std::vector<std::string> shape_patterns;  // a shape's name, or a prefix of it ("hifigan" selects hifigan.*)
  std::vector<upsDataType_t> dtypes;
  std::vector<upsLayout_t> layouts;
  std::vector<Impl> impls;

  // Shapes beyond the built-in table (NOTE [ Shape text format ] in shape.h).
  std::vector<std::string> added_shapes;  // --add-shape, one line each
  std::vector<std::string> shape_files;   // --shapes-file
  bool builtin = true;                    // --no-builtin: only the shapes given above

  std::string json_path = "bench_results.json";
  double min_time = -1;  // seconds of measured time per row; < 0: the mode's default
  GraphMode graph = GraphMode::kAuto;
  double graph_below_us = 50;
  bool quick = false;
  bool list_only = false;
  bool progress = true;
  bool no_gpu = false;  // run the no-GPU mode even where a GPU exists
  uint64_t seed = 2024;
};

// Parses what benchmark::Initialize left. On error returns false with a message.
bool parse_options(int argc, char** argv, Options* options, std::string* error);
void print_usage(FILE* out);

// The built-in and user shapes, filtered by --shape and by having an op that --op and
// --direction select, with user shapes named user.1, ... where unnamed. Fails on an unreadable
// file, a bad line, a duplicate name, or a --shape pattern that matches nothing.
bool select_shapes(const Options& options, std::vector<Shape>* shapes, std::string* error);

template <typename T>
bool selected(const std::vector<T>& filter, const T& value) {
  if (filter.empty()) return true;
  for (const T& f : filter)
    if (f == value) return true;
  return false;
}

// Whether --op and --direction both select an op.
inline bool op_selected(const Options& options, Op op) {
  return selected(options.ops, op) && selected(options.directions, direction_of(op));
}

}  // namespace upsample::bench

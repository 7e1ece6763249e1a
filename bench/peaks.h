// What the hardware allows: memory bandwidth and arithmetic peaks, measured once at start on a GPU
// (or the nominal H100 SXM figures where there is none), and the floor they put under a row.
//
// NOTE [ The floor ]
// floor = max(minimal bytes / bandwidth, useful FLOPs / peak), with bytes and FLOPs from
// NOTE [ Useful work ] (problems.h). No implementation can beat it on this GPU, except one that
// uses faster arithmetic than the peak counted: the peak is the dtype's non-tensor-core FMA rate
// (fp32 FFMA for f32 rows, packed HFMA2 for f16 and bf16 rows), which is what upsample's kernels
// can use. cuDNN rows running on tensor cores (f16, bf16, TF32) may therefore show more than 100%
// of the floor; the tensor-core peaks are listed beside it for that reading.
// Measured numbers: bandwidth from a device-to-device cudaMemcpy (read + write bytes over the best
// of several copies of a buffer far larger than L2); FMA peaks from a kernel whose every thread runs
// independent FMA chains in registers, over enough blocks to fill every SM (best of several runs).
#pragma once

#include <string>

#include "upsample/upsample.h"

namespace upsample::bench {

struct Peaks {
  std::string source;  // "measured on NVIDIA H100 80GB HBM3" or "nominal H100 SXM (no GPU here)"
  bool measured = false;
  double bandwidth = 0;    // bytes/s
  double fp32 = 0;         // FLOP/s, fp32 FFMA
  double f16 = 0;          // FLOP/s, packed f16 HFMA2
  double bf16 = 0;         // FLOP/s, packed bf16 HFMA2
  double tf32_tensor = 0;  // FLOP/s, dense TF32 tensor cores; 0 when unknown (never measured)
  double f16_tensor = 0;   // FLOP/s, dense f16/bf16 tensor cores; 0 when unknown
  std::string bandwidth_method;
  std::string peak_method;

  // The arithmetic peak the floor of a row of this dtype uses (NOTE [ The floor ]).
  double simt_peak(upsDataType_t dtype) const;
  const char* simt_peak_label(upsDataType_t dtype) const;
};

struct Floor {
  double seconds = 0;
  bool compute_bound = false;  // FLOPs / peak is the larger term
};
Floor floor_of(double flops, double bytes, double peak_flops, double bandwidth);

// H100 SXM5 datasheet figures, rounded: 3.35 TB/s HBM3, ~60 TFLOP/s fp32 FFMA, 2x that with packed
// half FMA, ~495 TFLOP/s dense TF32 and ~990 dense f16/bf16 on tensor cores.
Peaks nominal_h100_sxm();
// The nominal GPU's compute capability (sm_90): the no-GPU plan asks the library which algorithm
// AUTO would run there (upsConvTransposePlanAlgorithm).
inline constexpr int kPlanComputeCapability = 90;

// Measures the current device (peaks.cu). Throws std::runtime_error on a CUDA failure.
Peaks measure_device_peaks();

}  // namespace upsample::bench

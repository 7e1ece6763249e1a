// The host half of peaks.h: nominal figures and the floor (measurement is in peaks.cu).
#include "peaks.h"

#include <algorithm>

namespace upsample::bench {

double Peaks::simt_peak(upsDataType_t dtype) const {
  switch (dtype) {
    case UPS_DTYPE_F16:
      return f16;
    case UPS_DTYPE_BF16:
      return bf16;
    default:
      return fp32;
  }
}

const char* Peaks::simt_peak_label(upsDataType_t dtype) const {
  switch (dtype) {
    case UPS_DTYPE_F16:
      return "f16 HFMA2";
    case UPS_DTYPE_BF16:
      return "bf16 HFMA2";
    default:
      return "fp32 FFMA";
  }
}

Floor floor_of(double flops, double bytes, double peak_flops, double bandwidth) {
  Floor floor;
  const double memory_seconds = bandwidth > 0 ? bytes / bandwidth : 0;
  const double compute_seconds = peak_flops > 0 ? flops / peak_flops : 0;
  floor.seconds = std::max(memory_seconds, compute_seconds);
  floor.compute_bound = compute_seconds > memory_seconds;
  return floor;
}

Peaks nominal_h100_sxm() {
  Peaks peaks;
  peaks.source = "nominal H100 SXM (datasheet, not measured)";
  peaks.measured = false;
  peaks.bandwidth = 3.35e12;
  peaks.fp32 = 60e12;
  peaks.f16 = 120e12;  // packed half FMA: two lanes per fp32 FMA slot
  peaks.bf16 = 120e12;
  peaks.tf32_tensor = 495e12;
  peaks.f16_tensor = 990e12;
  peaks.bandwidth_method = "HBM3 datasheet figure";
  peaks.peak_method = "datasheet figures, dense (no sparsity)";
  return peaks;
}

}  // namespace upsample::bench

// The one include that every file under cuda/ starts from.
//
// Under nvcc it is the CUDA runtime with the fp16/bf16 types. Under the host compiler with
// UPS_EMULATION defined it is the emulation layer (cuda/emu/emu_runtime.h), which gives the same
// names their meaning on the CPU: see NOTE [ Emulation layer ] there. Kernel sources are never
// forked: everything they use must come through this header.
#pragma once

#if defined(UPS_EMULATION)
#include "cuda/emu/emu_runtime.h"
#else
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

// Dynamic shared memory, declared the same way under nvcc and under the emulation layer.
#define UPS_DYNAMIC_SHARED(ElementT, name)                                   \
  extern __shared__ __align__(16) unsigned char ups_dynamic_shared_bytes[]; \
  ElementT* name = reinterpret_cast<ElementT*>(ups_dynamic_shared_bytes)
#endif

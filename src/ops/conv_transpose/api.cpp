// The transposed-convolution family's C entry points: one Op row per entry point, run by the one
// entry path (NOTE [ Entry path ] in src/entry.h). Algorithms are resolved and checked by
// src/dispatch (choose_* and conv_transpose_can_implement).
#include <cstdint>
#include <cstring>
#include <string>

#include "cuda/conv_transpose/conv_transpose.h"
#include "cuda/conv_transpose/implicit_gemm/implicit_gemm.h"
#include "src/descriptor.h"
#include "src/dispatch.h"
#include "src/entry.h"
#include "src/ops/conv_transpose/conv_transpose.h"

namespace upsample::detail {
namespace {

struct ConvTransposeForwardOp : OpDefaults {
  using Problem = ConvTransposeProblem;
  struct Args {
    const upsConvTransposeDesc_t* desc;
    const upsTensorDesc_t* x_desc;
    const void* x;
    const upsTensorDesc_t* w_desc;
    const void* w;
    const void* bias;
    const upsTensorDesc_t* y_desc;
    void* y;
  };
  static upsStatus_t validate(const Args& a, Problem* p) {
    UPS_RETURN_IF_ERROR(validate_conv_transpose(a.desc, a.x_desc, a.w_desc, a.y_desc, p));  // options too
    p->has_bias = a.bias != nullptr;
    p->bias = channel_vector(p->output);
    return UPS_STATUS_SUCCESS;
  }
  static void resolve(Problem* p, upsBackend_t backend) {
    p->auto_algorithm = p->algorithm == UPS_ALGO_AUTO;
    p->algorithm = choose_conv_transpose_algorithm(*p, p->algorithm, p->deterministic, backend).algorithm;
  }
  static upsStatus_t can_implement(const Problem& p, upsBackend_t backend) {
    return conv_transpose_can_implement(p, backend);
  }
  static DataArgs data(const Args& a, const Problem& p) {
    // A null bias has zero elements: every pointer check skips it.
    return {{"x", a.x, &p.input, false},
            {"w", a.w, &p.weight, false},
            {"bias", a.bias, p.has_bias ? &p.bias : &p.no_bias, false},
            {"y", a.y, &p.output, true}};
  }
  static upsStatus_t reference(const Args& a, const Problem& p) {
    return reference::conv_transpose_forward(p, a.x, a.w, a.bias, a.y);
  }
  static size_t workspace_bytes(const Problem& p) {
    if (p.algorithm == UPS_ALGO_IMPLICIT_GEMM) return cuda::conv_transpose_implicit_gemm_workspace_bytes(p, p.allow_tf32);
    return cuda::conv_transpose_workspace_bytes(p, p.algorithm);
  }
  static upsStatus_t cuda(const Args& a, const Problem& p, const cuda::ExecContext& exec) {
    if (p.algorithm == UPS_ALGO_IMPLICIT_GEMM) {
      // AUTO promised any element-aligned x a result: an x the engine would read in place but that
      // is not 16-byte aligned (a view into a larger tensor, say) runs GATHER, which needs no
      // workspace. A caller who forced IMPLICIT_GEMM gets the engine's MISALIGNED instead.
      const bool x_misaligned = reinterpret_cast<uintptr_t>(a.x) % 16 != 0;
      if (!(p.auto_algorithm && x_misaligned && cuda::conv_transpose_implicit_gemm_needs_aligned_input(p, p.allow_tf32)))
        return cuda::conv_transpose_implicit_gemm_forward(p, p.allow_tf32, a.x, a.w, a.bias, a.y, exec);
      return cuda::conv_transpose_forward(p, UPS_ALGO_GATHER, a.x, a.w, a.bias, a.y, exec);
    }
    return cuda::conv_transpose_forward(p, p.algorithm, a.x, a.w, a.bias, a.y, exec);
  }
};

struct ConvTransposeBackwardDataOp : OpDefaults {
  using Problem = ConvTransposeProblem;
  struct Args {
    const upsConvTransposeDesc_t* desc;
    const upsTensorDesc_t* dy_desc;
    const void* dy;
    const upsTensorDesc_t* w_desc;
    const void* w;
    const upsTensorDesc_t* dx_desc;
    void* dx;
  };
  static upsStatus_t validate(const Args& a, Problem* p) {
    return validate_conv_transpose_backward_data(a.desc, a.dy_desc, a.w_desc, a.dx_desc, p);  // options too
  }
  static void resolve(Problem* p, upsBackend_t backend) {
    p->auto_algorithm = p->algorithm == UPS_ALGO_AUTO;
    p->algorithm = choose_conv_transpose_data_gradient_algorithm(*p, p->algorithm, backend).algorithm;
  }
  static upsStatus_t can_implement(const Problem& p, upsBackend_t backend) {
    return conv_transpose_data_gradient_can_implement(p, backend);
  }
  static DataArgs data(const Args& a, const Problem& p) {
    return {{"dy", a.dy, &p.output, false}, {"w", a.w, &p.weight, false}, {"dx", a.dx, &p.input, true}};
  }
  static upsStatus_t reference(const Args& a, const Problem& p) {
    return reference::conv_transpose_backward_data(p, a.dy, a.w, a.dx);
  }
  static size_t workspace_bytes(const Problem& p) {
    if (p.algorithm != UPS_ALGO_IMPLICIT_GEMM) return 0;
    return cuda::conv_transpose_implicit_gemm_backward_data_workspace_bytes(p, p.allow_tf32);
  }
  static upsStatus_t cuda(const Args& a, const Problem& p, const cuda::ExecContext& exec) {
    if (p.algorithm == UPS_ALGO_IMPLICIT_GEMM) {
      // As in the forward: AUTO's promise covers a dy that is only element-aligned (GATHER runs it);
      // a caller who forced IMPLICIT_GEMM gets MISALIGNED.
      const bool dy_misaligned = reinterpret_cast<uintptr_t>(a.dy) % 16 != 0;
      if (!(p.auto_algorithm && dy_misaligned &&
            cuda::conv_transpose_implicit_gemm_backward_data_needs_aligned_input(p, p.allow_tf32)))
        return cuda::conv_transpose_implicit_gemm_backward_data(p, p.allow_tf32, a.dy, a.w, a.dx, exec);
    }
    return cuda::conv_transpose_backward_data(p, a.dy, a.w, a.dx, exec);
  }
};

struct ConvTransposeBackwardWeightOp : OpDefaults {
  using Problem = ConvTransposeProblem;
  struct Args {
    const upsConvTransposeDesc_t* desc;
    const upsTensorDesc_t* x_desc;
    const void* x;
    const upsTensorDesc_t* dy_desc;
    const void* dy;
    const upsTensorDesc_t* dw_desc;
    void* dw;
  };
  static upsStatus_t validate(const Args& a, Problem* p) {
    return validate_conv_transpose_backward_weight(a.desc, a.x_desc, a.dy_desc, a.dw_desc, p);  // options too
  }
  static void resolve(Problem* p, upsBackend_t backend) {
    p->auto_algorithm = p->algorithm == UPS_ALGO_AUTO;
    p->algorithm = choose_conv_transpose_weight_gradient_algorithm(*p, p->algorithm, backend).algorithm;
  }
  static upsStatus_t can_implement(const Problem& p, upsBackend_t backend) {
    return conv_transpose_weight_gradient_can_implement(p, backend);
  }
  static DataArgs data(const Args& a, const Problem& p) {
    return {{"x", a.x, &p.input, false}, {"dy", a.dy, &p.output, false}, {"dw", a.dw, &p.weight, true}};
  }
  static upsStatus_t reference(const Args& a, const Problem& p) {
    return reference::conv_transpose_backward_weight(p, a.x, a.dy, a.dw);
  }
  static size_t workspace_bytes(const Problem& p) {
    if (p.algorithm != UPS_ALGO_IMPLICIT_GEMM)
      return cuda::conv_transpose_backward_weight_workspace_bytes(p, p.algorithm);
    const size_t engine = cuda::conv_transpose_implicit_gemm_backward_weight_workspace_bytes(p);
    if (!p.auto_algorithm) return engine;
    // AUTO may fall back to GATHER for operands the engine cannot read in place (below): the
    // workspace covers both.
    const size_t gather = cuda::conv_transpose_backward_weight_workspace_bytes(p, UPS_ALGO_GATHER);
    return engine > gather ? engine : gather;
  }
  static upsStatus_t cuda(const Args& a, const Problem& p, const cuda::ExecContext& exec) {
    if (p.algorithm == UPS_ALGO_IMPLICIT_GEMM) {
      // As in the forward: AUTO's promise covers element-aligned x and dy (GATHER runs them); a
      // caller who forced IMPLICIT_GEMM gets MISALIGNED.
      const bool misaligned = reinterpret_cast<uintptr_t>(a.x) % 16 != 0 || reinterpret_cast<uintptr_t>(a.dy) % 16 != 0;
      if (!(p.auto_algorithm && misaligned &&
            cuda::conv_transpose_implicit_gemm_backward_weight_needs_aligned_inputs(p)))
        return cuda::conv_transpose_implicit_gemm_backward_weight(p, a.x, a.dy, a.dw, exec);
      return cuda::conv_transpose_backward_weight(p, UPS_ALGO_GATHER, a.x, a.dy, a.dw, exec);
    }
    return cuda::conv_transpose_backward_weight(p, p.algorithm, a.x, a.dy, a.dw, exec);
  }
};

struct ConvTransposeBackwardBiasOp : OpDefaults {
  using Problem = ConvTransposeBiasProblem;
  struct Args {
    const upsConvTransposeDesc_t* desc;
    const upsTensorDesc_t* dy_desc;
    const void* dy;
    void* db;
  };
  static upsStatus_t validate(const Args& a, Problem* p) {
    upsAlgorithm_t requested = UPS_ALGO_AUTO;
    UPS_RETURN_IF_ERROR(validate_conv_transpose_backward_bias(a.desc, a.dy_desc, &p->dy, &requested));
    p->db = channel_vector(p->dy);
    p->algorithm = choose_bias_gradient_algorithm(requested);
    return UPS_STATUS_SUCCESS;
  }
  static DataArgs data(const Args& a, const Problem& p) {
    return {{"dy", a.dy, &p.dy, false}, {"db", a.db, &p.db, true}};
  }
  static upsStatus_t reference(const Args& a, const Problem& p) {
    return reference::conv_transpose_backward_bias(p.dy, a.dy, a.db);
  }
  static size_t workspace_bytes(const Problem& p) {
    return cuda::conv_transpose_backward_bias_workspace_bytes(p.dy, p.algorithm);
  }
  static upsStatus_t cuda(const Args& a, const Problem& p, const cuda::ExecContext& exec) {
    return cuda::conv_transpose_backward_bias(p.dy, p.algorithm, a.dy, a.db, exec);
  }
};

// The *ChooseAlgorithm queries: the algorithm the op would run on this handle (never AUTO).
template <typename Op>
upsStatus_t chosen_algorithm(upsHandle_t handle, const typename Op::Args& args, upsAlgorithm_t* algorithm) {
  clear_last_error();
  if (algorithm == nullptr) return fail(UPS_STATUS_NULL_POINTER, "algorithm: output pointer is null");
  typename Op::Problem p;
  UPS_RETURN_IF_ERROR(resolve_problem<Op>(handle, args, &p));
  *algorithm = p.algorithm;
  return UPS_STATUS_SUCCESS;
}

}  // namespace
}  // namespace upsample::detail

using namespace upsample::detail;  // NOLINT: this file is the C API's implementation

extern "C" {

upsStatus_t upsConvTransposeDescInitSized(upsConvTransposeDesc_t* desc, size_t struct_size, int spatial_dims) {
  clear_last_error();
  upsConvTransposeDesc_t d;
  UPS_RETURN_IF_ERROR(begin_init(desc, struct_size, &d));
  if (spatial_dims < 1 || spatial_dims > UPS_MAX_SPATIAL_DIMS)
    return fail(UPS_STATUS_BAD_EXTENT, "spatial_dims: expected 1, 2 or 3, got ", spatial_dims);
  d.spatial_dims = spatial_dims;
  for (int i = 0; i < UPS_MAX_SPATIAL_DIMS; ++i) {
    d.stride[i] = 1;
    d.dilation[i] = 1;
  }
  d.groups = 1;
  d.algorithm = UPS_ALGO_AUTO;
  d.deterministic = 0;
  write_desc(d, desc);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsConvTransposeDescSetPadding(upsConvTransposeDesc_t* desc, const int64_t* padding) {
  clear_last_error();
  // Read, changed and written back at the caller's struct_size (NOTE [ Descriptor versions ]).
  upsConvTransposeDesc_t d;
  UPS_RETURN_IF_ERROR(read_desc(desc, "desc", &d));
  if (padding == nullptr) return fail(UPS_STATUS_NULL_POINTER, "padding: array is null");
  if (d.spatial_dims < 1 || d.spatial_dims > UPS_MAX_SPATIAL_DIMS)
    return fail(UPS_STATUS_BAD_EXTENT, "desc.spatial_dims: expected 1, 2 or 3, got ", d.spatial_dims);
  for (int i = 0; i < d.spatial_dims; ++i) d.pad_begin[i] = d.pad_end[i] = padding[i];
  write_desc(d, desc);
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsConvTransposeOutputDesc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                       const upsTensorDesc_t* w, upsTensorDesc_t* y) {
  clear_last_error();
  return conv_transpose_output_desc(desc, x, w, y);
}

upsStatus_t upsConvTransposeWorkspaceSize(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                          const upsTensorDesc_t* x_desc, const upsTensorDesc_t* w_desc,
                                          const upsTensorDesc_t* y_desc, size_t* workspace_bytes) {
  // The bias is not an argument: the workspace never depends on it.
  return query_workspace<ConvTransposeForwardOp>(
      handle, {desc, x_desc, nullptr, w_desc, nullptr, nullptr, y_desc, nullptr}, workspace_bytes);
}

upsStatus_t upsConvTransposeChooseAlgorithm(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                            const upsTensorDesc_t* x_desc, const upsTensorDesc_t* w_desc,
                                            const upsTensorDesc_t* y_desc, upsAlgorithm_t* algorithm) {
  return chosen_algorithm<ConvTransposeForwardOp>(
      handle, {desc, x_desc, nullptr, w_desc, nullptr, nullptr, y_desc, nullptr}, algorithm);
}

upsStatus_t upsConvTransposePlanAlgorithm(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x_desc,
                                          const upsTensorDesc_t* w_desc, const upsTensorDesc_t* y_desc,
                                          int compute_capability, upsAlgorithm_t* algorithm, const char** reason) {
  clear_last_error();
  if (algorithm == nullptr) return fail(UPS_STATUS_NULL_POINTER, "algorithm: output pointer is null");
  // 75: the oldest architecture upsample is built for (cuda/runtime.cu). The upper bound only
  // catches a capability written as major.minor * 100 or a stray value.
  if (compute_capability < 75 || compute_capability > 999)
    return fail(UPS_STATUS_BAD_PARAMETER,
                "compute_capability: expected major * 10 + minor of a GPU upsample runs on (75 to 999, e.g. 90 for "
                "an H100), got ",
                compute_capability);
  // The entry path's steps up to can_implement (NOTE [ Entry path ]), on the CUDA backend at the
  // given capability instead of a handle's device.
  ConvTransposeProblem p;
  UPS_RETURN_IF_ERROR(ConvTransposeForwardOp::validate(
      {desc, x_desc, nullptr, w_desc, nullptr, nullptr, y_desc, nullptr}, &p));
  const ConvTransposeChoice choice =
      choose_conv_transpose_algorithm(p, p.algorithm, p.deterministic, UPS_BACKEND_CUDA, compute_capability);
  p.algorithm = choice.algorithm;
  UPS_RETURN_IF_ERROR(conv_transpose_can_implement(p, UPS_BACKEND_CUDA, compute_capability));
  *algorithm = choice.algorithm;
  if (reason != nullptr) {
    // Owned per thread, as the last-error message is: the rule, then the engine's own words.
    thread_local std::string text;
    text = choice.reason;
    if (choice.detail != nullptr) text = text + "; " + choice.detail;
    *reason = text.c_str();
  }
  return UPS_STATUS_SUCCESS;
}

upsStatus_t upsConvTransposeForward(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                    const upsTensorDesc_t* x_desc, const void* x, const upsTensorDesc_t* w_desc,
                                    const void* w, const void* bias, const upsTensorDesc_t* y_desc, void* y) {
  return run_op<ConvTransposeForwardOp>(handle, {desc, x_desc, x, w_desc, w, bias, y_desc, y});
}

upsStatus_t upsConvTransposeBackwardDataOutputDesc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* dy,
                                                   const upsTensorDesc_t* w, upsTensorDesc_t* dx) {
  clear_last_error();
  return conv_transpose_backward_data_output_desc(desc, dy, w, dx);
}

upsStatus_t upsConvTransposeBackwardDataWorkspaceSize(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                      const upsTensorDesc_t* dy_desc, const upsTensorDesc_t* w_desc,
                                                      const upsTensorDesc_t* dx_desc, size_t* workspace_bytes) {
  return query_workspace<ConvTransposeBackwardDataOp>(
      handle, {desc, dy_desc, nullptr, w_desc, nullptr, dx_desc, nullptr}, workspace_bytes);
}

upsStatus_t upsConvTransposeBackwardDataChooseAlgorithm(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                        const upsTensorDesc_t* dy_desc, const upsTensorDesc_t* w_desc,
                                                        const upsTensorDesc_t* dx_desc, upsAlgorithm_t* algorithm) {
  return chosen_algorithm<ConvTransposeBackwardDataOp>(
      handle, {desc, dy_desc, nullptr, w_desc, nullptr, dx_desc, nullptr}, algorithm);
}

upsStatus_t upsConvTransposeBackwardData(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                         const upsTensorDesc_t* dy_desc, const void* dy, const upsTensorDesc_t* w_desc,
                                         const void* w, const upsTensorDesc_t* dx_desc, void* dx) {
  return run_op<ConvTransposeBackwardDataOp>(handle, {desc, dy_desc, dy, w_desc, w, dx_desc, dx});
}

upsStatus_t upsConvTransposeBackwardWeightOutputDesc(const upsConvTransposeDesc_t* desc, const upsTensorDesc_t* x,
                                                     const upsTensorDesc_t* dy, upsTensorDesc_t* dw) {
  clear_last_error();
  return conv_transpose_backward_weight_output_desc(desc, x, dy, dw);
}

upsStatus_t upsConvTransposeBackwardWeightWorkspaceSize(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                        const upsTensorDesc_t* x_desc, const upsTensorDesc_t* dy_desc,
                                                        const upsTensorDesc_t* dw_desc, size_t* workspace_bytes) {
  return query_workspace<ConvTransposeBackwardWeightOp>(
      handle, {desc, x_desc, nullptr, dy_desc, nullptr, dw_desc, nullptr}, workspace_bytes);
}

upsStatus_t upsConvTransposeBackwardWeightChooseAlgorithm(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                          const upsTensorDesc_t* x_desc, const upsTensorDesc_t* dy_desc,
                                                          const upsTensorDesc_t* dw_desc, upsAlgorithm_t* algorithm) {
  return chosen_algorithm<ConvTransposeBackwardWeightOp>(
      handle, {desc, x_desc, nullptr, dy_desc, nullptr, dw_desc, nullptr}, algorithm);
}

upsStatus_t upsConvTransposeBackwardWeight(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                           const upsTensorDesc_t* x_desc, const void* x, const upsTensorDesc_t* dy_desc,
                                           const void* dy, const upsTensorDesc_t* dw_desc, void* dw) {
  return run_op<ConvTransposeBackwardWeightOp>(handle, {desc, x_desc, x, dy_desc, dy, dw_desc, dw});
}

upsStatus_t upsConvTransposeBackwardBiasWorkspaceSize(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                                      const upsTensorDesc_t* dy_desc, size_t* workspace_bytes) {
  return query_workspace<ConvTransposeBackwardBiasOp>(handle, {desc, dy_desc, nullptr, nullptr}, workspace_bytes);
}

upsStatus_t upsConvTransposeBackwardBias(upsHandle_t handle, const upsConvTransposeDesc_t* desc,
                                         const upsTensorDesc_t* dy_desc, const void* dy, void* db) {
  return run_op<ConvTransposeBackwardBiasOp>(handle, {desc, dy_desc, dy, db});
}

}  // extern "C"

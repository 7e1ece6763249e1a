// The one path every op's C entry point takes (NOTE [ Entry path ]), and the data-pointer checks
// it runs.
//
// NOTE [ Entry path ]
// An op entry point is one row: an `Op` struct naming its arguments, its validation, its data
// arguments and its two backend calls. run_op() then does, in this order and nowhere else:
//   clear the message -> handle check -> validate (descriptors -> problem)
//   -> resolve (dispatch picks the algorithm for this backend; AUTO never survives it)
//   -> can_implement (what the chosen backend and algorithm cannot do, as a specific status)
//   -> data check (null, alignment, which memory, overlap) -> empty outputs return SUCCESS
//   -> the reference backend, or the CUDA backend with its workspace.
// Nothing is written before every check has passed. query_workspace() runs the same path up to
// can_implement for the *WorkspaceSize queries, so a query and its op agree.
//
// An Op provides:
//   using Problem = ...;  struct Args {...};   the problem type and the entry point's arguments
//   static upsStatus_t validate(const Args&, Problem*);
//   static void resolve(Problem*, upsBackend_t);                           (OpDefaults: nothing)
//   static upsStatus_t can_implement(const Problem&, upsBackend_t);        (OpDefaults: success)
//   static DataArgs data(const Args&, const Problem&);
//   static upsStatus_t reference(const Args&, const Problem&);
//   static size_t workspace_bytes(const Problem&);                         (OpDefaults: 0)
//   static upsStatus_t cuda(const Args&, const Problem&, const cuda::ExecContext&);
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "core/problem.h"
#include "core/status.h"
#include "cuda/runtime.h"
#include "src/handle.h"

namespace upsample::detail {

// One data argument of an op: its name for messages, its pointer, and the geometry that says how
// many bytes of what element type it spans.
struct DataArg {
  const char* name = nullptr;
  const void* pointer = nullptr;
  const TensorGeometry* geometry = nullptr;
  bool is_output = false;
};

// The data arguments of one call (at most kMaxDataArgs).
struct DataArgs {
  static constexpr int kMaxDataArgs = 6;
  DataArg args[kMaxDataArgs];
  int count = 0;

  DataArgs(std::initializer_list<DataArg> list);
  const DataArg* begin() const { return args; }
  const DataArg* end() const { return args + count; }
  // True when every output has zero elements: the op then succeeds without launching anything.
  bool outputs_empty() const;
};

int64_t byte_size(const TensorGeometry& g);

// Every pointer check — null for a non-empty tensor, alignment to the element size, which memory
// (host memory to the CUDA backend or device memory to the reference backend is refused) — then:
// no output may overlap any other argument.
upsStatus_t check_data(const upsContext& handle, const DataArgs& args);

// The handle's stream and a workspace of at least `workspace_bytes` for a CUDA call.
upsStatus_t make_exec(upsHandle_t handle, size_t workspace_bytes, cuda::ExecContext* exec);

// A vector of C values of `like`'s dtype (a bias or its gradient), for the pointer checks.
TensorGeometry channel_vector(const TensorGeometry& like);

// Defaults for the optional members of an Op.
struct OpDefaults {
  template <typename Problem>
  static void resolve(Problem*, upsBackend_t) {}
  template <typename Problem>
  static upsStatus_t can_implement(const Problem&, upsBackend_t) {
    return UPS_STATUS_SUCCESS;
  }
  template <typename Problem>
  static size_t workspace_bytes(const Problem&) {
    return 0;
  }
};

// NOTE [ Entry path ]: the op entry point.
template <typename Op>
upsStatus_t run_op(upsHandle_t handle, const typename Op::Args& args) {
  clear_last_error();
  UPS_RETURN_IF_ERROR(check_handle(handle));
  typename Op::Problem problem;
  UPS_RETURN_IF_ERROR(Op::validate(args, &problem));
  Op::resolve(&problem, handle->backend);
  UPS_RETURN_IF_ERROR(Op::can_implement(problem, handle->backend));
  const DataArgs data = Op::data(args, problem);
  UPS_RETURN_IF_ERROR(check_data(*handle, data));
  if (data.outputs_empty()) return UPS_STATUS_SUCCESS;
  if (handle->backend == UPS_BACKEND_REFERENCE) return Op::reference(args, problem);
  cuda::ExecContext exec;
  UPS_RETURN_IF_ERROR(make_exec(handle, Op::workspace_bytes(problem), &exec));
  return Op::cuda(args, problem, exec);
}

// NOTE [ Entry path ]: the op's *WorkspaceSize query (0 on the reference backend).
template <typename Op>
upsStatus_t query_workspace(upsHandle_t handle, const typename Op::Args& args, size_t* workspace_bytes) {
  clear_last_error();
  UPS_RETURN_IF_ERROR(check_handle(handle));
  if (workspace_bytes == nullptr) return fail(UPS_STATUS_NULL_POINTER, "workspace_bytes: output pointer is null");
  typename Op::Problem problem;
  UPS_RETURN_IF_ERROR(Op::validate(args, &problem));
  Op::resolve(&problem, handle->backend);
  UPS_RETURN_IF_ERROR(Op::can_implement(problem, handle->backend));
  *workspace_bytes = handle->backend == UPS_BACKEND_CUDA ? Op::workspace_bytes(problem) : 0;
  return UPS_STATUS_SUCCESS;
}

// The problem an op would run, for queries that report a choice (e.g. the algorithm).
template <typename Op>
upsStatus_t resolve_problem(upsHandle_t handle, const typename Op::Args& args, typename Op::Problem* problem) {
  clear_last_error();
  UPS_RETURN_IF_ERROR(check_handle(handle));
  UPS_RETURN_IF_ERROR(Op::validate(args, problem));
  Op::resolve(problem, handle->backend);
  return Op::can_implement(*problem, handle->backend);
}

}  // namespace upsample::detail

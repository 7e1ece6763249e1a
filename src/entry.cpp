// The data-pointer checks and execution context of NOTE [ Entry path ] (src/entry.h).
#include "src/entry.h"

#include "core/dtype.h"
#include "core/status.h"

namespace upsample::detail {
namespace {

upsStatus_t check_pointer(const upsContext& handle, const DataArg& arg) {
  const int64_t bytes = byte_size(*arg.geometry);
  if (bytes == 0) return UPS_STATUS_SUCCESS;  // an empty tensor's pointer is never read
  if (arg.pointer == nullptr)
    return fail(UPS_STATUS_NULL_POINTER, arg.name, ": data pointer is null for a tensor of ", arg.geometry->elements(),
                " elements");
  const int64_t alignment = dtype_size(arg.geometry->dtype);
  if (reinterpret_cast<uintptr_t>(arg.pointer) % static_cast<uintptr_t>(alignment) != 0)
    return fail(UPS_STATUS_MISALIGNED, arg.name, ": pointer ", arg.pointer, " is not aligned to its ", alignment,
                "-byte ", dtype_name(arg.geometry->dtype), " elements");
  const cuda::MemoryKind kind = cuda::locate_pointer(arg.pointer);
  if (handle.backend == UPS_BACKEND_CUDA && kind == cuda::MemoryKind::kUnregisteredHost)
    return fail(UPS_STATUS_WRONG_BACKEND_MEMORY, arg.name, ": pointer ", arg.pointer,
                " is host memory; the CUDA backend needs device (or managed, or pinned) memory");
  if (handle.backend == UPS_BACKEND_REFERENCE && kind == cuda::MemoryKind::kDevice)
    return fail(UPS_STATUS_WRONG_BACKEND_MEMORY, arg.name, ": pointer ", arg.pointer,
                " is device memory; the reference backend runs on the CPU and needs host memory");
  return UPS_STATUS_SUCCESS;
}

bool overlaps(const DataArg& a, const DataArg& b) {
  const auto a_begin = reinterpret_cast<uintptr_t>(a.pointer), b_begin = reinterpret_cast<uintptr_t>(b.pointer);
  const auto a_end = a_begin + static_cast<uintptr_t>(byte_size(*a.geometry));
  const auto b_end = b_begin + static_cast<uintptr_t>(byte_size(*b.geometry));
  return a_begin < b_end && b_begin < a_end;
}

}  // namespace

int64_t byte_size(const TensorGeometry& g) { return g.elements() * dtype_size(g.dtype); }

DataArgs::DataArgs(std::initializer_list<DataArg> list) {
  for (const DataArg& arg : list)
    if (count < kMaxDataArgs) args[count++] = arg;
}

bool DataArgs::outputs_empty() const {
  for (const DataArg& arg : *this)
    if (arg.is_output && arg.geometry->elements() != 0) return false;
  return true;
}

upsStatus_t check_data(const upsContext& handle, const DataArgs& args) {
  for (const DataArg& arg : args) UPS_RETURN_IF_ERROR(check_pointer(handle, arg));
  for (const DataArg& out : args) {
    if (!out.is_output || byte_size(*out.geometry) == 0) continue;
    for (const DataArg& other : args)
      if (&other != &out && byte_size(*other.geometry) != 0 && overlaps(out, other))
        return fail(UPS_STATUS_ALIASING, out.name, ": output buffer overlaps ", other.name,
                    "; outputs must not alias any other argument");
  }
  return UPS_STATUS_SUCCESS;
}

upsStatus_t make_exec(upsHandle_t handle, size_t workspace_bytes, cuda::ExecContext* exec) {
  exec->stream = handle->stream;
  UPS_RETURN_IF_ERROR(describe_error_checks(handle, exec));  // error record, capture state (src/handle.h)
  return acquire_workspace(handle, workspace_bytes, &exec->workspace, &exec->workspace_bytes);
}

TensorGeometry channel_vector(const TensorGeometry& like) {
  TensorGeometry g;
  g.dtype = like.dtype;
  g.n = 1;
  g.c = like.c;
  return g;
}

}  // namespace upsample::detail

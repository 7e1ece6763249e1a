// NOTE [ Emulation layer ]
//
// What kernel and launcher code sees when a file under cuda/ is compiled by the host compiler with
// UPS_EMULATION defined (g++ -std=c++17 -DUPS_EMULATION -I cuda -I <toolkit>/include). It is the
// second of the three places in DESIGN.md "One kernel source, three places it runs": the same
// kernel sources run on the CPU so that CI, which has no GPU, executes every kernel.
//
// The model
// - Types come from the toolkit's own headers (<cuda_runtime.h>, <cuda_fp16.h>, <cuda_bf16.h>):
//   dim3, uint3, cudaError_t, cudaDeviceProp, __half, __nv_bfloat16 and their host conversions.
//   The execution- and memory-space keywords are then given host meanings: __global__,
//   __device__, __host__ vanish; __shared__ becomes `static`; __forceinline__ and __noinline__
//   become the GCC attributes; __launch_bounds__(...) vanishes.
// - The runtime API functions that launchers call (cudaMalloc, cudaMemcpy, streams, events,
//   device queries, errors) are DEFINED by this library (cuda/emu/*.cpp) with the signatures
//   that cuda_runtime_api.h declares, on host memory. It is never linked with the real libcudart.
// - A launch runs synchronously on the calling host thread, under one process-wide mutex (a GPU
//   time-slices too). Because one block is alive at a time in the whole process, a `__shared__`
//   array can be a function-local `static`.
// - A grid's blocks run one after another in linear order (x fastest). The threads of a block run
//   as fibers (cooperative user-level threads with their own stacks) on the launching host thread.
//   Scheduling is run-to-barrier in thread order: thread 0 runs until it reaches a barrier or
//   exits, then thread 1, and so on; when every thread has arrived, the barrier opens and the next
//   pass starts again from thread 0. So a kernel that forgets a needed __syncthreads reads slots
//   that later threads have not written yet: the missing barrier shows up as a wrong answer.
// - threadIdx, blockIdx, blockDim, gridDim are thread_local variables that the scheduler sets
//   before it resumes a fiber; warpSize is 32. Lane = linear thread id % 32 where the linear id is
//   x + y*blockDim.x + z*blockDim.x*blockDim.y, as on hardware.
// - __syncthreads (and _count/_and/_or) is a real barrier; every call site is the same barrier, as
//   on hardware. A warp collective (__shfl*_sync, __ballot_sync, __any/__all_sync, __syncwarp,
//   __match_*, __reduce_*) is a barrier among the non-exited lanes named in its mask: it completes
//   when all of them wait in the same intrinsic with the same mask (lanes waiting in another one
//   are not there yet, as at another instruction on hardware); the calling lane must be in the
//   mask. Shuffles follow the PTX shfl.sync rules for width and out-of-range source lanes (own
//   value); reading a lane that does not take part (exited, absent from a partial warp, or not in
//   the mask) returns all-ones bits (NaN for float), undefined on hardware and meant to show.
// - __activemask() waits until every non-exited lane of its warp is blocked (in a collective, at
//   __syncthreads, or in __activemask) and returns the lanes that reached __activemask: lanes that
//   diverged away are excluded; two different __activemask call sites count as one.
// - A launch fails with cudaErrorLaunchFailure, and a message on stderr that names the kernel, its
//   configuration and the block, when a block cannot finish: a __syncthreads reached by only part
//   of the block while the rest exited ("divergent barrier"), fibers all waiting on each other
//   ("deadlock"), a warp collective called with a mask that excludes the caller, or __trap().
//   Such a failure is not sticky: the next launch works (unlike a real CUDA context).
// - A vector access made through common/vector.cuh (load_lanes, store_lanes, load_vector,
//   store_vector) at an address that is not a multiple of its size fails the launch with
//   cudaErrorMisalignedAddress and a message naming the address, the width and the thread, as the
//   GPU faults (also not sticky here). The CPU itself tolerates misaligned accesses, so without the
//   check a launcher whose alignment rule is wrong would pass here and fault on a GPU. Accesses
//   that bypass those helpers are not checked.
// - Dynamic shared memory (UPS_DYNAMIC_SHARED) is a fresh 16-byte aligned buffer per launch of
//   exactly the requested size, filled with 0xFF bytes before every block, so a read of
//   unwritten shared memory shows up as NaN / -1. cudaMalloc'd memory is filled with 0xFF too.
// - Atomics are plain read-modify-writes: fibers never preempt each other, and launches are
//   serialized, so they are exact (under ThreadSanitizer, relaxed atomic ones: see Sanitizers
//   below). The overload set is CUDA's (e.g. no atomicSub on 64-bit types), so what compiles here
//   compiles under nvcc.
// - cudaFuncSetAttribute(kernel, ...) / cudaFuncGetAttributes(&attr, kernel) take kernel pointers
//   as under nvcc (the toolkit declares those C++ overloads for nvcc only; they are added here).
// - Launch validation returns what a real device returns: block dims x,y <= 1024, z <= 64,
//   1..1024 threads, grid x in 1..2^31-1, y,z in 1..65535 -> cudaErrorInvalidConfiguration;
//   dynamic shared memory above the kernel's limit (48 KiB unless raised with cudaFuncSetAttribute
//   up to 227 KiB) -> cudaErrorInvalidValue. The device emulated is an sm_90 H100 (132 SMs).
//
// Limits (what the emulation does not catch or does not do)
// - Static `__shared__` variables keep their values from the previous block and launch; they are
//   not poisoned (dynamic shared memory is). `extern __shared__` arrays: use UPS_DYNAMIC_SHARED.
// - Stricter than hardware in practice: threads that return before a __syncthreads that the rest
//   of the block reaches fail the launch (CUDA calls it undefined; GPUs often tolerate it).
// - No memory model: all writes are visible at once, so a missing __threadfence, a missing
//   `volatile`, or a race between blocks is not detected. Blocks never run concurrently, so a kernel
//   that spins waiting for another block or thread (without a barrier) hangs.
// - Kernels may dereference host pointers: nothing checks that a kernel argument is device memory.
//   cudaMemcpy/cudaMemset do check that their device-side range lies inside one allocation.
// - Inline PTX, wmma fragments, cooperative groups, textures, clusters: not provided. The warp-level
//   matrix primitives of common/warp_matrix.cuh (mma.sync, ldmatrix, cp.async) are, as warp
//   collectives: see NOTE [ Warp-level matrix primitives under the emulation ] (emu_warp_matrix.cpp).
// - Fiber stacks are 64 KiB (512 KiB under AddressSanitizer); set UPS_EMU_STACK_KIB to change it.
//   A kernel that overflows it hits a guard page (SIGSEGV).
// - Sanitizers: AddressSanitizer and UBSan see kernels fully (fiber switches are annotated; shared
//   and device buffers are exact-size heap blocks, so overflows are reported). Under
//   ThreadSanitizer (the `tsan` preset) every CUDA thread of a block is a TSan thread of its own,
//   and the only happens-before between them is what CUDA gives: __syncthreads*, the warp
//   collectives among the lanes taking part (not __activemask), and the end of a block before the
//   next; atomics are relaxed atomic operations (they do not race with each other and order
//   nothing else). So a missing __syncthreads or __syncwarp is reported as a data race, with the
//   kernel's source lines, even where the run-to-barrier order happens to give the right answer.
//   Races between blocks of a grid are not reported (blocks are ordered, since static __shared__
//   variables are shared by every block here), nor races that need a memory fence to be correct.
//   See NOTE [ Emulation layer under ThreadSanitizer ] in emu_scheduler.cpp.
// - Stream order is trivially respected because everything is synchronous; overlap is not modeled.
// - Stream capture and graphs (cudaStreamBeginCapture ... cudaGraphLaunch) record kernel launches,
//   cudaMemcpyAsync and cudaMemsetAsync and replay them in order; what the CUDA runtime forbids
//   during capture fails as it does there: see NOTE [ Stream capture under the emulation ].
#pragma once

#if !defined(UPS_EMULATION)
#error \
    "emu/emu_runtime.h is the emulation layer: include common/platform.cuh, and define UPS_EMULATION only for host builds"
#endif

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

// Standard headers that use the keywords redefined below (libstdc++'s <memory> spells
// __attribute__((__noinline__))) come first, so their include guards keep them intact.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#if defined(__GNUC__)
#define UPS_EMU_API __attribute__((visibility("default")))
#else
#define UPS_EMU_API
#endif

// Whether this translation unit is compiled with -fsanitize=thread (GCC or clang): the atomics
// below differ (emu_fiber.h detects it the same way for the scheduler).
#if !defined(UPS_EMU_TSAN)
#if defined(__SANITIZE_THREAD__)
#define UPS_EMU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UPS_EMU_TSAN 1
#endif
#endif
#endif
#if !defined(UPS_EMU_TSAN)
#define UPS_EMU_TSAN 0
#endif

// ---------------------------------------------------------------------------------------------
// Execution- and memory-space keywords, host meanings.
#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#undef __constant__
#undef __managed__
#undef __forceinline__
#undef __noinline__
#undef __launch_bounds__
#undef __grid_constant__
#define __global__
#define __device__
#define __host__
#define __shared__ static  // one block is alive at a time: see NOTE [ Emulation layer ]
#define __constant__
#define __managed__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __grid_constant__
// __restrict__ is a GCC keyword and keeps its meaning; __align__(n) comes from the toolkit.

// ---------------------------------------------------------------------------------------------
// The C++ overloads that cuda_runtime.h declares only for nvcc (__CUDACC__), so that launchers can
// pass a kernel pointer as they do under nvcc. (Its occupancy templates are declared for every
// compiler.) The C functions they forward to are defined in emu_runtime.cpp.
template <class T>
inline cudaError_t cudaFuncSetAttribute(T* func, enum cudaFuncAttribute attr, int value) {
  return ::cudaFuncSetAttribute(reinterpret_cast<const void*>(func), attr, value);
}
template <class T>
inline cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes* attr, T* entry) {
  return ::cudaFuncGetAttributes(attr, reinterpret_cast<const void*>(entry));
}

// ---------------------------------------------------------------------------------------------
// Built-in variables. The scheduler writes them before it resumes each fiber; kernels only read.
UPS_EMU_API inline thread_local uint3 threadIdx{0, 0, 0};
UPS_EMU_API inline thread_local uint3 blockIdx{0, 0, 0};
UPS_EMU_API inline thread_local dim3 blockDim{1, 1, 1};
UPS_EMU_API inline thread_local dim3 gridDim{1, 1, 1};
// Not constexpr on purpose: under nvcc warpSize is not a constant expression either.
UPS_EMU_API extern const int warpSize;

namespace ups_emu {

// Counters for tests and for measuring the emulation's own cost.
struct Stats {
  unsigned long long launches = 0;        // launches that ran (passed validation)
  unsigned long long blocks = 0;          // blocks run
  unsigned long long threads = 0;         // CUDA threads run
  unsigned long long fiber_switches = 0;  // context switches, both directions
  unsigned long long fibers_created = 0;  // fiber stacks ever allocated (the pool reuses them)
};
UPS_EMU_API Stats stats();

namespace detail {

using ThreadEntry = void (*)(void* closure);

// The type-erased launch: validates, then runs `entry(closure)` once per CUDA thread.
UPS_EMU_API cudaError_t launch_erased(const void* kernel, dim3 grid, dim3 block, size_t dynamic_shared_bytes,
                                      cudaStream_t stream, ThreadEntry entry, void* closure);

// The launch's dynamic shared memory buffer (16-byte aligned; nullptr outside a kernel).
UPS_EMU_API unsigned char* dynamic_shared_memory();

// Called by the calling CUDA thread for a `bytes`-wide vector access at an address that is not a
// multiple of `bytes` (common/vector.cuh checks every vector access): fails the launch with
// cudaErrorMisalignedAddress, as the GPU's fault does, and never returns.
[[noreturn]] UPS_EMU_API void misaligned_vector_access(const void* address, unsigned bytes);

// Stream capture (NOTE [ Stream capture under the emulation ] in emu_runtime.cpp). What work
// submitted to `stream` does now: run at once, be recorded into the stream's capture, or fail
// (with the error in *refused, already recorded as the last error).
enum class CaptureRoute { kRun, kRecord, kRefuse };
UPS_EMU_API CaptureRoute capture_route(cudaStream_t stream, cudaError_t* refused);
// Records a launch into `stream`'s capture after the checks a launch passes; `closure` is the
// launch's own copy of its arguments, kept alive by the graphs that replay it.
UPS_EMU_API cudaError_t capture_launch(const void* kernel, dim3 grid, dim3 block, size_t dynamic_shared_bytes,
                                       cudaStream_t stream, ThreadEntry entry, std::shared_ptr<void> closure);

enum class WarpOp : unsigned char {
  kSync,
  kShflIdx,
  kShflUp,
  kShflDown,
  kShflXor,
  kBallot,
  kAny,
  kAll,
  kMatchAny,
  kMatchAll,
  kReduceAddU,
  kReduceMinU,
  kReduceMaxU,
  kReduceMinI,
  kReduceMaxI,
  kReduceAnd,
  kReduceOr,
  kReduceXor,
  kActiveMask,
};

// One warp collective by the calling CUDA thread: waits until every non-exited lane in `mask` waits
// in the same `op` with the same mask, then returns this lane's result. `b` and `c` are the
// operands of PTX shfl.sync.
UPS_EMU_API unsigned long long warp_collective(WarpOp op, const char* name, unsigned mask, unsigned long long value,
                                               unsigned b, unsigned c);

// The bytes of a value of at most 8 bytes (__half2 and __nv_bfloat162 are not trivially copyable
// only because they declare their copy assignment; their bytes are their value).
template <typename T>
inline unsigned long long to_bits(const T& v) {
  static_assert(sizeof(T) <= 8 && std::is_standard_layout<T>::value, "warp collectives move at most 8 bytes");
  unsigned long long bits = 0;
  std::memcpy(&bits, static_cast<const void*>(&v), sizeof(T));
  return bits;
}

template <typename T>
inline T from_bits(unsigned long long bits) {
  T v{};
  std::memcpy(static_cast<void*>(&v), &bits, sizeof(T));
  return v;
}

// shfl.sync's c operand, as CUDA's own __shfl*_sync build it.
inline unsigned shfl_c(int width, bool clamp_to_segment_end) {
  return (static_cast<unsigned>(32 - width) << 8) | (clamp_to_segment_end ? 0x1fu : 0u);
}

template <typename T>
inline T shuffle(WarpOp op, const char* name, unsigned mask, T var, unsigned b, int width, bool clamp) {
  return from_bits<T>(warp_collective(op, name, mask, to_bits(var), b, shfl_c(width, clamp)));
}

}  // namespace detail

}  // namespace ups_emu

// mma.sync, ldmatrix and cp.async for common/warp_matrix.cuh (see emu_warp_matrix.cpp).
#include "emu_warp_matrix.h"  // beside this file: found whatever the include path

namespace ups_emu {

// Runs `kernel` over the grid on the CPU; see NOTE [ Emulation layer ]. The arguments are converted
// to the kernel's parameter types and copied once, as a real launch copies them to parameter
// space; every CUDA thread then gets its own copy of each parameter.
template <typename... KernelArgs, typename... Args>
cudaError_t launch(void (*kernel)(KernelArgs...), dim3 grid, dim3 block, size_t dynamic_shared_bytes,
                   cudaStream_t stream, Args&&... args) {
  static_assert(sizeof...(KernelArgs) == sizeof...(Args),
                "ups_emu::launch: the number of arguments does not match the kernel's parameters");
  using ArgTuple = std::tuple<std::decay_t<KernelArgs>...>;
  struct Closure {
    void (*kernel)(KernelArgs...);
    ArgTuple args;
  };
  Closure closure{kernel, ArgTuple(std::forward<Args>(args)...)};
  detail::ThreadEntry entry = [](void* p) {
    Closure* c = static_cast<Closure*>(p);
    detail::warp_matrix_thread_begin();  // cp.async state: see emu_warp_matrix.h
    std::apply(c->kernel, c->args);
    detail::warp_matrix_thread_end();  // retires the copies this thread left outstanding
  };
  cudaError_t refused = cudaSuccess;
  switch (detail::capture_route(stream, &refused)) {
    case detail::CaptureRoute::kRefuse: return refused;
    case detail::CaptureRoute::kRecord:
      // A captured launch replays later, possibly many times: it keeps its own copy of the
      // arguments (a real launch node copies its parameters at capture too).
      return detail::capture_launch(reinterpret_cast<const void*>(kernel), grid, block, dynamic_shared_bytes, stream,
                                    entry, std::make_shared<Closure>(closure));
    case detail::CaptureRoute::kRun: break;
  }
  return detail::launch_erased(reinterpret_cast<const void*>(kernel), grid, block, dynamic_shared_bytes, stream, entry,
                               &closure);
}

}  // namespace ups_emu

// Dynamic shared memory, declared the same way under nvcc (see common/platform.cuh).
#define UPS_DYNAMIC_SHARED(ElementT, name) \
  ElementT* name = reinterpret_cast<ElementT*>(::ups_emu::detail::dynamic_shared_memory())

// ---------------------------------------------------------------------------------------------
// Barriers and fences.
UPS_EMU_API void __syncthreads();
UPS_EMU_API int __syncthreads_count(int predicate);
UPS_EMU_API int __syncthreads_and(int predicate);
UPS_EMU_API int __syncthreads_or(int predicate);
// Fails the launch with cudaErrorLaunchFailure, as the PTX trap instruction does.
[[noreturn]] UPS_EMU_API void __trap();

inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::ups_emu::detail::warp_collective(::ups_emu::detail::WarpOp::kSync, "__syncwarp", mask, 0, 0, 0);
}
// Writes are visible at once under the emulation; the fences only stop the compiler reordering.
inline void __threadfence() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_system() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
inline void __nanosleep(unsigned) {}

// ---------------------------------------------------------------------------------------------
// Warp votes, shuffles, matches, reductions.
UPS_EMU_API unsigned __activemask();

inline unsigned __ballot_sync(unsigned mask, int predicate) {
  return static_cast<unsigned>(::ups_emu::detail::warp_collective(::ups_emu::detail::WarpOp::kBallot, "__ballot_sync",
                                                                  mask, predicate != 0, 0, 0));
}
inline int __any_sync(unsigned mask, int predicate) {
  return static_cast<int>(
      ::ups_emu::detail::warp_collective(::ups_emu::detail::WarpOp::kAny, "__any_sync", mask, predicate != 0, 0, 0));
}
inline int __all_sync(unsigned mask, int predicate) {
  return static_cast<int>(
      ::ups_emu::detail::warp_collective(::ups_emu::detail::WarpOp::kAll, "__all_sync", mask, predicate != 0, 0, 0));
}
inline int __uni_sync(unsigned mask, int predicate) {
  const unsigned ballot = __ballot_sync(mask, predicate);
  return ballot == 0 || ballot == (mask & __activemask());
}

#define UPS_EMU_SHUFFLES(T)                                                                                          \
  inline T __shfl_sync(unsigned mask, T var, int src_lane, int width = 32) {                                         \
    return ::ups_emu::detail::shuffle(::ups_emu::detail::WarpOp::kShflIdx, "__shfl_sync", mask, var,                 \
                                      static_cast<unsigned>(src_lane), width, true);                                 \
  }                                                                                                                  \
  inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {                                    \
    return ::ups_emu::detail::shuffle(::ups_emu::detail::WarpOp::kShflUp, "__shfl_up_sync", mask, var, delta, width, \
                                      false);                                                                        \
  }                                                                                                                  \
  inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {                                  \
    return ::ups_emu::detail::shuffle(::ups_emu::detail::WarpOp::kShflDown, "__shfl_down_sync", mask, var, delta,    \
                                      width, true);                                                                  \
  }                                                                                                                  \
  inline T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = 32) {                                    \
    return ::ups_emu::detail::shuffle(::ups_emu::detail::WarpOp::kShflXor, "__shfl_xor_sync", mask, var,             \
                                      static_cast<unsigned>(lane_mask), width, true);                                \
  }
UPS_EMU_SHUFFLES(int)
UPS_EMU_SHUFFLES(unsigned int)
UPS_EMU_SHUFFLES(long)
UPS_EMU_SHUFFLES(unsigned long)
UPS_EMU_SHUFFLES(long long)
UPS_EMU_SHUFFLES(unsigned long long)
UPS_EMU_SHUFFLES(float)
UPS_EMU_SHUFFLES(double)
UPS_EMU_SHUFFLES(__half)
UPS_EMU_SHUFFLES(__half2)
UPS_EMU_SHUFFLES(__nv_bfloat16)
UPS_EMU_SHUFFLES(__nv_bfloat162)
#undef UPS_EMU_SHUFFLES

#define UPS_EMU_MATCHES(T)                                                                                         \
  inline unsigned __match_any_sync(unsigned mask, T value) {                                                       \
    return static_cast<unsigned>(::ups_emu::detail::warp_collective(                                               \
        ::ups_emu::detail::WarpOp::kMatchAny, "__match_any_sync", mask, ::ups_emu::detail::to_bits(value), 0, 0)); \
  }                                                                                                                \
  inline unsigned __match_all_sync(unsigned mask, T value, int* pred) {                                            \
    const unsigned r = static_cast<unsigned>(::ups_emu::detail::warp_collective(                                   \
        ::ups_emu::detail::WarpOp::kMatchAll, "__match_all_sync", mask, ::ups_emu::detail::to_bits(value), 0, 0)); \
    *pred = r != 0;                                                                                                \
    return r;                                                                                                      \
  }
UPS_EMU_MATCHES(int)
UPS_EMU_MATCHES(unsigned int)
UPS_EMU_MATCHES(long)
UPS_EMU_MATCHES(unsigned long)
UPS_EMU_MATCHES(long long)
UPS_EMU_MATCHES(unsigned long long)
UPS_EMU_MATCHES(float)
UPS_EMU_MATCHES(double)
#undef UPS_EMU_MATCHES

#define UPS_EMU_REDUCE(name, T, op)                                                                      \
  inline T name(unsigned mask, T value) {                                                                \
    return static_cast<T>(::ups_emu::detail::warp_collective(::ups_emu::detail::WarpOp::op, #name, mask, \
                                                             static_cast<unsigned>(value), 0, 0));       \
  }
UPS_EMU_REDUCE(__reduce_add_sync, unsigned, kReduceAddU)
UPS_EMU_REDUCE(__reduce_add_sync, int, kReduceAddU)
UPS_EMU_REDUCE(__reduce_min_sync, unsigned, kReduceMinU)
UPS_EMU_REDUCE(__reduce_min_sync, int, kReduceMinI)
UPS_EMU_REDUCE(__reduce_max_sync, unsigned, kReduceMaxU)
UPS_EMU_REDUCE(__reduce_max_sync, int, kReduceMaxI)
UPS_EMU_REDUCE(__reduce_and_sync, unsigned, kReduceAnd)
UPS_EMU_REDUCE(__reduce_or_sync, unsigned, kReduceOr)
UPS_EMU_REDUCE(__reduce_xor_sync, unsigned, kReduceXor)
#undef UPS_EMU_REDUCE

// ---------------------------------------------------------------------------------------------
// Atomics: the overload set of CUDA's sm_60..sm_90 headers, as plain read-modify-writes
// (exact under the fiber model: nothing runs between the read and the write). Under
// ThreadSanitizer they are relaxed atomic operations on the same bytes instead, so that TSan knows
// them as atomics: they do not race with each other, a plain access racing with one is reported,
// and they order nothing else (CUDA's atomics are relaxed too).
#if UPS_EMU_TSAN
namespace ups_emu::detail {
template <typename T, typename Update>
inline T tsan_atomic_rmw(T* address, Update update) {
  static_assert(sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8, "an atomic of 2, 4 or 8 bytes");
  using Bits = std::conditional_t<sizeof(T) == 2, unsigned short,
                                  std::conditional_t<sizeof(T) == 4, unsigned int, unsigned long long>>;
  Bits* const bits = reinterpret_cast<Bits*>(static_cast<void*>(address));
  Bits expected = __atomic_load_n(bits, __ATOMIC_RELAXED);
  for (;;) {
    const T old = from_bits<T>(expected);
    const Bits desired = static_cast<Bits>(to_bits(update(old)));
    if (__atomic_compare_exchange_n(bits, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return old;
  }
}
}  // namespace ups_emu::detail
#define UPS_EMU_ATOMIC_RMW(name, T, expr)                                  \
  inline T name(T* address, T val) {                                       \
    return ::ups_emu::detail::tsan_atomic_rmw(address, [val](T old) -> T { \
      static_cast<void>(old);                                              \
      return (expr);                                                       \
    });                                                                    \
  }
#else
#define UPS_EMU_ATOMIC_RMW(name, T, expr) \
  inline T name(T* address, T val) {      \
    const T old = *address;               \
    *address = (expr);                    \
    return old;                           \
  }
#endif
UPS_EMU_ATOMIC_RMW(atomicAdd, int, old + val)
UPS_EMU_ATOMIC_RMW(atomicAdd, unsigned int, old + val)
UPS_EMU_ATOMIC_RMW(atomicAdd, unsigned long long, old + val)
UPS_EMU_ATOMIC_RMW(atomicAdd, float, old + val)
UPS_EMU_ATOMIC_RMW(atomicAdd, double, old + val)
UPS_EMU_ATOMIC_RMW(atomicAdd, __half, __hadd(old, val))
UPS_EMU_ATOMIC_RMW(atomicAdd, __nv_bfloat16, __hadd(old, val))
UPS_EMU_ATOMIC_RMW(atomicAdd, __half2, __hadd2(old, val))
UPS_EMU_ATOMIC_RMW(atomicAdd, __nv_bfloat162, __hadd2(old, val))
#if UPS_EMU_TSAN
// Atomic per element, as CUDA guarantees for the vector types.
inline float2 atomicAdd(float2* address, float2 val) {
  const float x = atomicAdd(&address->x, val.x);
  const float y = atomicAdd(&address->y, val.y);
  return make_float2(x, y);
}
inline float4 atomicAdd(float4* address, float4 val) {
  const float x = atomicAdd(&address->x, val.x);
  const float y = atomicAdd(&address->y, val.y);
  const float z = atomicAdd(&address->z, val.z);
  const float w = atomicAdd(&address->w, val.w);
  return make_float4(x, y, z, w);
}
#else
UPS_EMU_ATOMIC_RMW(atomicAdd, float2, make_float2(old.x + val.x, old.y + val.y))
UPS_EMU_ATOMIC_RMW(atomicAdd, float4, make_float4(old.x + val.x, old.y + val.y, old.z + val.z, old.w + val.w))
#endif
UPS_EMU_ATOMIC_RMW(atomicSub, int, old - val)
UPS_EMU_ATOMIC_RMW(atomicSub, unsigned int, old - val)
UPS_EMU_ATOMIC_RMW(atomicExch, int, val)
UPS_EMU_ATOMIC_RMW(atomicExch, unsigned int, val)
UPS_EMU_ATOMIC_RMW(atomicExch, unsigned long long, val)
UPS_EMU_ATOMIC_RMW(atomicExch, float, val)
UPS_EMU_ATOMIC_RMW(atomicMin, int, val < old ? val : old)
UPS_EMU_ATOMIC_RMW(atomicMin, unsigned int, val < old ? val : old)
UPS_EMU_ATOMIC_RMW(atomicMin, long long, val < old ? val : old)
UPS_EMU_ATOMIC_RMW(atomicMin, unsigned long long, val < old ? val : old)
UPS_EMU_ATOMIC_RMW(atomicMax, int, val > old ? val : old)
UPS_EMU_ATOMIC_RMW(atomicMax, unsigned int, val > old ? val : old)
UPS_EMU_ATOMIC_RMW(atomicMax, long long, val > old ? val : old)
UPS_EMU_ATOMIC_RMW(atomicMax, unsigned long long, val > old ? val : old)
UPS_EMU_ATOMIC_RMW(atomicAnd, int, old& val)
UPS_EMU_ATOMIC_RMW(atomicAnd, unsigned int, old& val)
UPS_EMU_ATOMIC_RMW(atomicAnd, long long, old& val)
UPS_EMU_ATOMIC_RMW(atomicAnd, unsigned long long, old& val)
UPS_EMU_ATOMIC_RMW(atomicOr, int, old | val)
UPS_EMU_ATOMIC_RMW(atomicOr, unsigned int, old | val)
UPS_EMU_ATOMIC_RMW(atomicOr, long long, old | val)
UPS_EMU_ATOMIC_RMW(atomicOr, unsigned long long, old | val)
UPS_EMU_ATOMIC_RMW(atomicXor, int, old ^ val)
UPS_EMU_ATOMIC_RMW(atomicXor, unsigned int, old ^ val)
UPS_EMU_ATOMIC_RMW(atomicXor, long long, old ^ val)
UPS_EMU_ATOMIC_RMW(atomicXor, unsigned long long, old ^ val)
UPS_EMU_ATOMIC_RMW(atomicInc, unsigned int, old >= val ? 0u : old + 1u)
UPS_EMU_ATOMIC_RMW(atomicDec, unsigned int, (old == 0u || old > val) ? val : old - 1u)
#undef UPS_EMU_ATOMIC_RMW

#if UPS_EMU_TSAN
#define UPS_EMU_ATOMIC_CAS(T)                                                                       \
  inline T atomicCAS(T* address, T compare, T val) {                                                \
    __atomic_compare_exchange_n(address, &compare, val, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED); \
    return compare; /* the old value, whether or not it was replaced */                             \
  }
#else
#define UPS_EMU_ATOMIC_CAS(T)                        \
  inline T atomicCAS(T* address, T compare, T val) { \
    const T old = *address;                          \
    if (old == compare) *address = val;              \
    return old;                                      \
  }
#endif
UPS_EMU_ATOMIC_CAS(int)
UPS_EMU_ATOMIC_CAS(unsigned int)
UPS_EMU_ATOMIC_CAS(unsigned long long)
UPS_EMU_ATOMIC_CAS(unsigned short)
#undef UPS_EMU_ATOMIC_CAS

// The scoped variants (sm_60+): under the emulation every scope is the whole process.
#define UPS_EMU_ATOMIC_SCOPED(name)                                                            \
  template <typename T, typename... U>                                                         \
  inline auto name##_block(T* address, U... operands)->decltype(name(address, operands...)) {  \
    return name(address, operands...);                                                         \
  }                                                                                            \
  template <typename T, typename... U>                                                         \
  inline auto name##_system(T* address, U... operands)->decltype(name(address, operands...)) { \
    return name(address, operands...);                                                         \
  }
UPS_EMU_ATOMIC_SCOPED(atomicAdd)
UPS_EMU_ATOMIC_SCOPED(atomicSub)
UPS_EMU_ATOMIC_SCOPED(atomicExch)
UPS_EMU_ATOMIC_SCOPED(atomicMin)
UPS_EMU_ATOMIC_SCOPED(atomicMax)
UPS_EMU_ATOMIC_SCOPED(atomicAnd)
UPS_EMU_ATOMIC_SCOPED(atomicOr)
UPS_EMU_ATOMIC_SCOPED(atomicXor)
UPS_EMU_ATOMIC_SCOPED(atomicInc)
UPS_EMU_ATOMIC_SCOPED(atomicDec)
UPS_EMU_ATOMIC_SCOPED(atomicCAS)
#undef UPS_EMU_ATOMIC_SCOPED

// ---------------------------------------------------------------------------------------------
// Loads and stores with cache hints: plain accesses on the CPU.
template <typename T>
inline T __ldg(const T* p) {
  return *p;
}
template <typename T>
inline T __ldcg(const T* p) {
  return *p;
}
template <typename T>
inline T __ldca(const T* p) {
  return *p;
}
template <typename T>
inline T __ldcs(const T* p) {
  return *p;
}
template <typename T>
inline T __ldlu(const T* p) {
  return *p;
}
template <typename T>
inline T __ldcv(const T* p) {
  return *p;
}
template <typename T>
inline void __stwb(T* p, T v) {
  *p = v;
}
template <typename T>
inline void __stcg(T* p, T v) {
  *p = v;
}
template <typename T>
inline void __stcs(T* p, T v) {
  *p = v;
}
template <typename T>
inline void __stwt(T* p, T v) {
  *p = v;
}

// ---------------------------------------------------------------------------------------------
// Bit reinterpretation and integer intrinsics.
inline int __float_as_int(float x) { return ::ups_emu::detail::from_bits<int>(::ups_emu::detail::to_bits(x)); }
inline unsigned __float_as_uint(float x) {
  return ::ups_emu::detail::from_bits<unsigned>(::ups_emu::detail::to_bits(x));
}
inline float __int_as_float(int x) { return ::ups_emu::detail::from_bits<float>(::ups_emu::detail::to_bits(x)); }
inline float __uint_as_float(unsigned x) { return ::ups_emu::detail::from_bits<float>(::ups_emu::detail::to_bits(x)); }
inline long long __double_as_longlong(double x) {
  return ::ups_emu::detail::from_bits<long long>(::ups_emu::detail::to_bits(x));
}
inline double __longlong_as_double(long long x) {
  return ::ups_emu::detail::from_bits<double>(::ups_emu::detail::to_bits(x));
}

inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x)); }
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}
inline unsigned long long __brevll(unsigned long long x) {
  return (static_cast<unsigned long long>(__brev(static_cast<unsigned>(x))) << 32) |
         __brev(static_cast<unsigned>(x >> 32));
}
inline int __mul24(int x, int y) {
  return static_cast<int>(static_cast<long long>((x << 8) >> 8) * static_cast<long long>((y << 8) >> 8));
}
inline unsigned __umul24(unsigned x, unsigned y) { return (x & 0xffffffu) * (y & 0xffffffu); }
inline int __mulhi(int x, int y) { return static_cast<int>((static_cast<long long>(x) * y) >> 32); }
inline unsigned __umulhi(unsigned x, unsigned y) {
  return static_cast<unsigned>((static_cast<unsigned long long>(x) * y) >> 32);
}
namespace ups_emu::detail {
__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;
}  // namespace ups_emu::detail
inline long long __mul64hi(long long x, long long y) {
  return static_cast<long long>((static_cast<::ups_emu::detail::Int128>(x) * y) >> 64);
}
inline unsigned long long __umul64hi(unsigned long long x, unsigned long long y) {
  return static_cast<unsigned long long>((static_cast<::ups_emu::detail::UInt128>(x) * y) >> 64);
}
inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
  const unsigned long long bytes = (static_cast<unsigned long long>(y) << 32) | x;
  unsigned r = 0;
  for (int i = 0; i < 4; ++i) r |= static_cast<unsigned>((bytes >> (((s >> (4 * i)) & 7u) * 8)) & 0xffu) << (8 * i);
  return r;
}
inline unsigned __funnelshift_l(unsigned lo, unsigned hi, unsigned shift) {
  const unsigned long long v = (static_cast<unsigned long long>(hi) << 32) | lo;
  return static_cast<unsigned>((v << (shift & 31u)) >> 32);
}
inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned shift) {
  const unsigned long long v = (static_cast<unsigned long long>(hi) << 32) | lo;
  return static_cast<unsigned>(v >> (shift & 31u));
}

// ---------------------------------------------------------------------------------------------
// Float intrinsics. fmaf, sqrtf, expf, ... come from <cmath> as usual.
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x > 0.0f ? (x < 1.0f ? x : 1.0f) : 0.0f; }  // NaN -> 0
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __exp10f(float x) { return std::pow(10.0f, x); }
inline float __logf(float x) { return std::log(x); }
inline float __log2f(float x) { return std::log2(x); }
inline float __log10f(float x) { return std::log10(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __tanf(float x) { return std::tan(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }

namespace ups_emu::detail {
// cvt.rni/rzi/rmi/rpi.s32.f32: round, saturate to the integer range, NaN -> 0.
template <typename IntT, typename FloatT>
inline IntT saturating_cast(FloatT rounded) {
  if (rounded != rounded) return 0;
  if (rounded <= static_cast<FloatT>(std::numeric_limits<IntT>::min())) return std::numeric_limits<IntT>::min();
  if (rounded >= static_cast<FloatT>(std::numeric_limits<IntT>::max())) return std::numeric_limits<IntT>::max();
  return static_cast<IntT>(rounded);
}
}  // namespace ups_emu::detail
inline int __float2int_rn(float x) { return ::ups_emu::detail::saturating_cast<int>(std::nearbyint(x)); }
inline int __float2int_rz(float x) { return ::ups_emu::detail::saturating_cast<int>(std::trunc(x)); }
inline int __float2int_rd(float x) { return ::ups_emu::detail::saturating_cast<int>(std::floor(x)); }
inline int __float2int_ru(float x) { return ::ups_emu::detail::saturating_cast<int>(std::ceil(x)); }
inline unsigned __float2uint_rn(float x) { return ::ups_emu::detail::saturating_cast<unsigned>(std::nearbyint(x)); }
inline unsigned __float2uint_rz(float x) { return ::ups_emu::detail::saturating_cast<unsigned>(std::trunc(x)); }
inline long long __float2ll_rn(float x) { return ::ups_emu::detail::saturating_cast<long long>(std::nearbyint(x)); }
inline long long __float2ll_rz(float x) { return ::ups_emu::detail::saturating_cast<long long>(std::trunc(x)); }
inline int __double2int_rn(double x) { return ::ups_emu::detail::saturating_cast<int>(std::nearbyint(x)); }
inline int __double2int_rz(double x) { return ::ups_emu::detail::saturating_cast<int>(std::trunc(x)); }
inline float __int2float_rn(int x) { return static_cast<float>(x); }
inline float __uint2float_rn(unsigned x) { return static_cast<float>(x); }
inline float __ll2float_rn(long long x) { return static_cast<float>(x); }
inline double __int2double_rn(int x) { return static_cast<double>(x); }

// A cycle counter: nanoseconds of a steady clock.
UPS_EMU_API long long clock64();

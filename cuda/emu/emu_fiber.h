// Fibers for the emulation layer (internal to cuda/emu/): cooperative user-level threads, each on
// its own mmap'd stack with a guard page below it, switched on the calling host thread.
//
// Two context switches: on x86-64 a 20-instruction assembly switch that saves the callee-saved
// registers, MXCSR and the x87 control word (tens of nanoseconds); elsewhere, or where CET shadow
// stacks are enabled, ucontext's swapcontext (which also saves the signal mask: a system call per
// switch). Under AddressSanitizer every switch is announced with __sanitizer_start_switch_fiber /
// __sanitizer_finish_switch_fiber, and stacks are larger. Under ThreadSanitizer every fiber has a
// TSan fiber context of its own, and every switch is announced with __tsan_switch_to_fiber WITHOUT
// synchronizing: the scheduler states the synchronization CUDA gives with the tsan_* helpers below
// (see NOTE [ Emulation layer under ThreadSanitizer ] in emu_scheduler.cpp).
//
// A fiber runs `body` forever: the body loops over work items and yields between them, so a fiber
// and its stack are reused by many CUDA threads, blocks and launches. A fiber abandoned in the
// middle of a work item (a failed launch) is reset to the start of its body before reuse.
#pragma once

#include <cstddef>

// Whether this translation unit is compiled with -fsanitize=thread (GCC or clang). emu_runtime.h
// detects it the same way for the atomics.
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

#if UPS_EMU_TSAN
#include <sanitizer/tsan_interface.h>
// Exported by the TSan runtimes of GCC and clang, but not declared in tsan_interface.h: the calling
// fiber's (or thread's) own memory accesses are neither checked nor recorded until the matching
// end; synchronization (acquire/release, mutexes) still counts.
extern "C" void __tsan_ignore_thread_begin();
extern "C" void __tsan_ignore_thread_end();
#endif

#if defined(__x86_64__) && !(defined(__CET__) && (__CET__ & 2)) && !defined(UPS_EMU_USE_UCONTEXT)
#define UPS_EMU_ASM_SWITCH 1
#else
#define UPS_EMU_ASM_SWITCH 0
#include <ucontext.h>
#endif

namespace ups_emu::detail {

struct Fiber;
using FiberBody = void (*)(Fiber* self);

struct Fiber {
  void* user = nullptr;  // the work item, set by whoever resumes the fiber
  FiberBody body = nullptr;

  // Stack: [map_base, map_base + page) is the guard page, [stack_lo, stack_lo + stack_size) usable.
  void* map_base = nullptr;
  size_t map_size = 0;
  char* stack_lo = nullptr;
  size_t stack_size = 0;

#if UPS_EMU_ASM_SWITCH
  void* sp = nullptr;          // saved stack pointer of the suspended fiber
  void** return_sp = nullptr;  // where the resumer saved its own
#else
  ucontext_t context;
  ucontext_t* return_context = nullptr;
#endif

  // AddressSanitizer bookkeeping (unused otherwise).
  void* asan_fake_stack = nullptr;
  const void* resumer_stack_bottom = nullptr;
  size_t resumer_stack_size = 0;

  // ThreadSanitizer bookkeeping (unused otherwise).
  void* tsan_fiber = nullptr;
  void* tsan_resumer = nullptr;
};

// A new fiber, suspended at the start of `body`. Aborts the process if no stack can be mapped.
Fiber* fiber_create(FiberBody body);
// Puts a suspended fiber back at the start of its body (its stack frames are dropped, not unwound).
void fiber_reset(Fiber* fiber);
// Runs `fiber` on the calling host thread until it yields; then returns.
void fiber_resume(Fiber* fiber);
// Called by the running fiber: suspends it and returns to the fiber_resume that ran it.
void fiber_yield(Fiber* fiber);
// The stack size fibers get: 64 KiB (512 KiB under AddressSanitizer), or UPS_EMU_STACK_KIB.
size_t fiber_stack_size();

// ThreadSanitizer annotations; each compiles to nothing without -fsanitize=thread. `sync` is any
// address used only as the name of a synchronization object.
inline void tsan_acquire([[maybe_unused]] const void* sync) {
#if UPS_EMU_TSAN
  __tsan_acquire(const_cast<void*>(sync));
#endif
}
inline void tsan_release([[maybe_unused]] const void* sync) {
#if UPS_EMU_TSAN
  __tsan_release(const_cast<void*>(sync));
#endif
}
// Hides the scheduler's own bookkeeping (which the host thread and every fiber share with no
// happens-before between them, by design) from the calling fiber or thread. A fiber never holds
// one across a switch (a TSan fiber destroyed with ignores enabled is a fatal TSan error); the
// host thread may, as its ignore state is its own.
inline void tsan_ignore_begin() {
#if UPS_EMU_TSAN
  __tsan_ignore_thread_begin();
#endif
}
inline void tsan_ignore_end() {
#if UPS_EMU_TSAN
  __tsan_ignore_thread_end();
#endif
}
struct TsanIgnoreScope {
  TsanIgnoreScope() { tsan_ignore_begin(); }
  ~TsanIgnoreScope() { tsan_ignore_end(); }
  TsanIgnoreScope(const TsanIgnoreScope&) = delete;
  TsanIgnoreScope& operator=(const TsanIgnoreScope&) = delete;
};

}  // namespace ups_emu::detail

// Fibers for the emulation layer (internal to cuda/emu/): cooperative user-level threads, each on
// its own mmap'd stack with a guard page below it, switched on the calling host thread.
//
// Two context switches: on x86-64 a 20-instruction assembly switch that saves the callee-saved
// registers, MXCSR and the x87 control word (tens of nanoseconds); elsewhere, or where CET shadow
// stacks are enabled, ucontext's swapcontext (which also saves the signal mask: a system call per
// switch). Under AddressSanitizer every switch is announced with __sanitizer_start_switch_fiber /
// __sanitizer_finish_switch_fiber, and stacks are larger. Under ThreadSanitizer every switch is
// announced with __tsan_switch_to_fiber and synchronizes (so fibers never race with each other in
// its eyes: a forgotten barrier shows up as a wrong answer, not as a report).
//
// A fiber runs `body` forever: the body loops over work items and yields between them, so a fiber
// and its stack are reused by many CUDA threads, blocks and launches. A fiber abandoned in the
// middle of a work item (a failed launch) is reset to the start of its body before reuse.
#pragma once

#include <cstddef>

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

}  // namespace ups_emu::detail

// Fibers for the emulation layer: stacks, the context switch, sanitizer annotations.
// See emu_fiber.h.
#include "emu/emu_fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UPS_EMU_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define UPS_EMU_ASAN 1
#endif
#if !defined(UPS_EMU_ASAN)
#define UPS_EMU_ASAN 0
#endif

#if UPS_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

// The switch functions read and write Fiber fields on both sides of a switch that, under
// ThreadSanitizer, deliberately creates no happens-before: their own accesses are not instrumented.
#if UPS_EMU_TSAN
#define UPS_EMU_NO_TSAN __attribute__((no_sanitize("thread")))
#else
#define UPS_EMU_NO_TSAN
#endif

namespace ups_emu::detail {
namespace {

[[noreturn]] void fatal(const char* what) {
  std::fprintf(stderr, "ups_emu: fatal: %s\n", what);
  std::abort();
}

// Runs on the fiber's own stack, first thing after its first switch-in.
[[noreturn]] void fiber_entry(Fiber* fiber) {
#if UPS_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &fiber->resumer_stack_bottom, &fiber->resumer_stack_size);
#endif
  fiber->body(fiber);
  fatal("a fiber body returned");
}

}  // namespace
}  // namespace ups_emu::detail

#if UPS_EMU_ASM_SWITCH
// ups_emu_switch_stack(void** save_sp, void* load_sp): pushes the callee-saved registers, MXCSR and
// the x87 control word of the running context, stores its stack pointer to *save_sp, and pops the
// same set from load_sp. The frame it leaves is, from the saved sp upwards:
//   [0] x87 control word  [8] MXCSR  [16] r15  [24] r14  [32] r13  [40] r12  [48] rbx  [56] rbp
//   [64] return address
// ups_emu_fiber_trampoline is the first return address of a new fiber: it calls r13(r12).
extern "C" void ups_emu_switch_stack(void** save_sp, void* load_sp);
extern "C" void ups_emu_fiber_trampoline();
asm(R"(
  .text
  .p2align 4
  .globl ups_emu_switch_stack
  .hidden ups_emu_switch_stack
  .type ups_emu_switch_stack, @function
ups_emu_switch_stack:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr 8(%rsp)
  fnstcw (%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr 8(%rsp)
  fldcw (%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size ups_emu_switch_stack, .-ups_emu_switch_stack

  .p2align 4
  .globl ups_emu_fiber_trampoline
  .hidden ups_emu_fiber_trampoline
  .type ups_emu_fiber_trampoline, @function
ups_emu_fiber_trampoline:
  .cfi_startproc
  .cfi_undefined rip
  movq %r12, %rdi
  callq *%r13
  ud2
  .cfi_endproc
  .size ups_emu_fiber_trampoline, .-ups_emu_fiber_trampoline
)");
#endif

namespace ups_emu::detail {
namespace {

#if UPS_EMU_ASM_SWITCH
void init_context(Fiber* fiber) {
  // The top of the stack, 16-byte aligned; the initial frame sits 88 bytes below it so that the
  // trampoline runs with rsp % 16 == 0 and fiber_entry is entered with the ABI's alignment.
  const uintptr_t top = (reinterpret_cast<uintptr_t>(fiber->stack_lo) + fiber->stack_size) & ~uintptr_t{15};
  uint64_t* frame = reinterpret_cast<uint64_t*>(top - 88);
  unsigned mxcsr = 0;
  unsigned short fpu_cw = 0;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpu_cw));
  std::memset(frame, 0, 88);
  frame[0] = fpu_cw;
  frame[1] = mxcsr;
  frame[4] = reinterpret_cast<uint64_t>(&fiber_entry);  // r13
  frame[5] = reinterpret_cast<uint64_t>(fiber);         // r12
  frame[7] = 0;                                         // rbp: ends frame-pointer walks
  frame[8] = reinterpret_cast<uint64_t>(&ups_emu_fiber_trampoline);
  fiber->sp = frame;
}

inline void switch_context(void** save, void* load) { ups_emu_switch_stack(save, load); }
#else
void ucontext_entry(unsigned hi, unsigned lo) {
  const uintptr_t p = (static_cast<uintptr_t>(hi) << 32) | lo;
  fiber_entry(reinterpret_cast<Fiber*>(p));
}

void init_context(Fiber* fiber) {
  if (getcontext(&fiber->context) != 0) fatal("getcontext failed");
  fiber->context.uc_stack.ss_sp = fiber->stack_lo;
  fiber->context.uc_stack.ss_size = fiber->stack_size;
  fiber->context.uc_link = nullptr;
  const uintptr_t p = reinterpret_cast<uintptr_t>(fiber);
  makecontext(&fiber->context, reinterpret_cast<void (*)()>(&ucontext_entry), 2,
              static_cast<unsigned>(static_cast<uint64_t>(p) >> 32), static_cast<unsigned>(p & 0xffffffffu));
}
#endif

size_t page_size() {
  static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

// Maps the fiber's stack with a guard page below it.
void map_stack(Fiber* fiber) {
  const size_t page = page_size();
  fiber->stack_size = fiber_stack_size();
  fiber->map_size = fiber->stack_size + page;
  void* base = mmap(nullptr, fiber->map_size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) fatal("cannot map a fiber stack");
  if (mprotect(base, page, PROT_NONE) != 0) fatal("cannot protect a fiber stack's guard page");
  fiber->map_base = base;
  fiber->stack_lo = static_cast<char*>(base) + page;
}

}  // namespace

size_t fiber_stack_size() {
  static const size_t size = [] {
    size_t kib = UPS_EMU_ASAN ? 512 : 64;
    if (const char* env = std::getenv("UPS_EMU_STACK_KIB")) {
      const long v = std::strtol(env, nullptr, 10);
      if (v >= 16) kib = static_cast<size_t>(v);
    }
    const size_t page = page_size();
    return (kib * 1024 + page - 1) / page * page;
  }();
  return size;
}

Fiber* fiber_create(FiberBody body) {
  Fiber* fiber = new Fiber;
  fiber->body = body;
  map_stack(fiber);
  init_context(fiber);
#if UPS_EMU_TSAN
  // Created last: creating a TSan fiber orders what its creator did before (the stack's initial
  // frame included) before everything the fiber does.
  fiber->tsan_fiber = __tsan_create_fiber(0);
#endif
  return fiber;
}

void fiber_reset(Fiber* fiber) {
#if UPS_EMU_ASAN
  // The dropped frames leave their redzones poisoned; a fresh start must not trip over them.
  __asan_unpoison_memory_region(fiber->stack_lo, fiber->stack_size);
  fiber->asan_fake_stack = nullptr;
#endif
#if UPS_EMU_TSAN
  // Its shadow call stack still holds the dropped frames, and the stack's shadow memory holds the
  // accesses of a CUDA thread that never reached the end of the launch (so nothing orders them
  // before the fiber's next use): a fresh stack mapping (munmap clears its shadow) and a fresh
  // fiber context.
  __tsan_destroy_fiber(fiber->tsan_fiber);
  if (munmap(fiber->map_base, fiber->map_size) != 0) fatal("cannot unmap a fiber stack");
  map_stack(fiber);
#endif
  init_context(fiber);
#if UPS_EMU_TSAN
  fiber->tsan_fiber = __tsan_create_fiber(0);
#endif
}

UPS_EMU_NO_TSAN void fiber_resume(Fiber* fiber) {
#if UPS_EMU_ASAN
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, fiber->stack_lo, fiber->stack_size);
#endif
#if UPS_EMU_TSAN
  fiber->tsan_resumer = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(fiber->tsan_fiber, __tsan_switch_to_fiber_no_sync);
#endif
#if UPS_EMU_ASM_SWITCH
  void* resumer_sp = nullptr;
  fiber->return_sp = &resumer_sp;
  switch_context(&resumer_sp, fiber->sp);
#else
  ucontext_t resumer;
  fiber->return_context = &resumer;
  if (swapcontext(&resumer, &fiber->context) != 0) fatal("swapcontext failed");
#endif
#if UPS_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
}

UPS_EMU_NO_TSAN void fiber_yield(Fiber* fiber) {
#if UPS_EMU_ASAN
  __sanitizer_start_switch_fiber(&fiber->asan_fake_stack, fiber->resumer_stack_bottom, fiber->resumer_stack_size);
#endif
#if UPS_EMU_TSAN
  __tsan_switch_to_fiber(fiber->tsan_resumer, __tsan_switch_to_fiber_no_sync);
#endif
#if UPS_EMU_ASM_SWITCH
  switch_context(&fiber->sp, *fiber->return_sp);
#else
  if (swapcontext(&fiber->context, fiber->return_context) != 0) fatal("swapcontext failed");
#endif
#if UPS_EMU_ASAN
  __sanitizer_finish_switch_fiber(fiber->asan_fake_stack, &fiber->resumer_stack_bottom, &fiber->resumer_stack_size);
#endif
}

}  // namespace ups_emu::detail

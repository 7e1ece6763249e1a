// The emulation layer's execution model: launch validation, blocks run one after another, the
// threads of a block as fibers, __syncthreads and warp collectives as barriers.
// See NOTE [ Emulation layer ] in emu_runtime.h.
//
// NOTE [ Emulation layer under ThreadSanitizer ]
//
// All fibers run on one host thread, but each has a TSan fiber context of its own and switches
// create no happens-before (emu_fiber.cpp), so TSan sees every CUDA thread of a block as a thread
// of its own and reports a race between two of them, with both kernel stacks, unless the code
// below states that CUDA orders them. It states exactly this (every tsan_* call compiles to nothing
// without -fsanitize=thread):
// - __syncthreads*: every arriving thread releases the barrier's sync object and every thread
//   leaving acquires it. Two objects alternate (Block::tsan_barrier[generation & 1]): no thread can
//   arrive at barrier g+2 before every thread has left barrier g.
// - A warp collective other than __activemask (__syncwarp, shuffles, votes, match, reduce): every
//   arriving lane releases its own ThreadSlot::tsan_arrive; whoever completes the group acquires
//   the arrive objects of the lanes taking part, in the context of a lane taking part, and
//   releases into each one's tsan_leave, which that lane acquires as it leaves. So the lanes of
//   the group are ordered with each other only, exactly at the collective.
// - Blocks run one after another and static __shared__ variables are the same memory for every
//   block, so blocks are ordered: every CUDA thread releases Block::tsan_block[(ordinal + 1) & 1]
//   as it exits (the threads a failed block leaves stopped, afterwards, in their contexts), the
//   next block's threads acquire it as they start, and the host thread acquires it between blocks
//   and after the launch. Before a block the host thread releases Block::tsan_block[ordinal & 1],
//   so launch arguments, cudaMemcpy'd inputs and the host's per-block setup come before the block.
//   Races between blocks of one grid are therefore not reported.
// - Atomics are relaxed atomic read-modify-writes (emu_runtime.h): they do not race with each
//   other and order nothing else, as on the GPU.
// - The scheduler's own bookkeeping (Block, ThreadSlot, threadIdx and the thread_locals written
//   between switches) is shared by the host thread and the fibers with no happens-before on
//   purpose: fibers touch it only inside tsan_ignore regions, and the host thread runs a block
//   (run_block) inside one, which also hides its writes of what kernels read (threadIdx).
// - A fiber finishes a CUDA thread but goes back to the pool only when its block ends, so every
//   CUDA thread of a block has its own TSan context (a fiber reused within a block would order the
//   threads it ran).
#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "emu/emu_fiber.h"
#include "emu/emu_internal.h"

const int warpSize = 32;  // exported: declared UPS_EMU_API in emu_runtime.h

namespace ups_emu::detail {
namespace {

enum class ThreadState : unsigned char {
  kNotStarted,  // has no fiber yet
  kRunnable,    // suspended (or running) and free to go on
  kAtBarrier,   // waits in __syncthreads*
  kAtWarp,      // waits in a warp collective
  kExited,      // returned from the kernel
  kAbandoned,   // failed the launch; never resumed
};

struct Block;

// One CUDA thread of the block being run.
struct ThreadSlot {
  Fiber* fiber = nullptr;
  Block* block = nullptr;
  uint3 tid{0, 0, 0};
  unsigned linear = 0;
  ThreadState state = ThreadState::kNotStarted;
  // The warp collective this thread waits in (valid while kAtWarp), and its result.
  WarpOp op = WarpOp::kSync;
  const char* op_name = "";
  unsigned mask = 0;
  unsigned b = 0;
  unsigned c = 0;
  unsigned long long value = 0;
  unsigned long long result = 0;
  // ThreadSanitizer sync objects of this slot's warp collectives (only their addresses matter).
  unsigned long long tsan_arrive = 0;
  unsigned long long tsan_leave = 0;
};

struct LaunchInfo {
  const void* kernel = nullptr;
  dim3 grid;
  dim3 block;
  size_t dynamic_shared_bytes = 0;
  ThreadEntry entry = nullptr;
  void* closure = nullptr;
};

// The block being run. One exists in the process (launches are serialized by launch_mutex).
struct Block {
  const LaunchInfo* launch = nullptr;
  std::vector<ThreadSlot> slots;
  std::vector<unsigned> warp_live;     // per warp: lanes that exist and have not exited
  std::vector<unsigned> warp_waiting;  // per warp: lanes waiting in a warp collective
  unsigned n = 0;
  unsigned exited = 0;
  unsigned at_barrier = 0;
  unsigned barrier_count = 0;  // predicates counted by the barrier now filling
  int barrier_result = 0;      // __syncthreads_count of the barrier last opened
  uint3 idx{0, 0, 0};
  bool failed = false;
  cudaError_t failure = cudaErrorLaunchFailure;  // what a failed launch returns
  std::string message;
  // ThreadSanitizer: blocks run by this launch so far, __syncthreads opened in this block, and the
  // sync objects of NOTE [ Emulation layer under ThreadSanitizer ] (only their addresses matter).
  unsigned long long ordinal = 0;
  unsigned long long barrier_generation = 0;
  unsigned long long tsan_block[2] = {0, 0};
  unsigned long long tsan_barrier[2] = {0, 0};
};

// Under ThreadSanitizer a fiber is returned to the pool only when its block ends.
constexpr bool kFiberPerThreadOfBlock = UPS_EMU_TSAN != 0;

// What the threads of the block being run acquire as they start, and what they release.
const void* tsan_block_start(const Block& b) { return &b.tsan_block[b.ordinal & 1]; }
const void* tsan_block_end(const Block& b) { return &b.tsan_block[(b.ordinal + 1) & 1]; }

constexpr unsigned long long kPoison = ~0ull;  // what a shuffle from a lane not taking part returns

// Process-wide state. Never destroyed, so that a launch during static destruction still works and
// LeakSanitizer still sees the pooled fibers as reachable at exit.
struct SchedulerState {
  std::mutex launch_mutex;
  Block block;                      // guarded by launch_mutex
  std::vector<Fiber*> free_fibers;  // guarded by launch_mutex; LIFO, so the warmest stack is reused
  Stats stats;                      // guarded by launch_mutex
};

SchedulerState& state() {
  static SchedulerState* const s = new SchedulerState;
  return *s;
}

thread_local ThreadSlot* t_slot = nullptr;  // the CUDA thread running on this host thread's fiber
thread_local unsigned char* t_dynamic_shared = nullptr;

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  char buffer[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buffer, sizeof buffer, fmt, args);
  va_end(args);
  return buffer;
}

// The name of the function at `address` in the ELF file `path` loaded at `base`, from its symbol
// tables (.symtab holds the static functions and anonymous-namespace kernels that dladdr misses).
std::string elf_symbol(const char* path, uintptr_t base, uintptr_t address) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  struct stat st {};
  std::string name;
  if (fstat(fd, &st) == 0 && static_cast<size_t>(st.st_size) >= sizeof(Elf64_Ehdr)) {
    const size_t size = static_cast<size_t>(st.st_size);
    void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
      const auto* bytes = static_cast<const unsigned char*>(map);
      const auto* eh = static_cast<const Elf64_Ehdr*>(map);
      const bool elf64 = std::memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64;
      if (elf64 && eh->e_shoff + static_cast<size_t>(eh->e_shnum) * sizeof(Elf64_Shdr) <= size) {
        const uintptr_t target = eh->e_type == ET_DYN ? address - base : address;
        const auto* sections = reinterpret_cast<const Elf64_Shdr*>(bytes + eh->e_shoff);
        for (unsigned i = 0; i < eh->e_shnum && name.empty(); ++i) {
          const Elf64_Shdr& sec = sections[i];
          if ((sec.sh_type != SHT_SYMTAB && sec.sh_type != SHT_DYNSYM) || sec.sh_link >= eh->e_shnum) continue;
          const Elf64_Shdr& strings = sections[sec.sh_link];
          if (sec.sh_offset + sec.sh_size > size || strings.sh_offset + strings.sh_size > size) continue;
          const auto* symbols = reinterpret_cast<const Elf64_Sym*>(bytes + sec.sh_offset);
          for (size_t k = 0; k < sec.sh_size / sizeof(Elf64_Sym); ++k) {
            const Elf64_Sym& sym = symbols[k];
            if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_value != target || sym.st_name >= strings.sh_size)
              continue;
            const char* str = reinterpret_cast<const char*>(bytes + strings.sh_offset + sym.st_name);
            name.assign(str, strnlen(str, strings.sh_size - sym.st_name));
            break;
          }
        }
      }
      munmap(map, size);
    }
  }
  close(fd);
  return name;
}

// A readable name for a kernel, for failure messages only (it reads the binary's symbol table).
std::string kernel_name(const void* kernel) {
  std::string mangled;
  Dl_info info{};
  if (dladdr(const_cast<void*>(kernel), &info) != 0) {
    if (info.dli_sname != nullptr && info.dli_saddr == kernel) {
      mangled = info.dli_sname;
    } else {
      const uintptr_t base = reinterpret_cast<uintptr_t>(info.dli_fbase);
      const uintptr_t address = reinterpret_cast<uintptr_t>(kernel);
      if (info.dli_fname != nullptr && info.dli_fname[0] != '\0') mangled = elf_symbol(info.dli_fname, base, address);
      if (mangled.empty()) mangled = elf_symbol("/proc/self/exe", base, address);
    }
  }
  if (mangled.empty()) return format("kernel at %p", kernel);
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
  std::string name = (status == 0 && demangled != nullptr) ? demangled : mangled;
  std::free(demangled);
  return name;
}

std::string thread_name(const ThreadSlot& s) {
  return format("thread (%u,%u,%u) [warp %u, lane %u] of block (%u,%u,%u)", s.tid.x, s.tid.y, s.tid.z, s.linear / 32,
                s.linear % 32, s.block->idx.x, s.block->idx.y, s.block->idx.z);
}

ThreadSlot* current_thread(const char* what) {
  ThreadSlot* s = t_slot;
  if (s == nullptr) {
    std::fprintf(stderr, "ups_emu: fatal: %s called outside a kernel launched through ups_emu::launch\n", what);
    std::abort();
  }
  return s;
}

// Called on a CUDA thread's fiber: fails the launch and never returns. The fiber's frames are
// dropped without being unwound, so the caller must hold no object that owns memory: it stores the
// message in the block (b->message) in a statement of its own before calling this.
// Under ThreadSanitizer the caller holds one tsan_ignore region, which this ends.
[[noreturn]] void abandon_launch(ThreadSlot* s) {
  s->block->failed = true;
  s->state = ThreadState::kAbandoned;
  Fiber* const fiber = s->fiber;
  tsan_ignore_end();
  fiber_yield(fiber);
  std::fprintf(stderr, "ups_emu: fatal: an abandoned CUDA thread was resumed\n");
  std::abort();
}

// shfl.sync's source lane for `lane` (PTX ISA, "shfl.sync"); returns `lane` where the source
// is out of range, so the lane keeps its own value.
unsigned shuffle_source(WarpOp op, unsigned lane, unsigned b, unsigned c) {
  const unsigned bval = b & 31u;
  const unsigned clamp = c & 31u;
  const unsigned segmask = (c >> 8) & 31u;
  const unsigned max_lane = (lane & segmask) | (clamp & ~segmask);
  const unsigned min_lane = lane & segmask;
  int j = static_cast<int>(lane);
  bool in_range = false;
  switch (op) {
    case WarpOp::kShflUp:
      j = static_cast<int>(lane) - static_cast<int>(bval);
      in_range = j >= static_cast<int>(max_lane);
      break;
    case WarpOp::kShflDown:
      j = static_cast<int>(lane + bval);
      in_range = j <= static_cast<int>(max_lane);
      break;
    case WarpOp::kShflXor:
      j = static_cast<int>(lane ^ bval);
      in_range = j <= static_cast<int>(max_lane);
      break;
    default:  // kShflIdx
      j = static_cast<int>(min_lane | (bval & ~segmask));
      in_range = j <= static_cast<int>(max_lane);
      break;
  }
  return in_range ? static_cast<unsigned>(j) : lane;
}

// The result of lane `lane`'s collective; every lane of `part` (the lanes taking part: its mask's
// non-exited lanes) waits in a collective and has deposited its value.
unsigned long long collective_result(const ThreadSlot* warp, unsigned lane, unsigned part) {
  const ThreadSlot& s = warp[lane];
  auto for_each = [&](auto&& f) {
    for (unsigned m = part; m != 0; m &= m - 1) f(warp[__builtin_ctz(m)].value);
  };
  switch (s.op) {
    case WarpOp::kSync:
    case WarpOp::kActiveMask:  // answered by try_complete_activemask
      return 0;
    case WarpOp::kShflIdx:
    case WarpOp::kShflUp:
    case WarpOp::kShflDown:
    case WarpOp::kShflXor: {
      const unsigned src = shuffle_source(s.op, lane, s.b, s.c);
      return ((part >> src) & 1u) ? warp[src].value : kPoison;
    }
    case WarpOp::kBallot:
    case WarpOp::kAny:
    case WarpOp::kAll: {
      unsigned ballot = 0;
      for (unsigned m = part; m != 0; m &= m - 1) {
        const unsigned l = static_cast<unsigned>(__builtin_ctz(m));
        if (warp[l].value != 0) ballot |= 1u << l;
      }
      if (s.op == WarpOp::kBallot) return ballot;
      if (s.op == WarpOp::kAny) return ballot != 0;
      return ballot == part;
    }
    case WarpOp::kMatchAny:
    case WarpOp::kMatchAll: {
      unsigned same = 0;
      for (unsigned m = part; m != 0; m &= m - 1) {
        const unsigned l = static_cast<unsigned>(__builtin_ctz(m));
        if (warp[l].value == s.value) same |= 1u << l;
      }
      if (s.op == WarpOp::kMatchAny) return same;
      return same == part ? part : 0;
    }
    case WarpOp::kReduceAddU: {
      unsigned r = 0;
      for_each([&](unsigned long long v) { r += static_cast<unsigned>(v); });
      return r;
    }
    case WarpOp::kReduceMinU:
    case WarpOp::kReduceMaxU: {
      unsigned r = static_cast<unsigned>(s.value);
      for_each([&](unsigned long long v) {
        const unsigned u = static_cast<unsigned>(v);
        r = (s.op == WarpOp::kReduceMinU) ? (u < r ? u : r) : (u > r ? u : r);
      });
      return r;
    }
    case WarpOp::kReduceMinI:
    case WarpOp::kReduceMaxI: {
      int r = static_cast<int>(static_cast<unsigned>(s.value));
      for_each([&](unsigned long long v) {
        const int i = static_cast<int>(static_cast<unsigned>(v));
        r = (s.op == WarpOp::kReduceMinI) ? (i < r ? i : r) : (i > r ? i : r);
      });
      return static_cast<unsigned>(r);
    }
    case WarpOp::kReduceAnd: {
      unsigned r = ~0u;
      for_each([&](unsigned long long v) { r &= static_cast<unsigned>(v); });
      return r;
    }
    case WarpOp::kReduceOr: {
      unsigned r = 0;
      for_each([&](unsigned long long v) { r |= static_cast<unsigned>(v); });
      return r;
    }
    case WarpOp::kReduceXor: {
      unsigned r = 0;
      for_each([&](unsigned long long v) { r ^= static_cast<unsigned>(v); });
      return r;
    }
  }
  return 0;
}

// ThreadSanitizer: the lanes of `part` (waiting in one completed collective) become ordered after
// each other's arrival, and after nothing else. The joined clock is built in the TSan context of a
// lane taking part: the running fiber's own when it takes part, else (a lane whose exit completed
// the group) the first lane's, which waits in the collective and so holds no other clock.
void tsan_order_group([[maybe_unused]] ThreadSlot* warp, [[maybe_unused]] unsigned part) {
#if UPS_EMU_TSAN
  const ThreadSlot* running = t_slot;
  const bool takes_part = running >= warp && running < warp + 32 && ((part >> (running - warp)) & 1u) != 0;
  void* own_context = nullptr;
  if (!takes_part) {
    own_context = __tsan_get_current_fiber();
    void* const first = warp[__builtin_ctz(part)].fiber->tsan_fiber;
    __tsan_switch_to_fiber(first, __tsan_switch_to_fiber_no_sync);
  }
  // Address arithmetic only: no memory access may happen in another lane's context.
  for (unsigned m = part; m != 0; m &= m - 1) __tsan_acquire(&warp[__builtin_ctz(m)].tsan_arrive);
  for (unsigned m = part; m != 0; m &= m - 1) __tsan_release(&warp[__builtin_ctz(m)].tsan_leave);
  if (!takes_part) __tsan_switch_to_fiber(own_context, __tsan_switch_to_fiber_no_sync);
#endif
}

// Opens lane `lane`'s warp collective if every lane taking part (the non-exited lanes of its mask)
// waits in the same collective: the same intrinsic with the same mask. Lanes waiting in another one
// have not arrived yet (on hardware they would be at another instruction).
bool try_complete_group(Block* b, unsigned w, unsigned lane) {
  const unsigned waiting = b->warp_waiting[w];
  ThreadSlot* warp = &b->slots[w * 32];
  const ThreadSlot& s = warp[lane];
  const unsigned part = s.mask & b->warp_live[w];
  if ((part & ~waiting) != 0) return false;
  for (unsigned m = part; m != 0; m &= m - 1) {
    const ThreadSlot& t = warp[__builtin_ctz(m)];
    if (t.op != s.op || t.mask != s.mask) return false;
  }
  for (unsigned m = part; m != 0; m &= m - 1) {
    const unsigned l = static_cast<unsigned>(__builtin_ctz(m));
    warp[l].result = collective_result(warp, l, part);
  }
  tsan_order_group(warp, part);
  for (unsigned m = part; m != 0; m &= m - 1) warp[__builtin_ctz(m)].state = ThreadState::kRunnable;
  b->warp_waiting[w] = waiting & ~part;
  return true;
}

// __activemask is answered once every non-exited lane of the warp is blocked (in a collective or at
// __syncthreads): the lanes that reached __activemask by then are the active ones.
void try_complete_activemask(Block* b, unsigned w) {
  const unsigned waiting = b->warp_waiting[w];
  const unsigned live = b->warp_live[w];
  ThreadSlot* warp = &b->slots[w * 32];
  unsigned at_activemask = 0;
  unsigned blocked = 0;
  for (unsigned m = live; m != 0; m &= m - 1) {
    const unsigned l = static_cast<unsigned>(__builtin_ctz(m));
    if (warp[l].state == ThreadState::kAtBarrier) blocked |= 1u << l;
    if (warp[l].state != ThreadState::kAtWarp) continue;
    blocked |= 1u << l;
    if (warp[l].op == WarpOp::kActiveMask) at_activemask |= 1u << l;
  }
  if (at_activemask == 0 || blocked != live) return;
  for (unsigned m = at_activemask; m != 0; m &= m - 1) {
    ThreadSlot& t = warp[__builtin_ctz(m)];
    t.result = at_activemask;
    t.state = ThreadState::kRunnable;
  }
  b->warp_waiting[w] = waiting & ~at_activemask;
}

// After lanes of warp `w` exited: collectives that waited for them may now be complete.
void recheck_warp(Block* b, unsigned w) {
  ThreadSlot* warp = &b->slots[w * 32];
  for (unsigned lane = 0; lane < 32; ++lane) {
    if (((b->warp_waiting[w] >> lane) & 1u) == 0 || warp[lane].op == WarpOp::kActiveMask) continue;
    try_complete_group(b, w, lane);
  }
  if (b->warp_waiting[w] != 0) try_complete_activemask(b, w);
}

void thread_exited(ThreadSlot* s) {
  Block* b = s->block;
  s->state = ThreadState::kExited;
  ++b->exited;
  const unsigned w = s->linear / 32;
  b->warp_live[w] &= ~(1u << (s->linear % 32));
  if (b->warp_waiting[w] != 0) recheck_warp(b, w);
}

#if UPS_EMU_TSAN
// Names the running TSan fiber after the CUDA thread it runs, for race reports.
void tsan_name_fiber(const ThreadSlot& s) {
  char name[96];
  std::snprintf(name, sizeof name, "CUDA thread (%u,%u,%u) of block (%u,%u,%u)", s.tid.x, s.tid.y, s.tid.z,
                s.block->idx.x, s.block->idx.y, s.block->idx.z);
  __tsan_set_fiber_name(__tsan_get_current_fiber(), name);
}
#endif

// What each fiber runs: one CUDA thread per work item, then back to the scheduler. It reads the
// host thread's state only through `self`, as the fiber may be resumed by another host thread.
__attribute__((noinline)) void run_cuda_thread(Fiber* self) {
  tsan_ignore_begin();
  ThreadSlot* s = static_cast<ThreadSlot*>(self->user);
  const LaunchInfo* launch = s->block->launch;
  const ThreadEntry entry = launch->entry;
  void* const closure = launch->closure;
  tsan_acquire(tsan_block_start(*s->block));
#if UPS_EMU_TSAN
  tsan_name_fiber(*s);
#endif
  tsan_ignore_end();
  entry(closure);
  tsan_ignore_begin();
  tsan_release(tsan_block_end(*s->block));
  thread_exited(s);
  tsan_ignore_end();
}

void fiber_body(Fiber* self) {
  for (;;) {
    run_cuda_thread(self);
    fiber_yield(self);
  }
}

Fiber* acquire_fiber() {
  if (!state().free_fibers.empty()) {
    Fiber* f = state().free_fibers.back();
    state().free_fibers.pop_back();
    return f;
  }
  ++state().stats.fibers_created;
  return fiber_create(&fiber_body);
}

void release_fiber(Fiber* f, bool abandoned) {
  if (abandoned) fiber_reset(f);
  f->user = nullptr;
  state().free_fibers.push_back(f);
}

std::string diagnose(const Block& b) {
  if (b.at_barrier > 0 && b.at_barrier + b.exited == b.n) {
    return format(
        "divergent barrier: __syncthreads reached by %u of %u threads of block (%u,%u,%u); %u exited without "
        "reaching it",
        b.at_barrier, b.n, b.idx.x, b.idx.y, b.idx.z, b.exited);
  }
  unsigned at_warp = 0;
  const ThreadSlot* example = nullptr;
  for (const ThreadSlot& s : b.slots) {
    if (s.state != ThreadState::kAtWarp) continue;
    ++at_warp;
    if (example == nullptr) example = &s;
  }
  std::string message = format(
      "deadlock in block (%u,%u,%u): %u threads wait at __syncthreads, %u in warp collectives, %u exited, "
      "none can go on",
      b.idx.x, b.idx.y, b.idx.z, b.at_barrier, at_warp, b.exited);
  if (example != nullptr) {
    const unsigned w = example->linear / 32;
    const ThreadSlot* warp = &b.slots[w * 32];
    unsigned elsewhere = 0;
    for (unsigned m = example->mask & b.warp_live[w]; m != 0; m &= m - 1) {
      const unsigned l = static_cast<unsigned>(__builtin_ctz(m));
      if (warp[l].state != ThreadState::kAtWarp || warp[l].op != example->op || warp[l].mask != example->mask)
        elsewhere |= 1u << l;
    }
    message += format(
        "; e.g. %s waits in %s(mask 0x%08x) for lanes 0x%08x, which are at __syncthreads or in another "
        "warp collective",
        thread_name(*example).c_str(), example->op_name, example->mask, elsewhere);
  }
  return message;
}

// Runs the block set up in `b`; false when it failed (b.message says why).
bool run_block(Block& b) {
  // The scheduler's bookkeeping, and threadIdx, which kernels read: see NOTE [ Emulation layer
  // under ThreadSanitizer ]. The host thread's ignore state is its own: fibers run unaffected.
  const TsanIgnoreScope ignore;
  for (;;) {
    bool progress = false;
    for (unsigned i = 0; i < b.n; ++i) {
      ThreadSlot& s = b.slots[i];
      if (s.state == ThreadState::kNotStarted) {
        s.fiber = acquire_fiber();
        s.fiber->user = &s;
        s.state = ThreadState::kRunnable;
      } else if (s.state != ThreadState::kRunnable) {
        continue;
      }
      progress = true;
      threadIdx = s.tid;
      t_slot = &s;
      fiber_resume(s.fiber);
      state().stats.fiber_switches += 2;
      if (b.failed) return false;
      if (s.state == ThreadState::kExited && !kFiberPerThreadOfBlock) {
        release_fiber(s.fiber, false);
        s.fiber = nullptr;
      }
    }
    if (b.exited == b.n) {
      if (kFiberPerThreadOfBlock) {
        for (ThreadSlot& s : b.slots) {
          release_fiber(s.fiber, false);
          s.fiber = nullptr;
        }
      }
      return true;
    }
    if (!progress) {
      b.failed = true;
      b.message = diagnose(b);
      return false;
    }
  }
}

// ThreadSanitizer: the threads that a failed block leaves stopped never reach the release at their
// end, so it is made for them, in their TSan contexts (their stacks are not switched to): what they
// did comes before the host thread's cleanup and before the next launch.
// Nothing but the release runs in their contexts (a memory access there would be theirs).
void tsan_release_stopped_threads([[maybe_unused]] const Block& b) {
#if UPS_EMU_TSAN
  void* const host = __tsan_get_current_fiber();
  void* const sync = const_cast<void*>(tsan_block_end(b));
  for (const ThreadSlot& s : b.slots) {
    if (s.fiber == nullptr || s.state == ThreadState::kExited) continue;
    void* const context = s.fiber->tsan_fiber;
    __tsan_switch_to_fiber(context, __tsan_switch_to_fiber_no_sync);
    __tsan_release(sync);
    __tsan_switch_to_fiber(host, __tsan_switch_to_fiber_no_sync);
  }
#endif
}

// After a failed block: fibers stopped inside the kernel are reset and go back to the pool.
void abandon_block(Block& b) {
  for (ThreadSlot& s : b.slots) {
    if (s.fiber == nullptr) continue;
    release_fiber(s.fiber, s.state != ThreadState::kExited);
    s.fiber = nullptr;
  }
}

bool valid_config(dim3 grid, dim3 block) {
  if (block.x == 0 || block.y == 0 || block.z == 0) return false;
  if (block.x > static_cast<unsigned>(kMaxBlockDimX) || block.y > static_cast<unsigned>(kMaxBlockDimY) ||
      block.z > static_cast<unsigned>(kMaxBlockDimZ))
    return false;
  if (static_cast<unsigned long long>(block.x) * block.y * block.z >
      static_cast<unsigned long long>(kMaxThreadsPerBlock))
    return false;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return false;
  if (grid.x > static_cast<unsigned>(kMaxGridDimX) || grid.y > static_cast<unsigned>(kMaxGridDimY) ||
      grid.z > static_cast<unsigned>(kMaxGridDimZ))
    return false;
  return true;
}

struct DynamicSharedBuffer {
  explicit DynamicSharedBuffer(size_t bytes)
      : data(static_cast<unsigned char*>(::operator new (bytes, std::align_val_t{16}))) {}
  ~DynamicSharedBuffer() { ::operator delete (data, std::align_val_t{16}); }
  DynamicSharedBuffer(const DynamicSharedBuffer&) = delete;
  DynamicSharedBuffer& operator=(const DynamicSharedBuffer&) = delete;
  unsigned char* data;
};

}  // namespace

cudaError_t check_launch(const void* kernel, dim3 grid, dim3 block, size_t dynamic_shared_bytes, cudaStream_t stream,
                         ThreadEntry entry) {
  if (t_slot != nullptr) {
    std::fprintf(stderr, "ups_emu: a kernel launched %s from device code; dynamic parallelism is not emulated\n",
                 kernel_name(kernel).c_str());
    return record_error(cudaErrorNotSupported);
  }
  if (kernel == nullptr || entry == nullptr) return record_error(cudaErrorInvalidDeviceFunction);
  if (!valid_config(grid, block)) return record_error(cudaErrorInvalidConfiguration);
  if (!stream_is_valid(stream)) return record_error(cudaErrorInvalidResourceHandle);
  if (dynamic_shared_bytes > static_cast<size_t>(kernel_max_dynamic_shared(kernel)))
    return record_error(cudaErrorInvalidValue);
  return cudaSuccess;
}

cudaError_t launch_erased(const void* kernel, dim3 grid, dim3 block, size_t dynamic_shared_bytes, cudaStream_t stream,
                          ThreadEntry entry, void* closure) {
  const cudaError_t invalid = check_launch(kernel, grid, block, dynamic_shared_bytes, stream, entry);
  if (invalid != cudaSuccess) return invalid;

  std::lock_guard<std::mutex> lock(state().launch_mutex);
  LaunchInfo launch;
  launch.kernel = kernel;
  launch.grid = grid;
  launch.block = block;
  launch.dynamic_shared_bytes = dynamic_shared_bytes;
  launch.entry = entry;
  launch.closure = closure;

  Block& b = state().block;
  b.launch = &launch;
  b.n = block.x * block.y * block.z;
  const unsigned warps = (b.n + 31) / 32;
  b.slots.assign(b.n, ThreadSlot{});
  for (unsigned i = 0; i < b.n; ++i) {
    ThreadSlot& s = b.slots[i];
    s.block = &b;
    s.linear = i;
    s.tid = uint3{i % block.x, (i / block.x) % block.y, i / (block.x * block.y)};
  }
  b.warp_live.assign(warps, 0);
  b.warp_waiting.assign(warps, 0);

  DynamicSharedBuffer shared(dynamic_shared_bytes);
  t_dynamic_shared = shared.data;
  blockDim = block;
  gridDim = grid;
  ++state().stats.launches;

  bool ok = true;
  b.ordinal = 0;
  for (unsigned bz = 0; bz < grid.z && ok; ++bz) {
    for (unsigned by = 0; by < grid.y && ok; ++by) {
      for (unsigned bx = 0; bx < grid.x && ok; ++bx) {
        tsan_acquire(tsan_block_start(b));  // the previous block's threads
        b.idx = uint3{bx, by, bz};
        blockIdx = b.idx;
        if (dynamic_shared_bytes != 0) std::memset(shared.data, 0xff, dynamic_shared_bytes);
        for (ThreadSlot& s : b.slots) s.state = ThreadState::kNotStarted;
        for (unsigned w = 0; w < warps; ++w) {
          const unsigned lanes = (w + 1 < warps || b.n % 32 == 0) ? 32u : b.n % 32;
          b.warp_live[w] = lanes == 32 ? ~0u : (1u << lanes) - 1;
          b.warp_waiting[w] = 0;
        }
        b.exited = 0;
        b.at_barrier = 0;
        b.barrier_count = 0;
        b.barrier_result = 0;
        b.barrier_generation = 0;
        b.failed = false;
        b.failure = cudaErrorLaunchFailure;
        ++state().stats.blocks;
        state().stats.threads += b.n;
        tsan_release(tsan_block_start(b));  // what this block's threads acquire as they start
        ok = run_block(b);
        if (!ok) tsan_release_stopped_threads(b);
        ++b.ordinal;
      }
    }
  }
  tsan_acquire(tsan_block_start(b));  // the last block's threads (what they did until they stopped)
  t_slot = nullptr;
  t_dynamic_shared = nullptr;
  if (ok) return cudaSuccess;

  abandon_block(b);
  std::fprintf(stderr, "ups_emu: launch of %s <<<(%u,%u,%u), (%u,%u,%u), %zu>>> failed (%s): %s\n",
               kernel_name(kernel).c_str(), grid.x, grid.y, grid.z, block.x, block.y, block.z, dynamic_shared_bytes,
               cudaGetErrorName(b.failure), b.message.c_str());
  return record_error(b.failure);
}

unsigned char* dynamic_shared_memory() { return t_dynamic_shared; }

unsigned long long warp_collective(WarpOp op, const char* name, unsigned mask, unsigned long long value, unsigned b,
                                   unsigned c) {
  tsan_ignore_begin();
  ThreadSlot* s = current_thread(name);
  Block* blk = s->block;
  const unsigned lane = s->linear % 32;
  const unsigned w = s->linear / 32;
  if (((mask >> lane) & 1u) == 0) {
    blk->message = format("%s called by %s with mask 0x%08x, which does not include the calling lane", name,
                          thread_name(*s).c_str(), mask);
    abandon_launch(s);
  }
  s->op = op;
  s->op_name = name;
  s->mask = mask;
  s->value = value;
  s->b = b;
  s->c = c;
  s->state = ThreadState::kAtWarp;
  // __activemask waits for the warp but does not synchronize memory.
  if (op != WarpOp::kActiveMask) tsan_release(&s->tsan_arrive);
  blk->warp_waiting[w] |= 1u << lane;
  if (op == WarpOp::kActiveMask || !try_complete_group(blk, w, lane)) try_complete_activemask(blk, w);
  Fiber* const fiber = s->fiber;
  tsan_ignore_end();
  fiber_yield(fiber);
  tsan_ignore_begin();
  if (op != WarpOp::kActiveMask) tsan_acquire(&s->tsan_leave);
  const unsigned long long result = s->result;
  tsan_ignore_end();
  return result;
}

namespace {

int block_barrier(int predicate, const char* name) {
  tsan_ignore_begin();
  ThreadSlot* s = current_thread(name);
  Block* b = s->block;
  const void* const barrier_sync = &b->tsan_barrier[b->barrier_generation & 1];
  tsan_release(barrier_sync);
  s->state = ThreadState::kAtBarrier;
  ++b->at_barrier;
  b->barrier_count += predicate != 0;
  const unsigned w = s->linear / 32;
  if (b->warp_waiting[w] != 0) try_complete_activemask(b, w);
  if (b->exited == 0 && b->at_barrier == b->n) {
    for (ThreadSlot& t : b->slots) t.state = ThreadState::kRunnable;
    b->barrier_result = static_cast<int>(b->barrier_count);
    b->barrier_count = 0;
    b->at_barrier = 0;
    ++b->barrier_generation;
  }
  Fiber* const fiber = s->fiber;
  tsan_ignore_end();
  fiber_yield(fiber);  // even the last to arrive: the next phase starts again from thread 0
  tsan_ignore_begin();
  tsan_acquire(barrier_sync);
  const int result = b->barrier_result;
  tsan_ignore_end();
  return result;
}

}  // namespace
}  // namespace ups_emu::detail

namespace ups_emu {

Stats stats() {
  std::lock_guard<std::mutex> lock(detail::state().launch_mutex);
  return detail::state().stats;
}

}  // namespace ups_emu

void __syncthreads() { ups_emu::detail::block_barrier(1, "__syncthreads"); }

int __syncthreads_count(int predicate) { return ups_emu::detail::block_barrier(predicate, "__syncthreads_count"); }

int __syncthreads_and(int predicate) {
  const int n = static_cast<int>(blockDim.x * blockDim.y * blockDim.z);
  return ups_emu::detail::block_barrier(predicate, "__syncthreads_and") == n;
}

int __syncthreads_or(int predicate) { return ups_emu::detail::block_barrier(predicate, "__syncthreads_or") != 0; }

void ups_emu::detail::misaligned_vector_access(const void* address, unsigned bytes) {
  ups_emu::detail::tsan_ignore_begin();  // ended by abandon_launch
  ups_emu::detail::ThreadSlot* s = ups_emu::detail::current_thread("a vector access");
  s->block->failure = cudaErrorMisalignedAddress;
  s->block->message = ups_emu::detail::format("misaligned %u-byte vector access at %p by %s", bytes, address,
                                              ups_emu::detail::thread_name(*s).c_str());
  ups_emu::detail::abandon_launch(s);
}

void __trap() {
  ups_emu::detail::tsan_ignore_begin();  // ended by abandon_launch
  ups_emu::detail::ThreadSlot* s = ups_emu::detail::current_thread("__trap");
  s->block->message = "__trap() called by " + ups_emu::detail::thread_name(*s);
  ups_emu::detail::abandon_launch(s);
}

unsigned __activemask() {
  return static_cast<unsigned>(
      ups_emu::detail::warp_collective(ups_emu::detail::WarpOp::kActiveMask, "__activemask", 0xffffffffu, 0, 0, 0));
}

long long clock64() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

#include "core/index_width.h"

#include <atomic>

namespace upsample::detail {
namespace {
std::atomic<bool> g_force_64bit_indexing{false};
}

void set_force_64bit_indexing(bool force) { g_force_64bit_indexing = force; }
bool force_64bit_indexing() { return g_force_64bit_indexing; }

}  // namespace upsample::detail

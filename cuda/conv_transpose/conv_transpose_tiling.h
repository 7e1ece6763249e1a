// Host-side planning helpers shared by the tiled transposed-convolution kernels (the forward's
// tiled gather and the data gradient's tiled kernel): both stage a box of one tensor and a slab of
// weights per chunk of channels, and size those the same way.
#pragma once

#include <algorithm>
#include <cstdint>

namespace upsample::cuda {

// The smallest power of two >= value, capped at `cap` (a power of two).
inline int pow2_at_least(int64_t value, int cap) {
  int result = 1;
  while (result < value && result < cap) result *= 2;
  return result;
}

// Channels per thread of a tiled kernel: the largest tile that wastes at most a quarter of its
// accumulators on a group's last tile (so depthwise and RGB channels do not pay for 16).
inline int choose_channel_tile(int64_t channels_per_group) {
  if (channels_per_group >= 12) return 16;
  if (channels_per_group >= 3) return 4;
  return 1;
}

// Fits the staged tiles into `shared_bytes`: per chunk channel, `box_volume` staged values plus
// `taps` x `tile` x `*thread_groups` weights, each `accum_bytes`. Halves the chunk (from
// min(channels, max_chunk)) first, then the thread groups; false when even one channel and one
// group do not fit (then the launcher takes the direct kernel).
inline bool fit_staged_chunk(int64_t channels, int64_t max_chunk, int64_t box_volume, int64_t taps, int tile,
                             int64_t accum_bytes, int64_t shared_bytes, int64_t* thread_groups, int64_t* chunk) {
  for (;;) {
    const int64_t per_channel_bytes = (box_volume + taps * tile * *thread_groups) * accum_bytes;
    *chunk = std::min<int64_t>(channels, max_chunk);
    while (*chunk > 1 && *chunk * per_channel_bytes > shared_bytes) *chunk /= 2;
    if (*chunk * per_channel_bytes <= shared_bytes) return true;
    if (*thread_groups == 1) return false;
    *thread_groups /= 2;
  }
}

}  // namespace upsample::cuda

// How a single-token attention spreads its cached keys over workgroups (attention_decode.wgsl).
#pragma once

#include <algorithm>
#include <cstdint>

namespace webaccel::gpu {

struct AttentionSplit {
  uint32_t splits;      // workgroups per head
  uint32_t split_keys;  // cached keys each folds (the last split may have fewer, none has 0)
  uint32_t tile;        // keys per tile, the pipeline's wg: 64, 128 or 256
};

// A decode step has one query row per head: n_head workgroups each walking the whole context leave
// most of a large GPU idle, so a context of at least 2 min_keys keys is cut into up to max_splits
// splits of at least min_keys keys (0 or 1 max_splits: never split).
inline AttentionSplit plan_attention_split(uint32_t cached_keys, uint32_t max_splits, uint32_t min_keys) {
  uint32_t splits = 1;
  if (max_splits > 1 && min_keys > 0) splits = std::clamp(cached_keys / min_keys, 1u, max_splits);
  const uint32_t split_keys = std::max(1u, (cached_keys + splits - 1) / splits);
  splits = std::max(1u, (cached_keys + split_keys - 1) / split_keys);  // no split left empty
  // Fewer, larger tiles for more keys per workgroup: its tiles run one after another. On an H100,
  // 7B decode unsplit: 64 keys 26 us in 64-key tiles; 512 keys 120 / 81 / 73 us in 64 / 128 / 256.
  const uint32_t tile = split_keys <= 64 ? 64 : split_keys <= 256 ? 128 : 256;
  return {splits, split_keys, tile};
}

}  // namespace webaccel::gpu

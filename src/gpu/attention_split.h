// How a single-token attention spreads its cached keys over workgroups (attention_decode.wgsl).
#pragma once

#include <algorithm>
#include <cstdint>

namespace webaccel::gpu {

struct AttentionSplit {
  uint32_t splits;      // workgroups per head
  uint32_t split_keys;  // cached keys each folds (the last split may have fewer, none has 0)
};

// A decode step has one query row per head: n_head workgroups each walking the whole context leave
// most of a large GPU idle, so a context of at least 2 min_keys keys is cut into up to max_splits
// splits of at least min_keys keys (0 or 1 max_splits: never split).
inline AttentionSplit plan_attention_split(uint32_t cached_keys, uint32_t max_splits, uint32_t min_keys) {
  uint32_t splits = 1;
  if (max_splits > 1 && min_keys > 0) splits = std::clamp(cached_keys / min_keys, 1u, max_splits);
  const uint32_t split_keys = std::max(1u, (cached_keys + splits - 1) / splits);
  splits = std::max(1u, (cached_keys + split_keys - 1) / split_keys);  // no split left empty
  return {splits, split_keys};
}

}  // namespace webaccel::gpu

// Bind groups kept across submits for the native device: a decode step records the same
// dispatches (pipeline, params slot, buffer views) every token, and creating a bind group costs
// microseconds of CPU per dispatch, which a fast GPU would otherwise wait on.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include <webgpu/webgpu.h>

namespace webaccel::gpu {

class BindGroupCache {
 public:
  // What a bind group binds: pipeline id, params slot, then (buffer id, offset, bytes) per buffer.
  using Key = std::vector<uint64_t>;
  static constexpr size_t kMaxEntries = 8192;  // past this, start afresh (views that keep changing)

  WGPUBindGroup find(const Key& key) const {
    auto it = groups_.find(key);
    return it == groups_.end() ? nullptr : it->second;
  }

  // Takes the group's reference; `release` is called for groups dropped to make room.
  template <class Release>
  void insert(Key key, WGPUBindGroup group, Release release) {
    if (groups_.size() >= kMaxEntries) clear(release);
    groups_.emplace(std::move(key), group);
  }

  // Drops every group that binds buffer `id`, so a released buffer's memory is really freed.
  template <class Release>
  void forget_buffer(uint32_t id, Release release) {
    for (auto it = groups_.begin(); it != groups_.end();) {
      bool binds = false;
      for (size_t i = 2; i < it->first.size(); i += 3) binds = binds || it->first[i] == id;
      if (binds) {
        release(it->second);
        it = groups_.erase(it);
      } else {
        ++it;
      }
    }
  }

  template <class Release>
  void clear(Release release) {
    for (auto& [key, group] : groups_) release(group);
    groups_.clear();
  }

 private:
  struct Hash {
    size_t operator()(const Key& k) const {
      uint64_t h = 1469598103934665603ull;  // FNV-1a over the words
      for (uint64_t w : k) h = (h ^ w) * 1099511628211ull;
      return static_cast<size_t>(h);
    }
  };
  std::unordered_map<Key, WGPUBindGroup, Hash> groups_;
};

}  // namespace webaccel::gpu

// A GPU result a host reads back between two phases of a GPU job (self-tests, model steps):
// natively with read_buffer at once, in the browser through the bridge asynchronously.
#pragma once

#include <cstdint>
#include <span>

#include "gpu/device.h"

namespace webaccel::gpu {

struct Readback {
  Buffer buffer;
  uint64_t offset = 0;
  uint64_t bytes = 0;
  void* dst = nullptr;  // must stay valid until the read lands
};

// Where reading back is synchronous (native devices).
inline void read_all(Device& device, std::span<const Readback> reads) {
  for (const auto& r : reads) device.read_buffer(r.buffer, r.offset, r.dst, r.bytes);
}

}  // namespace webaccel::gpu

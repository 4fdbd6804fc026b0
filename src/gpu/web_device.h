// The wasm build's gpu::Device: every call goes to the JS bridge (web/src/gpu_bridge.js) that the
// host attached as Module.webaccelGpu. Reading back is asynchronous there: request_read queues a
// copy into wasm memory, the host awaits the bridge's settle(), then read_status says it landed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "gpu/device.h"

namespace webaccel::gpu {

class WebDevice : public Device {
 public:
  // Queues a copy of bytes at offset of buffer into dst (which must stay alive until it lands);
  // returns a ticket. Submits what was recorded.
  virtual uint32_t request_read(Buffer buffer, uint64_t offset, void* dst, uint64_t bytes) = 0;
  // True once the copy landed; false while pending; throws DeviceLost when it failed.
  virtual bool read_done(uint32_t ticket) = 0;
};

// The device of the bridge the host attached, or nullptr with `why` filled (no bridge, or lost).
std::unique_ptr<WebDevice> open_web_device(std::string* why);

}  // namespace webaccel::gpu

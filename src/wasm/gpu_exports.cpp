// Embind surface of the GPU self-tests: hosts run them in two calls around the bridge's settle()
// (the wasm side cannot wait for a read back): start() records and requests the reads, finish()
// compares once they landed.
#include <emscripten/bind.h>

#include <memory>
#include <string>
#include <vector>

#include "gpu/device_selftest.h"
#include "gpu/web_device.h"
#include "wasm/guarded.h"

namespace webaccel::wasm {
namespace {

class GpuDeviceCheck {
 public:
  GpuDeviceCheck() {
    guarded([&] {
      std::string why;
      device_ = gpu::open_web_device(&why);
      if (!device_) throw gpu::DeviceLost(why);
      test_ = std::make_unique<gpu::DeviceSelftest>(*device_);
      return 0;
    });
  }
  void start() {
    guarded([&] {
      for (const auto& r : test_->enqueue()) tickets_.push_back(device_->request_read(r.buffer, r.offset, r.dst, r.bytes));
      return 0;
    });
  }
  std::string finish() {
    return guarded([&] {
      for (auto t : tickets_) {
        if (!device_->read_done(t)) fail(ErrorKind::kInternal, "a read back has not landed (await the bridge's settle())");
      }
      return test_->report();
    });
  }

 private:
  std::unique_ptr<gpu::WebDevice> device_;
  std::unique_ptr<gpu::DeviceSelftest> test_;
  std::vector<uint32_t> tickets_;
};

}  // namespace
}  // namespace webaccel::wasm

EMSCRIPTEN_BINDINGS(webaccel_gpu) {
  using namespace webaccel::wasm;
  emscripten::class_<GpuDeviceCheck>("GpuDeviceCheck")
      .constructor<>()
      .function("start", &GpuDeviceCheck::start)
      .function("finish", &GpuDeviceCheck::finish);
}

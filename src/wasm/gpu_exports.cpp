// Embind surface of the GPU self-tests: hosts run them in two calls around the bridge's settle()
// (the wasm side cannot wait for a read back): start() records and requests the reads, finish()
// compares once they landed.
#include <emscripten/bind.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "gpu/device_selftest.h"
#include "gpu/kernels.h"
#include "gpu/selftest.h"
#include "gpu/web_device.h"
#include "wasm/guarded.h"

namespace webaccel::wasm {
namespace {

std::unique_ptr<gpu::WebDevice> open_device() {
  std::string why;
  auto device = gpu::open_web_device(&why);
  if (!device) throw gpu::DeviceLost(why);
  return device;
}

// One self-test on its own device: Test is gpu::DeviceSelftest or gpu::KernelSelftest.
template <typename Test>
class GpuCheck {
 public:
  template <typename... Args>
  explicit GpuCheck(Args... args) {
    guarded([&] {
      device_ = open_device();
      if constexpr (std::is_same_v<Test, gpu::KernelSelftest>) {
        kernels_ = std::make_unique<gpu::Kernels>(*device_);
        test_ = std::make_unique<Test>(*kernels_, static_cast<uint64_t>(args)...);
      } else {
        test_ = std::make_unique<Test>(*device_);
      }
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
  std::unique_ptr<gpu::Kernels> kernels_;
  std::unique_ptr<Test> test_;
  std::vector<uint32_t> tickets_;
};

}  // namespace
}  // namespace webaccel::wasm

EMSCRIPTEN_BINDINGS(webaccel_gpu) {
  using namespace webaccel::wasm;
  using DeviceCheck = GpuCheck<webaccel::gpu::DeviceSelftest>;
  using KernelCheck = GpuCheck<webaccel::gpu::KernelSelftest>;
  emscripten::class_<DeviceCheck>("GpuDeviceCheck")
      .constructor<>()
      .function("start", &DeviceCheck::start)
      .function("finish", &DeviceCheck::finish);
  emscripten::class_<KernelCheck>("GpuKernelCheck")
      .constructor<double>()
      .function("start", &KernelCheck::start)
      .function("finish", &KernelCheck::finish);
}

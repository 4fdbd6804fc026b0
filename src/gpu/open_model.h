// The native WebGPU device with one model built on it, for the CLI's runners: nullptr and the reason
// when WebGPU is absent or the device refuses the model, so the caller can fall back to the CPU.
#pragma once

#include <memory>
#include <string>

#include "core/error.h"
#include "gpu/device.h"
#include "gpu/kernels.h"

namespace webaccel::gpu {

template <class Model>
struct GpuModel {
  std::unique_ptr<Device> device;
  std::unique_ptr<Kernels> kernels;
  std::unique_ptr<Model> model;
};

// make(Kernels&) -> std::unique_ptr<Model>: uploads (and precompiles) the model.
template <class Model, class Make>
std::unique_ptr<GpuModel<Model>> open_gpu_model(Make make, std::string* why) {
  std::string absent;
  auto device = open_native_device(&absent);
  if (!device) {
    *why = "WebGPU absent (" + absent + ")";
    return nullptr;
  }
  auto gpu = std::make_unique<GpuModel<Model>>();
  gpu->device = std::move(device);
  try {
    gpu->kernels = std::make_unique<Kernels>(*gpu->device);
    gpu->model = make(*gpu->kernels);
  } catch (const Error& e) {
    *why = std::string("WebGPU refused the model (") + e.what() + ")";
    return nullptr;
  }
  return gpu;
}

}  // namespace webaccel::gpu

// The narrow GPU device interface the core's GPU path is written against: buffers, pipelines made
// from WGSL, dispatches recorded in order, submit, read back. Two implementations:
//   native_device.cpp  - webgpu.h of wgpu-native (a real WebGPU library), synchronous read back
//   web_device.cpp     - the wasm build's imports from a thin JS bridge (web/src/gpu_bridge.js)
//                        that owns the browser's or Node's GPUDevice; read back is asynchronous
//                        there, so hosts read results through the bridge between steps.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace webaccel::gpu {

// What the adapter offers, requested at its real limits.
struct DeviceInfo {
  std::string implementation;  // "wgpu-native 25.0.2.1", "Dawn (Chromium 156)", ...
  std::string adapter;         // adapter name / driver as reported
  std::string backend;         // "Vulkan", ...
  std::string adapter_type;    // "discrete GPU", "integrated GPU", "cpu" (software: lavapipe, SwiftShader), "unknown"
  uint64_t max_storage_buffer_binding_size = 0;
  uint64_t max_buffer_size = 0;
  uint32_t max_compute_workgroups_per_dimension = 0;
  uint32_t max_compute_invocations_per_workgroup = 0;
  uint32_t max_compute_workgroup_size_x = 0;
  uint32_t max_storage_buffers_per_shader_stage = 0;
  uint32_t min_uniform_buffer_offset_alignment = 256;
  bool shader_f16 = false;   // feature "shader-f16" enabled on the device
  bool subgroups = false;    // feature "subgroups" enabled on the device
  bool timestamps = false;   // feature "timestamp-query" enabled on the device
  bool packed_dot4 = false;  // WGSL language feature packed_4x8_integer_dot_product (dot4I8Packed)
  bool sync_readback = true; // read_buffer works (native); false in the browser bridge
};

// A storage buffer (also copy source and destination). 0 is never a valid id.
struct Buffer {
  uint32_t id = 0;
  uint64_t bytes = 0;
  explicit operator bool() const { return id != 0; }
};

// A range of a buffer bound to one @binding; bytes 0 means "to the end".
struct BufferView {
  Buffer buffer;
  uint64_t offset = 0;
  uint64_t bytes = 0;
};

// A compute pipeline: WGSL source, entry point and `override` constants. `key` names it in the
// cache (family + constants), so two requests for the same key share one pipeline.
struct PipelineDesc {
  std::string key;
  std::string wgsl;      // the source text (kernel_sources.h embeds src/gpu/wgsl/*.wgsl)
  std::string entry = "main";
  std::vector<std::pair<std::string, double>> constants;
};

struct Pipeline {
  uint32_t id = 0;
  explicit operator bool() const { return id != 0; }
};

// Thrown when the device is lost (or was never usable) so callers can fall back to the CPU.
class DeviceLost : public Error {
 public:
  explicit DeviceLost(std::string message) : Error(ErrorKind::kIo, std::move(message)) {}
};

class Device {
 public:
  virtual ~Device() = default;
  virtual const DeviceInfo& info() const = 0;

  // A zero-initialised storage buffer; fails with a clear error above max_buffer_size.
  virtual Buffer create_buffer(uint64_t bytes, const std::string& label) = 0;
  virtual void release(Buffer buffer) = 0;
  // Queued before any dispatch recorded after it (queue.writeBuffer semantics); bytes % 4 == 0.
  virtual void write_buffer(Buffer buffer, uint64_t offset, const void* data, uint64_t bytes) = 0;

  // Compiles now (blocking) unless already cached under desc.key.
  virtual Pipeline pipeline(const PipelineDesc& desc) = 0;
  // Shader precompilation: creates every pipeline asynchronously and waits for all of them.
  virtual void precompile(std::span<const PipelineDesc> descs) = 0;
  virtual bool has_pipeline(const std::string& key) const = 0;

  // Records a dispatch: @group(0) @binding(0) is a uniform holding `params` (bytes % 4 == 0,
  // at most 256), @binding(1..) are `buffers` in order.
  virtual void dispatch(Pipeline pipeline, std::span<const uint8_t> params, std::span<const BufferView> buffers,
                        uint32_t groups_x, uint32_t groups_y = 1, uint32_t groups_z = 1) = 0;
  virtual void copy(Buffer src, uint64_t src_offset, Buffer dst, uint64_t dst_offset, uint64_t bytes) = 0;
  // Submits everything recorded so far.
  virtual void submit() = 0;
  // Submits, waits, and copies bytes out (only where info().sync_readback).
  virtual void read_buffer(Buffer buffer, uint64_t offset, void* dst, uint64_t bytes) = 0;
  // Submits and waits for the queue to drain (timing).
  virtual void finish() = 0;

  virtual bool lost() const = 0;
  // Destroys the device (wgpuDeviceDestroy / GPUDevice.destroy()): from here on it is lost, as
  // when a driver resets; tests of the CPU fallback use it.
  virtual void destroy() = 0;
};

// The native WebGPU device (wgpu-native), or nullptr with `why` filled when WebGPU is absent
// (library missing, no adapter, adapter refused). WEBACCEL_GPU_DISABLE=1 forces absence (tests).
std::unique_ptr<Device> open_native_device(std::string* why);

// Params helper: a POD struct as the uniform bytes of a dispatch.
template <typename T>
std::span<const uint8_t> as_params(const T& params) {
  static_assert(sizeof(T) % 4 == 0 && sizeof(T) <= 256, "uniform params: 4-byte multiple, at most 256 bytes");
  return {reinterpret_cast<const uint8_t*>(&params), sizeof(T)};
}

}  // namespace webaccel::gpu

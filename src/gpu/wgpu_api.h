// wgpu-native's C API resolved at run time (dlopen + dlsym), so a binary built here still runs,
// and reports why, where the library or a Vulkan driver is missing.
#pragma once

#include <string>

#include <webgpu/webgpu.h>
#include <webgpu/wgpu.h>

namespace webaccel::gpu {

// Every wgpu* function native_device.cpp calls; the table holds one pointer per name.
#define WEBACCEL_WGPU_FUNCTIONS(X)                                                                          \
  X(wgpuGetVersion) X(wgpuCreateInstance) X(wgpuInstanceRequestAdapter) X(wgpuInstanceProcessEvents)       \
  X(wgpuInstanceRelease) X(wgpuAdapterGetLimits) X(wgpuAdapterGetInfo) X(wgpuAdapterInfoFreeMembers)       \
  X(wgpuAdapterHasFeature) X(wgpuAdapterRequestDevice) X(wgpuAdapterRelease) X(wgpuDeviceCreateBuffer)     \
  X(wgpuDeviceCreateShaderModule) X(wgpuDeviceCreateComputePipeline) \
  X(wgpuDeviceCreateBindGroup) X(wgpuDeviceCreateCommandEncoder) X(wgpuDeviceGetQueue) X(wgpuDeviceDestroy) \
  X(wgpuDeviceRelease) X(wgpuDeviceHasFeature) X(wgpuDevicePoll) X(wgpuComputePipelineGetBindGroupLayout)  \
  X(wgpuComputePipelineRelease) X(wgpuBindGroupLayoutRelease) X(wgpuBindGroupRelease)                      \
  X(wgpuShaderModuleRelease) X(wgpuBufferDestroy) X(wgpuBufferRelease) X(wgpuBufferMapAsync)               \
  X(wgpuBufferGetConstMappedRange) X(wgpuBufferUnmap) X(wgpuCommandEncoderBeginComputePass)                \
  X(wgpuCommandEncoderCopyBufferToBuffer) X(wgpuCommandEncoderFinish) X(wgpuCommandEncoderRelease)         \
  X(wgpuCommandBufferRelease) X(wgpuComputePassEncoderSetPipeline) X(wgpuComputePassEncoderSetBindGroup)   \
  X(wgpuComputePassEncoderDispatchWorkgroups) X(wgpuComputePassEncoderEnd) X(wgpuComputePassEncoderRelease) \
  X(wgpuQueueSubmit) X(wgpuQueueWriteBuffer) X(wgpuQueueRelease) X(wgpuDeviceCreateQuerySet)             \
  X(wgpuQuerySetRelease) X(wgpuCommandEncoderResolveQuerySet) X(wgpuComputePassEncoderWriteTimestamp)

struct WgpuApi {
#define WEBACCEL_WGPU_POINTER(name) decltype(&::name) name = nullptr;
  WEBACCEL_WGPU_FUNCTIONS(WEBACCEL_WGPU_POINTER)
#undef WEBACCEL_WGPU_POINTER
  std::string path;  // the library file that was loaded
};

// Loads the library once per process: WEBACCEL_WGPU_LIB, else build/deps/wgpu/lib of the source
// tree, else beside the executable (its dir, then ../deps/wgpu/lib and ../../deps/wgpu/lib of it),
// else the system's search path.
// nullptr with `why` when none loads or a function is missing.
const WgpuApi* load_wgpu(std::string* why);

}  // namespace webaccel::gpu

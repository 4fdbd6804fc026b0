// Opening the native device: wgpu-native loaded (gpu/wgpu_api.h), a Vulkan adapter requested at its
// real limits with shader-f16 / subgroups / timestamp-query where offered, and the callbacks that
// turn uncaptured errors and device loss into C++ errors.
#include <cstdlib>
#include <memory>

#include "gpu/native_device.h"

namespace webaccel::gpu {
namespace native {

std::string text(WGPUStringView v) {
  if (!v.data) return {};
  return v.length == WGPU_STRLEN ? std::string(v.data) : std::string(v.data, v.length);
}

std::string one_line(std::string s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\n') {
      out += s[i];
      continue;
    }
    while (i + 1 < s.size() && (s[i + 1] == '\n' || s[i + 1] == ' ')) ++i;
    if (!out.empty() && out.back() != ' ') out += ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

namespace {

const char* backend_name(WGPUBackendType type) {
  switch (type) {
    case WGPUBackendType_Vulkan: return "Vulkan";
    case WGPUBackendType_Metal: return "Metal";
    case WGPUBackendType_D3D12: return "D3D12";
    case WGPUBackendType_OpenGL: return "OpenGL";
    case WGPUBackendType_OpenGLES: return "OpenGLES";
    default: return "other";
  }
}

std::string version_string(uint32_t v) {  // wgpuGetVersion packs major.minor.patch.build in bytes
  return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 0xff) + "." + std::to_string((v >> 8) & 0xff) +
         "." + std::to_string(v & 0xff);
}

// The answer to an adapter or device request: the handle on success, wgpu's message otherwise.
template <class Handle, class Status, Status kSuccess>
struct Requested {
  std::atomic<bool> done{false};
  Handle handle = nullptr;
  std::string message;

  static void callback(Status status, Handle handle, WGPUStringView message, void* self, void*) {
    auto* r = static_cast<Requested*>(self);
    if (status == kSuccess) r->handle = handle;
    r->message = one_line(text(message));
    r->done = true;
  }
};
using RequestedAdapter = Requested<WGPUAdapter, WGPURequestAdapterStatus, WGPURequestAdapterStatus_Success>;
using RequestedDevice = Requested<WGPUDevice, WGPURequestDeviceStatus, WGPURequestDeviceStatus_Success>;

}  // namespace

void NativeDevice::on_uncaptured_error(WGPUDevice const*, WGPUErrorType type, WGPUStringView message, void* self,
                                       void*) {
  auto* d = static_cast<NativeDevice*>(self);
  std::lock_guard lock(d->error_mutex_);
  const char* kind = type == WGPUErrorType_Validation    ? "validation error"
                     : type == WGPUErrorType_OutOfMemory ? "out of memory"
                                                         : "error";
  if (!d->error_.empty()) d->error_ += '\n';
  d->error_.append(kind).append(": ").append(one_line(text(message)));
}

void NativeDevice::on_device_lost(WGPUDevice const*, WGPUDeviceLostReason reason, WGPUStringView message, void* self,
                                  void*) {
  if (reason == WGPUDeviceLostReason_CallbackCancelled) return;  // instance dropped: `self` may be gone
  auto* d = static_cast<NativeDevice*>(self);
  d->lost_message_ = reason == WGPUDeviceLostReason_Destroyed ? "destroyed" : text(message);
  d->lost_ = true;
}

bool NativeDevice::open(std::string* why) {
  const char* profile_env = std::getenv("WEBACCEL_GPU_PROFILE");
  const std::string profile_mode = profile_env ? profile_env : "";
  profile_ = profile_mode == "1" || profile_mode == "2";
  if (const char* e = std::getenv("WEBACCEL_GPU_SKIP")) {
    for (std::string list = e; !list.empty();) {
      const size_t comma = list.find(',');
      skipped_families_.insert(list.substr(0, comma));
      list = comma == std::string::npos ? "" : list.substr(comma + 1);
    }
  }
  RequestedAdapter ar;
  WGPURequestAdapterOptions options = WGPU_REQUEST_ADAPTER_OPTIONS_INIT;
  options.powerPreference = WGPUPowerPreference_HighPerformance;
  WGPURequestAdapterCallbackInfo acb = WGPU_REQUEST_ADAPTER_CALLBACK_INFO_INIT;
  acb.mode = WGPUCallbackMode_AllowProcessEvents;
  acb.callback = &RequestedAdapter::callback;
  acb.userdata1 = &ar;
  w_.wgpuInstanceRequestAdapter(instance_, &options, acb);
  wait_for(ar.done, "adapter request");
  if (!ar.handle) {
    *why = "no WebGPU adapter (no Vulkan driver?)" + (ar.message.empty() ? "" : ": " + ar.message);
    return false;
  }
  adapter_ = ar.handle;

  WGPUAdapterInfo ainfo = WGPU_ADAPTER_INFO_INIT;
  w_.wgpuAdapterGetInfo(adapter_, &ainfo);
  info_.implementation = "wgpu-native " + version_string(w_.wgpuGetVersion());
  info_.adapter = text(ainfo.device) + (text(ainfo.description).empty() ? "" : " (" + text(ainfo.description) + ")");
  info_.backend = backend_name(ainfo.backendType);
  switch (ainfo.adapterType) {  // the same words the web bridge reports
    case WGPUAdapterType_DiscreteGPU: info_.adapter_type = "discrete GPU"; break;
    case WGPUAdapterType_IntegratedGPU: info_.adapter_type = "integrated GPU"; break;
    case WGPUAdapterType_CPU: info_.adapter_type = "cpu"; break;
    default: info_.adapter_type = "unknown"; break;
  }
  w_.wgpuAdapterInfoFreeMembers(ainfo);

  WGPULimits limits = WGPU_LIMITS_INIT;
  w_.wgpuAdapterGetLimits(adapter_, &limits);
  std::vector<WGPUFeatureName> features;
  // wgpu-native may offer subgroups only as its native feature (the same WGSL `enable subgroups;`).
  const auto native_subgroups = static_cast<WGPUFeatureName>(WGPUNativeFeature_Subgroup);
  for (auto f : {WGPUFeatureName_ShaderF16, WGPUFeatureName_Subgroups, native_subgroups, WGPUFeatureName_TimestampQuery}) {
    if (w_.wgpuAdapterHasFeature(adapter_, f)) features.push_back(f);
  }
  const auto inside_passes = static_cast<WGPUFeatureName>(WGPUNativeFeature_TimestampQueryInsidePasses);
  if (profile_mode == "2" && w_.wgpuAdapterHasFeature(adapter_, inside_passes)) {
    features.push_back(static_cast<WGPUFeatureName>(WGPUNativeFeature_TimestampQueryInsideEncoders));
    features.push_back(inside_passes);
    profile_inside_passes_ = true;
  }

  RequestedDevice dr;
  WGPUDeviceDescriptor desc = WGPU_DEVICE_DESCRIPTOR_INIT;
  desc.label = view("webaccel");
  desc.requiredFeatureCount = features.size();
  desc.requiredFeatures = features.data();
  desc.requiredLimits = &limits;  // the adapter's real limits, not WebGPU's defaults
  desc.deviceLostCallbackInfo.mode = WGPUCallbackMode_AllowSpontaneous;
  desc.deviceLostCallbackInfo.callback = &NativeDevice::on_device_lost;
  desc.deviceLostCallbackInfo.userdata1 = this;
  desc.uncapturedErrorCallbackInfo.callback = &NativeDevice::on_uncaptured_error;
  desc.uncapturedErrorCallbackInfo.userdata1 = this;
  WGPURequestDeviceCallbackInfo dcb = WGPU_REQUEST_DEVICE_CALLBACK_INFO_INIT;
  dcb.mode = WGPUCallbackMode_AllowProcessEvents;
  dcb.callback = &RequestedDevice::callback;
  dcb.userdata1 = &dr;
  w_.wgpuAdapterRequestDevice(adapter_, &desc, dcb);
  wait_for(dr.done, "device request");
  if (!dr.handle) {
    *why = "adapter '" + info_.adapter + "' refused a device: " + dr.message;
    return false;
  }
  device_ = dr.handle;
  queue_ = w_.wgpuDeviceGetQueue(device_);

  info_.max_storage_buffer_binding_size = limits.maxStorageBufferBindingSize;
  info_.max_buffer_size = limits.maxBufferSize;
  info_.max_compute_workgroups_per_dimension = limits.maxComputeWorkgroupsPerDimension;
  info_.max_compute_invocations_per_workgroup = limits.maxComputeInvocationsPerWorkgroup;
  info_.max_compute_workgroup_size_x = limits.maxComputeWorkgroupSizeX;
  info_.max_storage_buffers_per_shader_stage = limits.maxStorageBuffersPerShaderStage;
  info_.min_uniform_buffer_offset_alignment = limits.minUniformBufferOffsetAlignment;
  info_.shader_f16 = w_.wgpuDeviceHasFeature(device_, WGPUFeatureName_ShaderF16);
  info_.subgroups = w_.wgpuDeviceHasFeature(device_, WGPUFeatureName_Subgroups) ||
                    w_.wgpuDeviceHasFeature(device_, native_subgroups);
  info_.timestamps = w_.wgpuDeviceHasFeature(device_, WGPUFeatureName_TimestampQuery);
  info_.sync_readback = true;

  WGPUBufferDescriptor pd = WGPU_BUFFER_DESCRIPTOR_INIT;
  pd.label = view("dispatch params");
  pd.usage = WGPUBufferUsage_Uniform | WGPUBufferUsage_CopyDst;
  pd.size = kParamSlotBytes * kParamSlots;
  params_ = w_.wgpuDeviceCreateBuffer(device_, &pd);
  params_staging_.resize(pd.size);
  if (has_error()) {
    *why = "device unusable: " + take_error();
    return false;
  }
  info_.packed_dot4 = compiles_packed_dot4();
  if (profile_) open_profile();
  return true;
}

bool NativeDevice::compiles_packed_dot4() {
  const PipelineDesc probe{"probe:packed_dot4",
                           "@group(0) @binding(0) var<storage, read_write> out: array<i32>;\n"
                           "@compute @workgroup_size(1) fn main() {\n"
                           "  out[0] = dot4I8Packed(pack4xI8(vec4<i32>(out[1])), 0x01020304u);\n"
                           "}\n",
                           "main",
                           {}};
  try {
    pipeline(probe);
    return true;
  } catch (const Error&) {
    return false;  // the WGSL compiler lacks the language feature: gemv.wgsl keeps x in f32
  }
}

}  // namespace native

std::unique_ptr<Device> open_native_device(std::string* why) {
  std::string reason;
  if (!why) why = &reason;
  if (const char* off = std::getenv("WEBACCEL_GPU_DISABLE"); off && std::string_view(off) == "1") {
    *why = "disabled by WEBACCEL_GPU_DISABLE=1";
    return nullptr;
  }
  const WgpuApi* api = load_wgpu(why);
  if (!api) return nullptr;
  WGPUInstanceExtras extras = {};
  extras.chain.sType = static_cast<WGPUSType>(WGPUSType_InstanceExtras);
  extras.backends = WGPUInstanceBackend_Vulkan;  // the backend this project tests; GL has no compute parity
  WGPUInstanceDescriptor idesc = WGPU_INSTANCE_DESCRIPTOR_INIT;
  idesc.nextInChain = &extras.chain;
  WGPUInstance instance = api->wgpuCreateInstance(&idesc);
  if (!instance) {
    *why = api->path + ": wgpuCreateInstance failed";
    return nullptr;
  }
  auto device = std::make_unique<native::NativeDevice>(*api, instance);
  if (!device->open(why)) return nullptr;
  return device;
}

}  // namespace webaccel::gpu

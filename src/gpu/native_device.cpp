// gpu::Device over wgpu-native's webgpu.h (resolved at run time, gpu/wgpu_api.h): the adapter at
// its real limits, buffers, a pipeline cache, dispatches recorded into one command encoder with
// their uniform params in a ring of 256-byte slots, synchronous read back through a mapped buffer.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

#include "gpu/device.h"
#include "gpu/wgpu_api.h"

namespace webaccel::gpu {
namespace {

constexpr uint64_t kParamSlotBytes = 256;  // WebGPU's largest minUniformBufferOffsetAlignment
constexpr uint32_t kParamSlots = 1024;     // dispatches per submit before the ring flushes
constexpr auto kWaitLimit = std::chrono::seconds(120);  // a wait this long means a hung driver

WGPUStringView view(std::string_view s) { return {s.data(), s.size()}; }

std::string text(WGPUStringView v) {
  if (!v.data) return {};
  return v.length == WGPU_STRLEN ? std::string(v.data) : std::string(v.data, v.length);
}

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

struct PipelineEntry {
  std::string key;
  WGPUComputePipeline pipeline = nullptr;
  WGPUBindGroupLayout layout = nullptr;
};

class NativeDevice final : public Device {
 public:
  NativeDevice(const WgpuApi& w, WGPUInstance instance) : w_(w), instance_(instance) {}
  ~NativeDevice() override;

  // Requests adapter and device; false with `why` when either is refused.
  bool open(std::string* why);

  const DeviceInfo& info() const override { return info_; }
  Buffer create_buffer(uint64_t bytes, const std::string& label) override;
  void release(Buffer buffer) override;
  void write_buffer(Buffer buffer, uint64_t offset, const void* data, uint64_t bytes) override;
  Pipeline pipeline(const PipelineDesc& desc) override;
  void precompile(std::span<const PipelineDesc> descs) override;
  bool has_pipeline(const std::string& key) const override { return pipeline_ids_.count(key) != 0; }
  void dispatch(Pipeline pipeline, std::span<const uint8_t> params, std::span<const BufferView> buffers,
                uint32_t groups_x, uint32_t groups_y, uint32_t groups_z) override;
  void copy(Buffer src, uint64_t src_offset, Buffer dst, uint64_t dst_offset, uint64_t bytes) override;
  void submit() override;
  void read_buffer(Buffer buffer, uint64_t offset, void* dst, uint64_t bytes) override;
  void finish() override;
  bool lost() const override { return lost_; }
  void destroy() override;

 private:
  static void on_uncaptured_error(WGPUDevice const*, WGPUErrorType type, WGPUStringView message, void* self, void*);
  static void on_device_lost(WGPUDevice const*, WGPUDeviceLostReason reason, WGPUStringView message, void* self,
                             void*);

  void ensure_alive() const;
  bool has_error() const;
  std::string take_error();
  // Throws the error the device reported during the last call, naming what was being done.
  void check(const std::string& what);
  WGPUBuffer handle(Buffer b) const;
  WGPUShaderModule module_for(const PipelineDesc& desc);
  WGPUComputePipelineDescriptor pipeline_descriptor(const PipelineDesc& desc, std::vector<WGPUConstantEntry>& constants);
  Pipeline add_pipeline(const std::string& key, WGPUComputePipeline pipeline);
  void ensure_encoder();
  void end_pass();
  // Blocks until `done` turns true, polling the device; throws DeviceLost if it is lost meanwhile.
  void wait_for(const std::atomic<bool>& done, const char* what);

  const WgpuApi& w_;
  WGPUInstance instance_ = nullptr;
  WGPUAdapter adapter_ = nullptr;
  WGPUDevice device_ = nullptr;
  WGPUQueue queue_ = nullptr;
  DeviceInfo info_;

  std::unordered_map<uint32_t, WGPUBuffer> buffers_;
  uint32_t next_buffer_id_ = 1;
  std::map<std::string, WGPUShaderModule> modules_;  // by WGSL text: one parse per family source
  std::vector<PipelineEntry> pipelines_;             // Pipeline id = index + 1
  std::unordered_map<std::string, uint32_t> pipeline_ids_;

  WGPUCommandEncoder encoder_ = nullptr;
  WGPUComputePassEncoder pass_ = nullptr;
  bool recorded_ = false;                      // the encoder holds commands not yet submitted
  WGPUBuffer params_ = nullptr;                // kParamSlots uniform slots
  std::vector<uint8_t> params_staging_;        // their bytes, written to params_ at submit
  uint32_t params_used_ = 0;
  WGPUBuffer readback_ = nullptr;              // MapRead staging for read_buffer, grown on demand
  uint64_t readback_bytes_ = 0;

  mutable std::mutex error_mutex_;             // the error callback may run on any thread
  std::string error_;                          // from the uncaptured-error callback
  std::atomic<bool> lost_{false};
  std::string lost_message_;
};

void NativeDevice::on_uncaptured_error(WGPUDevice const*, WGPUErrorType type, WGPUStringView message, void* self,
                                       void*) {
  auto* d = static_cast<NativeDevice*>(self);
  std::lock_guard lock(d->error_mutex_);
  const char* kind = type == WGPUErrorType_Validation    ? "validation error"
                     : type == WGPUErrorType_OutOfMemory ? "out of memory"
                                                         : "error";
  if (!d->error_.empty()) d->error_ += '\n';
  d->error_.append(kind).append(": ").append(text(message));
}

void NativeDevice::on_device_lost(WGPUDevice const*, WGPUDeviceLostReason reason, WGPUStringView message, void* self,
                                  void*) {
  if (reason == WGPUDeviceLostReason_CallbackCancelled) return;  // instance dropped: `self` may be gone
  auto* d = static_cast<NativeDevice*>(self);
  d->lost_message_ = reason == WGPUDeviceLostReason_Destroyed ? "destroyed" : text(message);
  d->lost_ = true;
}

bool NativeDevice::open(std::string* why) {
  struct AdapterResult {
    std::atomic<bool> done{false};
    WGPUAdapter adapter = nullptr;
    std::string message;
  } ar;
  WGPURequestAdapterOptions options = WGPU_REQUEST_ADAPTER_OPTIONS_INIT;
  options.powerPreference = WGPUPowerPreference_HighPerformance;
  WGPURequestAdapterCallbackInfo acb = WGPU_REQUEST_ADAPTER_CALLBACK_INFO_INIT;
  acb.mode = WGPUCallbackMode_AllowProcessEvents;
  acb.callback = [](WGPURequestAdapterStatus status, WGPUAdapter adapter, WGPUStringView message, void* r, void*) {
    auto* res = static_cast<AdapterResult*>(r);
    if (status == WGPURequestAdapterStatus_Success) res->adapter = adapter;
    res->message = text(message);
    res->done = true;
  };
  acb.userdata1 = &ar;
  w_.wgpuInstanceRequestAdapter(instance_, &options, acb);
  wait_for(ar.done, "adapter request");
  if (!ar.adapter) {
    *why = "no WebGPU adapter (no Vulkan driver?)" + (ar.message.empty() ? "" : ": " + ar.message);
    return false;
  }
  adapter_ = ar.adapter;

  WGPUAdapterInfo ainfo = WGPU_ADAPTER_INFO_INIT;
  w_.wgpuAdapterGetInfo(adapter_, &ainfo);
  info_.implementation = "wgpu-native " + version_string(w_.wgpuGetVersion());
  info_.adapter = text(ainfo.device) + (text(ainfo.description).empty() ? "" : " (" + text(ainfo.description) + ")");
  info_.backend = backend_name(ainfo.backendType);
  w_.wgpuAdapterInfoFreeMembers(ainfo);

  WGPULimits limits = WGPU_LIMITS_INIT;
  w_.wgpuAdapterGetLimits(adapter_, &limits);
  std::vector<WGPUFeatureName> features;
  for (auto f : {WGPUFeatureName_ShaderF16, WGPUFeatureName_Subgroups, WGPUFeatureName_TimestampQuery}) {
    if (w_.wgpuAdapterHasFeature(adapter_, f)) features.push_back(f);
  }

  struct DeviceResult {
    std::atomic<bool> done{false};
    WGPUDevice device = nullptr;
    std::string message;
  } dr;
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
  dcb.callback = [](WGPURequestDeviceStatus status, WGPUDevice device, WGPUStringView message, void* r, void*) {
    auto* res = static_cast<DeviceResult*>(r);
    if (status == WGPURequestDeviceStatus_Success) res->device = device;
    res->message = text(message);
    res->done = true;
  };
  dcb.userdata1 = &dr;
  w_.wgpuAdapterRequestDevice(adapter_, &desc, dcb);
  wait_for(dr.done, "device request");
  if (!dr.device) {
    *why = "adapter '" + info_.adapter + "' refused a device: " + dr.message;
    return false;
  }
  device_ = dr.device;
  queue_ = w_.wgpuDeviceGetQueue(device_);

  info_.max_storage_buffer_binding_size = limits.maxStorageBufferBindingSize;
  info_.max_buffer_size = limits.maxBufferSize;
  info_.max_compute_workgroups_per_dimension = limits.maxComputeWorkgroupsPerDimension;
  info_.max_compute_invocations_per_workgroup = limits.maxComputeInvocationsPerWorkgroup;
  info_.max_compute_workgroup_size_x = limits.maxComputeWorkgroupSizeX;
  info_.max_storage_buffers_per_shader_stage = limits.maxStorageBuffersPerShaderStage;
  info_.min_uniform_buffer_offset_alignment = limits.minUniformBufferOffsetAlignment;
  info_.shader_f16 = w_.wgpuDeviceHasFeature(device_, WGPUFeatureName_ShaderF16);
  info_.subgroups = w_.wgpuDeviceHasFeature(device_, WGPUFeatureName_Subgroups);
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
  return true;
}

NativeDevice::~NativeDevice() {
  if (pass_) w_.wgpuComputePassEncoderRelease(pass_);
  if (encoder_) w_.wgpuCommandEncoderRelease(encoder_);
  for (auto& [id, b] : buffers_) w_.wgpuBufferRelease(b);
  for (auto& p : pipelines_) {
    if (p.layout) w_.wgpuBindGroupLayoutRelease(p.layout);
    if (p.pipeline) w_.wgpuComputePipelineRelease(p.pipeline);
  }
  for (auto& [source, m] : modules_) w_.wgpuShaderModuleRelease(m);
  if (params_) w_.wgpuBufferRelease(params_);
  if (readback_) w_.wgpuBufferRelease(readback_);
  if (queue_) w_.wgpuQueueRelease(queue_);
  if (device_) {
    // Destroy while `this` is alive, so the lost callback it fires finds a live object.
    if (!lost_) w_.wgpuDeviceDestroy(device_);
    w_.wgpuDeviceRelease(device_);
  }
  if (adapter_) w_.wgpuAdapterRelease(adapter_);
  if (instance_) w_.wgpuInstanceRelease(instance_);
}

void NativeDevice::ensure_alive() const {
  if (lost_) throw DeviceLost("WebGPU device lost (" + lost_message_ + ")");
}

bool NativeDevice::has_error() const {
  std::lock_guard lock(error_mutex_);
  return !error_.empty();
}

std::string NativeDevice::take_error() {
  std::lock_guard lock(error_mutex_);
  return std::exchange(error_, {});
}

void NativeDevice::check(const std::string& what) {
  if (!has_error()) return;
  std::string message = take_error();
  ensure_alive();
  fail(ErrorKind::kInternal, "WebGPU: " + what + ": " + message);
}

WGPUBuffer NativeDevice::handle(Buffer b) const {
  auto it = buffers_.find(b.id);
  if (it == buffers_.end()) fail(ErrorKind::kInternal, "WebGPU: buffer id " + std::to_string(b.id) + " is not live");
  return it->second;
}

Buffer NativeDevice::create_buffer(uint64_t bytes, const std::string& label) {
  ensure_alive();
  if (bytes > info_.max_buffer_size) {
    fail(ErrorKind::kInput, "WebGPU: buffer '" + label + "' needs " + std::to_string(bytes) +
                                " bytes, above this adapter's maxBufferSize of " + std::to_string(info_.max_buffer_size));
  }
  WGPUBufferDescriptor d = WGPU_BUFFER_DESCRIPTOR_INIT;
  d.label = view(label);
  d.usage = WGPUBufferUsage_Storage | WGPUBufferUsage_CopySrc | WGPUBufferUsage_CopyDst;
  d.size = std::max<uint64_t>(4, (bytes + 3) / 4 * 4);  // copies and bindings work in 4-byte units
  WGPUBuffer b = w_.wgpuDeviceCreateBuffer(device_, &d);
  if (!b) fail(ErrorKind::kIo, "WebGPU: cannot create buffer '" + label + "' of " + std::to_string(bytes) + " bytes");
  if (has_error()) {
    w_.wgpuBufferRelease(b);
    check("create buffer '" + label + "' of " + std::to_string(bytes) + " bytes");
  }
  const uint32_t id = next_buffer_id_++;
  buffers_[id] = b;
  return {id, bytes};
}

void NativeDevice::release(Buffer buffer) {
  auto it = buffers_.find(buffer.id);
  if (it == buffers_.end()) return;
  w_.wgpuBufferRelease(it->second);  // the queue keeps it alive until recorded work is done
  buffers_.erase(it);
}

void NativeDevice::write_buffer(Buffer buffer, uint64_t offset, const void* data, uint64_t bytes) {
  ensure_alive();
  if (bytes % 4 != 0 || offset % 4 != 0) fail(ErrorKind::kInternal, "WebGPU: write_buffer needs 4-byte multiples");
  // Queue writes run before the next submitted command buffer: submit what was recorded first,
  // so earlier dispatches still see the old contents.
  if (recorded_) submit();
  w_.wgpuQueueWriteBuffer(queue_, handle(buffer), offset, data, bytes);
  check("write_buffer of " + std::to_string(bytes) + " bytes at " + std::to_string(offset));
}

WGPUShaderModule NativeDevice::module_for(const PipelineDesc& desc) {
  auto it = modules_.find(desc.wgsl);
  if (it != modules_.end()) return it->second;
  WGPUShaderSourceWGSL source = WGPU_SHADER_SOURCE_WGSL_INIT;
  source.code = view(desc.wgsl);
  WGPUShaderModuleDescriptor d = WGPU_SHADER_MODULE_DESCRIPTOR_INIT;
  d.nextInChain = &source.chain;
  d.label = view(desc.key);
  WGPUShaderModule m = w_.wgpuDeviceCreateShaderModule(device_, &d);
  if (has_error()) {
    if (m) w_.wgpuShaderModuleRelease(m);
    check("pipeline '" + desc.key + "': WGSL");
  }
  modules_[desc.wgsl] = m;
  return m;
}

WGPUComputePipelineDescriptor NativeDevice::pipeline_descriptor(const PipelineDesc& desc,
                                                                std::vector<WGPUConstantEntry>& constants) {
  constants.clear();
  for (const auto& [name, value] : desc.constants) {
    WGPUConstantEntry c = WGPU_CONSTANT_ENTRY_INIT;
    c.key = view(name);
    c.value = value;
    constants.push_back(c);
  }
  WGPUComputePipelineDescriptor d = WGPU_COMPUTE_PIPELINE_DESCRIPTOR_INIT;
  d.label = view(desc.key);
  d.layout = nullptr;  // auto layout: every binding a shader declares must be used by it
  d.compute.module = module_for(desc);
  d.compute.entryPoint = view(desc.entry);
  d.compute.constantCount = constants.size();
  d.compute.constants = constants.data();
  return d;
}

Pipeline NativeDevice::add_pipeline(const std::string& key, WGPUComputePipeline pipeline) {
  PipelineEntry e{key, pipeline, w_.wgpuComputePipelineGetBindGroupLayout(pipeline, 0)};
  pipelines_.push_back(e);
  const auto id = static_cast<uint32_t>(pipelines_.size());
  pipeline_ids_[key] = id;
  check("pipeline '" + key + "': bind group layout");
  return {id};
}

Pipeline NativeDevice::pipeline(const PipelineDesc& desc) {
  ensure_alive();
  if (auto it = pipeline_ids_.find(desc.key); it != pipeline_ids_.end()) return {it->second};
  std::vector<WGPUConstantEntry> constants;
  const auto d = pipeline_descriptor(desc, constants);
  WGPUComputePipeline p = w_.wgpuDeviceCreateComputePipeline(device_, &d);
  if (has_error()) {
    if (p) w_.wgpuComputePipelineRelease(p);
    check("pipeline '" + desc.key + "'");
  }
  return add_pipeline(desc.key, p);
}

// wgpu-native leaves wgpuDeviceCreateComputePipelineAsync unimplemented (it panics), so the
// pipelines are created synchronously, in parallel on worker threads: its device is thread-safe.
void NativeDevice::precompile(std::span<const PipelineDesc> descs) {
  ensure_alive();
  struct Pending {
    const PipelineDesc* desc = nullptr;
    std::vector<WGPUConstantEntry> constants;
    WGPUComputePipelineDescriptor descriptor;
    WGPUComputePipeline pipeline = nullptr;
  };
  std::vector<Pending> pending;
  for (const auto& desc : descs) {
    if (pipeline_ids_.count(desc.key)) continue;
    bool queued = false;
    for (const auto& p : pending) queued = queued || p.desc->key == desc.key;
    if (!queued) pending.push_back({&desc, {}, {}, nullptr});
  }
  // Shader modules first, on this thread (modules_ is not shared); constants must not move after.
  for (auto& p : pending) p.descriptor = pipeline_descriptor(*p.desc, p.constants);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < pending.size();) {
      pending[i].pipeline = w_.wgpuDeviceCreateComputePipeline(device_, &pending[i].descriptor);
    }
  };
  const size_t n_threads = std::min<size_t>({pending.size(), std::max(1u, std::thread::hardware_concurrency()), 8});
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n_threads; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (has_error()) {  // wgpu's messages carry the label, i.e. the pipeline key
    for (auto& p : pending) {
      if (p.pipeline) w_.wgpuComputePipelineRelease(p.pipeline);
    }
    check("precompilation of " + std::to_string(pending.size()) + " pipelines");
  }
  for (auto& p : pending) add_pipeline(p.desc->key, p.pipeline);
}

void NativeDevice::ensure_encoder() {
  if (!encoder_) {
    WGPUCommandEncoderDescriptor d = WGPU_COMMAND_ENCODER_DESCRIPTOR_INIT;
    encoder_ = w_.wgpuDeviceCreateCommandEncoder(device_, &d);
  }
}

void NativeDevice::end_pass() {
  if (!pass_) return;
  w_.wgpuComputePassEncoderEnd(pass_);
  w_.wgpuComputePassEncoderRelease(pass_);
  pass_ = nullptr;
}

void NativeDevice::dispatch(Pipeline pipeline, std::span<const uint8_t> params, std::span<const BufferView> buffers,
                            uint32_t groups_x, uint32_t groups_y, uint32_t groups_z) {
  ensure_alive();
  if (pipeline.id == 0 || pipeline.id > pipelines_.size()) fail(ErrorKind::kInternal, "WebGPU: dispatch of no pipeline");
  const PipelineEntry& p = pipelines_[pipeline.id - 1];
  if (params.size() % 4 != 0 || params.size() > kParamSlotBytes) {
    fail(ErrorKind::kInternal, "WebGPU: pipeline '" + p.key + "': params must be a 4-byte multiple of at most 256 bytes");
  }
  const uint32_t max_groups = info_.max_compute_workgroups_per_dimension;
  if (groups_x > max_groups || groups_y > max_groups || groups_z > max_groups) {
    fail(ErrorKind::kInternal, "WebGPU: pipeline '" + p.key + "': dispatch of " + std::to_string(groups_x) + "x" +
                                   std::to_string(groups_y) + "x" + std::to_string(groups_z) +
                                   " workgroups exceeds maxComputeWorkgroupsPerDimension " + std::to_string(max_groups));
  }
  if (groups_x == 0 || groups_y == 0 || groups_z == 0) return;
  if (params_used_ == kParamSlots) submit();  // the ring is full: its slots are written at submit
  const uint64_t slot = params_used_++ * kParamSlotBytes;
  std::memset(params_staging_.data() + slot, 0, kParamSlotBytes);
  std::memcpy(params_staging_.data() + slot, params.data(), params.size());

  std::vector<WGPUBindGroupEntry> entries(buffers.size() + 1, WGPU_BIND_GROUP_ENTRY_INIT);
  entries[0].binding = 0;
  entries[0].buffer = params_;
  entries[0].offset = slot;
  entries[0].size = kParamSlotBytes;
  for (size_t i = 0; i < buffers.size(); ++i) {
    entries[i + 1].binding = static_cast<uint32_t>(i + 1);
    entries[i + 1].buffer = handle(buffers[i].buffer);
    entries[i + 1].offset = buffers[i].offset;
    entries[i + 1].size = buffers[i].bytes ? buffers[i].bytes : WGPU_WHOLE_SIZE;
  }
  WGPUBindGroupDescriptor bd = WGPU_BIND_GROUP_DESCRIPTOR_INIT;
  bd.layout = p.layout;
  bd.entryCount = entries.size();
  bd.entries = entries.data();
  WGPUBindGroup group = w_.wgpuDeviceCreateBindGroup(device_, &bd);
  if (has_error()) {
    if (group) w_.wgpuBindGroupRelease(group);
    check("pipeline '" + p.key + "': bind group");
  }
  ensure_encoder();
  if (!pass_) {
    WGPUComputePassDescriptor pd = WGPU_COMPUTE_PASS_DESCRIPTOR_INIT;
    pass_ = w_.wgpuCommandEncoderBeginComputePass(encoder_, &pd);
  }
  w_.wgpuComputePassEncoderSetPipeline(pass_, p.pipeline);
  w_.wgpuComputePassEncoderSetBindGroup(pass_, 0, group, 0, nullptr);
  w_.wgpuComputePassEncoderDispatchWorkgroups(pass_, groups_x, groups_y, groups_z);
  w_.wgpuBindGroupRelease(group);  // the pass holds its own reference
  recorded_ = true;
  check("pipeline '" + p.key + "': dispatch");
}

void NativeDevice::copy(Buffer src, uint64_t src_offset, Buffer dst, uint64_t dst_offset, uint64_t bytes) {
  ensure_alive();
  if (bytes % 4 != 0 || src_offset % 4 != 0 || dst_offset % 4 != 0) {
    fail(ErrorKind::kInternal, "WebGPU: copy needs 4-byte multiples");
  }
  ensure_encoder();
  end_pass();  // copies live outside compute passes
  w_.wgpuCommandEncoderCopyBufferToBuffer(encoder_, handle(src), src_offset, handle(dst), dst_offset, bytes);
  recorded_ = true;
  check("copy of " + std::to_string(bytes) + " bytes");
}

void NativeDevice::submit() {
  ensure_alive();
  if (!encoder_) return;
  end_pass();
  WGPUCommandBufferDescriptor cd = WGPU_COMMAND_BUFFER_DESCRIPTOR_INIT;
  WGPUCommandBuffer commands = w_.wgpuCommandEncoderFinish(encoder_, &cd);
  w_.wgpuCommandEncoderRelease(encoder_);
  encoder_ = nullptr;
  // This batch's params go in just ahead of it: queue writes run before the next command buffer.
  if (params_used_) w_.wgpuQueueWriteBuffer(queue_, params_, 0, params_staging_.data(), params_used_ * kParamSlotBytes);
  params_used_ = 0;
  recorded_ = false;
  w_.wgpuQueueSubmit(queue_, 1, &commands);
  w_.wgpuCommandBufferRelease(commands);
  check("submit");
}

void NativeDevice::wait_for(const std::atomic<bool>& done, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + kWaitLimit;
  while (!done) {
    if (device_) w_.wgpuDevicePoll(device_, true, nullptr);
    w_.wgpuInstanceProcessEvents(instance_);
    if (done) break;
    ensure_alive();
    if (std::chrono::steady_clock::now() > deadline) fail(ErrorKind::kIo, std::string("WebGPU: ") + what + " timed out");
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void NativeDevice::read_buffer(Buffer buffer, uint64_t offset, void* dst, uint64_t bytes) {
  ensure_alive();
  if (bytes == 0) return;
  // Copies work in 4-byte units: read the aligned span around the request.
  const uint64_t begin = offset / 4 * 4, end = (offset + bytes + 3) / 4 * 4, span = end - begin;
  if (span > readback_bytes_) {
    if (readback_) w_.wgpuBufferRelease(readback_);
    WGPUBufferDescriptor d = WGPU_BUFFER_DESCRIPTOR_INIT;
    d.label = view("read back");
    d.usage = WGPUBufferUsage_MapRead | WGPUBufferUsage_CopyDst;
    d.size = std::max<uint64_t>(span, 1 << 16);
    readback_ = w_.wgpuDeviceCreateBuffer(device_, &d);
    readback_bytes_ = d.size;
    check("read back buffer of " + std::to_string(d.size) + " bytes");
  }
  ensure_encoder();
  end_pass();
  w_.wgpuCommandEncoderCopyBufferToBuffer(encoder_, handle(buffer), begin, readback_, 0, span);
  recorded_ = true;
  submit();

  struct MapResult {
    std::atomic<bool> done{false};
    WGPUMapAsyncStatus status = WGPUMapAsyncStatus_Error;
    std::string message;
  } mr;
  WGPUBufferMapCallbackInfo cb = WGPU_BUFFER_MAP_CALLBACK_INFO_INIT;
  cb.mode = WGPUCallbackMode_AllowProcessEvents;
  cb.callback = [](WGPUMapAsyncStatus status, WGPUStringView message, void* r, void*) {
    auto* res = static_cast<MapResult*>(r);
    res->status = status;
    res->message = text(message);
    res->done = true;
  };
  cb.userdata1 = &mr;
  w_.wgpuBufferMapAsync(readback_, WGPUMapMode_Read, 0, span, cb);
  wait_for(mr.done, "read back");
  if (mr.status != WGPUMapAsyncStatus_Success) {
    ensure_alive();
    check("read back");
    fail(ErrorKind::kIo, "WebGPU: read back failed: " + mr.message);
  }
  const auto* mapped = static_cast<const uint8_t*>(w_.wgpuBufferGetConstMappedRange(readback_, 0, span));
  if (mapped) std::memcpy(dst, mapped + (offset - begin), bytes);
  w_.wgpuBufferUnmap(readback_);
  if (!mapped) fail(ErrorKind::kIo, "WebGPU: read back: no mapped range");
}

void NativeDevice::finish() {
  submit();
  w_.wgpuDevicePoll(device_, true, nullptr);  // waits for every submission
  ensure_alive();
  check("finish");
}

void NativeDevice::destroy() {
  if (!device_ || lost_) return;
  w_.wgpuDeviceDestroy(device_);
  if (!lost_) {  // the lost callback may come later or not at all: the device is gone either way
    lost_message_ = "destroyed";
    lost_ = true;
  }
}

}  // namespace

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
  auto device = std::make_unique<NativeDevice>(*api, instance);
  if (!device->open(why)) return nullptr;
  return device;
}

}  // namespace webaccel::gpu

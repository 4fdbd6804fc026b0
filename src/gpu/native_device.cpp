// gpu::Device over wgpu-native (class in native_device.h, opened in native_open.cpp): buffers, a
// pipeline cache, dispatches recorded into one command encoder with their uniform params in a ring
// of 256-byte slots, bind groups cached across submits, synchronous read back through a mapped buffer.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <utility>

#include "gpu/native_device.h"

namespace webaccel::gpu::native {
namespace {

constexpr auto kWaitLimit = std::chrono::seconds(120);  // a wait this long means a hung driver
constexpr std::string_view kEnableSubgroups = "enable subgroups;";

}  // namespace

NativeDevice::~NativeDevice() {
  print_profile();
  if (query_set_) w_.wgpuQuerySetRelease(query_set_);
  if (query_resolve_) w_.wgpuBufferRelease(query_resolve_);
  if (pass_) w_.wgpuComputePassEncoderRelease(pass_);
  if (encoder_) w_.wgpuCommandEncoderRelease(encoder_);
  bind_groups_.clear([&](WGPUBindGroup g) { w_.wgpuBindGroupRelease(g); });
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
  bind_groups_.forget_buffer(buffer.id, [&](WGPUBindGroup g) { w_.wgpuBindGroupRelease(g); });
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
  // Dawn requires `enable subgroups;` before subgroup builtins; wgpu-native's Naga rejects the
  // directive ("not yet implemented") and allows the builtins once the device has the feature.
  std::string wgsl = desc.wgsl;
  for (size_t at; (at = wgsl.find(kEnableSubgroups)) != std::string::npos;) wgsl.erase(at, kEnableSubgroups.size());
  WGPUShaderSourceWGSL source = WGPU_SHADER_SOURCE_WGSL_INIT;
  source.code = view(wgsl);
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
  PipelineEntry e{key, pipeline, w_.wgpuComputePipelineGetBindGroupLayout(pipeline, 0), key.substr(0, key.find(':'))};
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

WGPUBindGroup NativeDevice::bind_group(const PipelineEntry& p, uint64_t slot, std::span<const BufferView> buffers) {
  BindGroupCache::Key key{static_cast<uint64_t>(&p - pipelines_.data()), slot};
  for (const auto& b : buffers) key.insert(key.end(), {b.buffer.id, b.offset, b.bytes});
  if (WGPUBindGroup cached = bind_groups_.find(key)) return cached;

  std::vector<WGPUBindGroupEntry> entries(buffers.size() + 1, WGPU_BIND_GROUP_ENTRY_INIT);
  entries[0].binding = 0;
  entries[0].buffer = params_;
  entries[0].offset = slot;
  entries[0].size = kParamSlotBytes;
  for (size_t i = 0; i < buffers.size(); ++i) {
    const BufferView& b = buffers[i];
    const uint64_t bytes = b.bytes ? b.bytes : b.buffer.bytes - std::min(b.offset, b.buffer.bytes);
    if (bytes > info_.max_storage_buffer_binding_size || b.offset % kStorageOffsetAlignment != 0) {
      fail(ErrorKind::kInternal, "WebGPU: pipeline '" + p.key + "': @binding(" + std::to_string(i + 1) + ") views " +
                                     std::to_string(bytes) + " bytes at offset " + std::to_string(b.offset) +
                                     ": above maxStorageBufferBindingSize " +
                                     std::to_string(info_.max_storage_buffer_binding_size) + " or not 256-aligned");
    }
    entries[i + 1].binding = static_cast<uint32_t>(i + 1);
    entries[i + 1].buffer = handle(buffers[i].buffer);
    entries[i + 1].offset = buffers[i].offset;
    entries[i + 1].size = buffers[i].bytes ? buffers[i].bytes : WGPU_WHOLE_SIZE;
  }
  WGPUBindGroupDescriptor bd = WGPU_BIND_GROUP_DESCRIPTOR_INIT;
  bd.label = view(p.key);
  bd.layout = p.layout;
  bd.entryCount = entries.size();
  bd.entries = entries.data();
  WGPUBindGroup group = w_.wgpuDeviceCreateBindGroup(device_, &bd);
  if (has_error()) {
    if (group) w_.wgpuBindGroupRelease(group);
    check("pipeline '" + p.key + "': bind group");
  }
  bind_groups_.insert(std::move(key), group, [&](WGPUBindGroup g) { w_.wgpuBindGroupRelease(g); });
  return group;
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
  if (!skipped_families_.empty() && skipped_families_.count(p.family)) return;
  if (params_used_ == kParamSlots) submit();  // the ring is full: its slots are written at submit
  if (profile_inside_passes_ && profile_pending_.size() + 2 > 2 * kProfileDispatches) submit();  // room for 2 stamps
  const uint64_t slot = params_used_++ * kParamSlotBytes;
  std::memset(params_staging_.data() + slot, 0, kParamSlotBytes);
  std::memcpy(params_staging_.data() + slot, params.data(), params.size());

  WGPUBindGroup group = bind_group(p, slot, buffers);
  ensure_encoder();
  const bool timed = profile_ && query_set_ && !profile_inside_passes_;
  WGPUPassTimestampWrites stamps = WGPU_PASS_TIMESTAMP_WRITES_INIT;
  if (timed) {  // a pass of its own, timestamped at both ends
    end_pass();
    stamps.querySet = query_set_;
    stamps.beginningOfPassWriteIndex = 2 * static_cast<uint32_t>(profile_pending_.size());
    stamps.endOfPassWriteIndex = stamps.beginningOfPassWriteIndex + 1;
  }
  if (!pass_) {
    WGPUComputePassDescriptor pd = WGPU_COMPUTE_PASS_DESCRIPTOR_INIT;
    if (timed) pd.timestampWrites = &stamps;
    pass_ = w_.wgpuCommandEncoderBeginComputePass(encoder_, &pd);
    pass_stamped_ = false;
  }
  const std::string& family = p.family;
  const bool stamped = profile_inside_passes_ && query_set_;
  if (stamped && !pass_stamped_) {
    stamp_inside_pass("");
    pass_stamped_ = true;
  }
  w_.wgpuComputePassEncoderSetPipeline(pass_, p.pipeline);
  w_.wgpuComputePassEncoderSetBindGroup(pass_, 0, group, 0, nullptr);
  w_.wgpuComputePassEncoderDispatchWorkgroups(pass_, groups_x, groups_y, groups_z);
  recorded_ = true;
  if (has_error()) check("pipeline '" + p.key + "': dispatch");  // the message built only when needed
  if (stamped) {
    stamp_inside_pass(family + " x" + std::to_string(groups_x));
  } else if (timed) {
    end_pass();
    profile_pending_.push_back(family);
    if (profile_pending_.size() == kProfileDispatches) submit();
  } else if (profile_) {
    const auto start = std::chrono::steady_clock::now();
    finish();
    auto& e = profile_by_family_[family];
    e.ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    e.count++;
  }
}

// Mode 2: a timestamp in the open pass (dispatch() keeps room for two in the query set).
void NativeDevice::stamp_inside_pass(const std::string& label) {
  w_.wgpuComputePassEncoderWriteTimestamp(pass_, query_set_, static_cast<uint32_t>(profile_pending_.size()));
  profile_pending_.push_back(label);
}

void NativeDevice::open_profile() {
  if (!info_.timestamps) return;
  WGPUQuerySetDescriptor qd = WGPU_QUERY_SET_DESCRIPTOR_INIT;
  qd.type = WGPUQueryType_Timestamp;
  qd.count = 2 * kProfileDispatches;
  query_set_ = w_.wgpuDeviceCreateQuerySet(device_, &qd);
  WGPUBufferDescriptor d = WGPU_BUFFER_DESCRIPTOR_INIT;
  d.label = view("profile timestamps");
  d.usage = WGPUBufferUsage_QueryResolve | WGPUBufferUsage_CopySrc;
  d.size = 16ull * kProfileDispatches;
  query_resolve_ = w_.wgpuDeviceCreateBuffer(device_, &d);
  query_times_ = create_buffer(d.size, "profile timestamps copy");
  check("profile timestamps");
}

void NativeDevice::collect_profile(const std::vector<std::string>& families) {
  std::vector<uint64_t> ns(2 * families.size());
  read_buffer(query_times_, 0, ns.data(), ns.size() * sizeof(uint64_t));
  for (size_t i = 0; i < families.size(); i++) {
    if (ns[2 * i + 1] < ns[2 * i]) continue;  // a reset counter: no figure
    auto& e = profile_by_family_[families[i]];
    e.ms += static_cast<double>(ns[2 * i + 1] - ns[2 * i]) * 1e-6;
    e.count++;
  }
}

// Mode 2: each dispatch's timestamp minus the one before it in the same pass.
void NativeDevice::collect_inside_profile(const std::vector<std::string>& labels) {
  std::vector<uint64_t> ns(labels.size());
  read_buffer(query_times_, 0, ns.data(), ns.size() * sizeof(uint64_t));
  for (size_t i = 1; i < labels.size(); i++) {
    if (labels[i].empty() || ns[i] < ns[i - 1]) continue;  // a pass's opening stamp, or a reset counter
    auto& e = profile_by_family_[labels[i]];
    e.ms += static_cast<double>(ns[i] - ns[i - 1]) * 1e-6;
    e.count++;
  }
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
  const std::vector<std::string> timed = std::move(profile_pending_);
  profile_pending_.clear();
  const uint32_t stamps = static_cast<uint32_t>(profile_inside_passes_ ? timed.size() : 2 * timed.size());
  if (!timed.empty()) {
    w_.wgpuCommandEncoderResolveQuerySet(encoder_, query_set_, 0, stamps, query_resolve_, 0);
    w_.wgpuCommandEncoderCopyBufferToBuffer(encoder_, query_resolve_, 0, handle(query_times_), 0, 8ull * stamps);
  }
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
  if (!timed.empty()) profile_inside_passes_ ? collect_inside_profile(timed) : collect_profile(timed);
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

void NativeDevice::print_profile() {
  if (profile_by_family_.empty()) return;
  std::fprintf(stderr, "[gpu profile] family: dispatches, ms in all, us each (%s)\n",
               !query_set_             ? "one submit + wait per dispatch"
               : profile_inside_passes_ ? "GPU time since the previous timestamp in the pass"
                                        : "GPU time between timestamps");
  for (const auto& [family, e] : profile_by_family_) {
    std::fprintf(stderr, "[gpu profile] %s: %llu, %.2f ms, %.1f us\n", family.c_str(),
                 static_cast<unsigned long long>(e.count), e.ms, 1e3 * e.ms / static_cast<double>(e.count));
  }
  profile_by_family_.clear();
}

void NativeDevice::destroy() {
  print_profile();
  if (!device_ || lost_) return;
  w_.wgpuDeviceDestroy(device_);
  if (!lost_) {  // the lost callback may come later or not at all: the device is gone either way
    lost_message_ = "destroyed";
    lost_ = true;
  }
}

}  // namespace webaccel::gpu::native

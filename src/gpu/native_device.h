// The native WebGPU device (gpu::Device over wgpu-native's webgpu.h), shared by its two source
// files: native_open.cpp (adapter, device, limits, callbacks) and native_device.cpp (the rest).
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gpu/bind_group_cache.h"
#include "gpu/device.h"
#include "gpu/wgpu_api.h"

namespace webaccel::gpu::native {

constexpr uint64_t kParamSlotBytes = 256;  // WebGPU's largest minUniformBufferOffsetAlignment
constexpr uint32_t kParamSlots = 1024;     // dispatches per submit before the ring flushes
constexpr uint64_t kStorageOffsetAlignment = 256;  // WebGPU's largest minStorageBufferOffsetAlignment

inline WGPUStringView view(std::string_view s) { return {s.data(), s.size()}; }
std::string text(WGPUStringView v);
// wgpu's messages span lines ("Validation Error\n\nCaused by:\n  ..."): one line reads better in errors.
std::string one_line(std::string s);

struct PipelineEntry {
  std::string key;
  WGPUComputePipeline pipeline = nullptr;
  WGPUBindGroupLayout layout = nullptr;
  std::string family;  // the key up to ':' (profiles and WEBACCEL_GPU_SKIP), cut once here
};
class NativeDevice final : public Device {
 public:
  NativeDevice(const WgpuApi& w, WGPUInstance instance) : w_(w), instance_(instance) {}
  NativeDevice(const NativeDevice&) = delete;
  NativeDevice& operator=(const NativeDevice&) = delete;
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
  // The bind group of one dispatch, from the cache or made (and cached) now.
  WGPUBindGroup bind_group(const PipelineEntry& p, uint64_t slot, std::span<const BufferView> buffers);
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

  // $WEBACCEL_GPU_PROFILE=1 (bench/gpu): GPU time per pipeline family, printed at exit. With
  // timestamp queries each dispatch gets a pass whose begin and end are timestamped (GPU time
  // alone); without, each dispatch is waited for alone (wall time incl. a submit's round trip).
  // $WEBACCEL_GPU_PROFILE=2: passes unchanged, a timestamp after every dispatch inside them
  // (wgpu-native's timestamp-query-inside-passes): each dispatch is charged the time from the
  // previous timestamp to its own, its share of the step as the step really runs, barriers included,
  // per family and workgroup count (which tells the shapes apart).
  struct ProfileEntry {
    double ms = 0;
    uint64_t count = 0;
  };
  static constexpr uint32_t kProfileDispatches = 512;  // timed dispatches per submit
  bool profile_ = false;
  bool profile_inside_passes_ = false;  // mode 2, where the adapter has the feature
  // $WEBACCEL_GPU_SKIP=family,... (bench/gpu only): those pipelines' dispatches are dropped, so a
  // step's GPU time without them tells what they cost as the step really runs. Output is garbage.
  std::set<std::string> skipped_families_;
  bool pass_stamped_ = false;           // mode 2: the open pass has its opening timestamp
  WGPUQuerySet query_set_ = nullptr;   // 2 timestamps per timed dispatch
  WGPUBuffer query_resolve_ = nullptr; // their u64 nanoseconds
  Buffer query_times_;                 // a copy read_buffer can read
  std::vector<std::string> profile_pending_;  // the family of each timed dispatch of this encoder
                                              // (mode 2: one label per timestamp, "" opens a pass)
  std::map<std::string, ProfileEntry> profile_by_family_;
  void open_profile();
  // Whether a pipeline using dot4I8Packed / pack4xI8 builds (wgpu-native has no language-feature query).
  bool compiles_packed_dot4();
  void print_profile();
  void collect_profile(const std::vector<std::string>& families);
  void collect_inside_profile(const std::vector<std::string>& labels);
  void stamp_inside_pass(const std::string& label);
  WGPUCommandEncoder encoder_ = nullptr;
  WGPUComputePassEncoder pass_ = nullptr;
  bool recorded_ = false;                      // the encoder holds commands not yet submitted
  WGPUBuffer params_ = nullptr;                // kParamSlots uniform slots
  std::vector<uint8_t> params_staging_;        // their bytes, written to params_ at submit
  uint32_t params_used_ = 0;
  BindGroupCache bind_groups_;
  WGPUBuffer readback_ = nullptr;              // MapRead staging for read_buffer, grown on demand
  uint64_t readback_bytes_ = 0;

  mutable std::mutex error_mutex_;             // the error callback may run on any thread
  std::string error_;                          // from the uncaptured-error callback
  std::atomic<bool> lost_{false};
  std::string lost_message_;
};

}  // namespace webaccel::gpu::native

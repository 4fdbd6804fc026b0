// gpu::Device for the wasm build: each method is one call into the JS bridge (Module.webaccelGpu,
// web/src/gpu_bridge.js). The bridge never throws into wasm; it returns 0 / -1 and this side turns
// a lost device into gpu::DeviceLost.
#include "gpu/web_device.h"

#include <emscripten/emscripten.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <unordered_map>

// The bridge calls (global scope: EM_JS declares extern "C" imports).
// clang-format off
EM_JS(int, wa_gpu_attached, (), { return Module.webaccelGpu && !Module.webaccelGpu.isLost() ? 1 : 0; });
EM_JS(int, wa_gpu_lost, (), { return Module.webaccelGpu.isLost() ? 1 : 0; });
EM_JS(int, wa_gpu_string_length, (int which), {
  var b = Module.webaccelGpu;
  Module.webaccelGpuString = which === 0 ? b.infoJson() : String(b.lostReason || "");
  return lengthBytesUTF8(Module.webaccelGpuString) + 1;
});
EM_JS(void, wa_gpu_string_copy, (char* dst, int bytes), { stringToUTF8(Module.webaccelGpuString, dst, bytes); });
EM_JS(int, wa_gpu_create_buffer, (double bytes, const char* label), {
  return Module.webaccelGpu.createBuffer(bytes, UTF8ToString(label));
});
EM_JS(void, wa_gpu_release, (int id), { Module.webaccelGpu.release(id); });
EM_JS(int, wa_gpu_write_buffer, (int id, double offset, const void* data, double bytes), {
  return Module.webaccelGpu.writeBuffer(id, offset, wasmMemory, data, bytes);
});
EM_JS(int, wa_gpu_pipeline, (const char* key, const char* wgsl, const char* entry, const char* constants), {
  return Module.webaccelGpu.pipeline(UTF8ToString(key), UTF8ToString(wgsl), UTF8ToString(entry), UTF8ToString(constants));
});
EM_JS(void, wa_gpu_precompile, (const char* key, const char* wgsl, const char* entry, const char* constants), {
  Module.webaccelGpu.precompile(UTF8ToString(key), UTF8ToString(wgsl), UTF8ToString(entry), UTF8ToString(constants));
});
EM_JS(int, wa_gpu_has_pipeline, (const char* key), { return Module.webaccelGpu.hasPipeline(UTF8ToString(key)) ? 1 : 0; });
EM_JS(int, wa_gpu_dispatch, (int pipeline, const void* params, int params_bytes, const double* views, int count,
                             int gx, int gy, int gz), {
  return Module.webaccelGpu.dispatch(pipeline, wasmMemory, params, params_bytes, views, count, gx, gy, gz);
});
EM_JS(int, wa_gpu_copy, (int src, double src_offset, int dst, double dst_offset, double bytes), {
  return Module.webaccelGpu.copy(src, src_offset, dst, dst_offset, bytes);
});
EM_JS(void, wa_gpu_flush, (), { Module.webaccelGpu.flush(); });
EM_JS(int, wa_gpu_request_read, (int id, double offset, double bytes, void* dst), {
  return Module.webaccelGpu.requestRead(id, offset, bytes, wasmMemory, dst);
});
EM_JS(int, wa_gpu_read_status, (int ticket), { return Module.webaccelGpu.readStatus(ticket); });
EM_JS(void, wa_gpu_destroy, (), { Module.webaccelGpu.destroy(); });
// clang-format on

namespace webaccel::gpu {
namespace {


std::string bridge_string(int which) {
  const int n = wa_gpu_string_length(which);
  std::string s(static_cast<size_t>(n), '\0');
  wa_gpu_string_copy(s.data(), n);
  s.resize(static_cast<size_t>(n - 1));
  return s;
}

std::string constants_json(const PipelineDesc& desc) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : desc.constants) j[name] = value;
  return j.dump();
}

class BridgeDevice final : public WebDevice {
 public:
  BridgeDevice() {
    const auto j = nlohmann::json::parse(bridge_string(0));
    info_.implementation = j.at("implementation");
    info_.adapter = j.at("adapter");
    info_.backend = j.at("backend");
    info_.adapter_type = j.at("adapter_type");
    info_.max_storage_buffer_binding_size = j.at("max_storage_buffer_binding_size");
    info_.max_buffer_size = j.at("max_buffer_size");
    info_.max_compute_workgroups_per_dimension = j.at("max_compute_workgroups_per_dimension");
    info_.max_compute_invocations_per_workgroup = j.at("max_compute_invocations_per_workgroup");
    info_.max_compute_workgroup_size_x = j.at("max_compute_workgroup_size_x");
    info_.max_storage_buffers_per_shader_stage = j.at("max_storage_buffers_per_shader_stage");
    info_.min_uniform_buffer_offset_alignment = j.at("min_uniform_buffer_offset_alignment");
    info_.shader_f16 = j.at("shader_f16");
    info_.subgroups = j.at("subgroups");
    info_.timestamps = j.at("timestamps");
    info_.packed_dot4 = j.value("packed_dot4", false);
    info_.sync_readback = false;
  }

  const DeviceInfo& info() const override { return info_; }

  Buffer create_buffer(uint64_t bytes, const std::string& label) override {
    alive();
    if (bytes > info_.max_buffer_size) {
      fail(ErrorKind::kInput, "GPU buffer '" + label + "': " + std::to_string(bytes) +
                                  " bytes exceed the adapter's maxBufferSize of " + std::to_string(info_.max_buffer_size));
    }
    const int id = wa_gpu_create_buffer(static_cast<double>(bytes), label.c_str());
    if (id <= 0) {
      alive();
      fail(ErrorKind::kIo, "GPU buffer '" + label + "' (" + std::to_string(bytes) + " bytes) could not be created");
    }
    return {static_cast<uint32_t>(id), bytes};
  }

  void release(Buffer buffer) override {
    if (buffer && !wa_gpu_lost()) wa_gpu_release(static_cast<int>(buffer.id));
  }

  void write_buffer(Buffer buffer, uint64_t offset, const void* data, uint64_t bytes) override {
    if (bytes % 4 != 0) fail(ErrorKind::kInternal, "write_buffer: " + std::to_string(bytes) + " bytes is not a multiple of 4");
    if (wa_gpu_write_buffer(static_cast<int>(buffer.id), static_cast<double>(offset), data, static_cast<double>(bytes)) < 0) {
      alive();
    }
  }

  Pipeline pipeline(const PipelineDesc& desc) override {
    alive();
    if (auto it = ids_.find(desc.key); it != ids_.end()) return {it->second};
    const int id = wa_gpu_pipeline(desc.key.c_str(), desc.wgsl.c_str(), desc.entry.c_str(), constants_json(desc).c_str());
    if (id <= 0) {
      alive();
      fail(ErrorKind::kInternal, "GPU pipeline '" + desc.key + "' failed to compile (the bridge's errors say why)");
    }
    ids_[desc.key] = static_cast<uint32_t>(id);
    return {static_cast<uint32_t>(id)};
  }

  // Queues asynchronous creation only: the wasm side cannot wait, so the host awaits the bridge's
  // settle() before the first step (pipeline() then finds them ready).
  void precompile(std::span<const PipelineDesc> descs) override {
    alive();
    for (const auto& d : descs) wa_gpu_precompile(d.key.c_str(), d.wgsl.c_str(), d.entry.c_str(), constants_json(d).c_str());
  }

  bool has_pipeline(const std::string& key) const override { return wa_gpu_has_pipeline(key.c_str()) != 0; }

  void dispatch(Pipeline pipeline, std::span<const uint8_t> params, std::span<const BufferView> buffers,
                uint32_t groups_x, uint32_t groups_y, uint32_t groups_z) override {
    if (params.size() % 4 != 0 || params.size() > 256) {
      fail(ErrorKind::kInternal, "dispatch: params of " + std::to_string(params.size()) + " bytes (need a multiple of 4, at most 256)");
    }
    views_.clear();
    for (const auto& v : buffers) {
      views_.push_back(v.buffer.id);
      views_.push_back(static_cast<double>(v.offset));
      views_.push_back(static_cast<double>(v.bytes));
    }
    const int rc = wa_gpu_dispatch(static_cast<int>(pipeline.id), params.data(), static_cast<int>(params.size()), views_.data(),
                                   static_cast<int>(buffers.size()), static_cast<int>(groups_x), static_cast<int>(groups_y),
                                   static_cast<int>(groups_z));
    if (rc == -2) fail(ErrorKind::kInternal, "dispatch: pipeline " + std::to_string(pipeline.id) + " is not ready");
    if (rc < 0) alive();
  }

  void copy(Buffer src, uint64_t src_offset, Buffer dst, uint64_t dst_offset, uint64_t bytes) override {
    if (wa_gpu_copy(static_cast<int>(src.id), static_cast<double>(src_offset), static_cast<int>(dst.id),
                    static_cast<double>(dst_offset), static_cast<double>(bytes)) < 0) {
      alive();
    }
  }

  void submit() override {
    alive();
    wa_gpu_flush();
  }

  void read_buffer(Buffer, uint64_t, void*, uint64_t) override {
    fail(ErrorKind::kInternal, "read_buffer: reading back is asynchronous in the browser (use request_read)");
  }

  // A submit: the host awaits the queue (bridge.finish()) itself when it times anything.
  void finish() override { submit(); }

  bool lost() const override { return wa_gpu_lost() != 0; }
  void destroy() override { wa_gpu_destroy(); }

  uint32_t request_read(Buffer buffer, uint64_t offset, void* dst, uint64_t bytes) override {
    alive();
    const int ticket = wa_gpu_request_read(static_cast<int>(buffer.id), static_cast<double>(offset), static_cast<double>(bytes), dst);
    if (ticket <= 0) alive();
    return static_cast<uint32_t>(ticket);
  }

  bool read_done(uint32_t ticket) override {
    const int s = wa_gpu_read_status(static_cast<int>(ticket));
    if (s < 0) {
      alive();
      throw DeviceLost("GPU read back " + std::to_string(ticket) + " failed");
    }
    return s == 1;
  }

 private:
  void alive() const {
    if (wa_gpu_lost()) throw DeviceLost(bridge_string(1));
  }

  DeviceInfo info_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<double> views_;  // (buffer id, offset, bytes) per binding, read by the bridge
};

}  // namespace

std::unique_ptr<WebDevice> open_web_device(std::string* why) {
  if (!wa_gpu_attached()) {
    if (why) *why = "no WebGPU bridge attached (WebGPU absent, refused or lost)";
    return nullptr;
  }
  return std::make_unique<BridgeDevice>();
}

}  // namespace webaccel::gpu

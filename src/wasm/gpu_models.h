// The model forwards of src/gpu on the web device, for the wasm engine: each step records the
// forward and queues the read back of its one result (logits, pooled embedding) into wasm memory;
// the host awaits the bridge's settle() before the engine uses it. Any gpu::DeviceLost escapes to
// the engine, which falls back to the CPU.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "gpu/gpu_bert.h"
#include "gpu/gpu_llama.h"
#include "gpu/web_device.h"

namespace webaccel::wasm {

// The backend a host asked for: 'wasm', 'webgpu', or 'auto' (WebGPU on a hardware adapter only:
// software adapters such as SwiftShader or lavapipe run far slower than wasm SIMD).
struct BackendRequest {
  std::string backend = "wasm";
  bool precompile = true;  // create every pipeline at load (false: lazily, at first use)
};

// A web device and its kernel library, owned by one model.
struct WebGpu {
  std::unique_ptr<gpu::WebDevice> device;
  std::unique_ptr<gpu::Kernels> kernels;
  // The bridge's device when the request wants it, or nullptr with `note` saying why not.
  static std::unique_ptr<WebGpu> open(const BackendRequest& request, std::string* note);
  std::string adapter_json() const;  // implementation, adapter, adapter type, features
};

class WebGpuLlama {
 public:
  // Uploads the weights; with precompile, queues every pipeline's asynchronous creation.
  WebGpuLlama(std::unique_ptr<WebGpu> gpu, const LlamaModel& model, uint32_t n_ctx, bool precompile);
  ~WebGpuLlama();
  void reset();
  // Records the forward of tokens; the last one's logits (n_vocab floats) land in dst.
  void eval(std::span<const int32_t> tokens, float* dst);
  // True once the logits landed (throws gpu::DeviceLost when the read back failed).
  bool landed();
  WebGpu& gpu() { return *gpu_; }

 private:
  std::unique_ptr<WebGpu> gpu_;
  std::unique_ptr<gpu::GpuLlama> forward_;
  uint32_t ticket_ = 0;
};

class WebGpuBert {
 public:
  WebGpuBert(std::unique_ptr<WebGpu> gpu, const BertModel& model, bool precompile);
  ~WebGpuBert();
  void encode(std::span<const int32_t> ids, float* dst);  // the embedding (n_embd) lands in dst
  bool landed();
  WebGpu& gpu() { return *gpu_; }

 private:
  std::unique_ptr<WebGpu> gpu_;
  std::unique_ptr<gpu::GpuBert> forward_;
  uint32_t ticket_ = 0;
};

}  // namespace webaccel::wasm

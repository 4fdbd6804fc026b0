#include "wasm/gpu_models.h"

#include <nlohmann/json.hpp>

namespace webaccel::wasm {

std::unique_ptr<WebGpu> WebGpu::open(const BackendRequest& request, std::string* note) {
  if (request.backend == "wasm") return nullptr;
  auto device = gpu::open_web_device(note);
  if (!device) return nullptr;
  if (request.backend == "auto" && device->info().adapter_type == "cpu") {
    *note = "auto: the WebGPU adapter (" + device->info().adapter + ") is a software one, slower than wasm";
    return nullptr;
  }
  auto g = std::make_unique<WebGpu>();
  g->kernels = std::make_unique<gpu::Kernels>(*device);
  g->device = std::move(device);
  return g;
}

std::string WebGpu::adapter_json() const {
  const auto& i = device->info();
  return nlohmann::json{{"implementation", i.implementation}, {"adapter", i.adapter}, {"adapter_type", i.adapter_type},
                        {"shader_f16", i.shader_f16}, {"subgroups", i.subgroups},
                        {"max_storage_buffer_binding_size", i.max_storage_buffer_binding_size}}
      .dump();
}

WebGpuLlama::WebGpuLlama(std::unique_ptr<WebGpu> gpu, const LlamaModel& model, uint32_t n_ctx, bool precompile)
    : gpu_(std::move(gpu)),
      forward_(std::make_unique<gpu::GpuLlama>(*gpu_->kernels, gpu::LlamaWeights::from(model), n_ctx)) {
  if (precompile) forward_->precompile();
}

WebGpuLlama::~WebGpuLlama() = default;

void WebGpuLlama::reset() { forward_->reset(); }

void WebGpuLlama::eval(std::span<const int32_t> tokens, float* dst) {
  forward_->eval(tokens);
  const auto logits = forward_->logits();
  ticket_ = gpu_->device->request_read(logits.buffer, logits.offset, dst, logits.bytes);
}

bool WebGpuLlama::landed() { return gpu_->device->read_done(ticket_); }

WebGpuBert::WebGpuBert(std::unique_ptr<WebGpu> gpu, const BertModel& model, bool precompile)
    : gpu_(std::move(gpu)), forward_(std::make_unique<gpu::GpuBert>(*gpu_->kernels, model)) {
  if (precompile) forward_->precompile();
}

WebGpuBert::~WebGpuBert() = default;

void WebGpuBert::encode(std::span<const int32_t> ids, float* dst) {
  forward_->encode(ids);
  const auto out = forward_->output();
  ticket_ = gpu_->device->request_read(out.buffer, out.offset, dst, out.bytes);
}

bool WebGpuBert::landed() { return gpu_->device->read_done(ticket_); }

}  // namespace webaccel::wasm

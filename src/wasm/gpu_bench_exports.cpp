// Embind surface of the GPU decode benchmark (the native `gpu-bench`'s synthetic llama) for the wasm
// build: the wasm side cannot wait for the GPU, so the host drives every step and times it around
// its awaits (bench/gpu/node_dawn_bench.mjs):
//   new GpuDecodeBench(shape, bits, group, ctx)   makes the random weights (CPU only)
//   upload()          uploads them        -> await the bridge's finish() (queue drained)
//   precompile()      queues every pipeline -> await settle()          (skipped: lazy pipelines)
//   startPrompt(n)    records the prompt forward and its logits read -> await settle(); finishStep()
//   startStep()       records one greedy token's step                -> await settle(); finishStep()
#include <emscripten/bind.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gpu/decode_bench.h"
#include "gpu/gpu_llama.h"
#include "gpu/synthetic_llama.h"
#include "wasm/gpu_models.h"
#include "wasm/guarded.h"

namespace webaccel::wasm {
namespace {

class GpuDecodeBench {
 public:
  GpuDecodeBench(std::string shape, int bits, int group, int ctx) {
    guarded([&] {
      request_.shape = std::move(shape);
      request_.bits = bits;
      request_.group = group;
      request_.ctx = static_cast<uint32_t>(ctx);
      request_.prompt = 1;
      request_.tokens = 2;
      type_ = gpu::checked_bench_type(request_);
      model_ = gpu::make_synthetic_llama(request_.shape, type_, gpu::kBenchSeed);
      return 0;
    });
  }

  // Opens the bridge's device and uploads the weights (their CPU copy is freed after).
  void upload() {
    guarded([&] {
      if (!model_) fail(ErrorKind::kInternal, "upload: called twice");
      std::string note;
      gpu_ = WebGpu::open(BackendRequest{"webgpu", false}, &note);
      if (!gpu_) throw gpu::DeviceLost(note);
      forward_ = std::make_unique<gpu::GpuLlama>(*gpu_->kernels, model_->weights, request_.ctx);
      gpu_->device->submit();  // the host times the upload up to the queue's end
      model_.reset();
      return 0;
    });
  }

  void precompile() {
    guarded([&] {
      llama().precompile();
      return 0;
    });
  }

  void startPrompt(int n) {
    guarded([&] {
      if (n < 1 || static_cast<uint32_t>(n) > request_.ctx) fail(ErrorKind::kUsage, "startPrompt: n must be in 1..ctx");
      llama().reset();
      record(gpu::bench_prompt(n, llama().hparams().n_vocab));
      return 0;
    });
  }

  void startStep() {
    guarded([&] {
      if (llama().n_past() >= request_.ctx) fail(ErrorKind::kUsage, "startStep: the KV cache is full (raise ctx)");
      record({token_});
      return 0;
    });
  }

  // The greedy token of the logits that landed (throws while the read back is pending).
  int finishStep() {
    return guarded([&] {
      if (!gpu_->device->read_done(ticket_)) fail(ErrorKind::kInternal, "finishStep: the logits have not landed (await settle())");
      token_ = gpu::argmax(logits_);
      return token_;
    });
  }

  std::string info() {
    return guarded([&] {
      auto j = nlohmann::json::parse(gpu_ ? gpu_->adapter_json() : std::string("{}"));
      j["shape"] = request_.shape;
      j["format"] = std::string(ggml_type_name(type_));
      if (forward_) {
        j["weight_bytes"] = forward_->weight_bytes();
        j["bytes_per_token"] = forward_->bytes_per_token(forward_->n_past());
        j["n_past"] = forward_->n_past();
      }
      return j.dump();
    });
  }

 private:
  gpu::GpuLlama& llama() {
    if (!forward_) fail(ErrorKind::kInternal, "GpuDecodeBench: upload() first");
    return *forward_;
  }

  void record(const std::vector<int32_t>& ids) {
    llama().eval(ids);
    const auto out = llama().logits();
    logits_.resize(llama().hparams().n_vocab);
    ticket_ = gpu_->device->request_read(out.buffer, out.offset, logits_.data(), out.bytes);
  }

  gpu::DecodeBenchRequest request_;
  GgmlType type_ = GgmlType::kF32;
  std::optional<gpu::SyntheticLlama> model_;
  std::unique_ptr<WebGpu> gpu_;
  std::unique_ptr<gpu::GpuLlama> forward_;
  std::vector<float> logits_;
  uint32_t ticket_ = 0;
  int32_t token_ = 0;
};

}  // namespace
}  // namespace webaccel::wasm

EMSCRIPTEN_BINDINGS(webaccel_gpu_bench) {
  using webaccel::wasm::GpuDecodeBench;
  emscripten::class_<GpuDecodeBench>("GpuDecodeBench")
      .constructor<std::string, int, int, int>()
      .function("upload", &GpuDecodeBench::upload)
      .function("precompile", &GpuDecodeBench::precompile)
      .function("startPrompt", &GpuDecodeBench::startPrompt)
      .function("startStep", &GpuDecodeBench::startStep)
      .function("finishStep", &GpuDecodeBench::finishStep)
      .function("info", &GpuDecodeBench::info);
}

// `webaccel gpu-bench`: WebGPU decode speed of a llama-shaped model (random weights of real
// shapes) against its bandwidth limit, with the copy kernel's bandwidth measured in the same
// process, and first-inference latency with precompiled or lazily created pipelines.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output_file.h"
#include "core/error.h"
#include "gpu/decode_bench.h"
#include "gpu/device.h"
#include "gpu/gpu_llama.h"
#include "gpu/kernel_sources.h"
#include "gpu/kernels.h"
#include "gpu/synthetic_llama.h"

namespace webaccel::cli {
namespace {

using gpu::argmax;
using gpu::median;

struct GpuBenchOptions : gpu::DecodeBenchRequest {
  GpuBenchOptions() { shape = "7b"; }
  uint64_t copy_mib = 1024;
  int warmup = 16;  // untimed decode steps first: the submit cadence tuned (12 steps), clocks up
  bool lazy = false;
  std::string json_path;
};

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

struct CopyParams {
  uint32_t n_vec4, stride, pad0, pad1;
};

// Median GB/s (bytes read + written) of copy.wgsl over `mib` MiB.
double copy_bandwidth(gpu::Device& dev, uint64_t mib) {
  const uint64_t bytes = mib << 20;
  const auto src = dev.create_buffer(bytes, "copy source"), dst = dev.create_buffer(bytes, "copy destination");
  const auto pipe = dev.pipeline({"copy:wg=256", std::string(gpu::kernel_source("copy")), "main", {{"wg", 256}}});
  const uint32_t groups = std::min<uint64_t>(dev.info().max_compute_workgroups_per_dimension, bytes / 16 / 256 / 4 + 1);
  const CopyParams p{static_cast<uint32_t>(bytes / 16), groups * 256, 0, 0};
  const gpu::BufferView views[2] = {{src, 0, 0}, {dst, 0, 0}};
  constexpr int kPerSubmit = 8;  // one submit's fixed cost spread over several copies
  std::vector<double> ms;
  for (int i = 0; i < 23; ++i) {
    for (int j = 0; j < kPerSubmit; ++j) dev.dispatch(pipe, gpu::as_params(p), views, groups);
    dev.submit();
    const auto t = Clock::now();  // from the submit: the GPU's time alone
    dev.finish();
    if (i >= 3) ms.push_back(ms_since(t) / kPerSubmit);
  }
  dev.release(src);
  dev.release(dst);
  return 2.0 * static_cast<double>(bytes) / (median(ms) * 1e-3) / 1e9;
}

void run_gpu_bench(const GpuBenchOptions& o) {
  const auto type = gpu::checked_bench_type(o);
  std::string why;
  auto dev = gpu::open_native_device(&why);
  if (!dev) fail(ErrorKind::kIo, "WebGPU absent: " + why);
  const auto& info = dev->info();
  std::fprintf(stderr, "[gpu-bench] %s | %s | %s | %s\n", info.adapter.c_str(), info.adapter_type.c_str(), info.backend.c_str(),
               info.implementation.c_str());

  const double copy_gbs = copy_bandwidth(*dev, o.copy_mib);
  std::fprintf(stderr, "[gpu-bench] copy kernel: %.1f GB/s over %llu MiB\n", copy_gbs, static_cast<unsigned long long>(o.copy_mib));

  auto t = Clock::now();
  auto model = gpu::make_synthetic_llama(o.shape, type, gpu::kBenchSeed);
  const double make_ms = ms_since(t);
  gpu::Kernels kernels(*dev);
  t = Clock::now();
  gpu::GpuLlama llama(kernels, model.weights, o.ctx);
  dev->finish();
  const double upload_ms = ms_since(t);
  double precompile_ms = 0;
  if (!o.lazy) {
    t = Clock::now();
    llama.precompile();
    precompile_ms = ms_since(t);
  }
  const auto prompt = gpu::bench_prompt(o.prompt, model.weights.hp.n_vocab);
  t = Clock::now();
  auto logits = llama.eval_sync(prompt);
  const double first_ms = ms_since(t);

  std::vector<double> step_ms, record_ms;
  int32_t token = argmax(logits);
  for (int i = 0; i < o.warmup && llama.n_past() + o.tokens + 8 < o.ctx; ++i) {
    llama.eval(std::span<const int32_t>(&token, 1));
    token = argmax(llama.read_logits());
  }
  for (int i = 0; i < o.tokens; ++i) {
    t = Clock::now();
    llama.eval(std::span<const int32_t>(&token, 1));
    record_ms.push_back(ms_since(t));  // recording, and the submits within the step
    logits = llama.read_logits();
    step_ms.push_back(ms_since(t));
    token = argmax(logits);
  }
  step_ms.erase(step_ms.begin());  // the first single-token step may still compile (lazy)
  record_ms.erase(record_ms.begin());
  const double ms = median(step_ms);
  // The GPU's share: steps recorded whole, then one submit, timed from the end of recording.
  std::vector<double> gpu_ms;
  const uint32_t cadence = llama.submit_every_layers();
  llama.set_submit_every_layers(0);
  for (int i = 0; i < 8 && llama.n_past() < o.ctx; ++i) {
    llama.eval(std::span<const int32_t>(&token, 1));
    t = Clock::now();
    logits = llama.read_logits();
    gpu_ms.push_back(ms_since(t));
    token = argmax(logits);
  }
  const uint64_t bytes = llama.bytes_per_token(static_cast<uint32_t>(o.prompt + o.tokens / 2));
  const double limit_tps = copy_gbs * 1e9 / static_cast<double>(bytes);
  const double tps = 1e3 / ms;

  nlohmann::json j;
  j["adapter"] = info.adapter;
  j["adapter_type"] = info.adapter_type;
  j["backend"] = info.backend;
  j["implementation"] = info.implementation;
  j["shape"] = o.shape;
  j["format"] = std::string(ggml_type_name(type));
  j["weight_bytes"] = llama.weight_bytes();
  j["bytes_per_token"] = bytes;
  j["copy_gb_s"] = copy_gbs;
  j["pipelines"] = o.lazy ? "lazy" : "precompiled";
  j["make_weights_ms"] = make_ms;
  j["upload_ms"] = upload_ms;
  j["precompile_ms"] = precompile_ms;
  j["first_inference_ms"] = first_ms;
  j["prompt_tokens"] = o.prompt;
  j["decode_ms_median"] = ms;
  j["decode_step_ms"] = step_ms;
  j["warmup_steps"] = o.warmup;
  j["submit_every_layers"] = cadence;
  j["decode_record_ms_median"] = median(record_ms);
  j["decode_gpu_ms_median"] = median(gpu_ms);
  j["decode_tokens_per_s"] = tps;
  j["limit_tokens_per_s"] = limit_tps;
  j["fraction_of_limit"] = tps / limit_tps;
  const std::string text = j.dump() + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (!o.json_path.empty()) write_output_file(o.json_path, text);
  std::fprintf(stderr,
               "[gpu-bench] %s %s (%s pipelines): first inference %.1f ms (%d tokens), decode %.2f ms/token = %.1f tokens/s, "
               "limit %.1f tokens/s (%.1f MB/token at %.0f GB/s): %.0f%%; per step %.2f ms recording, %.2f ms GPU alone\n",
               o.shape.c_str(), std::string(ggml_type_name(type)).c_str(), o.lazy ? "lazy" : "precompiled", first_ms, o.prompt, ms,
               tps, limit_tps, static_cast<double>(bytes) / 1e6, copy_gbs, 100.0 * tps / limit_tps, median(record_ms),
               median(gpu_ms));
}

}  // namespace

void add_gpu_bench_command(CLI::App& app) {
  auto o = std::make_shared<GpuBenchOptions>();
  auto* cmd = app.add_subcommand("gpu-bench", "WebGPU decode speed of a llama-shaped model with random weights vs its bandwidth limit");
  cmd->add_option("--shape", o->shape, "7b, smollm2 or tiny")->capture_default_str();
  cmd->add_option("--bits", o->bits, "2, 3, 4 or 8 (WQ formats)")->capture_default_str();
  cmd->add_option("--group", o->group, "group size: 32, 64 or 128")->capture_default_str();
  cmd->add_option("--prompt", o->prompt, "prompt tokens (the first inference)")->capture_default_str();
  cmd->add_option("--tokens", o->tokens, "decode steps timed")->capture_default_str();
  cmd->add_option("--warmup", o->warmup, "untimed decode steps before the timed ones")->capture_default_str();
  cmd->add_option("--ctx", o->ctx, "KV cache positions")->capture_default_str();
  cmd->add_option("--copy-mib", o->copy_mib, "MiB copied by the bandwidth yardstick")->capture_default_str();
  cmd->add_flag("--lazy-pipelines", o->lazy, "create pipelines at first use instead of at load");
  cmd->add_option("--json", o->json_path, "also write the result here");
  cmd->callback([o] { run_gpu_bench(*o); });
}

}  // namespace webaccel::cli

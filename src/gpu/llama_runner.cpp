#include "gpu/llama_runner.h"

#include <chrono>
#include <cstdlib>

#include "core/error.h"
#include "gpu/device.h"
#include "gpu/gpu_llama.h"
#include "gpu/kernels.h"
#include "gpu/open_model.h"

namespace webaccel::gpu {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

LlamaRunner::LlamaRunner(const LlamaModel& model, size_t n_ctx, ThreadPool& pool, const RunnerOptions& options)
    : model_(model), n_ctx_(n_ctx), pool_(pool), kv_cache_(options.kv_cache) {
  if (const char* n = std::getenv("WEBACCEL_GPU_LOSE_AFTER")) lose_after_ = std::atol(n);
  if (options.backend == Backend::kCpu) {
    use_cpu("");
    return;
  }
  const auto t0 = Clock::now();
  std::string why;
  gpu_ = open_gpu_model<GpuLlama>(
      [&](Kernels& k) {
        auto m = std::make_unique<GpuLlama>(k, LlamaWeights::from(model), static_cast<uint32_t>(n_ctx));
        if (options.precompile) {
          const auto tp = Clock::now();
          m->precompile();
          precompile_s_ = seconds_since(tp);
        }
        return m;
      },
      &why);
  if (!gpu_) {
    use_cpu(why + ": running on the CPU");
    return;
  }
  load_s_ = seconds_since(t0);
  if (options.backend == Backend::kAuto) choose_automatically();
}

LlamaRunner::~LlamaRunner() = default;

bool LlamaRunner::on_gpu() const { return gpu_ != nullptr; }

void LlamaRunner::use_cpu(const std::string& why) {
  if (!why.empty()) notes_.push_back(why);
  gpu_.reset();
  if (!cpu_) cpu_ = std::make_unique<LlamaSession>(model_, n_ctx_, pool_, kv_cache_);
}

// One single-token step on each backend (the second of two, so compilation and first-touch costs
// are not counted), kept per adapter and model shape so later runs decide without measuring.
void LlamaRunner::choose_automatically() {
  const auto& hp = model_.hparams();
  const std::string key = gpu_->device->info().adapter + "|llama|" + std::to_string(hp.n_layer) + "x" +
                          std::to_string(hp.n_embd) + "x" + std::to_string(hp.n_ff) + "|" +
                          std::to_string(model_.weight_bytes()) + "|threads=" + std::to_string(pool_.size());
  auto timings = load_timings(key);
  if (!timings) {
    const int32_t probe[1] = {0};
    StepTimings t;
    LlamaSession cpu(model_, 4, pool_);
    for (int i = 0; i < 2; ++i) {
      const auto c0 = Clock::now();
      cpu.eval(probe);
      t.cpu_ms = seconds_since(c0) * 1e3;
      const auto g0 = Clock::now();
      gpu_->model->eval_sync(probe);
      t.gpu_ms = seconds_since(g0) * 1e3;
    }
    gpu_->model->reset();
    save_timings(key, t);
    timings = t;
  }
  char line[200];
  std::snprintf(line, sizeof line, "auto: one step takes %.2f ms on WebGPU (%s) and %.2f ms on the CPU", timings->gpu_ms,
                gpu_->device->info().adapter.c_str(), timings->cpu_ms);
  if (timings->gpu_ms < timings->cpu_ms) {
    notes_.push_back(std::string(line) + ": WebGPU");
  } else {
    use_cpu(std::string(line) + ": the CPU");
  }
}

std::span<const float> LlamaRunner::eval(std::span<const int32_t> tokens) {
  history_.insert(history_.end(), tokens.begin(), tokens.end());
  if (gpu_) {
    try {
      if (lose_after_ >= 0 && gpu_evals_ >= lose_after_) gpu_->device->destroy();
      logits_ = gpu_->model->eval_sync(tokens);
      ++gpu_evals_;
      return logits_;
    } catch (const DeviceLost& e) {
      use_cpu(std::string("WebGPU device lost (") + e.what() + "): replaying " + std::to_string(history_.size()) +
              " tokens on the CPU");
      auto logits = cpu_->eval(history_);
      logits_.assign(logits.begin(), logits.end());
      return logits_;
    }
  }
  auto logits = cpu_->eval(tokens);
  logits_.assign(logits.begin(), logits.end());
  return logits_;
}

std::string LlamaRunner::backend_description() const {
  if (!gpu_) return "cpu";
  const auto& info = gpu_->device->info();
  return "webgpu (" + info.adapter + ", " + info.backend + ", " + info.implementation + ")";
}

size_t LlamaRunner::kv_cache_bytes() const {
  if (cpu_) return cpu_->kv_cache_bytes();
  const auto& hp = model_.hparams();
  return 2 * hp.n_layer * n_ctx_ * hp.n_head_kv * hp.head_dim * sizeof(float);
}

}  // namespace webaccel::gpu

// Runs a llama model on the backend asked for, falling back to the CPU engine when WebGPU is
// absent, refuses the model, or the device is lost mid-run: the tokens evaluated so far are
// replayed on the CPU, so generation continues with the CPU path's own logits.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "gpu/backend_choice.h"
#include "gpu/gpu_llama.h"
#include "gpu/open_model.h"
#include "models/llama.h"

namespace webaccel::gpu {

struct RunnerOptions {
  Backend backend = Backend::kCpu;
  bool precompile = true;  // create every pipeline at load time (false: lazily, at first use)
  KvCacheType kv_cache = KvCacheType::kAuto;  // the CPU path's cache (the GPU path keeps its own)
};

class LlamaRunner {
 public:
  LlamaRunner(const LlamaModel& model, size_t n_ctx, ThreadPool& pool, const RunnerOptions& options);
  ~LlamaRunner();

  // Appends tokens; returns the logits (n_vocab) of the last one.
  std::span<const float> eval(std::span<const int32_t> tokens);

  bool on_gpu() const;
  std::string backend_description() const;            // "webgpu (adapter, implementation)" or "cpu"
  const std::vector<std::string>& notes() const { return notes_; }  // why a fallback happened
  double load_seconds() const { return load_s_; }      // upload (+ precompilation)
  double precompile_seconds() const { return precompile_s_; }
  size_t kv_cache_bytes() const;

 private:
  void use_cpu(const std::string& why);
  void choose_automatically();

  const LlamaModel& model_;
  size_t n_ctx_;
  ThreadPool& pool_;
  KvCacheType kv_cache_;
  std::unique_ptr<GpuModel<GpuLlama>> gpu_;
  std::unique_ptr<LlamaSession> cpu_;
  std::vector<int32_t> history_;  // every token evaluated, for a replay on the CPU
  std::vector<float> logits_;
  std::vector<std::string> notes_;
  double load_s_ = 0, precompile_s_ = 0;
  long lose_after_ = -1;          // WEBACCEL_GPU_LOSE_AFTER: destroy the device after this many evals (tests)
  long gpu_evals_ = 0;
};

}  // namespace webaccel::gpu

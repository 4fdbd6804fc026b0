// Runs a BERT encoder on the backend asked for, falling back to the CPU engine when WebGPU is
// absent, refuses the model, or the device is lost (the sentence in flight is redone on the CPU).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "gpu/backend_choice.h"
#include "gpu/gpu_bert.h"
#include "gpu/open_model.h"
#include "models/bert.h"

namespace webaccel::gpu {

class BertRunner {
 public:
  BertRunner(const BertModel& model, ThreadPool& pool, Backend backend);
  ~BertRunner();

  std::vector<float> embed_tokens(std::span<const int32_t> ids);  // (n_embd)
  bool on_gpu() const;
  std::string backend_description() const;
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  void use_cpu(const std::string& why);

  const BertModel& model_;
  ThreadPool& pool_;
  std::unique_ptr<GpuModel<GpuBert>> gpu_;
  std::vector<std::string> notes_;
  long lose_after_ = -1;  // WEBACCEL_GPU_LOSE_AFTER: destroy the device after this many sentences (tests)
  long gpu_calls_ = 0;
};

}  // namespace webaccel::gpu

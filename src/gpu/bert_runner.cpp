#include "gpu/bert_runner.h"

#include <chrono>
#include <cstdlib>

#include "core/error.h"
#include "gpu/device.h"
#include "gpu/gpu_bert.h"
#include "gpu/kernels.h"
#include "gpu/open_model.h"

namespace webaccel::gpu {

BertRunner::BertRunner(const BertModel& model, ThreadPool& pool, Backend backend) : model_(model), pool_(pool) {
  if (const char* n = std::getenv("WEBACCEL_GPU_LOSE_AFTER")) lose_after_ = std::atol(n);
  if (backend == Backend::kCpu) return;
  std::string why;
  gpu_ = open_gpu_model<GpuBert>(
      [&](Kernels& k) {
        auto m = std::make_unique<GpuBert>(k, model);
        m->precompile();
        return m;
      },
      &why);
  if (!gpu_) {
    use_cpu(why + ": running on the CPU");
    return;
  }
  // A software adapter (lavapipe, SwiftShader) is far slower than the CPU engine for an encoder
  // this small: auto keeps the CPU there.
  if (backend == Backend::kAuto && gpu_->device->info().adapter_type == "cpu") {
    use_cpu("auto: the adapter (" + gpu_->device->info().adapter + ") is a software rasterizer: the CPU");
  }
}

BertRunner::~BertRunner() = default;

bool BertRunner::on_gpu() const { return gpu_ != nullptr; }

void BertRunner::use_cpu(const std::string& why) {
  if (!why.empty()) notes_.push_back(why);
  gpu_.reset();
}

std::vector<float> BertRunner::embed_tokens(std::span<const int32_t> ids) {
  if (gpu_) {
    try {
      if (lose_after_ >= 0 && gpu_calls_ >= lose_after_) gpu_->device->destroy();
      auto v = gpu_->model->embed_tokens_sync(ids);
      ++gpu_calls_;
      return v;
    } catch (const DeviceLost& e) {
      use_cpu(std::string("WebGPU device lost (") + e.what() + "): continuing on the CPU");
    }
  }
  return model_.embed_tokens(ids, pool_);
}

std::string BertRunner::backend_description() const {
  if (!gpu_) return "cpu";
  const auto& info = gpu_->device->info();
  return "webgpu (" + info.adapter + ", " + info.backend + ", " + info.implementation + ")";
}

}  // namespace webaccel::gpu

// Quality of a (quantized) llama model on a text: perplexity over fixed windows, and against a
// reference model, mean KL-divergence and top-1 agreement of the next-token distributions.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "models/llama.h"

namespace webaccel::quant {

struct EvalResult {
  size_t ctx = 0;          // window length; each window is evaluated from an empty cache
  size_t windows = 0;
  size_t scored = 0;       // positions scored: the second half of every window (it has context)
  double perplexity = 0;
  double mean_kld = 0;     // against the reference (0 without one)
  double top1_agreement = 0;
  double seconds = 0;
};

EvalResult evaluate_llama(LlamaModel& model, LlamaModel* reference, const std::vector<int32_t>& tokens, size_t ctx,
                          ThreadPool& pool);

}  // namespace webaccel::quant

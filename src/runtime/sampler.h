// Next-token choice: greedy at temperature 0, otherwise temperature + top-k + top-p with a seeded RNG.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace webaccel {

struct SamplerConfig {
  float temperature = 0.0f;  // 0 = greedy (argmax)
  int top_k = 40;            // 0 = all tokens
  float top_p = 0.95f;       // 1 = no nucleus cut
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplerConfig cfg);  // throws Error(kUsage) naming the bad setting
  int32_t sample(std::span<const float> logits);

 private:
  SamplerConfig cfg_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

// The argmax, lowest id on ties (as llama.cpp's greedy sampler).
int32_t argmax(std::span<const float> logits);

}  // namespace webaccel

#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace webaccel {

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

Sampler::Sampler(SamplerConfig cfg) : cfg_(cfg), rng_(cfg.seed) {
  if (!(cfg.temperature >= 0.0f) || !std::isfinite(cfg.temperature)) fail(ErrorKind::kUsage, "--temperature must be >= 0");
  if (cfg.top_k < 0) fail(ErrorKind::kUsage, "--top-k must be >= 0");
  if (!(cfg.top_p > 0.0f && cfg.top_p <= 1.0f)) fail(ErrorKind::kUsage, "--top-p must be in (0, 1]");
}

int32_t Sampler::sample(std::span<const float> logits) {
  if (cfg_.temperature == 0.0f) return argmax(logits);
  candidates_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) candidates_[i] = {logits[i] / cfg_.temperature, static_cast<int32_t>(i)};
  const size_t k = cfg_.top_k > 0 ? std::min<size_t>(cfg_.top_k, candidates_.size()) : candidates_.size();
  auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<ptrdiff_t>(k), candidates_.end(), by_logit);
  candidates_.resize(k);
  // Softmax over the survivors, then keep the smallest prefix whose mass reaches top_p.
  const float mx = candidates_.front().first;
  double total = 0.0;
  for (auto& c : candidates_) total += (c.first = std::exp(c.first - mx));
  double mass = 0.0;
  size_t keep = 0;
  while (keep < candidates_.size()) {
    mass += candidates_[keep++].first / total;
    if (mass >= cfg_.top_p) break;
  }
  candidates_.resize(keep);
  double kept_total = 0.0;
  for (const auto& c : candidates_) kept_total += c.first;
  std::uniform_real_distribution<double> uniform(0.0, kept_total);
  double r = uniform(rng_);
  for (const auto& c : candidates_) {
    if ((r -= c.first) <= 0.0) return c.second;
  }
  return candidates_.back().second;
}

}  // namespace webaccel

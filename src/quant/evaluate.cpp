#include "quant/evaluate.h"

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "quant/calibration.h"

namespace webaccel::quant {

EvalResult evaluate_llama(LlamaModel& model, LlamaModel* reference, const std::vector<int32_t>& tokens, size_t ctx,
                          ThreadPool& pool) {
  if (ctx < 8) fail(ErrorKind::kUsage, "--ctx must be at least 8");
  if (tokens.size() < ctx) {
    fail(ErrorKind::kInput, "the evaluation text has " + std::to_string(tokens.size()) + " tokens, fewer than one window of " + std::to_string(ctx));
  }
  const auto t0 = std::chrono::steady_clock::now();
  const size_t n_vocab = model.hparams().n_vocab, first = ctx / 2;
  EvalResult r;
  r.ctx = ctx;
  double nll = 0;
  LlamaSession session(model, ctx, pool);
  std::optional<LlamaSession> ref_session;
  if (reference) ref_session.emplace(*reference, ctx, pool);
  for (size_t w = 0; (w + 1) * ctx <= tokens.size(); ++w) {
    const std::vector<int32_t> window(tokens.begin() + w * ctx, tokens.begin() + (w + 1) * ctx);
    session.reset();
    const auto logits = session.eval(window, true);  // (ctx, n_vocab)
    for (size_t p = first; p + 1 < ctx; ++p) {
      const float* l = logits.data() + p * n_vocab;
      double mx = l[0];
      for (size_t i = 1; i < n_vocab; ++i) mx = std::max<double>(mx, l[i]);
      double z = 0;
      for (size_t i = 0; i < n_vocab; ++i) z += std::exp(l[i] - mx);
      nll -= l[window[p + 1]] - mx - std::log(z);
      ++r.scored;
    }
    if (ref_session) {
      const std::vector<float> mine(logits.begin() + first * n_vocab, logits.begin() + (ctx - 1) * n_vocab);
      ref_session->reset();
      const auto ref = ref_session->eval(window, true);
      const auto c = compare_logits(ref.data() + first * n_vocab, mine.data(), ctx - 1 - first, n_vocab);
      r.mean_kld += c.mean_kld * static_cast<double>(ctx - 1 - first);
      r.top1_agreement += c.top1_agreement * static_cast<double>(ctx - 1 - first);
    }
    ++r.windows;
  }
  r.perplexity = std::exp(nll / static_cast<double>(r.scored));
  r.mean_kld /= static_cast<double>(r.scored);
  r.top1_agreement /= static_cast<double>(r.scored);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace webaccel::quant

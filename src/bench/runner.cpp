#include "bench/runner.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <numeric>

#include "bench/host_facts.h"
#include "core/error.h"
#include "format/package.h"
#include "models/bert.h"
#include "models/llama.h"
#include "models/llama_vocab.h"

namespace webaccel::bench {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Real prose, so tokenizers produce realistic token ids; repeated as needed to reach a length.
constexpr const char* kText =
    "The history of the printing press begins in the fifteenth century, when movable metal type, oil-based "
    "inks and a wooden press came together. Within decades printing shops spread across Europe, books became "
    "cheaper, literacy rose and ideas travelled faster than ever before. Today the web plays a similar role, "
    "and running machine learning models in the browser moves computation closer to the people who use it. ";

struct Timings {
  double first_ms = 0;
  std::vector<double> iteration_ms;
  double prefill_ms = 0, decode_ms = 0;  // summed over the timed iterations
};

void fill_stats(const Cell& c, const Timings& t, Measurement& m) {
  const double n = static_cast<double>(t.iteration_ms.size());
  const double mean = std::accumulate(t.iteration_ms.begin(), t.iteration_ms.end(), 0.0) / n;
  double var = 0;
  for (double x : t.iteration_ms) var += (x - mean) * (x - mean);
  m.first_inference_time_ms = t.first_ms;
  m.average_inference_time_ms = mean;
  m.inference_time_stddev_ms = n > 1 ? std::sqrt(var / (n - 1)) : 0.0;
  const double tokens = static_cast<double>(c.batch_size) * (c.sequence_length + (c.model.arch == "llama" ? c.decode_tokens : 0));
  m.tokens_per_second = tokens / (mean / 1000.0);
}

std::vector<int32_t> take_tokens(std::vector<int32_t> source, size_t n, const std::string& what) {
  if (source.empty()) fail(ErrorKind::kInternal, what + ": tokenizer returned no tokens");
  std::vector<int32_t> out;
  while (out.size() < n) out.insert(out.end(), source.begin(), source.end());
  out.resize(n);
  return out;
}

int32_t argmax(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

void run_llama(const Cell& c, Measurement& m) {
  const auto t_load = Clock::now();
  auto gguf = open_model_file(c.weights_path);
  const LlamaModel model(gguf);
  const tok::BpeTokenizer tokenizer(bpe_vocab_from_gguf(*gguf));
  ThreadPool pool(static_cast<size_t>(c.threads));
  LlamaSession session(model, static_cast<size_t>(c.sequence_length + c.decode_tokens), pool);
  m.loading_time_ms = ms_since(t_load);

  std::string text;
  while (text.size() < static_cast<size_t>(c.sequence_length) * 8) text += kText;
  const auto prompt = take_tokens(tokenizer.encode(text, tokenizer.add_bos_default(), false), c.sequence_length, c.model.path);

  Timings t;
  auto inference = [&](bool timed) {
    const auto t0 = Clock::now();
    for (int b = 0; b < c.batch_size; ++b) {
      session.reset();
      const auto tp = Clock::now();
      auto logits = session.eval(prompt);
      if (timed) t.prefill_ms += ms_since(tp);
      const auto td = Clock::now();
      for (int i = 0; i < c.decode_tokens; ++i) {
        const int32_t next = argmax(logits);  // greedy: the work per token does not depend on the choice
        logits = session.eval(std::span<const int32_t>(&next, 1));
      }
      if (timed) t.decode_ms += ms_since(td);
    }
    return ms_since(t0);
  };
  t.first_ms = inference(false);
  for (int i = 0; i < c.iterations; ++i) t.iteration_ms.push_back(inference(true));
  fill_stats(c, t, m);
  const double sequences = static_cast<double>(c.batch_size) * c.iterations;
  m.prefill_tokens_per_second = sequences * c.sequence_length / (t.prefill_ms / 1000.0);
  if (c.decode_tokens > 0) m.decode_tokens_per_second = sequences * c.decode_tokens / (t.decode_ms / 1000.0);
  m.decode_tokens = c.decode_tokens;
}

void run_bert(const Cell& c, Measurement& m) {
  const auto t_load = Clock::now();
  const BertModel model(c.weights_path);
  ThreadPool pool(static_cast<size_t>(c.threads));
  m.loading_time_ms = ms_since(t_load);
  if (static_cast<size_t>(c.sequence_length) > model.config().n_positions) {
    fail(ErrorKind::kUsage, "--seq-lens: " + std::to_string(c.sequence_length) + " is longer than " + c.model.name +
                                "'s " + std::to_string(model.config().n_positions) + " positions");
  }
  std::string text;
  while (text.size() < static_cast<size_t>(c.sequence_length) * 8) text += kText;
  // encode() adds [CLS] and [SEP] and truncates to the length asked for.
  const auto ids = model.tokenizer().encode(text, static_cast<size_t>(c.sequence_length));
  if (ids.size() != static_cast<size_t>(c.sequence_length)) {
    fail(ErrorKind::kInternal, c.model.path + ": tokenizer gave " + std::to_string(ids.size()) + " tokens for " +
                                   std::to_string(c.sequence_length));
  }
  Timings t;
  auto inference = [&] {
    const auto t0 = Clock::now();
    for (int b = 0; b < c.batch_size; ++b) {
      if (model.embed_tokens(ids, pool).empty()) fail(ErrorKind::kInternal, c.model.path + ": empty embedding");
    }
    return ms_since(t0);
  };
  t.first_ms = inference();
  for (int i = 0; i < c.iterations; ++i) t.iteration_ms.push_back(inference());
  fill_stats(c, t, m);
}

}  // namespace

std::string Cell::label() const {
  return model.name + " " + backend + " " + precision.name + " b" + std::to_string(batch_size) + " s" +
         std::to_string(sequence_length) + " t" + std::to_string(threads);
}

Measurement run_cell(const Cell& c) {
  if (c.iterations < 1 || c.batch_size < 1 || c.sequence_length < 1 || c.decode_tokens < 0 || c.threads < 1) {
    fail(ErrorKind::kUsage, c.label() + ": batch, sequence length, iterations and threads must be >= 1");
  }
  Measurement m;
  m.model_name = c.model.name;
  m.model_type = c.model.model_type;
  m.platform = c.backend;
  m.backend = c.backend;
  m.precision_name = c.precision.name;
  m.precision_bits = c.precision.bits;
  m.weights_mb = c.precision.weights_mb;
  m.batch_size = c.batch_size;
  m.sequence_length = c.sequence_length;
  m.threads = c.threads;
  m.iterations = c.iterations;
  m.model_file = c.weights_path;
  const bool peak_ok = reset_peak_rss();  // so this cell's peak is not an earlier cell's
  if (c.model.arch == "llama") run_llama(c, m);
  else run_bert(c, m);
  if (peak_ok) m.memory_usage_mb = peak_rss_mb();
  return m;
}

}  // namespace webaccel::bench

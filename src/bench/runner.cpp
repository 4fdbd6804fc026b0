#include "bench/runner.h"

#include <algorithm>
#include <chrono>

#include "bench/cell_inputs.h"
#include "bench/cli_webgpu_cell.h"
#include "bench/host_facts.h"
#include "bench/js_cell.h"
#include "bench/timings.h"
#include "core/error.h"
#include "format/package.h"
#include "models/bert.h"
#include "models/llama.h"
#include "models/llama_vocab.h"

namespace webaccel::bench {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

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

  const auto prompt = llama_prompt(tokenizer, c.sequence_length, c.model.path).ids;

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
  const auto ids = bert_sentence(model.tokenizer(), c.sequence_length, c.model.path).ids;
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
  return model.name + " " + backend.name() + " " + precision.name + " b" + std::to_string(batch_size) + " s" +
         std::to_string(sequence_length) + " t" + std::to_string(threads);
}

Measurement run_cell(const Cell& c) {
  if (c.iterations < 1 || c.batch_size < 1 || c.sequence_length < 1 || c.decode_tokens < 0 || c.threads < 1) {
    fail(ErrorKind::kUsage, c.label() + ": batch, sequence length, iterations and threads must be >= 1");
  }
  Measurement m;
  m.model_name = c.model.name;
  m.model_type = c.model.model_type;
  m.platform = c.backend.backend;
  m.backend = c.backend.backend;
  m.host = c.backend.host;
  if (c.backend.in_browser()) m.browser = c.backend.host;
  m.precision_name = c.precision.name;
  m.precision_bits = c.precision.bits;
  m.weights_mb = c.precision.weights_mb;
  m.batch_size = c.batch_size;
  m.sequence_length = c.sequence_length;
  m.threads = c.threads;
  m.iterations = c.iterations;
  m.model_file = c.weights_path;
  if (c.backend.host != "native") {
    run_js_cell(c, m);
    return m;
  }
  if (c.backend.backend == "webgpu") {
    run_cli_webgpu_cell(c, m);
    return m;
  }
  m.cell_command = "in-process (webaccel bench)";
  const bool peak_ok = reset_peak_rss();  // so this cell's peak is not an earlier cell's
  if (c.model.arch == "llama") run_llama(c, m);
  else run_bert(c, m);
  if (peak_ok) m.memory_usage_mb = peak_rss_mb();
  return m;
}

}  // namespace webaccel::bench

// `webaccel embed`: sentence embeddings with a BERT encoder folder or package, written as JSON.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/output_file.h"
#include "core/error.h"
#include "gpu/bert_runner.h"
#include "models/bert.h"

namespace webaccel::cli {
namespace {

struct EmbedOptions {
  std::string model = "models/minilm";
  std::vector<std::string> texts;
  std::string input_file;
  std::string output;
  size_t threads = default_threads();
  std::string backend = "cpu";
};

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::kIo, path + ": cannot open");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

void run_embed(const EmbedOptions& o) {
  std::vector<std::string> texts = o.texts;
  if (!o.input_file.empty()) {
    auto more = o.input_file == "-" ? std::vector<std::string>{} : read_lines(o.input_file);
    if (o.input_file == "-") {
      for (std::string line; std::getline(std::cin, line);) if (!line.empty()) more.push_back(line);
    }
    texts.insert(texts.end(), more.begin(), more.end());
  }
  if (texts.empty()) fail(ErrorKind::kInput, "no texts to embed (give them as arguments or with --file)");
  for (size_t i = 0; i < texts.size(); ++i) {
    if (texts[i].empty()) fail(ErrorKind::kInput, "text #" + std::to_string(i) + " is empty");
  }

  const BertModel model(o.model);
  ThreadPool pool(o.threads);
  gpu::BertRunner runner(model, pool, gpu::parse_backend(o.backend));
  for (const auto& note : runner.notes()) std::fprintf(stderr, "[webaccel] %s\n", note.c_str());
  const size_t notes_before = runner.notes().size();
  nlohmann::json j;
  j["model"] = o.model;
  j["dim"] = model.config().n_embd;
  j["normalized"] = model.config().normalize;
  auto& out = j["embeddings"] = nlohmann::json::array();
  const auto t0 = std::chrono::steady_clock::now();
  size_t n_tokens = 0;
  std::vector<std::vector<int32_t>> ids;
  for (const auto& text : texts) {
    ids.push_back(model.tokenizer().encode(text, model.config().max_seq_length));
    n_tokens += ids.back().size();
  }
  if (runner.on_gpu()) {
    for (const auto& one : ids) out.push_back(runner.embed_tokens(one));
  } else {  // the CPU engine stacks the sentences into shared forwards
    for (auto& e : model.embed_batch(ids, pool)) out.push_back(std::move(e));
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (size_t i = notes_before; i < runner.notes().size(); ++i) std::fprintf(stderr, "[webaccel] %s\n", runner.notes()[i].c_str());
  j["backend"] = runner.backend_description();
  const std::string text = j.dump() + "\n";
  if (o.output.empty() || o.output == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
  } else {
    write_output_file(o.output, text);
  }
  std::fprintf(stderr, "[webaccel] embedded %zu texts (%zu tokens) in %.3f s: %.1f sentences/s, %zu threads, backend %s\n",
               texts.size(), n_tokens, s, static_cast<double>(texts.size()) / s, pool.size(),
               runner.backend_description().c_str());
}

}  // namespace

void add_embed_command(CLI::App& app) {
  auto o = std::make_shared<EmbedOptions>();
  auto* cmd = app.add_subcommand("embed", "Embed sentences with a BERT encoder (sentence-transformers folder or package); JSON out");
  cmd->add_option("-m,--model", o->model, "model folder (config.json, model.safetensors, vocab.txt) or a BERT package")->capture_default_str();
  cmd->add_option("texts", o->texts, "texts to embed");
  cmd->add_option("-f,--file", o->input_file, "read texts from a file, one per line ('-' for stdin)");
  cmd->add_option("-o,--output", o->output, "write the JSON here instead of stdout");
  cmd->add_option("-t,--threads", o->threads, "threads")->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--backend", o->backend, "cpu, webgpu (falls back to the CPU when WebGPU is absent or lost), or auto")
      ->capture_default_str();
  cmd->callback([o] { run_embed(*o); });
}

}  // namespace webaccel::cli

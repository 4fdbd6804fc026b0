#include "models/bert_metadata.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "format/package.h"

namespace webaccel {

void bert_package_metadata(const BertModel& model, BertPackageMetadata& out) {
  const BertConfig& c = model.config();
  auto text = [&](std::string s) { return GgufValue(std::string_view(out.strings.emplace_back(std::move(s)))); };
  auto& m = out.values;
  m["general.architecture"] = text("bert");
  m["bert.context_length"] = uint64_t{c.n_positions};
  m["bert.embedding_length"] = uint64_t{c.n_embd};
  m["bert.feed_forward_length"] = uint64_t{c.n_ff};
  m["bert.block_count"] = uint64_t{c.n_layer};
  m["bert.attention.head_count"] = uint64_t{c.n_head};
  m["bert.attention.layer_norm_epsilon"] = double{c.layer_norm_eps};
  m["bert.token_type_count"] = uint64_t{c.n_token_types};
  m["bert.pooling"] = text("mean");
  m["bert.normalize"] = c.normalize;
  m["bert.max_seq_length"] = uint64_t{c.max_seq_length};
  m["tokenizer.ggml.model"] = text("bert");
  const auto& tok = model.tokenizer();
  GgufArray tokens{GgufValueType::kString, tok.vocab_size(), {}, {}};
  for (size_t id = 0; id < tok.vocab_size(); ++id) tokens.strings.push_back(out.strings.emplace_back(tok.token(static_cast<int32_t>(id))));
  m["tokenizer.ggml.tokens"] = std::move(tokens);
  m["tokenizer.wordpiece.lowercase"] = tok.config().lowercase;
  m["tokenizer.wordpiece.strip_accents"] = tok.config().strip_accents;
  m["tokenizer.wordpiece.tokenize_chinese_chars"] = tok.config().tokenize_chinese_chars;
}

bool is_bert_package(const GgufFile& file) {
  return file.has("general.architecture") && file.get_string("general.architecture") == "bert";
}

bool is_bert_model_dir(const std::string& path) {
  if (std::filesystem::exists(std::filesystem::path(path) / "config.json")) return true;
  if (!is_package_dir(path)) return false;
  std::ifstream in(std::filesystem::path(path) / "manifest.json");
  try {
    const auto manifest = nlohmann::json::parse(in);
    return manifest.at("metadata").at("general.architecture").at("value") == "bert";
  } catch (const nlohmann::json::exception&) {
    return false;  // a broken manifest is the package loader's error to report
  }
}

BertConfig bert_config_from_metadata(const GgufFile& f) {
  auto positive = [&](const char* key) {
    const uint64_t v = f.get_uint(key);
    if (v == 0 || v > (1u << 24)) fail(ErrorKind::kFormat, f.path() + ": metadata '" + key + "' must be a positive integer");
    return static_cast<size_t>(v);
  };
  BertConfig c;
  c.n_positions = positive("bert.context_length");
  c.n_embd = positive("bert.embedding_length");
  c.n_ff = positive("bert.feed_forward_length");
  c.n_layer = positive("bert.block_count");
  c.n_head = positive("bert.attention.head_count");
  c.n_token_types = positive("bert.token_type_count");
  c.layer_norm_eps = static_cast<float>(f.get_float("bert.attention.layer_norm_epsilon"));
  c.max_seq_length = std::min(positive("bert.max_seq_length"), c.n_positions);
  c.normalize = f.get_bool("bert.normalize");
  if (f.get_string("bert.pooling") != "mean") fail(ErrorKind::kFormat, f.path() + ": metadata 'bert.pooling': only \"mean\" is supported");
  if (c.n_embd % c.n_head != 0) fail(ErrorKind::kFormat, f.path() + ": bert.attention.head_count does not divide bert.embedding_length");
  if (f.get_string("tokenizer.ggml.model") != "bert") {
    fail(ErrorKind::kFormat, f.path() + ": metadata 'tokenizer.ggml.model' is not \"bert\" (WordPiece)");
  }
  c.n_vocab = f.get_array("tokenizer.ggml.tokens").count;
  return c;
}

tok::WordPieceConfig wordpiece_config_from_metadata(const GgufFile& f) {
  tok::WordPieceConfig wp;
  wp.lowercase = f.get_bool("tokenizer.wordpiece.lowercase");
  wp.strip_accents = f.get_bool("tokenizer.wordpiece.strip_accents");
  wp.tokenize_chinese_chars = f.get_bool("tokenizer.wordpiece.tokenize_chinese_chars");
  return wp;
}

std::vector<std::string> wordpiece_vocab_from_metadata(const GgufFile& f) {
  const auto& a = f.get_array("tokenizer.ggml.tokens");
  if (a.elem_type != GgufValueType::kString) fail(ErrorKind::kFormat, f.path() + ": metadata 'tokenizer.ggml.tokens' is not a string array");
  return {a.strings.begin(), a.strings.end()};
}

}  // namespace webaccel

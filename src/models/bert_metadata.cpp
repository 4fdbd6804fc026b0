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

bool is_bert_model(const std::string& path) {
  if (is_bert_model_dir(path)) return true;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  try {
    return is_bert_package(GgufFile(path));
  } catch (const Error&) {
    return false;  // not a GGUF file: the llama loader reports why
  }
}

bool has_llama_cpp_bert_metadata(const GgufFile& file) { return !file.has("bert.pooling"); }

namespace {

size_t positive_key(const GgufFile& f, const char* key) {
  const uint64_t v = f.get_uint(key);
  if (v == 0 || v > (1u << 24)) fail(ErrorKind::kFormat, f.path() + ": metadata '" + key + "' must be a positive integer");
  return static_cast<size_t>(v);
}

// The sizes both layouts (webaccel packages, llama.cpp GGUFs) keep under the same keys.
BertConfig shared_bert_sizes(const GgufFile& f) {
  auto positive = [&](const char* key) { return positive_key(f, key); };
  BertConfig c;
  c.n_positions = positive("bert.context_length");
  c.n_embd = positive("bert.embedding_length");
  c.n_ff = positive("bert.feed_forward_length");
  c.n_layer = positive("bert.block_count");
  c.n_head = positive("bert.attention.head_count");
  c.layer_norm_eps = static_cast<float>(f.get_float("bert.attention.layer_norm_epsilon"));
  return c;
}

BertConfig llama_cpp_bert_config(const GgufFile& f) {
  auto positive = [&](const char* key) { return positive_key(f, key); };
  BertConfig c = shared_bert_sizes(f);
  if (f.find_bool("bert.attention.causal").value_or(false)) {
    fail(ErrorKind::kFormat, f.path() + ": metadata 'bert.attention.causal' is true: only bidirectional encoders are supported");
  }
  if (f.has("bert.pooling_type") && f.get_float("bert.pooling_type") != 1.0) {
    fail(ErrorKind::kFormat, f.path() + ": metadata 'bert.pooling_type' is " + gguf_value_to_string(f.metadata().at("bert.pooling_type")) +
                                 ": only mean pooling (1) is supported");
  }
  if (f.has("tokenizer.ggml.token_type_count")) {
    c.n_token_types = positive("tokenizer.ggml.token_type_count");
  } else if (const auto* t = f.find_tensor("token_types.weight"); t && t->shape.size() == 2 && t->shape[1] > 0) {
    c.n_token_types = static_cast<size_t>(t->shape[1]);
  } else {
    fail(ErrorKind::kFormat, f.path() + ": metadata 'tokenizer.ggml.token_type_count' is missing (and so is tensor 'token_types.weight')");
  }
  c.max_seq_length = c.n_positions;
  c.normalize = true;
  return c;
}

}  // namespace

BertConfig bert_config_from_metadata(const GgufFile& f) {
  if (!is_bert_package(f)) fail(ErrorKind::kFormat, f.path() + ": metadata 'general.architecture' is not \"bert\"");
  if (f.get_string("tokenizer.ggml.model") != "bert") {
    fail(ErrorKind::kFormat, f.path() + ": metadata 'tokenizer.ggml.model' is not \"bert\" (WordPiece)");
  }
  if (has_llama_cpp_bert_metadata(f)) {
    BertConfig c = llama_cpp_bert_config(f);
    if (c.n_embd % c.n_head != 0) fail(ErrorKind::kFormat, f.path() + ": bert.attention.head_count does not divide bert.embedding_length");
    c.n_vocab = f.get_array("tokenizer.ggml.tokens").count;
    return c;
  }
  auto positive = [&](const char* key) { return positive_key(f, key); };
  BertConfig c = shared_bert_sizes(f);
  c.n_token_types = positive("bert.token_type_count");
  c.max_seq_length = std::min(positive("bert.max_seq_length"), c.n_positions);
  c.normalize = f.get_bool("bert.normalize");
  if (f.get_string("bert.pooling") != "mean") fail(ErrorKind::kFormat, f.path() + ": metadata 'bert.pooling': only \"mean\" is supported");
  if (c.n_embd % c.n_head != 0) fail(ErrorKind::kFormat, f.path() + ": bert.attention.head_count does not divide bert.embedding_length");
  c.n_vocab = f.get_array("tokenizer.ggml.tokens").count;
  return c;
}

tok::WordPieceConfig wordpiece_config_from_metadata(const GgufFile& f) {
  tok::WordPieceConfig wp;
  if (has_llama_cpp_bert_metadata(f)) {
    // llama.cpp's WordPiece always lowercases, strips accents and splits CJK characters; the
    // special tokens are named by id.
    const auto vocab = wordpiece_vocab_from_metadata(f);
    auto special = [&](const char* key, std::string& text) {
      const auto id = f.find_uint(key);
      if (!id) return;
      if (*id >= vocab.size()) fail(ErrorKind::kFormat, f.path() + ": metadata '" + key + "' is out of the vocabulary");
      text = vocab[*id];
    };
    special("tokenizer.ggml.bos_token_id", wp.cls);
    special("tokenizer.ggml.seperator_token_id", wp.sep);
    special("tokenizer.ggml.unknown_token_id", wp.unk);
    special("tokenizer.ggml.padding_token_id", wp.pad);
    special("tokenizer.ggml.mask_token_id", wp.mask);
    return wp;
  }
  wp.lowercase = f.get_bool("tokenizer.wordpiece.lowercase");
  wp.strip_accents = f.get_bool("tokenizer.wordpiece.strip_accents");
  wp.tokenize_chinese_chars = f.get_bool("tokenizer.wordpiece.tokenize_chinese_chars");
  return wp;
}

std::vector<std::string> wordpiece_vocab_from_metadata(const GgufFile& f) {
  const auto& a = f.get_array("tokenizer.ggml.tokens");
  if (a.elem_type != GgufValueType::kString) fail(ErrorKind::kFormat, f.path() + ": metadata 'tokenizer.ggml.tokens' is not a string array");
  std::vector<std::string> vocab(a.strings.begin(), a.strings.end());
  if (!has_llama_cpp_bert_metadata(f)) return vocab;
  // Back from llama.cpp's phantom-space form to vocab.txt's: "\u2581word" -> "word", "piece" -> "##piece",
  // control tokens ([CLS], ...) as they are. Without token types, "[...]" tokens count as control.
  std::vector<int64_t> types;
  if (f.has("tokenizer.ggml.token_type")) {
    types = f.get_int_array("tokenizer.ggml.token_type");
    if (types.size() != vocab.size()) {
      fail(ErrorKind::kFormat, f.path() + ": metadata 'tokenizer.ggml.token_type' has " + std::to_string(types.size()) +
                                   " entries for " + std::to_string(vocab.size()) + " tokens");
    }
  }
  static constexpr std::string_view kPhantom = "\xE2\x96\x81";  // U+2581
  constexpr int64_t kControl = 3;                                  // llama_token_type
  for (size_t i = 0; i < vocab.size(); ++i) {
    std::string& t = vocab[i];
    const bool control = types.empty() ? (t.size() > 2 && t.front() == '[' && t.back() == ']') : types[i] == kControl;
    if (control) continue;
    t = t.starts_with(kPhantom) ? t.substr(kPhantom.size()) : "##" + t;
  }
  return vocab;
}

}  // namespace webaccel

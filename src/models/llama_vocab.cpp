#include "models/llama_vocab.h"

#include "core/error.h"

namespace webaccel {

tok::BpeVocab bpe_vocab_from_gguf(const GgufFile& g) {
  const std::string model = g.get_string("tokenizer.ggml.model");
  if (model != "gpt2") {
    fail(ErrorKind::kFormat, g.path() + ": tokenizer.ggml.model '" + model + "' is not supported (only 'gpt2' byte-level BPE)");
  }
  tok::BpeVocab v;
  const auto& tokens = g.get_array("tokenizer.ggml.tokens");
  if (tokens.strings.size() != tokens.count) fail(ErrorKind::kFormat, g.path() + ": tokenizer.ggml.tokens is not a string array");
  v.tokens.assign(tokens.strings.begin(), tokens.strings.end());
  const auto& merges = g.get_array("tokenizer.ggml.merges");
  if (merges.strings.size() != merges.count) fail(ErrorKind::kFormat, g.path() + ": tokenizer.ggml.merges is not a string array");
  v.merges.assign(merges.strings.begin(), merges.strings.end());
  if (g.has("tokenizer.ggml.token_type")) {
    for (int64_t t : g.get_int_array("tokenizer.ggml.token_type")) v.token_types.push_back(static_cast<int32_t>(t));
  }
  v.pre = g.has("tokenizer.ggml.pre") ? g.get_string("tokenizer.ggml.pre") : "default";
  auto id = [&](const char* key) { return g.has(key) ? static_cast<int32_t>(g.get_uint(key)) : -1; };
  v.bos_id = id("tokenizer.ggml.bos_token_id");
  v.eos_id = id("tokenizer.ggml.eos_token_id");
  v.unk_id = id("tokenizer.ggml.unknown_token_id");
  v.pad_id = id("tokenizer.ggml.padding_token_id");
  v.add_bos = g.find_bool("tokenizer.ggml.add_bos_token").value_or(false);
  return v;
}

}  // namespace webaccel

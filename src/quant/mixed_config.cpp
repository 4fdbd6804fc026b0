#include "quant/mixed_config.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace webaccel::quant {
namespace {

// The guide's component names as globs over llama (GGUF) and bert (safetensors) tensor names.
const std::map<std::string, std::vector<std::string>>& guide_keys() {
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"embedding", {"token_embd.weight", "*embeddings.word_embeddings.weight", "*embeddings.position_embeddings.weight",
                     "*embeddings.token_type_embeddings.weight"}},
      {"attention.query", {"blk.*.attn_q.weight", "*attention.self.query.weight"}},
      {"attention.key", {"blk.*.attn_k.weight", "*attention.self.key.weight"}},
      {"attention.value", {"blk.*.attn_v.weight", "*attention.self.value.weight"}},
      {"attention.output", {"blk.*.attn_output.weight", "*attention.output.dense.weight"}},
      {"attention", {"blk.*.attn_*.weight", "*attention.self.*.weight", "*attention.output.dense.weight"}},
      {"feed_forward", {"blk.*.ffn_gate.weight", "blk.*.ffn_up.weight", "blk.*.ffn_down.weight",
                        "*intermediate.dense.weight", "*output.dense.weight"}},
      {"layer_norm", {"*_norm.weight", "*LayerNorm.weight"}},
      {"lm_head", {"output.weight"}},
  };
  return keys;
}

}  // namespace

bool glob_match(const std::string& pattern, const std::string& name) {
  // Iterative '*' matcher: backtracks only to the last star.
  size_t p = 0, n = 0, star = std::string::npos, mark = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == name[n] || pattern[p] == '?')) {
      ++p, ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

MixedConfig load_mixed_config(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(ErrorKind::kIo, path + ": cannot open");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::kFormat, path + ": invalid JSON: " + e.what());
  }
  if (!j.is_object() || j.empty()) fail(ErrorKind::kFormat, path + ": expected an object of pattern -> bits");
  MixedConfig cfg;
  for (const auto& [key, v] : j.items()) {
    if (!v.is_number_integer()) fail(ErrorKind::kFormat, path + ": key '" + key + "': bits must be an integer");
    const int bits = v.get<int>();
    if (bits != 2 && bits != 3 && bits != 4 && bits != 8 && bits != 16 && bits != 32) {
      fail(ErrorKind::kFormat, path + ": key '" + key + "': " + std::to_string(bits) + " bits is not one of 2, 3, 4, 8 (16/32 keep floats)");
    }
    cfg.bits_by_key[key] = bits;
  }
  return cfg;
}

std::map<std::string, int> resolve_mixed_config(const MixedConfig& cfg, const std::vector<std::string>& names,
                                                bool tied_embeddings, const std::string& source) {
  std::map<std::string, int> out;
  // Broad keys first, specific ones after, so "attention.query" refines "attention".
  std::vector<std::string> order;
  for (const char* k : {"attention", "feed_forward", "layer_norm", "embedding", "attention.query", "attention.key",
                        "attention.value", "attention.output", "lm_head"}) {
    if (cfg.bits_by_key.count(k)) order.push_back(k);
  }
  for (const auto& [k, _] : cfg.bits_by_key) {
    if (!guide_keys().count(k)) order.push_back(k);  // globs last: the most specific
  }
  for (const auto& key : order) {
    const int bits = cfg.bits_by_key.at(key);
    std::vector<std::string> patterns = guide_keys().count(key) ? guide_keys().at(key) : std::vector<std::string>{key};
    if (key == "lm_head" && tied_embeddings) patterns.push_back("token_embd.weight");  // the head is the embedding
    size_t matched = 0;
    for (const auto& name : names) {
      for (const auto& pat : patterns) {
        if (glob_match(pat, name)) {
          out[name] = bits;
          ++matched;
          break;
        }
      }
    }
    if (matched == 0) fail(ErrorKind::kInput, source + ": config key '" + key + "' matches no tensor of this model");
  }
  return out;
}

}  // namespace webaccel::quant

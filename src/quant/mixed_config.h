// Per-tensor bit widths from a config in the guide's shape, e.g.
//   {"embedding": 8, "attention.query": 3, "attention.key": 3, "attention.value": 3,
//    "feed_forward": 2, "layer_norm": 8, "lm_head": 4}
// Keys are the guide's names (mapped onto llama and bert tensor names) or globs over tensor names
// ("blk.*.ffn_down.weight"). Every key must match at least one tensor.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace webaccel::quant {

struct MixedConfig {
  std::map<std::string, int> bits_by_key;
};

MixedConfig load_mixed_config(const std::string& path);  // Error naming the file and key

// Tensor name -> bits for every tensor a key matches (later keys in the guide order win, lm_head
// over embedding for tied embeddings). Error naming the key that matches nothing.
std::map<std::string, int> resolve_mixed_config(const MixedConfig& cfg, const std::vector<std::string>& tensor_names,
                                                bool tied_embeddings, const std::string& source);

bool glob_match(const std::string& pattern, const std::string& name);

}  // namespace webaccel::quant

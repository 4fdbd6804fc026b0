// A BERT encoder's settings as package metadata (GGUF-style keys, as llama packages carry theirs):
//
//   general.architecture                  "bert"
//   bert.context_length                   max_position_embeddings
//   bert.embedding_length                 hidden_size
//   bert.feed_forward_length              intermediate_size
//   bert.block_count                      num_hidden_layers
//   bert.attention.head_count             num_attention_heads
//   bert.attention.layer_norm_epsilon     layer_norm_eps
//   bert.token_type_count                 type_vocab_size
//   bert.pooling                          "mean" (the only pooling sentence embeddings use here)
//   bert.normalize                        L2 normalisation after pooling
//   bert.max_seq_length                   sentence-transformers truncation
//   tokenizer.ggml.model                  "bert" (WordPiece)
//   tokenizer.ggml.tokens                 the vocabulary, id = index
//   tokenizer.wordpiece.lowercase, .strip_accents, .tokenize_chinese_chars
#pragma once

#include <deque>
#include <map>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "models/bert.h"

namespace webaccel {

// Metadata values view their strings; this keeps them alive.
struct BertPackageMetadata {
  std::deque<std::string> strings;
  std::map<std::string, GgufValue, std::less<>> values;
};

void bert_package_metadata(const BertModel& model, BertPackageMetadata& out);

bool is_bert_package(const GgufFile& file);  // general.architecture == "bert"
// A sentence-transformers folder (config.json) or a package whose manifest names the bert
// architecture; reads only the manifest, no shard.
bool is_bert_model_dir(const std::string& path);

// Errors name the manifest and the key.
BertConfig bert_config_from_metadata(const GgufFile& file);
tok::WordPieceConfig wordpiece_config_from_metadata(const GgufFile& file);
std::vector<std::string> wordpiece_vocab_from_metadata(const GgufFile& file);

}  // namespace webaccel

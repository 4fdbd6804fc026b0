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
//
// llama.cpp's BERT GGUF files (its convert_hf_to_gguf.py, and quantizations of them) share
// general.architecture "bert" and the bert.* shape keys, and differ in the rest:
//
//   bert.pooling_type                     1 = mean (llama_pooling_type); absent reads as mean
//   bert.attention.causal                 must be false when present
//   tokenizer.ggml.token_type_count       type_vocab_size (else the token_types tensor's rows)
//   tokenizer.ggml.tokens                 phantom-space WordPiece: a word-start piece is stored
//                                         with U+2581 in front, a "##x" piece as "x", special
//                                         (control, tokenizer.ggml.token_type 3) tokens as they are
//   tokenizer.ggml.{bos,seperator,unknown,padding,mask}_token_id   [CLS], [SEP], [UNK], [PAD], [MASK]
//
// no normalize or max_seq_length keys (embeddings are normalised, as llama.cpp's embedding tools
// do by default; sequences may use every position), and lowercase + accent stripping + CJK
// splitting, which llama.cpp's WordPiece tokenizer always applies. Their tensors have llama.cpp's
// names (token_embd.weight, blk.<i>.attn_q.weight, ...: see BertTensorNames in bert.cpp).
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
// is_bert_model_dir, or a GGUF file whose general.architecture is "bert" (llama.cpp's BERT files).
bool is_bert_model(const std::string& path);
// Whether a bert file's metadata follows llama.cpp's convention (it has no bert.pooling key).
bool has_llama_cpp_bert_metadata(const GgufFile& file);

// Errors name the manifest and the key.
BertConfig bert_config_from_metadata(const GgufFile& file);
tok::WordPieceConfig wordpiece_config_from_metadata(const GgufFile& file);
std::vector<std::string> wordpiece_vocab_from_metadata(const GgufFile& file);

}  // namespace webaccel

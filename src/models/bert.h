// BERT encoders for sentence embeddings (all-MiniLM-L6-v2) from a sentence-transformers folder
// (config.json + model.safetensors + vocab.txt), a webaccel package of it (`webaccel quantize`), or
// llama.cpp's BERT GGUF file of it (convert_hf_to_gguf.py's names and keys, any of llama.cpp's
// quantizations: models/bert_metadata.h); mean pooling and L2 normalisation.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/matmul.h"
#include "cpu/packed_f32.h"
#include "models/bert_weights.h"
#include "tokenizer/wordpiece_tokenizer.h"

namespace webaccel {

struct BertConfig {
  size_t n_vocab = 0;
  size_t n_embd = 0;        // hidden_size
  size_t n_layer = 0;
  size_t n_head = 0;
  size_t n_ff = 0;          // intermediate_size
  size_t n_positions = 0;   // max_position_embeddings
  size_t n_token_types = 0;
  float layer_norm_eps = 1e-12f;
  size_t max_seq_length = 256;  // sentence-transformers truncation
  bool normalize = true;        // a Normalize module follows pooling
};

struct BertLayer {
  std::string prefix;                 // "[bert.]encoder.layer.<i>.", or llama.cpp's "blk.<i>."
  cpu::WeightMatrix wq, wk, wv;       // (n_embd, n_embd) each
  std::vector<float> bq, bk, bv;      // (n_embd)
  cpu::WeightMatrix wo;               // (n_embd, n_embd)
  std::vector<float> bo;              // (n_embd)
  std::vector<float> ln1_w, ln1_b;    // (n_embd) after attention
  cpu::WeightMatrix w_in;             // (n_ff, n_embd)
  std::vector<float> b_in;            // (n_ff)
  cpu::WeightMatrix w_out;            // (n_embd, n_ff)
  std::vector<float> b_out;           // (n_embd)
  std::vector<float> ln2_w, ln2_b;    // (n_embd) after the feed-forward
};

// A layer's F32 matrices packed for the outer-product kernel, biases inside; empty where the
// layer's matrices are not F32 (embed_tokens then takes the generic matmul).
struct BertPackedLayer {
  cpu::PackedF32Matrix qkv;   // (3 n_embd, n_embd): Q, K, V stacked
  cpu::PackedF32Matrix wo;    // (n_embd, n_embd)
  cpu::PackedF32Matrix w_in;  // (n_ff, n_embd)
  cpu::PackedF32Matrix w_out; // (n_embd, n_ff)
};

// A sentence-transformers folder already in memory (a browser host fetched it): its text files by
// relative path (config.json and vocab.txt required; sentence_bert_config.json,
// 1_Pooling/config.json, modules.json, tokenizer_config.json optional) and model.safetensors.
struct BertFiles {
  std::string dir;                            // names the folder in errors: a path or a URL
  std::map<std::string, std::string> texts;
  MappedFile weights;
};

class BertModel {
 public:
  // A folder, a package or a GGUF file; errors name the file and field or tensor.
  explicit BertModel(const std::string& path);
  explicit BertModel(BertFiles files);         // the same checks over files already in memory
  explicit BertModel(std::shared_ptr<const GgufFile> package);  // a package or GGUF file already opened (a browser host)

  const BertConfig& config() const { return cfg_; }
  const tok::WordPieceTokenizer& tokenizer() const { return *tokenizer_; }
  const BertWeights& weights() const { return *weights_; }
  // Every tensor the graph reads, in load order (the unused pooler is not among them).
  const std::vector<std::string>& tensor_names() const { return tensor_names_; }
  // Whether the tensors have llama.cpp's names (token_embd.weight, blk.<i>.attn_q.weight, ...).
  bool llama_cpp_names() const { return llama_cpp_names_; }

  // The graph's weights, for other backends (the GPU forward).
  const std::vector<BertLayer>& layers() const { return layers_; }
  const cpu::WeightMatrix& word_embedding() const { return word_embd_; }          // (n_vocab, n_embd)
  const float* position_embeddings() const { return pos_embd_; }                // (n_positions, n_embd)
  const std::vector<float>& token_type0_embedding() const { return type_embd0_; }  // (n_embd)
  const std::vector<float>& embedding_norm_weight() const { return emb_ln_w_; }    // (n_embd)
  const std::vector<float>& embedding_norm_bias() const { return emb_ln_b_; }      // (n_embd)

  // One sentence -> (n_embd) pooled (and normalised) embedding.
  std::vector<float> embed(std::string_view text, ThreadPool& pool) const;
  std::vector<float> embed_tokens(std::span<const int32_t> ids, ThreadPool& pool) const;
  // Several sentences -> one embedding each, the same floats embed_tokens gives: their tokens
  // stacked as the rows of shared forwards (attention within each sentence, no padding), as few
  // of at most max_tokens tokens as fit, of about equal size (a longer sentence goes alone). Each
  // product's weights are then read once a forward instead of once a sentence, and its register
  // tiles run full.
  static constexpr size_t kBatchTokens = 512;
  std::vector<std::vector<float>> embed_batch(std::span<const std::vector<int32_t>> sentences, ThreadPool& pool,
                                              size_t max_tokens = kBatchTokens) const;

  // The matrices by tensor name (the word, position and token-type embeddings included), for
  // quantization; replace_matrix points one at other bytes of the same shape that the caller keeps alive.
  std::vector<std::string> matrix_names() const;
  const cpu::WeightMatrix& matrix_by_name(const std::string& name) const;
  void replace_matrix(const std::string& name, const cpu::WeightMatrix& m);

 private:
  void load_folder(BertFiles files);
  void load_package(std::shared_ptr<const GgufFile> file);
  void bind_weights();  // cfg_ and weights_ set: finds, checks and points at every tensor
  void expand_embeddings();  // position and token-type rows as floats, whatever their stored type
  void pack_layer(size_t il);  // packed_[il] from layers_[il]'s matrices as they are now
  // The encoder over sentences stacked as rows; appends their embeddings to out.
  void forward(std::span<const std::span<const int32_t>> sentences, ThreadPool& pool, std::vector<std::vector<float>>& out) const;
  const BertTensor& require(const std::string& name) const;  // Error naming the file and tensor
  cpu::WeightMatrix matrix(const std::string& name, size_t rows, size_t cols);
  std::vector<float> vector(const std::string& name, size_t n);
  // Names in this model's convention, from the Hugging Face stem ("embeddings.LayerNorm",
  // "attention.self.query") and kind ("weight", "bias").
  std::string embedding_name(const std::string& hf_stem, const char* kind) const;
  std::string layer_prefix(size_t il) const;
  std::string layer_name(size_t il, const std::string& hf_stem, const char* kind) const;

  BertConfig cfg_;
  std::unique_ptr<BertWeights> weights_;
  std::unique_ptr<tok::WordPieceTokenizer> tokenizer_;
  std::vector<std::string> tensor_names_;
  std::string config_source_ = "config.json";  // where the shapes come from, for errors
  bool llama_cpp_names_ = false;
  std::string hf_prefix_;                  // "bert." when an export prefixes every tensor
  std::string word_embd_name_, pos_embd_name_, type_embd_name_;
  cpu::WeightMatrix word_embd_;           // (n_vocab, n_embd), rows dequantized on lookup
  cpu::WeightMatrix pos_embd_matrix_;     // (n_positions, n_embd) as stored
  cpu::WeightMatrix type_embd_matrix_;    // (n_token_types, n_embd) as stored
  const float* pos_embd_ = nullptr;       // (n_positions, n_embd)
  std::vector<float> pos_embd_f32_;       // (n_positions, n_embd) when stored quantized
  std::vector<float> type_embd0_;         // (n_embd) token type 0
  std::vector<float> emb_ln_w_, emb_ln_b_;
  std::vector<BertLayer> layers_;
  std::vector<BertPackedLayer> packed_;  // (n_layer)
  std::vector<std::vector<float>> owned_;  // matrices copied because their data was misaligned
};

}  // namespace webaccel

#include "models/bert.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "cpu/kernels.h"
#include "cpu/matmul.h"
#include "cpu/quant_blocks.h"
#include "format/package.h"
#include "models/bert_metadata.h"

namespace webaccel {
namespace {

// A missing optional file reads as an empty object, as sentence-transformers treats it.
nlohmann::json read_json(const BertFiles& files, const std::string& name, bool required) {
  const std::string path = files.dir + "/" + name;
  const auto it = files.texts.find(name);
  if (it == files.texts.end()) {
    if (required) fail(ErrorKind::kIo, path + ": cannot open");
    return nlohmann::json::object();
  }
  try {
    return nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::kFormat, path + ": invalid JSON: " + e.what());
  }
}

// One token per line, as WordPieceTokenizer::from_vocab_file reads it; errors name the file.
tok::WordPieceTokenizer vocab_from_text(const BertFiles& files, tok::WordPieceConfig cfg) {
  const std::string path = files.dir + "/vocab.txt";
  const auto it = files.texts.find("vocab.txt");
  if (it == files.texts.end()) fail(ErrorKind::kIo, path + ": cannot open WordPiece vocabulary");
  std::vector<std::string> vocab;
  std::istringstream in(it->second);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab.push_back(line);
  }
  try {
    return tok::WordPieceTokenizer(std::move(vocab), std::move(cfg));
  } catch (const Error& e) {
    fail(e.kind(), path + ": " + e.what());
  }
}

// Reads the folder's text files (config.json first, so its absence is the error reported) and maps the weights.
BertFiles read_folder(const std::string& dir) {
  std::map<std::string, std::string> texts;
  for (const char* name : {"config.json", "sentence_bert_config.json", "1_Pooling/config.json", "modules.json",
                           "tokenizer_config.json", "vocab.txt"}) {
    std::ifstream in(dir + "/" + name, std::ios::binary);
    if (!in) {
      if (texts.empty()) fail(ErrorKind::kIo, dir + "/" + name + ": cannot open");
      continue;
    }
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) fail(ErrorKind::kIo, dir + "/" + name + ": read error");
    texts.emplace(name, content.str());
  }
  return BertFiles{dir, std::move(texts), MappedFile(dir + "/model.safetensors")};
}

size_t positive_field(const nlohmann::json& j, const std::string& path, const char* key) {
  if (!j.contains(key) || !j[key].is_number_unsigned() || j[key].get<uint64_t>() == 0 || j[key].get<uint64_t>() > (1u << 24)) {
    fail(ErrorKind::kFormat, path + ": field '" + key + "' is missing or not a positive integer");
  }
  return j[key].get<size_t>();
}

// Hugging Face BERT tensor stems and llama.cpp's names for them (gguf-py's tensor_mapping for
// MODEL_ARCH.BERT, as convert_hf_to_gguf.py writes them).
struct NamePair {
  std::string_view hf, llama_cpp;
};
constexpr NamePair kEmbeddingNames[] = {{"embeddings.word_embeddings", "token_embd"},
                                        {"embeddings.position_embeddings", "position_embd"},
                                        {"embeddings.token_type_embeddings", "token_types"},
                                        {"embeddings.LayerNorm", "token_embd_norm"}};
constexpr NamePair kLayerNames[] = {{"attention.self.query", "attn_q"},
                                    {"attention.self.key", "attn_k"},
                                    {"attention.self.value", "attn_v"},
                                    {"attention.output.dense", "attn_output"},
                                    {"attention.output.LayerNorm", "attn_output_norm"},
                                    {"intermediate.dense", "ffn_up"},
                                    {"output.dense", "ffn_down"},
                                    {"output.LayerNorm", "layer_output_norm"}};

std::string_view llama_cpp_stem(std::span<const NamePair> table, std::string_view hf) {
  for (const auto& p : table) {
    if (p.hf == hf) return p.llama_cpp;
  }
  fail(ErrorKind::kInternal, "no llama.cpp name for BERT tensor '" + std::string(hf) + "'");
}

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

std::string BertModel::embedding_name(const std::string& hf_stem, const char* kind) const {
  if (llama_cpp_names_) return std::string(llama_cpp_stem(kEmbeddingNames, hf_stem)) + "." + kind;
  return hf_prefix_ + hf_stem + "." + kind;
}

std::string BertModel::layer_prefix(size_t il) const {
  return llama_cpp_names_ ? "blk." + std::to_string(il) + "." : hf_prefix_ + "encoder.layer." + std::to_string(il) + ".";
}

std::string BertModel::layer_name(size_t il, const std::string& hf_stem, const char* kind) const {
  return layer_prefix(il) + std::string(llama_cpp_names_ ? llama_cpp_stem(kLayerNames, hf_stem) : hf_stem) + "." + kind;
}

const BertTensor& BertModel::require(const std::string& name) const {
  if (const auto* t = weights_->find(name)) return *t;
  if (llama_cpp_names_) {
    fail(ErrorKind::kFormat, weights_->path() + ": tensor '" + name + "' is missing (a BERT GGUF in llama.cpp's layout needs " +
                                 "token_embd, position_embd, token_types, token_embd_norm and, per block, attn_q, attn_k, attn_v, " +
                                 "attn_output, attn_output_norm, ffn_up, ffn_down, layer_output_norm)");
  }
  return weights_->tensor(name);  // names the file, and an unsupported dtype if that is why
}

cpu::WeightMatrix BertModel::matrix(const std::string& name, size_t rows, size_t cols) {
  const auto& t = require(name);
  if (t.shape.size() != 2 || t.shape[0] != rows || t.shape[1] != cols) {
    fail(ErrorKind::kFormat, weights_->path() + ": tensor '" + name + "': shape " + shape_string(t.shape) +
                                 " does not match " + config_source_ + " (expected [" + std::to_string(rows) + ", " +
                                 std::to_string(cols) + "])");
  }
  tensor_names_.push_back(name);
  if (t.type == GgmlType::kF32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
    return cpu::WeightMatrix{GgmlType::kF32, rows, cols, t.data, cols * sizeof(float)};
  }
  if (t.type != GgmlType::kF32 && t.type != GgmlType::kF16 && t.type != GgmlType::kBF16) {
    // Quantized as stored: a package's WQ/WK matrix or one of llama.cpp's types; the kernels read it as it is.
    if (!cpu::matmul_supported(t.type)) {
      fail(ErrorKind::kFormat, weights_->path() + ": tensor '" + name + "': type " + std::string(ggml_type_name(t.type)) +
                                   " is not supported for BERT matrices");
    }
    const auto traits = *ggml_type_traits(static_cast<uint32_t>(t.type));
    if (cols % traits.block_elems != 0) {
      fail(ErrorKind::kFormat, weights_->path() + ": tensor '" + name + "': rows of " + std::to_string(cols) + " weights are not whole " +
                                   std::string(ggml_type_name(t.type)) + " blocks");
    }
    return cpu::WeightMatrix{t.type, rows, cols, t.data, cols / traits.block_elems * traits.block_bytes};
  }
  // F16/BF16 or misaligned F32: keep one converted copy (the mapped bytes are then never read).
  owned_.push_back(weights_->to_f32(t));
  return cpu::WeightMatrix{GgmlType::kF32, rows, cols, reinterpret_cast<const uint8_t*>(owned_.back().data()),
                           cols * sizeof(float)};
}

std::vector<float> BertModel::vector(const std::string& name, size_t n) {
  const auto& t = require(name);
  if (t.shape.size() != 1 || t.shape[0] != n) {
    fail(ErrorKind::kFormat, weights_->path() + ": tensor '" + name + "': shape " + shape_string(t.shape) +
                                 " does not match " + config_source_ + " (expected [" + std::to_string(n) + "])");
  }
  tensor_names_.push_back(name);
  return weights_->to_f32(t);
}

BertModel::BertModel(const std::string& path) {
  std::error_code ec;
  if (is_package_dir(path)) {
    load_package(std::make_shared<const PackageFile>(path));  // verifies every tensor's checksum
  } else if (std::filesystem::is_regular_file(path, ec)) {
    load_package(std::make_shared<const GgufFile>(path));  // a GGUF file (llama.cpp's BERT layout)
  } else {
    load_folder(read_folder(path));
  }
}

BertModel::BertModel(BertFiles files) { load_folder(std::move(files)); }

BertModel::BertModel(std::shared_ptr<const GgufFile> package) { load_package(std::move(package)); }

void BertModel::load_package(std::shared_ptr<const GgufFile> file) {
  if (!is_bert_package(*file)) {
    fail(ErrorKind::kFormat, file->path() + ": not a BERT model (general.architecture is '" +
                                 (file->has("general.architecture") ? file->get_string("general.architecture") : "") + "')");
  }
  cfg_ = bert_config_from_metadata(*file);
  try {
    tokenizer_ = std::make_unique<tok::WordPieceTokenizer>(wordpiece_vocab_from_metadata(*file), wordpiece_config_from_metadata(*file));
  } catch (const Error& e) {
    fail(e.kind(), file->path() + ": tokenizer.ggml.tokens: " + e.what());
  }
  weights_ = std::make_unique<BertWeights>(file);
  const bool llama_cpp_metadata = has_llama_cpp_bert_metadata(*file);
  config_source_ = llama_cpp_metadata ? "the file's bert.* metadata" : "the manifest's bert.* metadata";
  // llama.cpp's names in its own files, and in packages quantized from them.
  llama_cpp_names_ = llama_cpp_metadata || weights_->find("token_embd.weight");
  if (llama_cpp_names_ && weights_->find("blk.0.attn_qkv.weight")) {
    fail(ErrorKind::kFormat, file->path() + ": tensor 'blk.0.attn_qkv.weight': fused Q/K/V is not supported "
                                            "(only separate attn_q, attn_k and attn_v, as llama.cpp's BERT converter writes them)");
  }
  bind_weights();
}

void BertModel::load_folder(BertFiles files) {
  const std::string& dir = files.dir;
  const std::string config_path = dir + "/config.json";
  const auto config = read_json(files, "config.json", true);
  if (config.value("model_type", "") != "bert") fail(ErrorKind::kFormat, config_path + ": model_type is not 'bert'");
  if (config.value("hidden_act", "gelu") != "gelu") {
    fail(ErrorKind::kFormat, config_path + ": hidden_act '" + config.value("hidden_act", "") + "' is not supported (only 'gelu')");
  }
  cfg_.n_vocab = positive_field(config, config_path, "vocab_size");
  cfg_.n_embd = positive_field(config, config_path, "hidden_size");
  cfg_.n_layer = positive_field(config, config_path, "num_hidden_layers");
  cfg_.n_head = positive_field(config, config_path, "num_attention_heads");
  cfg_.n_ff = positive_field(config, config_path, "intermediate_size");
  cfg_.n_positions = positive_field(config, config_path, "max_position_embeddings");
  cfg_.n_token_types = positive_field(config, config_path, "type_vocab_size");
  cfg_.layer_norm_eps = config.value("layer_norm_eps", 1e-12f);
  if (cfg_.n_embd % cfg_.n_head != 0) fail(ErrorKind::kFormat, config_path + ": num_attention_heads does not divide hidden_size");

  const auto st_config = read_json(files, "sentence_bert_config.json", false);
  cfg_.max_seq_length = std::min<size_t>(st_config.value("max_seq_length", cfg_.n_positions), cfg_.n_positions);
  const auto pooling = read_json(files, "1_Pooling/config.json", false);
  if (pooling.contains("pooling_mode_mean_tokens") && !pooling["pooling_mode_mean_tokens"].get<bool>()) {
    fail(ErrorKind::kFormat, dir + "/1_Pooling/config.json: only mean pooling is supported");
  }
  const auto modules = read_json(files, "modules.json", false);
  cfg_.normalize = !modules.is_array() || modules.empty();
  for (const auto& m : modules) {
    if (m.value("type", "").find("Normalize") != std::string::npos) cfg_.normalize = true;
  }

  const auto tok_config = read_json(files, "tokenizer_config.json", false);
  tok::WordPieceConfig wp;
  wp.lowercase = tok_config.value("do_lower_case", true);
  // HF BertTokenizer: strip_accents null means "follow lowercase".
  wp.strip_accents = tok_config.contains("strip_accents") && tok_config["strip_accents"].is_boolean()
                         ? tok_config["strip_accents"].get<bool>() : wp.lowercase;
  wp.tokenize_chinese_chars = tok_config.value("tokenize_chinese_chars", true);
  tokenizer_ = std::make_unique<tok::WordPieceTokenizer>(vocab_from_text(files, wp));
  if (tokenizer_->vocab_size() != cfg_.n_vocab) {
    fail(ErrorKind::kFormat, dir + "/vocab.txt: " + std::to_string(tokenizer_->vocab_size()) +
                                 " tokens, but config.json says vocab_size " + std::to_string(cfg_.n_vocab));
  }

  weights_ = std::make_unique<BertWeights>(std::move(files.weights));
  bind_weights();
}

void BertModel::expand_embeddings() {
  const size_t d = cfg_.n_embd;
  if (pos_embd_matrix_.type == GgmlType::kF32) {
    pos_embd_ = reinterpret_cast<const float*>(pos_embd_matrix_.data);
  } else {
    pos_embd_f32_.resize(cfg_.n_positions * d);
    for (size_t r = 0; r < cfg_.n_positions; ++r) {
      cpu::reference::dequantize_row(pos_embd_matrix_.type, pos_embd_matrix_.row(r), pos_embd_f32_.data() + r * d, d);
    }
    pos_embd_ = pos_embd_f32_.data();
  }
  type_embd0_.resize(d);
  cpu::reference::dequantize_row(type_embd_matrix_.type, type_embd_matrix_.row(0), type_embd0_.data(), d);
}

void BertModel::bind_weights() {
  const size_t d = cfg_.n_embd;
  // Some exports prefix every tensor with "bert."; accept both.
  if (!llama_cpp_names_) hf_prefix_ = weights_->find("bert.embeddings.word_embeddings.weight") ? "bert." : "";
  word_embd_name_ = embedding_name("embeddings.word_embeddings", "weight");
  pos_embd_name_ = embedding_name("embeddings.position_embeddings", "weight");
  type_embd_name_ = embedding_name("embeddings.token_type_embeddings", "weight");
  word_embd_ = matrix(word_embd_name_, cfg_.n_vocab, d);
  pos_embd_matrix_ = matrix(pos_embd_name_, cfg_.n_positions, d);
  type_embd_matrix_ = matrix(type_embd_name_, cfg_.n_token_types, d);
  expand_embeddings();
  emb_ln_w_ = vector(embedding_name("embeddings.LayerNorm", "weight"), d);
  emb_ln_b_ = vector(embedding_name("embeddings.LayerNorm", "bias"), d);
  for (size_t il = 0; il < cfg_.n_layer; ++il) {
    auto w = [&](const char* stem) { return layer_name(il, stem, "weight"); };
    auto b = [&](const char* stem) { return layer_name(il, stem, "bias"); };
    BertLayer L;
    L.prefix = layer_prefix(il);
    L.wq = matrix(w("attention.self.query"), d, d);
    L.bq = vector(b("attention.self.query"), d);
    L.wk = matrix(w("attention.self.key"), d, d);
    L.bk = vector(b("attention.self.key"), d);
    L.wv = matrix(w("attention.self.value"), d, d);
    L.bv = vector(b("attention.self.value"), d);
    L.wo = matrix(w("attention.output.dense"), d, d);
    L.bo = vector(b("attention.output.dense"), d);
    L.ln1_w = vector(w("attention.output.LayerNorm"), d);
    L.ln1_b = vector(b("attention.output.LayerNorm"), d);
    L.w_in = matrix(w("intermediate.dense"), cfg_.n_ff, d);
    L.b_in = vector(b("intermediate.dense"), cfg_.n_ff);
    L.w_out = matrix(w("output.dense"), d, cfg_.n_ff);
    L.b_out = vector(b("output.dense"), d);
    L.ln2_w = vector(w("output.LayerNorm"), d);
    L.ln2_b = vector(b("output.LayerNorm"), d);
    layers_.push_back(std::move(L));
    pack_layer(il);
  }
}

void BertModel::pack_layer(size_t il) {
  const BertLayer& L = layers_[il];
  const cpu::WeightMatrix* qkv[] = {&L.wq, &L.wk, &L.wv};
  const std::vector<float>* qkv_bias[] = {&L.bq, &L.bk, &L.bv};
  auto one = [](const cpu::WeightMatrix& w, const std::vector<float>& b) {
    const cpu::WeightMatrix* m[] = {&w};
    const std::vector<float>* bias[] = {&b};
    return cpu::pack_f32_rows(m, bias);
  };
  packed_.resize(layers_.size());
  packed_[il] = BertPackedLayer{cpu::pack_f32_rows(qkv, qkv_bias), one(L.wo, L.bo), one(L.w_in, L.b_in), one(L.w_out, L.b_out)};
}

namespace {
// The six matrices of a layer, by Hugging Face stem, in matrix_names() order.
const char* const kLayerMatrices[] = {"attention.self.query", "attention.self.key", "attention.self.value",
                                      "attention.output.dense", "intermediate.dense", "output.dense"};
cpu::WeightMatrix* bert_layer_matrix(BertLayer& L, size_t index) {
  cpu::WeightMatrix* all[] = {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_in, &L.w_out};
  return all[index];
}
}  // namespace

std::vector<std::string> BertModel::matrix_names() const {
  std::vector<std::string> names{word_embd_name_, pos_embd_name_, type_embd_name_};
  for (size_t il = 0; il < layers_.size(); ++il) {
    for (const char* m : kLayerMatrices) names.push_back(layer_name(il, m, "weight"));
  }
  return names;
}

const cpu::WeightMatrix& BertModel::matrix_by_name(const std::string& name) const {
  if (name == word_embd_name_) return word_embd_;
  if (name == pos_embd_name_) return pos_embd_matrix_;
  if (name == type_embd_name_) return type_embd_matrix_;
  for (size_t il = 0; il < layers_.size(); ++il) {
    if (!name.starts_with(layers_[il].prefix)) continue;
    for (size_t i = 0; i < std::size(kLayerMatrices); ++i) {
      if (name == layer_name(il, kLayerMatrices[i], "weight")) return *bert_layer_matrix(const_cast<BertLayer&>(layers_[il]), i);
    }
  }
  fail(ErrorKind::kInput, "no matrix named '" + name + "' in this BERT model");
}

void BertModel::replace_matrix(const std::string& name, const cpu::WeightMatrix& m) {
  auto& target = const_cast<cpu::WeightMatrix&>(matrix_by_name(name));
  if (m.rows != target.rows || m.cols != target.cols) fail(ErrorKind::kInternal, "replace_matrix: shape of '" + name + "' differs");
  target = m;
  if (name == pos_embd_name_ || name == type_embd_name_) expand_embeddings();
  for (size_t il = 0; il < layers_.size(); ++il) {
    if (name.starts_with(layers_[il].prefix)) pack_layer(il);  // F32 again, or the generic path for this layer
  }
}

std::vector<float> BertModel::embed(std::string_view text, ThreadPool& pool) const {
  const auto ids = tokenizer_->encode(text, cfg_.max_seq_length);
  return embed_tokens(ids, pool);
}

std::vector<float> BertModel::embed_tokens(std::span<const int32_t> ids, ThreadPool& pool) const {
  std::vector<std::vector<float>> out;
  const std::span<const int32_t> one[] = {ids};
  forward(one, pool, out);
  return std::move(out[0]);
}

std::vector<std::vector<float>> BertModel::embed_batch(std::span<const std::vector<int32_t>> sentences, ThreadPool& pool,
                                                       size_t max_tokens) const {
  // As few forwards as max_tokens allows, of about equal size (544 tokens with 512: 272 + 272, not
  // 510 + 34): in order, a forward closes once it holds its share or the next sentence would not fit.
  size_t total = 0;
  for (const auto& ids : sentences) total += ids.size();
  const size_t n_forwards = std::max<size_t>(1, (total + max_tokens - 1) / max_tokens);
  const size_t share = (total + n_forwards - 1) / n_forwards;
  std::vector<std::vector<float>> out;
  out.reserve(sentences.size());
  std::vector<std::span<const int32_t>> batch;
  size_t tokens = 0;
  for (size_t i = 0; i < sentences.size(); ++i) {
    if (!batch.empty() && (tokens >= share || tokens + sentences[i].size() > max_tokens)) {
      forward(batch, pool, out);
      batch.clear();
      tokens = 0;
    }
    batch.emplace_back(sentences[i]);
    tokens += sentences[i].size();
  }
  if (!batch.empty()) forward(batch, pool, out);
  return out;
}

void BertModel::forward(std::span<const std::span<const int32_t>> sentences, ThreadPool& pool,
                        std::vector<std::vector<float>>& out) const {
  const size_t d = cfg_.n_embd, n_head = cfg_.n_head, hd = d / n_head;
  // The sentences' tokens stacked as rows: sentence s is rows [first[s], first[s + 1]).
  std::vector<size_t> first{0};
  for (const auto& ids : sentences) {
    if (ids.empty() || ids.size() > cfg_.n_positions) {
      fail(ErrorKind::kInput, "embed: " + std::to_string(ids.size()) + " tokens (1.." + std::to_string(cfg_.n_positions) + " allowed)");
    }
    first.push_back(first.back() + ids.size());
  }
  const size_t T = first.back();
  std::vector<float> x(T * d), tmp(T * d), qkv(3 * T * d), ctx(T * d), ff(T * cfg_.n_ff);  // (T, ...) row-major
  for (size_t s = 0; s < sentences.size(); ++s) {
    for (size_t p = 0; p < sentences[s].size(); ++p) {
      const int32_t id = sentences[s][p];
      const size_t t = first[s] + p;
      if (id < 0 || static_cast<size_t>(id) >= cfg_.n_vocab) fail(ErrorKind::kInput, "embed: token id out of range");
      cpu::reference::dequantize_row(word_embd_.type, word_embd_.row(static_cast<size_t>(id)), tmp.data() + t * d, d);
      for (size_t i = 0; i < d; ++i) tmp[t * d + i] += pos_embd_[p * d + i] + type_embd0_[i];
      cpu::layer_norm(tmp.data() + t * d, emb_ln_w_.data(), emb_ln_b_.data(), cfg_.layer_norm_eps, x.data() + t * d, d);
    }
  }
  auto add_bias = [&](float* y, const std::vector<float>& b, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; ++r) cpu::add_inplace(y + r * cols, b.data(), cols);
  };
  cpu::QuantizedActivations act;
  // y (T, w.rows) = x (T, w.cols) . w^T + b: the packed F32 panels where the layer has them, else
  // w as stored with activations in the form its kernel reads.
  auto dense = [&](const cpu::PackedF32Matrix& packed, const cpu::WeightMatrix& w, const std::vector<float>& b,
                   const float* in, float* y) {
    if (!packed.empty()) return cpu::matmul_packed_f32(packed, in, T, y, pool);
    act.quantize(w.type, in, T, w.cols, pool);
    cpu::matmul(w, act, T, y, pool);
    add_bias(y, b, T, w.rows);
  };
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (size_t il = 0; il < layers_.size(); ++il) {
    const BertLayer& L = layers_[il];
    const BertPackedLayer& P = packed_[il];
    // Token t's q, k and v rows are q + t * qkv_stride (and k, v likewise): one (T, 3d) product
    // when packed, else three (T, d) blocks.
    const float *q = qkv.data(), *k = q + d, *v = q + 2 * d;
    size_t qkv_stride = 3 * d;
    if (!P.qkv.empty()) {
      cpu::matmul_packed_f32(P.qkv, x.data(), T, qkv.data(), pool);
    } else {
      k = q + T * d;
      v = k + T * d;
      qkv_stride = d;
      dense(P.qkv, L.wq, L.bq, x.data(), qkv.data());
      dense(P.qkv, L.wk, L.bk, x.data(), qkv.data() + T * d);
      dense(P.qkv, L.wv, L.bv, x.data(), qkv.data() + 2 * T * d);
    }
    // Bidirectional attention: every token sees every token of its own sentence; a task is one
    // head of one sentence.
    pool.parallel_for(sentences.size() * n_head, 1, [&](size_t begin, size_t end) {
      std::vector<float> scratch((cfg_.n_positions + 15) / 16 * 16);
      for (size_t task = begin; task < end; ++task) {
        const size_t s = task / n_head, h = task % n_head, t0 = first[s];
        cpu::attend_head(q + t0 * qkv_stride + h * hd, k + t0 * qkv_stride + h * hd, v + t0 * qkv_stride + h * hd, qkv_stride,
                         first[s + 1] - t0, hd, scale, ctx.data() + t0 * d + h * hd, d, scratch.data());
      }
    });
    dense(P.wo, L.wo, L.bo, ctx.data(), tmp.data());
    cpu::add_inplace(tmp.data(), x.data(), T * d);
    for (size_t t = 0; t < T; ++t) cpu::layer_norm(tmp.data() + t * d, L.ln1_w.data(), L.ln1_b.data(), cfg_.layer_norm_eps, x.data() + t * d, d);

    dense(P.w_in, L.w_in, L.b_in, x.data(), ff.data());
    cpu::gelu_erf_inplace(ff.data(), T * cfg_.n_ff);
    dense(P.w_out, L.w_out, L.b_out, ff.data(), tmp.data());
    cpu::add_inplace(tmp.data(), x.data(), T * d);
    for (size_t t = 0; t < T; ++t) cpu::layer_norm(tmp.data() + t * d, L.ln2_w.data(), L.ln2_b.data(), cfg_.layer_norm_eps, x.data() + t * d, d);
  }
  // Mean over each sentence's tokens (no padding: its own rows only).
  for (size_t s = 0; s < sentences.size(); ++s) {
    std::vector<float> pooled(d, 0.0f);
    for (size_t t = first[s]; t < first[s + 1]; ++t) cpu::add_inplace(pooled.data(), x.data() + t * d, d);
    cpu::scale(pooled.data(), 1.0f / static_cast<float>(first[s + 1] - first[s]), d);
    if (cfg_.normalize) cpu::l2_normalize_inplace(pooled.data(), d);
    out.push_back(std::move(pooled));
  }
}

}  // namespace webaccel

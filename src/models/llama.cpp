#include "models/llama.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/fp16.h"
#include "cpu/kernels.h"
#include "cpu/quant_blocks.h"
#include "models/softmax_exp.h"

namespace webaccel {

namespace {

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

cpu::WeightMatrix LlamaModel::matrix(const std::string& name, size_t rows, size_t cols) const {
  const auto& t = gguf_->tensor(name);
  if (t.shape.size() != 2 || t.shape[0] != cols || t.shape[1] != rows) {
    fail(ErrorKind::kFormat, gguf_->path() + ": tensor '" + name + "': shape " + shape_string(t.shape) +
                                 " does not match the hyper-parameters (expected [" + std::to_string(cols) + ", " +
                                 std::to_string(rows) + "])");
  }
  if (!cpu::matmul_supported(t.type)) {
    fail(ErrorKind::kFormat, gguf_->path() + ": tensor '" + name + "': type " + std::string(ggml_type_name(t.type)) +
                                 " is not supported for matrix products");
  }
  const auto traits = *ggml_type_traits(static_cast<uint32_t>(t.type));
  return cpu::WeightMatrix{t.type, rows, cols, t.data, cols / traits.block_elems * traits.block_bytes};
}

std::span<const float> LlamaModel::vector(const std::string& name, size_t n) const {
  const auto& t = gguf_->tensor(name);
  if (t.shape.size() != 1 || t.shape[0] != n) {
    fail(ErrorKind::kFormat, gguf_->path() + ": tensor '" + name + "': shape " + shape_string(t.shape) +
                                 " does not match the hyper-parameters (expected [" + std::to_string(n) + "])");
  }
  if (t.type != GgmlType::kF32) {
    fail(ErrorKind::kFormat, gguf_->path() + ": tensor '" + name + "': norm weights must be F32, got " +
                                 std::string(ggml_type_name(t.type)));
  }
  if (reinterpret_cast<uintptr_t>(t.data) % alignof(float) != 0) {
    fail(ErrorKind::kFormat, gguf_->path() + ": tensor '" + name + "': data is not 4-byte aligned");
  }
  return {reinterpret_cast<const float*>(t.data), n};
}

LlamaModel::LlamaModel(std::shared_ptr<const GgufFile> gguf) : gguf_(std::move(gguf)) {
  const auto& g = *gguf_;
  const std::string arch = g.get_string("general.architecture");
  if (arch != "llama") fail(ErrorKind::kFormat, g.path() + ": general.architecture is '" + arch + "', expected 'llama'");
  const std::string p = arch + ".";
  hp_.n_layer = g.get_uint(p + "block_count");
  hp_.n_ctx_train = g.get_uint(p + "context_length");
  hp_.n_embd = g.get_uint(p + "embedding_length");
  hp_.n_ff = g.get_uint(p + "feed_forward_length");
  hp_.n_head = g.get_uint(p + "attention.head_count");
  hp_.n_head_kv = g.find_uint(p + "attention.head_count_kv").value_or(hp_.n_head);
  hp_.rope_base = static_cast<float>(g.find_float(p + "rope.freq_base").value_or(10000.0));
  hp_.rms_eps = static_cast<float>(g.get_float(p + "attention.layer_norm_rms_epsilon"));

  auto bad = [&](const std::string& field, const std::string& why) {
    fail(ErrorKind::kFormat, g.path() + ": metadata '" + p + field + "' " + why);
  };
  if (hp_.n_layer == 0 || hp_.n_layer > 1024) bad("block_count", "is out of range");
  if (hp_.n_embd == 0 || hp_.n_embd > 65536) bad("embedding_length", "is out of range");
  if (hp_.n_head == 0 || hp_.n_embd % hp_.n_head != 0) bad("attention.head_count", "does not divide embedding_length");
  if (hp_.n_head_kv == 0 || hp_.n_head % hp_.n_head_kv != 0) bad("attention.head_count_kv", "does not divide head_count");
  if (hp_.n_ff == 0 || hp_.n_ff > 1 << 20) bad("feed_forward_length", "is out of range");
  if (!(hp_.rms_eps > 0.0f) || !(hp_.rope_base > 0.0f)) bad("attention.layer_norm_rms_epsilon", "or rope.freq_base is not positive");
  hp_.head_dim = hp_.n_embd / hp_.n_head;
  hp_.n_rot = g.find_uint(p + "rope.dimension_count").value_or(hp_.head_dim);
  if (hp_.n_rot == 0 || hp_.n_rot > hp_.head_dim || hp_.n_rot % 2 != 0) bad("rope.dimension_count", "is not an even number <= head size");
  if (hp_.n_embd % kQK != 0 || hp_.n_ff % kQK != 0) bad("embedding_length", "and feed_forward_length must be multiples of 32");

  const auto& embd = g.tensor("token_embd.weight");
  if (embd.shape.size() != 2) fail(ErrorKind::kFormat, g.path() + ": tensor 'token_embd.weight' is not 2-D");
  hp_.n_vocab = embd.shape[1];
  if (auto v = g.find_uint(p + "vocab_size"); v && *v != hp_.n_vocab) {
    bad("vocab_size", "(" + std::to_string(*v) + ") contradicts token_embd.weight (" + std::to_string(hp_.n_vocab) + " rows)");
  }
  tok_embd_ = matrix("token_embd.weight", hp_.n_vocab, hp_.n_embd);
  output_tied_ = g.find_tensor("output.weight") == nullptr;
  output_ = output_tied_ ? tok_embd_ : matrix("output.weight", hp_.n_vocab, hp_.n_embd);
  output_norm_ = vector("output_norm.weight", hp_.n_embd);

  const size_t q_dim = hp_.n_head * hp_.head_dim;
  const size_t kv_dim = hp_.n_head_kv * hp_.head_dim;
  for (size_t il = 0; il < hp_.n_layer; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    LlamaLayer L;
    L.prefix = b;
    L.attn_norm = vector(b + "attn_norm.weight", hp_.n_embd);
    L.wq = matrix(b + "attn_q.weight", q_dim, hp_.n_embd);
    L.wk = matrix(b + "attn_k.weight", kv_dim, hp_.n_embd);
    L.wv = matrix(b + "attn_v.weight", kv_dim, hp_.n_embd);
    L.wo = matrix(b + "attn_output.weight", hp_.n_embd, q_dim);
    L.ffn_norm = vector(b + "ffn_norm.weight", hp_.n_embd);
    L.w_gate = matrix(b + "ffn_gate.weight", hp_.n_ff, hp_.n_embd);
    L.w_up = matrix(b + "ffn_up.weight", hp_.n_ff, hp_.n_embd);
    L.w_down = matrix(b + "ffn_down.weight", hp_.n_embd, hp_.n_ff);
    layers_.push_back(L);
  }
}

std::vector<std::string> LlamaModel::matrix_names() const {
  std::vector<std::string> names{"token_embd.weight"};
  if (!output_tied_) names.push_back("output.weight");
  for (const auto& L : layers_) {
    for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"}) {
      names.push_back(L.prefix + n + ".weight");
    }
  }
  return names;
}

namespace {
cpu::WeightMatrix* layer_matrix(LlamaLayer& L, const std::string& suffix) {
  if (suffix == "attn_q.weight") return &L.wq;
  if (suffix == "attn_k.weight") return &L.wk;
  if (suffix == "attn_v.weight") return &L.wv;
  if (suffix == "attn_output.weight") return &L.wo;
  if (suffix == "ffn_gate.weight") return &L.w_gate;
  if (suffix == "ffn_up.weight") return &L.w_up;
  if (suffix == "ffn_down.weight") return &L.w_down;
  return nullptr;
}
}  // namespace

const cpu::WeightMatrix& LlamaModel::matrix_by_name(const std::string& name) const {
  if (name == "token_embd.weight") return tok_embd_;
  if (name == "output.weight") return output_;
  for (const auto& L : layers_) {
    if (name.starts_with(L.prefix)) {
      if (auto* m = layer_matrix(const_cast<LlamaLayer&>(L), name.substr(L.prefix.size()))) return *m;
    }
  }
  fail(ErrorKind::kInput, "no matrix named '" + name + "' in this llama model");
}

void LlamaModel::replace_matrix(const std::string& name, const cpu::WeightMatrix& m) {
  auto& target = const_cast<cpu::WeightMatrix&>(matrix_by_name(name));
  if (m.rows != target.rows || m.cols != target.cols) fail(ErrorKind::kInternal, "replace_matrix: shape of '" + name + "' differs");
  target = m;
  if (name == "token_embd.weight" && output_tied_) output_ = m;
}

size_t LlamaModel::weight_bytes() const {
  size_t total = 0;
  for (const auto& t : gguf_->tensors()) total += t.n_bytes;
  return total;
}

bool LlamaModel::all_matrices_f32() const {
  for (const auto& name : matrix_names()) {
    if (matrix_by_name(name).type != GgmlType::kF32) return false;
  }
  return true;
}

LlamaSession::LlamaSession(const LlamaModel& model, size_t n_ctx, ThreadPool& pool, KvCacheType kv_type)
    : model_(model), pool_(pool), n_ctx_(n_ctx), kv_type_(kv_type) {
  const auto& hp = model.hparams();
  if (n_ctx == 0) fail(ErrorKind::kUsage, "context size must be positive");
  if (kv_type_ == KvCacheType::kAuto) kv_type_ = model.all_matrices_f32() ? KvCacheType::kF32 : KvCacheType::kF16;
  const size_t kv_size = hp.n_layer * n_ctx * hp.n_head_kv * hp.head_dim;
  if (kv_type_ == KvCacheType::kF32) {
    k_cache_f32_.assign(kv_size, 0.0f);
    v_cache_f32_.assign(kv_size, 0.0f);
  } else {
    k_cache_.assign(kv_size, 0);
    v_cache_.assign(kv_size, 0);
  }
  logits_.resize(hp.n_vocab);
}

void LlamaSession::embed(std::span<const int32_t> tokens) {
  const auto& hp = model_.hparams();
  const auto& e = model_.token_embedding();
  for (size_t t = 0; t < tokens.size(); ++t) {
    cpu::reference::dequantize_row(e.type, e.row(static_cast<size_t>(tokens[t])), x_.data() + t * hp.n_embd, hp.n_embd);
  }
}

// Rotates pairs (2i, 2i+1) of each head by pos * base^(-2i/n_rot), the GGUF llama convention
// (its converter permutes Q/K rows so adjacent pairs rotate together).
void LlamaSession::rope_inplace(float* x, size_t n_heads, size_t n_tokens, size_t row_stride) {
  const auto& hp = model_.hparams();
  const size_t half = hp.n_rot / 2;
  for (size_t t = 0; t < n_tokens; ++t) {
    const float* c = rope_cos_.data() + t * half;
    const float* s = rope_sin_.data() + t * half;
    for (size_t h = 0; h < n_heads; ++h) {
      float* v = x + t * row_stride + h * hp.head_dim;
      for (size_t i = 0; i < half; ++i) {
        const float x0 = v[2 * i], x1 = v[2 * i + 1];
        v[2 * i] = x0 * c[i] - x1 * s[i];
        v[2 * i + 1] = x0 * s[i] + x1 * c[i];
      }
    }
  }
}

LlamaSession::AttentionDims LlamaSession::attention_dims() const {
  const auto& hp = model_.hparams();
  const size_t hd = hp.head_dim;
  return {hd, hp.n_head_kv * hd, (hp.n_head + 2 * hp.n_head_kv) * hd, hp.n_head / hp.n_head_kv,
          1.0f / std::sqrt(static_cast<float>(hd))};
}

void LlamaSession::attend(size_t il, size_t n_tokens) {
  const auto& hp = model_.hparams();
  const AttentionDims dims = attention_dims();  // plain names: the wasm build's clang cannot capture structured bindings
  const size_t hd = dims.head_dim, kv_dim = dims.kv_dim, qkv_stride = dims.qkv_stride, group = dims.group;
  const float scale = dims.scale;
  const uint16_t* k_layer = k_cache_.data() + il * n_ctx_ * kv_dim;
  const uint16_t* v_layer = v_cache_.data() + il * n_ctx_ * kv_dim;

  // A task is one query head, or all `group` heads of a KV head (its keys and values read and
  // converted once for them) where that still leaves a few tasks per thread.
  const size_t heads = n_tokens * hp.n_head_kv >= 2 * pool_.size() || pool_.size() == 1 ? group : 1;
  const size_t tasks_per_token = hp.n_head / heads;
  pool_.parallel_for(n_tokens * tasks_per_token, 1, [&](size_t begin, size_t end) {
    std::vector<float> q(heads * hd), acc(heads * hd);
    thread_local std::vector<float> scores;  // (heads, n_keys): scores, then exp(score - max), then probabilities
    for (size_t task = begin; task < end; ++task) {
      const size_t t = task / tasks_per_token, h0 = task % tasks_per_token * heads, kvh = h0 / group;
      const size_t n_keys = n_past_ + t + 1;  // causal: keys up to and including this position
      if (scores.size() < heads * n_keys) scores.resize(heads * n_keys);
      // The query meets f16 keys in f16, as llama.cpp's f16 KV cache does.
      std::copy_n(qkv_.data() + t * qkv_stride + h0 * hd, heads * hd, q.data());
      cpu::f16_round_inplace(q.data(), heads * hd);
      std::fill(acc.begin(), acc.end(), 0.0f);
      // Softmax with a double sum, then V weighted by probabilities rounded to f16, as llama.cpp's
      // f16 KV path rounds them (bit-level agreement keeps greedy decoding on the same tokens).
      cpu::dot_f16_f32_rows(k_layer + kvh * hd, kv_dim, n_keys, q.data(), hd, heads, hd, scores.data(), n_keys);
      for (size_t i = 0; i < heads; ++i) {
        float* p = scores.data() + i * n_keys;
        for (size_t j = 0; j < n_keys; ++j) p[j] *= scale;
        const float inv = exp_shifted_inplace(p, n_keys);
        for (size_t j = 0; j < n_keys; ++j) p[j] = half_to_float(float_to_half(p[j] * inv));
      }
      cpu::axpy_f16_rows(scores.data(), n_keys, v_layer + kvh * hd, kv_dim, n_keys, acc.data(), hd, heads, hd);
      std::copy(acc.begin(), acc.end(), attn_out_.data() + t * hp.n_head * hd + h0 * hd);
    }
  });
}

// K and V of the tokens being evaluated, after RoPE, into the cache at their positions.
void LlamaSession::store_kv(size_t il, size_t n_tokens) {
  const auto& hp = model_.hparams();
  const size_t q_dim = hp.n_head * hp.head_dim, kv_dim = hp.n_head_kv * hp.head_dim;
  for (size_t t = 0; t < n_tokens; ++t) {
    const size_t at = (il * n_ctx_ + n_past_ + t) * kv_dim;
    const float* row = qkv_.data() + t * (q_dim + 2 * kv_dim);
    if (kv_type_ == KvCacheType::kF32) {
      std::copy_n(row + q_dim, kv_dim, k_cache_f32_.data() + at);
      std::copy_n(row + q_dim + kv_dim, kv_dim, v_cache_f32_.data() + at);
    } else {
      cpu::f32_to_f16(row + q_dim, k_cache_.data() + at, kv_dim);
      cpu::f32_to_f16(row + q_dim + kv_dim, v_cache_.data() + at, kv_dim);
    }
  }
}

void LlamaSession::attention_block(const LlamaLayer& L, size_t il, size_t n_tokens) {
  const auto& hp = model_.hparams();
  const size_t q_dim = hp.n_head * hp.head_dim, kv_dim = hp.n_head_kv * hp.head_dim;
  const size_t qkv_stride = q_dim + 2 * kv_dim;

  for (size_t t = 0; t < n_tokens; ++t) {
    cpu::rms_norm(x_.data() + t * hp.n_embd, L.attn_norm.data(), hp.rms_eps, xn_.data() + t * hp.n_embd, hp.n_embd);
  }
  if (observer_) {
    for (const char* n : {"attn_q.weight", "attn_k.weight", "attn_v.weight"}) observer_(L.prefix + n, xn_.data(), n_tokens, hp.n_embd);
  }
  const cpu::WeightMatrix* parts[3] = {&L.wq, &L.wk, &L.wv};
  const GgmlType act_type = cpu::activation_type_for(L.wq.type);
  if (cpu::activation_type_for(L.wk.type) == act_type && cpu::activation_type_for(L.wv.type) == act_type) {
    act_.quantize(L.wq.type, xn_.data(), n_tokens, hp.n_embd, pool_);
    // Q, K and V in one parallel loop over their concatenated rows: one barrier instead of three.
    pool_.parallel_for(qkv_stride, 16, [&](size_t r0, size_t r1) {
      size_t offset = 0;
      for (const auto* w : parts) {
        const size_t lo = std::max(r0, offset), hi = std::min(r1, offset + w->rows);
        if (lo < hi) cpu::matmul_rows(*w, act_, n_tokens, lo - offset, hi - offset, qkv_.data() + offset, qkv_stride);
        offset += w->rows;
      }
    });
  } else {
    size_t offset = 0;  // mixed activation types (e.g. Q8_0 next to a K-quant): one product each
    for (const auto* w : parts) {
      act_.quantize(w->type, xn_.data(), n_tokens, hp.n_embd, pool_);
      pool_.parallel_for(w->rows, 16, [&](size_t r0, size_t r1) {
        cpu::matmul_rows(*w, act_, n_tokens, r0, r1, qkv_.data() + offset, qkv_stride);
      });
      offset += w->rows;
    }
  }
  rope_inplace(qkv_.data(), hp.n_head, n_tokens, qkv_stride);
  rope_inplace(qkv_.data() + q_dim, hp.n_head_kv, n_tokens, qkv_stride);
  store_kv(il, n_tokens);
  if (kv_type_ == KvCacheType::kF32) {
    attend_f32(il, n_tokens);
  } else {
    attend(il, n_tokens);
  }
  if (observer_) observer_(L.prefix + "attn_output.weight", attn_out_.data(), n_tokens, q_dim);
  act_.quantize(L.wo.type, attn_out_.data(), n_tokens, q_dim, pool_);
  cpu::matmul(L.wo, act_, n_tokens, xn_.data(), pool_);
  cpu::add_inplace(x_.data(), xn_.data(), n_tokens * hp.n_embd);
}

void LlamaSession::feed_forward_block(const LlamaLayer& L, size_t n_tokens) {
  const auto& hp = model_.hparams();
  const size_t n_ff = hp.n_ff;
  for (size_t t = 0; t < n_tokens; ++t) {
    cpu::rms_norm(x_.data() + t * hp.n_embd, L.ffn_norm.data(), hp.rms_eps, xn_.data() + t * hp.n_embd, hp.n_embd);
  }
  if (observer_) {
    for (const char* n : {"ffn_gate.weight", "ffn_up.weight"}) observer_(L.prefix + n, xn_.data(), n_tokens, hp.n_embd);
  }
  act_.quantize(L.w_gate.type, xn_.data(), n_tokens, hp.n_embd, pool_);
  const bool shared = cpu::activation_type_for(L.w_up.type) == cpu::activation_type_for(L.w_gate.type);
  if (!shared) act2_.quantize(L.w_up.type, xn_.data(), n_tokens, hp.n_embd, pool_);
  // Gate, up and SiLU fused per block of ff columns: one barrier, and gate/up never leave L1.
  pool_.parallel_for(n_ff, 16, [&](size_t j0, size_t j1) {
    cpu::matmul_rows(L.w_gate, act_, n_tokens, j0, j1, gate_up_.data(), 2 * n_ff);
    cpu::matmul_rows(L.w_up, shared ? act_ : act2_, n_tokens, j0, j1, gate_up_.data() + n_ff, 2 * n_ff);
    for (size_t t = 0; t < n_tokens; ++t) {
      const float* g = gate_up_.data() + t * 2 * n_ff;
      cpu::silu_mul(g + j0, g + n_ff + j0, ff_.data() + t * n_ff + j0, j1 - j0);
    }
  });
  if (observer_) observer_(L.prefix + "ffn_down.weight", ff_.data(), n_tokens, n_ff);
  act_.quantize(L.w_down.type, ff_.data(), n_tokens, n_ff, pool_);
  cpu::matmul(L.w_down, act_, n_tokens, xn_.data(), pool_);
  cpu::add_inplace(x_.data(), xn_.data(), n_tokens * hp.n_embd);
}

std::span<const float> LlamaSession::eval(std::span<const int32_t> tokens, bool all_logits) {
  const auto& hp = model_.hparams();
  const size_t n = tokens.size();
  if (n == 0) fail(ErrorKind::kInput, "eval: no tokens to evaluate");
  if (n_past_ + n > n_ctx_) {
    fail(ErrorKind::kInput, std::to_string(n_past_ + n) + " tokens do not fit the context of " + std::to_string(n_ctx_) +
                                " tokens (raise --ctx-size, at most " + std::to_string(hp.n_ctx_train) + ")");
  }
  for (int32_t id : tokens) {
    if (id < 0 || static_cast<size_t>(id) >= hp.n_vocab) {
      fail(ErrorKind::kInput, "token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(hp.n_vocab));
    }
  }
  const size_t q_dim = hp.n_head * hp.head_dim, kv_dim = hp.n_head_kv * hp.head_dim;
  x_.resize(n * hp.n_embd);
  xn_.resize(n * hp.n_embd);
  qkv_.resize(n * (q_dim + 2 * kv_dim));
  attn_out_.resize(n * q_dim);
  gate_up_.resize(n * 2 * hp.n_ff);
  ff_.resize(n * hp.n_ff);

  // cos/sin per position, with theta advanced by repeated multiplication as ggml does, so
  // rotations match llama.cpp to the last bit.
  const size_t half = hp.n_rot / 2;
  rope_cos_.resize(n * half);
  rope_sin_.resize(n * half);
  const float theta_scale = std::pow(hp.rope_base, -2.0f / static_cast<float>(hp.n_rot));
  for (size_t t = 0; t < n; ++t) {
    float theta = static_cast<float>(n_past_ + t);
    for (size_t i = 0; i < half; ++i) {
      rope_cos_[t * half + i] = std::cos(theta);
      rope_sin_[t * half + i] = std::sin(theta);
      theta *= theta_scale;
    }
  }

  embed(tokens);
  const auto& layers = model_.layers();
  for (size_t il = 0; il < layers.size(); ++il) {
    attention_block(layers[il], il, n);
    feed_forward_block(layers[il], n);
  }
  n_past_ += n;

  // Picking the next token needs only the last position's logits; evaluation needs them all.
  const size_t first = all_logits ? 0 : n - 1, n_out = n - first;
  for (size_t t = first; t < n; ++t) {
    cpu::rms_norm(x_.data() + t * hp.n_embd, model_.output_norm().data(), hp.rms_eps, xn_.data() + (t - first) * hp.n_embd, hp.n_embd);
  }
  if (observer_) observer_(model_.output_tied() ? "token_embd.weight" : "output.weight", xn_.data(), n_out, hp.n_embd);
  logits_.resize(n_out * hp.n_vocab);
  act_.quantize(model_.output().type, xn_.data(), n_out, hp.n_embd, pool_);
  cpu::matmul(model_.output(), act_, n_out, logits_.data(), pool_);
  return logits_;
}

}  // namespace webaccel

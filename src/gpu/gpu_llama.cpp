#include "gpu/gpu_llama.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace webaccel::gpu {

LlamaWeights LlamaWeights::from(const LlamaModel& model) {
  return LlamaWeights{model.hparams(), model.token_embedding(), model.output(), model.output_norm(), model.layers()};
}

Buffer GpuLlama::scratch(uint64_t floats, const char* name) {
  Buffer b = k_.device().create_buffer(floats * sizeof(float), name);
  owned_.push_back(b);
  return b;
}

GpuLlama::GpuLlama(Kernels& kernels, const LlamaWeights& w, uint32_t n_ctx) : k_(kernels), hp_(w.hp), n_ctx_(n_ctx) {
  if (n_ctx == 0) fail(ErrorKind::kUsage, "context size must be positive");
  const uint64_t q_dim = hp_.n_head * hp_.head_dim, kv_dim = hp_.n_head_kv * hp_.head_dim;
  tok_embd_ = k_.upload(w.tok_embd, "token_embd.weight");
  output_tied_ = w.output.data == w.tok_embd.data;
  output_ = output_tied_ ? tok_embd_ : k_.upload(w.output, "output.weight");
  output_norm_ = k_.upload_f32(w.output_norm.data(), w.output_norm.size(), "output_norm.weight");
  owned_.push_back(output_norm_);
  for (const auto& L : w.layers) {
    Layer g;
    g.attn_norm = k_.upload_f32(L.attn_norm.data(), L.attn_norm.size(), L.prefix + "attn_norm.weight");
    g.ffn_norm = k_.upload_f32(L.ffn_norm.data(), L.ffn_norm.size(), L.prefix + "ffn_norm.weight");
    owned_.insert(owned_.end(), {g.attn_norm, g.ffn_norm});
    g.wq = k_.upload(L.wq, L.prefix + "attn_q.weight");
    g.wk = k_.upload(L.wk, L.prefix + "attn_k.weight");
    g.wv = k_.upload(L.wv, L.prefix + "attn_v.weight");
    g.wo = k_.upload(L.wo, L.prefix + "attn_output.weight");
    g.w_gate = k_.upload(L.w_gate, L.prefix + "ffn_gate.weight");
    g.w_up = k_.upload(L.w_up, L.prefix + "ffn_up.weight");
    g.w_down = k_.upload(L.w_down, L.prefix + "ffn_down.weight");
    g.k_cache = scratch(uint64_t{n_ctx} * kv_dim, "k_cache");
    g.v_cache = scratch(uint64_t{n_ctx} * kv_dim, "v_cache");
    layers_.push_back(g);
  }
  ids_ = scratch(kMaxBatch, "token ids");
  x_ = scratch(kMaxBatch * hp_.n_embd, "x");
  xn_ = scratch(kMaxBatch * hp_.n_embd, "x normalized");
  q_ = scratch(kMaxBatch * q_dim, "q");
  kk_ = scratch(kMaxBatch * kv_dim, "k");
  vv_ = scratch(kMaxBatch * kv_dim, "v");
  attn_ = scratch(kMaxBatch * q_dim, "attention output");
  gate_ = scratch(kMaxBatch * hp_.n_ff, "ffn gate");
  up_ = scratch(kMaxBatch * hp_.n_ff, "ffn up");
  ff_ = scratch(kMaxBatch * hp_.n_ff, "ffn hidden");
  logits_ = scratch(hp_.n_vocab, "logits");
}

GpuLlama::~GpuLlama() {
  auto release = [&](const GpuMatrix& m) {
    if (m.codes) k_.device().release(m.codes);
    if (m.scales) k_.device().release(m.scales);
  };
  try {
    release(tok_embd_);
    if (!output_tied_) release(output_);
    for (const auto& L : layers_) {
      for (const auto* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) release(*m);
    }
    for (Buffer b : owned_) k_.device().release(b);
  } catch (...) {
    // A lost device has nothing left to release.
  }
}

void GpuLlama::eval(std::span<const int32_t> tokens) {
  if (tokens.empty()) fail(ErrorKind::kInput, "eval: no tokens");
  if (n_past_ + tokens.size() > n_ctx_) {
    fail(ErrorKind::kInput, "eval: " + std::to_string(n_past_ + tokens.size()) + " positions exceed the context of " +
                                std::to_string(n_ctx_));
  }
  for (int32_t t : tokens) {
    if (t < 0 || static_cast<size_t>(t) >= hp_.n_vocab) fail(ErrorKind::kInput, "eval: token id " + std::to_string(t) + " out of range");
  }
  for (size_t i = 0; i < tokens.size(); i += kMaxBatch) {
    eval_chunk(tokens.subspan(i, std::min<size_t>(kMaxBatch, tokens.size() - i)));
  }
}

void GpuLlama::eval_chunk(std::span<const int32_t> tokens) {
  const uint32_t T = static_cast<uint32_t>(tokens.size());
  const uint32_t d = hp_.n_embd, hd = hp_.head_dim, kv_dim = hp_.n_head_kv * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  if (!k_.collecting()) k_.device().write_buffer(ids_, 0, tokens.data(), T * sizeof(int32_t));
  auto v = [](Buffer b) { return BufferView{b, 0, 0}; };

  k_.embed_rows(tok_embd_, v(ids_), v(x_), T);                                    // x (T, d)
  for (const auto& L : layers_) {
    k_.rms_norm(v(x_), v(L.attn_norm), v(xn_), T, d, hp_.rms_eps);                // xn (T, d)
    k_.matmul(L.wq, v(xn_), v(q_), T);                                            // q (T, q_dim)
    k_.matmul(L.wk, v(xn_), v(kk_), T);                                           // k (T, kv_dim)
    k_.matmul(L.wv, v(xn_), v(vv_), T);                                           // v (T, kv_dim)
    k_.rope(v(q_), T, hp_.n_head, hd, hp_.n_rot, n_past_, hp_.rope_base);
    k_.rope(v(kk_), T, hp_.n_head_kv, hd, hp_.n_rot, n_past_, hp_.rope_base);
    k_.kv_append(v(kk_), v(vv_), v(L.k_cache), v(L.v_cache), T, kv_dim, n_past_);  // caches (n_ctx, kv_dim)
    k_.attention(v(q_), v(L.k_cache), v(L.v_cache), v(attn_), T, hp_.n_head, hp_.n_head_kv, hd, n_past_,
                 n_past_ + T, /*causal=*/true, scale);                            // attn (T, q_dim)
    k_.matmul(L.wo, v(attn_), v(x_), T, nullptr, /*accumulate=*/true);           // x += attn · woᵀ
    k_.rms_norm(v(x_), v(L.ffn_norm), v(xn_), T, d, hp_.rms_eps);
    k_.matmul(L.w_gate, v(xn_), v(gate_), T);                                     // gate (T, n_ff)
    k_.matmul(L.w_up, v(xn_), v(up_), T);                                         // up (T, n_ff)
    k_.silu_mul(v(gate_), v(up_), v(ff_), T * hp_.n_ff);
    k_.matmul(L.w_down, v(ff_), v(x_), T, nullptr, /*accumulate=*/true);         // x += ff · w_downᵀ
  }
  // Only the last position's logits: its row moves to row 0 so every binding starts at offset 0.
  if (!k_.collecting()) k_.device().copy(x_, uint64_t{T - 1} * d * sizeof(float), xn_, 0, d * sizeof(float));
  k_.rms_norm(v(xn_), v(output_norm_), v(x_), 1, d, hp_.rms_eps);
  k_.matmul(output_, v(x_), v(logits_), 1);                                      // logits (n_vocab)
  if (!k_.collecting()) n_past_ += T;
}

std::vector<float> GpuLlama::eval_sync(std::span<const int32_t> tokens) {
  eval(tokens);
  std::vector<float> out(hp_.n_vocab);
  k_.device().read_buffer(logits_, 0, out.data(), out.size() * sizeof(float));
  return out;
}

std::vector<PipelineDesc> GpuLlama::pipelines() {
  const int32_t two[2] = {0, 0};
  k_.begin_collect();
  eval_chunk(std::span<const int32_t>(two, 2));  // prompt-chunk kernels (matrix-matrix)
  eval_chunk(std::span<const int32_t>(two, 1));  // decode kernels (matrix-vector)
  return k_.end_collect();
}

void GpuLlama::precompile() {
  const auto descs = pipelines();
  k_.device().precompile(descs);
}

uint64_t GpuLlama::weight_bytes() const {
  uint64_t total = tok_embd_.weight_bytes + (output_tied_ ? 0 : output_.weight_bytes);
  for (const auto& L : layers_) {
    for (const auto* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) total += m->weight_bytes;
  }
  return total;
}

uint64_t GpuLlama::bytes_per_token(uint32_t n_past) const {
  const uint64_t kv_dim = hp_.n_head_kv * hp_.head_dim;
  uint64_t total = output_.weight_bytes + tok_embd_.weight_bytes / std::max<uint64_t>(1, hp_.n_vocab);
  total += uint64_t{hp_.n_embd} * sizeof(float) * (1 + 2 * layers_.size());  // norms
  for (const auto& L : layers_) {
    for (const auto* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) total += m->weight_bytes;
  }
  total += 2 * layers_.size() * uint64_t{n_past + 1} * kv_dim * sizeof(float);  // K and V read by attention
  return total;
}

}  // namespace webaccel::gpu

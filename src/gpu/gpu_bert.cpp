#include "gpu/gpu_bert.h"

#include <cmath>

#include "core/error.h"

namespace webaccel::gpu {

Buffer GpuBert::vec(const std::vector<float>& v, const std::string& name) {
  Buffer b = k_.upload_f32(v.data(), v.size(), name);
  owned_.push_back(b);
  return b;
}

Buffer GpuBert::scratch(uint64_t floats, const char* name) {
  Buffer b = k_.device().create_buffer(floats * sizeof(float), name);
  activations_.push_back(b);
  return b;
}

GpuBert::GpuBert(Kernels& kernels, const BertModel& model) : k_(kernels), cfg_(model.config()) {
  const size_t d = cfg_.n_embd;
  word_embd_ = k_.upload(model.word_embedding(), "word_embeddings");
  std::vector<float> pos_type(cfg_.n_positions * d);
  for (size_t p = 0; p < cfg_.n_positions; ++p) {
    for (size_t i = 0; i < d; ++i) pos_type[p * d + i] = model.position_embeddings()[p * d + i] + model.token_type0_embedding()[i];
  }
  pos_type_ = vec(pos_type, "position + token type embeddings");
  emb_ln_w_ = vec(model.embedding_norm_weight(), "embeddings.LayerNorm.weight");
  emb_ln_b_ = vec(model.embedding_norm_bias(), "embeddings.LayerNorm.bias");
  for (const auto& L : model.layers()) {
    Layer g;
    g.wq = k_.upload(L.wq, L.prefix + "attention.self.query.weight");
    g.wk = k_.upload(L.wk, L.prefix + "attention.self.key.weight");
    g.wv = k_.upload(L.wv, L.prefix + "attention.self.value.weight");
    g.wo = k_.upload(L.wo, L.prefix + "attention.output.dense.weight");
    g.w_in = k_.upload(L.w_in, L.prefix + "intermediate.dense.weight");
    g.w_out = k_.upload(L.w_out, L.prefix + "output.dense.weight");
    g.bq = vec(L.bq, L.prefix + "attention.self.query.bias");
    g.bk = vec(L.bk, L.prefix + "attention.self.key.bias");
    g.bv = vec(L.bv, L.prefix + "attention.self.value.bias");
    g.bo = vec(L.bo, L.prefix + "attention.output.dense.bias");
    g.b_in = vec(L.b_in, L.prefix + "intermediate.dense.bias");
    g.b_out = vec(L.b_out, L.prefix + "output.dense.bias");
    g.ln1_w = vec(L.ln1_w, L.prefix + "attention.output.LayerNorm.weight");
    g.ln1_b = vec(L.ln1_b, L.prefix + "attention.output.LayerNorm.bias");
    g.ln2_w = vec(L.ln2_w, L.prefix + "output.LayerNorm.weight");
    g.ln2_b = vec(L.ln2_b, L.prefix + "output.LayerNorm.bias");
    layers_.push_back(g);
  }
  pooled_ = k_.device().create_buffer(d * sizeof(float), "pooled embedding");
  owned_.push_back(pooled_);
}

GpuBert::~GpuBert() {
  try {
    for (const auto* m : {&word_embd_}) {
      if (m->codes) k_.device().release(m->codes);
      if (m->scales) k_.device().release(m->scales);
    }
    for (const auto& L : layers_) {
      for (const auto* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_in, &L.w_out}) {
        if (m->codes) k_.device().release(m->codes);
        if (m->scales) k_.device().release(m->scales);
      }
    }
    for (Buffer b : owned_) k_.device().release(b);
    for (Buffer b : activations_) k_.device().release(b);
  } catch (...) {
    // A lost device has nothing left to release.
  }
}

void GpuBert::ensure_capacity(uint32_t tokens) {
  if (tokens <= capacity_) return;
  for (Buffer b : activations_) k_.device().release(b);
  activations_.clear();
  const uint32_t n = std::max<uint32_t>(tokens, 32);  // short sentences share one allocation
  const uint64_t d = cfg_.n_embd;
  ids_ = scratch(n, "token ids");
  x_ = scratch(n * d, "x");
  h_ = scratch(n * d, "h");
  q_ = scratch(n * d, "q");
  kk_ = scratch(n * d, "k");
  vv_ = scratch(n * d, "v");
  ctx_ = scratch(n * d, "attention output");
  ff_ = scratch(uint64_t{n} * cfg_.n_ff, "ffn hidden");
  capacity_ = n;
}

void GpuBert::encode(std::span<const int32_t> ids) {
  const uint32_t T = static_cast<uint32_t>(ids.size());
  const uint32_t d = cfg_.n_embd, n_head = cfg_.n_head, hd = d / n_head;
  if (T == 0 || T > cfg_.n_positions) {
    fail(ErrorKind::kInput, "embed: " + std::to_string(T) + " tokens (1.." + std::to_string(cfg_.n_positions) + " allowed)");
  }
  for (int32_t t : ids) {
    if (t < 0 || static_cast<size_t>(t) >= cfg_.n_vocab) fail(ErrorKind::kInput, "embed: token id out of range");
  }
  if (!k_.collecting()) {
    ensure_capacity(T);
    k_.device().write_buffer(ids_, 0, ids.data(), T * sizeof(int32_t));
  }
  auto v = [](Buffer b) { return BufferView{b, 0, 0}; };
  const float eps = cfg_.layer_norm_eps, scale = 1.0f / std::sqrt(static_cast<float>(hd));

  k_.embed_rows(word_embd_, v(ids_), v(h_), T);                                    // h (T, d) word rows
  k_.add(v(h_), v(pos_type_), T * d);                                              // + position + type 0
  k_.layer_norm(v(h_), v(emb_ln_w_), v(emb_ln_b_), v(x_), T, d, eps);             // x (T, d)
  for (const auto& L : layers_) {
    const BufferView bq = v(L.bq), bk = v(L.bk), bv = v(L.bv), bo = v(L.bo), b_in = v(L.b_in), b_out = v(L.b_out);
    k_.matmul(L.wq, v(x_), v(q_), T, &bq);                                         // q (T, d)
    k_.matmul(L.wk, v(x_), v(kk_), T, &bk);                                        // k (T, d)
    k_.matmul(L.wv, v(x_), v(vv_), T, &bv);                                        // v (T, d)
    // Bidirectional: every token sees the whole sentence (K and V serve as the "cache").
    k_.attention(v(q_), v(kk_), v(vv_), v(ctx_), T, n_head, n_head, hd, 0, T, /*causal=*/false, scale);
    k_.matmul(L.wo, v(ctx_), v(x_), T, &bo, /*accumulate=*/true);                  // x += ctx · woᵀ + bo
    k_.layer_norm(v(x_), v(L.ln1_w), v(L.ln1_b), v(h_), T, d, eps);               // h (T, d)
    k_.matmul(L.w_in, v(h_), v(ff_), T, &b_in);                                    // ff (T, n_ff)
    k_.gelu(v(ff_), T * cfg_.n_ff);
    k_.matmul(L.w_out, v(ff_), v(h_), T, &b_out, /*accumulate=*/true);             // h += ff · w_outᵀ + b_out
    k_.layer_norm(v(h_), v(L.ln2_w), v(L.ln2_b), v(x_), T, d, eps);               // x (T, d)
  }
  k_.mean_pool(v(x_), v(pooled_), T, d);                                           // pooled (d)
  if (cfg_.normalize) k_.l2_normalize(v(pooled_), d);
}

std::vector<float> GpuBert::embed_tokens_sync(std::span<const int32_t> ids) {
  encode(ids);
  std::vector<float> out(cfg_.n_embd);
  k_.device().read_buffer(pooled_, 0, out.data(), out.size() * sizeof(float));
  return out;
}

std::vector<PipelineDesc> GpuBert::pipelines() {
  const int32_t two[2] = {0, 0};
  k_.begin_collect();
  encode(std::span<const int32_t>(two, 2));
  return k_.end_collect();
}

void GpuBert::precompile() {
  const auto descs = pipelines();
  k_.device().precompile(descs);
}

}  // namespace webaccel::gpu

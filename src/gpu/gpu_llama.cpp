#include "gpu/gpu_llama.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace webaccel::gpu {
namespace {

// Matrices read by one product when their rows are stacked: the same type, width and row size
// (every CPU format is blocked within a row, so the stacked rows are the same bytes and each output
// row is computed as before), and the stack, even converted to f16 on upload, fits one buffer.
bool stackable(std::initializer_list<const cpu::WeightMatrix*> parts, uint64_t max_buffer_size) {
  const cpu::WeightMatrix& a = **parts.begin();
  uint64_t rows = 0;
  for (const auto* m : parts) {
    if (m->type != a.type || m->cols != a.cols || m->row_bytes != a.row_bytes || m->data == nullptr) return false;
    rows += m->rows;
  }
  return max_buffer_size == 0 || rows * std::max<uint64_t>(a.row_bytes, a.cols * 2) <= max_buffer_size;  // 0: unknown
}

GpuMatrix upload_stacked(Kernels& k, std::initializer_list<const cpu::WeightMatrix*> parts, const std::string& name) {
  const cpu::WeightMatrix& a = **parts.begin();
  size_t rows = 0;
  for (const auto* m : parts) rows += m->rows;
  std::vector<uint8_t> bytes(rows * a.row_bytes);
  size_t at = 0;
  for (const auto* m : parts) {
    std::memcpy(bytes.data() + at, m->data, m->rows * m->row_bytes);
    at += m->rows * m->row_bytes;
  }
  return k.upload(cpu::WeightMatrix{a.type, rows, a.cols, bytes.data(), a.row_bytes}, name);
}

}  // namespace

std::vector<const GpuMatrix*> GpuLlama::Layer::matrices() const {
  std::vector<const GpuMatrix*> out;
  for (const auto* m : {&wqkv, &wq, &wk, &wv, &wo, &w_gate_up, &w_gate, &w_up, &w_down}) {
    if (m->rows) out.push_back(m);
  }
  return out;
}

LlamaWeights LlamaWeights::from(const LlamaModel& model) {
  return LlamaWeights{model.hparams(), model.token_embedding(), model.output(), model.output_norm(), model.layers()};
}

Buffer GpuLlama::scratch(uint64_t floats, const char* name) {
  Buffer b = k_.device().create_buffer(floats * sizeof(float), name);
  owned_.push_back(b);
  return b;
}

GpuLlama::GpuLlama(Kernels& kernels, const LlamaWeights& w, uint32_t n_ctx, bool fuse)
    : k_(kernels), hp_(w.hp), n_ctx_(n_ctx) {
  if (n_ctx == 0) fail(ErrorKind::kUsage, "context size must be positive");
  if (const char* e = std::getenv("WEBACCEL_GPU_SUBMIT_LAYERS"); e && *e) {
    submit_every_layers_ = std::atoi(e);
  } else {
    cadence_.emplace(std::vector<uint32_t>(std::begin(kSubmitCadences), std::end(kSubmitCadences)), kCadenceSteps);
  }
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
    // Stacked Q|K|V and gate|up, one product each (errors name the tensors stacked).
    const uint64_t max_buffer = k_.device().info().max_buffer_size;
    if (fuse && stackable({&L.wq, &L.wk, &L.wv}, max_buffer)) {
      g.wqkv = upload_stacked(k_, {&L.wq, &L.wk, &L.wv}, L.prefix + "attn_q|k|v.weight");
    } else {
      g.wq = k_.upload(L.wq, L.prefix + "attn_q.weight");
      g.wk = k_.upload(L.wk, L.prefix + "attn_k.weight");
      g.wv = k_.upload(L.wv, L.prefix + "attn_v.weight");
    }
    g.wo = k_.upload(L.wo, L.prefix + "attn_output.weight");
    if (fuse && stackable({&L.w_gate, &L.w_up}, max_buffer)) {
      g.w_gate_up = upload_stacked(k_, {&L.w_gate, &L.w_up}, L.prefix + "ffn_gate|up.weight");
    } else {
      g.w_gate = k_.upload(L.w_gate, L.prefix + "ffn_gate.weight");
      g.w_up = k_.upload(L.w_up, L.prefix + "ffn_up.weight");
    }
    g.w_down = k_.upload(L.w_down, L.prefix + "ffn_down.weight");
    g.k_cache = scratch(uint64_t{n_ctx} * kv_dim, "k_cache");
    g.v_cache = scratch(uint64_t{n_ctx} * kv_dim, "v_cache");
    layers_.push_back(g);
  }
  ids_ = scratch(kMaxBatch, "token ids");
  x_ = scratch(kMaxBatch * hp_.n_embd, "x");
  xn_ = scratch(kMaxBatch * hp_.n_embd, "x normalized");
  const bool any_qkv = std::any_of(layers_.begin(), layers_.end(), [](const Layer& L) { return L.wqkv.rows > 0; });
  const bool any_gate_up = std::any_of(layers_.begin(), layers_.end(), [](const Layer& L) { return L.w_gate_up.rows > 0; });
  if (any_qkv) qkv_ = scratch(kMaxBatch * (q_dim + 2 * kv_dim), "qkv");
  if (!any_qkv || std::any_of(layers_.begin(), layers_.end(), [](const Layer& L) { return L.wqkv.rows == 0; })) {
    q_ = scratch(kMaxBatch * q_dim, "q");
    kk_ = scratch(kMaxBatch * kv_dim, "k");
    vv_ = scratch(kMaxBatch * kv_dim, "v");
  }
  attn_ = scratch(kMaxBatch * q_dim, "attention output");
  if (any_gate_up) gate_up_ = scratch(kMaxBatch * 2 * hp_.n_ff, "ffn gate|up");
  if (!any_gate_up || std::any_of(layers_.begin(), layers_.end(), [](const Layer& L) { return L.w_gate_up.rows == 0; })) {
    gate_ = scratch(kMaxBatch * hp_.n_ff, "ffn gate");
    up_ = scratch(kMaxBatch * hp_.n_ff, "ffn up");
  }
  ff_ = scratch(kMaxBatch * hp_.n_ff, "ffn hidden");
  logits_ = scratch(hp_.n_vocab, "logits");
  fused_decode_ = std::all_of(layers_.begin(), layers_.end(), [&](const Layer& L) {
    return k_.gemv_fusable(L.wqkv) && k_.gemv_fusable(L.w_gate_up) && k_.gemv_fusable(L.w_down);
  });
  if (const char* e = std::getenv("WEBACCEL_GPU_FUSE_DECODE"); e && std::string(e) == "0") fused_decode_ = false;
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
      for (const auto* m : L.matrices()) release(*m);
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
  const uint32_t qkv_dim = hp_.n_head * hd + 2 * kv_dim, n_ff = hp_.n_ff;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  if (!k_.collecting()) k_.device().write_buffer(ids_, 0, tokens.data(), T * sizeof(int32_t));
  auto v = [](Buffer b) { return BufferView{b, 0, 0}; };

  // Per layer, fused: 9 dispatches (unfused: 13 and two copies); one token: 5, the norms and SiLU
  // computed by the products that read them, RoPE and the cache store by attention (6 when its
  // keys are split).
  const bool decode_fused = T == 1 && fused_decode_;
  if (cadence_ && T == 1 && !k_.collecting()) {
    submit_every_layers_ = cadence_->cadence();
    cadence_->step_started();
  }
  k_.embed_rows(tok_embd_, v(ids_), v(x_), T);                                    // x (T, d)
  for (size_t li = 0; li < layers_.size(); li++) {
    const Layer& L = layers_[li];
    // After the first layer, then every few: the GPU starts early and never waits long for work.
    if (!k_.collecting() && submit_every_layers_ && li > 0 && (li - 1) % submit_every_layers_ == 0) k_.device().submit();
    if (decode_fused) {
      k_.gemv_rms_normed(L.wqkv, v(x_), v(L.attn_norm), hp_.rms_eps, v(qkv_));    // qkv (1, q_dim + 2 kv_dim)
    } else {
      k_.rms_norm(v(x_), v(L.attn_norm), v(xn_), T, d, hp_.rms_eps);              // xn (T, d)
    }
    if (L.wqkv.rows && T == 1) {
      if (!decode_fused) k_.matmul(L.wqkv, v(xn_), v(qkv_), 1);                   // qkv (1, q_dim + 2 kv_dim)
      // RoPE, the cache store (row n_past) and attention in one dispatch.
      k_.rope_kv_attention(v(qkv_), v(L.k_cache), v(L.v_cache), v(attn_), hp_.n_head, hp_.n_head_kv, hd, hp_.n_rot,
                           n_past_, hp_.rope_base, scale);                        // attn (1, q_dim)
    } else if (L.wqkv.rows) {
      k_.matmul(L.wqkv, v(xn_), v(qkv_), T);                                      // qkv (T, q_dim + 2 kv_dim)
      // q rotated in place; k rotated and v copied into the caches (n_ctx, kv_dim).
      k_.rope_kv(v(qkv_), v(L.k_cache), v(L.v_cache), T, qkv_dim, hp_.n_head, hp_.n_head_kv, hd, hp_.n_rot, n_past_,
                 hp_.rope_base);
      k_.attention(v(qkv_), v(L.k_cache), v(L.v_cache), v(attn_), T, hp_.n_head, hp_.n_head_kv, hd, n_past_,
                   n_past_ + T, /*causal=*/true, scale, /*q_stride=*/qkv_dim);  // attn (T, q_dim)
    } else {
      k_.matmul(L.wq, v(xn_), v(q_), T);                                          // q (T, q_dim)
      k_.matmul(L.wk, v(xn_), v(kk_), T);                                         // k (T, kv_dim)
      k_.matmul(L.wv, v(xn_), v(vv_), T);                                         // v (T, kv_dim)
      k_.rope(v(q_), T, hp_.n_head, hd, hp_.n_rot, n_past_, hp_.rope_base);
      k_.rope(v(kk_), T, hp_.n_head_kv, hd, hp_.n_rot, n_past_, hp_.rope_base);
      k_.kv_append(v(kk_), v(vv_), v(L.k_cache), v(L.v_cache), T, kv_dim, n_past_);  // caches (n_ctx, kv_dim)
      k_.attention(v(q_), v(L.k_cache), v(L.v_cache), v(attn_), T, hp_.n_head, hp_.n_head_kv, hd, n_past_,
                   n_past_ + T, /*causal=*/true, scale);                          // attn (T, q_dim)
    }
    k_.matmul(L.wo, v(attn_), v(x_), T, nullptr, /*accumulate=*/true);           // x += attn · woᵀ
    if (decode_fused) {
      k_.gemv_rms_normed(L.w_gate_up, v(x_), v(L.ffn_norm), hp_.rms_eps, v(gate_up_));  // [gate | up] (1, 2 n_ff)
      k_.gemv_gated(L.w_down, v(gate_up_), v(x_), /*accumulate=*/true);           // x += (silu(gate) up) · w_downᵀ
      continue;
    }
    k_.rms_norm(v(x_), v(L.ffn_norm), v(xn_), T, d, hp_.rms_eps);
    if (L.w_gate_up.rows) {
      k_.matmul(L.w_gate_up, v(xn_), v(gate_up_), T);                             // [gate | up] (T, 2 n_ff)
      k_.silu_mul_halves(v(gate_up_), v(ff_), T, n_ff);                           // ff (T, n_ff)
    } else {
      k_.matmul(L.w_gate, v(xn_), v(gate_), T);                                   // gate (T, n_ff)
      k_.matmul(L.w_up, v(xn_), v(up_), T);                                       // up (T, n_ff)
      k_.silu_mul(v(gate_), v(up_), v(ff_), T * n_ff);
    }
    k_.matmul(L.w_down, v(ff_), v(x_), T, nullptr, /*accumulate=*/true);         // x += ff · w_downᵀ
  }
  if (decode_fused && k_.gemv_fusable(output_)) {
    k_.gemv_rms_normed(output_, v(x_), v(output_norm_), hp_.rms_eps, v(logits_));  // logits (n_vocab)
  } else {
    // Only the last position's logits: its row moves to row 0 so every binding starts at offset 0.
    if (!k_.collecting()) k_.device().copy(x_, uint64_t{T - 1} * d * sizeof(float), xn_, 0, d * sizeof(float));
    k_.rms_norm(v(xn_), v(output_norm_), v(x_), 1, d, hp_.rms_eps);
    k_.matmul(output_, v(x_), v(logits_), 1);                                    // logits (n_vocab)
  }
  if (!k_.collecting()) n_past_ += T;
}

std::vector<float> GpuLlama::eval_sync(std::span<const int32_t> tokens) {
  eval(tokens);
  return read_logits();
}

std::vector<float> GpuLlama::read_logits() {
  std::vector<float> out(hp_.n_vocab);
  k_.device().read_buffer(logits_, 0, out.data(), out.size() * sizeof(float));
  if (cadence_) cadence_->step_finished();
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
    for (const auto* m : L.matrices()) total += m->weight_bytes;
  }
  return total;
}

uint64_t GpuLlama::bytes_per_token(uint32_t n_past) const {
  const uint64_t kv_dim = hp_.n_head_kv * hp_.head_dim;
  uint64_t total = output_.weight_bytes + tok_embd_.weight_bytes / std::max<uint64_t>(1, hp_.n_vocab);
  total += uint64_t{hp_.n_embd} * sizeof(float) * (1 + 2 * layers_.size());  // norms
  for (const auto& L : layers_) {
    for (const auto* m : L.matrices()) total += m->weight_bytes;
  }
  total += 2 * layers_.size() * uint64_t{n_past + 1} * kv_dim * sizeof(float);  // K and V read by attention
  return total;
}

}  // namespace webaccel::gpu

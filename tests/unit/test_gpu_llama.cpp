// GpuLlama's fused forward (Q|K|V and gate|up stacked into one matrix each, RoPE and the KV-cache
// store in one dispatch, attention and SiLU·up reading the fused rows) against the unfused one on
// the same small random model: a prompt chunk, then decode steps, logits equal up to float rounding.
// A layer whose matrices differ in type keeps the unfused path beside fused ones.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/fp16.h"
#include "gpu/gpu_llama.h"
#include "gpu/matmul_plan.h"
#include "gpu_test_fixture.h"

namespace webaccel::gpu {
namespace {

class GpuLlamaFusion : public GpuTest {};

struct TinyModel {
  LlamaWeights w;
  std::vector<std::vector<uint8_t>> storage;
};

// 2 layers, 64 wide, 4 query heads over 2 KV heads of 16, FFN 96, vocab 67; f32 matrices, except
// layer 1's attn_v and ffn_up in f16 (so that layer's Q|K|V and gate|up cannot be stacked). With
// `q8`, every matrix is Q8_0 instead (one-token steps then run gemv.wgsl with fused inputs).
TinyModel tiny_model(bool q8 = false) {
  TinyModel m;
  LlamaHparams& hp = m.w.hp;
  hp.n_vocab = 67; hp.n_ctx_train = 64; hp.n_embd = 64; hp.n_layer = 2; hp.n_head = 4; hp.n_head_kv = 2;
  hp.n_ff = 96; hp.head_dim = 16; hp.n_rot = 16; hp.rope_base = 10000.0f; hp.rms_eps = 1e-5f;
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 0.15f);
  m.storage.reserve(32);
  auto matrix = [&](size_t rows, size_t cols, GgmlType type = GgmlType::kF32) {
    if (q8) {  // blocks of 32: f16 d, then 32 int8 codes
      auto& bytes = m.storage.emplace_back(rows * cols / 32 * 34);
      std::uniform_int_distribution<int> code(-127, 127);
      for (size_t b = 0; b < rows * cols / 32; ++b) {
        const uint16_t d = float_to_half(0.15f / 64 * (1.0f + std::abs(dist(rng))));
        std::memcpy(bytes.data() + 34 * b, &d, 2);
        for (int i = 0; i < 32; ++i) bytes[34 * b + 2 + i] = static_cast<uint8_t>(static_cast<int8_t>(code(rng)));
      }
      return cpu::WeightMatrix{GgmlType::kQ8_0, rows, cols, bytes.data(), cols / 32 * 34};
    }
    const size_t elem = type == GgmlType::kF16 ? 2 : 4;
    auto& bytes = m.storage.emplace_back(rows * cols * elem);
    for (size_t i = 0; i < rows * cols; ++i) {
      const float v = dist(rng);
      if (type == GgmlType::kF16) {
        const uint16_t h = float_to_half(v);
        std::memcpy(bytes.data() + 2 * i, &h, 2);
      } else {
        std::memcpy(bytes.data() + 4 * i, &v, 4);
      }
    }
    return cpu::WeightMatrix{type, rows, cols, bytes.data(), cols * elem};
  };
  auto norm = [&](size_t n) {
    auto& bytes = m.storage.emplace_back(n * sizeof(float));
    auto* f = reinterpret_cast<float*>(bytes.data());
    for (size_t i = 0; i < n; ++i) f[i] = 1.0f + dist(rng);
    return std::span<const float>(f, n);
  };
  const size_t q_dim = hp.n_head * hp.head_dim, kv_dim = hp.n_head_kv * hp.head_dim;
  m.w.tok_embd = matrix(hp.n_vocab, hp.n_embd);
  m.w.output = matrix(hp.n_vocab, hp.n_embd);
  m.w.output_norm = norm(hp.n_embd);
  for (size_t il = 0; il < hp.n_layer; ++il) {
    const GgmlType odd = il == 1 ? GgmlType::kF16 : GgmlType::kF32;
    LlamaLayer L;
    L.prefix = "blk." + std::to_string(il) + ".";
    L.attn_norm = norm(hp.n_embd);
    L.wq = matrix(q_dim, hp.n_embd);
    L.wk = matrix(kv_dim, hp.n_embd);
    L.wv = matrix(kv_dim, hp.n_embd, odd);
    L.wo = matrix(hp.n_embd, q_dim);
    L.ffn_norm = norm(hp.n_embd);
    L.w_gate = matrix(hp.n_ff, hp.n_embd);
    L.w_up = matrix(hp.n_ff, hp.n_embd, odd);
    L.w_down = matrix(hp.n_embd, hp.n_ff);
    m.w.layers.push_back(L);
  }
  return m;
}

// Logits equal up to float rounding (and not vanished, which would make that trivial).
void expect_same_logits(const std::vector<float>& a, const std::vector<float>& b, int step) {
  double worst = 0.0, top = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, std::abs(double(a[i]) - b[i]));
    top = std::max(top, std::abs(double(b[i])));
  }
  EXPECT_GT(top, 1e-3) << "logits vanished at step " << step;
  EXPECT_LE(worst, 1e-5 * std::max(top, 1.0)) << "step " << step;
}

// The prompt, then `steps` greedy steps (b's choice) on both models: the same logits each time.
void expect_same_generation(GpuLlama& a, GpuLlama& b, const std::vector<int32_t>& prompt, int steps) {
  auto la = a.eval_sync(prompt), lb = b.eval_sync(prompt);
  for (int step = 0; step < steps; ++step) {
    expect_same_logits(la, lb, step);
    const int32_t next = static_cast<int32_t>(std::max_element(lb.begin(), lb.end()) - lb.begin());
    la = a.eval_sync(std::span<const int32_t>(&next, 1));
    lb = b.eval_sync(std::span<const int32_t>(&next, 1));
  }
}

TEST_F(GpuLlamaFusion, FusedForwardMatchesUnfused) {
  const TinyModel m = tiny_model();
  GpuLlama fused(*kernels_, m.w, 32, /*fuse=*/true), plain(*kernels_, m.w, 32, /*fuse=*/false);
  EXPECT_EQ(fused.weight_bytes(), plain.weight_bytes());
  EXPECT_EQ(fused.bytes_per_token(9), plain.bytes_per_token(9));
  fused.precompile();  // every pipeline the fused forward records was collected
  expect_same_generation(fused, plain, {3, 17, 42, 5, 66}, 4);
  EXPECT_EQ(fused.n_past(), plain.n_past());
}

// Decode steps with the attention keys split over several workgroups (a few keys each, forced)
// give the logits of unsplit steps, on fused (RoPE in attention) and unfused layers alike.
TEST_F(GpuLlamaFusion, SplitAttentionMatchesUnsplit) {
  const TinyModel m = tiny_model();
  Kernels split_kernels(*device_);
  split_kernels.set_attention_split(3, 2);
  GpuLlama split(split_kernels, m.w, 32), whole(*kernels_, m.w, 32);
  kernels_->set_attention_split(0, 1);
  expect_same_generation(split, whole, {3, 17, 42, 5, 66, 8, 9}, 5);
}

// One-token steps of a quantized model run gemv.wgsl with RMSNorm and SiLU·up computed inside the
// products (5 dispatches per layer); the same model without subgroups runs the separate kernels.
// x stays f32 so the fusion is checked exactly (int8 x: GpuMatmul.Gemv* and gpu_native_goldens).
TEST_F(GpuLlamaFusion, FusedDecodeMatchesSeparateKernels) {
  if (!device_->info().subgroups) GTEST_SKIP() << "gemv.wgsl needs subgroups";
  disable_int8_x_for_testing(true);
  const TinyModel m = tiny_model(/*q8=*/true);
  GpuLlama fused(*kernels_, m.w, 32, /*fuse=*/true);
  disable_subgroups_for_testing(true);
  GpuLlama separate(*kernels_, m.w, 32, /*fuse=*/true);
  disable_subgroups_for_testing(false);
  auto eval = [](GpuLlama& model, bool subgroups, std::span<const int32_t> tokens) {
    disable_subgroups_for_testing(!subgroups);
    auto logits = model.eval_sync(tokens);
    disable_subgroups_for_testing(false);
    return logits;
  };
  fused.precompile();
  const std::vector<int32_t> prompt = {3, 17, 42};
  auto a = eval(fused, true, prompt), b = eval(separate, false, prompt);
  for (int step = 0; step < 4; ++step) {
    expect_same_logits(a, b, step);
    const int32_t next = static_cast<int32_t>(std::max_element(b.begin(), b.end()) - b.begin());
    a = eval(fused, true, std::span<const int32_t>(&next, 1));
    b = eval(separate, false, std::span<const int32_t>(&next, 1));
  }
  disable_int8_x_for_testing(false);
}

}  // namespace
}  // namespace webaccel::gpu

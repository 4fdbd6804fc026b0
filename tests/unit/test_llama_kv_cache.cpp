// The llama KV cache type: auto picks f32 for an all-F32 model and f16 otherwise; the f32 cache
// gives the same logits whether tokens come in one batch or one at a time, and stays close to the
// f16 cache (the two attention paths compute the same function).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "format/gguf.h"
#include "gguf_test_writer.h"
#include "models/llama.h"
#include "random_inputs.h"
#include "scratch_dir.h"

namespace webaccel {
namespace {

using testing::GgufTestWriter;
using testing::gguf_f32_bytes;

constexpr uint32_t kEmbd = 64, kHeads = 2, kHeadsKv = 1, kFf = 96, kLayers = 2, kVocab = 16;
constexpr uint32_t kHeadDim = kEmbd / kHeads;

// A tiny llama of random F32 weights (grouped-query attention: 2 query heads share 1 KV head);
// with q8_0_ffn, its FFN gate is Q8_0 instead.
std::vector<uint8_t> tiny_llama(bool q8_0_ffn) {
  GgufTestWriter w;
  w.add_string("general.architecture", "llama");
  w.add_scalar("llama.block_count", GgufValueType::kU32, kLayers);
  w.add_scalar("llama.context_length", GgufValueType::kU32, uint32_t{64});
  w.add_scalar("llama.embedding_length", GgufValueType::kU32, kEmbd);
  w.add_scalar("llama.feed_forward_length", GgufValueType::kU32, kFf);
  w.add_scalar("llama.attention.head_count", GgufValueType::kU32, kHeads);
  w.add_scalar("llama.attention.head_count_kv", GgufValueType::kU32, kHeadsKv);
  w.add_scalar("llama.attention.layer_norm_rms_epsilon", GgufValueType::kF32, 1e-5f);
  uint32_t seed = 1;
  auto add = [&](const std::string& name, uint64_t cols, uint64_t rows, float scale) {  // shape [cols, rows]
    const auto v = testing_inputs::random_floats(cols * rows, seed++, scale);
    if (rows == 1) {
      w.add_tensor(name, {cols}, GgmlType::kF32, gguf_f32_bytes(v));
    } else {
      w.add_tensor(name, {cols, rows}, GgmlType::kF32, gguf_f32_bytes(v));
    }
  };
  add("token_embd.weight", kEmbd, kVocab, 1.0f);
  add("output_norm.weight", kEmbd, 1, 1.0f);
  for (uint32_t il = 0; il < kLayers; ++il) {
    const std::string b = "blk." + std::to_string(il) + ".";
    add(b + "attn_norm.weight", kEmbd, 1, 1.0f);
    add(b + "attn_q.weight", kEmbd, kEmbd, 0.3f);
    add(b + "attn_k.weight", kEmbd, kHeadsKv * kHeadDim, 0.3f);
    add(b + "attn_v.weight", kEmbd, kHeadsKv * kHeadDim, 0.3f);
    add(b + "attn_output.weight", kEmbd, kEmbd, 0.1f);
    add(b + "ffn_norm.weight", kEmbd, 1, 1.0f);
    if (q8_0_ffn) {
      w.add_tensor(b + "ffn_gate.weight", {kEmbd, kFf}, GgmlType::kQ8_0,
                   testing::gguf_pattern_bytes(uint64_t{kEmbd} * kFf, GgmlType::kQ8_0, 9));
    } else {
      add(b + "ffn_gate.weight", kEmbd, kFf, 0.1f);
    }
    add(b + "ffn_up.weight", kEmbd, kFf, 0.1f);
    add(b + "ffn_down.weight", kFf, kEmbd, 0.1f);
  }
  return w.build();
}

double rel_l2(std::span<const float> a, std::span<const float> b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * double(a[i] - b[i]);
    den += b[i] * double(b[i]);
  }
  return std::sqrt(num / den);
}

class LlamaKvCache : public ::testing::Test {
 protected:
  LlamaModel model(bool q8_0_ffn) {
    return LlamaModel(std::make_shared<GgufFile>(dir_.write(q8_0_ffn ? "q8.gguf" : "f32.gguf", tiny_llama(q8_0_ffn))));
  }
  testing::ScratchDir dir_{"webaccel_llama_kv"};
  ThreadPool pool_{2};
  const std::vector<int32_t> tokens_{3, 1, 4, 1, 5, 9, 2, 6, 5, 3};
};

TEST_F(LlamaKvCache, AutoIsF32ForAnAllF32ModelAndF16Otherwise) {
  const auto f32 = model(false);
  const auto mixed = model(true);
  const size_t kv_values = 2 * kLayers * 8 * kHeadsKv * kHeadDim;  // K and V, 8 positions
  const LlamaSession a(f32, 8, pool_), b(mixed, 8, pool_), c(f32, 8, pool_, KvCacheType::kF16);
  EXPECT_EQ(a.kv_cache_type(), KvCacheType::kF32);
  EXPECT_EQ(a.kv_cache_bytes(), kv_values * sizeof(float));
  EXPECT_EQ(b.kv_cache_type(), KvCacheType::kF16);
  EXPECT_EQ(b.kv_cache_bytes(), kv_values * sizeof(uint16_t));
  EXPECT_EQ(c.kv_cache_type(), KvCacheType::kF16);
}

TEST_F(LlamaKvCache, F32CacheGivesTheSameLogitsInOneBatchOrOneTokenAtATime) {
  const auto m = model(false);
  LlamaSession batch(m, 16, pool_, KvCacheType::kF32), steps(m, 16, pool_, KvCacheType::kF32);
  const auto all = batch.eval(tokens_, /*all_logits=*/true);
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const auto one = steps.eval(std::span<const int32_t>(&tokens_[t], 1));
    EXPECT_LT(rel_l2(one, all.subspan(t * kVocab, kVocab)), 1e-5) << "position " << t;
  }
}

TEST_F(LlamaKvCache, F32AndF16CachesAgreeToF16Precision) {
  const auto m = model(false);
  LlamaSession f32(m, 16, pool_, KvCacheType::kF32), f16(m, 16, pool_, KvCacheType::kF16);
  const auto full = f32.eval(tokens_);  // each session owns its logits buffer
  const auto half = f16.eval(tokens_);
  const double err = rel_l2(half, full);
  EXPECT_LT(err, 1e-2);
  EXPECT_GT(err, 0.0);  // the f16 path really rounds
}

}  // namespace
}  // namespace webaccel

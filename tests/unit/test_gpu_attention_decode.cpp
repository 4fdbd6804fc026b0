// Single-token attention (attention_decode.wgsl): the keys split over several workgroups per head
// and merged (attention_combine.wgsl), and rope_kv_attention (RoPE and the cache store fused in)
// against the double-precision loops, on random non-zero inputs of odd sizes: odd key counts,
// grouped-query heads, from one split to dozens, splits of a few keys and of several tiles.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "gpu/attention_split.h"
#include "gpu/kernels.h"
#include "gpu_reference_loops.h"
#include "gpu_test_fixture.h"
#include "random_inputs.h"

namespace webaccel::gpu {
namespace {

using testing_inputs::random_floats;

TEST(AttentionSplitPlan, SplitsLongContextsOnly) {
  const uint32_t max = Kernels::kAttentionMaxSplits, min = Kernels::kAttentionMinSplitKeys;
  EXPECT_EQ(plan_attention_split(40, max, min).splits, 1u);
  EXPECT_EQ(plan_attention_split(255, max, min).splits, 1u);
  EXPECT_EQ(plan_attention_split(256, max, min).splits, 2u);
  EXPECT_EQ(plan_attention_split(2048, max, min).splits, max);
  EXPECT_EQ(plan_attention_split(2048, max, min).split_keys, 128u);
  EXPECT_EQ(plan_attention_split(5000, 0, min).splits, 1u);  // splitting off
  EXPECT_EQ(plan_attention_split(5000, 1, min).splits, 1u);
  EXPECT_EQ(plan_attention_split(0, max, min).splits, 1u);  // only the token's own key
}

TEST(AttentionSplitPlan, CoversEveryKeyWithNoEmptySplit) {
  for (uint32_t keys = 1; keys < 700; ++keys) {
    for (uint32_t max : {2u, 3u, 5u, 16u, 64u}) {
      for (uint32_t min : {1u, 7u, 64u, 128u}) {
        const AttentionSplit s = plan_attention_split(keys, max, min);
        ASSERT_GE(s.splits, 1u);
        ASSERT_LE(s.splits, max);
        ASSERT_GE(uint64_t{s.splits} * s.split_keys, keys) << keys << " keys, " << max << ", " << min;
        ASSERT_LT(uint64_t{s.splits - 1} * s.split_keys, keys) << keys << " keys, " << max << ", " << min;
      }
    }
  }
}

class GpuAttentionDecode : public GpuTest {};

struct Case {
  uint32_t n_head, n_head_kv, head_dim, keys;  // keys: attended, the last one the token's own
  uint32_t max_splits, min_keys;               // set_attention_split
};

// One token at position keys - 1 (causal), and the bidirectional form over n_kv = keys.
TEST_F(GpuAttentionDecode, SplitKeysMatchReference) {
  for (const Case c : {Case{9, 3, 64, 37, 3, 8}, Case{8, 2, 128, 301, 5, 16}, Case{6, 2, 48, 1001, 16, 128},
                       Case{4, 1, 32, 77, 4, 1}, Case{9, 3, 64, 1, 16, 1}, Case{12, 4, 16, 601, 64, 5},
                       Case{5, 5, 80, 263, 2, 128}, Case{4, 2, 256, 515, 3, 100}}) {
    const uint32_t kv_dim = c.n_head_kv * c.head_dim, n_ctx = c.keys + 3;
    const auto q = random_floats(size_t{c.n_head} * c.head_dim, c.keys + 1, 1.5f);
    const auto kc = random_floats(size_t{n_ctx} * kv_dim, c.keys + 2, 1.5f);
    const auto vc = random_floats(size_t{n_ctx} * kv_dim, c.keys + 3);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    const AttentionSplit plan = plan_attention_split(c.keys, c.max_splits, c.min_keys);
    const std::string what = std::to_string(c.n_head) + "/" + std::to_string(c.n_head_kv) + " heads of " +
                             std::to_string(c.head_dim) + ", " + std::to_string(c.keys) + " keys in " +
                             std::to_string(plan.splits) + " splits";
    Buffer qb = upload(q), kb = upload(kc), vb = upload(vc), causal = zeros(q.size()), both = zeros(q.size());
    Buffer unsplit = zeros(q.size());
    kernels_->set_attention_split(c.max_splits, c.min_keys);
    kernels_->attention(all(qb), all(kb), all(vb), all(causal), 1, c.n_head, c.n_head_kv, c.head_dim, c.keys - 1, 0,
                        true, scale);
    kernels_->attention(all(qb), all(kb), all(vb), all(both), 1, c.n_head, c.n_head_kv, c.head_dim, 0, c.keys, false,
                        scale);
    kernels_->set_attention_split(0, 1);
    kernels_->attention(all(qb), all(kb), all(vb), all(unsplit), 1, c.n_head, c.n_head_kv, c.head_dim, c.keys - 1, 0,
                        true, scale);
    const auto want = attention_reference(q, kc, vc, 1, c.n_head, c.n_head_kv, c.head_dim, c.keys - 1, 0, true, scale);
    const auto got = download(causal, q.size());
    EXPECT_LE(worst_ratio(got, want, 2e-5, 1e-4), 1.0) << what;
    EXPECT_LE(worst_ratio(download(both, q.size()), want, 2e-5, 1e-4), 1.0) << what << " (not causal)";
    EXPECT_LE(worst_ratio(download(unsplit, q.size()), want, 2e-5, 1e-4), 1.0) << what << " (unsplit)";
  }
}

// rope_kv_attention = rope_kv then attention: the row's q and k turned (k as rope_kv turns it, bit
// for bit), k and v stored in cache row pos and nowhere else, the row itself untouched.
TEST_F(GpuAttentionDecode, RopeKvAttentionMatchesRopeThenAttention) {
  struct RopeCase {
    Case c;
    uint32_t n_rot;
  };
  for (const RopeCase rc : {RopeCase{{9, 3, 64, 1, 16, 128}, 64}, RopeCase{{9, 3, 48, 38, 3, 8}, 32},
                            RopeCase{{8, 2, 128, 301, 5, 16}, 128}, RopeCase{{4, 4, 32, 4001, 16, 128}, 32},
                            RopeCase{{6, 2, 16, 201, 64, 3}, 16}, RopeCase{{9, 3, 64, 300, 1, 1}, 64}}) {
    const Case& c = rc.c;
    const uint32_t pos = c.keys - 1, q_dim = c.n_head * c.head_dim, kv_dim = c.n_head_kv * c.head_dim;
    const uint32_t row_floats = q_dim + 2 * kv_dim, n_ctx = c.keys + 2;
    const auto row = random_floats(row_floats, c.keys + 5, 1.5f);
    const auto kc = random_floats(size_t{n_ctx} * kv_dim, c.keys + 6, 1.5f);
    const auto vc = random_floats(size_t{n_ctx} * kv_dim, c.keys + 7);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim)), theta = 10000.0f;
    Buffer rowb = upload(row), kb = upload(kc), vb = upload(vc), ob = zeros(q_dim);
    Buffer by_rope_kv = upload(row), kb2 = upload(kc), vb2 = upload(vc);
    kernels_->set_attention_split(c.max_splits, c.min_keys);
    kernels_->rope_kv_attention(all(rowb), all(kb), all(vb), all(ob), c.n_head, c.n_head_kv, c.head_dim, rc.n_rot, pos,
                                theta, scale);
    kernels_->rope_kv(all(by_rope_kv), all(kb2), all(vb2), 1, row_floats, c.n_head, c.n_head_kv, c.head_dim, rc.n_rot,
                      pos, theta);
    const std::string what = std::to_string(c.n_head) + "/" + std::to_string(c.n_head_kv) + " heads of " +
                             std::to_string(c.head_dim) + ", n_rot " + std::to_string(rc.n_rot) + ", pos " +
                             std::to_string(pos) + ", " +
                             std::to_string(plan_attention_split(pos, c.max_splits, c.min_keys).splits) + " splits";
    EXPECT_EQ(download(rowb, row.size()), row) << what << ": the row changed";
    EXPECT_EQ(download(kb, kc.size()), download(kb2, kc.size())) << what << ": k cache differs from rope_kv's";
    EXPECT_EQ(download(vb, vc.size()), download(vb2, vc.size())) << what << ": v cache differs from rope_kv's";
    // The reference: q and k turned by the CPU path's RoPE, k and v in row pos, attention in double.
    std::vector<float> q(row.begin(), row.begin() + q_dim), k(row.begin() + q_dim, row.begin() + q_dim + kv_dim);
    rope_reference(q, 1, c.n_head, c.head_dim, rc.n_rot, pos, theta);
    rope_reference(k, 1, c.n_head_kv, c.head_dim, rc.n_rot, pos, theta);
    auto want_k = kc, want_v = vc;
    std::copy(k.begin(), k.end(), want_k.begin() + size_t{pos} * kv_dim);
    std::copy(row.begin() + q_dim + kv_dim, row.end(), want_v.begin() + size_t{pos} * kv_dim);
    const double rope_tol = pos > 4000 ? 1e-5 : 2e-6;
    EXPECT_LE(worst_ratio(download(kb, kc.size()), want_k, rope_tol, 2e-6), 1.0) << what;
    EXPECT_EQ(download(vb, vc.size()), want_v) << what;
    const auto want = attention_reference(q, want_k, want_v, 1, c.n_head, c.n_head_kv, c.head_dim, pos, 0, true, scale);
    EXPECT_LE(worst_ratio(download(ob, q_dim), want, 2e-5, 1e-4), 1.0) << what;
  }
}

TEST_F(GpuAttentionDecode, BadSplitSettingFailsClearly) {
  for (const char* bad : {"many", "4:", "4:0", "-1x", "4:8:2"}) {
    setenv("WEBACCEL_GPU_ATTN_SPLIT", bad, 1);
    try {
      Kernels k(*device_);
      ADD_FAILURE() << "no error for '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("WEBACCEL_GPU_ATTN_SPLIT"), std::string::npos) << e.what();
    }
  }
  setenv("WEBACCEL_GPU_ATTN_SPLIT", "0", 1);
  EXPECT_NO_THROW(Kernels k(*device_));
  setenv("WEBACCEL_GPU_ATTN_SPLIT", "8:64", 1);
  EXPECT_NO_THROW(Kernels k(*device_));
  unsetenv("WEBACCEL_GPU_ATTN_SPLIT");
}

}  // namespace
}  // namespace webaccel::gpu

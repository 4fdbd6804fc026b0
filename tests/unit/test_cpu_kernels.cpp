// Every SIMD kernel against its scalar reference, on random non-zero inputs of odd sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/fp16.h"
#include "cpu/kernels.h"
#include "cpu/quant_blocks.h"
#include "cpu/reference_ops.h"

#include "random_inputs.h"

namespace webaccel::cpu {
namespace {

using testing_inputs::random_floats;

// Random weight bytes that are valid blocks: finite fp16 scales, any codes.
std::vector<uint8_t> random_weight_row(GgmlType type, size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  const auto traits = *ggml_type_traits(static_cast<uint32_t>(type));
  std::vector<uint8_t> bytes(n / traits.block_elems * traits.block_bytes);
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  if (type == GgmlType::kF32) {
    auto f = random_floats(n, seed);
    std::memcpy(bytes.data(), f.data(), bytes.size());
  } else if (type == GgmlType::kF16) {
    auto f = random_floats(n, seed);
    for (size_t i = 0; i < n; ++i) reinterpret_cast<uint16_t*>(bytes.data())[i] = float_to_half(f[i]);
  } else {
    std::uniform_real_distribution<float> scale(0.001f, 0.05f);
    for (size_t b = 0; b < n / traits.block_elems; ++b) {
      uint8_t* blk = bytes.data() + b * traits.block_bytes;
      const uint16_t d = float_to_half(scale(rng)), m = float_to_half(-scale(rng) * 8);
      std::memcpy(blk, &d, 2);
      if (type == GgmlType::kQ4_1 || wq_params(type)) std::memcpy(blk + 2, &m, 2);
      if (wk_bits(type)) {  // super-scales: d and dmin both positive
        const uint16_t dmin = float_to_half(scale(rng) / 4);
        std::memcpy(blk + 2, &dmin, 2);
      }
    }
  }
  return bytes;
}

// Tolerance 5e-5 relative: q * d and m * s terms of the asymmetric formats cancel, and the two
// sides add them in different orders (the integer block sums themselves are exact).
class DotRowsTest : public ::testing::TestWithParam<GgmlType> {};

TEST_P(DotRowsTest, MatchesReferenceOnOddRowCounts) {
  const GgmlType type = GetParam();
  const auto traits = *ggml_type_traits(static_cast<uint32_t>(type));
  for (size_t n : {32u, 96u, 160u, 384u, 576u, 640u, 768u, 1568u, 1536u}) {
    if (n % traits.block_elems != 0) continue;
    for (size_t rows : {1u, 3u, 7u, 17u}) {
      const size_t row_bytes = n / traits.block_elems * traits.block_bytes;
      std::vector<uint8_t> w;
      for (size_t r = 0; r < rows; ++r) {
        auto row = random_weight_row(type, n, static_cast<uint32_t>(1000 * n + r));
        w.insert(w.end(), row.begin(), row.end());
      }
      const auto x = random_floats(n, static_cast<uint32_t>(n + rows));
      std::vector<uint8_t> act(activation_row_bytes(type, n)), act_ref(act.size());
      quantize_activation(type, x.data(), act.data(), n);
      reference::quantize_activation(type, x.data(), act_ref.data(), n);
      ASSERT_EQ(act, act_ref) << "activation quantization differs, n=" << n;
      std::vector<float> out(rows);
      dot_rows(type, w.data(), row_bytes, rows, act.data(), n, out.data());
      for (size_t r = 0; r < rows; ++r) {
        const float ref = reference::dot_row(type, w.data() + r * row_bytes, act.data(), n);
        EXPECT_NEAR(out[r], ref, 5e-5f * (1.0f + std::fabs(ref))) << ggml_type_name(type) << " n=" << n << " row " << r;
      }
    }
  }
}

TEST_P(DotRowsTest, TokenTiledMatchesReference) {
  const GgmlType type = GetParam();
  const auto traits = *ggml_type_traits(static_cast<uint32_t>(type));
  for (size_t n : {64u, 160u, 384u, 576u, 640u, 768u, 1568u}) {
    if (n % traits.block_elems != 0) continue;
    for (size_t n_tokens : {2u, 5u, 9u}) {
      const size_t rows = 7, row_bytes = n / traits.block_elems * traits.block_bytes;
      std::vector<uint8_t> w;
      for (size_t r = 0; r < rows; ++r) {
        auto row = random_weight_row(type, n, static_cast<uint32_t>(77 * n + r));
        w.insert(w.end(), row.begin(), row.end());
      }
      const size_t act_bytes = activation_row_bytes(type, n);
      std::vector<uint8_t> act(n_tokens * act_bytes);
      for (size_t t = 0; t < n_tokens; ++t) {
        const auto x = random_floats(n, static_cast<uint32_t>(5 * n + t));
        quantize_activation(type, x.data(), act.data() + t * act_bytes, n);
      }
      const size_t out_stride = rows + 3;
      std::vector<float> out(n_tokens * out_stride, -1.0f);
      dot_rows_tokens(type, w.data(), row_bytes, rows, act.data(), act_bytes, n_tokens, n, out.data(), out_stride);
      for (size_t t = 0; t < n_tokens; ++t) {
        for (size_t r = 0; r < rows; ++r) {
          const float ref = reference::dot_row(type, w.data() + r * row_bytes, act.data() + t * act_bytes, n);
          EXPECT_NEAR(out[t * out_stride + r], ref, 5e-5f * (1.0f + std::fabs(ref))) << "token " << t << " row " << r;
        }
        EXPECT_EQ(out[t * out_stride + rows], -1.0f) << "wrote past the rows";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, DotRowsTest,
                         ::testing::Values(GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ8_0, GgmlType::kF32, GgmlType::kF16,
                                           GgmlType::kWQ2_G32, GgmlType::kWQ2_G128, GgmlType::kWQ3_G32,
                                           GgmlType::kWQ3_G64, GgmlType::kWQ4_G64, GgmlType::kWQ8_G128,
                                           GgmlType::kWK2, GgmlType::kWK3, GgmlType::kWK4),
                         [](const auto& info) { return std::string(ggml_type_name(info.param)); });

constexpr float kTol = 2e-6f;  // relative; float accumulation order differs from the double-precision reference

void expect_close(const std::vector<float>& a, const std::vector<float>& b, float rel, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_NEAR(a[i], b[i], rel * (1.0f + std::fabs(b[i]))) << what << " at " << i << " of " << a.size();
  }
}

TEST(VectorKernels, MatchReferenceOnOddSizes) {
  for (size_t n : {1u, 7u, 33u, 385u, 1537u}) {
    const auto x = random_floats(n, 1 + n), y = random_floats(n, 2 + n), w = random_floats(n, 3 + n), b = random_floats(n, 4 + n);
    EXPECT_NEAR(dot_f32(x.data(), y.data(), n), reference::dot_f32(x.data(), y.data(), n), 1e-5f * std::sqrt(float(n)));

    std::vector<uint16_t> h(n);
    for (size_t i = 0; i < n; ++i) h[i] = float_to_half(x[i]);
    EXPECT_NEAR(dot_f16_f32(h.data(), y.data(), n), reference::dot_f16_f32(h.data(), y.data(), n), 1e-5f * std::sqrt(float(n)));

    std::vector<uint16_t> h2(n);
    f32_to_f16(y.data(), h2.data(), n);
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(h2[i], float_to_half(y[i])) << "f32_to_f16 at " << i;

    auto acc = w, acc_ref = w;
    axpy_f16(0.37f, h.data(), acc.data(), n);
    reference::axpy_f16(0.37f, h.data(), acc_ref.data(), n);
    expect_close(acc, acc_ref, kTol, "axpy_f16");

    std::vector<float> out(n), ref(n);
    rms_norm(x.data(), w.data(), 1e-5f, out.data(), n);
    reference::rms_norm(x.data(), w.data(), 1e-5f, ref.data(), n);
    expect_close(out, ref, 1e-5f, "rms_norm");

    layer_norm(x.data(), w.data(), b.data(), 1e-12f, out.data(), n);
    reference::layer_norm(x.data(), w.data(), b.data(), 1e-12f, ref.data(), n);
    expect_close(out, ref, 1e-5f, "layer_norm");

    silu_mul(x.data(), y.data(), out.data(), n);
    reference::silu_mul(x.data(), y.data(), ref.data(), n);
    expect_close(out, ref, 1e-6f, "silu_mul");

    auto g = random_floats(n, 9 + n, 3.0f), g_ref = g;
    gelu_erf_inplace(g.data(), n);
    reference::gelu_erf_inplace(g_ref.data(), n);
    expect_close(g, g_ref, 1e-6f, "gelu_erf");

    auto s = random_floats(n, 11 + n, 4.0f), s_ref = s;
    softmax_inplace(s.data(), n);
    reference::softmax_inplace(s_ref.data(), n);
    expect_close(s, s_ref, 1e-6f, "softmax");

    auto l = x, l_ref = x;
    l2_normalize_inplace(l.data(), n);
    reference::l2_normalize_inplace(l_ref.data(), n);
    expect_close(l, l_ref, 1e-6f, "l2_normalize");
  }
}

// Random halves with the special ones mixed in: signed zeros, subnormals, the largest, infinities, NaN.
std::vector<uint16_t> random_halves_with_specials(size_t n, uint32_t seed) {
  const auto f = random_floats(n, seed, 3.0f);
  std::vector<uint16_t> h(n);
  const uint16_t specials[] = {0x0000, 0x8000, 0x0001, 0x83ff, 0x0200, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00};
  std::mt19937 rng(seed);
  for (size_t i = 0; i < n; ++i) h[i] = rng() % 7 == 0 ? specials[rng() % std::size(specials)] : float_to_half(f[i]);
  return h;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// The batched attention kernels give exactly the floats of one dot_f16_f32 / axpy_f16 per row and vector.
TEST(VectorKernels, F16RowsEqualOneRowAtATime) {
  for (size_t n : {1u, 3u, 4u, 7u, 8u, 12u, 33u, 64u, 65u, 100u}) {
    for (size_t rows : {1u, 2u, 3u, 4u, 5u, 9u, 17u}) {
      for (size_t n_b : {1u, 2u, 3u, 4u, 5u}) {
        for (float magnitude : {1.0f, 1e5f}) {  // 1e5: past 2^16, where the wasm kernels fall back
          const size_t stride = n + 3, b_stride = n + 1, out_stride = rows + 2;
          const auto a = random_halves_with_specials(rows * stride, static_cast<uint32_t>(7 * n + rows + 100 * n_b));
          auto b = random_floats(n_b * b_stride, static_cast<uint32_t>(n + 11 * rows + n_b), magnitude);
          b[0] = 1e-40f;  // a subnormal float
          std::vector<float> out(n_b * out_stride, -1.0f);
          dot_f16_f32_rows(a.data(), stride, rows, b.data(), b_stride, n_b, n, out.data(), out_stride);
          for (size_t g = 0; g < n_b; ++g) {
            for (size_t j = 0; j < rows; ++j) {
              const float want = dot_f16_f32(a.data() + j * stride, b.data() + g * b_stride, n);
              EXPECT_TRUE(same_bits(out[g * out_stride + j], want)) << "dot n=" << n << " vector " << g << " row " << j << ": "
                                                                     << out[g * out_stride + j] << " vs " << want;
            }
            EXPECT_EQ(out[g * out_stride + rows], -1.0f) << "wrote past the rows";
          }

          const size_t w_stride = rows + 1, y_stride = n + 2;
          auto w = random_floats(n_b * w_stride, static_cast<uint32_t>(n * 3 + rows + n_b), magnitude);
          for (auto& x : w) x = half_to_float(float_to_half(std::fabs(x) / magnitude));
          if (magnitude > 1.0f) w[(n_b - 1) * w_stride + rows / 2] = 70000.0f;
          auto y = random_floats(n_b * y_stride, static_cast<uint32_t>(n + rows + n_b)), y_ref = y;
          axpy_f16_rows(w.data(), w_stride, a.data(), stride, rows, y.data(), y_stride, n_b, n);
          for (size_t g = 0; g < n_b; ++g) {
            for (size_t j = 0; j < rows; ++j) axpy_f16(w[g * w_stride + j], a.data() + j * stride, y_ref.data() + g * y_stride, n);
          }
          for (size_t i = 0; i < y.size(); ++i) {
            EXPECT_TRUE(same_bits(y[i], y_ref[i])) << "axpy n=" << n << " rows " << rows << " vectors " << n_b << " at " << i
                                                   << ": " << y[i] << " vs " << y_ref[i];
          }
        }
      }
    }
  }
}

TEST(Fp16, RoundTripsEveryHalfExactly) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_to_float(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(float_to_half(f), h) << "half 0x" << std::hex << h;
  }
}

// GELU against the exact x Phi(x) on a fine grid (in shuffled order, so vectors mix both of its
// paths: the rational erf, and erfc with exp where a lane is below -3).
TEST(VectorKernels, GeluCloseToExactOnAGrid) {
  std::vector<float> x;
  for (int i = -16000; i <= 16000; ++i) x.push_back(static_cast<float>(i) * 1e-3f);
  std::shuffle(x.begin(), x.end(), std::mt19937(7));
  auto g = x;
  gelu_erf_inplace(g.data(), g.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double exact = 0.5 * x[i] * (1.0 + std::erf(x[i] / std::sqrt(2.0)));
    ASSERT_NEAR(g[i], exact, 6e-7 * (1.0 + std::fabs(exact))) << "x = " << x[i];
  }
}

// Attention heads as the BERT forward calls them: q, k, v interleaved in one (n, 3 * width) block.
TEST(VectorKernels, AttendHeadMatchesReference) {
  for (size_t n : {1u, 2u, 5u, 17u, 33u}) {
    for (size_t hd : {1u, 7u, 32u, 35u, 64u}) {
      const size_t width = 2 * hd + 3, stride = 3 * width;
      const auto qkv = random_floats(n * stride, static_cast<uint32_t>(n * 31 + hd), 2.0f);
      const float* q = qkv.data() + hd;  // the second head of each part
      const float *k = q + width, *v = k + width;
      const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
      const size_t out_stride = hd + 5;
      std::vector<float> out(n * out_stride, -3.0f), ref(n * out_stride, -3.0f), scratch((n + 15) / 16 * 16);
      attend_head(q, k, v, stride, n, hd, scale, out.data(), out_stride, scratch.data());
      reference::attend_head(q, k, v, stride, n, hd, scale, ref.data(), out_stride);
      expect_close(out, ref, 2e-6f, "attend_head");
    }
  }
}

TEST(Fp16, RoundsToNearestEven) {
  EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048), float_to_half(1.0f));                   // tie -> even (down)
  EXPECT_EQ(float_to_half(1.0f + 3.0f / 2048), float_to_half(1.0f + 4.0f / 2048));     // tie -> even (up)
  EXPECT_EQ(float_to_half(70000.0f), 0x7c00);                                          // overflow -> inf
}

}  // namespace
}  // namespace webaccel::cpu

// WQ formats: exact packing, exact bits-per-weight accounting, and quantization error bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "cpu/wk_reference.h"
#include "cpu/wq_reference.h"
#include "quant/wq_quantize.h"

namespace webaccel {
namespace {

TEST(WqFormat, PackUnpackRoundTripsEveryBitWidth) {
  std::mt19937 rng(11);
  for (int bits : {2, 3, 4, 8}) {
    for (int trial = 0; trial < 100; ++trial) {
      uint8_t codes[32], packed[32], back[32];
      for (auto& c : codes) c = static_cast<uint8_t>(rng() % (1u << bits));
      cpu::reference::wq_pack_chunk(bits, codes, packed);
      cpu::reference::wq_unpack_chunk(bits, packed, back);
      for (int i = 0; i < 32; ++i) ASSERT_EQ(back[i], codes[i]) << bits << "-bit code " << i;
    }
  }
}

TEST(WqFormat, PackingLayoutIsTheDocumentedOne) {
  uint8_t codes[32], packed[12];
  for (int i = 0; i < 32; ++i) codes[i] = static_cast<uint8_t>(i % 8);
  cpu::reference::wq_pack_chunk(3, codes, packed);
  // byte 1 = q[1] | q[9] << 2 | q[17] << 4 | q[25] << 6 (low two bits of 1, 1, 1, 1)
  EXPECT_EQ(packed[1], 0b01010101);
  // high-bit word: bit i set where q[i] >= 4, i.e. i % 8 in 4..7 -> 0xF0 in every byte
  for (int k = 0; k < 4; ++k) EXPECT_EQ(packed[8 + k], 0xF0);
}

TEST(WqFormat, BitsPerWeightIsExact) {
  EXPECT_DOUBLE_EQ(quant::wq_bits_per_weight(GgmlType::kWQ2_G128), 2.25);
  EXPECT_DOUBLE_EQ(quant::wq_bits_per_weight(GgmlType::kWQ3_G64), 3.5);
  EXPECT_DOUBLE_EQ(quant::wq_bits_per_weight(GgmlType::kWQ4_G32), 5.0);
  EXPECT_DOUBLE_EQ(quant::wq_bits_per_weight(GgmlType::kWQ8_G128), 8.25);
  EXPECT_EQ(quant::wq_row_bytes(GgmlType::kWQ3_G128, 256), 2u * (4 + 48));
  // WK: 192 weights = 2 fp16 super-scales + 12 scale/min bytes + codes
  EXPECT_DOUBLE_EQ(quant::wq_bits_per_weight(GgmlType::kWK2), 8.0 * (4 + 12 + 48) / 192);
  EXPECT_DOUBLE_EQ(quant::wq_bits_per_weight(GgmlType::kWK4), 8.0 * (4 + 12 + 96) / 192);
}

TEST(WkQuantize, RoundTripErrorShrinksWithBits) {
  std::mt19937 rng(9);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  const size_t n = 576;
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  double prev = 1e9;
  for (int bits : {2, 3, 4}) {
    const GgmlType type = *wq_type(bits, 192);
    std::vector<uint8_t> packed(quant::wq_row_bytes(type, n));
    quant::quantize_row_wq(type, x.data(), nullptr, packed.data(), n);
    std::vector<float> back(n);
    cpu::reference::wk_dequantize_row(type, packed.data(), back.data(), n);
    double se = 0;
    for (size_t i = 0; i < n; ++i) se += (back[i] - x[i]) * (back[i] - x[i]);
    const double rmse = std::sqrt(se / n);
    EXPECT_LT(rmse, prev) << bits << " bits";
    EXPECT_LT(rmse, 0.02 * std::pow(0.6, bits - 1)) << bits << " bits";  // well below the data's spread
    prev = rmse;
  }
}

TEST(WqQuantize, ErrorShrinksWithBitsAndStaysWithinHalfAStep) {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  const size_t n = 384;
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  x[17] = 0.2f;  // an outlier
  double prev_rmse = 1e9;
  for (int bits : {2, 3, 4, 8}) {
    const GgmlType type = *wq_type(bits, 64);
    std::vector<uint8_t> packed(quant::wq_row_bytes(type, n));
    quant::quantize_row_wq(type, x.data(), nullptr, packed.data(), n);
    std::vector<float> back(n);
    cpu::reference::wq_dequantize_row(type, packed.data(), back.data(), n);
    double se = 0;
    for (size_t g = 0; g < n / 64; ++g) {
      float lo = 1e9f, hi = -1e9f;
      for (size_t i = 0; i < 64; ++i) lo = std::min(lo, x[g * 64 + i]), hi = std::max(hi, x[g * 64 + i]);
      const float step = (hi - lo) / static_cast<float>((1 << bits) - 1);
      for (size_t i = 0; i < 64; ++i) {
        const float e = back[g * 64 + i] - x[g * 64 + i];
        // the fitted range may be narrower than [lo, hi]: allow clipping up to one step
        EXPECT_LE(std::fabs(e), 1.5f * step + 1e-6f) << bits << "-bit element " << g * 64 + i;
        se += e * e;
      }
    }
    const double rmse = std::sqrt(se / n);
    EXPECT_LT(rmse, prev_rmse) << bits << " bits";
    prev_rmse = rmse;
  }
  EXPECT_LT(prev_rmse, 1e-3);
}

TEST(WqQuantize, RejectsARowThatTheGroupDoesNotDivide) {
  std::vector<float> x(96, 0.5f);
  std::vector<uint8_t> out(1024);
  EXPECT_THROW(quant::quantize_row_wq(GgmlType::kWQ4_G64, x.data(), nullptr, out.data(), 96), Error);
}

}  // namespace
}  // namespace webaccel

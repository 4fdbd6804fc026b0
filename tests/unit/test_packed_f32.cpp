// The packed f32 outer-product kernel against a double-precision product, on odd sizes: rows that
// leave a partial panel, token counts around the register tile's (and many tiles, as a batch of
// sentences gives), stacked parts with their biases.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu/packed_f32.h"

#include "random_inputs.h"

namespace webaccel::cpu {
namespace {

using testing_inputs::random_floats;

WeightMatrix f32_matrix(const std::vector<float>& w, size_t rows, size_t cols) {
  return WeightMatrix{GgmlType::kF32, rows, cols, reinterpret_cast<const uint8_t*>(w.data()), cols * sizeof(float)};
}

TEST(PackedF32, MatchesDoubleProductOnOddSizes) {
  for (size_t cols : {1u, 3u, 31u, 384u, 385u}) {
    for (size_t rows : {1u, 7u, 17u, 33u, 40u}) {
      for (size_t tokens : {1u, 2u, 4u, 5u, 6u, 7u, 11u, 12u, 13u, 17u, 25u, 97u}) {
        // Two parts stacked by rows (as Q, K and V are), each with its bias.
        const size_t rows_a = rows / 2, rows_b = rows - rows_a;
        const auto wa = random_floats(rows_a * cols + 1, static_cast<uint32_t>(cols * 7 + rows));
        const auto wb = random_floats(rows_b * cols, static_cast<uint32_t>(cols * 11 + rows));
        const auto ba = random_floats(rows_a + 1, static_cast<uint32_t>(rows)), bb = random_floats(rows_b, static_cast<uint32_t>(rows + 1));
        const auto x = random_floats(tokens * cols, static_cast<uint32_t>(tokens * 13 + cols));
        const WeightMatrix ma = f32_matrix(wa, rows_a, cols), mb = f32_matrix(wb, rows_b, cols);
        const WeightMatrix* parts[] = {&ma, &mb};
        const std::vector<float>* biases[] = {&ba, &bb};
        const auto packed = pack_f32_rows(parts, biases);
        ASSERT_EQ(packed.rows, rows);
        const size_t out_stride = rows + 3;
        std::vector<float> out(tokens * out_stride, -7.0f);
        packed_f32_panels(packed, 0, packed.n_panels(), x.data(), cols, tokens, out.data(), out_stride);
        for (size_t t = 0; t < tokens; ++t) {
          for (size_t r = 0; r < rows; ++r) {
            const bool in_a = r < rows_a;
            const float* w = in_a ? wa.data() + r * cols : wb.data() + (r - rows_a) * cols;
            double ref = in_a ? ba[r] : bb[r - rows_a];
            for (size_t k = 0; k < cols; ++k) ref += static_cast<double>(w[k]) * x[t * cols + k];
            EXPECT_NEAR(out[t * out_stride + r], ref, 2e-5 * std::sqrt(static_cast<double>(cols)) * (1 + std::fabs(ref)))
                << "cols " << cols << " rows " << rows << " tokens " << tokens << " t " << t << " r " << r;
          }
          for (size_t r = rows; r < out_stride; ++r) EXPECT_EQ(out[t * out_stride + r], -7.0f) << "wrote past the rows";
        }
      }
    }
  }
}

TEST(PackedF32, OnlyF32MatricesPack) {
  const auto w = random_floats(64, 1);
  const std::vector<float> b(2, 0.0f);
  const WeightMatrix f32 = f32_matrix(w, 2, 32);
  WeightMatrix f16 = f32;
  f16.type = GgmlType::kF16;
  const WeightMatrix* parts[] = {&f32, &f16};
  const std::vector<float>* biases[] = {&b, &b};
  EXPECT_TRUE(pack_f32_rows(parts, biases).empty());
  EXPECT_FALSE(pack_f32_rows(std::span(parts, 1), std::span(biases, 1)).empty());
}

}  // namespace
}  // namespace webaccel::cpu

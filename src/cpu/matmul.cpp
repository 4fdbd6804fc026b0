#include "cpu/matmul.h"

#include <algorithm>

#include "cpu/kernels.h"
#include "cpu/quant_blocks.h"

#include <vector>

namespace webaccel::cpu {

namespace {
// Rows per parallel task, and per tile of rows that go through the dequantizing fallback.
constexpr size_t kRowTile = 16;
// Rows per kernel call for several tokens: each call prepares its tokens' activations (scales,
// and in wasm a copy interleaved for the tile), which 16 rows amortized poorly; 256 rows of
// SmolLM2's Q4_1 (90-240 KB) stay in L2 while every token tile passes.
constexpr size_t kRowsPerCall = 256;

bool has_direct_kernel(GgmlType t) {
  return t == GgmlType::kF32 || t == GgmlType::kF16 || t == GgmlType::kQ4_0 || t == GgmlType::kQ4_1 ||
         t == GgmlType::kQ8_0 || wq_params(t).has_value() || wk_bits(t).has_value();
}

}  // namespace

bool matmul_supported(GgmlType t) {
  switch (t) {
    case GgmlType::kBF16: case GgmlType::kQ2_K: case GgmlType::kQ3_K: case GgmlType::kQ4_K: case GgmlType::kQ5_K:
    case GgmlType::kQ6_K: case GgmlType::kQ5_0: case GgmlType::kQ5_1: case GgmlType::kIQ4_NL:
      return true;
    default:
      return has_direct_kernel(t);
  }
}

void QuantizedActivations::quantize(GgmlType weight_type, const float* x, size_t n_tokens, size_t n, ThreadPool& pool) {
  weight_type_ = weight_type;
  row_bytes_ = activation_row_bytes(weight_type, n);
  buffer_.resize(n_tokens * row_bytes_);
  pool.parallel_for(n_tokens, 8, [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t) quantize_activation(weight_type, x + t * n, buffer_.data() + t * row_bytes_, n);
  });
}

void matmul_rows(const WeightMatrix& w, const QuantizedActivations& x, size_t n_tokens, size_t r_begin, size_t r_end,
                 float* out, size_t out_stride) {
  if (!has_direct_kernel(w.type)) {
    // K-quants and BF16: dequantize a tile of rows once, then float dots for every token.
    thread_local std::vector<float> tile;
    for (size_t r0 = r_begin; r0 < r_end; r0 += kRowTile) {
      const size_t nr = std::min(kRowTile, r_end - r0);
      tile.resize(nr * w.cols);
      for (size_t r = 0; r < nr; ++r) reference::dequantize_row(w.type, w.row(r0 + r), tile.data() + r * w.cols, w.cols);
      dot_rows_tokens(GgmlType::kF32, reinterpret_cast<const uint8_t*>(tile.data()), w.cols * sizeof(float), nr,
                      static_cast<const uint8_t*>(x.row(0)), x.row_bytes(), n_tokens, w.cols, out + r0, out_stride);
    }
    return;
  }
  // One token reuses nothing across a tile: every row in one call (the kernels' per-call set-up once).
  const size_t row_tile = n_tokens == 1 ? r_end - r_begin : kRowsPerCall;
  for (size_t r0 = r_begin; r0 < r_end; r0 += row_tile) {
    const size_t nr = std::min(row_tile, r_end - r0);
    dot_rows_tokens(w.type, w.row(r0), w.row_bytes, nr, static_cast<const uint8_t*>(x.row(0)), x.row_bytes(), n_tokens,
                    w.cols, out + r0, out_stride);
  }
}

void matmul(const WeightMatrix& w, const QuantizedActivations& x, size_t n_tokens, float* out, ThreadPool& pool) {
  pool.parallel_for(w.rows, kRowTile, [&](size_t r0, size_t r1) { matmul_rows(w, x, n_tokens, r0, r1, out, w.rows); });
}

}  // namespace webaccel::cpu

// Float weights packed once, at load, into panels of rows stored k-major, so a product is an
// outer-product register tile: each loaded weight vector meets several tokens and each broadcast
// activation value meets a whole panel of rows (no horizontal sums, no re-reads of x per row).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/matmul.h"

namespace webaccel::cpu {

// Input features go in blocks of this many (the kernel's activations are interleaved by block).
constexpr size_t kPackedKBlock = 4;

struct PackedF32Matrix {
  size_t rows = 0;          // output features
  size_t cols = 0;          // input features
  size_t padded_cols = 0;   // cols rounded up to kPackedKBlock
  size_t panel_rows = 0;    // rows per panel, the running SIMD target's (packed_f32_panel_rows())
  std::vector<float> panels;  // (n_panels, padded_cols, panel_rows): W[p * panel_rows + j][k], zero past rows and cols
  std::vector<float> bias;    // (n_panels * panel_rows), zero past rows

  bool empty() const { return rows == 0; }
  size_t n_panels() const { return (rows + panel_rows - 1) / panel_rows; }
};

// Rows per panel for the SIMD target this CPU (or wasm build) runs.
size_t packed_f32_panel_rows();

// The F32 matrices stacked by rows (e.g. Q, K and V as one), with their biases ((rows) each);
// an empty matrix when any part is not F32 (the caller keeps its generic path).
PackedF32Matrix pack_f32_rows(std::span<const WeightMatrix* const> parts, std::span<const std::vector<float>* const> biases);

// out (n_tokens, out_stride) = x (n_tokens, x_stride) . Wᵀ + bias for the panels [p_begin, p_end).
void packed_f32_panels(const PackedF32Matrix& w, size_t p_begin, size_t p_end, const float* x, size_t x_stride,
                       size_t n_tokens, float* out, size_t out_stride);

// The whole product, panels split across the pool: out (n_tokens, w.rows) = x (n_tokens, w.cols) . Wᵀ + bias.
void matmul_packed_f32(const PackedF32Matrix& w, const float* x, size_t n_tokens, float* out, ThreadPool& pool);

}  // namespace webaccel::cpu

#include "cpu/packed_f32.h"

#include <algorithm>

namespace webaccel::cpu {

PackedF32Matrix pack_f32_rows(std::span<const WeightMatrix* const> parts, std::span<const std::vector<float>* const> biases) {
  PackedF32Matrix m;
  if (parts.empty()) return m;
  for (const auto* p : parts) {
    if (p->type != GgmlType::kF32 || p->cols != parts[0]->cols) return m;
  }
  m.cols = parts[0]->cols;
  m.padded_cols = (m.cols + kPackedKBlock - 1) / kPackedKBlock * kPackedKBlock;
  for (const auto* p : parts) m.rows += p->rows;
  m.panel_rows = packed_f32_panel_rows();
  const size_t padded = m.n_panels() * m.panel_rows;
  m.panels.assign(padded * m.padded_cols, 0.0f);
  m.bias.assign(padded, 0.0f);
  size_t r = 0;  // row of the stacked matrix
  for (size_t i = 0; i < parts.size(); ++i) {
    for (size_t pr = 0; pr < parts[i]->rows; ++pr, ++r) {
      const float* src = reinterpret_cast<const float*>(parts[i]->row(pr));
      float* dst = m.panels.data() + (r / m.panel_rows) * m.padded_cols * m.panel_rows + r % m.panel_rows;
      for (size_t k = 0; k < m.cols; ++k) dst[k * m.panel_rows] = src[k];
      m.bias[r] = (*biases[i])[pr];
    }
  }
  return m;
}

void matmul_packed_f32(const PackedF32Matrix& w, const float* x, size_t n_tokens, float* out, ThreadPool& pool) {
  pool.parallel_for(w.n_panels(), 1, [&](size_t p0, size_t p1) { packed_f32_panels(w, p0, p1, x, w.cols, n_tokens, out, w.rows); });
}

}  // namespace webaccel::cpu
